// Line by line, as memory_profiler users know it, but exact and from the trace alone: for the
// source lines of a function, a file, or a range of a file, the bytes and allocations made from
// each line (calls made from the line included), the bytes those held at the heap peak and at the
// end. `tidemark lines TRACE WHERE`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analysis.h"

namespace tidemark {

// WHERE: a function ("main", "Cache::insert", matched whole or as the end of a qualified name), a
// file ("cache.cpp", matched as the end of a path), or a file and its lines ("cache.cpp:10-40").
struct LineQuery {
  std::string function, file;
  uint32_t first_line = 0, last_line = 0;  // 0: every line with something to show
};
// Throws Error on a malformed WHERE.
LineQuery parseLineQuery(const std::string& where);

struct SourceLine {
  uint32_t line = 0;
  uint64_t allocated_bytes = 0, allocations = 0, peak_bytes = 0, end_bytes = 0;
  std::string text;  // the source line, when the file was found
};

struct LineReport {
  std::string file;         // as the debug information names it
  std::string source_path;  // where its text was read; empty when not found
  std::string function;     // when the query named one
  std::vector<SourceLine> lines;
};

// Every file the query matches, its lines in order. A frame counts once per stack (recursion does
// not count a line twice). source_dirs: where to look for relative source paths (after the current
// directory). Throws Error when no frame matches.
std::vector<LineReport> lineReports(const TraceAnalysis& analysis, const LineQuery& query,
                                    const std::vector<std::string>& source_dirs);

// The functions of the program that allocated most (by bytes allocated from their lines), each
// with every line from its first to its last that allocated (at most kMaxFunctionSpan of them):
// the line view of a frame selected in the HTML report. Key: function and file, as a Frame names
// them.
constexpr size_t kMaxFunctionSpan = 400;
std::vector<LineReport> functionLineReports(const std::vector<StackGroup>& groups, size_t max_functions,
                                            const std::vector<std::string>& source_dirs);

// A line's figures as people read them ("9.54 MiB", "86"; "." for none), in the text and the HTML.
struct LineFigures {
  std::string allocated, allocations, peak, end;
};
LineFigures lineFigures(const SourceLine& line);

std::string linesText(const std::vector<LineReport>& reports);
nlohmann::json linesJson(const std::vector<LineReport>& reports);

}  // namespace tidemark
