#include "trace_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <queue>

#include <fmt/format.h>

#include "error.h"
#include "input_file.h"

namespace tidemark {

using format::RecordType;

TraceReader::TraceReader(const std::string& path) : path_(path) {
  fd_ = openRegularFile(path, "trace", size_);
  if (size_ < sizeof(format::FileHeader)) {
    ::close(fd_);
    throw Error(fmt::format("{} is not a tidemark trace: {} bytes, shorter than a trace header", path, size_));
  }
  void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (m == MAP_FAILED) {
    ::close(fd_);
    throw Error(fmt::format("cannot map trace {}: {}", path, strerror(errno)));
  }
  data_ = static_cast<const uint8_t*>(m);
  memcpy(&header_, data_, sizeof header_);
  auto fail = [&](const std::string& why) {
    munmap(const_cast<uint8_t*>(data_), size_);
    ::close(fd_);
    data_ = nullptr;
    throw Error(fmt::format("{}: {}", path, why));
  };
  if (memcmp(header_.magic, format::kMagic, sizeof header_.magic) != 0) {
    bool empty = std::all_of(data_, data_ + sizeof header_.magic, [](uint8_t b) { return b == 0; });
    fail(empty ? "not a tidemark trace (the header was never written: the process died while starting?)"
               : "not a tidemark trace (wrong magic)");
  }
  if (header_.version > format::kVersion)
    fail(fmt::format("trace format version {} is newer than this tidemark reads ({}); upgrade tidemark",
                     header_.version, format::kVersion));
  if (header_.version == 0) fail("corrupt trace header (version 0)");
  if (header_.header_size < sizeof(format::FileHeader) || header_.header_size > (1u << 20))
    fail(fmt::format("corrupt trace header (header size {})", header_.header_size));
  if (header_.chunk_size < 4096 || header_.chunk_size > (1u << 30) || header_.chunk_size % 4096)
    fail(fmt::format("corrupt trace header (chunk size {})", header_.chunk_size));
  if (size_ < header_.header_size) fail(fmt::format("trace is cut inside its header ({} bytes)", size_));

  uint64_t cs = header_.chunk_size;
  uint64_t present = (size_ - header_.header_size + cs - 1) / cs;
  if ((size_ - header_.header_size) % cs != 0)
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
    memcpy(&ch, data_ + off, sizeof ch);
    if (ch.magic == 0) continue;  // taken but never written (the writer died right after)
    if (ch.magic != format::kChunkMagic)
      fail(fmt::format("corrupt trace: chunk {} at offset {} has a bad magic", i, off));
    if (ch.stream_id == format::kAggregateStream)
      aggregate_chunks_.push_back({off, len, ch.stream_id, ch.stream_chunk});
    else
      chunks_.push_back({off, len, ch.stream_id, ch.stream_chunk});
  }
  std::sort(chunks_.begin(), chunks_.end(), [](const Chunk& a, const Chunk& b) {
    return a.stream != b.stream ? a.stream < b.stream : a.stream_chunk < b.stream_chunk;
  });
}

std::vector<format::StackCounters> TraceReader::stackCounters() const {
  std::vector<format::StackCounters> out;
  uint64_t per_page = format::countersPerChunk(header_.chunk_size);
  uint64_t max_id = header_.aggregate.max_stack_id;
  if (max_id > (1ull << 26)) throw Error(fmt::format("{}: corrupt trace header (stack id {})", path_, max_id));
  out.resize(max_id + 1, format::StackCounters{});
  for (const Chunk& c : aggregate_chunks_) {
    uint64_t first = c.stream_chunk * per_page;
    for (uint64_t i = 0; i < per_page && first + i <= max_id; ++i) {
      uint64_t at = 64 + i * sizeof(format::StackCounters);
      if (at + sizeof(format::StackCounters) > c.length) break;  // the file was cut here
      memcpy(&out[first + i], data_ + c.offset + at, sizeof(format::StackCounters));
    }
  }
  return out;
}

TraceReader::~TraceReader() {
  if (data_) munmap(const_cast<uint8_t*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// Decodes one stream (its chunks in order) record by record.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t chunk_size, std::vector<std::pair<uint64_t, uint64_t>> chunks,
         uint32_t stream, const std::string& path)
      : data_(data), chunk_size_(chunk_size), chunks_(std::move(chunks)), stream_(stream), path_(path) {}

  // Decodes the next record into rec; false at the end of the stream.
  bool next(Record& rec) {
    for (;;) {
      if (!p_) {
        if (index_ >= chunks_.size()) return false;
        auto [off, len] = chunks_[index_++];
        p_ = data_ + off + sizeof(format::ChunkHeader);
        end_ = data_ + off + len;
        cut_ = len < chunk_size_;
        deltas_ = format::ChunkDeltas{};
      }
      if (p_ >= end_ || *p_ == 0) {
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
                              start - data_));
    }
  }

 private:
  template <class T>
  static bool decodeFields(format::FieldDecoder& d, Decoded<T>& out) {
    static_cast<T&>(out) = T{};
    if (!T::fields(d, static_cast<T&>(out))) return false;
    if constexpr (format::HasElements<T>) {
      uint64_t n = out.*T::kCount;
      if (n > T::kMaxElements) return false;
      out.elements.resize(n);
      typename T::Element previous{};
      for (auto& e : out.elements) {
        if (!T::Element::fields(d, e, previous)) return false;
        previous = e;
      }
    }
    return true;
  }

  bool decode(Record& r) {
    uint8_t type = *p_;
    if (type == 0 || type >= static_cast<uint8_t>(RecordType::Count)) return false;
    format::FieldDecoder d(p_ + 1, end_, deltas_);
    int64_t seq_delta;
    if (!d.signedVarint("seq", seq_delta)) return false;
    deltas_.seq += static_cast<uint64_t>(seq_delta);
    r.type = static_cast<RecordType>(type);
    r.stream = stream_;
    r.seq = deltas_.seq;
    bool ok = false;
    switch (r.type) {
#define TIDEMARK_DECODE_CASE(name, code) \
  case RecordType::name: ok = decodeFields<format::name>(d, r.slot<format::name>()); break;
      TIDEMARK_RECORD_TYPES(TIDEMARK_DECODE_CASE)
#undef TIDEMARK_DECODE_CASE
      case RecordType::End:
      case RecordType::Count: break;
    }
    if (ok) p_ = d.position();
    return ok;
  }

  const uint8_t* data_;
  uint64_t chunk_size_;
  std::vector<std::pair<uint64_t, uint64_t>> chunks_;
  size_t index_ = 0;
  uint32_t stream_;
  const std::string& path_;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  bool cut_ = false;
  format::ChunkDeltas deltas_{};
};

}  // namespace

void TraceReader::forEach(const std::function<void(const Record&)>& fn) {
  std::vector<Cursor> cursors;
  for (size_t i = 0; i < chunks_.size();) {
    std::vector<std::pair<uint64_t, uint64_t>> list;
    uint32_t stream = chunks_[i].stream;
    for (; i < chunks_.size() && chunks_[i].stream == stream; ++i) list.emplace_back(chunks_[i].offset, chunks_[i].length);
    cursors.emplace_back(data_, header_.chunk_size, std::move(list), stream, path_);
  }
  std::vector<Record> heads(cursors.size());
  using Entry = std::pair<uint64_t, size_t>;  // (seq, cursor)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
  for (size_t i = 0; i < cursors.size(); ++i)
    if (cursors[i].next(heads[i])) queue.emplace(heads[i].seq, i);
  while (!queue.empty()) {
    size_t i = queue.top().second;
    queue.pop();
    // Stay on this stream while it is still the earliest: one stream at a time is the common case.
    for (;;) {
      fn(heads[i]);
      if (!cursors[i].next(heads[i])) break;
      if (!queue.empty() && queue.top().first < heads[i].seq) {
        queue.emplace(heads[i].seq, i);
        break;
      }
    }
  }
}

}  // namespace tidemark
