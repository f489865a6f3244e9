#!/usr/bin/env bash
# Installs tidemark from a build tree into a temporary prefix and uses it as a user would: the
# installed tidemark runs the installed engine and a Python script, an out-of-tree program finds
# tidemark/marker.h through find_package(tidemark) and through pkg-config, and the .deb from cpack
# is listed, its dependencies checked against what its binaries link, unpacked into an empty root
# and run there.
#
# usage: install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$1
build_dir=$2
work=$(mktemp -d /tmp/tidemark-install-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }
export ASAN_OPTIONS=detect_leaks=0  # a sanitized build's tidemark

echo "== cmake --install into $work/prefix"
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
prefix=$work/prefix
multiarch=$(gcc -print-multiarch)
for f in bin/tidemark bin/tidemark-engine "lib/$multiarch/tidemark/libtidemark_preload.so" include/tidemark/marker.h \
         lib/python3/dist-packages/tidemark/__init__.py share/man/man1/tidemark.1.gz \
         share/bash-completion/completions/tidemark share/pkgconfig/tidemark.pc \
         share/cmake/tidemark/tidemarkConfig.cmake share/doc/tidemark/README.md; do
  [ -f "$prefix/$f" ] || fail "$f is not installed"
done

version=$("$prefix/bin/tidemark" --version)
echo "$version"
[[ $version =~ ^tidemark\ [0-9]+\.[0-9]+\.[0-9]+\ \(writes\ trace\ format\ [0-9]+\)$ ]] || fail "--version says: $version"

echo "== the installed tidemark runs the installed engine"
(cd "$work" && "$prefix/bin/tidemark" run -o "$work/engine" -- "$prefix/bin/tidemark-engine" run -q --days 5) \
  || fail "tidemark run of the engine"
"$prefix/bin/tidemark" summary --json "$work/engine" > "$work/engine.json"
python3 - "$work/engine.json" <<'PY' || fail "summary of the engine's run"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["peak_heap"]["bytes"] > 1 << 20, s["peak_heap"]
assert s["exe"].endswith("/prefix/bin/tidemark-engine"), s["exe"]
assert s["death"]["verdict"] == "none", s["death"]
PY

echo "== the installed tidemark finds its Python module"
cat > "$work/held.py" <<'PY'
import tidemark
held = bytearray(3 << 20)
print(tidemark.__file__)
PY
module=$(cd "$work" && "$prefix/bin/tidemark" run -o "$work/python" -- python3 "$work/held.py" 2>/dev/null)
[[ $module == "$prefix/lib/python3/dist-packages/tidemark/__init__.py" ]] || fail "python3 imported tidemark from $module"

echo "== man page and completion"
man -l "$prefix/share/man/man1/tidemark.1.gz" 2>/dev/null | grep -q -- "--sample-bytes" || fail "man page without run's options"
bash -c "source '$prefix/share/bash-completion/completions/tidemark'; COMP_WORDS=(tidemark run --sam); COMP_CWORD=2; _tidemark; echo \${COMPREPLY[*]}" \
  | grep -qx -- "--sample-bytes" || fail "bash completion of 'tidemark run --sam'"

echo "== an out-of-tree program with find_package(tidemark) and with pkg-config"
mkdir -p "$work/app"
cat > "$work/app/app.c" <<'C'
#include <stdlib.h>
#include <tidemark/marker.h>
int main(void) {
  tidemark_mark(TIDEMARK_MARK_SIMULATION_DATE, "2024-03-15");
  return malloc(1000) == 0;
}
C
cat > "$work/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(app C)
find_package(tidemark 0.1 REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE tidemark::marker)
CM
cmake -S "$work/app" -B "$work/app/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null || fail "find_package(tidemark)"
cmake --build "$work/app/build" >/dev/null || fail "building against tidemark::marker"
cc -o "$work/app/app-pc" "$work/app/app.c" $(PKG_CONFIG_PATH=$prefix/share/pkgconfig pkg-config --cflags --libs tidemark) \
  || fail "building with pkg-config's flags"
for app in "$work/app/build/app" "$work/app/app-pc"; do
  (cd "$work" && "$prefix/bin/tidemark" run -o "$work/marked" -- "$app" 2>/dev/null) || fail "$app under tidemark"
  "$prefix/bin/tidemark" dump "$work/marked" | grep -q 'Marker .*"2024-03-15"' || fail "$app's marker is not in its trace"
  rm -rf "$work/marked"
done

echo "== cpack -G DEB"
(cd "$build_dir" && cpack -G DEB -B "$work/deb" >/dev/null) || fail "cpack -G DEB"
deb=$(ls "$work"/deb/tidemark_*.deb)
echo "$(basename "$deb"): contents"
dpkg-deb -c "$deb" | awk '{print $1, $3, $6}'
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
# Every library the packaged binaries link comes from a package the .deb depends on.
dpkg-deb -x "$deb" "$work/root"
for binary in "$work/root/usr/bin/tidemark" "$work/root/usr/bin/tidemark-engine" \
              "$work/root/usr/lib/$multiarch/tidemark/libtidemark_preload.so"; do
  for lib in $(objdump -p "$binary" | awk '/NEEDED/ {print $2}'); do
    path=$(ldd "$binary" | awk -v l="$lib" '$1 == l {print $3}')
    [ -f "$path" ] || fail "$(basename "$binary") links $lib, which ldd does not find"
    package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path" 2>/dev/null || true)
    package=${package%%:*}
    [ -n "$package" ] || fail "no package owns $path"
    [[ ", $depends," == *", $package "* || ", $depends," == *", $package,"* ]] \
      || fail "$(basename "$binary") links $lib from $package, which Depends does not name"
  done
done

echo "== the unpacked package runs: tidemark run -- /bin/true"
(cd "$work" && "$work/root/usr/bin/tidemark" run -o "$work/true" -- /bin/true) || fail "the unpacked tidemark"
[ -n "$(ls "$work"/true/*.tmtrace)" ] || fail "no trace from the unpacked tidemark"
echo "install test: every check passed"
