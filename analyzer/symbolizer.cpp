#include "symbolizer.h"

#include "display_text.h"
#include "input_file.h"
#include "scope_index.h"
#include "tidemark/trace_format.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace tidemark {

namespace {

const Dwfl_Callbacks kCallbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = nullptr,
};

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// The C and C++ runtime, known by the library's name (its soname), not by the directory it is
// installed in: a program or a library under /usr/lib (cc1plus, libsqlite3, numpy) is the
// program's own code. GCC's OpenMP runtime (libgomp) is the compiler's, as libstdc++ is.
bool isRuntimeModule(const std::string& path) {
  std::string name = path.substr(path.rfind('/') + 1);
  static const char* const kRuntime[] = {"libc.so",     "libc-",        "libstdc++.so", "ld-linux",
                                         "libgcc_s.so", "libm.so",      "libpthread.so", "libdl.so",
                                         "librt.so",    "libunwind.so", "libgomp.so",    "libtidemark_preload",
                                         "linux-vdso"};
  for (const char* prefix : kRuntime)
    if (startsWith(name, prefix)) return true;
  return false;
}

bool isLibraryFunction(const std::string& f) {
  if (f == "_start") return true;  // the C runtime's entry point (crt1.o), linked into every executable
  static const char* const kPrefixes[] = {"std::",        "__gnu_cxx::",     "operator new", "operator delete",
                                          "__cxa_",       "__libc_",         "_dl_",         "__static_initialization",
                                          "_GLOBAL__sub", "__pthread",       "malloc",       "calloc",
                                          "realloc",      "aligned_alloc",   "posix_memalign", "memalign",
                                          "valloc",       "pvalloc",         "reallocarray", "void std::",
                                          "__new_allocator", "allocator_traits"};
  for (const char* p : kPrefixes)
    if (startsWith(f, p)) return true;
  return false;
}

// Source files of the standard library's headers (inlined into any program) and of glibc.
bool isLibraryFile(const std::string& file) {
  return startsWith(file, "/usr/include/") ||
         (startsWith(file, "/usr/lib/gcc/") && file.find("/include/") != std::string::npos) ||
         startsWith(file, "./") || startsWith(file, "../sysdeps") || startsWith(file, "../nptl");
}

// Where CPython's install scheme puts what comes with Python or is installed into it: the standard
// library in {prefix}/lib/python3.N/, packages in site-packages (dist-packages on Debian).
bool isInstalledPath(const std::string& path) {
  if (path.find("/site-packages/") != std::string::npos || path.find("/dist-packages/") != std::string::npos) return true;
  for (size_t at = path.find("/lib/python3."); at != std::string::npos; at = path.find("/lib/python3.", at + 1)) {
    size_t i = at + 13, digits = 0;
    while (i < path.size() && std::isdigit(static_cast<unsigned char>(path[i]))) ++i, ++digits;
    if (digits && i < path.size() && path[i] == '/') return true;
  }
  return false;
}

// Code without a symbol: its module's file name and the offset in it ("libfoo.so.1+0x1a2b"); the
// module's whole path is in Frame::module.
std::string unnamedFunction(const ModuleInfo& m, uint64_t addr) {
  return fmt::format("{}+0x{:x}", m.path.substr(m.path.rfind('/') + 1), addr - static_cast<uint64_t>(m.bias));
}

std::string dieName(Dwarf_Die* die) {
  Dwarf_Attribute attr;
  for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
    if (dwarf_attr_integrate(die, at, &attr)) {
      if (const char* s = dwarf_formstring(&attr)) return withoutParameters(demangle(s));
    }
  }
  if (dwarf_attr_integrate(die, DW_AT_name, &attr)) {
    if (const char* s = dwarf_formstring(&attr)) return s;
  }
  return "??";
}

}  // namespace

std::string demangle(const char* name) {
  int status = 0;
  char* out = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status == 0 && out) {
    std::string s(out);
    free(out);
    return s;
  }
  free(out);
  return name;
}

std::string withoutParameters(const std::string& demangled) {
  std::string s = demangled;
  for (const char* suffix : {" const", " volatile", " &&", " &", " noexcept"}) {
    size_t n = strlen(suffix);
    while (s.size() > n && s.compare(s.size() - n, n, suffix) == 0) s.resize(s.size() - n);
  }
  if (s.empty() || s.back() != ')') return s;
  int depth = 0;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] == ')') ++depth;
    else if (s[i] == '(' && --depth == 0) {
      // "operator()" keeps its own parentheses.
      if (i >= 8 && s.compare(i - 8, 8, "operator") == 0 && i + 1 < s.size() && s[i + 1] == ')') return s;
      return i > 0 ? s.substr(0, i) : s;
    }
  }
  return s;
}

// A module's function symbols sorted by address, for the code without debug information (numpy's
// and pandas' extension modules, stripped libraries): libdwfl's own look-up by address scans the
// whole symbol table each time, and a Python program's stacks pass through tens of thousands of
// such addresses.
class FunctionSymbols {
 public:
  explicit FunctionSymbols(Dwfl_Module* module) {
    int count = dwfl_module_getsymtab(module);
    for (int i = 1; i < count; ++i) {
      GElf_Sym sym;
      GElf_Addr addr = 0;
      GElf_Word section = 0;
      const char* name = dwfl_module_getsym_info(module, i, &sym, &addr, &section, nullptr, nullptr);
      int type = GELF_ST_TYPE(sym.st_info);
      if (!name || !*name || sym.st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC)) continue;
      int bind = GELF_ST_BIND(sym.st_info);
      symbols_.push_back({addr, sym.st_size, bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2, name});
    }
    // By address; at one address (aliases) a global name first, then a weak one, then a local one.
    std::sort(symbols_.begin(), symbols_.end(), [](const Symbol& a, const Symbol& b) {
      return a.start != b.start ? a.start < b.start : a.rank != b.rank ? a.rank < b.rank : std::strcmp(a.name, b.name) < 0;
    });
  }

  // The function containing addr (or, when the nearest symbol before it has no size, that one), or
  // nullptr.
  const char* nameAt(uint64_t addr) const {
    auto after = std::upper_bound(symbols_.begin(), symbols_.end(), addr, [](uint64_t a, const Symbol& s) { return a < s.start; });
    if (after == symbols_.begin()) return nullptr;
    auto last = std::prev(after);
    auto first = last;  // the first of the symbols at the nearest address below addr
    while (first != symbols_.begin() && std::prev(first)->start == last->start) --first;
    for (auto it = first; it != after; ++it)
      if (addr < it->start + it->size) return it->name;
    if (first->size == 0) return first->name;
    return nullptr;
  }

 private:
  struct Symbol {
    uint64_t start, size;
    int rank;  // 0 global, 1 weak, 2 local
    const char* name;  // in the module's string table, which lives as long as its Dwfl
  };
  std::vector<Symbol> symbols_;
};

struct Symbolizer::Session {
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;
  std::unordered_map<Dwarf_Off, std::unique_ptr<ScopeIndex>> cus;
  std::unique_ptr<FunctionSymbols> symbols;  // made on first use
  ~Session() {
    symbols.reset();
    if (dwfl) dwfl_end(dwfl);
  }
};

Symbolizer::Symbolizer(const ReplayResult& run) : run_(run), maps_(run.module_maps) {
  if (uint64_t eval = run.interpreter.eval_loop) {
    for (const auto& [generation, modules] : maps_)
      for (const ModuleInfo& m : modules)
        for (auto [lo, hi] : m.segments)
          if (eval >= lo && eval < hi) interpreter_module_ = m.path;
  }
  cwd_ = workingDirectoryPrefix();
}

std::string workingDirectoryPrefix() {
  char buf[4096];
  return getcwd(buf, sizeof buf) ? std::string(buf) + "/" : std::string();
}

std::string pathAsShown(const std::string& path, const std::string& working_directory_prefix) {
  return !working_directory_prefix.empty() && startsWith(path, working_directory_prefix.c_str())
             ? path.substr(working_directory_prefix.size())
             : path;
}

Symbolizer::~Symbolizer() = default;

Symbolizer::Session* Symbolizer::sessionFor(const ModuleInfo& m) {
  auto key = std::make_pair(m.path, m.bias);
  auto it = sessions_.find(key);
  if (it != sessions_.end()) return it->second.get();
  auto s = std::make_unique<Session>();
  // Only a regular file: a path in a hostile trace may name a FIFO or a device.
  if (int fd = openRegularFileOrNone(m.path); fd >= 0) {
    s->dwfl = dwfl_begin(&kCallbacks);
    if (s->dwfl) {
      dwfl_report_begin(s->dwfl);
      s->module = dwfl_report_elf(s->dwfl, m.path.c_str(), m.path.c_str(), fd, static_cast<GElf_Addr>(m.bias), false);
      dwfl_report_end(s->dwfl, nullptr, nullptr);
    } else {
      close(fd);
    }
  }
  return sessions_.emplace(key, std::move(s)).first->second.get();
}

std::vector<Frame> Symbolizer::resolve(uint32_t generation, uint64_t ip) {
  std::vector<Frame> out;
  const ModuleInfo* mod = nullptr;
  auto findIn = [&](const std::vector<ModuleInfo>& mods) {
    for (const ModuleInfo& m : mods)
      for (auto [lo, hi] : m.segments)
        if (ip >= lo && ip < hi) return &m;
    return static_cast<const ModuleInfo*>(nullptr);
  };
  // The map in force is the newest one at or before the stack's generation; fall back to the others.
  auto in_force = maps_.upper_bound(generation);
  if (in_force != maps_.begin()) mod = findIn(std::prev(in_force)->second);
  for (auto it = maps_.rbegin(); !mod && it != maps_.rend(); ++it) mod = findIn(it->second);
  Frame base;
  base.ip = ip;
  if (!mod) {
    base.function = fmt::format("0x{:x}", ip);
    out.push_back(base);
    return out;
  }
  base.module = mod->path;
  bool runtime_module = isRuntimeModule(mod->path);
  Session* s = sessionFor(*mod);
  uint64_t addr = ip - 1;  // a return address points after the call
  if (s->module) {
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(s->module, addr, &bias);
    std::string file;
    int line = 0;
    if (cu) {  // without a CU the nearest line entry belongs to other code
      if (Dwfl_Line* l = dwfl_module_getsrc(s->module, addr)) {
        if (const char* f = dwfl_lineinfo(l, nullptr, &line, nullptr, nullptr, nullptr)) file = f;
      }
    }
    if (cu) {
      // The function and inlined calls at the address, innermost first.
      auto& index = s->cus[dwarf_dieoffset(cu)];
      if (!index) index = std::make_unique<ScopeIndex>(cu);
      std::vector<Dwarf_Die> scopes = index->chainAt(addr - bias);
      int n = static_cast<int>(scopes.size());
      Dwarf_Files* files = nullptr;
      size_t nfiles = 0;
      dwarf_getsrcfiles(cu, &files, &nfiles);
      for (int i = 0; i < n; ++i) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
        Frame f = base;
        f.function = dieName(&scopes[i]);
        f.file = file;
        f.line = line;
        f.inlined = tag == DW_TAG_inlined_subroutine;
        out.push_back(f);
        if (tag == DW_TAG_subprogram) break;
        // The inlined call's site is the location within the caller.
        Dwarf_Attribute attr;
        Dwarf_Word value = 0;
        file.clear();
        line = 0;
        if (files && dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &value) == 0) {
          if (const char* f2 = dwarf_filesrc(files, value, nullptr, nullptr)) file = f2;
        }
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &value) == 0) line = static_cast<int>(value);
      }
      if (out.empty()) {  // the address is in no function of this CU: its line entry is not ours
        file.clear();
        line = 0;
      }
    }
    if (out.empty()) {
      if (!s->symbols) s->symbols = std::make_unique<FunctionSymbols>(s->module);
      const char* sym = s->symbols->nameAt(addr);
      Frame f = base;
      f.function = sym ? withoutParameters(demangle(sym)) : unnamedFunction(*mod, addr);
      f.file = file;
      f.line = line;
      out.push_back(f);
    }
  } else {
    base.function = unnamedFunction(*mod, addr);
    out.push_back(base);
  }
  const bool interpreter = !interpreter_module_.empty() && mod->path == interpreter_module_;
  for (Frame& f : out) {
    f.file = pathAsShown(f.file, cwd_);
    f.interpreter = interpreter;
    f.library = runtime_module || interpreter || isLibraryFunction(f.function) || isLibraryFile(f.file);
    f.installed = isInstalledPath(mod->path);
    // Names come from the program's files: shown to people and written to JSON, so made safe.
    f.function = displayText(f.function);
    f.file = displayText(f.file);
    f.module = displayText(f.module);
  }
  return out;
}

void Symbolizer::identify(Frame& f) {
  std::string key = fmt::format("{}\x1f{}\x1f{}", f.function, f.file, f.line);
  f.id = ids_.try_emplace(std::move(key), static_cast<uint32_t>(ids_.size() + 1)).first->second;
  f.starts_interpreter = startsInterpreter(f.function);
  f.eval_loop = !f.interpreted && startsWith(f.function, "_PyEval_EvalFrameDefault");
}

const std::vector<Frame>& Symbolizer::frames(uint32_t generation, uint64_t ip) {
  uint64_t key = ip ^ (static_cast<uint64_t>(generation) << 56);
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  std::vector<Frame> resolved = resolve(generation, ip);
  for (Frame& f : resolved) identify(f);
  return cache_.emplace(key, std::move(resolved)).first->second;
}

const Frame& Symbolizer::placeholder(const std::string& function) {
  auto [it, fresh] = placeholders_.try_emplace(function);
  if (fresh) {
    it->second.function = function;
    identify(it->second);
  }
  return it->second;
}

const Frame& Symbolizer::pythonFrame(const PythonFrameNode& node, bool installed_by_caller) {
  const uint64_t ip = kInterpretedFrame | node.code_id << 24 | static_cast<uint32_t>(node.line);
  auto [it, fresh] = python_cache_[installed_by_caller].try_emplace(ip);
  Frame& f = it->second;
  if (!fresh) return f;
  f.ip = ip;
  f.interpreted = true;
  f.line = node.line;
  auto code = run_.code_objects.find(node.code_id);
  if (code == run_.code_objects.end()) {
    f.function = fmt::format("<Python code {}>", node.code_id);
  } else {
    f.function = code->second.function;
    f.file = code->second.file;
    f.file = pathAsShown(f.file, cwd_);
    // The interpreter's own Python code, frozen into it (importlib's machinery, site, runpy):
    // folded like its native code, so an import is named by the line that imported.
    f.interpreter = f.library = startsWith(f.file, "<frozen ");
    f.imports = startsWith(f.file, "<frozen importlib._bootstrap");
    // Code compiled at run time ("<string>") is on the side of the Python code that runs it.
    f.installed = startsWith(f.file, "<") && !f.interpreter ? installed_by_caller : isInstalledPath(f.file);
  }
  identify(f);
  return f;
}

bool startsInterpreter(std::string_view function) {
  return function == "Py_InitializeFromConfig" || function == "Py_InitializeEx" || function == "Py_Initialize" ||
         function == "pymain_init" || function == "pyinit_main" || function == "init_interp_main";
}

std::vector<const Frame*> Symbolizer::stack(const StackDef& def, bool interpreter_frames) {
  std::vector<const Frame*> out;
  stack(def, interpreter_frames, out);
  return out;
}

void Symbolizer::stack(const StackDef& def, bool interpreter_frames, std::vector<const Frame*>& out) {
  out.clear();
  auto append = [&](const std::vector<Frame>& fs) {
    for (const Frame& f : fs) out.push_back(&f);
  };
  if (!def.python_frame) {
    for (uint64_t ip : def.frames) append(frames(def.generation, ip));
    return;
  }
  // The Python frames, innermost first (no more than a stack can hold).
  std::vector<const PythonCall*>& python = python_stack_;
  python.clear();
  for (const PythonCall* call = pythonCall(def.python_frame); call && python.size() < 4 * format::kMaxFrames;
       call = call->caller)
    python.push_back(call);
  const StackDef* native = run_.stack_defs.find(def.native);
  size_t next = 0;
  if (native) {
    for (uint64_t ip : native->frames) {
      const auto& fs = frames(def.generation, ip);
      // Each native call of the eval loop ran the Python frames up to the next entry frame.
      if (next < python.size() && !fs.empty() && fs.back().eval_loop) {
        do out.push_back(python[next]->frame);
        while (!python[next++]->node->entry && next < python.size());
        continue;
      }
      // Left out, the interpreter's frames still say when it was starting itself (stack_groups.h).
      if (interpreter_frames || fs.empty() || !fs.front().interpreter || fs.back().starts_interpreter) append(fs);
    }
  }
  // Calls whose native frame was not found (a native stack cut short): outermost, in order.
  for (; next < python.size(); ++next) out.push_back(python[next]->frame);
}

const Symbolizer::PythonCall* Symbolizer::pythonCall(uint64_t frame_id) {
  // The nodes not made yet, outward from this one, up to one that is (or the outermost, or a node
  // the trace does not have, or one met before: a damaged trace's loop; no more than a stack holds).
  unresolved_.clear();
  const PythonCall* caller = nullptr;
  for (uint64_t id = frame_id; id && unresolved_.size() < 4 * format::kMaxFrames;) {
    if (auto made = python_calls_.find(id); made != python_calls_.end()) {
      caller = &made->second;
      break;
    }
    auto node = run_.python_frames.find(id);
    if (node == run_.python_frames.end()) break;
    if (std::any_of(unresolved_.begin(), unresolved_.end(), [&](const auto& u) { return u.first == id; })) break;
    unresolved_.emplace_back(id, &node->second);
    id = node->second.parent;
  }
  // Made from the outermost in: each is called from installed code when its caller is installed.
  for (size_t i = unresolved_.size(); i-- > 0;) {
    const auto [id, node] = unresolved_[i];
    const Frame& frame = pythonFrame(*node, caller && caller->frame->installed);
    caller = &python_calls_.emplace(id, PythonCall{&frame, node, caller}).first->second;
  }
  return caller;
}

std::string fileAndLine(const Frame& f) {
  return f.file.empty() ? "" : fmt::format("{}:{}", f.file.substr(f.file.rfind('/') + 1), f.line);
}

std::string siteName(const Frame& f) {
  if (!f.file.empty()) return fmt::format("{} ({}:{})", f.function, f.file, f.line);
  if (!f.module.empty()) return fmt::format("{} [{}]", f.function, f.module);
  return f.function;
}

}  // namespace tidemark
