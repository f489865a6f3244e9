#include "scanner.h"

#include <fcntl.h>
#include <sys/uio.h>

#include <cstdlib>
#include <cstring>

#include "aggregator.h"
#include "radix_sort.h"
#include "spinlock.h"
#include "sys.h"

namespace tidemark::preload {

// ---- the tracker's own memory -----------------------------------------------------------------

namespace {

struct OwnRange {
  uint64_t lo, hi;
};
constexpr uint32_t kMaxOwn = 8192;
OwnRange g_own[kMaxOwn];
uint32_t g_own_count = 0;
SpinLock g_own_lock;

}  // namespace

void sys::registerOwnMemory(const void* addr, size_t len) {
  LockGuard guard(g_own_lock);
  if (g_own_count < kMaxOwn) g_own[g_own_count++] = {reinterpret_cast<uint64_t>(addr), reinterpret_cast<uint64_t>(addr) + len};
}

void sys::unregisterOwnMemory(const void* addr) {
  LockGuard guard(g_own_lock);
  for (uint32_t i = 0; i < g_own_count; ++i)
    if (g_own[i].lo == reinterpret_cast<uint64_t>(addr)) {
      g_own[i] = g_own[--g_own_count];
      return;
    }
}



namespace {

struct ScanBlock {
  uint64_t addr, size;
  StackId stack;
};

// The blocks by the 4 KiB pages they overlap: each page's first overlapping block (open
// addressing in scratch memory, at most half full). A word that points into no such page is
// rejected by one probe, and a search is narrowed to the blocks of one page.
class PageIndex {
 public:
  bool build(const ScanBlock* blocks, size_t n) {
    size_t pages = 0;
    forEachPage(blocks, n, [&](uint64_t, size_t) { ++pages; });
    slots_ = 16;
    while (slots_ < 2 * pages) slots_ *= 2;
    if (!table_.allocate(slots_)) return false;
    for (size_t i = 0; i < slots_; ++i) table_.data[i].page = kEmpty;
    forEachPage(blocks, n, [&](uint64_t page, size_t first) {
      size_t s = hash(page);
      while (table_.data[s].page != kEmpty) s = (s + 1) & (slots_ - 1);
      table_.data[s] = {page, first};
    });
    return true;
  }
  // The first block overlapping the page of w, or -1.
  int64_t firstOn(uint64_t w) const {
    const uint64_t page = w >> kPageBits;
    for (size_t s = hash(page);; s = (s + 1) & (slots_ - 1)) {
      if (table_.data[s].page == page) return static_cast<int64_t>(table_.data[s].first);
      if (table_.data[s].page == kEmpty) return -1;
    }
  }
  // Blocks start 16 bytes apart at least: one page overlaps at most this many.
  static constexpr size_t kMostPerPage = (size_t{1} << 12) / 16 + 1;

 private:
  static constexpr int kPageBits = 12;
  static constexpr uint64_t kEmpty = ~uint64_t{0};
  struct Slot {
    uint64_t page;
    size_t first;
  };
  // Calls f(page, first block overlapping it) once per page, in address order.
  template <class F> static void forEachPage(const ScanBlock* blocks, size_t n, F&& f) {
    uint64_t last = kEmpty;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t end = blocks[i].addr + (blocks[i].size ? blocks[i].size : 1);
      for (uint64_t page = blocks[i].addr >> kPageBits; page <= (end - 1) >> kPageBits; ++page)
        if (page != last) f(last = page, i);
    }
  }
  size_t hash(uint64_t page) const { return static_cast<size_t>((page * 0x9e3779b97f4a7c15ull) >> 24) & (slots_ - 1); }
  Scratch<Slot> table_;
  size_t slots_ = 0;
};

class Graph {
 public:
  // `pages`, when built, narrows every search to the blocks of one page.
  Graph(const ScanBlock* blocks, size_t n, const PageIndex* pages) : blocks_(blocks), n_(n), pages_(pages) {
    if (n) {
      lo_ = blocks[0].addr;
      hi_ = blocks[n - 1].addr + (blocks[n - 1].size ? blocks[n - 1].size : 1);
    }
  }
  // Index of the block containing address w (at its start or inside), or -1.
  int64_t find(uint64_t w) const {
    if (w < lo_ || w >= hi_) return -1;
    size_t l;
    if (pages_) {
      const int64_t first = pages_->firstOn(w);
      if (first < 0) return -1;
      const auto from = static_cast<size_t>(first);
      l = firstAbove(w, from, from + PageIndex::kMostPerPage);
      if (l == from) return -1;
    } else {
      l = firstAbove(w);
    }
    if (l == 0) return -1;
    const ScanBlock& b = blocks_[l - 1];
    uint64_t extent = b.size ? b.size : 1;
    uint64_t offset = w - b.addr;
    if (offset >= extent) return -1;
    // glibc's bins and the arena's top point at free chunk headers, which sit 16 bytes before the
    // chunk's memory and so can fall in the last 8 bytes of the live block before it, at a
    // 16-byte-aligned offset. Such a word is the allocator's, not a reference to this block.
    if (offset != 0 && offset + 8 >= b.size && (offset & 15) == 0) return -1;
    return static_cast<int64_t>(l - 1);
  }
  size_t size() const { return n_; }
  const ScanBlock& operator[](size_t i) const { return blocks_[i]; }
  // The first block that ends above w (n_ when none).
  size_t firstEndingAbove(uint64_t w) const {
    size_t l = firstAbove(w);
    if (l > 0 && w - blocks_[l - 1].addr < (blocks_[l - 1].size ? blocks_[l - 1].size : 1)) return l - 1;
    return l;
  }
  // Whether any block lies (even partly) in [lo, hi).
  bool anyBlockIn(uint64_t lo, uint64_t hi) const {
    if (!n_ || hi <= lo_ || lo >= hi_) return false;
    size_t l = firstAbove(lo);
    if (l > 0 && lo - blocks_[l - 1].addr < (blocks_[l - 1].size ? blocks_[l - 1].size : 1)) return true;
    return l < n_ && blocks_[l].addr < hi;
  }

 private:
  // The first block whose address is above w (binary search in [l, r); n_ when none).
  size_t firstAbove(uint64_t w, size_t l = 0, size_t r = SIZE_MAX) const {
    if (r > n_) r = n_;
    while (l < r) {
      size_t m = (l + r) / 2;
      if (blocks_[m].addr <= w)
        l = m + 1;
      else
        r = m;
    }
    return l;
  }

  const ScanBlock* blocks_;
  size_t n_;
  const PageIndex* pages_;
  uint64_t lo_ = 0, hi_ = 0;
};

// Reads another part of our own address space without faulting on what is not mapped.
long safeRead(uint64_t addr, void* buf, size_t n) {
  static int mem_fd = -2;
  iovec local{buf, n}, remote{reinterpret_cast<void*>(addr), n};
  long r = sys::raw(SYS_process_vm_readv, sys::getpid(), reinterpret_cast<long>(&local), 1,
                    reinterpret_cast<long>(&remote), 1, 0);
  if (r >= 0) return r;
  if (mem_fd == -2) mem_fd = sys::ownDescriptor(sys::open("/proc/self/mem", O_RDONLY | O_CLOEXEC));
  if (mem_fd < 0) return -1;
  return sys::pread(mem_fd, buf, n, static_cast<long>(addr));
}

struct Writer {
  Stream& stream;
  // Root references: block index and kind, in the order found (deduplicated by a flag per block).
  uint8_t* rooted;  // per block: 0, or the RootKind of the first root found

  void begin(uint64_t count, uint8_t reason) {
    writeRecord(stream, writer().nextSeq(),
                format::ScanBegin{.time_ns = sys::monotonicNs() - writer().startNs(), .block_count = count, .reason = reason});
  }
  void blocks(const ScanBlock* b, size_t n) {
    constexpr size_t kBatch = 500;  // <= 30 bytes each: under the 16 KiB record limit
    for (size_t first = 0; first < n; first += kBatch) {
      size_t count = n - first < kBatch ? n - first : kBatch;
      ElementRecordWriter r(stream, writer().nextSeq(), format::ScanBlocks{.first_index = first, .count = count});
      if (!r.ok()) return;
      for (size_t i = first; i < first + count; ++i)
        r.add(format::ScanBlock{.address = b[i].addr, .size = b[i].size, .stack_id = b[i].stack});
      r.commit();
    }
  }
  void roots(size_t n) {
    constexpr size_t kBatch = 800;  // <= 20 bytes each
    size_t i = 0;
    while (i < n) {
      size_t count = 0;
      for (size_t j = i; j < n && count < kBatch; ++j) count += rooted[j] != 0;
      if (!count) break;
      ElementRecordWriter r(stream, writer().nextSeq(), format::ScanRoots{.count = count});
      if (!r.ok()) return;
      for (size_t written = 0; written < count; ++i) {
        if (!rooted[i]) continue;
        r.add(format::ScanRoot{.block_index = i, .kind = rooted[i]});
        ++written;
      }
      r.commit();
    }
  }
  // Edges are buffered and written 600 at a time (<= 20 bytes each).
  uint64_t pending[600][2] = {};
  size_t pending_count = 0;
  void edge(uint64_t from, uint64_t to) {
    pending[pending_count][0] = from;
    pending[pending_count][1] = to;
    if (++pending_count == 600) flushEdges();
  }
  void flushEdges() {
    if (!pending_count) return;
    ElementRecordWriter r(stream, writer().nextSeq(), format::ScanEdges{.count = pending_count});
    for (size_t i = 0; i < pending_count; ++i) r.add(format::ScanEdge{.source = pending[i][0], .target = pending[i][1]});
    r.commit();
    pending_count = 0;
  }
  void end(uint64_t start_ns, uint64_t words, uint64_t root_bytes) {
    uint64_t now = sys::monotonicNs();
    writeRecord(stream, writer().nextSeq(),
                format::ScanEnd{.time_ns = now - writer().startNs(),
                                .words = words,
                                .root_bytes = root_bytes,
                                .duration_ns = now - start_ns});
  }
};

// glibc malloc's memory around a block that does not lie in the main heap ([heap]): an mmapped
// chunk is its own mapping (its header's IS_MMAPPED bit, and prev_size the offset of an aligned
// block within it); a chunk of a thread's arena lies in a heap of kArenaHeapBytes aligned to its
// size (NON_MAIN_ARENA). Other words (another allocator behind malloc): unknown, {0, 0}.
struct Range {
  uint64_t lo, hi;
};
constexpr uint64_t kArenaHeapBytes = uint64_t{64} << 20;  // glibc's HEAP_MAX_SIZE on 64-bit targets
Range mallocRangeAround(uint64_t block) {
  uint64_t header[2] = {};  // prev_size, size | flags
  if (block < 16 || safeRead(block - 16, header, sizeof header) != sizeof header) return {0, 0};
  const uint64_t chunk = block - 16, size = header[1] & ~uint64_t{7};
  if (header[1] & 2) return {chunk - header[0], chunk + size};  // IS_MMAPPED
  if (header[1] & 4) return {chunk & ~(kArenaHeapBytes - 1), (chunk & ~(kArenaHeapBytes - 1)) + kArenaHeapBytes};
  return {0, 0};
}

// Calls scan(lo, hi) for the parts of [lo, hi) that are not the tracker's own memory.
template <typename F>
void withoutOwn(uint64_t lo, uint64_t hi, F&& scan) {
  while (lo < hi) {
    // The first of our ranges that overlaps what is left.
    uint64_t own_lo = hi, own_hi = hi;
    for (uint32_t i = 0; i < g_own_count; ++i)
      if (g_own[i].lo < hi && lo < g_own[i].hi && g_own[i].lo < own_lo) {
        own_lo = g_own[i].lo;
        own_hi = g_own[i].hi;
      }
    if (own_lo > lo) scan(lo, own_lo < hi ? own_lo : hi);
    lo = own_hi > lo ? own_hi : hi;
  }
}

}  // namespace

void scanHeap(Stream& stream, uint8_t reason, void (*also)(Stream&), LeftOver left_over) {
  const uint64_t start_ns = sys::monotonicNs();
  uint64_t stack_here = reinterpret_cast<uint64_t>(__builtin_frame_address(0));

  // /proc/self/maps first: reading it may not allocate, and the blocks must not change after.
  Scratch<char> maps;
  size_t maps_len = 0;
  for (size_t cap = 1 << 20; cap <= (64u << 20); cap *= 4) {
    if (!maps.allocate(cap)) return;
    int fd = sys::open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    maps_len = 0;
    long n;
    while ((n = sys::read(fd, maps.data + maps_len, cap - 1 - maps_len)) > 0) maps_len += static_cast<size_t>(n);
    sys::close(fd);
    if (maps_len < cap - 1) break;
    sys::unmapAnonymous(maps.data, maps.bytes);
    maps.data = nullptr;
  }
  if (!maps.data) return;
  maps.data[maps_len] = '\0';

  aggregator().withBlocks([&](const Aggregator::Block* slot, uint64_t slots, uint64_t used) {
    Scratch<ScanBlock> blocks, tmp;
    Scratch<uint8_t> rooted;
    if (!blocks.allocate(used) || !tmp.allocate(used) || !rooted.allocate(used)) return;
    size_t n = 0;
    for (uint64_t i = 0; i < slots && n < used; ++i)
      if (slot[i].key) blocks.data[n++] = {slot[i].key, slot[i].size, slot[i].stack};
    sortByAddress(blocks.data, tmp.data, n);
    PageIndex pages;
    Graph graph(blocks.data, n, pages.build(blocks.data, n) ? &pages : nullptr);
    Writer out{stream, rooted.data};
    out.begin(n, reason);
    out.blocks(blocks.data, n);

    uint64_t words = 0, root_bytes = 0;
    // Roots: every private writable mapping that holds no live block, except the tracker's own
    // memory and its library; the calling thread's stack only above the current frame.
    uint64_t* buffer = reinterpret_cast<uint64_t*>(tmp.data);  // reused as the read buffer
    const size_t buffer_bytes = tmp.bytes < (1u << 20) ? tmp.bytes : (1u << 20);
    auto scanRange = [&](uint64_t lo, uint64_t hi, uint8_t kind) {
      lo = (lo + 7) & ~uint64_t{7};
      while (lo + 8 <= hi) {
        size_t len = hi - lo < buffer_bytes ? static_cast<size_t>(hi - lo) & ~size_t{7} : buffer_bytes;
        long got = safeRead(lo, buffer, len);
        if (got <= 0) return;  // unreadable: skip the rest of this range
        root_bytes += static_cast<uint64_t>(got);
        for (long k = 0; k < got / 8; ++k) {
          int64_t j = graph.find(buffer[k]);
          if (j >= 0 && !rooted.data[j]) rooted.data[j] = kind;
        }
        words += static_cast<uint64_t>(got) / 8;
        lo += static_cast<uint64_t>(got);
      }
    };
    for (char* line = maps.data; *line;) {
      char* next = strchr(line, '\n');
      if (next) *next = '\0';
      uint64_t lo = strtoull(line, &line, 16);
      uint64_t hi = strtoull(line + 1, &line, 16);
      const char* perms = line + 1;
      const char* path = strchr(perms, '/');
      if (!path) path = strchr(perms, '[');
      bool writable_private = perms[0] == 'r' && perms[1] == 'w' && perms[3] == 'p';
      bool skip = !writable_private || (path && (strstr(path, "libtidemark_preload") || strncmp(path, "[v", 2) == 0));
      if (!skip) {
        uint8_t kind = static_cast<uint8_t>(format::RootKind::Other);
        if (path && path[0] == '/') kind = static_cast<uint8_t>(format::RootKind::Data);
        if (path && strncmp(path, "[stack", 6) == 0) kind = static_cast<uint8_t>(format::RootKind::Stack);
        if (stack_here >= lo && stack_here < hi) {
          lo = stack_here;  // below the current frame is dead stack
          kind = static_cast<uint8_t>(format::RootKind::Stack);
        }
        auto scanRoot = [&](uint64_t a, uint64_t b) { withoutOwn(a, b, [&](uint64_t c, uint64_t d) { scanRange(c, d, kind); }); };
        if (!graph.anyBlockIn(lo, hi)) {
          scanRoot(lo, hi);
        } else if (!(path && strncmp(path, "[heap]", 6) == 0)) {
          // Blocks share this mapping with other memory (the kernel merges neighbouring anonymous
          // mappings: an interpreter's own arenas beside malloc's mmapped chunks). malloc's parts
          // are not roots (their free chunks hold stale pointers; the blocks are read as blocks);
          // the rest is. Where malloc's part cannot be told, the whole mapping is left out.
          uint64_t cursor = lo;
          for (size_t i = graph.firstEndingAbove(lo); i < graph.size() && graph[i].addr < hi && cursor < hi;) {
            Range own = mallocRangeAround(graph[i].addr);
            if (own.hi <= own.lo) {
              cursor = hi;
              break;
            }
            if (own.lo > cursor) scanRoot(cursor, own.lo < hi ? own.lo : hi);
            if (own.hi > cursor) cursor = own.hi;
            while (i < graph.size() && graph[i].addr < cursor) ++i;
          }
          if (cursor < hi) scanRoot(cursor, hi);
        }
      }
      if (!next) break;
      line = next + 1;
    }
    out.roots(n);

    // Edges: the words inside every block (read in place: the lock keeps every block allocated).
    auto leftOver = [&](size_t i) {
      return left_over && left_over(reinterpret_cast<const uint8_t*>(blocks.data[i].addr), blocks.data[i].size);
    };
    for (size_t i = 0; i < n; ++i) {
      const ScanBlock& b = blocks.data[i];
      auto* words_in = reinterpret_cast<const uint64_t*>(b.addr);
      uint64_t count = b.size / 8;
      int64_t last = -1;
      const bool left = leftOver(i);
      for (uint64_t k = 0; k < count; ++k) {
        int64_t j = graph.find(words_in[k]);
        if (j >= 0 && j != last && (!left || leftOver(static_cast<size_t>(j)))) {
          out.edge(i, static_cast<uint64_t>(j));
          last = j;
        }
      }
      words += count;
    }
    out.flushEdges();
    if (also) also(stream);
    out.end(start_ns, words, root_bytes);
  });
}

}  // namespace tidemark::preload
