// Writes the map of loaded modules (path, load bias, build-id, PT_LOAD segments) so that stacks
// can be symbolized offline. Written at start and again whenever a new stack is seen after the
// loader's add/remove counters moved (every dlopen/dlclose that matters shows up as new stacks).
#pragma once

#include <cstdint>

namespace tidemark::preload {

struct Stream;

// Returns the generation of the module map in force, writing a new one first when it changed.
uint32_t currentModuleMap(Stream& s);
void setExecutablePath(const char* path);
void resetModuleMapAfterFork();

}  // namespace tidemark::preload
