// Python code objects as the trace records them (format::CodeObject), and the interpreter the
// process ran (format::Interpreter): what turns an interpreted frame into "function (file:line)".
#pragma once

#include <cstdint>
#include <string>

namespace tidemark {

struct CodeInfo {
  std::string function;  // the qualified name ("Broker.fill")
  std::string file;
  int first_line = 0;
  uint32_t line_table_format = 0;  // format::LineTableFormat
  std::string line_table;          // the interpreter's own encoding

  // The source line of an instruction (code units from the start of the bytecode); first_line
  // when the table does not say.
  int lineAt(uint64_t instruction) const;
};

struct InterpreterInfo {
  bool seen = false;
  std::string version;     // "3.11.2"
  bool frames = false;     // stacks carry its frames
  bool allocator = false;  // its own allocator (pymalloc's domains) is tracked
  uint64_t eval_loop = 0;  // address of its eval loop: its module is the interpreter's
  uint64_t found_late_ns = 0;  // found after the start (loaded with dlopen) at this time; 0: at the start
  uint64_t finalizing_ns = 0;  // seen finalizing (at exit) from this time on, frames no longer read; 0: never
  std::string problem;     // why frames are missing, empty when they are there
};

}  // namespace tidemark
