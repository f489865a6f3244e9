// Verdicts in words, the same in every report: how a process ended or died, a growth finding as
// far as the evidence goes, why a trace is incomplete.
#pragma once

#include <string>

#include "analysis.h"

namespace tidemark {

// "OOM-killed at 170 ms (simulation date 2020-10-19) with RSS 79.8 MiB of limit 64.0 MiB", or
// empty when the process did not die.
std::string deathHeadline(const Summary& s);

// A growth finding in words, as far as the evidence goes (rates never past the span observed;
// "not enough evidence" with what was lacking). days: the simulated days the run marked.
std::string describeVerdict(const SiteTrend& t, size_t days);
std::string describeProcessVerdict(const TrendVerdict& v, double span_s);
// A site's growth rate in the run's own units: per simulated day when the run marked at least two
// days, else growthRate (never extrapolated past the run).
std::string siteGrowthRate(const SiteTrend& t, size_t days);
// Growth of rate_per_s over a series spanning span_s: per hour from an hour of tail, else over the tail.
// error_per_s: sample mode's 95% half-width of the rate, shown as "± ..." when above 0.
std::string growthRate(double rate_per_s, double span_s, double error_per_s = 0);

// "incomplete: the tracker stopped recording at 1.20 s because ...", or empty for a complete trace.
std::string incompleteText(const RecordingStop& stop);

// "exited with code 0", "killed by SIGKILL", ...
std::string describeEnd(const ProcessEnd& end);
// "oom-killed", "killed", "none", ...
const char* deathKindName(Death::Kind kind);

}  // namespace tidemark
