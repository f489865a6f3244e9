#include "python_report.h"

#include <fmt/format.h>

#include "tidemark/trace_format.h"
#include "units.h"

namespace tidemark {

// When a scan was made: "at exit", "on the scan signal at 4.2 s", "on tidemark.scan() at 4.2 s".
std::string scanWhen(uint32_t reason, uint64_t time_ns) {
  if (reason == static_cast<uint32_t>(format::ScanReason::Signal)) return fmt::format("on the scan signal at {}", humanDuration(time_ns));
  if (reason == static_cast<uint32_t>(format::ScanReason::Request)) return fmt::format("on tidemark.scan() at {}", humanDuration(time_ns));
  return "at exit";
}

const char* scanReasonKey(uint32_t reason) {
  if (reason == static_cast<uint32_t>(format::ScanReason::Signal)) return "signal";
  if (reason == static_cast<uint32_t>(format::ScanReason::Request)) return "request";
  return "exit";
}

namespace {

// The text lists this many groups by retained size and by growth (JSON: kRetainedGroups).
constexpr ptrdiff_t kListedRetainedGroups = 5;
constexpr size_t kListedGrowth = 5;

// The garbage's ids are listed up to this many.
constexpr size_t kListedGarbageIds = 100000;

void writeChain(std::ostream& out, const std::vector<std::string>& chain) {
  if (chain.empty()) return;
  std::string text;
  for (const std::string& c : chain) text += c + " → ";
  out << fmt::format("              held through {}it\n", text);
}

void writeGrowth(std::ostream& out, const PythonGrowth& growth) {
  if (!growth.available) return;
  out << fmt::format("  grown since the scan {}:{}\n", scanWhen(growth.from_reason, growth.from_ns),
                     growth.groups.empty() ? " nothing (no group of objects keeps more alive than it did)" : "");
  for (size_t k = 0; k < growth.groups.size() && k < kListedGrowth; ++k) {
    if (growth.groups[k].grown() < kListedGrowthBytes) break;
    out << "  " << growthLine(growth.groups[k]) << "\n";
    writeChain(out, growth.groups[k].chain);
  }
}

}  // namespace

std::string groupName(const std::string& name, const std::string& global, uint64_t objects) {
  return objects == 1 && !global.empty() ? global + ": " + name : name;
}

std::string groupLabel(const std::string& name, const std::string& global, uint64_t objects) {
  if (objects == 1) return fmt::format("{}{} in 1 object", global.empty() ? "" : global + ": ", name);
  return fmt::format("{} in {} objects{}", name, groupedNumber(objects), global.empty() ? "" : ", the largest " + global);
}

std::string growthLine(const RetainedGrowth& g) {
  return fmt::format("{:>10}  {}: {} → {} object{}, holding {} → {}", "+" + humanBytes(static_cast<uint64_t>(g.grown())),
                     groupName(g.name, g.global, g.objects_after), groupedNumber(g.objects_before), groupedNumber(g.objects_after),
                     g.objects_after == 1 ? "" : "s", humanBytes(g.held_before), humanBytes(g.held_after));
}

void writePythonObjects(std::ostream& out, const PythonObjectFindings& g, const PythonGrowth& growth) {
  if (!g.available) return;
  out << fmt::format("\nPython objects {}: {} tracked by the cycle collector, {} of them referred to from outside\n",
                     scanWhen(g.reason, g.time_ns), groupedNumber(g.objects), groupedNumber(g.roots));
  if (!g.retained.empty()) {
    out << fmt::format("  kept alive: {} (objects and what they own); the most, by what would be freed with them (modules, "
                       "their globals and sys.modules aside):\n",
                       humanBytes(g.alive_bytes));
    ptrdiff_t listed = 0;
    for (const RetainedGroup& r : g.retained) {
      if (r.holds_modules) continue;
      if (listed++ == kListedRetainedGroups) break;
      out << fmt::format("  {:>10}  {}\n", humanBytes(r.retained_bytes), groupLabel(r.name, r.global, r.objects));
      writeChain(out, r.chain);
    }
  }
  writeGrowth(out, growth);
  if (!g.garbage_objects) {
    out << "  no garbage: every object is reachable (nothing is left for the cycle collector)\n";
    return;
  }
  auto row = [&](const std::string& label, uint64_t bytes, uint64_t objects) {
    out << fmt::format("  {:<44}{:>10} in {} object{}\n", label, humanBytes(bytes), groupedNumber(objects), objects == 1 ? "" : "s");
  };
  row("garbage (only the cycle collector frees it)", g.garbage_bytes, g.garbage_objects);
  row(fmt::format("  in {} cycle{}", groupedNumber(g.cycle_count), g.cycle_count == 1 ? "" : "s"), g.cycle_bytes, g.cycle_objects);
  if (g.startup_cycle_count)
    row(fmt::format("  of them made by imports: {} cycle{}", groupedNumber(g.startup_cycle_count), g.startup_cycle_count == 1 ? "" : "s"),
        g.startup_cycle_bytes, g.startup_cycle_objects);
  row("  held by the cycles", g.held_bytes, g.held_objects);
  for (const CycleGroup& c : g.cycle_groups)
    out << fmt::format("  {} garbage cycle{}{}, {} in {} objects:\n      {}\n", groupedNumber(c.cycles), c.cycles == 1 ? "" : "s",
                       c.startup ? " from imports" : "", humanBytes(c.bytes), groupedNumber(c.blocks), c.shape);
}

nlohmann::json pythonObjectsJson(const PythonObjectFindings& g) {
  nlohmann::json cycles = nlohmann::json::array();
  for (const CycleGroup& c : g.cycle_groups)
    cycles.push_back({{"shape", c.shape}, {"members", c.sites}, {"cycles", c.cycles}, {"objects", c.blocks}, {"bytes", c.bytes},
                      {"from_imports", c.startup}});
  size_t listed = std::min(g.garbage.size(), kListedGarbageIds);
  nlohmann::json retained = nlohmann::json::array(), group_sizes = nlohmann::json::array();
  for (const RetainedGroup& r : g.retained) {
    if (retained.size() < kRetainedGroups)
      retained.push_back({{"name", r.name}, {"global", r.global}, {"holds_modules", r.holds_modules}, {"objects", r.objects},
                          {"own_bytes", r.own_bytes}, {"held_bytes", r.held_bytes}, {"retained_bytes", r.retained_bytes},
                          {"chain", r.chain}});
    group_sizes.push_back({{"name", r.name}, {"global", r.global}, {"objects", r.objects}, {"held_bytes", r.held_bytes},
                           {"retained_bytes", r.retained_bytes}});
  }
  return {{"available", g.available},
          {"unavailable_reason", g.unavailable_reason},
          {"reason", scanReasonKey(g.reason)},
          {"time_ns", g.time_ns},
          {"analysis_seconds", g.analysis_seconds},
          {"objects", g.objects},
          {"roots", g.roots},
          {"garbage", {{"objects", g.garbage_objects}, {"bytes", g.garbage_bytes},
                       {"ids", std::vector<uint64_t>(g.garbage.begin(), g.garbage.begin() + static_cast<ptrdiff_t>(listed))},
                       {"ids_complete", listed == g.garbage.size()}}},
          {"cycles", {{"count", g.cycle_count}, {"objects", g.cycle_objects}, {"bytes", g.cycle_bytes}, {"groups", cycles},
                      {"from_imports", {{"count", g.startup_cycle_count}, {"objects", g.startup_cycle_objects}, {"bytes", g.startup_cycle_bytes}}}}},
          {"held_by_cycles", {{"objects", g.held_objects}, {"bytes", g.held_bytes}}},
          {"alive_bytes", g.alive_bytes},
          {"retained", retained},
          {"group_sizes", group_sizes}};
}

nlohmann::json retainedGrowthJson(const RetainedGrowth& g) {
  return {{"name", g.name},
          {"global", g.global},
          {"chain", g.chain},
          {"objects_before", g.objects_before},
          {"objects_after", g.objects_after},
          {"held_before", g.held_before},
          {"held_after", g.held_after},
          {"retained_before", g.retained_before},
          {"retained_after", g.retained_after},
          {"grown", g.grown()}};
}

nlohmann::json pythonGrowthJson(const PythonGrowth& growth) {
  if (!growth.available) return {{"available", false}};
  nlohmann::json groups = nlohmann::json::array();
  for (const RetainedGrowth& g : growth.groups) {
    if (groups.size() == kRetainedGroups) break;
    groups.push_back(retainedGrowthJson(g));
  }
  return {{"available", true},
          {"from", {{"reason", scanReasonKey(growth.from_reason)}, {"time_ns", growth.from_ns}}},
          {"to", {{"reason", scanReasonKey(growth.to_reason)}, {"time_ns", growth.to_ns}}},
          {"groups", groups}};
}

}  // namespace tidemark
