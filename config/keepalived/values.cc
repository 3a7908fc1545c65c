#include "keepalived/values.h"

namespace dplb::config::keepalived {

std::optional<uint64_t> parse_timer(const std::string& s) {
    size_t i = 0;
    uint64_t whole = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        whole = whole * 10 + static_cast<uint64_t>(s[i++] - '0');
        if (whole > 100000000) return std::nullopt;
    }
    if (i == 0) return std::nullopt;
    uint64_t us = whole * 1000000;
    if (i < s.size()) {
        if (s[i++] != '.' || i == s.size()) return std::nullopt;
        uint64_t scale = 100000;
        for (; i < s.size(); i++) {
            if (s[i] < '0' || s[i] > '9') return std::nullopt;
            us += static_cast<uint64_t>(s[i] - '0') * scale;
            scale /= 10;
        }
    }
    return us;
}

std::optional<uint32_t> parse_uint(const std::string& s, uint32_t hi) {
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    uint64_t v = std::stoull(s);
    if (v > hi) return std::nullopt;
    return static_cast<uint32_t>(v);
}

std::optional<bool> parse_bool(const std::string& s) {
    const std::string l = lower(s);
    if (l == "on" || l == "true" || l == "yes") return true;
    if (l == "off" || l == "false" || l == "no") return false;
    return std::nullopt;
}

const Word* Values::one(const Stmt& s) {
    if (s.words.size() < 2) {
        msgs_.error(s.line(), s.kw().col, s.kw().text + ": missing value");
        return nullptr;
    }
    if (s.words.size() > 2) {
        msgs_.error(s.line(), s.words[2].col,
                    s.kw().text + ": expected one value, got " + std::to_string(s.words.size() - 1));
        return nullptr;
    }
    return &s.words[1];
}

std::optional<uint32_t> Values::integer(const Stmt& s, uint32_t lo, uint32_t hi) {
    const Word* w = one(s);
    if (!w) return std::nullopt;
    auto v = parse_uint(w->text, hi);
    if (!v || *v < lo) {
        msgs_.error(w->line, w->col,
                    s.kw().text + ": expected integer " + std::to_string(lo) + ".." + std::to_string(hi) +
                        ", got " + q(w->text));
        return std::nullopt;
    }
    return v;
}

std::optional<uint32_t> Values::seconds(const Stmt& s, uint32_t lo, uint32_t hi) {
    const Word* w = one(s);
    if (!w) return std::nullopt;
    auto us = parse_timer(w->text);
    std::optional<uint32_t> v;
    if (us) v = static_cast<uint32_t>((*us + 999999) / 1000000);
    if (!v || *v < lo || *v > hi) {
        msgs_.error(w->line, w->col,
                    s.kw().text + ": expected seconds " + std::to_string(lo) + ".." + std::to_string(hi) +
                        ", got " + q(w->text));
        return std::nullopt;
    }
    if (*us % 1000000)
        msgs_.warn(s.line(), s.kw().text + " " + w->text + ": rounded up to " + std::to_string(*v) + " second" +
                                 (*v == 1 ? "" : "s") + " (dplb counts whole seconds)");
    return v;
}

std::optional<bool> Values::flag(const Stmt& s) {
    if (s.words.size() == 1) return true;
    const Word* w = one(s);
    if (!w) return std::nullopt;
    auto b = parse_bool(w->text);
    if (!b)
        msgs_.error(w->line, w->col, s.kw().text + ": expected on, off, true, false, yes or no, got " + q(w->text));
    return b;
}

void Values::once(const Stmt& s, std::map<std::string, int>& seen) {
    auto [it, fresh] = seen.emplace(s.kw().text, s.line());
    if (!fresh) {
        msgs_.warn(s.line(),
                   s.kw().text + ": given again; this one replaces the one at " + msgs_.line_ref(it->second));
        it->second = s.line();
    }
}

}  // namespace dplb::config::keepalived
