#include "trace_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <zstd.h>

#include "error.h"
#include "progress.h"
#include "input_file.h"
#include "chunk_packing.h"

namespace tidemark {

using format::RecordType;

void TraceReader::fail(const std::string& why) {
  ::close(fd_);
  fd_ = -1;
  throw Error(fmt::format("{}: {}", path_, why));
}

TraceReader::TraceReader(const std::string& path) : path_(path) {
  fd_ = openRegularFile(path, "trace", size_);
  if (size_ < sizeof(format::FileHeader)) {
    ::close(fd_);
    throw Error(fmt::format("{} is not a tidemark trace: {} bytes, shorter than a trace header", path, size_));
  }
  // Read with pread, not mapped: a mapping of a trace on a full tmpfs, or one cut by another
  // process while we read it, raises SIGBUS where read() returns what is there.
  if (!readAt(0, &header_, sizeof header_)) fail(fmt::format("cannot read the header: {}", strerror(errno)));
  uint8_t magic_bytes[sizeof header_.magic];
  memcpy(magic_bytes, header_.magic, sizeof magic_bytes);
  if (memcmp(header_.magic, format::kMagic, sizeof header_.magic) != 0) {
    bool empty = std::all_of(magic_bytes, magic_bytes + sizeof magic_bytes, [](uint8_t b) { return b == 0; });
    fail(empty ? "not a tidemark trace (the header was never written: the process died while starting?)"
               : "not a tidemark trace (wrong magic)");
  }
  if (header_.version > format::kVersion)
    fail(fmt::format("trace format version {} is newer than this tidemark reads ({}); upgrade tidemark",
                     header_.version, format::kVersion));
  if (header_.version == 0) fail("corrupt trace header (version 0)");
  if ((header_.flags & format::kFlagSampled) && (header_.sample_bytes == 0 || (header_.flags & format::kFlagAggregate)))
    fail(fmt::format("corrupt trace header (sample mode with a mean of {} bytes{})", header_.sample_bytes,
                     header_.flags & format::kFlagAggregate ? ", and aggregated" : ""));
  if ((header_.flags & format::kFlagPacked) && header_.version < 11)
    fail("corrupt trace header (packed in a format before 11)");
  if (header_.header_size < sizeof(format::FileHeader) || header_.header_size > (1u << 20))
    fail(fmt::format("corrupt trace header (header size {})", header_.header_size));
  if (header_.chunk_size < 4096 || header_.chunk_size > (1u << 30) || header_.chunk_size % 4096)
    fail(fmt::format("corrupt trace header (chunk size {})", header_.chunk_size));
  if (size_ < header_.header_size) fail(fmt::format("trace is cut inside its header ({} bytes)", size_));

  if (packed())
    findPacks();
  else
    findChunks();
  std::sort(chunks_.begin(), chunks_.end(), [](const Chunk& a, const Chunk& b) {
    return a.stream != b.stream ? a.stream < b.stream : a.stream_chunk < b.stream_chunk;
  });
  // A thread's chunks are numbered 0, 1, 2, ...: a missing number is a lost stretch of its events.
  size_t missing = 0, duplicated = 0;
  for (size_t i = 0; i < chunks_.size(); ++i) {
    bool first = i == 0 || chunks_[i - 1].stream != chunks_[i].stream;
    uint32_t expected = first ? 0 : chunks_[i - 1].stream_chunk + 1;
    if (!first && chunks_[i].stream_chunk < expected) ++duplicated;
    else if (chunks_[i].stream_chunk > expected) missing += chunks_[i].stream_chunk - expected;
  }
  if (missing)
    warnings_.push_back(fmt::format("the trace is damaged: {} chunk{} of events {} missing inside the threads' streams; "
                                    "figures after {} are short",
                                    missing, missing == 1 ? "" : "s", missing == 1 ? "is" : "are",
                                    missing == 1 ? "it" : "them"));
  if (duplicated) fail(fmt::format("corrupt trace: {} chunks claim a place another chunk of their stream holds", duplicated));
}

// A chunk whose magic is zero was taken but never written: the writer sets it before the chunk's
// first record. A file that ends inside such a chunk lost nothing (a disk that filled while the
// chunk was being grown without fallocate leaves one).
bool TraceReader::neverWritten(uint64_t chunk_offset) const {
  uint32_t magic = 0;  // the bytes of it the file holds; the rest zero
  return readAt(chunk_offset, &magic, static_cast<size_t>(std::min<uint64_t>(sizeof magic, size_ - chunk_offset))) &&
         magic == 0;
}

void TraceReader::findChunks() {
  uint64_t cs = header_.chunk_size;
  uint64_t present = (size_ - header_.header_size + cs - 1) / cs;
  if ((size_ - header_.header_size) % cs != 0 && !neverWritten(header_.header_size + (present - 1) * cs))
    warnings_.push_back(fmt::format("the trace file is cut short: it ends {} bytes into chunk {}; events after "
                                    "that point are missing",
                                    (size_ - header_.header_size) % cs, present - 1));
  else if (present < header_.chunks_allocated && header_.chunks_allocated - present > 1)
    warnings_.push_back(fmt::format("the trace file is cut short: {} of {} chunks present",
                                    present, header_.chunks_allocated));
  for (uint64_t i = 0; i < present; ++i) {
    uint64_t off = header_.header_size + i * cs;
    uint64_t len = std::min(cs, size_ - off);
    if (len < sizeof(format::ChunkHeader)) continue;
    format::ChunkHeader ch;
    if (!readAt(off, &ch, sizeof ch)) fail(fmt::format("cannot read chunk {}: {}", i, strerror(errno)));
    if (ch.magic == 0) continue;  // taken but never written (the writer died right after)
    if (ch.magic != format::kChunkMagic)
      fail(fmt::format("corrupt trace: chunk {} at offset {} has a bad magic", i, off));
    if (ch.stream_id == format::kAggregateStream)
      aggregate_chunks_.push_back({off, len, ch.stream_id, ch.stream_chunk});
    else
      chunks_.push_back({off, len, ch.stream_id, ch.stream_chunk});
  }
}

// A modeled body can be longer than the chunk's records (a name byte before each address it cannot
// name: 4 bytes for a Free of 3 at worst), never twice as long.
constexpr uint64_t kPackedGrowthBound = 2;

// A packed trace: each pack's header and its chunks' entries, checked against the file and the
// pack before any of it is trusted. A file cut inside a pack keeps the packs before it.
void TraceReader::findPacks() {
  const uint64_t cs = header_.chunk_size;
  uint64_t at = header_.header_size;
  std::vector<format::PackedChunk> entries;
  while (at < size_) {
    format::PackHeader ph{};
    uint64_t directory = at + sizeof ph;
    if (directory > size_) {
      warnings_.push_back(fmt::format("the packed trace is cut short inside pack {}; events after it are missing", packs_.size()));
      break;
    }
    if (!readAt(at, &ph, sizeof ph)) fail(fmt::format("cannot read pack {}: {}", packs_.size(), strerror(errno)));
    if (ph.magic != format::kPackMagic)
      fail(fmt::format("corrupt packed trace: pack {} at offset {} has a bad magic", packs_.size(), at));
    if (ph.chunk_count == 0 || ph.chunk_count > format::kMaxChunksPerPack || ph.body_bytes > ph.chunk_count * cs * kPackedGrowthBound)
      fail(fmt::format("corrupt packed trace: pack {} at offset {} claims {} chunks of {} bytes", packs_.size(), at,
                       ph.chunk_count, ph.body_bytes));
    uint64_t payload = directory + ph.chunk_count * sizeof(format::PackedChunk);
    if (payload > size_ || ph.payload_bytes > size_ - payload) {
      warnings_.push_back(fmt::format("the packed trace is cut short inside pack {}; events after it are missing", packs_.size()));
      break;
    }
    entries.resize(ph.chunk_count);
    if (!readAt(directory, entries.data(), entries.size() * sizeof(format::PackedChunk)))
      fail(fmt::format("cannot read pack {}: {}", packs_.size(), strerror(errno)));
    for (uint32_t i = 0; i < ph.chunk_count; ++i) {
      const format::PackedChunk& e = entries[i];
      bool raw = e.encoding == static_cast<uint32_t>(format::PackEncoding::Raw);
      const bool counters = e.header.stream_id == format::kAggregateStream;  // kept raw, read by stackCounters()
      if (e.header.magic != format::kChunkMagic || (counters && (!raw || !aggregated())) ||
          e.length < sizeof(format::ChunkHeader) || e.length > cs ||
          e.encoding > static_cast<uint32_t>(format::PackEncoding::Modeled3) || e.body_offset > ph.body_bytes ||
          e.body_bytes > ph.body_bytes - e.body_offset || (raw && e.body_bytes > e.length - sizeof(format::ChunkHeader)))
        fail(fmt::format("corrupt packed trace: chunk {} of pack {} at offset {} is out of bounds", i, packs_.size(), at));
      (counters ? aggregate_chunks_ : chunks_)
          .push_back({e.body_offset, e.length, e.header.stream_id, e.header.stream_chunk,
                      static_cast<uint32_t>(packs_.size()), i, e.header.tid,
                      static_cast<format::PackEncoding>(e.encoding), e.body_bytes});
    }
    packs_.push_back({payload, ph.payload_bytes, ph.body_bytes});
    at = payload + ph.payload_bytes;
  }
}

std::vector<format::StackCounters> TraceReader::stackCounters() const {
  std::vector<format::StackCounters> out;
  uint64_t per_page = format::countersPerChunk(header_.chunk_size);
  uint64_t max_id = header_.aggregate.max_stack_id;
  // The counters of every id live in the aggregate chunks: an id past what they hold is damage.
  if (max_id >= aggregate_chunks_.size() * per_page + per_page)
    throw Error(fmt::format("{}: corrupt trace header: {} stacks, but its aggregate chunks hold {} at most", path_,
                            max_id, aggregate_chunks_.size() * per_page));
  out.resize(max_id + 1, format::StackCounters{});
  // Packed: each chunk is kept whole in its pack's body (its zeros after the last counter cut off).
  uint32_t body_of = kNotPacked;
  std::vector<uint8_t> compressed, body;
  for (const Chunk& c : aggregate_chunks_) {
    if (c.pack != kNotPacked && c.pack != body_of) {
      packBody(c.pack, compressed, body);
      body_of = c.pack;
    }
    uint64_t first = c.stream_chunk * per_page;
    for (uint64_t i = 0; i < per_page && first + i <= max_id; ++i) {
      uint64_t at = 64 + i * sizeof(format::StackCounters);
      if (at + sizeof(format::StackCounters) > c.length) break;  // the file was cut here
      if (c.pack == kNotPacked) {
        if (!readAt(c.offset + at, &out[first + i], sizeof(format::StackCounters)))
          throw Error(fmt::format("{}: cannot read the aggregate counters: {}", path_, strerror(errno)));
        continue;
      }
      const uint64_t in_body = at - sizeof(format::ChunkHeader);  // a raw chunk's body follows its header
      if (in_body >= c.body_bytes) break;  // zeros from here
      memcpy(&out[first + i], body.data() + c.offset + in_body,
             std::min<uint64_t>(sizeof(format::StackCounters), c.body_bytes - in_body));
    }
  }
  return out;
}

void TraceReader::packBody(uint32_t index, std::vector<uint8_t>& compressed, std::vector<uint8_t>& out) const {
  const Pack& pack = packs_.at(index);
  compressed.resize(pack.payload_bytes);
  if (!readAt(pack.payload_offset, compressed.data(), compressed.size()))
    throw Error(fmt::format("{}: cannot read the pack at offset {}: {}", path_, pack.payload_offset, strerror(errno)));
  out.resize(pack.body_bytes);
  size_t n = ZSTD_decompress(out.data(), out.size(), compressed.data(), compressed.size());
  if (ZSTD_isError(n) || n != pack.body_bytes)
    throw Error(fmt::format("{}: corrupt packed trace: the pack at offset {} does not decompress ({})", path_,
                            pack.payload_offset, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
}

uint64_t TraceReader::recordBytes() const {
  if (!packed()) return size_;
  uint64_t bytes = header_.header_size;
  for (const Chunk& c : chunks_) bytes += c.length;
  return bytes;
}

TraceReader::Stamp TraceReader::stamp() const {
  struct stat st {};
  if (fstat(fd_, &st) != 0) return {};
  auto ns = [](const timespec& t) { return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(t.tv_nsec); };
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), ns(st.st_mtim), ns(st.st_ctim),
          static_cast<uint32_t>(st.st_mode & 07777)};
}

TraceReader::~TraceReader() {
  if (fd_ >= 0) ::close(fd_);
}

bool TraceReader::readAt(uint64_t offset, void* out, size_t length) const {
  auto* p = static_cast<uint8_t*>(out);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd_, p + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) {  // shorter than fstat said: the file was cut while we read it
      memset(p + done, 0, length - done);
      return true;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

namespace {

// Damage found while decoding, reported once per kind after the whole trace was read.
struct Damage {
  size_t zeroed_chunks = 0;  // records, then zeros, then records again inside one chunk
  size_t seq_reversals = 0;  // a record numbered before the one ahead of it in its own stream
};

// Decodes one stream (its chunks in order) record by record.
constexpr uint32_t kRecordsPerProgress = 1u << 18;

// The read's second thread: it unpacks each stream's next packed chunk while the reader decodes
// and replays the one before (unpacking is about half of a packed trace's first read). Jobs run
// in the order given; destroying it waits for the job under way and drops the others.
class UnpackAhead {
 public:
  UnpackAhead() = default;
  UnpackAhead(const UnpackAhead&) = delete;
  UnpackAhead& operator=(const UnpackAhead&) = delete;
  ~UnpackAhead() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    work_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!no_thread_ && !thread_.joinable()) {
        try {
          thread_ = std::thread([this] { run(); });
        } catch (const std::system_error&) {
          no_thread_ = true;  // out of threads (a limit): the reader unpacks each chunk itself
        }
      }
      if (!no_thread_) {
        jobs_.push_back(std::move(job));
        work_.notify_one();
        return;
      }
    }
    job();
  }
  // A job sets its flag when done; the reader waits for it.
  void finished(bool& done) {
    std::lock_guard<std::mutex> lock(mutex_);
    done = true;
    done_.notify_all();
  }
  void wait(const bool& done) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return done; });
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        work_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (stop_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_, done_;
  std::deque<std::function<void()>> jobs_;
  bool stop_ = false;
  bool no_thread_ = false;
  std::thread thread_;
};

class Cursor {
 public:
  Cursor(const TraceReader& reader, uint64_t chunk_size, std::vector<TraceReader::Chunk> chunks, uint32_t stream,
         const std::string& path, Damage& damage)
      : reader_(reader), chunk_size_(chunk_size), chunks_(std::move(chunks)), stream_(stream), path_(path), damage_(damage) {}

  // Packed chunks are unpacked one ahead on `ahead`'s thread from here on. The cursor must stay
  // where it is (its jobs point to it) and outlive `ahead`.
  void unpackAheadOn(UnpackAhead* ahead) { ahead_ = ahead; }

  size_t chunksTaken() const { return index_; }

  // Decodes the next record into rec; false at the end of the stream.
  bool next(Record& rec) {
    for (;;) {
      if (!p_) {
        if (index_ >= chunks_.size()) {
          // The stream is done: its pack's buffers go (a trace of many threads would hold one each).
          std::vector<uint8_t>().swap(compressed_);
          std::vector<uint8_t>().swap(pack_body_);
          return false;
        }
        const TraceReader::Chunk& chunk = chunks_[index_++];
        const uint64_t len = chunk.length;
        // The records of the head stay valid while the merge looks at other streams: each
        // cursor keeps its own chunk, and replaces it only when its head was taken.
        if (chunk.pack == TraceReader::kNotPacked) {
          buffer_.resize(len);
          if (!reader_.readAt(chunk.offset, buffer_.data(), len))
            throw Error(fmt::format("{}: cannot read the chunk at offset {}: {}", path_, chunk.offset, strerror(errno)));
          chunk_offset_ = chunk.offset;
        } else if (next_.index == index_ - 1) {
          ahead_->wait(next_.done);
          next_.index = kNone;
          if (next_.error) std::rethrow_exception(next_.error);
          buffer_.swap(next_.buffer);
          chunk_offset_ = next_.chunk_offset;
        } else {
          unpack(chunk, buffer_, chunk_offset_);
        }
        unpackNextAhead();
        p_ = buffer_.data() + sizeof(format::ChunkHeader);
        end_ = buffer_.data() + len;
        cut_ = len < chunk_size_;
        deltas_ = format::ChunkDeltas{};
      }
      if (p_ >= end_ || *p_ == 0) {
        // A zero type byte ends a chunk; data after it means a stretch of the chunk was zeroed,
        // unless it is the record being written when the process was killed (its type byte is
        // stored last).
        if (p_ < end_ && !allZero(p_, end_) && !inFlightRecord()) ++damage_.zeroed_chunks;
        p_ = nullptr;
        continue;
      }
      const uint8_t* start = p_;
      if (decode(rec)) return true;
      if (cut_) {  // the file ends inside this record: that is where the trace stops
        p_ = nullptr;
        continue;
      }
      throw Error(fmt::format("{}: corrupt trace: undecodable {} record at offset {}", path_,
                              *start < static_cast<uint8_t>(RecordType::Count)
                                  ? format::recordTypeName(static_cast<RecordType>(*start))
                                  : fmt::format("type-{}", *start),
                              chunk_offset_ + static_cast<uint64_t>(start - buffer_.data())));
    }
  }

 private:
  // The next chunk, when packed, goes to the second thread while this one is read. One job per
  // cursor at a time: the unpacking state (the pack, its model) is the job's until it is done.
  void unpackNextAhead() {
    if (!ahead_ || index_ >= chunks_.size() || chunks_[index_].pack == TraceReader::kNotPacked) return;
    next_.index = index_;
    next_.done = false;
    next_.error = nullptr;
    ahead_->submit([this, index = index_] {
      try {
        unpack(chunks_[index], next_.buffer, next_.chunk_offset);
      } catch (...) {
        next_.error = std::current_exception();  // thrown when the reader reaches this chunk
      }
      ahead_->finished(next_.done);
    });
  }

  // A packed chunk into `out`: its pack decompressed when it is the pack's first, and rebuilt by
  // the pack's address model, which has seen the pack's chunks before it in order.
  void unpack(const TraceReader::Chunk& chunk, std::vector<uint8_t>& out, uint64_t& out_offset) {
    const TraceReader::Pack& pack = reader_.packs()[chunk.pack];
    out_offset = pack.payload_offset;
    if (chunk.pack != pack_index_) {
      if (chunk.position != 0)
        throw Error(fmt::format("{}: corrupt packed trace: the pack at offset {} begins inside a stream's run of chunks",
                                path_, pack.payload_offset));
      reader_.packBody(chunk.pack, compressed_, pack_body_);
      pack_index_ = chunk.pack;
      next_position_ = 0;
      model_.reset();
    }
    if (chunk.position != next_position_++)
      throw Error(fmt::format("{}: corrupt packed trace: the chunks of the pack at offset {} are out of order", path_,
                              pack.payload_offset));
    format::ChunkHeader header{format::kChunkMagic, chunk.stream, chunk.stream_chunk, chunk.tid};
    const uint8_t* body = pack_body_.data() + chunk.offset;
    bool ok = true;
    if (chunk.encoding == format::PackEncoding::Raw) {
      out.assign(chunk.length, 0);
      memcpy(out.data(), &header, sizeof header);
      memcpy(out.data() + sizeof header, body, chunk.body_bytes);
    } else {
      ok = unpackChunkBody(header, body, chunk.body_bytes, chunk.length, reader_.header().version, chunk.encoding, model_,
                           out);
    }
    if (!ok)
      throw Error(fmt::format("{}: corrupt packed trace: chunk {} of stream {} (pack at offset {}) does not unpack",
                              path_, chunk.stream_chunk, chunk.stream, pack.payload_offset));
  }

  static bool allZero(const uint8_t* from, const uint8_t* to) {
    return std::all_of(from, to, [](uint8_t b) { return b == 0; });
  }

  // Whether the bytes at p_ (a zero type byte) are one record whose type was not yet published,
  // with nothing but zeros after it: as some record type they decode, and the chunk ends there.
  bool inFlightRecord() {
    const uint8_t* at = p_;
    const format::ChunkDeltas deltas = deltas_;
    const uint64_t last_seq = last_seq_;
    const size_t reversals = damage_.seq_reversals;
    uint8_t& type = buffer_[static_cast<size_t>(at - buffer_.data())];
    bool found = false;
    Record scratch;
    for (uint8_t t = 1; t < static_cast<uint8_t>(RecordType::Count) && !found; ++t) {
      type = t;
      found = decode(scratch) && allZero(p_, end_);
      p_ = at;
      deltas_ = deltas;
      last_seq_ = last_seq;
      damage_.seq_reversals = reversals;
    }
    type = 0;
    return found;
  }

  bool decode(Record& r) {
    uint8_t type = *p_;
    if (type == 0 || type >= static_cast<uint8_t>(RecordType::Count)) return false;
    format::FieldDecoder d(p_ + 1, end_, deltas_, reader_.header().version);
    int64_t seq_delta;
    if (!d.signedVarint("seq", seq_delta)) return false;
    deltas_.seq += static_cast<uint64_t>(seq_delta);
    r.type = static_cast<RecordType>(type);
    r.stream = stream_;
    if (deltas_.seq < last_seq_) ++damage_.seq_reversals;  // a thread's events are in order
    r.seq = last_seq_ = deltas_.seq;
    bool ok = false;
    switch (r.type) {  // most records: decoded here, inline
      case RecordType::Alloc: ok = decodeFieldsAs<format::Alloc>(d, r.slot<format::Alloc>()); break;
      case RecordType::Free: ok = decodeFieldsAs<format::Free>(d, r.slot<format::Free>()); break;
      default: ok = decodeFields(r.type, d, r);
    }
    if (ok) p_ = d.position();
    return ok;
  }

  const TraceReader& reader_;
  std::vector<uint8_t> buffer_;  // the chunk being decoded
  uint64_t chunk_offset_ = 0;
  uint64_t chunk_size_;
  std::vector<TraceReader::Chunk> chunks_;
  // A packed trace: the pack being read, decompressed, and its address model.
  uint32_t pack_index_ = TraceReader::kNotPacked;
  uint32_t next_position_ = 0;
  std::vector<uint8_t> compressed_, pack_body_;
  PackModel model_;
  // The chunk being unpacked ahead (index kNone: none); `done` and `error` are set by the job.
  static constexpr size_t kNone = SIZE_MAX;
  struct Ahead {
    size_t index = kNone;
    bool done = true;
    std::exception_ptr error;
    std::vector<uint8_t> buffer;
    uint64_t chunk_offset = 0;
  };
  UnpackAhead* ahead_ = nullptr;
  Ahead next_;
  size_t index_ = 0;
  uint32_t stream_;
  const std::string& path_;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  bool cut_ = false;
  format::ChunkDeltas deltas_{};
  uint64_t last_seq_ = 0;
  Damage& damage_;
};

}  // namespace

void TraceReader::forEach(const std::function<void(const Record&)>& fn) {
  Damage damage;
  std::vector<Cursor> cursors;
  for (size_t i = 0; i < chunks_.size();) {
    std::vector<Chunk> list;
    uint32_t stream = chunks_[i].stream;
    for (; i < chunks_.size() && chunks_[i].stream == stream; ++i) list.push_back(chunks_[i]);
    cursors.emplace_back(*this, header_.chunk_size, std::move(list), stream, path_, damage);
  }
  // Declared after the cursors, so destroyed first: its last job ends before they go.
  std::optional<UnpackAhead> ahead;
  if (!packs_.empty() && std::thread::hardware_concurrency() > 1) {
    ahead.emplace();
    for (Cursor& c : cursors) c.unpackAheadOn(&*ahead);
  }
  // How far: the chunks the cursors took, of all of them (the head of each is being read).
  const uint64_t all_chunks = chunks_.size();
  const std::string reading = "reading " + path_;
  auto progress = [&] {
    uint64_t taken = 0;
    for (const Cursor& c : cursors) taken += c.chunksTaken();
    reportProgress(reading, all_chunks ? static_cast<double>(taken) / static_cast<double>(all_chunks) : 1.0);
  };
  uint32_t until_progress = kRecordsPerProgress;
  std::vector<Record> heads(cursors.size());
  using Entry = std::pair<uint64_t, size_t>;  // (seq, cursor)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
  for (size_t i = 0; i < cursors.size(); ++i)
    if (cursors[i].next(heads[i])) queue.emplace(heads[i].seq, i);
  stop_ = false;
  while (!queue.empty() && !stop_) {
    size_t i = queue.top().second;
    queue.pop();
    // Stay on this stream while it is still the earliest: one stream at a time is the common case.
    for (;;) {
      fn(heads[i]);
      if (--until_progress == 0) {
        until_progress = kRecordsPerProgress;
        progress();
      }
      if (stop_ || !cursors[i].next(heads[i])) break;
      if (!queue.empty() && queue.top().first < heads[i].seq) {
        queue.emplace(heads[i].seq, i);
        break;
      }
    }
  }
  if (damage.zeroed_chunks)
    warnings_.push_back(fmt::format("the trace is damaged: {} chunk{} zeroed part-way, and the records after the "
                                    "zeros are not read",
                                    damage.zeroed_chunks, damage.zeroed_chunks == 1 ? " has a stretch" : "s have stretches"));
  if (damage.seq_reversals)
    warnings_.push_back(fmt::format("the trace is damaged: {} record{} out of order within a thread's stream",
                                    damage.seq_reversals, damage.seq_reversals == 1 ? " is" : "s are"));
}

}  // namespace tidemark
