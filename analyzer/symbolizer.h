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

#include "frame_text.h"
#include "replay.h"

namespace tidemark {

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
  // What the function's name says, worked out once by the Symbolizer that made the frame (every
  // stack of a Python process asks it of each of its frames): CPython starting itself
  // (startsInterpreter), and a native frame of CPython's eval loop, which ran Python frames.
  bool starts_interpreter = false;
  bool eval_loop = false;
  // A frame of importlib's machinery (a Python frame of "<frozen importlib._bootstrap...>"): what
  // the frames inside it allocate, an import makes (a module's body, an extension's init).
  bool imports = false;
};

// Frames show a path under the directory tidemark runs in relative to it ("src/bt.py"):
// the directory with its final '/' (empty when unknown), and a path as frames show it.
std::string workingDirectoryPrefix();
std::string pathAsShown(const std::string& path, const std::string& working_directory_prefix);

// An allocation site as every report names it: "function (file:line)", "function [module]"
// without debug info, or the function alone.
std::string siteName(const Frame& f);
// Where a frame is, short: "file.py:12" (the file's name without its directory), "" without a file.
std::string fileAndLine(const Frame& f);

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
  // The same into `out` (cleared first), for a caller that walks every stack with one buffer.
  void stack(const StackDef& def, bool interpreter_frames, std::vector<const Frame*>& out);

  // A frame made outside the Symbolizer ("<stack not recorded>"), given its grouping id.
  const Frame& placeholder(const std::string& function);

 private:
  struct Session;
  std::vector<Frame> resolve(uint32_t generation, uint64_t ip);
  Session* sessionFor(const ModuleInfo& m);

  // The frame of a Python frame node; installed_by_caller: the variant of run-time code called
  // from installed code (Frame::installed).
  const Frame& pythonFrame(const PythonFrameNode& node, bool installed_by_caller);
  // Sets what the Symbolizer works out once for each frame it makes: its id and its name's flags.
  void identify(Frame& f);

  const ReplayResult& run_;
  const std::map<uint32_t, std::vector<ModuleInfo>>& maps_;
  std::string interpreter_module_;  // the module holding the eval loop, if the process ran one
  std::map<std::pair<std::string, int64_t>, std::unique_ptr<Session>> sessions_;
  std::unordered_map<uint64_t, std::vector<Frame>> cache_;  // key: ip ^ generation << 56
  std::unordered_map<uint64_t, Frame> python_cache_[2];     // key: Frame::ip; [installed_by_caller]
  std::unordered_map<std::string, Frame> placeholders_;
  std::unordered_map<std::string, uint32_t> ids_;           // function, file and line -> Frame::id
  std::string cwd_;
  // A Python frame node with its frame and its caller's: made once per node, as its chain outward
  // is the same in every stack that has it; a stack then walks its Python frames by pointer (two
  // hash look-ups a frame took 15% of a pandas script's `summary`).
  struct PythonCall {
    const Frame* frame;
    const PythonFrameNode* node;
    const PythonCall* caller;  // nullptr: the outermost
  };
  const PythonCall* pythonCall(uint64_t frame_id);  // nullptr: no such node
  std::unordered_map<uint64_t, PythonCall> python_calls_;  // by frame id (node-based: pointers last)
  std::vector<std::pair<uint64_t, const PythonFrameNode*>> unresolved_;  // pythonCall's scratch
  std::vector<const PythonCall*> python_stack_;  // stack()'s scratch: innermost first
};

// CPython starting itself (Py_Initialize and the static functions that run it, named where the
// interpreter has debug information): what it allocates then is the interpreter's.
bool startsInterpreter(std::string_view function);

// Removes a trailing parameter list and qualifiers: "ns::f(int) const" -> "ns::f".
std::string withoutParameters(const std::string& demangled);
std::string demangle(const char* name);

}  // namespace tidemark
