// Loads the plugin 50 times; each time it allocates 100 bytes through it (kept) and 50 bytes
// (freed), then unloads it. Expect 5,000 bytes live in 50 blocks from pluginAllocate.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  for (int i = 0; i < 50; ++i) {
    void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      std::fprintf(stderr, "dlopen: %s\n", dlerror());
      return 1;
    }
    auto fn = reinterpret_cast<void* (*)(size_t)>(dlsym(lib, "pluginAllocate"));
    void* kept = fn(100);
    asm volatile("" : : "r"(kept) : "memory");
    free(fn(50));
    dlclose(lib);
  }
  std::printf("done\n");
  return 0;
}
