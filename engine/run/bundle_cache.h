// Bundles that `run` generates when it is given none: kept in a cache directory under a name that
// spells out their parameters, generated once and reused, so the demo is one command.
#pragma once

#include <string>

#include "data/bar_generator.h"

namespace tidemark::engine {

// The directory: `dir` if given, else $TIDEMARK_ENGINE_CACHE, $XDG_CACHE_HOME/tidemark,
// $HOME/.cache/tidemark, or /tmp/tidemark-cache.
std::string bundleCacheDir(const std::string& dir);
std::string generatedBundlePath(const GeneratorConfig& config, const std::string& dir);
// The cached bundle's path, generating it first if it is missing or unreadable.
std::string ensureGeneratedBundle(const GeneratorConfig& config, const std::string& dir, bool quiet);

}  // namespace tidemark::engine
