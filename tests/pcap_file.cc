#include "pcap_file.h"

#include <cstdint>
#include <cstring>
#include <fstream>

namespace dplb::test {
namespace {

struct FileHeader {
    uint32_t magic = 0xa1b2c3d4;
    uint16_t major = 2, minor = 4;
    int32_t zone = 0;
    uint32_t sigfigs = 0, snaplen = 65535, linktype = 1;  // Ethernet
};

struct RecordHeader {
    uint32_t sec, usec, caplen, len;
};

}  // namespace

bool write_pcap(const std::string& path, const std::vector<Bytes>& frames) {
    std::ofstream f(path, std::ios::binary);
    FileHeader h;
    f.write(reinterpret_cast<const char*>(&h), sizeof h);
    uint32_t usec = 0;
    for (const Bytes& b : frames) {
        RecordHeader r{1, usec++, static_cast<uint32_t>(b.size()), static_cast<uint32_t>(b.size())};
        f.write(reinterpret_cast<const char*>(&r), sizeof r);
        f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    }
    return static_cast<bool>(f);
}

std::vector<Bytes> read_pcap(const std::string& path) {
    std::vector<Bytes> out;
    std::ifstream f(path, std::ios::binary);
    FileHeader h;
    // Microsecond (0xa1b2c3d4) or nanosecond (0xa1b23c4d, what net_pcap writes) timestamps.
    if (!f.read(reinterpret_cast<char*>(&h), sizeof h) || (h.magic != 0xa1b2c3d4 && h.magic != 0xa1b23c4d)) return out;
    RecordHeader r;
    while (f.read(reinterpret_cast<char*>(&r), sizeof r)) {
        Bytes b(r.caplen);
        if (!f.read(reinterpret_cast<char*>(b.data()), r.caplen)) break;
        out.push_back(std::move(b));
    }
    return out;
}

}  // namespace dplb::test
