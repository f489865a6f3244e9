#include "run/results.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "error.h"

namespace tidemark::engine {

namespace {

using nlohmann::json;

json money(Money m) { return m.dollars(); }
Money money(const json& j) { return Money::fromDollars(j.get<double>()); }

// NaN and infinities have no JSON form; a metric that is undefined is written as null.
json number(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }
double number(const json& j) { return j.is_null() ? NAN : j.get<double>(); }

json cacheJson(const HistoryCacheStats& s) {
  return {{"hits", s.hits},           {"misses", s.misses},         {"refreshes", s.refreshes},
          {"evictions", s.evictions}, {"peak_bytes", s.peak_bytes}, {"peak_assets", s.peak_assets}};
}

HistoryCacheStats cacheFromJson(const json& j) {
  HistoryCacheStats s;
  s.hits = j.at("hits");
  s.misses = j.at("misses");
  s.refreshes = j.at("refreshes");
  s.evictions = j.at("evictions");
  s.peak_bytes = j.at("peak_bytes");
  s.peak_assets = j.at("peak_assets");
  return s;
}

}  // namespace

json runResultJson(const RunResult& r) {
  const RunSummary& s = r.summary;
  json summary = {
      {"first_session", s.first.str()},
      {"last_session", s.last.str()},
      {"sessions", s.sessions},
      {"starting_value", money(s.starting_value)},
      {"final_value", money(s.final_value)},
      {"pnl", money(s.pnl)},
      {"commissions", money(s.commissions)},
      {"total_return", number(s.total_return)},
      {"sharpe", number(s.sharpe)},
      {"max_drawdown", number(s.max_drawdown)},
      {"annual_volatility", number(s.annual_volatility)},
      {"orders", s.orders},
      {"fills", s.fills},
      {"cancelled", s.cancelled},
      {"leaked_cycles", s.leaked_cycles},
      {"shares", s.shares},
      {"bar_events", s.bar_events},
      {"history_cache_daily", cacheJson(s.daily_cache)},
      {"history_cache_minute", cacheJson(s.minute_cache)},
      {"pipeline_chunks", s.pipeline_chunks},
      {"pipeline_peak_bytes", s.pipeline_peak_bytes},
      {"leaked_bytes", s.leaked_bytes},
      {"spike_bytes", s.spike_bytes},
  };
  json days = json::array();
  for (const DailyRecord& d : r.days)
    days.push_back({{"date", d.date.str()},
                    {"portfolio_value", money(d.portfolio_value)},
                    {"cash", money(d.cash)},
                    {"pnl", money(d.pnl)},
                    {"daily_return", number(d.daily_return)},
                    {"cumulative_return", number(d.cumulative_return)},
                    {"drawdown", number(d.drawdown)},
                    {"positions", d.positions},
                    {"orders", d.orders},
                    {"fills", d.fills}});
  return {{"label", r.label}, {"params", r.params}, {"summary", summary}, {"daily", days}};
}

RunResult runResultFromJson(const json& j) {
  try {
    RunResult r;
    r.label = j.at("label");
    r.params = j.at("params").get<std::map<std::string, double>>();
    const json& s = j.at("summary");
    RunSummary& o = r.summary;
    o.first = Date::parse(s.at("first_session").get<std::string>());
    o.last = Date::parse(s.at("last_session").get<std::string>());
    o.sessions = s.at("sessions");
    o.starting_value = money(s.at("starting_value"));
    o.final_value = money(s.at("final_value"));
    o.pnl = money(s.at("pnl"));
    o.commissions = money(s.at("commissions"));
    o.total_return = number(s.at("total_return"));
    o.sharpe = number(s.at("sharpe"));
    o.max_drawdown = number(s.at("max_drawdown"));
    o.annual_volatility = number(s.at("annual_volatility"));
    o.orders = s.at("orders");
    o.fills = s.at("fills");
    o.cancelled = s.at("cancelled");
    o.leaked_cycles = s.at("leaked_cycles");
    o.shares = s.at("shares");
    o.bar_events = s.at("bar_events");
    o.daily_cache = cacheFromJson(s.at("history_cache_daily"));
    o.minute_cache = cacheFromJson(s.at("history_cache_minute"));
    o.pipeline_chunks = s.at("pipeline_chunks");
    o.pipeline_peak_bytes = s.at("pipeline_peak_bytes");
    o.leaked_bytes = s.at("leaked_bytes");
    o.spike_bytes = s.at("spike_bytes");
    for (const json& d : j.at("daily")) {
      DailyRecord x;
      x.date = Date::parse(d.at("date").get<std::string>());
      x.portfolio_value = money(d.at("portfolio_value"));
      x.cash = money(d.at("cash"));
      x.pnl = money(d.at("pnl"));
      x.daily_return = number(d.at("daily_return"));
      x.cumulative_return = number(d.at("cumulative_return"));
      x.drawdown = number(d.at("drawdown"));
      x.positions = d.at("positions");
      x.orders = d.at("orders");
      x.fills = d.at("fills");
      r.days.push_back(x);
    }
    return r;
  } catch (const json::exception& e) {
    throw EngineError(fmt::format("malformed run result: {}", e.what()));
  }
}

json configJson(const SimulationConfig& c) {
  return {{"strategy", c.strategy},
          {"params", c.params.values()},
          {"seed", c.seed},
          {"capital", money(c.capital)},
          {"frequency", std::string(frequencyName(c.frequency))},
          {"slippage", makeSlippage(c)->describe()},
          {"commission_per_share", money(c.commission.per_share)},
          {"commission_min", money(c.commission.min_per_order)},
          {"history_cache_assets", c.portal.cache.max_assets},
          {"history_cache_bytes", c.portal.cache.max_bytes},
          {"history_prefetch_days", c.portal.daily_prefetch},
          {"history_prefetch_minutes", c.portal.minute_prefetch},
          {"pipeline_first_chunk", c.pipeline_first_chunk},
          {"pipeline_chunk", c.pipeline_chunk},
          {"faults", c.faults.enabledNames()}};
}

json bundleJson(const Bundle& b) {
  return {{"assets", b.assetCount()},
          {"sessions", b.sessionCount()},
          {"first_session", b.calendar().session(0).str()},
          {"last_session", b.calendar().session(b.sessionCount() - 1).str()},
          {"minute_bars", b.hasMinuteBars()},
          {"seed", b.seed()}};
}

json resultsDocument(const Bundle& bundle, const std::vector<SimulationConfig>& configs,
                     const std::vector<RunResult>& runs) {
  json out = {{"engine", "tidemark-engine 0.1.0"}, {"bundle", bundleJson(bundle)}, {"runs", json::array()}};
  for (size_t i = 0; i < runs.size(); ++i) {
    json run = runResultJson(runs[i]);
    run["config"] = configJson(configs[i]);
    out["runs"].push_back(std::move(run));
  }
  return out;
}

std::string resultsCsv(const std::vector<RunResult>& runs) {
  std::string out =
      "run,label,date,portfolio_value,cash,pnl,daily_return,cumulative_return,drawdown,positions,orders,fills\n";
  for (size_t i = 0; i < runs.size(); ++i)
    for (const DailyRecord& d : runs[i].days)
      out += fmt::format("{},{},{},{:.4f},{:.4f},{:.4f},{},{},{},{},{},{}\n", i, runs[i].label, d.date.str(),
                         d.portfolio_value.dollars(), d.cash.dollars(), d.pnl.dollars(), d.daily_return,
                         d.cumulative_return, d.drawdown, d.positions, d.orders, d.fills);
  return out;
}

void writeResults(const std::string& path, const Bundle& bundle, const std::vector<SimulationConfig>& configs,
                  const std::vector<RunResult>& runs) {
  std::string text;
  if (path.ends_with(".json"))
    text = resultsDocument(bundle, configs, runs).dump(1) + "\n";
  else if (path.ends_with(".csv"))
    text = resultsCsv(runs);
  else
    throw EngineError(fmt::format("--results {}: the name must end in .json or .csv", path));
  std::string temp = fmt::format("{}.tmp.{}", path, getpid());
  {
    std::ofstream f(temp, std::ios::binary);
    f << text;
    f.close();
    if (!f) {
      std::remove(temp.c_str());
      throw EngineError(fmt::format("cannot write {}", path));
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw EngineError(fmt::format("cannot write {}", path));
  }
}

}  // namespace tidemark::engine
