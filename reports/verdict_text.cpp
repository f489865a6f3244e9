#include "verdict_text.h"

#include <cmath>

#include <fmt/format.h>

#include "units.h"

namespace tidemark {

namespace {

std::string signedBytes(double v) {
  return (v < 0 ? "-" : "") + humanBytes(static_cast<uint64_t>(std::llround(std::fabs(v))));
}

std::string secondsText(double s) { return humanDuration(static_cast<uint64_t>(std::max(0.0, s) * 1e9)); }

std::string confidenceText(double confidence) {
  // As many decimals as it takes to stay below 100%.
  double p = 100 * (1 - confidence);
  int decimals = p >= 1 ? 0 : p >= 0.1 ? 1 : p >= 0.01 ? 2 : 3;
  return fmt::format("{:.{}f}% confidence", std::min(100 * confidence, 100 - std::pow(10.0, -decimals)), decimals);
}

// Why a verdict could not be given, and what would give one.
std::string shortfallText(const TrendVerdict& v, double span_s) {
  // The levels the series held, and its short spikes when they went higher (a site whose memory
  // comes and goes within each step holds 0 B between spikes).
  const std::string range =
      (v.min == v.max ? "at " + signedBytes(v.min) : fmt::format("between {} and {}", signedBytes(v.min), signedBytes(v.max))) +
      (v.peak > v.max ? ", with spikes to " + signedBytes(v.peak) + "," : "");
  if (v.shortfall == Shortfall::Sampling)
    return fmt::format("not enough evidence: {} over {}, a rise the sampling alone could make; {} would tell", range,
                       secondsText(span_s),
                       v.needed >= 1 ? fmt::format("--sample-bytes {}", humanBytes(static_cast<uint64_t>(v.needed)))
                                     : std::string("full mode"));
  return fmt::format("not enough evidence: {} over {}, seen at {} moments of the {} a verdict takes", range,
                     secondsText(span_s), v.moments, v.needed);
}

}  // namespace

std::string describeEnd(const ProcessEnd& end) {
  switch (end.state) {
    case EndState::Exited: return fmt::format("exited with code {}", end.code);
    case EndState::Signaled: return fmt::format("killed by {} ({})", signalName(end.code), end.code);
    case EndState::ExitCalled: return "exited through exit() (its code is known only to the process that waited for it)";
    case EndState::Exec: return fmt::format("replaced itself with exec of {}", end.program.empty() ? "a program" : end.program);
    case EndState::Unknown: break;
  }
  return "did not exit: killed (e.g. SIGKILL) or still running when the trace was read";
}

// A rate of growth as far as the run supports it: per hour when the tail the slope was fitted on
// spans an hour or more; otherwise the growth seen over that tail, never extrapolated past it.
namespace {

// " ± 9.10 KiB": the sampling's 95% interval of a sample-mode figure; nothing for an exact one.
std::string plusMinus(double error) {
  return error > 0 ? fmt::format(" ± {}", humanBytes(static_cast<uint64_t>(error))) : std::string();
}

}  // namespace

std::string growthRate(double rate_per_s, double span_s, double error_per_s) {
  double tail_s = span_s * TrendThresholds::kTailShare;
  if (tail_s >= 3600) return fmt::format("+{}{}/h", signedBytes(rate_per_s * 3600), plusMinus(error_per_s * 3600));
  return fmt::format("+{}{} over the last {} of the run", signedBytes(rate_per_s * tail_s), plusMinus(error_per_s * tail_s),
                     humanDuration(static_cast<uint64_t>(tail_s * 1e9)));
}

std::string siteGrowthRate(const SiteTrend& t, size_t days) {
  if (days >= 2 && t.rate_per_day > 0)
    return fmt::format("+{}{} per simulated day", signedBytes(t.rate_per_day), plusMinus(t.rate_error_per_day));
  return growthRate(t.verdict.rate_per_s, t.span_s, t.rate_error_per_hour / 3600);
}

// days: how many simulated days the run marked (0 without date markers).
std::string describeVerdict(const SiteTrend& t, size_t days) {
  const TrendVerdict& v = t.verdict;
  switch (v.trend) {
    case Trend::Unbounded:
      if (days >= 2 && t.rate_per_day != 0)
        return fmt::format("unbounded growth ({}): +{}{} per simulated day{}, {}; {} at the end", confidenceText(v.confidence),
                           signedBytes(t.rate_per_day), plusMinus(t.rate_error_per_day),
                           days >= 21 ? fmt::format(" (+{} per 21 days)", signedBytes(t.rate_per_day * 21)) : "",
                           growthRate(v.rate_per_s, t.span_s, t.rate_error_per_hour / 3600), humanBytes(t.final_bytes));
      return fmt::format("unbounded growth ({}): {}; {} at the end", confidenceText(v.confidence),
                         growthRate(v.rate_per_s, t.span_s, t.rate_error_per_hour / 3600), humanBytes(t.final_bytes));
    case Trend::GrowsWithWork:
      return fmt::format("grows with the work: {}, all released before exit ({} left): a working set, not a leak; "
                         "mark simulated days (tidemark/marker.h) to see whether it grows per day",
                         growthRate(v.rate_per_s, t.span_s), humanBytes(t.exit_bytes));
    case Trend::NotEnoughEvidence: return shortfallText(v, t.span_s);
    case Trend::Plateau:
      if (t.level_reached_day > 0)
        return fmt::format("plateau at {} since simulated day {:.0f} ({})", signedBytes(v.level), t.level_reached_day,
                           secondsText(v.level_reached_s));
      return fmt::format("plateau at {} since {}", signedBytes(v.level), secondsText(v.level_reached_s));
    case Trend::Periodic:
      if (t.period_days > 0)
        return fmt::format("periodic ({}): {} cycles, every {:.1f} simulated days ({}), amplitude {}", confidenceText(v.confidence),
                           v.cycles, t.period_days, secondsText(v.period_s), signedBytes(v.amplitude));
      return fmt::format("periodic ({}): {} cycles, every {}, amplitude {}", confidenceText(v.confidence), v.cycles,
                         secondsText(v.period_s), signedBytes(v.amplitude));
    case Trend::Transient:
      return fmt::format("transient: up to {}, {} at the end", humanBytes(t.peak_bytes), humanBytes(t.final_bytes));
    case Trend::Steady:
      return fmt::format("steady: {} to {}", signedBytes(v.min), signedBytes(v.max));
  }
  return "";
}

// The process's RSS (or heap) line: only growth has a rate, a plateau has a level.
std::string describeProcessVerdict(const TrendVerdict& v, double span_s) {
  switch (v.trend) {
    case Trend::Unbounded: return fmt::format("unbounded growth ({}), {}", confidenceText(v.confidence), growthRate(v.rate_per_s, span_s));
    case Trend::GrowsWithWork: return fmt::format("grows with the work, {}, released before exit", growthRate(v.rate_per_s, span_s));
    case Trend::Plateau: return fmt::format("plateau at {}", signedBytes(v.level));
    case Trend::Periodic: return fmt::format("periodic ({}), every {}", confidenceText(v.confidence), secondsText(v.period_s));
    case Trend::NotEnoughEvidence: return shortfallText(v, span_s);
    default: return trendName(v.trend);
  }
}

std::string deathHeadline(const Summary& s) {
  const Death& d = s.death;
  const char* what = d.kind == Death::Kind::OomKilled   ? "OOM-killed"
                     : d.kind == Death::Kind::OomLikely ? "Probably OOM-killed"
                     : d.kind == Death::Kind::Killed    ? "Killed"
                                                        : "";
  if (!*what) return "";
  std::string when = humanDuration(d.time_ns);
  if (!d.simulation_date.empty()) when += fmt::format(" (simulation date {})", d.simulation_date);
  return fmt::format("{} at {} with RSS {}{}", what, when, humanBytes(d.rss),
                     s.limit.bytes ? " of limit " + humanBytes(s.limit.bytes) : std::string());
}

const char* deathKindName(Death::Kind k) {
  switch (k) {
    case Death::Kind::None: return "none";
    case Death::Kind::OomKilled: return "oom-killed";
    case Death::Kind::OomLikely: return "oom-likely";
    case Death::Kind::Killed: return "killed";
  }
  return "?";
}

std::string incompleteText(const RecordingStop& stop) {
  if (!stop.stopped()) return "";
  return fmt::format("incomplete: the tracker stopped recording at {} because {}; what the process did after that "
                     "is not in the trace",
                     humanDuration(stop.time_ns), stop.why());
}

}  // namespace tidemark
