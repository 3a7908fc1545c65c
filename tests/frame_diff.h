// Readable comparison of two frames: the decoded header fields that differ, then a hex dump of both
// with the differing bytes marked. Used by the golden packet tests.
#pragma once

#include <string>

#include "frame_builder.h"

namespace dplb::test {

// Header fields as "name=value" lines (eth, vlan, arp, ipv4/ipv6, tcp/udp), as far as the frame goes.
std::vector<std::string> decode_fields(const Bytes& frame);
// Empty when equal; otherwise a multi-line explanation.
std::string frame_diff(const Bytes& expected, const Bytes& actual);

}  // namespace dplb::test
