// The values of keepalived statements: numbers, timers and flags as keepalived reads them, each
// problem reported where it is written.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "keepalived/messages.h"
#include "keepalived/parser.h"

namespace dplb::config::keepalived {

// Decimal seconds as keepalived's <TIMER> takes them ("3", "0.5"), in microseconds.
std::optional<uint64_t> parse_timer(const std::string& s);

// Plain decimal 0..hi.
std::optional<uint32_t> parse_uint(const std::string& s, uint32_t hi);

// keepalived's <BOOL> words.
std::optional<bool> parse_bool(const std::string& s);

// Readers for the value of a statement; each reports its own problem and returns nullopt.
class Values {
public:
    explicit Values(Messages& msgs) : msgs_(msgs) {}

    const Word* one(const Stmt& s);
    std::optional<uint32_t> integer(const Stmt& s, uint32_t lo, uint32_t hi);
    // A <TIMER> in whole seconds: dplb counts seconds, so a fraction is rounded up, with a warning.
    std::optional<uint32_t> seconds(const Stmt& s, uint32_t lo, uint32_t hi);
    // The keyword alone means true, as keepalived takes it; or one <BOOL>.
    std::optional<bool> flag(const Stmt& s);
    // A keyword given twice in one block: keepalived keeps the last, and so does the import.
    void once(const Stmt& s, std::map<std::string, int>& seen);

private:
    Messages& msgs_;
};

}  // namespace dplb::config::keepalived
