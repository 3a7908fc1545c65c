// The messages a configuration reader gives (the YAML loader's errors, the keepalived import's errors
// and warnings): each with the place it is about, listed in file order whatever order the checks
// found them in; messages about one place keep the order they were added in.
#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace dplb::config {

class Diagnostics {
public:
    // `line` and `col` only order the list; `text` is the whole message, its place included.
    void add(int line, int col, std::string text) { list_.push_back({line, col, std::move(text)}); }
    bool empty() const { return list_.empty(); }
    std::vector<std::string> in_file_order() const {
        std::vector<Entry> l = list_;
        std::stable_sort(l.begin(), l.end(), [](const Entry& a, const Entry& b) {
            return a.line != b.line ? a.line < b.line : a.col < b.col;
        });
        std::vector<std::string> out;
        for (Entry& e : l) out.push_back(std::move(e.text));
        return out;
    }

private:
    struct Entry {
        int line;
        int col;
        std::string text;
    };
    std::vector<Entry> list_;
};

}  // namespace dplb::config
