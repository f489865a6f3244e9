// The text of a stack frame (a function's name, a file, a module), made once and shared by every
// copy of the frame.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <fmt/format.h>

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

}  // namespace tidemark

template <>
struct fmt::formatter<tidemark::FrameText> : fmt::formatter<std::string_view> {
  auto format(const tidemark::FrameText& text, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(text.str()), ctx);
  }
};
