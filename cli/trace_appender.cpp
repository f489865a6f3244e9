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
  uint64_t index = __atomic_fetch_add(&h->chunks_allocated, 1, __ATOMIC_RELAXED);
  uint64_t offset = h->header_size + index * h->chunk_size;

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
  // The chunk keeps the file a whole number of chunks long, so a reader can tell a cut file.
  // The records first: on a full disk nothing is promised that was not written (a hole past the
  // end would be extended by ftruncate only after the page exists).
  bool ok = pwrite(fd, chunk.data(), chunk.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(chunk.size()) &&
            ftruncate(fd, static_cast<off_t>(offset + h->chunk_size)) == 0;
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
