#include "live_status.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "input_file.h"
#include "tidemark/trace_format.h"

namespace tidemark {

LiveStatus readLiveStatus(const std::vector<std::string>& traces, uint64_t now_realtime_ns) {
  LiveStatus out;
  struct Latest {
    uint64_t end_realtime_ns, rss, heap;
    bool running;
  };
  std::vector<Latest> latest;
  uint64_t first_start = 0, last_end = 0;
  bool full_log = false;
  for (const std::string& path : traces) {
    int fd = openRegularFileOrNone(path);
    if (fd < 0) continue;
    format::FileHeader h{};
    struct stat st {};
    bool read = ::pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h) && ::fstat(fd, &st) == 0;
    ::close(fd);
    if (!read || memcmp(h.magic, format::kMagic, sizeof h.magic) != 0) continue;
    ++out.processes;
    out.trace_bytes += static_cast<uint64_t>(st.st_size);
    out.peak_rss = std::max(out.peak_rss, h.peak_rss);
    first_start = first_start ? std::min(first_start, h.start_realtime_ns) : h.start_realtime_ns;
    if (!h.last_sample_ns) continue;
    out.sampled = true;
    full_log = full_log || !(h.flags & format::kFlagAggregate);
    uint64_t end = h.start_realtime_ns + h.last_sample_ns;
    last_end = std::max(last_end, end);
    bool running = sampledLately(h, now_realtime_ns);
    out.running += running;
    latest.push_back({end, h.last_rss, h.last_heap, running});
    h.last_date[sizeof h.last_date - 1] = '\0';
    std::string date(h.last_date);
    if (date > out.last_date) out.last_date = date;  // ISO dates order as text
  }
  // Running processes coexist: their figures add up. Once none runs, the last to end stands for
  // the run (the others' last samples were taken at other moments: their sum never existed).
  const Latest* last = nullptr;
  for (const Latest& l : latest) {
    if (l.running) {
      out.rss += l.rss;
      out.heap += l.heap;
    }
    if (!last || l.end_realtime_ns > last->end_realtime_ns) last = &l;
  }
  if (!out.running && last) {
    out.rss = last->rss;
    out.heap = last->heap;
  }
  out.heap_known = out.sampled && !full_log;
  if (!out.heap_known) out.heap = 0;
  if (first_start) out.elapsed_ns = (out.running ? std::max(now_realtime_ns, first_start) : std::max(last_end, first_start)) - first_start;
  return out;
}

}  // namespace tidemark
