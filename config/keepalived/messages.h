// What the keepalived import says: errors and warnings with their lines, in file order, and the way it
// quotes what the operator wrote.
#pragma once

#include <algorithm>
#include <climits>
#include <string>
#include <utility>
#include <vector>

namespace dplb::config::keepalived {

class Messages {
public:
    explicit Messages(std::string file) : file_(std::move(file)) {}

    void error(int line, int col, const std::string& msg) {
        errors_.push_back({line, col, where(line) + ":" + std::to_string(col) + ": " + msg});
    }
    void warn(int line, const std::string& msg) { warnings_.push_back({line, 0, where(line) + ": " + msg}); }
    // About the file as a whole; listed after the others.
    void warn_file(const std::string& msg) { warnings_.push_back({INT_MAX, 0, file_ + ": " + msg}); }

    bool has_errors() const { return !errors_.empty(); }
    std::vector<std::string> errors() const { return sorted(errors_); }
    std::vector<std::string> warnings() const { return sorted(warnings_); }

private:
    struct Entry {
        int line;
        int col;
        std::string text;
    };
    std::string where(int line) const { return file_ + ":" + std::to_string(line); }
    // In file order, whatever order the walk found them in; same-place messages keep their order.
    static std::vector<std::string> sorted(std::vector<Entry> l) {
        std::stable_sort(l.begin(), l.end(), [](const Entry& a, const Entry& b) {
            return a.line != b.line ? a.line < b.line : a.col < b.col;
        });
        std::vector<std::string> out;
        for (const Entry& e : l) out.push_back(e.text);
        return out;
    }
    std::string file_;
    std::vector<Entry> errors_;
    std::vector<Entry> warnings_;
};

// A value as the operator wrote it, quoted so that spaces, empty strings and control characters show.
std::string q(const std::string& s);

// ASCII lower case, for keywords keepalived takes in any case.
std::string lower(std::string s);

}  // namespace dplb::config::keepalived
