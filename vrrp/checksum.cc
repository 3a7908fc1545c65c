#include "vrrp/checksum.h"

namespace dplb::vrrp {

uint32_t checksum_add(uint32_t sum, const uint8_t* data, size_t len) {
    size_t i = 0;
    for (; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (i < len) sum += static_cast<uint32_t>(data[i] << 8);
    return sum;
}

uint16_t checksum_finish(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

}  // namespace dplb::vrrp
