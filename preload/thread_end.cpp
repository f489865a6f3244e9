#include "thread_end.h"

#include <pthread.h>

namespace tidemark::preload {

namespace {

pthread_key_t g_key;
bool g_key_ready = false;
void (*g_release[4])() = {};
int g_release_count = 0;
__thread bool t_watched __attribute__((tls_model("initial-exec")));

void threadEnds(void*) {
  t_watched = false;
  for (int i = 0; i < g_release_count; ++i) g_release[i]();
  // A later key destructor that allocates gives this thread a stream again: watchThreadEnd then
  // sets the key again, and pthread runs this destructor once more (up to 4 rounds).
}

}  // namespace

void onThreadEnd(void (*release)()) {
  if (g_release_count < 4) g_release[g_release_count++] = release;
}

void initThreadEnd() { g_key_ready = pthread_key_create(&g_key, threadEnds) == 0; }

void watchThreadEnd() {
  if (t_watched || !g_key_ready) return;
  // Keys below PTHREAD_KEY_2NDLEVEL_SIZE (32) live in the thread descriptor: no allocation.
  t_watched = pthread_setspecific(g_key, reinterpret_cast<void*>(1)) == 0;
}

}  // namespace tidemark::preload
