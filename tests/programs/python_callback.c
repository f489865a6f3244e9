/* A C library that starts a thread of its own (pthread, not Python's threading) and calls back
 * into Python from it: the callback's frames must show on that thread's stacks. Loaded by
 * python/workers.py with ctypes. */
#include <pthread.h>

typedef void (*callback)(int);

struct job {
  callback fn;
  int count;
};

static void* run(void* arg) {
  struct job* j = arg;
  for (int i = 0; i < j->count; ++i) j->fn(i);
  return 0;
}

/* Calls fn(0), ..., fn(count - 1) on a new thread and waits for it. */
int call_from_c_thread(callback fn, int count) {
  struct job j = {fn, count};
  pthread_t t;
  if (pthread_create(&t, 0, run, &j) != 0) return -1;
  return pthread_join(t, 0);
}
