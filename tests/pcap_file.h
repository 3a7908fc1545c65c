// Minimal pcap (libpcap classic format, Ethernet) reader and writer for tests that feed the real
// dplbd through net_pcap ports.
#pragma once

#include <string>
#include <vector>

#include "frame_builder.h"

namespace dplb::test {

bool write_pcap(const std::string& path, const std::vector<Bytes>& frames);
// Whole records only; a record still being written at the end of the file is left out.
std::vector<Bytes> read_pcap(const std::string& path);

}  // namespace dplb::test
