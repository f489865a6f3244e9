// Human units for sizes and times, used by every report.
#pragma once

#include <cstdint>
#include <string>

namespace tidemark {

std::string humanBytes(uint64_t bytes);      // "1.5 MiB", "512 B"
std::string groupedNumber(uint64_t n);       // "22,020,096"
std::string humanDuration(uint64_t ns);      // "2.31 s", "12 ms", "1 h 02 min"
std::string signalName(int sig);             // "SIGKILL"
std::string signedPercent(double percent);   // "+1.5%", "-0.3%"

}  // namespace tidemark
