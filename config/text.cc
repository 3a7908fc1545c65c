#include "text.h"

#include <cstdio>

namespace dplb {

namespace {

// Appends byte `c`, a control byte as \xNN.
void append_visible(std::string& out, unsigned char c) {
    static const char hex[] = "0123456789abcdef";
    if (c < 0x20 || c == 0x7f) {
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
    } else {
        out += static_cast<char>(c);
    }
}

}  // namespace

std::string double_quoted(const std::string& s, size_t max_shown) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size() && i < max_shown; i++) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') out += '\\';
        append_visible(out, c);
    }
    if (s.size() > max_shown) out += "...";
    return out + "\"";
}

std::string printable(const std::string& s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) append_visible(out, static_cast<unsigned char>(c));
    return out;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') out += '\\';
        if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
            continue;
        }
        out += ch;
    }
    return out + "\"";
}

}  // namespace dplb
