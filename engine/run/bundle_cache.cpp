#include "run/bundle_cache.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "data/bundle.h"
#include "data/bundle_format.h"
#include "error.h"

namespace tidemark::engine {

std::string bundleCacheDir(const std::string& dir) {
  if (!dir.empty()) return dir;
  if (const char* e = std::getenv("TIDEMARK_ENGINE_CACHE"); e && *e) return e;
  if (const char* e = std::getenv("XDG_CACHE_HOME"); e && *e) return std::string(e) + "/tidemark";
  if (const char* e = std::getenv("HOME"); e && *e) return std::string(e) + "/.cache/tidemark";
  return "/tmp/tidemark-cache";
}

std::string generatedBundlePath(const GeneratorConfig& c, const std::string& dir) {
  return fmt::format("{}/synthetic-{}-{}assets-{}sessions-{}-seed{}-v{}.bundle", bundleCacheDir(dir),
                     c.minute_bars ? "minute" : "daily", c.assets, c.sessions, c.start.str(), c.seed, bundle::kVersion);
}

std::string ensureGeneratedBundle(const GeneratorConfig& config, const std::string& dir, bool quiet) {
  std::string path = generatedBundlePath(config, dir);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    try {
      Bundle check(path);
      return path;
    } catch (const EngineError&) {
      // Damaged (an interrupted copy, a disk error): generated again below.
    }
  }
  std::filesystem::create_directories(bundleCacheDir(dir), ec);
  if (ec) throw EngineError(fmt::format("cannot create the bundle cache {}: {}", bundleCacheDir(dir), ec.message()));
  if (!quiet)
    fmt::print(stderr, "tidemark-engine: generating {} assets x {} sessions of {} bars into {} (once)\n", config.assets,
               config.sessions, config.minute_bars ? "minute" : "daily", path);
  generateBundle(config, path);
  return path;
}

}  // namespace tidemark::engine
