/* tidemark/marker.h: tell the tidemark tracker where a program is (a simulation date, a phase).
 *
 * Header-only, C and C++. When the program runs under libtidemark_preload.so, each call writes a
 * Marker record into the trace, so timelines and findings can be read in simulation dates; when it
 * does not, a call costs one relaxed load and a branch. Nothing to link: the entry point is looked up
 * once with dlsym (glibc >= 2.34 has dlsym in libc; older ones need -ldl).
 *
 *   tidemark_mark(TIDEMARK_MARK_SIMULATION_DATE, "2024-03-15");
 *   tidemark_mark(TIDEMARK_MARK_PHASE_BEGIN, "pipeline-chunk");
 *
 * The text is copied (up to 255 bytes); the call does not allocate through malloc.
 */
#ifndef TIDEMARK_MARKER_H
#define TIDEMARK_MARKER_H

#include <dlfcn.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Must equal tidemark::format::MarkerKind. */
enum {
  TIDEMARK_MARK_TEXT = 0,
  TIDEMARK_MARK_SIMULATION_DATE = 1, /* text: the simulated date, YYYY-MM-DD */
  TIDEMARK_MARK_PHASE_BEGIN = 2,     /* text: the phase's name */
  TIDEMARK_MARK_PHASE_END = 3        /* text: the same name as its begin */
};

typedef void (*tidemark_marker_fn)(int kind, const char* text);

/* The preload's exported entry point (version 1 of this interface). */
#define TIDEMARK_MARKER_SYMBOL "tidemark_marker_v1"

static inline tidemark_marker_fn tidemark_marker_entry(void) {
  /* 0 = not looked up yet, 1 = looked up (fn may be null: no tracker). Races are benign: every
   * thread that looks it up finds the same answer. */
  static int looked_up;
  static tidemark_marker_fn fn;
  if (!__atomic_load_n(&looked_up, __ATOMIC_ACQUIRE)) {
    tidemark_marker_fn found = (tidemark_marker_fn)dlsym(RTLD_DEFAULT, TIDEMARK_MARKER_SYMBOL);
    __atomic_store_n(&fn, found, __ATOMIC_RELAXED);
    __atomic_store_n(&looked_up, 1, __ATOMIC_RELEASE);
  }
  return __atomic_load_n(&fn, __ATOMIC_RELAXED);
}

static inline void tidemark_mark(int kind, const char* text) {
  tidemark_marker_fn fn = tidemark_marker_entry();
  if (fn) fn(kind, text ? text : "");
}

#ifdef __cplusplus
}
#endif

#endif
