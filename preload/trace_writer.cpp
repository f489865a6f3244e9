#include "trace_writer.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include <cerrno>
#include <cstring>

#include "spinlock.h"
#include "sys.h"
#include "thread_end.h"

namespace tidemark::preload {

using format::ChunkHeader;
using format::FileHeader;

namespace {

SpinLock g_pool_lock;   // the streams of ended threads
SpinLock g_ready_lock;  // the chunks made ready ahead

// Appends the decimal form of v at p; returns the end.
char* putDecimal(char* p, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) *p++ = tmp[--n];
  *p = '\0';
  return p;
}

// The host name (uname's nodename), NUL-terminated in out.
void hostName(char* out, size_t size) {
  struct utsname u {};
  if (sys::raw(SYS_uname, reinterpret_cast<long>(&u)) != 0) u.nodename[0] = '\0';
  size_t n = strnlen(u.nodename, sizeof u.nodename);
  if (n >= size) n = size - 1;
  memcpy(out, u.nodename, n);
  out[n] = '\0';
}

// Expands %p (the pid) and %h (the host) in pattern into out (at most size-1 chars). Returns
// whether %p occurred.
bool expandPattern(const char* pattern, uint64_t pid, const char* host, char* out, size_t size) {
  bool had_pid = false;
  char* o = out;
  char* limit = out + size - 80;
  for (const char* s = pattern; *s && o < limit; ++s) {
    if (s[0] == '%' && s[1] == 'p') {
      o = putDecimal(o, pid);
      had_pid = true;
      ++s;
    } else if (s[0] == '%' && s[1] == 'h') {
      for (const char* h = host; *h; ++h) *o++ = *h == '/' ? '_' : *h;
      ++s;
    } else {
      *o++ = *s;
    }
  }
  *o = '\0';
  return had_pid;
}

// Inserts ".<tag>" before the extension ".tmtrace" (or at the end): trace.tmtrace -> trace.42.tmtrace
void insertTag(char* path, size_t size, const char* tag) {
  size_t len = strlen(path);
  size_t tag_len = strlen(tag);
  if (len + tag_len + 2 >= size) return;
  static const char kExt[] = ".tmtrace";
  size_t ext_len = sizeof(kExt) - 1;
  size_t at = (len >= ext_len && strcmp(path + len - ext_len, kExt) == 0) ? len - ext_len : len;
  memmove(path + at + tag_len + 1, path + at, len - at + 1);
  path[at] = '.';
  memcpy(path + at + 1, tag, tag_len);
}

bool fileExists(const char* path) {
  int fd = sys::open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) sys::close(fd);
  return fd >= 0 || fd == -EACCES;
}

uint64_t existingTracePid(const char* path) {
  int fd = sys::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  FileHeader h{};
  long n = sys::pread(fd, &h, sizeof h, 0);
  sys::close(fd);
  if (n != static_cast<long>(sizeof h) || memcmp(h.magic, format::kMagic, sizeof h.magic) != 0) return 0;
  return h.pid;
}

}  // namespace

constinit TraceWriter g_trace_writer;

int TraceWriter::growFile(int fd, long offset, long len) {
  int rc = sys::fallocate(fd, offset, len);
  if (rc != -EOPNOTSUPP) return rc;
  // No fallocate (ext2, some network file systems): a sparse hole would be promised nothing, and a
  // store into it raises SIGBUS when the disk is full. Writing zeros makes the space real or fails.
  static const uint8_t kZeros[64 * 1024] = {};
  for (long done = 0; done < len;) {
    long n = sys::pwrite(fd, kZeros, static_cast<size_t>(len - done < long{sizeof kZeros} ? len - done : long{sizeof kZeros}),
                         offset + done);
    if (n <= 0) return n < 0 ? static_cast<int>(n) : -ENOSPC;
    done += n;
  }
  return 0;
}

bool TraceWriter::isTraceFile(int fd) const {
  struct stat st {};
  return sys::fstat(fd, &st) == 0 && st.st_dev == file_dev_ && st.st_ino == file_ino_;
}

int& TraceWriter::descriptor() {
  return private_tid_ && sys::gettid() == private_tid_ ? private_fd_ : fd_;
}

bool TraceWriter::usePrivateDescriptors(int keep) {
  if (fd_ < 0 || sys::raw(SYS_unshare, CLONE_FILES) != 0) return false;
  // Keep the trace and `keep`; drop this table's copies of everything else (a copy of the
  // program's pipe would hold it open).
  int kept[2] = {fd_ < keep ? fd_ : keep, fd_ < keep ? keep : fd_};
  unsigned from = 0;
  for (int k : kept) {
    if (k < 0) continue;
    if (static_cast<unsigned>(k) > from) sys::raw(SYS_close_range, from, static_cast<long>(k - 1), 0);
    from = static_cast<unsigned>(k) + 1;
  }
  if (sys::raw(SYS_close_range, from, ~0u, 0) != 0) {
    // No close_range (kernels before 5.9): one by one, up to the table's limit.
    rlimit limit{};
    long top = sys::raw(SYS_getrlimit, RLIMIT_NOFILE, reinterpret_cast<long>(&limit)) == 0 ? static_cast<long>(limit.rlim_cur) : 65536;
    for (long fd = from; fd < top && fd < (1 << 20); ++fd) sys::close(static_cast<int>(fd));
  }
  private_fd_ = fd_;
  __atomic_store_n(&private_tid_, sys::gettid(), __ATOMIC_RELEASE);
  return true;
}

bool TraceWriter::ownsDescriptor() {
  int& fd_slot = descriptor();
  if (isTraceFile(fd_slot)) return true;
  // Closed (close_range, a daemon closing everything) or replaced by dup2: the number is the
  // program's now, never touch it again. Reopen the trace itself if the path still leads there.
  LockGuard guard(g_pool_lock);
  if (isTraceFile(fd_slot)) return true;  // another thread did
  int fd = sys::open(path_, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  fd = sys::ownDescriptor(fd);
  if (!isTraceFile(fd)) {
    sys::close(fd);
    return false;
  }
  __atomic_store_n(&fd_slot, fd, __ATOMIC_RELEASE);
  return true;
}

int TraceWriter::openFile(const char* path) {
  // Owner-only: a trace holds the command line and the program's paths.
  int fd = sys::open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fd;
  fd_ = sys::ownDescriptor(fd);
  struct stat st {};
  int rc = sys::fstat(fd_, &st);
  if (rc == 0) {
    file_dev_ = st.st_dev;
    file_ino_ = st.st_ino;
    rc = growFile(fd_, 0, format::kHeaderSize);
  }
  void* h = rc == 0 ? sys::mmap(nullptr, format::kHeaderSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0) : nullptr;
  if (!h) {
    sys::close(fd_);
    fd_ = -1;
    return rc != 0 ? rc : -ENOMEM;
  }
  header_ = static_cast<FileHeader*>(h);
  return 0;
}

bool TraceWriter::open(const char* pattern, bool is_fork_child, uint64_t interval_ns, uint32_t flags, uint64_t sample_bytes) {
  uint64_t pid = static_cast<uint64_t>(sys::getpid());
  char pid_text[24];
  putDecimal(pid_text, pid);
  char host[64];
  hostName(host, sizeof host);
  bool had_pid = expandPattern(pattern, pid, host, path_, sizeof path_);
  if (!had_pid && is_fork_child) insertTag(path_, sizeof path_, pid_text);

  // Never overwrite another process's trace. The one case of an existing file with our own pid
  // is the image we were before exec(): keep it under a ".pre-exec" name and take the path.
  bool ok = false;
  int rc = 0;
  for (int attempt = 0; attempt < 4 && !ok; ++attempt) {
    rc = openFile(path_);
    if (rc == 0) {
      ok = true;
      break;
    }
    if (rc != -EEXIST) break;  // the directory is missing or not writable
    if (existingTracePid(path_) == pid) {
      replaced_traced_image_ = true;
      // A launcher that execs twice (a shell, then env) leaves one trace per image: never rename
      // onto an earlier one.
      char moved[sizeof path_];
      for (uint64_t k = 1; k < 64; ++k) {
        memcpy(moved, path_, sizeof moved);
        char tag[32] = "pre-exec";
        if (k > 1) putDecimal(tag + 8, k);
        insertTag(moved, sizeof moved, tag);
        int moved_rc = sys::renameNoReplace(path_, moved);
        if (moved_rc == -EINVAL && !fileExists(moved)) moved_rc = sys::rename(path_, moved);  // no RENAME_NOREPLACE here
        if (moved_rc != -EEXIST && moved_rc != -EINVAL) break;
      }
      continue;
    }
    if (strstr(path_, pid_text) != nullptr) {
      // A file named after our pid from an earlier run with the same pid: stale, replace it.
      char stale[sizeof path_];
      memcpy(stale, path_, sizeof stale);
      insertTag(stale, sizeof stale, "stale");
      sys::rename(path_, stale);
      continue;
    }
    insertTag(path_, sizeof path_, pid_text);
  }
  if (!ok) {
    // "path: reason"; strerrordesc_np returns a constant string, it never allocates.
    char detail[sizeof path_ + 80] = {};
    const char* reason = strerrordesc_np(-rc);
    size_t n = strlen(path_);
    memcpy(detail, path_, n);
    if (reason) {
      memcpy(detail + n, ": ", 2);
      strncat(detail + n + 2, reason, 76);
    }
    sys::message("cannot create the trace file, not tracking this process:", detail);
    return false;
  }

  start_ns_ = sys::monotonicNs();
  pid_ = pid;
  FileHeader& h = *header_;
  h.version = format::kVersion;
  h.header_size = format::kHeaderSize;
  h.chunk_size = chunk_size_;
  h.flags = flags;
  h.sample_bytes = sample_bytes;
  h.pid = pid;
  h.ppid = static_cast<uint64_t>(sys::getppid());
  h.start_realtime_ns = sys::realtimeNs();
  h.start_monotonic_ns = start_ns_;
  h.chunks_allocated = 0;
  h.sample_interval_ns = interval_ns;
  memcpy(h.host, host, sizeof h.host);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  memcpy(h.magic, format::kMagic, sizeof h.magic);
  __atomic_store_n(&active_, true, __ATOMIC_RELEASE);
  return true;
}

void TraceWriter::stop(format::StopReason why) {
  if (!__atomic_exchange_n(&active_, false, __ATOMIC_ACQ_REL)) return;
  header_->stopped_ns = sys::monotonicNs() - start_ns_;
  __atomic_store_n(&header_->stop_reason, static_cast<uint32_t>(why), __ATOMIC_RELEASE);
}

void TraceWriter::resetAfterFork() {
  // The parent's mappings stay mapped in the child but are never written again: every stream
  // sees a new generation, and the pooled streams (chunks of the parent's trace) are let go. The
  // parent keeps its file descriptor; ours is closed.
  if (fd_ >= 0) sys::close(fd_);
  fd_ = -1;
  private_tid_ = 0;  // the parent's sampler is not in the child; its table is not ours
  private_fd_ = -1;
  header_ = nullptr;
  for (uint32_t i = 0; i < stream_pool_size_; ++i) sys::munmap(stream_pool_[i].chunk, chunk_size_);
  stream_pool_size_ = 0;
  for (uint32_t i = 0; i < ready_count_; ++i) sys::munmap(ready_[i].chunk, chunk_size_);
  ready_count_ = 0;
  ready_closed_ = false;
  ready_taken_ = 0;
  seq_ = 1;
  next_stream_ = 1;
  ++generation_;
  active_ = false;
}

void TraceWriter::releaseStream(Stream& s) {
  if (s.chunk && s.generation == generation_) {
    LockGuard guard(g_pool_lock);
    if (stream_pool_size_ < kStreamPoolSize) {
      stream_pool_[stream_pool_size_++] = s;
      s.chunk = nullptr;
    }
  }
  if (s.chunk) sys::munmap(s.chunk, chunk_size_);
  s = Stream{};
}

void* TraceWriter::mapChunk(long& offset) {
  uint64_t index = __atomic_fetch_add(&header_->chunks_allocated, 1, __ATOMIC_RELAXED);
  offset = static_cast<long>(format::kHeaderSize + index * chunk_size_);
  // The program may close or replace every descriptor at any moment (close_range on another
  // thread, between our check and our use): a descriptor that went away meanwhile is found again
  // by its path and the chunk tried once more; a mapping is kept only if the descriptor still
  // led to the trace after it was made.
  void* p = nullptr;
  for (int attempt = 0; attempt < 2 && !p; ++attempt) {
    if (!ownsDescriptor()) {
      stop(format::StopReason::DescriptorLost);
      return nullptr;
    }
    const int fd = descriptor();
    int grown = growFile(fd, offset, chunk_size_);
    if (grown == -EBADF) continue;
    if (grown != 0) {
      stop(format::StopReason::FileFull);
      return nullptr;
    }
    p = sys::mmap(nullptr, chunk_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset);
    if (p && !isTraceFile(fd)) {
      sys::munmap(p, chunk_size_);
      p = nullptr;
    }
  }
  if (!p) stop(format::StopReason::MapFailed);
  return p;
}

void* TraceWriter::takeReadyChunk() {
  void* p = nullptr;
  {
    LockGuard guard(g_ready_lock);
    if (ready_count_) p = ready_[--ready_count_].chunk;
  }
  if (p && __atomic_exchange_n(&ready_taken_, 1, __ATOMIC_ACQ_REL) == 0) sys::futexWake(&ready_taken_);
  return p;
}

void TraceWriter::keepChunksReady(const timespec& pause) {
  const uint64_t deadline = sys::monotonicNs() + static_cast<uint64_t>(pause.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(pause.tv_nsec);
  for (;;) {
    __atomic_store_n(&ready_taken_, 0, __ATOMIC_RELEASE);
    for (;;) {
      {
        LockGuard guard(g_ready_lock);
        if (ready_closed_ || ready_count_ == kReadyChunks || !active() || !writesALot()) break;
      }
      long offset = 0;
      void* p = mapChunk(offset);
      if (!p) break;
      sys::populateForWriting(p, chunk_size_);
      // And written once per page (a zero where there is one; no thread has the chunk yet): on
      // this project's VMs the first store to a page costs about 4 us even once it is faulted in
      // (the hypervisor's, not the guest kernel's), once per process (docs/performance.md).
      for (uint32_t at = 0; at < chunk_size_; at += 4096) __atomic_store_n(static_cast<uint8_t*>(p) + at, 0, __ATOMIC_RELAXED);
      LockGuard guard(g_ready_lock);
      if (ready_closed_) {
        // Exit came meanwhile: unused, like the ones it gave back.
        sys::munmap(p, chunk_size_);
        sys::punchHole(descriptor(), offset, chunk_size_);
        break;
      }
      ready_[ready_count_++] = {p, offset};
    }
    const uint64_t now = sys::monotonicNs();
    if (now >= deadline) return;
    const timespec rest{static_cast<time_t>((deadline - now) / 1'000'000'000ull), static_cast<long>((deadline - now) % 1'000'000'000ull)};
    sys::futexWait(&ready_taken_, 0, &rest);
  }
}

void TraceWriter::releaseReadyChunks() {
  if (!header_) return;
  LockGuard guard(g_ready_lock);
  ready_closed_ = true;
  for (uint32_t i = 0; i < ready_count_; ++i) {
    sys::munmap(ready_[i].chunk, chunk_size_);
    if (ownsDescriptor()) sys::punchHole(descriptor(), ready_[i].offset, chunk_size_);
  }
  ready_count_ = 0;
}

bool TraceWriter::newChunk(Stream& s) {
  if (!active()) return false;
  void* p = takeReadyChunk();
  if (!p) {
    long offset = 0;
    p = mapChunk(offset);
    if (!p) return false;
    // A heavy writer fills the chunk: its pages faulted in at once rather than one fault each.
    if (writesALot()) sys::populateForWriting(p, chunk_size_);
  }
  if (s.chunk) sys::munmap(s.chunk, chunk_size_);
  auto* ch = static_cast<ChunkHeader*>(p);
  ch->stream_id = s.id;
  ch->stream_chunk = s.chunk_count++;
  ch->tid = static_cast<uint32_t>(sys::gettid());
  __atomic_store_n(&ch->magic, format::kChunkMagic, __ATOMIC_RELEASE);
  s.chunk = static_cast<uint8_t*>(p);
  s.pos = s.chunk + sizeof(ChunkHeader);
  s.end = s.chunk + chunk_size_;
  s.deltas = format::ChunkDeltas{};
  return true;
}

uint8_t* TraceWriter::mapAggregatePage(uint32_t page) {
  Stream s{};
  s.id = format::kAggregateStream;
  s.chunk_count = page;
  return newChunk(s) ? s.chunk : nullptr;
}

uint8_t* TraceWriter::reserveSlow(Stream& s, size_t size, uint64_t seq) {
  if (s.generation != generation_) {
    // First record of this thread (or first in a forked child): the stream of an ended thread,
    // or a new one.
    if (s.chunk && s.generation != 0 && s.generation != generation_) sys::munmap(s.chunk, chunk_size_);
    s = Stream{};
    {
      LockGuard guard(g_pool_lock);
      if (stream_pool_size_) s = stream_pool_[--stream_pool_size_];
    }
    if (!s.chunk) {
      s.generation = generation_;
      s.id = __atomic_fetch_add(&next_stream_, 1, __ATOMIC_RELAXED);
    }
    watchThreadEnd();
    if (!nameThread(s, seq)) return nullptr;
  }
  if (!s.chunk || static_cast<size_t>(s.end - s.pos) < size) {
    if (!newChunk(s)) return nullptr;
  }
  return s.pos;
}

bool TraceWriter::nameThread(Stream& s, uint64_t seq) {
  char name[16] = {};
  if (!sys::threadName(name)) name[0] = 0;
  name[sizeof name - 1] = 0;
  format::ThreadName record{.tid = static_cast<uint64_t>(sys::gettid()), .name = std::string_view(name, strnlen(name, sizeof name))};
  return writeRecord(s, seq, record);
}

}  // namespace tidemark::preload
