// A script's command line as keepalived reads one (vrrp_script `script`, notify_*): words separated
// by blanks, a word may be quoted with "..." or '...' to hold blanks. No shell: the first word is the
// program, run as it is, so it must be an absolute path. Shared by the loader (which checks the
// program) and the script runner (which executes the words).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dplb::config {

// The words of `line`; nullopt when a quote is not closed. Empty for a blank line.
std::optional<std::vector<std::string>> split_command_line(const std::string& line);

// Why `line` cannot be run as a script, or "" when it can: empty, an unclosed quote, a program that
// is not an absolute path; with `check_file`, also one that does not exist or is not executable here.
std::string command_line_problem(const std::string& line, bool check_file = true);

}  // namespace dplb::config
