#include "frame_diff.h"

#include <cstdio>
#include <map>

namespace dplb::test {
namespace {

std::string hex(const uint8_t* p, size_t n) {
    std::string s;
    char b[4];
    for (size_t i = 0; i < n; i++) {
        std::snprintf(b, sizeof b, "%02x", p[i]);
        s += b;
    }
    return s;
}

unsigned rd16(const Bytes& f, size_t o) { return static_cast<unsigned>(f[o] << 8 | f[o + 1]); }

std::string mac_at(const Bytes& f, size_t o) {
    MacAddr m;
    for (int i = 0; i < 6; i++) m.b[i] = f[o + i];
    return m.str();
}

std::string ip4_at(const Bytes& f, size_t o) {
    return std::to_string(f[o]) + "." + std::to_string(f[o + 1]) + "." + std::to_string(f[o + 2]) + "." +
           std::to_string(f[o + 3]);
}

}  // namespace

std::vector<std::string> decode_fields(const Bytes& f) {
    std::vector<std::string> out;
    auto add = [&out](const std::string& k, const std::string& v) { out.push_back(k + "=" + v); };
    if (f.size() < 14) {
        add("frame", "truncated (" + std::to_string(f.size()) + " bytes)");
        return out;
    }
    add("eth.dst", mac_at(f, 0));
    add("eth.src", mac_at(f, 6));
    size_t o = 12;
    unsigned type = rd16(f, o);
    if (type == 0x8100 && f.size() >= 18) {
        add("vlan.id", std::to_string(rd16(f, 14) & 0xfff));
        o += 4;
        type = rd16(f, o);
    }
    char t[8];
    std::snprintf(t, sizeof t, "0x%04x", type);
    add("eth.type", t);
    o += 2;
    size_t l4 = 0;
    unsigned proto = 0;
    if (type == 0x0806 && f.size() >= o + 28) {
        add("arp.op", std::to_string(rd16(f, o + 6)));
        add("arp.sha", mac_at(f, o + 8));
        add("arp.spa", ip4_at(f, o + 14));
        add("arp.tha", mac_at(f, o + 18));
        add("arp.tpa", ip4_at(f, o + 24));
    } else if (type == 0x0800 && f.size() >= o + 20) {
        add("ip.ihl", std::to_string(f[o] & 0xf));
        add("ip.len", std::to_string(rd16(f, o + 2)));
        add("ip.ttl", std::to_string(f[o + 8]));
        add("ip.proto", std::to_string(f[o + 9]));
        add("ip.csum", hex(&f[o + 10], 2));
        add("ip.src", ip4_at(f, o + 12));
        add("ip.dst", ip4_at(f, o + 16));
        proto = f[o + 9];
        l4 = o + (f[o] & 0xf) * 4u;
    } else if (type == 0x86dd && f.size() >= o + 40) {
        IpAddr s = IpAddr::from_v6(&f[o + 8]), d = IpAddr::from_v6(&f[o + 24]);
        add("ip6.plen", std::to_string(rd16(f, o + 4)));
        add("ip6.next", std::to_string(f[o + 6]));
        add("ip6.src", s.str());
        add("ip6.dst", d.str());
        proto = f[o + 6];
        l4 = o + 40;
    }
    if (l4 && proto == kProtoTcp && f.size() >= l4 + 20) {
        add("tcp.sport", std::to_string(rd16(f, l4)));
        add("tcp.dport", std::to_string(rd16(f, l4 + 2)));
        add("tcp.flags", hex(&f[l4 + 13], 1));
        add("tcp.csum", hex(&f[l4 + 16], 2));
    } else if (l4 && proto == kProtoUdp && f.size() >= l4 + 8) {
        add("udp.sport", std::to_string(rd16(f, l4)));
        add("udp.dport", std::to_string(rd16(f, l4 + 2)));
        add("udp.len", std::to_string(rd16(f, l4 + 4)));
    }
    return out;
}

std::string frame_diff(const Bytes& want, const Bytes& got) {
    if (want == got) return "";
    std::string s = "frames differ";
    if (want.size() != got.size())
        s += " in length: expected " + std::to_string(want.size()) + ", got " + std::to_string(got.size());
    s += "\n  fields (expected -> actual):\n";
    auto fw = decode_fields(want), fg = decode_fields(got);
    std::map<std::string, std::string> mw, mg;
    std::vector<std::string> order;
    for (auto& kv : fw) {
        auto k = kv.substr(0, kv.find('='));
        mw[k] = kv.substr(kv.find('=') + 1);
        order.push_back(k);
    }
    for (auto& kv : fg) {
        auto k = kv.substr(0, kv.find('='));
        mg[k] = kv.substr(kv.find('=') + 1);
        if (!mw.count(k)) order.push_back(k);
    }
    for (auto& k : order) {
        const std::string& a = mw.count(k) ? mw[k] : "(absent)";
        const std::string& b = mg.count(k) ? mg[k] : "(absent)";
        s += (a == b ? "    " : "  * ") + k + ": " + a + (a == b ? "" : " -> " + b) + "\n";
    }
    s += "  bytes (offset: expected | actual, ^ marks a difference):\n";
    size_t n = std::max(want.size(), got.size());
    for (size_t off = 0; off < n; off += 16) {
        std::string a, b, m;
        for (size_t i = off; i < off + 16 && i < n; i++) {
            a += i < want.size() ? hex(&want[i], 1) : "..";
            b += i < got.size() ? hex(&got[i], 1) : "..";
            bool same = i < want.size() && i < got.size() && want[i] == got[i];
            m += same ? "  " : "^^";
        }
        char o[24];
        std::snprintf(o, sizeof o, "%04zx", off);
        s += "    " + std::string(o) + ": " + a + " | " + b + "\n";
        if (m.find('^') != std::string::npos) s += "          " + m + "   " + m + "\n";
    }
    return s;
}

}  // namespace dplb::test
