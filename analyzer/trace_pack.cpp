#include "trace_pack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <exception>
#include <thread>

#include <fmt/format.h>
#include <zstd.h>

#include "chunk_packing.h"
#include "error.h"
#include "live_status.h"
#include "progress.h"
#include "trace_reader.h"

namespace tidemark {

namespace {

// A pack is closed when its chunks reach this size (a body of about 2 MiB for a native program's
// records): the reader holds one decompressed pack per thread, and zstd finds little more in
// larger ones (8 MiB: 3% smaller on the bench workload).
constexpr size_t kPackRecordBytes = 3u << 20;

// The packed file being written beside the trace; removed unless it replaced the trace.
class PackedFile {
 public:
  // Made with the trace's permissions and, where this process may give it away, its owner.
  PackedFile(const std::string& path, const struct stat& trace) : path_(path + ".packing") {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, trace.st_mode & 07777);
    if (fd_ < 0) throw Error(fmt::format("cannot write {}: {}", path_, strerror(errno)));
    if (::fchown(fd_, trace.st_uid, trace.st_gid) != 0) {
      // Not permitted: the packed copy is this user's, as the trace was (or it could not be read).
    }
  }
  ~PackedFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void write(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    while (n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) throw Error(fmt::format("cannot write {}: {}", path_, strerror(errno)));
      p += w;
      n -= static_cast<size_t>(w);
      written_ += static_cast<uint64_t>(w);
    }
  }
  uint64_t written() const { return written_; }
  // Puts the packed file in the trace's place.
  void replace(const std::string& trace) {
    if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
      fd_ = -1;
      throw Error(fmt::format("cannot write {}: {}", path_, strerror(errno)));
    }
    fd_ = -1;
    if (::rename(path_.c_str(), trace.c_str()) != 0)
      throw Error(fmt::format("cannot replace {} by its packed copy: {}", trace, strerror(errno)));
    path_.clear();
  }

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t written_ = 0;
};

// Whether the trace's process may still add records: packing would lose them. Not when the header
// says its image ended; on this host, while the pid lives; on another (a shared directory), while
// its sampler has written within the last seconds.
bool mayStillBeWritten(const format::FileHeader& h) {
  if (h.ended_ns) return false;
  utsname self {};
  char host[sizeof h.host + 1] = {};
  memcpy(host, h.host, sizeof h.host);
  if (::uname(&self) == 0 && strcmp(self.nodename, host) == 0)
    return h.pid > 0 && h.pid < (1u << 30) && (::kill(static_cast<pid_t>(h.pid), 0) == 0 || errno == EPERM);
  timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return sampledLately(h, static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(now.tv_nsec));
}

// One pack, made from chunks [first, last) of the trace.
struct MadePack {
  std::vector<format::PackedChunk> entries;
  std::vector<uint8_t> payload;  // zstd
  uint64_t body_bytes = 0, allocations = 0;
  size_t raw_chunks = 0;
  format::PackEncoding rules = format::PackEncoding::Raw;  // of its modeled chunks
  std::string failure;  // a chunk that would not come back the same: the trace is left as it is
};

// The pack's body by one set of rules: the chunks' bodies one after another, and their entries.
struct PackBody {
  format::PackEncoding rules;
  std::vector<uint8_t> bytes;
  std::vector<format::PackedChunk> entries;
  void add(format::PackedChunk entry, const uint8_t* body, size_t n) {
    entry.body_offset = bytes.size();
    entry.body_bytes = n;
    bytes.insert(bytes.end(), body, body + n);
    entries.push_back(entry);
  }
  // A chunk packed by these rules, its body what was appended to `bytes` since `from`.
  void enter(format::PackedChunk entry, size_t from) {
    entry.encoding = static_cast<uint32_t>(rules);
    entry.body_offset = from;
    entry.body_bytes = bytes.size() - from;
    entries.push_back(entry);
  }
};

std::vector<uint8_t> compressed(const std::vector<uint8_t>& body, int level, const TraceReader& reader) {
  std::vector<uint8_t> out(ZSTD_compressBound(body.size()));
  size_t n = ZSTD_compress(out.data(), out.size(), body.data(), body.size(), level);
  if (ZSTD_isError(n)) throw Error(fmt::format("{}: zstd: {}", reader.path(), ZSTD_getErrorName(n)));
  out.resize(n);
  return out;
}

// The pack is made by the second rules and by the third (chunk_packing.h) at once, and the one
// zstd makes smaller at its fastest level is kept: the third for most native programs (the bench
// workload's 75 days 1.10 -> 0.95 bytes per allocation), the second for Python's (a script's
// estimate for pandas_backtest.py: its import-time packs 11-19% larger by the third, the later
// ones 1-2%).
MadePack makePack(const TraceReader& reader, const std::vector<TraceReader::Chunk>& chunks, size_t first, size_t last,
                  int zstd_level) {
  MadePack pack;
  const uint32_t version = reader.header().version;
  PackModel model;
  model.addresses.indexStacks();
  PackBody bodies[] = {{format::PackEncoding::Modeled2, {}, {}}, {format::PackEncoding::Modeled3, {}, {}}};
  std::vector<uint8_t> raws;  // the chunks as read, one after another: each rebuilt chunk is checked against its own
  size_t raw_bytes = 0;
  for (size_t i = first; i < last; ++i) raw_bytes += chunks[i].length;
  raws.reserve(raw_bytes);
  for (size_t i = first; i < last; ++i) {
    const TraceReader::Chunk& c = chunks[i];
    const size_t at = raws.size();
    raws.resize(at + c.length);
    uint8_t* raw = raws.data() + at;
    if (!reader.readAt(c.offset, raw, c.length))
      throw Error(fmt::format("{}: cannot read the chunk at offset {}: {}", reader.path(), c.offset, strerror(errno)));
    format::PackedChunk entry{};
    memcpy(&entry.header, raw, sizeof entry.header);
    entry.length = static_cast<uint32_t>(c.length);
    const size_t by_rank = bodies[0].bytes.size(), by_stack = bodies[1].bytes.size();
    const bool counters = c.stream == format::kAggregateStream;  // not records: kept as they are
    if (!counters && packChunkBody(raw, c.length, version, model, bodies[0].bytes, bodies[1].bytes)) {
      bodies[0].enter(entry, by_rank);
      bodies[1].enter(entry, by_stack);
    } else {
      size_t used = c.length;
      while (used > sizeof(format::ChunkHeader) && raw[used - 1] == 0) --used;
      entry.encoding = static_cast<uint32_t>(format::PackEncoding::Raw);
      for (PackBody& b : bodies) b.add(entry, raw + sizeof(format::ChunkHeader), used - sizeof(format::ChunkHeader));
      ++pack.raw_chunks;
    }
  }
  PackBody& kept = compressed(bodies[1].bytes, 1, reader).size() < compressed(bodies[0].bytes, 1, reader).size()
                       ? bodies[1]
                       : bodies[0];
  // Every chunk is rebuilt before it is kept: what the reader will get back is what was read.
  PackModel mirror;
  std::vector<uint8_t> rebuilt;
  size_t at = 0;
  for (const format::PackedChunk& entry : kept.entries) {
    const uint8_t* raw = raws.data() + at;
    at += entry.length;
    if (entry.encoding == static_cast<uint32_t>(format::PackEncoding::Raw)) continue;
    if (!unpackChunkBody(entry.header, kept.bytes.data() + entry.body_offset, entry.body_bytes, entry.length, version,
                         kept.rules, mirror, rebuilt) ||
        !std::equal(rebuilt.begin(), rebuilt.end(), raw, raw + entry.length)) {
      pack.failure = fmt::format("chunk {} of stream {} would not come back the same from its packed form",
                                 entry.header.stream_chunk, entry.header.stream_id);
      return pack;
    }
  }
  pack.payload = compressed(kept.bytes, zstd_level, reader);
  pack.entries = std::move(kept.entries);
  pack.body_bytes = kept.bytes.size();
  pack.allocations = model.addresses.allocations();
  pack.rules = kept.rules;
  return pack;
}

}  // namespace

PackOutcome packTrace(const std::string& path, int zstd_level) {
  PackOutcome outcome;
  TraceReader reader(path);
  outcome.bytes_before = outcome.bytes_after = reader.fileSize();
  if (reader.packed()) {
    outcome.left_as_is = "it is packed already";
    outcome.nothing_to_pack = true;
    return outcome;
  }
  if (reader.header().version < 10) {
    // Packing marks the file as format 11, whose records are those of format 10.
    outcome.left_as_is = fmt::format("it was written in format {}, before packing existed", reader.header().version);
    return outcome;
  }
  if (mayStillBeWritten(reader.header())) {
    outcome.left_as_is = fmt::format("its process (pid {}) may still be writing it: pack it once it has ended",
                                     reader.header().pid);
    return outcome;
  }
  if (!reader.warnings().empty()) {
    outcome.left_as_is = "it is damaged, and is kept as found (" + reader.warnings().front() + ")";
    return outcome;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw Error(fmt::format("{}: {}", path, strerror(errno)));
  PackedFile out(path, st);

  format::FileHeader header = reader.header();
  std::vector<uint8_t> header_bytes(header.header_size);
  if (!reader.readAt(0, header_bytes.data(), header_bytes.size()))
    throw Error(fmt::format("{}: cannot read the header: {}", path, strerror(errno)));
  header.version = format::kVersion;
  header.flags |= format::kFlagPacked;
  memcpy(header_bytes.data(), &header, sizeof header);
  out.write(header_bytes.data(), header_bytes.size());

  // The packs: consecutive chunks of one stream, closed at kPackRecordBytes of records. Each is
  // made on its own (its model starts afresh), so they are made on every core, a batch at a time,
  // and written in order. An aggregate trace's counters (mostly zeros: a Python program's ids are
  // mostly its frames', which count nothing) follow its records, kept raw and compressed.
  std::vector<TraceReader::Chunk> chunks = reader.chunks();
  std::vector<TraceReader::Chunk> counters = reader.aggregateChunks();
  std::sort(counters.begin(), counters.end(),
            [](const TraceReader::Chunk& a, const TraceReader::Chunk& b) { return a.stream_chunk < b.stream_chunk; });
  chunks.insert(chunks.end(), counters.begin(), counters.end());
  std::vector<std::pair<size_t, size_t>> plan;  // [first, last) chunk of each pack
  for (size_t first = 0, bytes = 0, i = 0; i < chunks.size(); ++i) {
    bytes += chunks[i].length;
    bool last = i + 1 == chunks.size() || chunks[i + 1].stream != chunks[i].stream;
    if (last || i + 1 - first == format::kMaxChunksPerPack || bytes >= kPackRecordBytes) {
      plan.emplace_back(first, i + 1);
      first = i + 1;
      bytes = 0;
    }
  }
  const size_t workers = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  const std::string packing = "packing " + path;
  for (size_t batch = 0; batch < plan.size(); batch += workers) {
    // One thread per pack of the batch (std::thread: std::async would make the executable need the
    // dynamic loader's TLS entry point, which the package check refuses).
    const size_t count = std::min(plan.size(), batch + workers) - batch;
    std::vector<MadePack> made(count);
    std::vector<std::exception_ptr> errors(count);
    std::vector<std::thread> threads;
    for (size_t k = 0; k < count; ++k)
      threads.emplace_back([&, k] {
        try {
          made[k] = makePack(reader, chunks, plan[batch + k].first, plan[batch + k].second, zstd_level);
        } catch (...) {  // an Error (a chunk that cannot be read) or no memory: thrown again below
          errors[k] = std::current_exception();
        }
      });
    for (std::thread& t : threads) t.join();
    for (size_t k = 0; k < count; ++k) {
      if (errors[k]) std::rethrow_exception(errors[k]);
      MadePack& pack = made[k];
      if (!pack.failure.empty()) {
        outcome.left_as_is = pack.failure;
        return outcome;
      }
      format::PackHeader ph{format::kPackMagic, static_cast<uint32_t>(pack.entries.size()), pack.payload.size(),
                            pack.body_bytes};
      out.write(&ph, sizeof ph);
      out.write(pack.entries.data(), pack.entries.size() * sizeof(format::PackedChunk));
      out.write(pack.payload.data(), pack.payload.size());
      outcome.chunks += pack.entries.size();
      outcome.raw_chunks += pack.raw_chunks;
      outcome.allocations += pack.allocations;
      ++outcome.packs;
      outcome.packs_by_stack += pack.rules == format::PackEncoding::Modeled3;
    }
    reportProgress(packing, static_cast<double>(batch) / static_cast<double>(plan.size()));
  }
  outcome.bytes_after = out.written();
  out.replace(path);
  return outcome;
}

}  // namespace tidemark
