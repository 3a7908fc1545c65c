#include "net_types.h"

#include <arpa/inet.h>

#include <cstdio>

namespace dplb {

std::string MacAddr::str() const {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5]);
    return buf;
}

std::optional<MacAddr> MacAddr::parse(const std::string& s) {
    if (s.size() != 17) return std::nullopt;
    MacAddr m;
    for (int i = 0; i < 6; i++) {
        if (i > 0 && s[i * 3 - 1] != ':' && s[i * 3 - 1] != '-') return std::nullopt;
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = s[i * 3 + j];
            unsigned d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
            else return std::nullopt;
            v = v * 16 + d;
        }
        m.b[i] = static_cast<uint8_t>(v);
    }
    return m;
}

std::string IpAddr::str() const {
    char buf[INET6_ADDRSTRLEN] = "-";
    if (family == 4) inet_ntop(AF_INET, b.data(), buf, sizeof buf);
    else if (family == 6) inet_ntop(AF_INET6, b.data(), buf, sizeof buf);
    return buf;
}

std::optional<IpAddr> IpAddr::parse(const std::string& s) {
    IpAddr a;
    if (inet_pton(AF_INET, s.c_str(), a.b.data()) == 1) {
        a.family = 4;
        return a;
    }
    if (inet_pton(AF_INET6, s.c_str(), a.b.data()) == 1) {
        a.family = 6;
        return a;
    }
    return std::nullopt;
}

const char* proto_name(uint8_t proto) {
    switch (proto) {
    case kProtoTcp: return "TCP";
    case kProtoUdp: return "UDP";
    default: return "IP";
    }
}

std::string endpoint(const IpAddr& ip, uint16_t port) {
    return (ip.is_v6() ? "[" + ip.str() + "]" : ip.str()) + ":" + std::to_string(port);
}

}  // namespace dplb
