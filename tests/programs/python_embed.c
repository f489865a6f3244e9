/* A C program that embeds CPython, linked with libpython ("linked") or loading it with dlopen
 * ("dlopen LIBPYTHON": an interpreter the tracker finds only after the program started), and runs
 * a script that keeps 30 bytearrays of 100,000 bytes at its line 3. Built by the e2e test against
 * the libpython it is given; declares the four functions it calls, so that it needs no headers. */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char kScript[] =
    "import time\n"
    "time.sleep(0.05)  # an interpreter loaded late is found within a sample interval\n"
    "kept = [bytearray(100_000) for _ in range(30)]\n"
    "print(len(kept))\n";

void Py_InitializeEx(int);
int PyRun_SimpleString(const char*);
int Py_FinalizeEx(void);

int main(int argc, char** argv) {
  void (*initialize)(int) = 0;
  int (*run)(const char*) = 0;
  int (*finalize)(void) = 0;
  if (argc >= 3 && strcmp(argv[1], "dlopen") == 0) {
    void* python = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
    if (!python) {
      fprintf(stderr, "%s\n", dlerror());
      return 2;
    }
    initialize = (void (*)(int))dlsym(python, "Py_InitializeEx");
    run = (int (*)(const char*))dlsym(python, "PyRun_SimpleString");
    finalize = (int (*)(void))dlsym(python, "Py_FinalizeEx");
  } else {
#ifdef LINKED
    initialize = Py_InitializeEx;
    run = PyRun_SimpleString;
    finalize = Py_FinalizeEx;
#endif
  }
  if (!initialize || !run || !finalize) return 2;
  initialize(0);
  int rc = run(kScript);
  return finalize() != 0 || rc != 0;
}
