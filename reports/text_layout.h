// Text that people read in a terminal: lines that fit in 100 columns and C++ names short enough
// to read (the full name stays in JSON, in hover titles and under --full).
#pragma once

#include <string>
#include <string_view>

namespace tidemark {

inline constexpr size_t kTextColumns = 100;

// "void std::vector<Foo, std::allocator<Foo> >::_M_realloc_insert<Foo const&>" becomes
// "std::vector<…>::_M_realloc_insert<…>": the return type of a function template goes, and every
// template argument list longer than a few characters becomes "<…>". Namespaces, classes,
// "(anonymous namespace)" and lambdas keep their qualifiers. Names without templates pass as they are.
std::string shortName(std::string_view function);

// text broken at spaces into lines of at most `width` columns (a word longer than a line stays
// whole), the first line after `first_indent`, the others after `next_indent`; each line ends in '\n'.
std::string wrapText(std::string_view text, size_t width, std::string_view first_indent, std::string_view next_indent);

// Every line of text longer than `width` wrapped at spaces, its continuation lines indented four
// columns past the line's own indentation.
std::string fitLines(std::string_view text, size_t width);

// text cut to at most `width` columns, ending in "..." when cut (never inside a UTF-8 character).
std::string clipText(const std::string& text, size_t width);

// The columns a string takes in a terminal: UTF-8 characters, not bytes.
size_t columns(std::string_view text);

}  // namespace tidemark
