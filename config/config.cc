#include "config.h"

#include "text.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>

namespace dplb::config {
namespace {

std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) {
        if (!out.empty()) out += '\n';
        out += l;
    }
    return out;
}

// What makes an address unusable for a vip and a real server alike; "" when nothing does.
std::string unusable_address(const IpAddr& ip) {
    const auto& b = ip.b;
    if (ip.is_v4()) {
        if (ip.v4_be() == 0) return "the unspecified address";
        if (b[0] == 0) return "in 0.0.0.0/8, which is never a destination";
        if (b[0] == 127) return "loopback";
        if (b[0] >= 224 && b[0] <= 239) return "multicast";
        if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return "the broadcast address";
        return "";
    }
    if (b[0] == 0xff) return "multicast";
    if (std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; })) {
        if (b[10] == 0xff && b[11] == 0xff)
            return "IPv4-mapped, which never appears on the wire: write " + ipv4(b[12], b[13], b[14], b[15]).str();
        if (std::all_of(b.begin() + 10, b.begin() + 15, [](uint8_t x) { return x == 0; })) {
            if (b[15] == 0) return "the unspecified address";
            if (b[15] == 1) return "loopback";
        }
    }
    return "";
}

}  // namespace

std::vector<const RealServer*> forwarding_reals(const Service& svc) {
    std::vector<const RealServer*> out;
    out.reserve(svc.reals.size() + 1);
    for (const RealServer& r : svc.reals) out.push_back(&r);
    if (svc.sorry_server) out.push_back(&*svc.sorry_server);
    return out;
}

std::string vip_address_problem(const IpAddr& ip) {
    std::string why = unusable_address(ip);
    if (!why.empty()) return why;
    if (ip.is_v4() && ip.b[0] == 169 && ip.b[1] == 254) return "link-local, which routers do not forward";
    if (ip.is_v6() && ip.b[0] == 0xfe && (ip.b[1] & 0xc0) == 0x80)
        return "link-local, which routers do not forward and VRRP leaves out of its address lists";
    return "";
}

std::string real_address_problem(const IpAddr& ip) { return unusable_address(ip); }

bool has_control_char(const std::string& s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        const unsigned char c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
    });
}

namespace {

// Each message one line of visible text, whatever bytes of the file it quotes.
std::vector<std::string> printable_lines(std::vector<std::string> errs) {
    for (std::string& e : errs) e = printable(e);
    return errs;
}

}  // namespace

ConfigError::ConfigError(std::vector<std::string> errs)
    : std::runtime_error(join_lines(printable_lines(errs))), errors(printable_lines(std::move(errs))) {}

ExceptionPath default_exception_path(const std::string& device) {
    // These PMDs sit on a kernel interface already (af_packet, af_xdp) or have no kernel side at all
    // (pcap files, rings, null): a TAP would duplicate or go nowhere.
    for (const char* prefix : {"net_af_packet", "net_af_xdp", "net_pcap", "net_ring", "net_null"})
        if (device.compare(0, std::strlen(prefix), prefix) == 0) return ExceptionPath::off;
    return ExceptionPath::tap;
}

// Table sizes are at most about 2^20, so trial division is instant.
bool is_prime(uint32_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    for (uint32_t d = 3; d <= n / d; d += 2)
        if (n % d == 0) return false;
    return true;
}

uint32_t next_prime(uint32_t n) {
    while (!is_prime(n)) n++;
    return n;
}

std::vector<std::string> fixed_field_changes(const Config& running, const Config& next) {
    std::vector<std::string> out;
    auto same_addresses = [](const std::vector<PortAddress>& a, const std::vector<PortAddress>& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const PortAddress& x, const PortAddress& y) {
            return x.ip == y.ip && x.prefix_len == y.prefix_len;
        });
    };
    if (running.ports.size() != next.ports.size()) out.push_back("ports");
    for (size_t i = 0; i < std::min(running.ports.size(), next.ports.size()); i++) {
        const Port& a = running.ports[i];
        const Port& b = next.ports[i];
        const std::string at = "ports[" + std::to_string(i) + "].";
        if (a.name != b.name) out.push_back(at + "name");
        if (a.device != b.device) out.push_back(at + "device");
        if (!same_addresses(a.addresses, b.addresses)) out.push_back(at + "addresses");
        if (a.exception_path != b.exception_path) out.push_back(at + "exception_path");
        if (!std::equal(a.vlans.begin(), a.vlans.end(), b.vlans.begin(), b.vlans.end(),
                        [&](const PortVlan& x, const PortVlan& y) {
                            return x.id == y.id && same_addresses(x.addresses, y.addresses);
                        }))
            out.push_back(at + "vlans");
    }
    if (running.conn_table_ipv4 != next.conn_table_ipv4) out.push_back("conn_table.ipv4_entries");
    if (running.conn_table_ipv6 != next.conn_table_ipv6) out.push_back("conn_table.ipv6_entries");
    if (running.control.socket != next.control.socket) out.push_back("control.socket");
    if (running.control.mode != next.control.mode) out.push_back("control.mode");
    // listen is "off" exactly when metrics are disabled, and otherwise the normalised address, so it
    // covers enabled, ip and port.
    if (running.metrics.enabled != next.metrics.enabled || running.metrics.listen != next.metrics.listen)
        out.push_back("metrics.listen");
    const SyncConfig &a = running.sync, &b = next.sync;
    if (a.enabled != b.enabled || a.interface != b.interface || a.syncid != b.syncid || a.group != b.group ||
        a.port != b.port || a.ttl != b.ttl)
        out.push_back("sync");
    if (running.announce.enabled != next.announce.enabled) {
        out.push_back("announce");
    } else {
        if (running.announce.table != next.announce.table) out.push_back("announce.table");
        if (running.announce.protocol != next.announce.protocol) out.push_back("announce.protocol");
    }
    return out;
}

Config load_config_file(const std::string& path) {
    // stdio rather than iostreams: errno then tells the operator why (missing, permissions, a
    // directory), which is the one thing they need to know.
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
    if (!f) throw ConfigError({path + ": cannot open: " + std::strerror(errno)});
    std::string text;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) text.append(buf, n);
    if (std::ferror(f.get())) throw ConfigError({path + ": cannot open: " + std::strerror(errno)});
    return load_config_string(text, path);
}

}  // namespace dplb::config

namespace dplb::config {

namespace {

bool in_subnet(const IpAddr& ip, const PortAddress& a) {
    if (ip.family != a.ip.family) return false;
    const unsigned bits = a.prefix_len, whole = bits / 8, rest = bits % 8;
    for (unsigned i = 0; i < whole; i++)
        if (ip.b[i] != a.ip.b[i]) return false;
    if (rest == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (ip.b[whole] & mask) == (a.ip.b[whole] & mask);
}

}  // namespace

bool subnets_overlap(const PortAddress& a, const PortAddress& b) {
    return in_subnet(b.ip, PortAddress{a.ip, std::min(a.prefix_len, b.prefix_len)});
}

Egress egress_by_subnet(const std::vector<Port>& ports, const IpAddr& ip) {
    Egress best;
    int best_len = -1;
    auto consider = [&](const std::vector<PortAddress>& subnets, size_t port, uint16_t vlan) {
        for (const PortAddress& a : subnets)
            if (in_subnet(ip, a) && a.prefix_len > best_len) {
                best = Egress{static_cast<uint8_t>(port), vlan};
                best_len = a.prefix_len;
            }
    };
    for (size_t i = 0; i < ports.size() && i < kMaxPorts; i++) {
        consider(ports[i].addresses, i, ports[i].vlans.empty() ? kVlanAsReceived : kVlanUntagged);
        for (const PortVlan& v : ports[i].vlans) consider(v.addresses, i, v.id);
    }
    return best;
}

std::optional<Egress> egress_named(const std::vector<Port>& ports, const std::string& name) {
    const size_t n = std::min<size_t>(ports.size(), kMaxPorts);
    for (size_t i = 0; i < n; i++)
        if (ports[i].name == name)
            return Egress{static_cast<uint8_t>(i), ports[i].vlans.empty() ? kVlanAsReceived : kVlanUntagged};
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos) return std::nullopt;
    const std::string port = name.substr(0, dot), vid = name.substr(dot + 1);
    for (size_t i = 0; i < n; i++) {
        if (ports[i].name != port) continue;
        for (const PortVlan& v : ports[i].vlans)
            if (std::to_string(v.id) == vid) return Egress{static_cast<uint8_t>(i), v.id};
    }
    return std::nullopt;
}

void resolve_egress(const std::vector<Port>& ports, RealServer& r) {
    std::optional<Egress> e = r.egress.empty() ? std::nullopt : egress_named(ports, r.egress);
    if (!e) e = egress_by_subnet(ports, r.ip);
    r.egress_port = e->port;
    r.egress_vlan = e->vlan;
}

}  // namespace dplb::config
