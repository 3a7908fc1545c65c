// Reading back an rtnetlink request the code under test built (kernel_addresses.h, kernel_routes.h):
// its header, its fixed part (ifaddrmsg, rtmsg) and its attributes by type; and a shell command's
// output, for what the kernel shows afterwards.
#pragma once

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace dplb {

template <class Fixed>
struct ParsedRequest {
    nlmsghdr nh{};
    Fixed fixed{};
    std::map<uint16_t, std::vector<uint8_t>> attrs;
};

template <class Fixed>
ParsedRequest<Fixed> parse_request(const std::vector<uint8_t>& req) {
    ParsedRequest<Fixed> p;
    EXPECT_GE(req.size(), NLMSG_LENGTH(sizeof(Fixed)));
    std::memcpy(&p.nh, req.data(), sizeof p.nh);
    EXPECT_EQ(p.nh.nlmsg_len, req.size());
    std::memcpy(&p.fixed, req.data() + NLMSG_HDRLEN, sizeof p.fixed);
    size_t off = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(Fixed)));
    while (off + sizeof(rtattr) <= req.size()) {
        rtattr a;
        std::memcpy(&a, req.data() + off, sizeof a);
        EXPECT_GE(a.rta_len, sizeof a);
        EXPECT_LE(off + a.rta_len, req.size());
        const uint8_t* data = req.data() + off + RTA_LENGTH(0);
        p.attrs[a.rta_type] = std::vector<uint8_t>(data, data + (a.rta_len - RTA_LENGTH(0)));
        off += RTA_ALIGN(a.rta_len);
    }
    return p;
}

// `cmd`'s standard output and error, in the calling thread's network namespace.
inline std::string command_output(const std::string& cmd) {
    std::string out;
    FILE* f = popen((cmd + " 2>&1").c_str(), "r");
    if (!f) return out;
    char buf[512];
    while (fgets(buf, sizeof buf, f)) out += buf;
    pclose(f);
    return out;
}

}  // namespace dplb
