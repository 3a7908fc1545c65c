// What the keepalived import says: errors and warnings with their lines, in file order, and the way it
// quotes what the operator wrote.
#pragma once

#include <climits>
#include <string>
#include <utility>
#include <vector>

#include "diagnostics.h"

namespace dplb::config::keepalived {

// Where a line of the text the lexer reads came from: a file (an index in the list of files read) and
// its line there. Includes and multi-line $NAME definitions make the two differ.
struct Origin {
    int file = 0;
    int line = 0;
};

class Messages {
public:
    explicit Messages(std::string file) : file_(std::move(file)) {}

    // `line` is a line of the text the lexer reads; it is printed as the file and line it came from.
    void error(int line, int col, const std::string& msg) {
        errors_.add(line, col, where(line) + ":" + std::to_string(col) + ": " + msg);
    }
    void warn(int line, const std::string& msg) { warnings_.add(line, 0, where(line) + ": " + msg); }
    // While the files are read, before there is a text to point into: FILE:LINE given as such, sorted
    // as line `order` of the text.
    void error_in(const std::string& file, int line, int col, int order, const std::string& msg) {
        errors_.add(order, col, file + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
    }
    void warn_in(const std::string& file, int line, int order, const std::string& msg) {
        warnings_.add(order, 0, file + ":" + std::to_string(line) + ": " + msg);
    }
    // The origin of every line of the text (origins[0] is line 1) and the files they name.
    void set_origins(std::vector<std::string> files, std::vector<Origin> origins) {
        files_ = std::move(files);
        origins_ = std::move(origins);
    }
    // "FILE:LINE" of a line of the text.
    std::string where(int line) const {
        if (line >= 1 && static_cast<size_t>(line) <= origins_.size()) {
            const Origin& o = origins_[line - 1];
            return files_[o.file] + ":" + std::to_string(o.line);
        }
        return file_ + ":" + std::to_string(line);
    }
    // A line of the text, for "... at line 12": "line 12" in the main file, "FILE:12" in another.
    std::string line_ref(int line) const {
        if (line >= 1 && static_cast<size_t>(line) <= origins_.size() && origins_[line - 1].file != 0)
            return where(line);
        const int l = line >= 1 && static_cast<size_t>(line) <= origins_.size() ? origins_[line - 1].line : line;
        return "line " + std::to_string(l);
    }
    // About the file as a whole; listed after the others.
    void warn_file(const std::string& msg) { warnings_.add(INT_MAX, 0, file_ + ": " + msg); }

    bool has_errors() const { return !errors_.empty(); }
    std::vector<std::string> errors() const { return errors_.in_file_order(); }
    std::vector<std::string> warnings() const { return warnings_.in_file_order(); }

private:
    std::string file_;
    std::vector<std::string> files_;
    std::vector<Origin> origins_;
    Diagnostics errors_;
    Diagnostics warnings_;
};

// A value as the operator wrote it, quoted so that spaces, empty strings and control characters show.
std::string q(const std::string& s);

// ASCII lower case, for keywords keepalived takes in any case.
std::string lower(std::string s);

}  // namespace dplb::config::keepalived
