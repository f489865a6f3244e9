// The opening of every report: what is wrong with the run, most severe first, each line naming its
// site and the section that holds the evidence; then the healthy findings a user would otherwise
// suspect (a cache that levels off); or "no problem found" with what was checked.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis.h"

namespace tidemark {

// A report's sections that hold evidence: the text's heading and the HTML's anchor.
enum class Evidence { Death, Findings, Leaks, Peak, HeapScan, PythonObjects, Header };

struct DiagnosisLine {
  // In the order of severity; a report lists lines in this order.
  enum class Kind {
    Incomplete,          // the tracker stopped recording: what follows is partial
    Death,               // OOM-killed or killed
    LimitAhead,          // RSS on course to reach the memory limit
    Unbounded,           // a site grows without bound (and may leak what it grew)
    HeapUnbounded,       // the heap grows without bound, no one site above the threshold
    RssOutsideHeap,      // RSS grows past all the heap allocated (mappings, fragmentation)
    Leak,                // live at exit
    LeakedCycles,        // blocks in cycles nothing reaches (heap scan)
    PythonGrowth,        // Python objects grown between scans
    PythonGarbage,       // objects only the cycle collector frees
    Spike,               // a site that rose and fell, defining the peak
    SmallLeak,           // live at exit, below 64 KiB and 1% of the peak (a library's pool, say)
    BoundedCache,        // healthy: a plateau
    Periodic,            // healthy: rises and falls
    WorkingSet,          // healthy: grew with the work, released before exit
    HeldAtExit,          // healthy: live at exit, but the heap scan at exit found none of it lost
    InterpreterResidue,  // healthy: a small leak in a CPython process without a heap scan (its caches)
    ModuleGarbage,       // healthy: Python garbage cycles, every one made by imports or start-up
    NotEnoughEvidence,   // a verdict the run was too short to give
    NoProblem,           // nothing wrong: what was checked
  };
  Kind kind;
  std::string headline;  // "Grows without bound: SITE"
  std::string detail;    // figures: "+1.00 MiB per simulated day, 499.0 MiB at the end"
  std::string site;      // the site's full name, "" when the line has none
  std::vector<Evidence> evidence;
  bool problem() const { return kind < Kind::BoundedCache; }
};

std::vector<DiagnosisLine> diagnose(const TraceAnalysis& analysis);

// The text's heading of a section ("Findings") and the HTML's anchor ("findings").
const char* evidenceHeading(Evidence e);
const char* evidenceAnchor(Evidence e);
const char* diagnosisKindKey(DiagnosisLine::Kind k);

// "Diagnosis: 3 problems, most severe first" and the numbered lines, in 100 columns.
void writeDiagnosis(std::ostream& out, const std::vector<DiagnosisLine>& lines);
nlohmann::json diagnosisJson(const std::vector<DiagnosisLine>& lines);
// The summary's JSON with "diagnosis" as its first member (nlohmann::json sorts its keys).
nlohmann::ordered_json diagnosisFirst(const nlohmann::json& summary);
// An <ol> of the lines, each linking to its evidence.
std::string diagnosisHtml(const std::vector<DiagnosisLine>& lines);

}  // namespace tidemark
