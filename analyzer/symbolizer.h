// Offline symbolization with elfutils libdwfl: an address in a module map becomes a chain of
// frames (inlined functions first), each with a demangled function name and file:line.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "replay.h"

namespace tidemark {

// A frame's text (a function's name, a file, a module), shared by every copy of the frame: the
// reports copy the frames of every stack they group, and a program of 100,000 deep stacks (a
// compiler) made gigabytes of copies of the same names. Reads as the std::string it holds.
class FrameText {
 public:
  FrameText() = default;
  FrameText(std::string text)  // NOLINT: a frame's text is given as any string
      : text_(text.empty() ? nullptr : std::make_shared<const std::string>(std::move(text))) {}
  FrameText(std::string_view text) : FrameText(std::string(text)) {}  // NOLINT
  FrameText(const char* text) : FrameText(std::string(text)) {}       // NOLINT

  const std::string& str() const { return text_ ? *text_ : kEmpty; }
  operator const std::string&() const { return str(); }  // NOLINT
  operator std::string_view() const { return str(); }    // NOLINT
  bool empty() const { return !text_; }
  size_t size() const { return str().size(); }
  const char* c_str() const { return str().c_str(); }
  size_t find(std::string_view what, size_t from = 0) const { return str().find(what, from); }
  size_t find(char what, size_t from = 0) const { return str().find(what, from); }
  size_t rfind(std::string_view what, size_t from = std::string::npos) const { return str().rfind(what, from); }
  size_t rfind(char what, size_t from = std::string::npos) const { return str().rfind(what, from); }
  std::string substr(size_t from, size_t count = std::string::npos) const { return str().substr(from, count); }
  int compare(size_t from, size_t count, std::string_view other) const { return str().compare(from, count, other); }
  char operator[](size_t i) const { return str()[i]; }
  std::string::const_iterator begin() const { return str().begin(); }
  std::string::const_iterator end() const { return str().end(); }

  friend bool operator==(const FrameText& a, const FrameText& b) { return a.str() == b.str(); }
  friend bool operator==(const FrameText& a, std::string_view b) { return a.str() == b; }
  friend bool operator==(const FrameText& a, const char* b) { return a.str() == b; }
  friend auto operator<=>(const FrameText& a, const FrameText& b) { return a.str() <=> b.str(); }
  friend std::string operator+(const std::string& a, const FrameText& b) { return a + b.str(); }
  friend std::string operator+(const FrameText& a, const std::string& b) { return a.str() + b; }
  friend std::string operator+(const char* a, const FrameText& b) { return a + b.str(); }
  friend std::string operator+(const FrameText& a, const char* b) { return a.str() + b; }

 private:
  static inline const std::string kEmpty;
  std::shared_ptr<const std::string> text_;
};

struct Frame {
  FrameText function;  // demangled, without its parameter list
  FrameText file;      // as the debug info says (relative for tidemark's own builds)
  int line = 0;
  FrameText module;    // path of the module
  uint64_t ip = 0;
  bool inlined = false;
  // The allocator, the C/C++ runtime (libc, libstdc++, the loader, by soname) or the standard
  // library's internals (std::, operator new): folded away by default. A library's own functions
  // (libsqlite3, libQuantLib, numpy) are not.
  bool library = false;
  // A frame of the interpreter's own native code (a Python process's libpython or python3
  // executable): library too, and left out of a Python stack's folded view.
  bool interpreter = false;
  bool interpreted = false;  // a Python frame: function is the code's qualified name
  // Code installed with Python rather than written for the program: a Python file of the standard
  // library or of an installed package, an extension module of one (numpy's). Code compiled at run
  // time ("<string>", numpy's "<__array_function__ internals>") belongs to its caller's side. A
  // Python allocation is named by the innermost frame of the program's own code (siteIndex).
  bool installed = false;
  // The same for frames with the same function, file and line, which fold into one site: what
  // stacks are grouped by (stack_groups.h). Given by the Symbolizer that made the frame.
  uint32_t id = 0;
};

// An allocation site as every report names it: "function (file:line)", "function [module]"
// without debug info, or the function alone.
std::string siteName(const Frame& f);

class Symbolizer {
 public:
  // Refers to run's module maps and code objects, which must outlive it.
  explicit Symbolizer(const ReplayResult& run);
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Frames for one return address, innermost (inlined) first.
  const std::vector<Frame>& frames(uint32_t generation, uint64_t return_address);
  // The whole stack, leaf first, inline frames expanded; in a Python process each native call of
  // the eval loop is replaced by the Python frames it ran (format::PythonStack), and the
  // interpreter's own native frames are left out of such a stack unless interpreter_frames. The
  // frames belong to the Symbolizer (a stack of a deep Python program has hundreds of them:
  // copied only where kept).
  std::vector<const Frame*> stack(const StackDef& def, bool interpreter_frames = true);

  // A frame made outside the Symbolizer ("<stack not recorded>"), given its grouping id.
  const Frame& placeholder(const std::string& function);

 private:
  struct Session;
  std::vector<Frame> resolve(uint32_t generation, uint64_t ip);
  Session* sessionFor(const ModuleInfo& m);

  // The frame of a Python frame node; installed_by_caller: the variant of run-time code called
  // from installed code (Frame::installed).
  const Frame& pythonFrame(const PythonFrameNode& node, bool installed_by_caller);
  uint32_t idOf(const Frame& f);

  const ReplayResult& run_;
  const std::map<uint32_t, std::vector<ModuleInfo>>& maps_;
  std::string interpreter_module_;  // the module holding the eval loop, if the process ran one
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Session>> sessions_;
  std::unordered_map<uint64_t, std::vector<Frame>> cache_;  // key: ip ^ generation << 56
  std::unordered_map<uint64_t, Frame> python_cache_[2];     // key: Frame::ip; [installed_by_caller]
  std::unordered_map<std::string, Frame> placeholders_;
  std::unordered_map<std::string, uint32_t> ids_;           // function, file and line -> Frame::id
  std::string cwd_;
};

// CPython starting itself (Py_Initialize and the static functions that run it, named where the
// interpreter has debug information): what it allocates then is the interpreter's.
bool startsInterpreter(std::string_view function);

// Removes a trailing parameter list and qualifiers: "ns::f(int) const" -> "ns::f".
std::string withoutParameters(const std::string& demangled);
std::string demangle(const char* name);

}  // namespace tidemark

template <>
struct fmt::formatter<tidemark::FrameText> : fmt::formatter<std::string_view> {
  auto format(const tidemark::FrameText& text, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(text.str()), ctx);
  }
};
