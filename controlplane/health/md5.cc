// Straight from the RFC 1321 description: 64-byte blocks, four rounds of 16 operations on four
// 32-bit little-endian words, padding with 0x80, zeros and the bit length.
#include "md5.h"

#include <array>
#include <cmath>
#include <cstdint>

namespace dplb::health::detail {
namespace {

// Per-operation left-rotation amounts, four per round.
constexpr int kShift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

// K[i] = floor(2^32 * |sin(i + 1)|), computed once rather than typed in as a table.
std::array<uint32_t, 64> make_sine_table() {
    std::array<uint32_t, 64> k{};
    for (int i = 0; i < 64; ++i) {
        k[i] = static_cast<uint32_t>(std::floor(std::fabs(std::sin(i + 1.0)) * 4294967296.0));
    }
    return k;
}

uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

void process_block(std::array<uint32_t, 4>& state, const unsigned char* block) {
    static const std::array<uint32_t, 64> K = make_sine_table();
    uint32_t m[16];
    for (int i = 0; i < 16; ++i) {
        m[i] = uint32_t(block[4 * i]) | uint32_t(block[4 * i + 1]) << 8 | uint32_t(block[4 * i + 2]) << 16 |
               uint32_t(block[4 * i + 3]) << 24;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    for (int i = 0; i < 64; ++i) {
        const int round = i / 16;
        uint32_t f;
        int g;
        switch (round) {
            case 0: f = (b & c) | (~b & d); g = i; break;
            case 1: f = (d & b) | (~d & c); g = (5 * i + 1) % 16; break;
            case 2: f = b ^ c ^ d; g = (3 * i + 5) % 16; break;
            default: f = c ^ (b | ~d); g = (7 * i) % 16; break;
        }
        const uint32_t rotated = rotl(a + f + K[i] + m[g], kShift[round][i % 4]);
        a = d;
        d = c;
        c = b;
        b = b + rotated;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
}

}  // namespace

std::string md5_hex(std::string_view data) {
    std::array<uint32_t, 4> state = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
    size_t whole = data.size() / 64 * 64;
    for (size_t off = 0; off < whole; off += 64) process_block(state, bytes + off);

    // Tail + 0x80 + zeros up to 56 mod 64 + 64-bit little-endian bit count: one or two blocks.
    unsigned char tail[128] = {};
    size_t rest = data.size() - whole;
    for (size_t i = 0; i < rest; ++i) tail[i] = bytes[whole + i];
    tail[rest] = 0x80;
    size_t tail_len = rest < 56 ? 64 : 128;
    uint64_t bits = uint64_t(data.size()) * 8;
    for (int i = 0; i < 8; ++i) tail[tail_len - 8 + i] = static_cast<unsigned char>(bits >> (8 * i));
    for (size_t off = 0; off < tail_len; off += 64) process_block(state, tail + off);

    std::string hex;
    hex.reserve(32);
    static const char digits[] = "0123456789abcdef";
    for (uint32_t word : state) {
        for (int i = 0; i < 4; ++i) {
            unsigned byte = (word >> (8 * i)) & 0xff;
            hex += digits[byte >> 4];
            hex += digits[byte & 0xf];
        }
    }
    return hex;
}

}  // namespace dplb::health::detail
