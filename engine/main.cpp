// tidemark-engine: the bundled event-driven backtester (tidemark's demo, benchmark workload and
// ground truth for the analyzer).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "algo/strategy_registry.h"
#include "data/bar_generator.h"
#include "data/bundle.h"
#include "data/csv_importer.h"
#include "error.h"
#include "run/run_command.h"

using namespace tidemark::engine;

namespace {

int infoCommand(const std::string& path) {
  Bundle b(path);
  uint64_t traded = 0;
  for (uint32_t a = 0; a < b.assetCount(); ++a)
    for (uint32_t c : b.daily(Field::Close, assetId(a))) traded += c != 0;
  fmt::print("bundle {}\n", path);
  fmt::print("  {} assets, {} sessions {} .. {}, {} bars\n", b.assetCount(), b.sessionCount(),
             b.calendar().session(0).str(), b.calendar().session(b.sessionCount() - 1).str(),
             b.hasMinuteBars() ? "minute and daily" : "daily");
  fmt::print("  {} asset-sessions with trades, {:.1f} MiB, seed {}\n", traded, b.fileSize() / 1048576.0, b.seed());
  uint32_t shown = std::min(b.assetCount(), 5u);
  for (uint32_t a = 0; a < shown; ++a)
    fmt::print("  {:<6} sessions {} .. {}\n", b.symbol(assetId(a)),
               b.calendar().session(b.firstSession(assetId(a))).str(),
               b.calendar().session(b.lastSession(assetId(a))).str());
  if (shown < b.assetCount()) fmt::print("  ...\n");
  return 0;
}

int strategiesCommand() {
  for (const StrategyInfo& s : strategyRegistry()) {
    fmt::print("{}: {}\n", s.name, s.description);
    fmt::print("  generated bundle: {} assets, {} bars, {} sessions after the warm-up\n", s.bundle_assets,
               s.bundle_frequency == Frequency::Minute ? "minute" : "daily", s.bundle_days);
    for (const ParamSpec& p : s.params)
      fmt::print("  --param {:<26} {}\n", fmt::format("{}={}", p.name, p.default_value), p.help);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "tidemark-engine: an event-driven backtester (market data bundles, history cache, pipeline, "
      "orders, portfolio, metrics)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "tidemark-engine 0.1.0");

  GeneratorConfig gen;
  std::string gen_start = "2020-01-02", gen_frequency = "minute", output;
  auto* ingest = app.add_subcommand("ingest", "Generate a synthetic bundle (seeded, deterministic)");
  ingest->add_option("--assets", gen.assets, "Assets")->capture_default_str()->check(CLI::Range(1u, 200000u));
  ingest->add_option("--start", gen_start, "First day (the first trading day from here)")->capture_default_str();
  ingest->add_option("--days", gen.sessions, "Trading sessions")->capture_default_str()->check(CLI::Range(1u, 100000u));
  ingest->add_option("--seed", gen.seed, "Seed")->capture_default_str();
  ingest->add_option("--frequency", gen_frequency, "minute (minute and daily bars) or daily (daily bars only)")
      ->capture_default_str();
  ingest->add_option("-o,--output", output, "Bundle file to write")->required();

  std::string csv_dir;
  auto* ingest_csv = app.add_subcommand("ingest-csv", "Import a directory of per-asset OHLCV CSV files");
  ingest_csv->add_option("dir", csv_dir, "Directory of SYMBOL.csv files")->required();
  ingest_csv->add_option("-o,--output", output, "Bundle file to write")->required();

  std::string bundle_path;
  auto* info = app.add_subcommand("info", "Describe a bundle");
  info->add_option("bundle", bundle_path, "Bundle file")->required();

  auto* strategies = app.add_subcommand("strategies", "List the built-in strategies and their parameters");

  RunOptions run;
  auto* run_cmd = app.add_subcommand("run", "Run a backtest (generates a bundle when --bundle is not given)");
  addRunOptions(*run_cmd, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "tidemark-engine: " << e.what() << " (see tidemark-engine --help)\n";
    return 2;
  }
  try {
    if (*ingest) {
      gen.start = Date::parse(gen_start);
      gen.minute_bars = parseFrequency(gen_frequency) == Frequency::Minute;
      generateBundle(gen, output);
      fmt::print("wrote {}: {} assets x {} sessions of {} bars\n", output, gen.assets, gen.sessions,
                 gen.minute_bars ? "minute" : "daily");
      return 0;
    }
    if (*ingest_csv) {
      CsvImportReport r = importCsvDirectory(csv_dir, output);
      fmt::print("wrote {}: {} assets, {} sessions, {} {} bars{}\n", output, r.assets, r.sessions, r.bars,
                 r.minute_bars ? "minute" : "daily",
                 r.skipped_rows ? fmt::format(" ({} rows outside 09:30-16:00 skipped)", r.skipped_rows) : "");
      return 0;
    }
    if (*info) return infoCommand(bundle_path);
    if (*strategies) return strategiesCommand();
    if (*run_cmd) return runCommand(run);
  } catch (const EngineError& e) {
    std::cerr << "tidemark-engine: " << e.what() << '\n';
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "tidemark-engine: out of memory\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "tidemark-engine: internal error: " << e.what() << '\n';
    return 3;
  }
  return 0;
}
