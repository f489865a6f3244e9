#include "input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "error.h"

namespace tidemark {

namespace {

// O_NONBLOCK: opening a FIFO for reading does not wait for a writer; fstat then refuses it.
int openNonBlocking(const std::string& path) { return ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY); }

const char* kindOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

int openRegularFile(const std::string& path, const char* what, uint64_t& size) {
  int fd = openNonBlocking(path);
  if (fd < 0) throw Error(fmt::format("cannot open {} {}: {}", what, path, strerror(errno)));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    mode_t mode = st.st_mode;
    ::close(fd);
    throw Error(fmt::format("cannot read {} {}: it is {}, not a regular file", what, path, kindOf(mode)));
  }
  // Back to blocking reads: O_NONBLOCK means nothing for a regular file, but say what we mean.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  size = static_cast<uint64_t>(st.st_size);
  return fd;
}

std::string readRegularFile(const std::string& path, const char* what, uint64_t max_bytes) {
  uint64_t size = 0;
  int fd = openRegularFile(path, what, size);
  if (size > max_bytes) {
    ::close(fd);
    throw Error(fmt::format("cannot read {} {}: {} bytes, more than the {} a {} can be", what, path, size, max_bytes, what));
  }
  std::string text(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, text.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(done);
  return text;
}

int openRegularFileOrNone(const std::string& path) {
  int fd = openNonBlocking(path);
  if (fd < 0) return -1;
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace tidemark
