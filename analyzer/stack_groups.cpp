#include "stack_groups.h"

#include <algorithm>
#include <map>
#include <string>

namespace tidemark {

namespace {

// What the C/C++ runtime allocates for itself, recognized by the function that allocated it (so a
// statically linked libstdc++ counts too): stdio buffers (freed by __libc_freeres under valgrind),
// libstdc++'s emergency exception pool, the loader's TLS and its tables, locale data.
bool isRuntimeAllocation(std::string_view function) {
  // glibc's internal aliases (__GI__IO_file_doallocate) name the same functions.
  if (function.rfind("__GI_", 0) == 0) function.remove_prefix(5);
  static const char* const kInside[] = {"_IO_file_doallocate", "(anonymous namespace)::pool::pool"};
  for (const char* f : kInside)
    if (function.find(f) != std::string_view::npos) return true;
  static const char* const kPrefixes[] = {
      "_dl_", "_nl_", "__gconv", "setlocale", "__libc_setlocale", "__newlocale", "new_composite_name",
      // NSS: its modules, actions and database state, and the static buffers of getpwuid() and kin
      "__nss_", "nss_", "__libc_allocate_once", "getpw", "getgr", "getspnam", "gethostby", "getservby", "getprotoby",
      "getnetby",
      // the environment array setenv/putenv grow, gettext's domain bindings, the time zone
      "__add_to_environ", "set_binding_values", "__bindtextdomain", "bindtextdomain", "__textdomain", "textdomain",
      "__dcigettext", "__tzfile_", "__tzstring", "tzset_internal", "__tzset"};
  for (const char* f : kPrefixes)
    if (function.rfind(f, 0) == 0) return true;
  return false;
}

// Functions of the C runtime's start-up that run static initialisers (of the executable: call_init
// in libc-start.c; of shared libraries: _dl_init and its call_init), and those that call main.
bool runsStaticInitialisers(std::string_view function) {
  return function == "call_init" || function == "_dl_init" || function == "__libc_csu_init" || function == "_init";
}
// (A Python function named main is not C's.)
bool callsMain(const Frame& f) { return !f.interpreted && (f.function == "main" || f.function == "__libc_start_call_main"); }

}  // namespace

size_t siteIndex(const std::vector<Frame>& frames) {
  // A Python program's allocations are named by the line of its own code that made them, even
  // where a C extension (numpy's buffers) called malloc from inside an installed package; a stack
  // entirely in installed code (a module run with -m from the standard library), by its
  // innermost Python line.
  for (size_t i = 0; i < frames.size(); ++i)
    if (frames[i].interpreted && !frames[i].library && !frames[i].installed) return i;
  for (size_t i = 0; i < frames.size(); ++i)
    if (frames[i].interpreted && !frames[i].library) return i;
  size_t i = 0;
  while (i < frames.size() && frames[i].library) ++i;
  return i < frames.size() ? i : 0;
}

const Frame& siteFrame(const std::vector<Frame>& frames) { return frames[siteIndex(frames)]; }

std::vector<Frame> foldStack(const std::vector<Frame>& frames, bool full, Holder& holder) {
  size_t first_user = 0;
  while (first_user < frames.size() && frames[first_user].library) ++first_user;
  bool runtime = first_user == frames.size();
  for (size_t i = 0; i < first_user && !runtime; ++i) runtime = isRuntimeAllocation(frames[i].function);
  // The interpreter's own allocations (a Python process starting up, before any Python frame):
  // nothing but its native code and the runtime's, up to main.
  if (!runtime && callsMain(frames[first_user]))
    runtime = std::any_of(frames.begin(), frames.begin() + static_cast<long>(first_user), [](const Frame& f) { return f.interpreter; });
  holder = runtime ? Holder::Runtime : Holder::Program;
  // Below the allocation: the start-up code that ran a static initialiser, or main.
  size_t end = first_user;
  while (end < frames.size() && !callsMain(frames[end])) {
    if (holder == Holder::Program && (runsStaticInitialisers(frames[end].function) || startsInterpreter(frames[end].function)))
      holder = Holder::StartUp;
    ++end;
  }
  const bool python_stack =
      std::any_of(frames.begin() + static_cast<long>(first_user), frames.end(), [](const Frame& f) { return f.interpreted; });
  // Python code the interpreter runs to start itself (importlib's frozen bootstrap, site): what it
  // still holds at exit is the interpreter's, like a static initialiser's.
  if (python_stack && holder == Holder::Program &&
      std::all_of(frames.begin(), frames.end(), [](const Frame& f) { return !f.interpreted || f.interpreter; }))
    holder = Holder::StartUp;
  if (full) return frames;
  if (python_stack) {
    // A Python stack: its Python frames and the native frames of extensions, without the
    // interpreter's own native frames between them nor the start-up code below.
    std::vector<Frame> out;
    for (size_t i = first_user; i < frames.size(); ++i)
      if (!frames[i].interpreter && !(frames[i].library && i > first_user)) out.push_back(frames[i]);
    // Below the outermost Python frame: main and the C runtime's start-up code.
    while (!out.empty() && !out.back().interpreted && (callsMain(out.back()) || out.back().function == "_start"))
      out.pop_back();
    return out;
  }
  if (runtime) {
    // Nothing but runtime code: keep it, minus the tracker's own frames.
    std::vector<Frame> out;
    for (const Frame& f : frames)
      if (f.module.find("libtidemark_preload") == std::string::npos) out.push_back(f);
    return out;
  }
  // Below main (or the static initialiser) there is only the C runtime's start-up code.
  if (end > first_user && end < frames.size() && frames[end].function != "main") --end;
  return {frames.begin() + static_cast<long>(first_user), frames.begin() + static_cast<long>(std::min(end + 1, frames.size()))};
}

namespace {

std::string groupKey(const std::vector<Frame>& frames) {
  std::string key;
  for (const Frame& f : frames) {
    key += f.function;
    key += '@';
    key += f.file;
    key += ':';
    key += std::to_string(f.line);
    key += ';';
  }
  return key;
}

}  // namespace

// Groups every stack by its folded frames.
std::vector<StackGroup> groupStacks(const ReplayResult& run, Symbolizer& symbols, bool full) {
  std::map<std::string, StackGroup> groups;
  for (StackId id = 0; id < run.stacks.size(); ++id) {
    const StackStats& st = run.stacks[id];
    if (!st.alloc_count && !st.live_blocks) continue;
    std::vector<Frame> frames;
    Holder holder = Holder::Program;
    auto def = run.stack_defs.find(id);
    if (def != run.stack_defs.end()) {
      frames = foldStack(symbols.stack(def->second, full), full, holder);
    } else {
      Frame unknown;
      unknown.function = id == 0 ? "<stack not recorded>" : "<stack not in trace (process killed while recording it)>";
      frames.push_back(unknown);
    }
    StackGroup& g = groups[groupKey(frames)];
    if (g.frames.empty()) {
      g.frames = std::move(frames);
      g.holder = holder;
    }
    g.stacks.push_back(id);
    g.peak_bytes += run.peakBytes(id);
    g.peak_blocks += run.peakBlocks(id);
    g.live_bytes += st.live_bytes;
    g.live_blocks += st.live_blocks;
    g.allocations += st.alloc_count;
    g.allocated_bytes += st.alloc_bytes;
    g.temporary += st.temporary_count;
    g.temporary_bytes += st.temporary_bytes;
  }
  std::vector<StackGroup> out;
  out.reserve(groups.size());
  for (auto& [key, g] : groups) out.push_back(std::move(g));
  return out;
}

}  // namespace tidemark
