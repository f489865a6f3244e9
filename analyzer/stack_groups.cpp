#include "stack_groups.h"

#include <algorithm>
#include <string>
#include <unordered_map>

#include <fmt/format.h>

namespace tidemark {

namespace {

// What the C/C++ runtime allocates for itself, recognized by the function that allocated it (so a
// statically linked libstdc++ counts too): stdio buffers (freed by __libc_freeres under valgrind),
// libstdc++'s emergency exception pool, the loader's TLS and its tables, locale data, OpenMP's
// threads.
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
      "__dcigettext", "__tzfile_", "__tzstring", "tzset_internal", "__tzset",
      // the OpenMP runtime's thread pool and team, made when a parallel region first runs and kept
      // for the next (GOMP_parallel and its kin are what the compiler's code calls)
      "GOMP_", "gomp_"};
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

namespace {

// frame(i): the i-th of n frames, leaf first.
template <class FrameAt>
size_t siteIndexOf(size_t n, FrameAt frame) {
  // A Python program's allocations are named by the line of its own code that made them, even
  // where a C extension (numpy's buffers) called malloc from inside an installed package; a stack
  // entirely in installed code (a module run with -m from the standard library), by its
  // innermost Python line.
  for (size_t i = 0; i < n; ++i)
    if (frame(i).interpreted && !frame(i).library && !frame(i).installed) return i;
  for (size_t i = 0; i < n; ++i)
    if (frame(i).interpreted && !frame(i).library) return i;
  size_t i = 0;
  while (i < n && frame(i).library) ++i;
  return i < n ? i : 0;
}

}  // namespace

size_t siteIndex(const std::vector<Frame>& frames) {
  return siteIndexOf(frames.size(), [&](size_t i) -> const Frame& { return frames[i]; });
}
size_t siteIndex(const std::vector<const Frame*>& frames) {
  return siteIndexOf(frames.size(), [&](size_t i) -> const Frame& { return *frames[i]; });
}

const Frame& siteFrame(const std::vector<Frame>& frames) { return frames[siteIndex(frames)]; }

std::vector<const Frame*> foldStack(const std::vector<const Frame*>& frames, bool full, Holder& holder) {
  std::vector<const Frame*> out;
  foldStack(frames, full, holder, out);
  return out;
}

void foldStack(const std::vector<const Frame*>& frames, bool full, Holder& holder, std::vector<const Frame*>& out) {
  out.clear();
  size_t first_user = 0;
  while (first_user < frames.size() && frames[first_user]->library) ++first_user;
  bool runtime = first_user == frames.size();
  for (size_t i = 0; i < first_user && !runtime; ++i) runtime = isRuntimeAllocation(frames[i]->function);
  // The interpreter's own allocations (a Python process starting up, before any Python frame):
  // nothing but its native code and the runtime's, up to main.
  if (!runtime && callsMain(*frames[first_user]))
    runtime = std::any_of(frames.begin(), frames.begin() + static_cast<long>(first_user), [](const Frame* f) { return f->interpreter; });
  holder = runtime ? Holder::Runtime : Holder::Program;
  // Below the allocation: the start-up code that ran a static initialiser, or main.
  size_t end = first_user;
  while (end < frames.size() && !callsMain(*frames[end])) {
    if (holder == Holder::Program && (runsStaticInitialisers(frames[end]->function) || frames[end]->starts_interpreter))
      holder = Holder::StartUp;
    ++end;
  }
  const bool python_stack =
      std::any_of(frames.begin() + static_cast<long>(first_user), frames.end(), [](const Frame* f) { return f->interpreted; });
  // Python code the interpreter runs to start itself (importlib's frozen bootstrap, site): what it
  // still holds at exit is the interpreter's, like a static initialiser's.
  if (python_stack && holder == Holder::Program &&
      std::all_of(frames.begin(), frames.end(), [](const Frame* f) { return !f->interpreted || f->interpreter; }))
    holder = Holder::StartUp;
  // An import runs a module's body (or an extension's init) once, as a static initialiser runs:
  // what it made and still holds at exit is the module's for the life of the process (CPython
  // does not free every module's objects when it ends), not a leak of the program's.
  if (python_stack && holder == Holder::Program && std::any_of(frames.begin(), frames.end(), [](const Frame* f) { return f->imports; }))
    holder = Holder::StartUp;
  if (full) {
    out = frames;
    return;
  }
  if (python_stack) {
    // A Python stack: its Python frames and the native frames of extensions, without the
    // interpreter's own native frames between them nor the start-up code below.
    for (size_t i = first_user; i < frames.size(); ++i)
      if (!frames[i]->interpreter && !(frames[i]->library && i > first_user)) out.push_back(frames[i]);
    // Below the outermost Python frame: main and the C runtime's start-up code.
    while (!out.empty() && !out.back()->interpreted && (callsMain(*out.back()) || out.back()->function == "_start"))
      out.pop_back();
    return;
  }
  if (runtime) {
    // Nothing but runtime code: keep it, minus the tracker's own frames.
    for (const Frame* f : frames)
      if (f->module.find("libtidemark_preload") == std::string::npos) out.push_back(f);
    return;
  }
  // Below main (or the static initialiser) there is only the C runtime's start-up code.
  if (end > first_user && end < frames.size() && frames[end]->function != "main") --end;
  out.assign(frames.begin() + static_cast<long>(first_user), frames.begin() + static_cast<long>(std::min(end + 1, frames.size())));
}

namespace {

// The order of groups: by their frames' names written one after another as `function@file:line;`,
// compared as strings are, without making each group's string (a program with many deep stacks
// would hold them all at once: 53 MiB for a pandas script's 66,000 groups). A frame's piece is
// made once per distinct frame (its id), and two groups are compared from their first frame that
// differs, byte for byte across the pieces that follow.
class GroupOrder {
 public:
  explicit GroupOrder(const std::vector<StackGroup>& groups) : groups_(groups) {}

  bool operator()(size_t a, size_t b) {
    const std::vector<Frame>& x = groups_[a].frames;
    const std::vector<Frame>& y = groups_[b].frames;
    size_t i = 0;
    while (i < x.size() && i < y.size() && x[i].id == y[i].id) ++i;
    size_t xi = i, yi = i, xoff = 0, yoff = 0;  // frame, and offset in its piece
    while (xi < x.size() && yi < y.size()) {
      const std::string& xp = piece(x[xi]);
      const std::string& yp = piece(y[yi]);
      const size_t n = std::min(xp.size() - xoff, yp.size() - yoff);
      if (int c = xp.compare(xoff, n, yp, yoff, n)) return c < 0;
      xoff += n;
      yoff += n;
      if (xoff == xp.size()) ++xi, xoff = 0;
      if (yoff == yp.size()) ++yi, yoff = 0;
    }
    const bool x_ended = xi == x.size(), y_ended = yi == y.size();
    if (x_ended != y_ended) return x_ended;  // a string before its own continuation
    return a < b;
  }

 private:
  const std::string& piece(const Frame& f) {
    auto [it, fresh] = pieces_.try_emplace(f.id);
    if (fresh) it->second = fmt::format("{}@{}:{};", f.function, f.file, f.line);
    return it->second;
  }

  const std::vector<StackGroup>& groups_;
  std::unordered_map<uint32_t, std::string> pieces_;  // by Frame::id
};

}  // namespace

namespace {

void addStack(StackGroup& g, const ReplayResult& run, const StackStats& st) {
  g.peak_bytes += run.peakBytes(st);
  g.peak_blocks += run.peakBlocks(st);
  g.live_bytes += st.live_bytes;
  g.live_blocks += st.live_blocks;
  g.allocations += st.alloc_count;
  g.allocated_bytes += st.alloc_bytes;
  g.temporary += st.temporary_count;
  g.temporary_bytes += st.temporary_bytes;
  g.peak_variance += run.peakVariance(st);
  g.live_variance += st.live_variance;
}

}  // namespace

std::vector<StackGroup> threadShare(const ReplayResult& run, const std::vector<StackGroup>& groups, uint32_t thread) {
  std::vector<StackGroup> out;
  for (const StackGroup& group : groups) {
    StackGroup& mine = out.emplace_back();
    mine.frames = group.frames;
    mine.holder = group.holder;
    for (StackId id : group.stacks)
      if (const StackStats* st = run.threadStack(thread, id)) {
        mine.stacks.push_back(id);
        addStack(mine, run, *st);
      }
  }
  return out;
}

// Groups every stack by its folded frames: by their ids, the frames copied once per group; the
// groups in the order of their frames' names (as `function@file:line;` strings), as ever.
std::vector<StackGroup> groupStacks(const ReplayResult& run, Symbolizer& symbols, bool full) {
  struct IdsHash {
    size_t operator()(const std::vector<uint32_t>& ids) const {
      uint64_t h = 0x9e3779b97f4a7c15ull ^ ids.size();
      for (uint32_t id : ids) h = (h ^ id) * 0xff51afd7ed558ccdull;
      return static_cast<size_t>(h ^ (h >> 32));
    }
  };
  std::unordered_map<std::vector<uint32_t>, size_t, IdsHash> index;
  std::vector<StackGroup> groups;
  std::vector<uint32_t> ids;
  std::vector<const Frame*> whole, frames;  // one stack's, reused for every stack
  run.stacks.forEach([&](StackId id, const StackStats& st) {
    if (!st.alloc_count && !st.live_blocks) return;
    Holder holder = Holder::Program;
    if (const StackDef* def = run.stack_defs.find(id)) {
      symbols.stack(*def, full, whole);
      foldStack(whole, full, holder, frames);
    } else {
      frames.clear();
      frames.push_back(&symbols.placeholder(id == 0 ? "<stack not recorded>"
                                                    : "<stack not in trace (process killed while recording it)>"));
    }
    // Stacks that fold to the same frames but are held differently (an import's allocation and the
    // import line's own, say) are groups of their own: what is held for life never hides a leak.
    ids.clear();
    ids.push_back(static_cast<uint32_t>(holder));
    for (const Frame* f : frames) ids.push_back(f->id);
    auto [at, fresh] = index.try_emplace(ids, groups.size());
    if (fresh) {
      groups.emplace_back();
      groups.back().frames.reserve(frames.size());
      for (const Frame* f : frames) groups.back().frames.push_back(*f);
      groups.back().holder = holder;
    }
    StackGroup& g = groups[at->second];
    g.stacks.push_back(id);
    addStack(g, run, st);
  });
  std::vector<size_t> order(groups.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  GroupOrder by_names(groups);  // one cache of pieces for the whole sort (std::sort copies its comparator)
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (by_names(a, b)) return true;
    return !by_names(b, a) && groups[a].holder < groups[b].holder;
  });
  std::vector<StackGroup> out;
  out.reserve(groups.size());
  for (size_t i : order) out.push_back(std::move(groups[i]));
  return out;
}

}  // namespace tidemark
