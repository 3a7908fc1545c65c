#include "http_response.h"

#include <cctype>

namespace dplb::health::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Digits only; nullopt on anything else or on overflow, so a bogus length is ignored, not trusted.
std::optional<size_t> parse_size(std::string_view s) {
    if (s.empty() || s.size() > 15) return std::nullopt;
    size_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + size_t(c - '0');
    }
    return v;
}

}  // namespace

std::optional<HttpHead> parse_http_head(std::string_view head) {
    size_t eol = head.find('\n');
    std::string_view status_line = trim(head.substr(0, eol));
    // "HTTP/1.0 200 OK": version token, one space, three digits, then a space or the end.
    if (status_line.substr(0, 5) != "HTTP/") return std::nullopt;
    size_t sp = status_line.find(' ');
    if (sp == std::string_view::npos || status_line.size() < sp + 4) return std::nullopt;
    std::string_view code = status_line.substr(sp + 1, 3);
    if (status_line.size() > sp + 4 && status_line[sp + 4] != ' ') return std::nullopt;
    HttpHead out;
    for (char c : code) {
        if (c < '0' || c > '9') return std::nullopt;
        out.status = out.status * 10 + (c - '0');
    }

    while (eol != std::string_view::npos) {
        size_t start = eol + 1;
        eol = head.find('\n', start);
        std::string_view line = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        if (iequals(trim(line.substr(0, colon)), "content-length")) {
            out.content_length = parse_size(trim(line.substr(colon + 1)));
        }
    }
    return out;
}

}  // namespace dplb::health::detail
