// What every dplb fuzz target shares: a reader that takes an input apart field by field (running
// out of bytes yields zeros, so every input is a valid program of operations), and FUZZ_CHECK,
// which prints the broken invariant and aborts: libFuzzer saves the input as a crash, and the
// replay tests (replay_main.cc) fail on it, in every build type (it is not assert()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define FUZZ_CHECK(cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "%s:%d: invariant broken: %s\n  ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                                             \
            std::fprintf(stderr, "\n");                                                    \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)

namespace dplb::fuzz {

// Whether the check called `name` is set aside: DPLB_FUZZ_SKIP=name[,name...]. For fuzzing on past an
// open bug whose reproducer waits in regressions/<target>/unfixed/; nothing sets it by default.
inline bool skipped(const char* name) {
    const char* env = std::getenv("DPLB_FUZZ_SKIP");
    if (!env) return false;
    const std::string list = std::string(",") + env + ",";
    return list.find(std::string(",") + name + ",") != std::string::npos;
}

class Reader {
public:
    Reader(const uint8_t* data, size_t size) : p_(data), left_(size) {}

    bool empty() const { return left_ == 0; }
    size_t left() const { return left_; }

    uint8_t u8() {
        if (!left_) return 0;
        left_--;
        return *p_++;
    }
    uint16_t u16() {  // big-endian, as the frames it sits between
        uint16_t hi = u8();
        return static_cast<uint16_t>(hi << 8 | u8());
    }
    // Up to `n` bytes (fewer at the end of the input); `got` is how many.
    const uint8_t* bytes(size_t n, size_t& got) {
        got = n < left_ ? n : left_;
        const uint8_t* at = p_;
        p_ += got;
        left_ -= got;
        return at;
    }
    std::string string(size_t n) {
        size_t got;
        const uint8_t* at = bytes(n, got);
        return std::string(reinterpret_cast<const char*>(at), got);
    }

private:
    const uint8_t* p_;
    size_t left_;
};

// The other side of Reader, for writing seeds (make_seeds.cc).
struct Writer {
    std::vector<uint8_t> out;

    void u8(uint8_t v) { out.push_back(v); }
    void u16(uint16_t v) {
        out.push_back(static_cast<uint8_t>(v >> 8));
        out.push_back(static_cast<uint8_t>(v));
    }
    void bytes(const std::vector<uint8_t>& b) { out.insert(out.end(), b.begin(), b.end()); }
};

}  // namespace dplb::fuzz
