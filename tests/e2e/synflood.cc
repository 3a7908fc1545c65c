// synflood: TCP SYNs from random IPv4 sources on an AF_PACKET socket (sendmmsg, PACKET_QDISC_BYPASS),
// for the SYN-flood live test (tests/e2e/test_synflood_live.py). scapy sends a few thousand frames a
// second; this sends hundreds of thousands.
//
//   synflood IFACE DST_MAC COUNT RATE MAX_SECONDS SEED VIP:PORT [VIP:PORT...]
//
// COUNT frames go out of IFACE (its own MAC as source) to DST_MAC, taking the targets in turn; each
// has a source address drawn from 198.18.0.0/15 (RFC 2544's benchmarking range), a random source
// port and sequence number, and correct IP and TCP checksums. RATE frames a second at most (0: as
// fast as the socket takes them), paced per batch of 256. The loop stops after COUNT frames or
// MAX_SECONDS, whichever comes first. Prints one line of JSON:
//   {"sent":N,"seconds":S,"rate":FRAMES_PER_S,"send_errors":E}
// Exit 0 when all COUNT frames were handed to the kernel, 1 otherwise, 2 on bad arguments.
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "byte_order.h"

namespace {

constexpr unsigned kBatch = 256;     // frames per sendmmsg
constexpr unsigned kFrameLen = 54;   // Ethernet + IPv4 + TCP, no options
constexpr uint32_t kSrcNet = 0xc6120000;   // 198.18.0.0
constexpr uint32_t kSrcMask = 0x0001ffff;  // /15

struct Target {
    uint32_t ip;  // host order
    uint16_t port;
};

uint64_t xorshift(uint64_t& s) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
    return acc;
}

uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(~acc & 0xffff);
}

// One SYN, written whole into f (kFrameLen bytes).
void build(uint8_t* f, const uint8_t* dst_mac, const uint8_t* src_mac, const Target& t, uint64_t& rng) {
    uint64_t r = xorshift(rng);
    uint32_t src = kSrcNet | (static_cast<uint32_t>(r) & kSrcMask);
    uint16_t sport = static_cast<uint16_t>(1024 + (r >> 32) % 64511);
    uint32_t seq = static_cast<uint32_t>(xorshift(rng));
    std::memcpy(f, dst_mac, 6);
    std::memcpy(f + 6, src_mac, 6);
    dplb::put_be16(f + 12, ETHERTYPE_IP);
    uint8_t* ip = f + 14;
    ip[0] = 0x45;
    ip[1] = 0;
    dplb::put_be16(ip + 2, 40);
    dplb::put_be16(ip + 4, static_cast<uint16_t>(seq));  // IP id
    dplb::put_be16(ip + 6, 0x4000);                      // DF
    ip[8] = 64;
    ip[9] = IPPROTO_TCP;
    dplb::put_be16(ip + 10, 0);
    dplb::put_be32(ip + 12, src);
    dplb::put_be32(ip + 16, t.ip);
    dplb::put_be16(ip + 10, fold(sum16(ip, 20)));
    uint8_t* tcp = ip + 20;
    dplb::put_be16(tcp, sport);
    dplb::put_be16(tcp + 2, t.port);
    dplb::put_be32(tcp + 4, seq);
    dplb::put_be32(tcp + 8, 0);
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;  // SYN
    dplb::put_be16(tcp + 14, 64240);
    dplb::put_be16(tcp + 16, 0);
    dplb::put_be16(tcp + 18, 0);
    uint32_t pseudo = sum16(ip + 12, 8) + IPPROTO_TCP + 20;
    dplb::put_be16(tcp + 16, fold(sum16(tcp, 20, pseudo)));
}

bool parse_mac(const char* s, uint8_t* out) {
    unsigned b[6];
    if (std::sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) return false;
    for (int i = 0; i < 6; i++) {
        if (b[i] > 0xff) return false;
        out[i] = static_cast<uint8_t>(b[i]);
    }
    return true;
}

bool parse_target(const std::string& s, Target& t) {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) return false;
    in_addr a{};
    if (inet_pton(AF_INET, s.substr(0, colon).c_str(), &a) != 1) return false;
    char* end = nullptr;
    unsigned long port = std::strtoul(s.c_str() + colon + 1, &end, 10);
    if (*end || port > 65535) return false;
    t.ip = ntohl(a.s_addr);
    t.port = static_cast<uint16_t>(port);
    return true;
}

int usage() {
    std::fprintf(stderr, "usage: synflood IFACE DST_MAC COUNT RATE MAX_SECONDS SEED VIP:PORT [VIP:PORT...]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 8) return usage();
    const char* iface = argv[1];
    uint8_t dst_mac[6], src_mac[6];
    if (!parse_mac(argv[2], dst_mac)) return usage();
    uint64_t count = std::strtoull(argv[3], nullptr, 10);
    double rate = std::strtod(argv[4], nullptr);
    double max_seconds = std::strtod(argv[5], nullptr);
    uint64_t rng = std::strtoull(argv[6], nullptr, 10) | 1;  // xorshift needs a non-zero state
    std::vector<Target> targets;
    for (int i = 7; i < argc; i++) {
        Target t{};
        if (!parse_target(argv[i], t)) return usage();
        targets.push_back(t);
    }
    if (count == 0 || rate < 0 || max_seconds <= 0) return usage();

    int fd = socket(AF_PACKET, SOCK_RAW, 0);  // protocol 0: transmit only, nothing queued for us to read
    if (fd < 0) {
        std::perror("synflood: socket(AF_PACKET)");
        return 1;
    }
    ifreq ifr{};
    std::snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", iface);
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) != 0) {
        std::perror("synflood: SIOCGIFHWADDR");
        return 1;
    }
    std::memcpy(src_mac, ifr.ifr_hwaddr.sa_data, 6);
    int one = 1;
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) != 0)
        std::perror("synflood: PACKET_QDISC_BYPASS (going on without)");
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(if_nametoindex(iface));
    addr.sll_halen = 6;
    std::memcpy(addr.sll_addr, dst_mac, 6);
    if (addr.sll_ifindex == 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::perror("synflood: bind");
        return 1;
    }

    static uint8_t frames[kBatch][kFrameLen];
    iovec iov[kBatch];
    mmsghdr msgs[kBatch];
    for (unsigned i = 0; i < kBatch; i++) {
        iov[i] = {frames[i], kFrameLen};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    using clock = std::chrono::steady_clock;
    auto t0 = clock::now();
    auto deadline = t0 + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(max_seconds));
    uint64_t sent = 0, errors = 0, next_target = 0;
    while (sent < count && clock::now() < deadline) {
        if (rate > 0) {  // the next batch is due when the frames sent so far fill their share of time
            auto due = t0 + std::chrono::duration_cast<clock::duration>(
                                std::chrono::duration<double>(static_cast<double>(sent) / rate));
            if (due > deadline) break;
            std::this_thread::sleep_until(due);
        }
        unsigned n = static_cast<unsigned>(count - sent < kBatch ? count - sent : kBatch);
        for (unsigned i = 0; i < n; i++)
            build(frames[i], dst_mac, src_mac, targets[next_target++ % targets.size()], rng);
        unsigned done = 0;
        while (done < n && clock::now() < deadline) {
            int r = sendmmsg(fd, msgs + done, n - done, 0);
            if (r > 0) {
                done += static_cast<unsigned>(r);
            } else if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
                errors++;  // the device is busy: try again
            } else {
                std::perror("synflood: sendmmsg");
                close(fd);
                return 1;
            }
        }
        sent += done;
    }
    double secs = std::chrono::duration<double>(clock::now() - t0).count();
    close(fd);
    std::printf("{\"sent\":%llu,\"seconds\":%.3f,\"rate\":%.0f,\"send_errors\":%llu}\n",
                static_cast<unsigned long long>(sent), secs, secs > 0 ? static_cast<double>(sent) / secs : 0.0,
                static_cast<unsigned long long>(errors));
    return sent == count ? 0 : 1;
}
