// Test helper: the in-use real of a snapshot with a given address.
#pragma once

#include <cstddef>
#include <cstdint>

#include "snapshot.h"

namespace dplb {

// The first in-use Dest whose ip is `ip` (id into *id_out when given); nullptr when none.
inline const Dest* find(const Snapshot& s, const char* ip, uint16_t* id_out = nullptr) {
    for (size_t i = 0; i < s.dests.size(); i++)
        if (s.dests[i].in_use && s.dests[i].ip == *IpAddr::parse(ip)) {
            if (id_out) *id_out = static_cast<uint16_t>(i);
            return &s.dests[i];
        }
    return nullptr;
}

}  // namespace dplb
