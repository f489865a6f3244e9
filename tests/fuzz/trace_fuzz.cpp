// A mutation fuzzer for everything that reads a trace or a baseline: the reader, replay, the
// summary (text and JSON), the flamegraphs, the HTML report, gate and the JSON baseline reader.
// Structure-aware: besides bit flips and splices it mutates the header's fields, the chunk headers
// and the varints where records keep their ids and counts.
//
//   tidemark_fuzz --seconds N --crashes DIR SEED...   mutate the seeds for N seconds
//   tidemark_fuzz --replay FILE...                     run each file once (the regression files)
//
// An input passes when it is read, or refused with tidemark::Error (one clear line). Any other
// exception is a bug: the input is saved in --crashes and the run fails. A crash (a signal, an
// ASan report) kills the process: the input being tried is always in DIR/last-input first.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis.h"
#include "diagnosis.h"
#include "error.h"
#include "flamegraph.h"
#include "gate.h"
#include "html_report.h"
#include "profile.h"
#include "range_view.h"
#include "recommend.h"
#include "summary_report.h"
#include "tidemark/trace_format.h"

using namespace tidemark;

namespace {

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void writeAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Everything a user can ask of one input. Throws only what the commands would throw.
void exercise(const std::string& path) {
  if (readAll(path).compare(0, sizeof format::kMagic, std::string(format::kMagic, sizeof format::kMagic)) != 0) {
    loadProfile(path);  // a JSON baseline, or garbage
    return;
  }
  SummaryOptions options;
  options.top = 50;
  TraceAnalysis analysis(path, options);
  std::ostringstream text;
  writeSummaryText(text, analysis, false);
  writeSummaryText(text, analysis, true);
  std::string json = summaryJson(analysis).dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::vector<StackGroup> groups = analysis.stackGroups(false);
  FlameOptions flame;
  for (const char* metric : {"peak", "leaked", "allocated", "temporary"}) {
    std::vector<FlameStack> stacks = flameStacks(groups, metric);
    flameSvg(stacks, flame);
    flameData(stacks, flame);
    foldedStacks(stacks, flame);
    speedscope(stacks, flame).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  htmlReport(analysis, reportFlames(analysis, groups), functionLineReports(groups, kReportLineFunctions, {}), {.baseline = "", .run = "", .range = rangeSectionHtml(analysis, groups), .sites = sitesOverTimeHtml(analysis.run(), groups)});
  diagnosisFirst(summaryJson(analysis));
  recommend(analysis);
  // The JSON summary as a baseline, and the trace itself as one.
  MemoryProfile profile = profileFromSummaryJson(nlohmann::json::parse(json), path);
  GateOptions rules;
  rules.max_peak = 1;
  rules.no_unbounded_growth = analysis.summary().growth.available;
  runGate(profile, nullptr, rules);
}

// Returns false when the input broke a rule (an exception other than Error).
bool tryInput(const std::string& path, std::string& failure) {
  try {
    exercise(path);
  } catch (const Error&) {
    // refused with a clear line: fine
  } catch (const std::exception& e) {
    failure = e.what();
    return false;
  }
  return true;
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  std::string mutate(const std::vector<std::string>& seeds) {
    std::string s = seeds[pick(seeds.size())];
    int rounds = 1 + static_cast<int>(pick(4));
    for (int i = 0; i < rounds && !s.empty(); ++i) mutateOnce(s, seeds);
    return s;
  }

 private:
  size_t pick(size_t n) { return n ? static_cast<size_t>(rng_() % n) : 0; }

  uint64_t interesting() {
    static const uint64_t kValues[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0x100000000ull,
                                       1ull << 40, 1ull << 62, 0x7fffffffffffffffull, ~0ull, 4096, 4095, 262144};
    return kValues[pick(sizeof kValues / sizeof kValues[0])];
  }

  // Offsets of the header's fields and of chunk starts, where the structure lives.
  size_t structuralOffset(const std::string& s) {
    static const size_t kFields[] = {offsetof(format::FileHeader, version), offsetof(format::FileHeader, header_size),
                                     offsetof(format::FileHeader, chunk_size), offsetof(format::FileHeader, flags),
                                     offsetof(format::FileHeader, chunks_allocated),
                                     offsetof(format::FileHeader, aggregate) + offsetof(format::AggregateTotals, max_stack_id),
                                     offsetof(format::FileHeader, aggregate) + offsetof(format::AggregateTotals, heap_peak),
                                     offsetof(format::FileHeader, stop_reason)};
    if (pick(2) == 0 || s.size() <= format::kHeaderSize) return kFields[pick(sizeof kFields / sizeof kFields[0])];
    size_t chunks = (s.size() - format::kHeaderSize) / format::kDefaultChunkSize + 1;
    size_t chunk_start = format::kHeaderSize + pick(chunks) * format::kDefaultChunkSize;
    return chunk_start + pick(pick(2) ? 16 : 256);  // a chunk header, or its first records
  }

  void putWord(std::string& s, size_t at, uint64_t v, size_t width) {
    for (size_t k = 0; k < width && at + k < s.size(); ++k) s[at + k] = static_cast<char>(v >> (8 * k));
  }

  void mutateOnce(std::string& s, const std::vector<std::string>& seeds) {
    size_t at = pick(s.size());
    switch (pick(10)) {
      case 0: s[at] = static_cast<char>(s[at] ^ (1 << pick(8))); break;
      case 1: s[at] = static_cast<char>(pick(2) ? 0xff : rng_()); break;
      case 2: putWord(s, structuralOffset(s), interesting(), pick(2) ? 4 : 8); break;
      case 3: {  // a varint that never ends, or one that is huge
        const std::string big = pick(2) ? std::string(10, '\xff') : std::string("\xff\xff\xff\xff\x0f");
        s.replace(at, std::min(big.size(), s.size() - at), big);
        break;
      }
      case 4: s.resize(pick(s.size() + 1)); break;
      case 5: {
        size_t n = std::min<size_t>(1 + pick(4096), s.size() - at);
        std::fill(s.begin() + static_cast<long>(at), s.begin() + static_cast<long>(at + n), '\0');
        break;
      }
      case 6: {  // one chunk copied over another
        if (s.size() < format::kHeaderSize + 2 * format::kDefaultChunkSize) break;
        size_t chunks = (s.size() - format::kHeaderSize) / format::kDefaultChunkSize;
        size_t from = format::kHeaderSize + pick(chunks) * format::kDefaultChunkSize;
        size_t to = format::kHeaderSize + pick(chunks) * format::kDefaultChunkSize;
        s.replace(to, format::kDefaultChunkSize, s.substr(from, format::kDefaultChunkSize));
        break;
      }
      case 7: {  // a splice from another seed
        const std::string& other = seeds[pick(seeds.size())];
        if (other.empty()) break;
        size_t from = pick(other.size()), n = std::min<size_t>(1 + pick(512), other.size() - from);
        s.replace(at, std::min(n, s.size() - at), other.substr(from, n));
        break;
      }
      case 8: putWord(s, structuralOffset(s), rng_(), 1 + pick(8)); break;
      default: {  // a small random value where records are
        putWord(s, at, pick(2) ? interesting() : pick(300), 1 + pick(4));
        break;
      }
    }
  }

  std::mt19937_64 rng_;
};

int usage() {
  std::cerr << "usage: tidemark_fuzz --seconds N --crashes DIR SEED... | --replay FILE...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && args[0] == "--replay") {
    int failures = 0;
    for (size_t i = 1; i < args.size(); ++i) {
      std::string failure;
      if (!tryInput(args[i], failure)) {
        std::cerr << args[i] << ": " << failure << "\n";
        ++failures;
      }
    }
    std::cout << args.size() - 1 << " regression inputs, " << failures << " failed\n";
    return failures ? 1 : 0;
  }
  if (args.size() < 5 || args[0] != "--seconds" || args[2] != "--crashes") return usage();
  const double seconds = std::stod(args[1]);
  const std::string crashes = args[3];
  std::vector<std::string> seeds;
  for (size_t i = 4; i < args.size(); ++i) seeds.push_back(readAll(args[i]));
  const uint64_t seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  Mutator mutator(seed);
  const std::string input = crashes + "/last-input";
  auto start = std::chrono::steady_clock::now();
  size_t tried = 0, refused_or_read = 0;
  while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds) {
    std::string bytes = mutator.mutate(seeds);
    writeAll(input, bytes);  // a crash leaves it here
    std::string failure;
    ++tried;
    if (!tryInput(input, failure)) {
      std::string kept = crashes + "/crash-" + std::to_string(seed) + "-" + std::to_string(tried);
      writeAll(kept, bytes);
      std::cerr << "tidemark_fuzz: " << failure << "; input kept in " << kept << "\n";
      return 1;
    }
    ++refused_or_read;
  }
  unlink(input.c_str());
  std::cout << "tidemark_fuzz: " << tried << " mutants of " << seeds.size() << " seeds in " << seconds
            << " s (random seed " << seed << "), 0 failures\n";
  return 0;
}
