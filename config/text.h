// Quoting for the text dplb prints, shared by the config loader, the keepalived importer, dplbctl's
// listings and the VRRP planner's reports.
#pragma once

#include <cstddef>
#include <string>

namespace dplb {

// "..." with \" \\ and \xNN for control bytes: a YAML double-quoted scalar, also how error messages
// show what the operator wrote. Longer than `max_shown` bytes: cut, with "..." before the closing quote.
std::string double_quoted(const std::string& s, size_t max_shown = std::string::npos);

// `s` with every control byte (newlines included) as \xNN: a line of an error message that may quote
// bytes from the file (a key, a YAML parser message) cannot move the cursor, clear a terminal or end
// early at a NUL.
std::string printable(const std::string& s);

// A JSON string literal (RFC 8259): \" \\ and \u00NN for control characters.
std::string json_string(const std::string& s);

}  // namespace dplb
