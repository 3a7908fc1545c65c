#include "command_line.h"

#include <sys/stat.h>
#include <unistd.h>

namespace dplb::config {

std::optional<std::vector<std::string>> split_command_line(const std::string& line) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (char c : line) {
        if (quote) {
            if (c == quote) quote = 0;
            else word += c;
        } else if (c == '"' || c == '\'') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t') {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (quote) return std::nullopt;
    if (in_word) words.push_back(std::move(word));
    return words;
}

std::string command_line_problem(const std::string& line, bool check_file) {
    auto words = split_command_line(line);
    if (!words) return "a quote is not closed";
    if (words->empty()) return "is empty";
    const std::string& prog = words->front();
    if (prog.empty() || prog[0] != '/') return "the program `" + prog + "` is not an absolute path";
    if (!check_file) return "";
    struct stat st{};
    if (stat(prog.c_str(), &st) != 0) return "the program `" + prog + "` does not exist";
    if (!S_ISREG(st.st_mode) || access(prog.c_str(), X_OK) != 0)
        return "the program `" + prog + "` is not an executable file";
    return "";
}

}  // namespace dplb::config
