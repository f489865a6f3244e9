#include "replay.h"

#include "error.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "address_map.h"
#include "display_text.h"

namespace tidemark {

using format::RecordType;

namespace {

struct Block {
  uint64_t size;
  StackId stack;
  uint32_t thread;  // index into ReplayResult::threads of the thread that allocated it
};

struct Region {
  uint64_t end;
  StackId stack;
};

// Exact per-stack bytes at the heap peak without copying every stack at every new peak: each new
// peak starts an epoch; a stack's value at the latest peak is saved lazily, the first time the
// stack changes after that peak. A stack untouched since the peak still holds its peak value.
}  // namespace

std::vector<std::string> splitCommandLine(std::string_view cmdline) {
  std::vector<std::string> argv;
  while (!cmdline.empty()) {
    size_t nul = cmdline.find('\0');
    argv.push_back(displayText(cmdline.substr(0, nul)));
    if (nul == std::string_view::npos) break;
    cmdline.remove_prefix(nul + 1);
  }
  return argv;
}

SampledBlock weighSample(uint64_t size, uint64_t mean) {
  if (size == 0 || mean == 0) return {size, 0};
  double kept = std::exp(-static_cast<double>(size) / static_cast<double>(mean));  // 1 - p
  double bytes = static_cast<double>(size) / -std::expm1(-static_cast<double>(size) / static_cast<double>(mean));
  return {static_cast<uint64_t>(std::llround(bytes)), bytes * bytes * kept};
}

uint64_t errorBytes(double variance) { return variance > 0 ? static_cast<uint64_t>(std::llround(1.96 * std::sqrt(variance))) : 0; }

namespace {

class Replayer {
 public:
  // Every count and id is checked against what file_bytes of records can hold (a StackDef takes at
  // least 4 bytes; a packed trace's records as they were before packing), so that damage is an
  // error and memory stays proportional to the trace.
  Replayer(ReplayResult& r, bool aggregated, uint64_t file_bytes)
      : r_(r), aggregated_(aggregated), file_bytes_(file_bytes), max_stack_id_(file_bytes / 4 + 16) {}
  // Sample mode: every Alloc and Realloc stands for the allocations its sample estimates.

  void onRecord(const Record& rec) {
    switch (rec.type) {
      case RecordType::Alloc: {
        const auto& a = rec.get<format::Alloc>();
        threadOf(rec.stream);
        alloc(a.address, a.size, canonical(a.stack_id));
        lastAlloc(rec.stream) = a.address;
        checkPeak(rec.seq);
        break;
      }
      case RecordType::Free: {
        uint64_t address = rec.get<format::Free>().address;
        uint64_t& last = lastAlloc(rec.stream);
        bool temporary = last == address;
        if (temporary) last = 0;
        release(address, temporary);
        break;
      }
      case RecordType::Realloc: {
        const auto& re = rec.get<format::Realloc>();
        threadOf(rec.stream);
        lastAlloc(rec.stream) = re.new_address;
        release(re.old_address);
        ++r_.reallocs;
        alloc(re.new_address, re.size, canonical(re.stack_id));
        checkPeak(rec.seq);
        break;
      }
      case RecordType::Mmap: {
        const auto& m = rec.get<format::Mmap>();
        mapRegion(m.address, m.size, canonical(m.stack_id));
        break;
      }
      case RecordType::Munmap: {
        const auto& m = rec.get<format::Munmap>();
        unmapRegion(m.address, m.size);
        break;
      }
      case RecordType::Mremap: {
        const auto& m = rec.get<format::Mremap>();
        unmapRegion(m.old_address, m.old_size);
        mapRegion(m.new_address, m.new_size, canonical(m.stack_id));
        break;
      }
      case RecordType::StackDef: {
        const auto& d = rec.get<format::StackDef>();
        StackDef& def = r_.stack_defs.make(checkedId(d.stack_id), max_stack_id_ + 1);
        def.generation = static_cast<uint32_t>(d.module_generation);
        def.frames.clear();
        def.frames.reserve(d.elements.size());
        for (const format::StackFrame& f : d.elements) def.frames.push_back(f.ip);
        break;
      }
      case RecordType::ModuleMapBegin:
        r_.module_maps[static_cast<uint32_t>(rec.get<format::ModuleMapBegin>().generation)];
        r_.module_load_ns.push_back(now_ns_);
        break;
      case RecordType::Module: {
        const auto& mod = rec.get<format::Module>();
        ModuleInfo m;
        m.path = std::string(mod.path);
        m.build_id = std::string(mod.build_id);
        m.bias = mod.load_bias;
        for (const format::ModuleSegment& seg : mod.elements) {
          uint64_t start = static_cast<uint64_t>(mod.load_bias) + seg.vaddr;
          m.segments.emplace_back(start, start + seg.memsz);
        }
        r_.module_maps[static_cast<uint32_t>(mod.generation)].push_back(std::move(m));
        break;
      }
      case RecordType::Sample: {
        const auto& s = rec.get<format::Sample>();
        now_ns_ = std::max(now_ns_, s.time_ns);
        r_.timeline.push_back({.time_ns = s.time_ns,
                               .seq = rec.seq,
                               .rss = s.rss,
                               .heap = aggregated_ ? s.heap : r_.heap_live,
                               .mmap = aggregated_ ? s.mmap : r_.mmap_live,
                               .rss_file = std::min(s.rss_file, s.rss),
                               .pss = s.pss,
                               .uss = s.uss,
                               .heap_high = std::max(heap_high_, r_.heap_live)});
        heap_high_ = r_.heap_live;
        r_.pss_peak = std::max(r_.pss_peak, s.pss);
        r_.uss_peak = std::max(r_.uss_peak, s.uss);
        if (s.rss > r_.rss_peak) {
          r_.rss_peak = s.rss;
          r_.rss_peak_time_ns = s.time_ns;
        }
        r_.rss_last = s.rss;
        r_.duration_ns = std::max(r_.duration_ns, s.time_ns);
        break;
      }
      case RecordType::ProcessInfo: {
        const auto& p = rec.get<format::ProcessInfo>();
        r_.pid = p.pid;
        r_.ppid = p.ppid;
        r_.exe = displayText(p.exe);
        r_.argv = splitCommandLine(p.cmdline);
        r_.cgroup_limit = p.cgroup_limit;
        break;
      }
      case RecordType::ScanBegin: {
        // A trace may hold several scans (on the scan signal, then at exit): the last complete one
        // is kept, and one cut by a kill does not replace it.
        const auto& b = rec.get<format::ScanBegin>();
        pending_scan_ = ScanGraph{};
        pending_scan_.present = true;
        pending_scan_.time_ns = b.time_ns;
        pending_scan_.reason = static_cast<uint32_t>(b.reason);
        // Each block takes at least 3 bytes of ScanBlocks: a count past that is damage.
        if (b.block_count > file_bytes_ / 3)
          throw Error(fmt::format("corrupt trace: a heap scan of {} blocks in {} bytes of records", b.block_count, file_bytes_));
        pending_scan_.addr.resize(b.block_count);
        pending_scan_.size.resize(b.block_count);
        pending_scan_.stack.resize(b.block_count);
        pending_scan_.root_kind.assign(b.block_count, 0);
        break;
      }
      case RecordType::ScanBlocks: {
        const auto& blocks = rec.get<format::ScanBlocks>();
        for (size_t i = 0; i < blocks.elements.size(); ++i) {
          uint64_t index = blocks.first_index + i;
          if (index >= pending_scan_.addr.size()) throw Error("corrupt trace: scan block index out of range");
          const format::ScanBlock& b = blocks.elements[i];
          pending_scan_.addr[index] = b.address;
          pending_scan_.size[index] = b.size;
          pending_scan_.stack[index] = canonical(b.stack_id);
        }
        break;
      }
      case RecordType::ScanRoots:
        for (const format::ScanRoot& root : rec.get<format::ScanRoots>().elements) {
          if (root.block_index >= pending_scan_.root_kind.size()) throw Error("corrupt trace: scan root index out of range");
          pending_scan_.root_kind[root.block_index] = static_cast<uint8_t>(std::max<uint64_t>(1, root.kind));
        }
        break;
      case RecordType::ScanEdges:
        for (const format::ScanEdge& edge : rec.get<format::ScanEdges>().elements) {
          if (edge.source >= pending_scan_.addr.size() || edge.target >= pending_scan_.addr.size())
            throw Error("corrupt trace: scan edge out of range");
          pending_scan_.edges.emplace_back(static_cast<uint32_t>(edge.source), static_cast<uint32_t>(edge.target));
        }
        break;
      case RecordType::PythonGraph: {
        const auto& g = rec.get<format::PythonGraph>();
        PythonObjectGraph& py = pending_scan_.python;
        if (!pending_scan_.present || py.present) break;
        // Each object takes at least 4 bytes of PythonObjects: a count past that is damage.
        if (g.object_count > file_bytes_ / 4)
          throw Error(fmt::format("corrupt trace: an object graph of {} objects in {} bytes of records", g.object_count, file_bytes_));
        py.present = true;
        py.problem = displayText(g.problem);
        py.addr.resize(g.object_count);
        py.refcount.resize(g.object_count);
        py.type.resize(g.object_count);
        py.flags.resize(g.object_count);
        break;
      }
      case RecordType::PythonType: {
        const auto& t = rec.get<format::PythonType>();
        if (t.type_id >= format::kMaxPythonTypeId) throw Error(fmt::format("corrupt trace: a Python type id of {}", t.type_id));
        if (pending_scan_.python.present) pending_scan_.python.types[t.type_id] = {t.address, displayText(t.name)};
        break;
      }
      case RecordType::PythonObjects: {
        const auto& objects = rec.get<format::PythonObjects>();
        PythonObjectGraph& py = pending_scan_.python;
        for (size_t i = 0; i < objects.elements.size(); ++i) {
          uint64_t index = objects.first_index + i;
          if (index >= py.addr.size()) throw Error("corrupt trace: object index out of range");
          const format::PythonObject& o = objects.elements[i];
          if (o.type_id >= format::kMaxPythonTypeId) throw Error(fmt::format("corrupt trace: a Python type id of {}", o.type_id));
          py.addr[index] = o.address;
          py.refcount[index] = o.refcount;
          py.type[index] = static_cast<uint32_t>(o.type_id);
          py.flags[index] = static_cast<uint8_t>(o.flags);
        }
        break;
      }
      case RecordType::PythonReferences: {
        PythonObjectGraph& py = pending_scan_.python;
        for (const format::PythonReference& ref : rec.get<format::PythonReferences>().elements) {
          if (ref.source >= py.addr.size()) throw Error("corrupt trace: object reference out of range");
          py.references.emplace_back(static_cast<uint32_t>(ref.source), ref.target);
        }
        break;
      }
      case RecordType::PythonName: {
        const auto& name = rec.get<format::PythonName>();
        PythonObjectGraph& py = pending_scan_.python;
        if (!py.present) break;
        if (name.kind != static_cast<uint64_t>(format::PythonNameKind::Module) &&
            name.kind != static_cast<uint64_t>(format::PythonNameKind::Global))
          throw Error(fmt::format("corrupt trace: a Python name of kind {}", name.kind));
        py.names.push_back({static_cast<uint8_t>(name.kind), name.holder, name.address, displayText(name.name)});
        break;
      }
      case RecordType::ScanEnd: {
        if (!pending_scan_.present) break;
        const auto& e = rec.get<format::ScanEnd>();
        pending_scan_.complete = true;
        pending_scan_.words = e.words;
        pending_scan_.root_bytes = e.root_bytes;
        pending_scan_.duration_ns = e.duration_ns;
        if (r_.scan.python.present && !r_.first_python_scan.present) r_.first_python_scan = std::move(r_.scan);
        r_.scan = std::move(pending_scan_);
        pending_scan_ = ScanGraph{};
        break;
      }
      case RecordType::Marker: {
        const auto& m = rec.get<format::Marker>();
        now_ns_ = std::max(now_ns_, m.time_ns);
        r_.markers.push_back(
            {.time_ns = m.time_ns, .seq = rec.seq, .kind = static_cast<uint32_t>(m.kind), .text = displayText(m.text)});
        if (m.kind == static_cast<uint64_t>(format::MarkerKind::SimulationDate)) beginDay();
        if (m.kind == static_cast<uint64_t>(format::MarkerKind::PhaseBegin) && !aggregated_) beginPhase(r_.markers.back());
        if (m.kind == static_cast<uint64_t>(format::MarkerKind::PhaseEnd) && !aggregated_) endPhase(r_.markers.back());
        break;
      }
      case RecordType::StackLevels: {
        if (!aggregated_) break;  // the tracker writes them in aggregate mode only
        const auto& levels = rec.get<format::StackLevels>();
        now_ns_ = std::max(now_ns_, levels.time_ns);
        saw_levels_ = true;
        // Raw ids, as the counters that give the stacks their figures in this mode.
        for (const format::StackLevel& e : levels.elements) level(checkedId(e.stack_id), e.live_bytes, e.high_bytes);
        break;
      }
      case RecordType::Exit: {
        uint64_t time_ns = rec.get<format::Exit>().time_ns;
        r_.end = {.state = EndState::ExitCalled, .code = 0, .time_ns = time_ns, .program = {}};
        r_.duration_ns = std::max(r_.duration_ns, time_ns);
        break;
      }
      case RecordType::Ending: {
        const auto& e = rec.get<format::Ending>();
        bool exec = e.kind == static_cast<uint64_t>(format::EndingKind::Exec);
        r_.end = {.state = exec ? EndState::Exec : EndState::Exited,
                  .code = exec ? 0 : static_cast<int>(e.code),
                  .time_ns = e.time_ns,
                  .program = exec ? displayText(e.program) : std::string()};
        now_ns_ = std::max(now_ns_, e.time_ns);
        r_.duration_ns = std::max(r_.duration_ns, e.time_ns);
        break;
      }
      case RecordType::ProcessEnd: {
        const auto& e = rec.get<format::ProcessEnd>();
        r_.end = {.state = e.kind == static_cast<uint64_t>(format::EndKind::Signaled) ? EndState::Signaled : EndState::Exited,
                  .code = static_cast<int>(e.code),
                  .time_ns = e.time_ns,
                  .program = {}};
        break;
      }
      case RecordType::ChildEnd: {
        const auto& e = rec.get<format::ChildEnd>();
        r_.child_ends.push_back({.time_ns = e.time_ns,
                                 .pid = e.pid,
                                 .signaled = e.kind == static_cast<uint64_t>(format::EndKind::Signaled),
                                 .code = static_cast<int>(std::min<uint64_t>(e.code, 255))});
        break;
      }
      case RecordType::MemoryLimit: {
        const auto& l = rec.get<format::MemoryLimit>();
        r_.run_limit = {.bytes = l.bytes, .kind = static_cast<uint32_t>(l.kind)};
        break;
      }
      case RecordType::OomKill: {
        const auto& o = rec.get<format::OomKill>();
        OomKill kill{.seen = true, .time_ns = o.time_ns, .evidence = static_cast<uint32_t>(o.evidence), .usage = o.usage};
        if (o.other_process) {
          kill.kills = std::max<uint64_t>(o.kills, 1);
          r_.group_oom = kill;
        } else {
          r_.oom = kill;
        }
        break;
      }
      case RecordType::TrackerError:
        r_.tracker_errors.push_back(displayText(rec.get<format::TrackerError>().message));
        break;
      case RecordType::CodeObject: {
        const auto& c = rec.get<format::CodeObject>();
        r_.code_objects[c.code_id] = {.function = displayText(c.function),
                                      .file = displayText(c.file),
                                      .first_line = static_cast<int>(std::min<uint64_t>(c.first_line, 1u << 30)),
                                      .line_table_format = static_cast<uint32_t>(std::min<uint64_t>(c.line_table_format, 255)),
                                      .line_table = std::string(c.line_table)};
        break;
      }
      case RecordType::PythonFrame: {
        const auto& f = rec.get<format::PythonFrame>();
        auto code = r_.code_objects.find(f.code_id);
        PythonFrameNode node{.parent = canonicalFrame(f.parent),
                             .code_id = f.code_id,
                             .line = code == r_.code_objects.end() ? 0 : code->second.lineAt(f.instruction),
                             .entry = f.entry != 0};
        // Frames of one line (and the same callers) are one frame: the first one stands for all.
        auto [it, first] = line_frames_.try_emplace(std::make_tuple(node.parent, node.code_id, node.line, node.entry), f.frame_id);
        if (first) r_.python_frames[f.frame_id] = node;
        frame_alias_[f.frame_id] = it->second;
        break;
      }
      case RecordType::PythonStack: {
        const auto& p = rec.get<format::PythonStack>();
        const StackId id = checkedId(p.stack_id);
        auto native = static_cast<StackId>(p.native_stack);
        uint64_t frame = canonicalFrame(p.python_frame);
        const StackDef* in = r_.stack_defs.find(native);
        const uint32_t generation = in ? in->generation : 0;
        r_.stack_defs.make(id, max_stack_id_ + 1) = {
            .generation = generation, .frames = {}, .native = native, .python_frame = frame};
        // Events of stacks that differ only in instructions of the same lines count as one stack.
        auto [it, first] = line_stacks_.try_emplace(std::make_pair(native, frame), id);
        if (!first && id < max_stack_id_) {
          if (stack_alias_.size() <= id) stack_alias_.resize(id + 1);
          stack_alias_[id] = it->second;
        }
        break;
      }
      case RecordType::Interpreter: {
        const auto& i = rec.get<format::Interpreter>();
        const uint64_t found_ns = r_.interpreter.seen ? r_.interpreter.found_late_ns : i.time_ns;
        const uint64_t finalizing_ns = r_.interpreter.finalizing_ns ? r_.interpreter.finalizing_ns : i.time_ns;
        r_.interpreter = {.seen = true,
                          .version = displayText(i.version),
                          .frames = (i.flags & format::kInterpreterFrames) != 0,
                          .allocator = (i.flags & format::kInterpreterAllocator) != 0,
                          .eval_loop = i.eval_loop,
                          .found_late_ns = (i.flags & format::kInterpreterFoundLate) ? std::max<uint64_t>(found_ns, 1) : 0,
                          .finalizing_ns = (i.flags & format::kInterpreterFinalizing) ? std::max<uint64_t>(finalizing_ns, 1) : 0,
                          .problem = displayText(i.problem)};
        break;
      }
      case RecordType::ThreadName: {
        const auto& t = rec.get<format::ThreadName>();
        beginThread(rec.stream, t.tid, displayText(t.name));
        break;
      }
      case RecordType::End:
      case RecordType::Count:
        break;
    }
  }

  // Aggregate mode, once the counters are read: where a stack ended, after its last levels.
  void finalLevels(const StackTable& stacks) {
    if (!saw_levels_) return;
    stacks.forEach([&](StackId id, const StackStats& st) {
      if (st.live_bytes != (id < levels_.size() ? levels_[id] : 0)) level(id, st.live_bytes, st.live_bytes);
    });
    for (size_t id = 0; id < levels_.size(); ++id)
      if (levels_[id] && !stacks.contains(static_cast<StackId>(id))) level(static_cast<StackId>(id), 0, 0);
  }

  void finish() {
    for (size_t i : open_phases_) {
      r_.phases[i].heap_at_end = r_.heap_live;
      r_.phases[i].end_ns = now_ns_;
    }
    if (!aggregated_) r_.live_blocks = blocks_.size();
    r_.last_event_time_ns = std::max(r_.duration_ns, now_ns_);
    if (r_.end.state == EndState::Exited || r_.end.state == EndState::Signaled)
      r_.duration_ns = std::max(r_.duration_ns, r_.end.time_ns);
    r_.heap_peak_time_ns = r_.timeAtSeq(r_.heap_peak_seq);
    r_.has_series = !aggregated_ || saw_levels_;
    if (!r_.scan.present && pending_scan_.present) r_.scan = std::move(pending_scan_);  // cut short: says so
    r_.series.extendTo(r_.duration_ns);
    r_.allocated_series.extendTo(r_.duration_ns);
  }

 private:
  StackId canonical(uint64_t raw) const {
    auto id = static_cast<StackId>(raw);
    return id < stack_alias_.size() && stack_alias_[id] ? stack_alias_[id] : id;
  }
  uint64_t canonicalFrame(uint64_t raw) const {
    auto it = frame_alias_.find(raw);
    return it == frame_alias_.end() ? raw : it->second;
  }

  StackId checkedId(uint64_t id) const {
    if (id > max_stack_id_)
      throw Error(fmt::format("corrupt trace: stack id {} is more than a file of this size can define", id));
    return static_cast<StackId>(id);
  }
  StackStats& stats(StackId id) { return r_.stacks.make(checkedId(id), max_stack_id_ + 1); }

  // Saves the stack's value at the latest peak before it changes for the first time after it.
  StackStats& touch(StackId id) { return keepPeak(stats(id)); }
  StackStats& keepPeak(StackStats& s) const {
    if (s.touched_epoch != r_.peak_epoch) {
      s.peak_bytes = s.live_bytes;
      s.peak_blocks = s.live_blocks;
      s.peak_variance = s.live_variance;
      s.touched_epoch = r_.peak_epoch;
    }
    return s;
  }

  void alloc(uint64_t addr, uint64_t size, StackId stack) {
    noteAllocatingThread();  // before this allocation counts anywhere
    double variance = 0;
    if (r_.sample_bytes) {
      SampledBlock w = weighSample(size, r_.sample_bytes);
      size = w.bytes;
      variance = w.variance;
    }
    Block old;
    if (blocks_.replace(addr, {.size = size, .stack = stack, .thread = thread_}, old)) {
      // The address is live again without a free in between: a free we did not see (made inside
      // a hook, or before the tracker started). Release the old block to keep totals honest.
      ++r_.anomalies.overwritten_allocs;
      removeBlock(addr, old);
    }
    StackStats& s = touch(stack);
    if (variance) {
      sampled_variance_[addr] = variance;
      s.live_variance += variance;
      r_.heap_variance += variance;
    }
    s.live_bytes += size;
    updateSeries(stack, s.live_bytes);
    ++s.live_blocks;
    ++s.alloc_count;
    s.alloc_bytes += size;
    if (per_thread_) {
      StackStats& t = touchThread(thread_, stack);
      t.live_bytes += size;
      ++t.live_blocks;
      ++t.alloc_count;
      t.alloc_bytes += size;
    }
    r_.allocated_series.update(stack, now_ns_, s.alloc_bytes);
    r_.heap_live += size;
    heap_high_ = std::max(heap_high_, r_.heap_live);
    ++r_.allocations;
    r_.allocated_bytes += size;
  }

  void release(uint64_t addr, bool temporary = false) {
    Block b;
    if (!blocks_.erase(addr, b)) {
      ++r_.anomalies.unknown_frees;
      return;
    }
    ++r_.frees;
    if (temporary) {
      StackStats& s = stats(b.stack);
      ++s.temporary_count;
      s.temporary_bytes += b.size;
      if (per_thread_) {
        StackStats& t = touchThread(b.thread, b.stack);
        ++t.temporary_count;
        t.temporary_bytes += b.size;
      }
    }
    removeBlock(addr, b);
  }

  void updateSeries(StackId stack, uint64_t live_bytes) {
    r_.series.update(stack, now_ns_, live_bytes);
    if (day_) r_.day_series.update(stack, day_, live_bytes);
  }

  // A simulated day begins; on the first, every stack's value so far enters the day series.
  void beginDay() {
    const bool first = day_++ == 0;
    if (first && aggregated_) {  // the stacks' figures come at the end: their levels so far
      for (size_t id = 0; id < levels_.size(); ++id)
        if (levels_[id]) r_.day_series.update(static_cast<uint32_t>(id), day_, levels_[id]);
    } else if (first) {
      r_.stacks.forEach([&](StackId id, const StackStats& st) {
        if (st.live_bytes) r_.day_series.update(id, day_, st.live_bytes);
      });
    }
    r_.day_series.extendTo(day_);
  }

  // Aggregate mode: a stack's live bytes as the tracker's levels (or its final counters) give them,
  // after the most it held since the levels before.
  void level(StackId stack, uint64_t live_bytes, uint64_t high_bytes) {
    if (stack >= levels_.size()) growTo(levels_, static_cast<size_t>(stack) + 1);
    levels_[stack] = live_bytes;
    if (high_bytes > live_bytes) updateSeries(stack, high_bytes);
    updateSeries(stack, live_bytes);
  }


  void removeBlock(uint64_t addr, const Block& b) {
    StackStats& s = touch(b.stack);
    if (r_.sample_bytes) {
      auto known = sampled_variance_.find(addr);
      if (known != sampled_variance_.end()) {
        s.live_variance -= known->second;
        r_.heap_variance -= known->second;
        sampled_variance_.erase(known);
      }
    }
    s.live_bytes -= b.size;
    updateSeries(b.stack, s.live_bytes);
    --s.live_blocks;
    r_.heap_live -= b.size;
    if (per_thread_) {
      StackStats& t = touchThread(b.thread, b.stack);
      t.live_bytes -= b.size;
      --t.live_blocks;
    }
  }

  // A thread takes a stream.
  void beginThread(uint32_t stream, uint64_t tid, std::string name) {
    auto known = thread_index_.find({tid, name});
    if (known == thread_index_.end()) {
      if (r_.threads.size() >= kMaxThreads) return;  // its records count as the stream's previous thread's
      known = thread_index_.emplace(std::pair{tid, name}, static_cast<uint32_t>(r_.threads.size())).first;
      r_.threads.push_back({.tid = tid, .name = std::move(name)});
    }
    const uint32_t index = known->second;
    stream_thread_[stream] = index;
    cached_stream_ = stream;
    thread_ = index;
  }

  // Threads are counted per stack once a second one allocates: until then every figure of
  // `stacks` is the first one's, and is where its own table starts.
  void noteAllocatingThread() {
    if (per_thread_ || r_.threads.empty()) return;
    if (!any_allocation_) {
      any_allocation_ = true;
      r_.sole_allocating_thread = thread_;
      return;
    }
    if (thread_ == r_.sole_allocating_thread) return;
    per_thread_ = true;
    const uint64_t first = uint64_t{r_.sole_allocating_thread} << 32;
    r_.stacks.forEach([&](StackId id, const StackStats& st) {
      if (st.alloc_count || st.live_blocks) r_.thread_stacks[first | id] = st;
    });
  }

  // The thread whose record this is: the stream's latest ThreadName (records of one stream come in runs).
  void threadOf(uint32_t stream) {
    if (stream == cached_stream_) return;
    auto it = stream_thread_.find(stream);
    thread_ = it == stream_thread_.end() ? 0 : it->second;
    cached_stream_ = stream;
  }

  StackStats& touchThread(uint32_t thread, StackId stack) { return keepPeak(r_.thread_stacks[uint64_t{thread} << 32 | stack]); }

  void beginPhase(const Marker& m) {
    if (r_.phases.size() >= kMaxPhases || open_phases_.size() >= kMaxOpenPhases) return;
    open_phases_.push_back(r_.phases.size());
    r_.phases.push_back({.name = m.text, .begin_ns = m.time_ns, .end_ns = m.time_ns,
                         .heap_at_begin = r_.heap_live, .heap_peak = r_.heap_live, .heap_at_end = r_.heap_live});
  }
  void endPhase(const Marker& m) {
    // The innermost open phase of that name.
    for (auto it = open_phases_.rbegin(); it != open_phases_.rend(); ++it) {
      PhaseWindow& p = r_.phases[*it];
      if (p.name != m.text) continue;
      p.heap_at_end = r_.heap_live;
      p.end_ns = m.time_ns;
      p.ended = true;
      open_phases_.erase(std::next(it).base());
      return;
    }
  }

  void checkPeak(uint64_t seq) {
    for (size_t i : open_phases_) r_.phases[i].heap_peak = std::max(r_.phases[i].heap_peak, r_.heap_live);
    if (r_.heap_live > r_.heap_peak) {
      r_.heap_peak = r_.heap_live;
      r_.heap_peak_variance = r_.heap_variance;
      r_.heap_peak_seq = seq;
      ++r_.peak_epoch;
    }
  }

  void mapRegion(uint64_t addr, uint64_t size, StackId stack) {
    if (!size) return;
    unmapRegion(addr, size);  // MAP_FIXED over an existing mapping replaces it
    regions_[addr] = {.end = addr + size, .stack = stack};
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
      if (start < cut_lo) regions_[start] = {.end = cut_lo, .stack = reg.stack};
      if (cut_hi < reg.end) it = regions_.emplace(cut_hi, Region{.end = reg.end, .stack = reg.stack}).first, ++it;
    }
  }

  ReplayResult& r_;
  bool aggregated_;
  std::unordered_map<uint64_t, double> sampled_variance_;  // sample mode: of each live block, by address
  uint64_t file_bytes_;
  uint64_t max_stack_id_;
  static constexpr size_t kMaxPhases = 1'000'000, kMaxOpenPhases = 64;  // phases never ended are not nested forever
  std::vector<size_t> open_phases_;  // indices into r_.phases, innermost last
  // Python frames and stacks that are the same at the level of lines (the first id stands for all).
  std::map<std::tuple<uint64_t, uint64_t, int, bool>, uint64_t> line_frames_;
  std::unordered_map<uint64_t, uint64_t> frame_alias_;
  std::map<std::pair<StackId, uint64_t>, StackId> line_stacks_;
  std::vector<StackId> stack_alias_;
  uint64_t now_ns_ = 0;  // time of the latest sample or marker: events between take it
  uint64_t heap_high_ = 0;  // the highest heap_live since the latest sample
  uint64_t day_ = 0;     // simulated days begun (date markers seen)
  // Aggregate mode: each stack's live bytes in the latest StackLevels, by stack id, and whether
  // the trace has any (the per-site timelines of the growth findings).
  std::vector<uint64_t> levels_;
  bool saw_levels_ = false;
  ScanGraph pending_scan_;  // the scan being read
  // Per stream (thread): its latest allocation. Streams are numbered from 1 as threads take them;
  // the wrapper's and the aggregate pages' ids are near 2^32.
  std::vector<uint64_t> last_alloc_;
  std::unordered_map<uint32_t, uint64_t> last_alloc_far_;
  uint64_t& lastAlloc(uint32_t stream) {
    if (stream >= kDirectStreams) return last_alloc_far_[stream];
    if (stream >= last_alloc_.size()) last_alloc_.resize(std::max<size_t>(stream + 1, 2 * last_alloc_.size()), 0);
    return last_alloc_[stream];
  }
  static constexpr uint32_t kDirectStreams = 1u << 16;
  static constexpr size_t kMaxThreads = 100'000;  // more is damage: the rest count as the stream's thread before
  std::map<std::pair<uint64_t, std::string>, uint32_t> thread_index_;  // (tid, name) -> index into r_.threads
  std::unordered_map<uint32_t, uint32_t> stream_thread_;  // stream -> index into r_.threads
  uint32_t cached_stream_ = UINT32_MAX;
  uint32_t thread_ = 0;  // the thread of the record being replayed
  bool per_thread_ = false;
  bool any_allocation_ = false;
  AddressMap<Block> blocks_;
  std::map<uint64_t, Region> regions_;
};

}  // namespace

const StackStats* ReplayResult::threadStack(uint32_t thread, StackId id) const {
  if (aggregated || threads.empty()) return nullptr;
  if (thread_stacks.empty()) return thread == sole_allocating_thread ? stacks.find(id) : nullptr;
  auto it = thread_stacks.find(uint64_t{thread} << 32 | id);
  return it == thread_stacks.end() ? nullptr : &it->second;
}

uint64_t ReplayResult::peakBytes(StackId id) const { return peakBytes(stacks[id]); }

uint64_t ReplayResult::peakBlocks(StackId id) const { return peakBlocks(stacks[id]); }

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

const char* RecordingStop::why() const {
  switch (static_cast<format::StopReason>(reason)) {
    case format::StopReason::None: return "";
    case format::StopReason::FileFull: return "the trace file could not grow (the disk or the quota is full)";
    case format::StopReason::MapFailed: return "the trace file could not be mapped (out of address space or mappings)";
    case format::StopReason::DescriptorLost: return "the program closed or replaced the trace's file descriptor";
    case format::StopReason::LockedAtFork:
      return "the process was forked while another thread was unwinding a stack or walking the loaded modules "
             "(dl_iterate_phdr) and did not finish; the child inherited their locks held, and an unwind there could hang";
  }
  return "an unknown reason";
}

ReplayResult replay(TraceReader& reader) {
  ReplayResult r;
  if (reader.header().stop_reason)
    r.stopped = {.reason = reader.header().stop_reason, .time_ns = reader.header().stopped_ns};
  r.start_realtime_ns = reader.header().start_realtime_ns;
  r.sample_interval_ns = reader.header().sample_interval_ns;
  r.host = displayText({reader.header().host, strnlen(reader.header().host, sizeof reader.header().host)});
  r.aggregated = reader.aggregated();
  r.sample_bytes = reader.sampleBytes();
  r.pss_on_grid = reader.pssOnGrid();
  Replayer rp(r, reader.aggregated(), reader.recordBytes());
  reader.forEach([&](const Record& rec) { rp.onRecord(rec); });
  if (reader.aggregated()) {
    // The tracker did the replay itself; take its counters.
    const format::AggregateTotals& t = reader.header().aggregate;
    std::vector<format::StackCounters> counters = reader.stackCounters();
    r.stacks = StackTable{};
    uint64_t live = 0, blocks = 0;
    for (size_t id = 0; id < counters.size(); ++id) {
      const format::StackCounters& c = counters[id];
      if (!c.live_bytes && !c.live_blocks && !c.peak_bytes && !c.peak_blocks && !c.alloc_count && !c.alloc_bytes &&
          !c.mmap_bytes)
        continue;  // a stack id that only named frames
      r.stacks.make(static_cast<StackId>(id)) = {.live_bytes = c.live_bytes,
                                                 .live_blocks = c.live_blocks,
                                                 .peak_bytes = c.peak_bytes,
                                                 .peak_blocks = c.peak_blocks,
                                                 .touched_epoch = c.touched_epoch,
                                                 .alloc_count = c.alloc_count,
                                                 .alloc_bytes = c.alloc_bytes,
                                                 .mmap_bytes = c.mmap_bytes};
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
    r.anomalies.unknown_frees = t.unknown_frees;
    r.mmap_live = t.mmap_live;
    r.mmap_peak = t.mmap_peak;
    // The samples hold the heap as it was at each, not how high it went between them (the bench
    // workload makes and frees 33 MiB of vectors within 10 ms every day): at most its peak.
    for (TimelineSample& s : r.timeline) s.heap_high = std::max(s.heap, t.heap_peak);
    rp.finalLevels(r.stacks);
  }
  rp.finish();
  r.warnings = reader.warnings();
  r.stacks.forEach([&](StackId id, const StackStats& st) {
    if (id && st.alloc_count && !r.stack_defs.contains(id)) ++r.anomalies.undefined_stacks;
  });
  return r;
}

}  // namespace tidemark
