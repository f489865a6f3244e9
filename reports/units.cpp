#include "units.h"

#include <cstring>

#include <fmt/format.h>

namespace tidemark {

std::string humanBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.{}f} {}", v, v < 10 ? 2 : 1, kUnits[u]);
}

std::string groupedNumber(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string humanDuration(uint64_t ns) {
  double s = static_cast<double>(ns) / 1e9;
  if (s < 1) return fmt::format("{} ms", ns / 1000000);
  if (s < 120) return fmt::format("{:.2f} s", s);
  uint64_t total = static_cast<uint64_t>(s);
  if (total < 3600) return fmt::format("{} min {:02} s", total / 60, total % 60);
  return fmt::format("{} h {:02} min", total / 3600, (total / 60) % 60);
}

std::string signalName(int sig) {
  const char* abbrev = sigabbrev_np(sig);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

std::string signedPercent(double percent) { return fmt::format("{:+.1f}%", percent); }

}  // namespace tidemark
