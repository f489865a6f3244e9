#include "progress.h"

namespace tidemark {

namespace {
Progress* g_listener = nullptr;
}  // namespace

void setProgress(Progress* listener) { g_listener = listener; }

void reportProgress(std::string_view what, double done) {
  if (g_listener) g_listener->step(what, done);
}

void endProgress() {
  if (g_listener) g_listener->end();
}

}  // namespace tidemark
