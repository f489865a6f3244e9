#include "trace_appender.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "error.h"
#include "tidemark/trace_codec.h"

namespace tidemark {

namespace {

// The last chunks of the trace that the process never wrote (their magic still 0: the one it was
// growing when the disk filled, those the tracker kept ready and nobody took), lowest first: on a
// full disk their space is all there is to write in. Readers skip such chunks (trace-format.md).
std::vector<uint64_t> unusedLastChunks(int fd, const format::FileHeader& h) {
  constexpr uint64_t kLookBack = 8;  // the tracker keeps 2 ready; threads that failed to grow one
  std::vector<uint64_t> unused;
  const uint64_t allocated = __atomic_load_n(&h.chunks_allocated, __ATOMIC_RELAXED);
  for (uint64_t index = allocated; index-- > 0 && allocated - index <= kLookBack;) {
    uint32_t magic = 0;
    ssize_t n = pread(fd, &magic, sizeof magic, static_cast<off_t>(h.header_size + index * h.chunk_size));
    if (n < 0 || (n == sizeof magic && magic != 0)) break;  // written: the chunks below it are the process's
    unused.insert(unused.begin(), index);  // n == 0: past the end of the file, never grown
  }
  return unused;
}

}  // namespace

format::FileHeader appendProcessEnd(const std::string& path, uint64_t pid, const WrapperRecords& end) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) throw Error(fmt::format("cannot open trace {}: {}", path, strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < static_cast<off_t>(format::kHeaderSize)) {
    ::close(fd);
    throw Error(fmt::format("{} is not a trace of the command", path));
  }
  void* m = mmap(nullptr, format::kHeaderSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) {
    ::close(fd);
    throw Error(fmt::format("cannot map trace {}: {}", path, strerror(errno)));
  }
  auto* h = static_cast<format::FileHeader*>(m);
  if (memcmp(h->magic, format::kMagic, sizeof h->magic) != 0 || h->pid != pid) {
    munmap(m, format::kHeaderSize);
    ::close(fd);
    throw Error(fmt::format("{} is not the trace of process {}", path, pid));
  }
  std::vector<uint8_t> chunk(4096, 0);
  format::ChunkHeader ch{format::kChunkMagic, format::kWrapperStream, 0, 0};
  memcpy(chunk.data(), &ch, sizeof ch);
  uint8_t* p = chunk.data() + sizeof ch;
  // Every record gets seq 2^64-1 (after every event of the process); within the chunk they keep
  // this order.
  constexpr uint64_t kAfterEverything = ~0ull;
  format::ChunkDeltas deltas{};
  auto add = [&](const auto& record) {
    format::RecordEncoder encoder(p, deltas, kAfterEverything, record);
    format::publishRecord(p, record.kType);
    p = encoder.end();
  };
  if (end.limit) add(format::MemoryLimit{.bytes = end.limit, .kind = end.limit_kind});
  if (end.oom_killed) add(format::OomKill{.time_ns = end.time_ns, .evidence = end.oom_evidence, .usage = end.oom_usage});
  if (end.oom_kills_of_others)
    add(format::OomKill{.time_ns = end.time_ns,
                        .evidence = end.oom_evidence,
                        .usage = end.oom_usage,
                        .other_process = 1,
                        .kills = end.oom_kills_of_others});
  add(format::ProcessEnd{
      .time_ns = end.time_ns,
      .kind = static_cast<uint64_t>(end.signaled ? format::EndKind::Signaled : format::EndKind::Exited),
      .code = static_cast<uint64_t>(end.code)});
  // In a chunk the process never wrote, or else a new one. The chunk keeps the file a whole number
  // of chunks long, so a reader can tell a cut file. The records first: on a full disk nothing is
  // promised that was not written (a hole past the end would be extended by ftruncate only after
  // the page exists).
  auto writeAt = [&](uint64_t index) {
    const uint64_t offset = h->header_size + index * h->chunk_size;
    if (pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset)) != static_cast<ssize_t>(chunk.size())) return false;
    struct stat now {};
    return fstat(fd, &now) == 0 &&
           (static_cast<uint64_t>(now.st_size) >= offset + h->chunk_size ||
            ftruncate(fd, static_cast<off_t>(offset + h->chunk_size)) == 0);
  };
  bool ok = false;
  for (uint64_t index : unusedLastChunks(fd, *h)) {
    if (!(ok = writeAt(index))) continue;
    // The slots the tracker took and never grew (a full disk) are not chunks the file lost.
    struct stat now {};
    if (fstat(fd, &now) == 0) {
      const uint64_t present = (static_cast<uint64_t>(now.st_size) - h->header_size) / h->chunk_size;
      if (present < h->chunks_allocated) __atomic_store_n(&h->chunks_allocated, present, __ATOMIC_RELAXED);
    }
    break;
  }
  if (!ok) ok = writeAt(__atomic_fetch_add(&h->chunks_allocated, 1, __ATOMIC_RELAXED));
  int err = errno;
  if (ok && !__atomic_load_n(&h->ended_ns, __ATOMIC_RELAXED))  // killed: the tracker could not say so itself
    __atomic_store_n(&h->ended_ns, std::max<uint64_t>(end.time_ns, 1), __ATOMIC_RELEASE);
  format::FileHeader header = *h;
  munmap(m, format::kHeaderSize);
  ::close(fd);
  if (!ok) throw Error(fmt::format("cannot append to trace {}: {}", path, strerror(err)));
  return header;
}

}  // namespace tidemark
