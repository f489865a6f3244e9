#!/usr/bin/env bash
# Opens a tidemark report of an engine run in headless Chromium (Debian's `chromium`), with a
# check script appended that clicks a frame, searches, and switches tabs, then reads the page back
# (--dump-dom). Asserts: no console errors, the timeline and three flamegraphs render, a click
# zooms a frame to the full width and hides the others, the search highlights, tabs switch.
# Usage: report_in_chromium.sh TIDEMARK ENGINE WORKDIR
set -euo pipefail
tidemark="$1" engine="$2" dir="$3"
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
  echo "chromium is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi
rm -rf "$dir" && mkdir -p "$dir"
"$tidemark" run -o "$dir/engine.tmtrace" -- "$engine" run -q --assets 1500 --days 250 --bundle-cache "$dir/bundles" \
  --strategy momentum --pipeline-chunk 42 >/dev/null 2>&1
"$tidemark" report "$dir/engine.tmtrace" -o "$dir/report.html" 2>/dev/null
cat "$dir/report.html" - > "$dir/check.html" <<'CHECK'
<script>
(function () {
  var out = [];
  out.push('timeline=' + document.querySelectorAll('#timeline polyline.series').length);
  out.push('flamegraphs=' + document.querySelectorAll('svg.flamegraph').length);
  var svg = document.querySelector('#flame-peak svg.flamegraph');
  var frames = svg.querySelectorAll('g.f');
  out.push('frames=' + (frames.length > 5 ? 'many' : frames.length));
  var target = null;
  frames.forEach(function (g) { if (target === null && g.getAttribute('data-depth') === '2') target = g; });
  target.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  var width = parseFloat(target.querySelector('rect').getAttribute('width'));
  out.push('zoomed-width=' + Math.round(width));
  out.push('hidden=' + (svg.querySelectorAll('g.f.hidden').length > 0));
  var search = svg.querySelector('input.search');
  search.value = 'main';
  search.dispatchEvent(new Event('input'));
  out.push('matches=' + (svg.querySelectorAll('g.f.match').length > 0));
  document.getElementById('tab-allocated').click();
  out.push('tab=' + document.getElementById('flame-allocated').classList.contains('on'));
  var pre = document.createElement('pre');
  pre.id = 'result';
  pre.textContent = out.join(' ');
  document.body.appendChild(pre);
})();
</script>
CHECK
"$browser" --headless=new --no-sandbox --disable-gpu --user-data-dir="$dir/profile" --enable-logging=stderr --v=0 \
  --dump-dom "file://$dir/check.html" > "$dir/dom.html" 2> "$dir/browser.log" || true
result=$(grep -o '<pre id="result">[^<]*' "$dir/dom.html" | sed 's/<pre id="result">//')
expected="timeline=2 flamegraphs=3 frames=many zoomed-width=1180 hidden=true matches=true tab=true"
status=0
if [[ "$result" != "$expected" ]]; then
  echo "expected: $expected" >&2
  echo "got:      $result" >&2
  status=1
fi
if grep -q 'CONSOLE' "$dir/browser.log"; then
  echo "console messages:" >&2
  grep 'CONSOLE' "$dir/browser.log" >&2
  status=1
fi
[[ $status == 0 ]] && echo "report renders and responds in $($browser --version 2>/dev/null | head -1)"
exit $status
