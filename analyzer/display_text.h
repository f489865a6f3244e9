// Text from a trace (a program's file names, function names, argv, markers) shown to a person or
// put in JSON: any byte string can arrive, Latin-1 paths and terminal escapes included.
#pragma once

#include <string>
#include <string_view>

namespace tidemark {

// Valid UTF-8 kept; each invalid byte becomes U+FFFD; control characters (C0 but tab, DEL, C1)
// become '?', so that nothing from a trace can move a terminal's cursor or break a JSON or XML
// writer.
std::string displayText(std::string_view bytes);

// The longest prefix of text of at most max_bytes that does not end inside a UTF-8 character.
std::string_view utf8Prefix(std::string_view text, size_t max_bytes);

}  // namespace tidemark
