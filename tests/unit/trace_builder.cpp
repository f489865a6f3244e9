#include "trace_builder.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace tmtest {

using tidemark::format::RecordType;
namespace format = tidemark::format;

void TraceBuilder::Rec::v(uint64_t x) {
  uint8_t buf[10];
  uint8_t* end = format::putVarint(buf, x);
  bytes.insert(bytes.end(), buf, end);
}

void TraceBuilder::Rec::addr(uint64_t a) {
  z(static_cast<int64_t>(a - s.prev_addr));
  s.prev_addr = a;
}

void TraceBuilder::Rec::str(const std::string& t) {
  v(t.size());
  bytes.insert(bytes.end(), t.begin(), t.end());
}

TraceBuilder::Rec TraceBuilder::begin(RecordType type, uint64_t seq) {
  StreamState& s = streams_[current_];
  // Records never span chunks: start a new chunk when this one cannot take a large record.
  if (s.chunks.empty() || s.chunks.back().size() + 512 > chunk_size_) {
    std::vector<uint8_t> chunk(sizeof(format::ChunkHeader));
    format::ChunkHeader h{format::kChunkMagic, current_, static_cast<uint32_t>(s.chunks.size()), 1};
    memcpy(chunk.data(), &h, sizeof h);
    s.chunks.push_back(std::move(chunk));
    s.prev_seq = s.prev_addr = 0;
    order_.emplace_back(current_, static_cast<uint32_t>(s.chunks.size() - 1));
  }
  Rec r{*this, s, {}};
  r.bytes.push_back(static_cast<uint8_t>(type));
  r.z(static_cast<int64_t>(seq - s.prev_seq));
  s.prev_seq = seq;
  return r;
}

void TraceBuilder::finish(Rec& r) {
  auto& chunk = r.s.chunks.back();
  chunk.insert(chunk.end(), r.bytes.begin(), r.bytes.end());
}

TraceBuilder& TraceBuilder::processInfo(uint64_t seq, uint64_t pid, const std::string& exe, const std::string& cmdline) {
  Rec r = begin(RecordType::ProcessInfo, seq);
  r.v(pid);
  r.v(1);
  r.str(exe);
  r.str(cmdline);
  r.v(0);
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::stackDef(uint64_t seq, uint32_t id, const std::vector<uint64_t>& frames) {
  Rec r = begin(RecordType::StackDef, seq);
  r.v(id);
  r.v(1);
  r.v(frames.size());
  uint64_t prev = 0;
  for (uint64_t f : frames) {
    r.v(format::zigzag(static_cast<int64_t>(f - prev)) << 1);
    prev = f;
  }
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::alloc(uint64_t seq, uint32_t stack, uint64_t addr, uint64_t size) {
  Rec r = begin(RecordType::Alloc, seq);
  r.v(stack);
  r.addr(addr);
  r.v(size);
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::free(uint64_t seq, uint64_t addr) {
  Rec r = begin(RecordType::Free, seq);
  r.addr(addr);
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::realloc(uint64_t seq, uint32_t stack, uint64_t old_addr, uint64_t new_addr, uint64_t size) {
  Rec r = begin(RecordType::Realloc, seq);
  r.v(stack);
  r.addr(old_addr);
  r.addr(new_addr);
  r.v(size);
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::mmap(uint64_t seq, uint32_t stack, uint64_t addr, uint64_t size) {
  Rec r = begin(RecordType::Mmap, seq);
  r.v(stack);
  r.addr(addr);
  r.v(size);
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::munmap(uint64_t seq, uint64_t addr, uint64_t size) {
  Rec r = begin(RecordType::Munmap, seq);
  r.addr(addr);
  r.v(size);
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::sample(uint64_t seq, uint64_t time_ns, uint64_t rss) {
  Rec r = begin(RecordType::Sample, seq);
  r.v(time_ns);
  r.v(rss);
  r.v(0);  // heap and mmap bytes: only an aggregated trace fills them in
  r.v(0);
  finish(r);
  return *this;
}

TraceBuilder& TraceBuilder::exit(uint64_t seq, uint64_t time_ns) {
  Rec r = begin(RecordType::Exit, seq);
  r.v(time_ns);
  finish(r);
  return *this;
}

std::string TraceBuilder::write(const std::string& path) const {
  std::string out(format::kHeaderSize, '\0');
  format::FileHeader h{};
  memcpy(h.magic, format::kMagic, sizeof h.magic);
  h.version = format::kVersion;
  h.header_size = format::kHeaderSize;
  h.chunk_size = chunk_size_;
  h.pid = 1;
  h.chunks_allocated = order_.size();
  h.sample_interval_ns = 10000000;
  memcpy(out.data(), &h, sizeof h);
  for (auto [stream, index] : order_) {
    std::vector<uint8_t> chunk = streams_.at(stream).chunks[index];
    chunk.resize(chunk_size_, 0);
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
  return out;
}

}  // namespace tmtest
