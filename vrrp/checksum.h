// The Internet checksum (RFC 1071): ones' complement sum of 16-bit words, used by VRRP (RFC 3768
// §5.3.8, RFC 5798 §5.2.8), IPv4 headers and ICMPv6.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dplb::vrrp {

// Adds `len` bytes to a running 32-bit sum (big-endian words; an odd last byte is padded with zero).
// Chain calls over pieces whose lengths are even except the last.
uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t len);

// Folds the carries and complements: the value to store in a header, in host order.
uint16_t checksum_finish(uint32_t sum);

}  // namespace dplb::vrrp
