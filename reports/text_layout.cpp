#include "text_layout.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace tidemark {

namespace {

// Template arguments this short stay: <int>, <double>, <char const*>, <3ul>.
constexpr size_t kKeptArguments = 12;

bool isOperatorSymbol(char c) { return c && std::strchr("<>=!+-*/%&|^~[]()", c) != nullptr; }

// Where each '<' that opens template arguments closes (npos when the name is not balanced), with
// the symbols of "operator<", "operator<<", "operator->" ... left out.
bool matchBrackets(std::string_view s, std::vector<size_t>& close, std::vector<bool>& is_operator) {
  close.assign(s.size(), std::string_view::npos);
  is_operator.assign(s.size(), false);
  std::vector<size_t> open;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 8, "operator") == 0 && (i == 0 || s[i - 1] == ':' || s[i - 1] == ' ')) {
      size_t j = i + 8;
      while (j < s.size() && j < i + 11 && isOperatorSymbol(s[j])) is_operator[j++] = true;
      i = j - 1;
      continue;
    }
    if (s[i] == '<') open.push_back(i);
    if (s[i] == '>') {
      if (open.empty()) return false;
      close[open.back()] = i;
      open.pop_back();
    }
  }
  return open.empty();
}

}  // namespace

std::string shortName(std::string_view function) {
  if (function.find('<') == std::string_view::npos) return std::string(function);
  std::vector<size_t> close;
  std::vector<bool> is_operator;
  if (!matchBrackets(function, close, is_operator)) return std::string(function);
  // The return type of a function template: everything before the last space outside brackets,
  // braces and parentheses, unless that space belongs to "operator new" and its kind.
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i < function.size(); ++i) {
    char c = function[i];
    if (is_operator[i]) continue;
    if (c == '<' || c == '(' || c == '{' || c == '[') ++depth;
    if (c == '>' || c == ')' || c == '}' || c == ']') --depth;
    bool after_operator = (i >= 8 && function.compare(i - 8, 8, "operator") == 0) || (i > 0 && is_operator[i - 1]);
    if (c == ' ' && depth == 0 && !after_operator) start = i + 1;
  }
  std::string out;
  for (size_t i = start; i < function.size(); ++i) {
    if (function[i] == '<' && !is_operator[i] && close[i] != std::string_view::npos && close[i] - i - 1 > kKeptArguments) {
      out += "<…>";
      i = close[i];
      continue;
    }
    out += function[i];
  }
  return out;
}

size_t columns(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

// A size or a time stays on one line with its unit: "75.6 MiB", "706 ms".
bool isUnit(std::string_view word) {
  for (std::string_view unit : {"B", "KiB", "MiB", "GiB", "TiB", "ns", "us", "ms", "s", "min", "h"})
    if (word == unit || (word.size() == unit.size() + 1 && word.substr(0, unit.size()) == unit && std::strchr(",;:).", word.back())))
      return true;
  return false;
}

}  // namespace

std::string wrapText(std::string_view text, size_t width, std::string_view first_indent, std::string_view next_indent) {
  // Words keep the spaces before them (aligned columns stay aligned); a line break eats them.
  struct Word {
    std::string_view gap, text;
  };
  std::vector<Word> words;
  for (size_t at = 0; at < text.size();) {
    size_t word_at = text.find_first_not_of(' ', at);
    if (word_at == std::string_view::npos) break;
    size_t word_end = std::min(text.find(' ', word_at), text.size());
    Word w{text.substr(at, word_at - at), text.substr(word_at, word_end - word_at)};
    if (!words.empty() && isUnit(w.text))  // glued to the number before it
      words.back().text = text.substr(words.back().text.data() - text.data(), word_end - (words.back().text.data() - text.data()));
    else
      words.push_back(w);
    at = word_end;
  }
  // A word longer than a whole line (a path) is cut after a '/' where it can be, else anywhere.
  const size_t room = width > columns(next_indent) + 10 ? width - columns(next_indent) : 10;
  std::vector<Word> pieces;
  for (Word word : words) {
    while (columns(word.text) > room) {
      size_t cut = 0, chars = 0;
      for (size_t i = 0; i < word.text.size() && chars < room; ++i) {
        if ((static_cast<unsigned char>(word.text[i]) & 0xC0) == 0x80) continue;
        ++chars;
        cut = i + 1;
        while (cut < word.text.size() && (static_cast<unsigned char>(word.text[cut]) & 0xC0) == 0x80) ++cut;
      }
      size_t slash = word.text.substr(0, cut).rfind('/');
      if (slash != std::string_view::npos && slash > room / 2) cut = slash + 1;
      pieces.push_back({word.gap, word.text.substr(0, cut)});
      word = {" ", word.text.substr(cut)};
    }
    pieces.push_back(word);
  }
  words = std::move(pieces);
  std::string out(first_indent);
  size_t line = columns(first_indent);
  bool line_empty = true;
  for (const Word& word : words) {
    size_t w = columns(word.text);
    if (!line_empty && line + word.gap.size() + w > width) {
      out += '\n';
      out += next_indent;
      line = columns(next_indent);
      line_empty = true;
    }
    if (!line_empty) {
      out += word.gap;
      line += word.gap.size();
    }
    out += word.text;
    line += w;
    line_empty = false;
  }
  return out + '\n';
}

std::string clipText(const std::string& text, size_t width) {
  if (columns(text) <= width) return text;
  // Columns to bytes: the prefix of width - 3 characters.
  size_t bytes = 0, chars = 0;
  while (bytes < text.size() && chars < width - 3) {
    ++bytes;
    while (bytes < text.size() && (static_cast<unsigned char>(text[bytes]) & 0xC0) == 0x80) ++bytes;
    ++chars;
  }
  return text.substr(0, bytes) + "...";
}

std::string fitLines(std::string_view text, size_t width) {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    size_t indent = line.find_first_not_of(' ');
    if (columns(line) <= width || indent == std::string_view::npos) {
      out += line;
      if (end != std::string_view::npos) out += '\n';
      continue;
    }
    // Continuation lines start under the value of a "label     value" line, else four columns in.
    size_t value = line.find("  ", indent);
    value = value == std::string_view::npos ? value : line.find_first_not_of(' ', value);
    std::string first(line.substr(0, indent));
    std::string next(value != std::string_view::npos && value <= 12 ? value : indent + 4, ' ');
    out += wrapText(line.substr(indent), width, first, next);
  }
  return out;
}

}  // namespace tidemark
