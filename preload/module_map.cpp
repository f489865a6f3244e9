#include "module_map.h"

#include <elf.h>
#include <link.h>

#include <cstring>

#include "spinlock.h"
#include "trace_writer.h"

namespace tidemark::preload {

namespace {

SpinLock g_map_lock;
unsigned long long g_adds = 0, g_subs = 0;
uint32_t g_generation = 0;
char g_exe[4096];

struct Counters {
  unsigned long long adds = 0, subs = 0;
};

int readCounters(struct dl_phdr_info* info, size_t size, void* data) {
  auto* c = static_cast<Counters*>(data);
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    c->adds = info->dlpi_adds;
    c->subs = info->dlpi_subs;
  }
  return 1;  // the counters are the same in every entry: stop after the first
}

// Finds the GNU build-id note in the module's loaded PT_NOTE segments.
const uint8_t* buildId(const struct dl_phdr_info* info, uint32_t& len) {
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    auto* p = reinterpret_cast<const uint8_t*>(info->dlpi_addr + ph.p_vaddr);
    const uint8_t* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      auto* note = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const uint8_t* name = p + sizeof(ElfW(Nhdr));
      const uint8_t* desc = name + ((note->n_namesz + 3) & ~3u);
      const uint8_t* next = desc + ((note->n_descsz + 3) & ~3u);
      if (next > end) break;
      if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
          note->n_descsz <= 64) {
        len = note->n_descsz;
        return desc;
      }
      p = next;
    }
  }
  len = 0;
  return nullptr;
}

struct WriteContext {
  Stream* stream;
  uint32_t generation;
  uint32_t count;
  bool write;
};

int visitModule(struct dl_phdr_info* info, size_t, void* data) {
  auto* ctx = static_cast<WriteContext*>(data);
  ++ctx->count;
  if (!ctx->write) return 0;
  const char* path = (info->dlpi_name && info->dlpi_name[0]) ? info->dlpi_name : g_exe;
  size_t path_len = strnlen(path, 4000);
  uint32_t id_len = 0;
  const uint8_t* id = buildId(info, id_len);
  uint32_t loads = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) loads += info->dlpi_phdr[i].p_type == PT_LOAD;
  if (loads > 32) loads = 32;
  ElementRecordWriter r(*ctx->stream, writer().nextSeq(),
                        format::Module{.generation = ctx->generation,
                                       .load_bias = static_cast<int64_t>(info->dlpi_addr),
                                       .path = {path, path_len},
                                       .build_id = {reinterpret_cast<const char*>(id), id_len},
                                       .segment_count = loads});
  if (!r.ok()) return 1;
  uint32_t written = 0;
  for (int i = 0; i < info->dlpi_phnum && written < loads; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    r.add(format::ModuleSegment{.vaddr = ph.p_vaddr, .memsz = ph.p_memsz});
    ++written;
  }
  r.commit();
  return 0;
}

}  // namespace

void setExecutablePath(const char* path) {
  size_t n = strnlen(path, sizeof g_exe - 1);
  memcpy(g_exe, path, n);
  g_exe[n] = '\0';
}

uint32_t currentModuleMap(Stream& s) {
  Counters now;
  dl_iterate_phdr(readCounters, &now);
  if (__atomic_load_n(&g_generation, __ATOMIC_ACQUIRE) != 0 && now.adds == __atomic_load_n(&g_adds, __ATOMIC_RELAXED) &&
      now.subs == __atomic_load_n(&g_subs, __ATOMIC_RELAXED)) {
    return __atomic_load_n(&g_generation, __ATOMIC_ACQUIRE);
  }
  LockGuard guard(g_map_lock);
  dl_iterate_phdr(readCounters, &now);
  if (g_generation != 0 && now.adds == g_adds && now.subs == g_subs) return g_generation;
  uint32_t generation = g_generation + 1;
  WriteContext ctx{&s, generation, 0, false};
  dl_iterate_phdr(visitModule, &ctx);
  writeRecord(s, writer().nextSeq(), format::ModuleMapBegin{.generation = generation, .module_count = ctx.count});
  ctx.count = 0;
  ctx.write = true;
  dl_iterate_phdr(visitModule, &ctx);
  __atomic_store_n(&g_adds, now.adds, __ATOMIC_RELAXED);
  __atomic_store_n(&g_subs, now.subs, __ATOMIC_RELAXED);
  __atomic_store_n(&g_generation, generation, __ATOMIC_RELEASE);
  return generation;
}

void resetModuleMapAfterFork() {
  g_generation = 0;
  g_adds = g_subs = 0;
}

}  // namespace tidemark::preload
