#include "live_view.h"

#include <time.h>
#include <unistd.h>

#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "error.h"
#include "process_tree.h"
#include "units.h"

namespace tidemark {

namespace {

uint64_t clockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void writeErr(const std::string& text) { (void)!::write(2, text.data(), text.size()); }

}  // namespace

std::string statusText(const LiveStatus& s) {
  if (!s.processes) return "waiting for the first trace";
  std::string out = humanDuration(s.elapsed_ns);
  if (s.sampled) {
    if (s.heap_known) out += fmt::format(" | heap {}", humanBytes(s.heap));
    out += fmt::format(" | RSS {}", humanBytes(s.rss));
    if (s.peak_rss > s.rss) out += fmt::format(" (peak {})", humanBytes(s.peak_rss));
  }
  out += fmt::format(" | trace {}", humanBytes(s.trace_bytes));
  if (!s.last_date.empty()) out += " | simulated " + s.last_date;
  if (s.processes > 1) out += fmt::format(" | {} processes, {} running", s.processes, s.running);
  else if (!s.running && s.sampled) out += " | ended";
  return out;
}

LiveStatus statusNow(const std::string& path) {
  std::vector<std::string> traces;
  try {
    traces = runTraces(path);
  } catch (const Error&) {
    return {};  // the directory has no trace yet
  }
  return readLiveStatus(traces, clockNs(CLOCK_REALTIME));
}

StatusLine::StatusLine(std::string path, bool enabled) : path_(std::move(path)), enabled_(enabled) {}

void StatusLine::tick() {
  if (!enabled_) return;
  uint64_t now = clockNs(CLOCK_MONOTONIC);
  if (now < next_ns_) return;
  next_ns_ = now + 1'000'000'000;
  // The cursor goes back to the start of the line: what the program prints next writes over the
  // status instead of after it (its output is its own; the status is redrawn a second later).
  writeErr("\r\033[K" + ("tidemark: " + statusText(statusNow(path_))).substr(0, 200) + "\r");
  drawn_ = true;
}

void StatusLine::clear() {
  if (drawn_) writeErr("\r\033[K");
  drawn_ = false;
}

int watchCommand(const std::string& path, double interval_s, bool once, bool json) {
  runTraces(path);  // a path without traces is an error here, with its one-line reason
  const bool terminal = isatty(1) && !json;
  for (;;) {
    LiveStatus s = statusNow(path);
    std::string line = json ? nlohmann::json{{"elapsed_ns", s.elapsed_ns}, {"processes", s.processes}, {"running", s.running},
                                             {"heap", s.heap_known ? nlohmann::json(s.heap) : nlohmann::json(nullptr)}, {"rss", s.rss}, {"peak_rss", s.peak_rss}, {"trace_bytes", s.trace_bytes},
                                             {"simulated_date", s.last_date}, {"sampled", s.sampled}}
                                  .dump()
                            : statusText(s);
    if (terminal && !once)
      fmt::print("\r\033[K{}", line);
    else
      fmt::print("{}\n", line);
    std::fflush(stdout);
    if (once || !s.running) break;  // ended (or never sampled within the last few seconds)
    timespec ts{static_cast<time_t>(interval_s), static_cast<long>((interval_s - static_cast<time_t>(interval_s)) * 1e9)};
    nanosleep(&ts, nullptr);
  }
  if (terminal && !once) fmt::print("\n");
  return 0;
}

}  // namespace tidemark
