#include "lines.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string_view>
#include <tuple>

#include <fmt/format.h>

#include "display_text.h"
#include "error.h"
#include "units.h"

namespace tidemark {

namespace {

bool endsWithPart(const std::string& whole, const std::string& part, char separator) {
  if (whole == part) return true;
  return whole.size() > part.size() && whole.ends_with(part) && whole[whole.size() - part.size() - 1] == separator;
}

bool matchesFunction(const Frame& f, const std::string& function) {
  // "insert" finds "Cache::insert"; a frame's function may carry its parameters or a clone suffix.
  std::string name = f.function.substr(0, f.function.find('('));
  return endsWithPart(name, function, ':');
}

// Whether a file a trace names may be read as source code: one with a source extension, one under
// an include directory (C++'s <vector>), or a script ("#!", a Python program without ".py"). A
// trace is input like any other: one made to name ~/.ssh/id_rsa as its source must not copy that
// file into a report that may be passed on.
bool looksLikeSource(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  size_t dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) {
    if (path.find("/include/") != std::string::npos) return true;
    char start[2] = {};
    std::ifstream(path).read(start, 2);
    return start[0] == '#' && start[1] == '!';
  }
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const char* const kSource[] = {"c",   "cc",  "cpp", "cxx", "c++", "h",   "hh",  "hpp", "hxx", "h++", "inl",
                                        "ipp", "tcc", "tpp", "py",  "pyx", "pxd", "pxi", "pyi", "f",   "for", "f90",
                                        "f95", "f03", "rs",  "go",  "m",   "mm",  "s",   "cu",  "cuh", "java", "d"};
  for (const char* e : kSource)
    if (ext == e) return true;
  return false;
}

// The source file's lines, looked for as named, then under each source directory.
std::vector<std::string> readSource(const std::string& file, const std::vector<std::string>& source_dirs, std::string& found) {
  std::vector<std::string> candidates{file};
  if (!file.empty() && file[0] != '/')
    for (const std::string& dir : source_dirs) candidates.push_back((std::filesystem::path(dir) / file).string());
  for (const std::string& path : candidates) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec) || !looksLikeSource(path)) continue;
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(displayText(line));
    found = path;
    return lines;
  }
  return {};
}

void addGroup(SourceLine& line, uint32_t number, const StackGroup& g) {
  line.line = number;
  line.allocated_bytes += g.allocated_bytes;
  line.allocations += g.allocations;
  line.peak_bytes += g.peak_bytes;
  line.end_bytes += g.live_bytes;
}

}  // namespace

LineQuery parseLineQuery(const std::string& where) {
  if (where.empty()) throw Error("lines: WHERE is empty (a function, a file, or file:START-END)");
  LineQuery q;
  size_t colon = where.rfind(':');
  bool range = colon != std::string::npos && colon + 1 < where.size() && std::isdigit(static_cast<unsigned char>(where[colon + 1]));
  if (range) {
    std::string lines = where.substr(colon + 1);
    size_t dash = lines.find('-');
    try {
      size_t used = 0;
      unsigned long first = std::stoul(lines, &used);
      unsigned long last = first;
      if (dash != std::string::npos) last = std::stoul(lines.substr(dash + 1), &used);
      if (used == 0 || first == 0 || last < first || last > 10'000'000) throw std::invalid_argument("range");
      q.first_line = static_cast<uint32_t>(first);
      q.last_line = static_cast<uint32_t>(last);
    } catch (const std::exception&) {
      throw Error(fmt::format("lines: \"{}\" is not a range of lines (file.cpp:START-END, START >= 1)", lines));
    }
    q.file = where.substr(0, colon);
  } else if (where.find('/') != std::string::npos || where.find('.') != std::string::npos) {
    q.file = where;
  } else {
    q.function = where;
  }
  return q;
}

std::vector<LineReport> lineReports(const TraceAnalysis& analysis, const LineQuery& query,
                                    const std::vector<std::string>& source_dirs) {
  // The file as frames show it: a path the shell completed (absolute) finds its frames too.
  const std::string file = pathAsShown(query.file, workingDirectoryPrefix());
  // file -> line -> figures
  std::map<std::string, std::map<uint32_t, SourceLine>> files;
  for (const StackGroup& g : analysis.stackGroups(false)) {  // folding keeps every frame of the program's own code
    std::set<std::pair<std::string, uint32_t>> counted;
    for (const Frame& f : g.frames) {
      if (f.file.empty() || f.line <= 0) continue;
      const auto number = static_cast<uint32_t>(f.line);
      bool match = query.function.empty() ? endsWithPart(f.file, file, '/') : matchesFunction(f, query.function);
      if (!match || !counted.emplace(f.file, number).second) continue;
      if (query.first_line && (number < query.first_line || number > query.last_line)) continue;
      addGroup(files[f.file][number], number, g);
    }
  }
  if (files.empty())
    throw Error(query.function.empty()
                    ? fmt::format("lines: no allocation was made from {} (native code is found by its debug information)", query.file)
                    : fmt::format("lines: no allocation was made from a function named {} (native code is found by its debug "
                                  "information)",
                                  query.function));
  std::vector<LineReport> out;
  for (auto& [file, lines] : files) {
    LineReport r;
    r.file = file;
    r.function = query.function;
    std::vector<std::string> text = readSource(file, source_dirs, r.source_path);
    // A function shows every line from its first to its last, a range every line of it that the
    // file has; a whole file (or a range without its source), the lines with something to show.
    uint32_t first = lines.begin()->first, last = lines.rbegin()->first;
    bool every_line = !query.function.empty();
    if (query.first_line && !text.empty()) {
      every_line = true;
      first = query.first_line;
      last = std::max(last, std::min(query.last_line, static_cast<uint32_t>(text.size())));
    }
    for (uint32_t n = first; n <= last; ++n) {
      auto it = lines.find(n);
      if (it == lines.end() && !every_line) continue;
      SourceLine line;
      if (it != lines.end()) line = it->second;
      line.line = n;
      if (n <= text.size()) line.text = text[n - 1];
      r.lines.push_back(std::move(line));
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<LineReport> functionLineReports(const std::vector<StackGroup>& groups, size_t max_functions,
                                            const std::vector<std::string>& source_dirs) {
  using Key = std::pair<std::string, std::string>;  // function, file
  std::map<Key, std::map<uint32_t, SourceLine>> functions;
  for (const StackGroup& g : groups) {
    std::set<std::tuple<std::string_view, std::string_view, uint32_t>> seen;  // recursion counts a line once
    for (const Frame& f : g.frames) {
      if (f.file.empty() || f.line <= 0 || f.library) continue;
      const auto number = static_cast<uint32_t>(f.line);
      if (!seen.emplace(f.function, f.file, number).second) continue;
      addGroup(functions[{f.function, f.file}][number], number, g);
    }
  }
  std::vector<std::pair<uint64_t, const Key*>> ranked;
  for (const auto& [key, lines] : functions) {
    uint64_t bytes = 0;
    for (const auto& [number, line] : lines) bytes = std::max(bytes, line.allocated_bytes);
    ranked.emplace_back(bytes, &key);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first != b.first ? a.first > b.first : *a.second < *b.second; });
  if (ranked.size() > max_functions) ranked.resize(max_functions);
  std::map<std::string, std::pair<std::string, std::vector<std::string>>> sources;  // file -> where found, lines
  std::vector<LineReport> out;
  for (const auto& [bytes, key] : ranked) {
    const auto& lines = functions[*key];
    auto [source, fresh] = sources.try_emplace(key->second);
    if (fresh) source->second.second = readSource(key->second, source_dirs, source->second.first);
    const std::vector<std::string>& text = source->second.second;
    LineReport r{.file = key->second, .source_path = source->second.first, .function = key->first, .lines = {}};
    const uint32_t first = lines.begin()->first;
    const uint32_t last = std::min<uint32_t>(lines.rbegin()->first, first + kMaxFunctionSpan - 1);
    for (uint32_t n = first; n <= last; ++n) {
      auto it = lines.find(n);
      SourceLine line = it == lines.end() ? SourceLine{} : it->second;
      line.line = n;
      if (n <= text.size()) line.text = text[n - 1];
      r.lines.push_back(std::move(line));
    }
    out.push_back(std::move(r));
  }
  return out;
}

LineFigures lineFigures(const SourceLine& l) {
  auto bytes = [](uint64_t b) { return b ? humanBytes(b) : std::string("."); };
  return {bytes(l.allocated_bytes), l.allocations ? groupedNumber(l.allocations) : std::string("."), bytes(l.peak_bytes),
          bytes(l.end_bytes)};
}

std::string linesText(const std::vector<LineReport>& reports) {
  std::string out;
  for (const LineReport& r : reports) {
    out += fmt::format("{}{}{}\n", r.file, r.function.empty() ? "" : ", function " + r.function,
                       r.source_path.empty() ? " (source not found: pass --source-dir)" : "");
    out += "  bytes allocated from each line (calls made from it included), and how many of them were live at the\n"
           "  heap peak and at the end\n";
    out += fmt::format("  {:>6}  {:>10}  {:>9}  {:>10}  {:>10}  {}\n", "line", "allocated", "allocs", "at peak", "at end", "source");
    for (const SourceLine& l : r.lines) {
      LineFigures f = lineFigures(l);
      out += fmt::format("  {:>6}  {:>10}  {:>9}  {:>10}  {:>10}  {}\n", l.line, f.allocated, f.allocations, f.peak, f.end, l.text);
    }
  }
  return out;
}

nlohmann::json linesJson(const std::vector<LineReport>& reports) {
  nlohmann::json files = nlohmann::json::array();
  for (const LineReport& r : reports) {
    nlohmann::json lines = nlohmann::json::array();
    for (const SourceLine& l : r.lines)
      lines.push_back({{"line", l.line},
                       {"allocated_bytes", l.allocated_bytes},
                       {"allocations", l.allocations},
                       {"peak_bytes", l.peak_bytes},
                       {"end_bytes", l.end_bytes},
                       {"source", l.text}});
    files.push_back({{"file", r.file}, {"source_path", r.source_path}, {"function", r.function}, {"lines", lines}});
  }
  return {{"files", files}};
}

}  // namespace tidemark
