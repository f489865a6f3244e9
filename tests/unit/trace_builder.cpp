#include "trace_builder.h"

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace tmtest {

namespace format = tidemark::format;

TraceBuilder::StreamState& TraceBuilder::streamFor(size_t bound) {
  StreamState& s = streams_[current_];
  // Records never span chunks: start a new chunk when this one cannot take the record.
  if (s.chunks.empty() || s.chunks.back().size() + bound > chunk_size_) {
    if (sizeof(format::ChunkHeader) + bound > chunk_size_) throw std::runtime_error("record larger than a chunk");
    std::vector<uint8_t> chunk(sizeof(format::ChunkHeader));
    format::ChunkHeader h{format::kChunkMagic, current_, static_cast<uint32_t>(s.chunks.size()), 1};
    memcpy(chunk.data(), &h, sizeof h);
    s.chunks.push_back(std::move(chunk));
    s.deltas = format::ChunkDeltas{};
    order_.emplace_back(current_, static_cast<uint32_t>(s.chunks.size() - 1));
  }
  return s;
}

TraceBuilder& TraceBuilder::processInfo(uint64_t seq, uint64_t pid, const std::string& exe, const std::string& cmdline) {
  return record(seq, format::ProcessInfo{.pid = pid, .ppid = 1, .exe = exe, .cmdline = cmdline});
}

TraceBuilder& TraceBuilder::stackDef(uint64_t seq, uint32_t id, const std::vector<uint64_t>& frames) {
  std::vector<format::StackFrame> elements;
  for (uint64_t ip : frames) elements.push_back({.ip = ip});
  return record(seq, format::StackDef{.stack_id = id, .module_generation = 1, .frame_count = frames.size()}, elements);
}

TraceBuilder& TraceBuilder::alloc(uint64_t seq, uint32_t stack, uint64_t addr, uint64_t size) {
  return record(seq, format::Alloc{.stack_id = stack, .address = addr, .size = size});
}

TraceBuilder& TraceBuilder::free(uint64_t seq, uint64_t addr) { return record(seq, format::Free{.address = addr}); }

TraceBuilder& TraceBuilder::realloc(uint64_t seq, uint32_t stack, uint64_t old_addr, uint64_t new_addr, uint64_t size) {
  return record(seq, format::Realloc{.stack_id = stack, .old_address = old_addr, .new_address = new_addr, .size = size});
}

TraceBuilder& TraceBuilder::mmap(uint64_t seq, uint32_t stack, uint64_t addr, uint64_t size) {
  return record(seq, format::Mmap{.stack_id = stack, .address = addr, .size = size});
}

TraceBuilder& TraceBuilder::munmap(uint64_t seq, uint64_t addr, uint64_t size) {
  return record(seq, format::Munmap{.address = addr, .size = size});
}

TraceBuilder& TraceBuilder::sample(uint64_t seq, uint64_t time_ns, uint64_t rss) {
  // heap and mmap bytes: only an aggregated trace fills them in
  return record(seq, format::Sample{.time_ns = time_ns, .rss = rss});
}

TraceBuilder& TraceBuilder::exit(uint64_t seq, uint64_t time_ns) { return record(seq, format::Exit{.time_ns = time_ns}); }

std::string TraceBuilder::write(const std::string& path) const {
  std::string out(format::kHeaderSize, '\0');
  format::FileHeader h{};
  memcpy(h.magic, format::kMagic, sizeof h.magic);
  h.version = format::kVersion;
  h.header_size = format::kHeaderSize;
  h.chunk_size = chunk_size_;
  h.flags = aggregated_ ? format::kFlagAggregate : 0;
  if (sample_bytes_) {
    h.flags |= format::kFlagSampled;
    h.sample_bytes = *sample_bytes_;
  }
  if (aggregated_) h.aggregate = totals_;
  h.pid = 1;
  const uint32_t per_page = format::countersPerChunk(chunk_size_);
  const size_t pages = aggregated_ ? (counters_.size() + per_page - 1) / per_page : 0;
  h.chunks_allocated = order_.size() + pages;
  h.sample_interval_ns = 10000000;
  memcpy(out.data(), &h, sizeof h);
  for (auto [stream, index] : order_) {
    std::vector<uint8_t> chunk = streams_.at(stream).chunks[index];
    chunk.resize(chunk_size_, 0);
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  }
  for (size_t page = 0; page < pages; ++page) {
    std::vector<uint8_t> chunk(chunk_size_, 0);
    format::ChunkHeader ch{format::kChunkMagic, format::kAggregateStream, static_cast<uint32_t>(page), 1};
    memcpy(chunk.data(), &ch, sizeof ch);
    for (size_t i = 0; i < per_page && page * per_page + i < counters_.size(); ++i)
      memcpy(chunk.data() + 64 + i * sizeof(format::StackCounters), &counters_[page * per_page + i],
             sizeof(format::StackCounters));
    out.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  }
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(out.data(), static_cast<std::streamsize>(out.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
  return out;
}

}  // namespace tmtest
