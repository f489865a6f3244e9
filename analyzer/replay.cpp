#include "replay.h"

#include "error.h"

#include <algorithm>
#include <unordered_map>

#include "address_map.h"

namespace tidemark {

using format::RecordType;

namespace {

struct Block {
  uint64_t size;
  StackId stack;
};

struct Region {
  uint64_t end;
  StackId stack;
};

// Exact per-stack bytes at the heap peak without copying every stack at every new peak: each new
// peak starts an epoch; a stack's value at the latest peak is saved lazily, the first time the
// stack changes after that peak. A stack untouched since the peak still holds its peak value.
class Replayer {
 public:
  Replayer(ReplayResult& r, bool aggregated) : r_(r), aggregated_(aggregated) {}

  void onRecord(const Record& rec) {
    switch (rec.type) {
      case RecordType::Alloc:
        alloc(rec.addr, rec.size, static_cast<StackId>(rec.stack));
        last_alloc_[rec.stream] = rec.addr;
        checkPeak(rec.seq);
        break;
      case RecordType::Free: {
        auto last = last_alloc_.find(rec.stream);
        bool temporary = last != last_alloc_.end() && last->second == rec.addr;
        if (temporary) last->second = 0;
        release(rec.addr, temporary);
        break;
      }
      case RecordType::Realloc:
        last_alloc_[rec.stream] = rec.addr2;
        release(rec.addr);
        ++r_.reallocs;
        alloc(rec.addr2, rec.size, static_cast<StackId>(rec.stack));
        checkPeak(rec.seq);
        break;
      case RecordType::Mmap:
        mapRegion(rec.addr, rec.size, static_cast<StackId>(rec.stack));
        break;
      case RecordType::Munmap:
        unmapRegion(rec.addr, rec.size);
        break;
      case RecordType::Mremap: {
        StackId stack = static_cast<StackId>(rec.stack);
        unmapRegion(rec.addr, rec.size);
        mapRegion(rec.addr2, rec.size2, stack);
        break;
      }
      case RecordType::StackDef: {
        auto id = static_cast<StackId>(rec.stack);
        StackDef& def = r_.stack_defs[id];
        def.generation = static_cast<uint32_t>(rec.a);
        def.frames = rec.frames;
        break;
      }
      case RecordType::ModuleMapBegin:
        r_.module_maps[static_cast<uint32_t>(rec.stack)];
        break;
      case RecordType::Module: {
        ModuleInfo m;
        m.path = std::string(rec.text);
        m.build_id = std::string(rec.text2);
        m.bias = rec.bias;
        for (size_t i = 0; i + 1 < rec.segments.size(); i += 2) {
          uint64_t start = static_cast<uint64_t>(rec.bias) + rec.segments[i];
          m.segments.emplace_back(start, start + rec.segments[i + 1]);
        }
        r_.module_maps[static_cast<uint32_t>(rec.stack)].push_back(std::move(m));
        break;
      }
      case RecordType::Sample:
        now_ns_ = std::max(now_ns_, rec.a);
        if (aggregated_)
          r_.timeline.push_back({rec.a, rec.seq, rec.b, rec.c, rec.size});
        else
          r_.timeline.push_back({rec.a, rec.seq, rec.b, r_.heap_live, r_.mmap_live});
        if (rec.b > r_.rss_peak) {
          r_.rss_peak = rec.b;
          r_.rss_peak_time_ns = rec.a;
        }
        r_.rss_last = rec.b;
        r_.duration_ns = std::max(r_.duration_ns, rec.a);
        break;
      case RecordType::ProcessInfo: {
        r_.pid = rec.a;
        r_.ppid = rec.b;
        r_.exe = std::string(rec.text);
        r_.argv.clear();
        std::string_view cmd = rec.text2;
        while (!cmd.empty()) {
          size_t nul = cmd.find('\0');
          r_.argv.emplace_back(cmd.substr(0, nul));
          if (nul == std::string_view::npos) break;
          cmd.remove_prefix(nul + 1);
        }
        r_.memory_limit = rec.c;
        break;
      }
      case RecordType::ScanBegin:
        // A trace may hold several scans (on the scan signal, then at exit): the last complete one
        // is kept, and one cut by a kill does not replace it.
        pending_scan_ = ScanGraph{};
        pending_scan_.present = true;
        pending_scan_.time_ns = rec.a;
        pending_scan_.reason = static_cast<uint32_t>(rec.c);
        if (rec.b > (1ull << 32)) throw Error("corrupt trace: a heap scan of more than 2^32 blocks");
        pending_scan_.addr.resize(rec.b);
        pending_scan_.size.resize(rec.b);
        pending_scan_.stack.resize(rec.b);
        pending_scan_.root_kind.assign(rec.b, 0);
        break;
      case RecordType::ScanBlocks:
        for (size_t i = 0; i * 3 < rec.frames.size(); ++i) {
          uint64_t index = rec.a + i;
          if (index >= pending_scan_.addr.size()) throw Error("corrupt trace: scan block index out of range");
          pending_scan_.addr[index] = rec.frames[i * 3];
          pending_scan_.size[index] = rec.frames[i * 3 + 1];
          pending_scan_.stack[index] = static_cast<StackId>(rec.frames[i * 3 + 2]);
        }
        break;
      case RecordType::ScanRoots:
        for (size_t i = 0; i * 2 < rec.frames.size(); ++i) {
          if (rec.frames[i * 2] >= pending_scan_.root_kind.size()) throw Error("corrupt trace: scan root index out of range");
          pending_scan_.root_kind[rec.frames[i * 2]] = static_cast<uint8_t>(std::max<uint64_t>(1, rec.frames[i * 2 + 1]));
        }
        break;
      case RecordType::ScanEdges:
        for (size_t i = 0; i * 2 < rec.frames.size(); ++i) {
          uint64_t from = rec.frames[i * 2], to = rec.frames[i * 2 + 1];
          if (from >= pending_scan_.addr.size() || to >= pending_scan_.addr.size())
            throw Error("corrupt trace: scan edge out of range");
          pending_scan_.edges.emplace_back(static_cast<uint32_t>(from), static_cast<uint32_t>(to));
        }
        break;
      case RecordType::ScanEnd:
        if (!pending_scan_.present) break;
        pending_scan_.complete = true;
        pending_scan_.words = rec.b;
        pending_scan_.root_bytes = rec.c;
        pending_scan_.duration_ns = rec.size;
        r_.scan = std::move(pending_scan_);
        pending_scan_ = ScanGraph{};
        break;
      case RecordType::Marker:
        now_ns_ = std::max(now_ns_, rec.a);
        r_.markers.push_back({rec.a, rec.seq, static_cast<uint32_t>(rec.b), std::string(rec.text)});
        break;
      case RecordType::Exit:
        if (r_.end.state == EndState::Unknown) r_.end = {EndState::ExitCalled, 0, rec.a};
        r_.duration_ns = std::max(r_.duration_ns, rec.a);
        break;
      case RecordType::ProcessEnd:
        r_.end.state = rec.b == static_cast<uint64_t>(format::EndKind::Signaled) ? EndState::Signaled : EndState::Exited;
        r_.end.code = static_cast<int>(rec.c);
        r_.end.time_ns = rec.a;
        break;
      case RecordType::MemoryLimit:
        r_.run_limit = {rec.a, static_cast<uint32_t>(rec.b)};
        break;
      case RecordType::OomKill:
        r_.oom = {true, rec.a, static_cast<uint32_t>(rec.b), rec.c};
        break;
      case RecordType::TrackerError:
        r_.tracker_errors.emplace_back(rec.text);
        break;
      case RecordType::CodeObject:
      case RecordType::ThreadName:
      case RecordType::End:
      case RecordType::Count:
        break;
    }
  }

  void finish() {
    if (!aggregated_) r_.live_blocks = blocks_.size();
    r_.last_event_time_ns = std::max(r_.duration_ns, now_ns_);
    if (r_.end.state == EndState::Exited || r_.end.state == EndState::Signaled)
      r_.duration_ns = std::max(r_.duration_ns, r_.end.time_ns);
    r_.heap_peak_time_ns = r_.timeAtSeq(r_.heap_peak_seq);
    r_.has_series = !aggregated_;
    if (!r_.scan.present && pending_scan_.present) r_.scan = std::move(pending_scan_);  // cut short: says so
    r_.series.extendTo(r_.duration_ns);
  }

 private:
  StackStats& stats(StackId id) {
    if (id >= r_.stacks.size()) r_.stacks.resize(std::max<size_t>(id + 1, r_.stacks.size() * 2));
    return r_.stacks[id];
  }

  // Saves the stack's value at the latest peak before it changes for the first time after it.
  StackStats& touch(StackId id) {
    StackStats& s = stats(id);
    if (s.touched_epoch != r_.peak_epoch) {
      s.peak_bytes = s.live_bytes;
      s.peak_blocks = s.live_blocks;
      s.touched_epoch = r_.peak_epoch;
    }
    return s;
  }

  void alloc(uint64_t addr, uint64_t size, StackId stack) {
    Block old;
    if (blocks_.erase(addr, old)) {
      // The address is live again without a free in between: a free we did not see (made inside
      // a hook, or before the tracker started). Release the old block to keep totals honest.
      ++r_.overwritten_allocs;
      removeBlock(old);
    }
    blocks_.insert(addr, {size, stack});
    StackStats& s = touch(stack);
    s.live_bytes += size;
    r_.series.update(stack, now_ns_, s.live_bytes);
    ++s.live_blocks;
    ++s.alloc_count;
    s.alloc_bytes += size;
    r_.heap_live += size;
    ++r_.allocations;
    r_.allocated_bytes += size;
  }

  void release(uint64_t addr, bool temporary = false) {
    Block b;
    if (!blocks_.erase(addr, b)) {
      ++r_.unknown_frees;
      return;
    }
    ++r_.frees;
    if (temporary) {
      StackStats& s = stats(b.stack);
      ++s.temporary_count;
      s.temporary_bytes += b.size;
    }
    removeBlock(b);
  }

  void removeBlock(const Block& b) {
    StackStats& s = touch(b.stack);
    s.live_bytes -= b.size;
    r_.series.update(b.stack, now_ns_, s.live_bytes);
    --s.live_blocks;
    r_.heap_live -= b.size;
  }

  void checkPeak(uint64_t seq) {
    if (r_.heap_live > r_.heap_peak) {
      r_.heap_peak = r_.heap_live;
      r_.heap_peak_seq = seq;
      ++r_.peak_epoch;
    }
  }

  void mapRegion(uint64_t addr, uint64_t size, StackId stack) {
    if (!size) return;
    unmapRegion(addr, size);  // MAP_FIXED over an existing mapping replaces it
    regions_[addr] = {addr + size, stack};
    stats(stack).mmap_bytes += size;
    r_.mmap_live += size;
    r_.mmap_peak = std::max(r_.mmap_peak, r_.mmap_live);
  }

  void unmapRegion(uint64_t addr, uint64_t size) {
    uint64_t end = addr + size;
    auto it = regions_.upper_bound(addr);
    if (it != regions_.begin()) --it;
    while (it != regions_.end() && it->first < end) {
      uint64_t start = it->first;
      Region reg = it->second;
      if (reg.end <= addr) {
        ++it;
        continue;
      }
      it = regions_.erase(it);
      uint64_t cut_lo = std::max(start, addr), cut_hi = std::min(reg.end, end);
      stats(reg.stack).mmap_bytes -= cut_hi - cut_lo;
      r_.mmap_live -= cut_hi - cut_lo;
      if (start < cut_lo) regions_[start] = {cut_lo, reg.stack};
      if (cut_hi < reg.end) it = regions_.emplace(cut_hi, Region{reg.end, reg.stack}).first, ++it;
    }
  }

  ReplayResult& r_;
  bool aggregated_;
  uint64_t now_ns_ = 0;  // time of the latest sample or marker: events between take it
  ScanGraph pending_scan_;  // the scan being read
  std::unordered_map<uint32_t, uint64_t> last_alloc_;  // per stream (thread): its latest allocation
  AddressMap<Block> blocks_;
  std::map<uint64_t, Region> regions_;
};

}  // namespace

uint64_t ReplayResult::peakBytes(StackId id) const {
  if (id >= stacks.size()) return 0;
  const StackStats& s = stacks[id];
  return s.touched_epoch == peak_epoch ? s.peak_bytes : s.live_bytes;
}

uint64_t ReplayResult::peakBlocks(StackId id) const {
  if (id >= stacks.size()) return 0;
  const StackStats& s = stacks[id];
  return s.touched_epoch == peak_epoch ? s.peak_blocks : s.live_blocks;
}

uint64_t ReplayResult::timeAtSeq(uint64_t seq) const {
  if (timeline.empty()) return 0;
  auto it = std::lower_bound(timeline.begin(), timeline.end(), seq,
                             [](const TimelineSample& s, uint64_t q) { return s.seq < q; });
  if (it == timeline.begin()) return it->time_ns;
  if (it == timeline.end()) return timeline.back().time_ns;
  const TimelineSample& hi = *it;
  const TimelineSample& lo = *(it - 1);
  if (hi.seq == lo.seq) return lo.time_ns;
  double f = static_cast<double>(seq - lo.seq) / static_cast<double>(hi.seq - lo.seq);
  return lo.time_ns + static_cast<uint64_t>(f * static_cast<double>(hi.time_ns - lo.time_ns));
}

ReplayResult replay(TraceReader& reader) {
  ReplayResult r;
  r.start_realtime_ns = reader.header().start_realtime_ns;
  r.sample_interval_ns = reader.header().sample_interval_ns;
  r.aggregated = reader.aggregated();
  Replayer rp(r, reader.aggregated());
  reader.forEach([&](const Record& rec) { rp.onRecord(rec); });
  if (reader.aggregated()) {
    // The tracker did the replay itself; take its counters.
    const format::AggregateTotals& t = reader.header().aggregate;
    std::vector<format::StackCounters> counters = reader.stackCounters();
    r.stacks.assign(counters.size(), StackStats{});
    uint64_t live = 0, blocks = 0;
    for (size_t id = 0; id < counters.size(); ++id) {
      const format::StackCounters& c = counters[id];
      r.stacks[id] = {c.live_bytes, c.live_blocks, c.peak_bytes, c.peak_blocks, c.touched_epoch,
                      c.alloc_count, c.alloc_bytes, c.mmap_bytes};
      live += c.live_bytes;
      blocks += c.live_blocks;
    }
    r.heap_live = live;  // the sum is consistent even if the process died inside an update
    r.live_blocks = blocks;
    r.heap_peak = t.heap_peak;
    r.heap_peak_seq = t.peak_seq;
    r.peak_epoch = t.peak_epoch;
    r.allocations = t.allocations;
    r.frees = t.frees;
    r.reallocs = t.reallocs;
    r.allocated_bytes = t.allocated_bytes;
    r.unknown_frees = t.unknown_frees;
    r.mmap_live = t.mmap_live;
    r.mmap_peak = t.mmap_peak;
  }
  rp.finish();
  r.warnings = reader.warnings();
  for (StackId id = 1; id < r.stacks.size(); ++id)
    if (r.stacks[id].alloc_count && !r.stack_defs.count(id)) ++r.undefined_stacks;
  return r;
}

}  // namespace tidemark
