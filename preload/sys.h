// Raw system calls for the tracker. They never enter the hooked allocator or the hooked mmap,
// and never touch errno (the callers save and restore it around the whole hook anyway).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <ctime>
#include <cstdint>

namespace tidemark::preload::sys {

inline long raw(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0, long f = 0) {
  long ret;
  register long r10 asm("r10") = d;
  register long r8 asm("r8") = e;
  register long r9 asm("r9") = f;
  asm volatile("syscall"
               : "=a"(ret)
               : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return ret;  // -errno on failure
}

inline void* mmap(void* addr, size_t len, int prot, int flags, int fd, long off) {
  long r = raw(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
  return (r < 0 && r > -4096) ? nullptr : reinterpret_cast<void*>(r);
}
inline int munmap(void* addr, size_t len) { return (int)raw(SYS_munmap, (long)addr, (long)len); }
// The tracker's own memory is registered so that the heap scan never takes it for the program's
// roots (its tables hold the address of every live block).
void registerOwnMemory(const void* addr, size_t len);
void unregisterOwnMemory(const void* addr);
// Private zero-filled memory for the tracker's own tables, never from the tracked allocator.
// Null when the kernel refuses. `populate`: the caller writes all of it at once (the kernel
// fills the pages in one go rather than one fault at a time).
inline void* mapAnonymous(size_t len, bool populate = false) {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (populate ? MAP_POPULATE : 0),
                 -1, 0);
  if (p == MAP_FAILED) return nullptr;
  registerOwnMemory(p, len);
  return p;
}
inline void unmapAnonymous(void* addr, size_t len) {
  unregisterOwnMemory(addr);
  munmap(addr, len);
}
inline int open(const char* path, int flags, int mode = 0) {
  return (int)raw(SYS_openat, -100 /* AT_FDCWD */, (long)path, flags, mode);
}
inline int close(int fd) { return (int)raw(SYS_close, fd); }
inline long read(int fd, void* buf, size_t n) { return raw(SYS_read, fd, (long)buf, (long)n); }
inline long pread(int fd, void* buf, size_t n, long off) { return raw(SYS_pread64, fd, (long)buf, (long)n, off); }
inline long write(int fd, const void* buf, size_t n) { return raw(SYS_write, fd, (long)buf, (long)n); }
inline int fallocate(int fd, long off, long len) { return (int)raw(SYS_fallocate, fd, 0, off, len); }
inline int ftruncate(int fd, long len) { return (int)raw(SYS_ftruncate, fd, len); }
// Gives [off, off + len) of the file back to the disk (a hole that reads as zeros).
inline int punchHole(int fd, long off, long len) {
  return (int)raw(SYS_fallocate, fd, 0x01 | 0x02 /* FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE */, off, len);
}
// Faults a mapping's pages in for writing at once (MADV_POPULATE_WRITE, Linux 5.14; an error
// before, and the pages are faulted in one by one as they are written).
inline int populateForWriting(void* addr, size_t len) { return (int)raw(SYS_madvise, (long)addr, (long)len, 23); }
// A process-private futex: sleeps while *word == expected, at most `rel` (nullptr: no limit).
inline void futexWait(uint32_t* word, uint32_t expected, const struct timespec* rel) {
  raw(SYS_futex, (long)word, 128 /* FUTEX_WAIT_PRIVATE */, expected, (long)rel);
}
// Sleeps about ns nanoseconds (less when a signal comes).
inline void nap(long ns) {
  struct timespec t{0, ns};
  raw(SYS_nanosleep, (long)&t, 0);
}
inline void futexWake(uint32_t* word) { raw(SYS_futex, (long)word, 129 /* FUTEX_WAKE_PRIVATE */, 1); }
inline int rename(const char* a, const char* b) { return (int)raw(SYS_renameat, -100, (long)a, -100, (long)b); }
// -EEXIST when b exists (renameat2's RENAME_NOREPLACE).
inline int renameNoReplace(const char* a, const char* b) {
  return (int)raw(SYS_renameat2, -100, (long)a, -100, (long)b, 1 /* RENAME_NOREPLACE */);
}
inline long readlink(const char* path, char* buf, size_t n) { return raw(SYS_readlinkat, -100, (long)path, (long)buf, (long)n); }
inline long pwrite(int fd, const void* buf, size_t n, long off) { return raw(SYS_pwrite64, fd, (long)buf, (long)n, off); }
inline int fstat(int fd, struct stat* st) { return (int)raw(SYS_fstat, fd, (long)st); }
inline int fcntl(int fd, int cmd, long arg) { return (int)raw(SYS_fcntl, fd, cmd, arg); }
inline int getpid() { return (int)raw(SYS_getpid); }
inline int getppid() { return (int)raw(SYS_getppid); }
inline int gettid() { return (int)raw(SYS_gettid); }
// The calling thread's name (its comm, at most 15 characters and a NUL); false when unknown.
inline bool threadName(char (&name)[16]) { return raw(SYS_prctl, 16 /* PR_GET_NAME */, (long)name) == 0; }

// Moves one of the tracker's own descriptors to a high number, out of the way of a program that
// assumes which low numbers are free (dup2 onto 3, closing everything above 2): the lowest free
// number at or above 32 (the tracker's files) or 64 (libunwind's pipe) below the soft
// RLIMIT_NOFILE. Returns the new descriptor (close-on-exec), or fd itself when it cannot be moved.
enum class DescriptorUse { TrackerFile, LibunwindPipe };
int ownDescriptor(int fd, DescriptorUse use = DescriptorUse::TrackerFile);

// Monotonic/realtime clocks through the vDSO are fine (no allocation); kept here for one place.
uint64_t monotonicNs();
uint64_t realtimeNs();
uint64_t threadCpuNs();  // CPU time of the calling thread

// Writes "tidemark: <msg>\n" to stderr unless the tracker is quiet.
void message(const char* msg, const char* detail = nullptr);

}  // namespace tidemark::preload::sys
