#include "run/run_command.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

#include "algo/strategy_registry.h"
#include "data/bundle.h"
#include "error.h"
#include "run/bundle_cache.h"
#include "run/results.h"
#include "run/simulation.h"
#include "run/workers.h"

namespace tidemark::engine {

void addRunOptions(CLI::App& command, RunOptions& o) {
#define TM_RUN_OPTION(type, member, flags, default_value, help) \
  command.add_option(flags, o.member, help)->capture_default_str();
#define TM_RUN_FLAG(member, flags, help) command.add_flag(flags, o.member, help);
#include "run/run_options.inc"
#undef TM_RUN_OPTION
#undef TM_RUN_FLAG
}

namespace {

struct Sweep {
  std::string name;
  std::vector<double> values;
};

Sweep parseSweep(const std::string& text) {
  Sweep s;
  size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw EngineError(fmt::format("bad --sweep '{}' (expected NAME=V1,V2,...)", text));
  s.name = text.substr(0, eq);
  std::string_view rest = std::string_view(text).substr(eq + 1);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    double v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size() || !std::isfinite(v))
      throw EngineError(fmt::format("bad --sweep value '{}' in '{}'", item, text));
    s.values.push_back(v);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  if (s.values.empty()) throw EngineError(fmt::format("--sweep {} has no values", text));
  return s;
}

std::string percent(double x) { return std::isfinite(x) ? fmt::format("{:+.2f}%", 100.0 * x) : "n/a"; }

std::string mib(uint64_t bytes) { return fmt::format("{:.1f} MiB", bytes / 1048576.0); }

std::string cacheLine(const char* name, const HistoryCacheStats& s, const HistoryCacheLimits& limits) {
  uint64_t requests = s.hits + s.misses + s.refreshes;
  if (requests == 0) return "";
  std::string bound =
      limits.never_evict ? "never evicts (fault)"
      : limits.max_assets || limits.max_bytes
          ? fmt::format("bound {}{}", limits.max_assets ? fmt::format("{} assets", limits.max_assets) : "",
                        limits.max_bytes ? " " + mib(limits.max_bytes) : "")
          : "no bound";
  return fmt::format("  history cache {}: peak {} assets, {}; {:.1f}% hits, {} evictions ({})\n", name, s.peak_assets,
                     mib(s.peak_bytes), 100.0 * s.hits / requests, s.evictions, bound);
}

void printRun(const SimulationConfig& c, const RunResult& r, const Bundle& bundle, double seconds) {
  const RunSummary& s = r.summary;
  fmt::print("{}{} on {} assets, {} .. {} ({} sessions, {} bars)\n", r.label.empty() ? "" : "[" + r.label + "] ",
             c.strategy, bundle.assetCount(), s.first.str(), s.last.str(), s.sessions,
             c.frequency == Frequency::Minute ? "minute" : "daily");
  fmt::print("  final value {}  return {}  P&L {}{}\n", s.final_value.str(), percent(s.total_return),
             s.pnl.ticks() >= 0 ? "+" : "", s.pnl.str());
  fmt::print("  sharpe {:.2f}  max drawdown {}  volatility {:.1f}%\n", s.sharpe, percent(s.max_drawdown),
             100.0 * s.annual_volatility);
  fmt::print("  orders {}  fills {}  cancelled {}  commissions {}\n", s.orders, s.fills, s.cancelled,
             s.commissions.str());
  if (seconds > 0)
    fmt::print("  bar events {} in {:.3f} s ({:.1f} M/s)\n", s.bar_events, seconds, s.bar_events / seconds / 1e6);
  fmt::print("{}", cacheLine("1d", s.daily_cache, c.portal.cache));
  fmt::print("{}", cacheLine("1m", s.minute_cache, c.portal.cache));
  if (s.pipeline_chunks)
    fmt::print("  pipeline: {} chunks, peak {} of results\n", s.pipeline_chunks, mib(s.pipeline_peak_bytes));
  if (!c.faults.enabledNames().empty()) {
    std::string faults;
    for (const auto& f : c.faults.enabledNames()) faults += (faults.empty() ? "" : ", ") + f;
    fmt::print("  faults: {}{}{}\n", faults, s.leaked_bytes ? fmt::format("; leaked {}", mib(s.leaked_bytes)) : "",
               s.spike_bytes ? fmt::format("; spike {}", mib(s.spike_bytes)) : "");
  }
}

}  // namespace

int runCommand(const RunOptions& o) {
  const StrategyInfo& info = findStrategy(o.strategy);
  if (o.workers < 1 || o.workers > 256) throw EngineError("--workers must be between 1 and 256");
  if (o.pipeline_first_chunk < 1 || o.pipeline_chunk < 1)
    throw EngineError("pipeline chunks must be at least 1 session");
  if (!(o.capital > 0)) throw EngineError("--capital must be positive");
  if (o.commission_per_share < 0 || o.commission_min < 0) throw EngineError("commissions cannot be negative");
  if (o.volume_limit < 0 || o.volume_limit > 1) throw EngineError("--volume-limit must be between 0 and 1");
  if (o.progress_interval < 0) throw EngineError("--progress-interval cannot be negative");
  if (!o.results.empty() && !o.results.ends_with(".json") && !o.results.ends_with(".csv"))
    throw EngineError(fmt::format("--results {}: the name must end in .json or .csv", o.results));

  SimulationConfig base;
  base.strategy = info.name;
  base.params = StrategyParams(info.params);
  for (const std::string& p : o.params) {
    auto [name, value] = parseParamAssignment(p);
    base.params.set(name, value);
  }
  base.seed = o.seed;
  base.capital = Money::fromDollars(o.capital);
  base.slippage = o.slippage;
  base.slippage_bps = o.slippage_bps;
  base.volume_limit = o.volume_limit;
  base.price_impact = o.price_impact;
  base.commission.per_share = Money::fromDollars(o.commission_per_share);
  base.commission.min_per_order = Money::fromDollars(o.commission_min);
  base.portal.cache.max_assets = o.history_cache_assets;
  base.portal.cache.max_bytes = o.history_cache_bytes;
  base.portal.daily_prefetch = o.history_prefetch_days;
  base.portal.minute_prefetch = o.history_prefetch_minutes;
  base.pipeline_first_chunk = o.pipeline_first_chunk;
  base.pipeline_chunk = o.pipeline_chunk;
  for (const std::string& f : o.faults) base.faults.enable(f);
  base.faults.leak_bytes_per_day = o.leak_bytes_per_day;
  base.faults.spike_bytes = o.spike_bytes;
  if (!o.spike_date.empty()) base.faults.spike_date = Date::parse(o.spike_date);
  base.progress = !o.quiet;
  base.progress_interval = o.progress_interval;
  makeSlippage(base);  // an unknown model fails now, not in a worker

  std::vector<SimulationConfig> configs;
  if (o.sweep.empty()) {
    configs.push_back(base);
  } else {
    Sweep sweep = parseSweep(o.sweep);
    for (double v : sweep.values) {
      SimulationConfig c = base;
      c.params.set(sweep.name, v);
      c.label = fmt::format("{}={}", sweep.name, v);
      configs.push_back(std::move(c));
    }
  }
  uint32_t warmup = 0;
  for (const SimulationConfig& c : configs) {
    info.make(c.params);  // checks the parameters before anything runs
    warmup = std::max(warmup, info.warmup(c.params));
  }

  std::string path = o.bundle;
  if (path.empty()) {
    GeneratorConfig g;
    g.assets = o.assets ? o.assets : info.bundle_assets;
    Frequency f = o.bundle_frequency.empty() ? info.bundle_frequency : parseFrequency(o.bundle_frequency);
    g.minute_bars = f == Frequency::Minute;
    g.sessions = warmup + (o.days ? o.days : info.bundle_days);
    g.start = Date::parse(o.bundle_start);
    g.seed = o.seed;
    path = ensureGeneratedBundle(g, o.bundle_cache, o.quiet);
  }
  Bundle bundle(path);
  const TradingCalendar& calendar = bundle.calendar();

  Frequency frequency = bundle.hasMinuteBars() ? Frequency::Minute : Frequency::Daily;
  if (!o.data_frequency.empty()) frequency = parseFrequency(o.data_frequency);
  if (frequency == Frequency::Minute && !bundle.hasMinuteBars())
    throw EngineError(fmt::format("bundle {} has daily bars only", path));

  SessionRange run;
  run.begin =
      o.start.empty() ? std::min(warmup, bundle.sessionCount() - 1) : calendar.firstOnOrAfter(Date::parse(o.start));
  run.end =
      o.end.empty() ? bundle.sessionCount() : static_cast<uint32_t>(calendar.lastOnOrBefore(Date::parse(o.end)) + 1);
  if (o.days) run.end = std::min<uint64_t>(run.end, uint64_t{run.begin} + o.days);
  if (run.begin >= run.end)
    throw EngineError(fmt::format("no session to simulate: the bundle has sessions {} .. {}", calendar.session(0).str(),
                                  calendar.session(bundle.sessionCount() - 1).str()));
  if (base.faults.spike && base.faults.spike_date) {
    uint32_t s = calendar.firstOnOrAfter(*base.faults.spike_date);
    if (!run.contains(s))
      throw EngineError(fmt::format("--spike-date {} is outside the simulated sessions {} .. {}",
                                    base.faults.spike_date->str(), calendar.session(run.begin).str(),
                                    calendar.session(run.end - 1).str()));
  }
  for (SimulationConfig& c : configs) {
    c.run = run;
    c.frequency = frequency;
  }

  auto t0 = std::chrono::steady_clock::now();
  std::vector<RunResult> results = runAll(bundle, configs, o.workers);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (size_t i = 0; i < results.size(); ++i)
    printRun(configs[i], results[i], bundle, results.size() == 1 ? seconds : 0);
  if (results.size() > 1)
    fmt::print("{} runs in {:.2f} s with {} worker{}\n", results.size(), seconds,
               std::min<size_t>(o.workers, results.size()), o.workers > 1 ? "s" : "");
  if (!o.results.empty()) writeResults(o.results, bundle, configs, results);
  return 0;
}

}  // namespace tidemark::engine
