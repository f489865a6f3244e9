#include "progress_line.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

namespace tidemark {

namespace {
constexpr auto kQuietFor = std::chrono::seconds(2);
constexpr auto kRedrawEvery = std::chrono::milliseconds(200);
}  // namespace

ProgressLine::ProgressLine() : terminal_(isatty(STDERR_FILENO) == 1), start_(Clock::now()) { setProgress(this); }

ProgressLine::~ProgressLine() {
  end();
  setProgress(nullptr);
}

void ProgressLine::end() {
  if (drawn_) std::fputs("\r\x1b[K", stderr);
  drawn_ = false;
  start_ = Clock::now();
}

std::string ProgressLine::text(std::string_view what, double done, size_t columns) {
  std::string share = done >= 0 ? fmt::format(" {:.0f}%", 100 * std::min(done, 1.0)) : "";
  std::string line = "tidemark: " + std::string(what);
  size_t room = columns > share.size() + 1 ? columns - share.size() - 1 : 0;
  if (line.size() > room) line = room > 3 ? line.substr(0, room - 3) + "..." : line.substr(0, room);
  return line + share;
}

void ProgressLine::step(std::string_view what, double done) {
  if (!terminal_) return;
  Clock::time_point now = Clock::now();
  if (now - start_ < kQuietFor || (drawn_ && now - last_draw_ < kRedrawEvery)) return;
  winsize size{};
  size_t columns = ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col ? size.ws_col : 80;
  std::fprintf(stderr, "\r%s\x1b[K", text(what, done, columns).c_str());
  std::fflush(stderr);
  drawn_ = true;
  last_draw_ = now;
}

}  // namespace tidemark
