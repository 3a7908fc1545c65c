// YAML -> Config. The walk never stops at the first problem: each reader reports what is wrong with
// its own node and the walk goes on with the next one, so an operator sees every mistake in a file at
// once. Nothing here uses yaml-cpp's as<T>(): its conversions accept things we want rejected
// (0x10 for an integer, "yes" for a boolean) and its errors carry no field path.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <pwd.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "command_line.h"
#include "config.h"
#include "diagnostics.h"
#include "text.h"

namespace dplb::config {
namespace {

// A node to read, where to point the operator at it, and its path for messages.
struct Field {
    YAML::Node node;
    YAML::Mark mark;
    std::string path;
};

std::string child_path(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
}

std::string item_path(const std::string& parent, size_t i) {
    return parent + "[" + std::to_string(i) + "]";
}

// yaml-cpp counts from 0 and editors from 1. Nodes yaml-cpp made up (an empty document) have no
// position; the top of the file is then the honest answer.
int line_of(const YAML::Mark& m) { return m.line >= 0 ? m.line + 1 : 1; }
int column_of(const YAML::Mark& m) { return m.column >= 0 ? m.column + 1 : 1; }

std::string position(const std::string& file, const YAML::Mark& m) {
    return file + ":" + std::to_string(line_of(m)) + ":" + std::to_string(column_of(m));
}

class Errors {
public:
    explicit Errors(std::string file) : file_(std::move(file)) {}

    bool check_programs = true;  // LoadOptions, for read_command_line

    void add(const YAML::Mark& m, const std::string& path, const std::string& msg) {
        std::string where = path.empty() ? "(root)" : path;
        list_.add(line_of(m), column_of(m), position(file_, m) + ": " + where + ": " + msg);
    }
    void add(const Field& f, const std::string& msg) { add(f.mark, f.path, msg); }

    bool empty() const { return list_.empty(); }
    std::vector<std::string> sorted() const { return list_.in_file_order(); }

private:
    std::string file_;
    Diagnostics list_;
};

// A scalar as the operator wrote it, quoted so that spaces and empty strings show.
std::string quoted(const std::string& s) { return double_quoted(s, 60); }

// What a node is, for "expected X, got Y".
std::string describe(const YAML::Node& n) {
    switch (n.Type()) {
    case YAML::NodeType::Scalar: return quoted(n.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "an empty value";
    }
}

// ---- scalar readers: each reports its own problem and returns nullopt ----

// Plain decimal only: no sign, no exponent, no hex, and no leading zero, which YAML 1.1 reads as octal.
std::optional<uint64_t> read_uint(Errors& errs, const Field& f, uint64_t lo, uint64_t hi) {
    auto fail = [&] {
        errs.add(f, "expected integer " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " +
                        describe(f.node));
        return std::nullopt;
    };
    if (!f.node.IsScalar()) return fail();
    const std::string& s = f.node.Scalar();
    if (s.empty() || (s.size() > 1 && s[0] == '0')) return fail();
    uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return fail();
        v = v * 10 + static_cast<uint64_t>(c - '0');
        if (v > hi) return fail();  // also keeps v from overflowing
    }
    if (v < lo) return fail();
    return v;
}

std::optional<bool> read_bool(Errors& errs, const Field& f) {
    if (f.node.IsScalar()) {
        if (f.node.Scalar() == "true") return true;
        if (f.node.Scalar() == "false") return false;
    }
    errs.add(f, "expected true or false, got " + describe(f.node));
    return std::nullopt;
}

std::optional<std::string> read_string(Errors& errs, const Field& f) {
    if (f.node.IsScalar() && !f.node.Scalar().empty()) return f.node.Scalar();
    errs.add(f, "expected a non-empty string, got " + describe(f.node));
    return std::nullopt;
}

// A name shows up in logs, metrics labels and dplbctl's listings, one per line: no control characters.
std::optional<std::string> read_name(Errors& errs, const Field& f) {
    auto s = read_string(errs, f);
    if (s && has_control_char(*s)) {
        errs.add(f, "expected a name without control characters, got " + describe(f.node));
        return std::nullopt;
    }
    return s;
}

std::optional<IpAddr> read_ip(Errors& errs, const Field& f) {
    if (f.node.IsScalar())
        if (auto ip = IpAddr::parse(f.node.Scalar())) return ip;
    errs.add(f, "expected an IPv4 or IPv6 address, got " + describe(f.node));
    return std::nullopt;
}

// An address that is, or may be, a vip: one clients can reach (see vip_address_problem).
std::optional<IpAddr> read_vip(Errors& errs, const Field& f) {
    auto ip = read_ip(errs, f);
    if (!ip) return std::nullopt;
    if (std::string why = vip_address_problem(*ip); !why.empty()) {
        errs.add(f, "expected a unicast address clients can reach, got " + describe(f.node) + " (" + why + ")");
        return std::nullopt;
    }
    return ip;
}

// The DPDK device of a port, as rte_eth_dev_get_port_by_name() takes it: a name, never device
// arguments. EAL splits devargs at "," and "=", so "net_af_packet0,iface=eth0" names no device.
std::optional<std::string> read_device(Errors& errs, const Field& f) {
    constexpr size_t kMaxDeviceName = 63;  // RTE_ETH_NAME_MAX_LEN with its terminating NUL
    auto s = read_string(errs, f);
    if (!s) return std::nullopt;
    std::string why;
    if (s->find_first_of(",=") != std::string::npos)
        why = "expected a device name without \",\" or \"=\" (device arguments go on EAL's command line, as "
              "--vdev net_af_packet0,iface=eth0), got ";
    else if (has_control_char(*s) || s->find(' ') != std::string::npos)
        why = "expected a device name without spaces or control characters, got ";
    else if (s->size() > kMaxDeviceName)
        why = "expected a device name of at most " + std::to_string(kMaxDeviceName) +
              " characters (DPDK's limit), got ";
    if (why.empty()) return s;
    errs.add(f, why + describe(f.node));
    return std::nullopt;
}

// A real server's MAC is where frames go: a group address would flood, zero would vanish.
std::optional<MacAddr> read_mac(Errors& errs, const Field& f) {
    std::optional<MacAddr> mac;
    if (f.node.IsScalar()) mac = MacAddr::parse(f.node.Scalar());
    if (!mac) {
        errs.add(f, "expected a MAC address like 02:00:00:00:00:01, got " + describe(f.node));
        return std::nullopt;
    }
    if (mac->is_zero() || (mac->b[0] & 1)) {
        errs.add(f, "expected a unicast MAC address, got " + describe(f.node));
        return std::nullopt;
    }
    return mac;
}

template <typename T>
using Choices = std::vector<std::pair<const char*, T>>;

template <typename T>
std::optional<T> read_choice(Errors& errs, const Field& f, const Choices<T>& choices) {
    if (f.node.IsScalar())
        for (const auto& [word, value] : choices)
            if (f.node.Scalar() == word) return value;
    std::string names;
    for (const auto& c : choices) names += std::string(names.empty() ? "" : ", ") + c.first;
    errs.add(f, "expected one of " + names + ", got " + describe(f.node));
    return std::nullopt;
}

// Plain decimal seconds with at most two decimals ("1", "0.5", "40.95"), as centiseconds.
std::optional<uint32_t> parse_centiseconds(const std::string& s) {
    size_t i = 0;
    uint64_t whole = 0;
    if (i == s.size() || s[i] < '0' || s[i] > '9') return std::nullopt;
    if (s[0] == '0' && s.size() > 1 && s[1] != '.') return std::nullopt;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        whole = whole * 10 + static_cast<uint64_t>(s[i++] - '0');
        if (whole > 1000000) return std::nullopt;
    }
    uint32_t frac = 0;
    if (i < s.size()) {
        if (s[i++] != '.') return std::nullopt;
        size_t digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 2) {
            frac = frac * 10 + static_cast<uint32_t>(s[i++] - '0');
            digits++;
        }
        if (digits == 0 || i != s.size()) return std::nullopt;
        if (digits == 1) frac *= 10;
    }
    return static_cast<uint32_t>(whole * 100 + frac);
}


// ---- containers ----

bool expect_map(Errors& errs, const Field& f) {
    if (f.node.IsMap()) return true;
    errs.add(f, "expected a map, got " + describe(f.node));
    return false;
}

// The items of a required, non-empty list. An empty result means a problem was reported.
std::vector<Field> read_list(Errors& errs, const Field& f) {
    std::vector<Field> items;
    if (!f.node.IsSequence()) {
        errs.add(f, "expected a list, got " + describe(f.node));
        return items;
    }
    if (f.node.size() == 0) {
        errs.add(f, "expected at least one entry");
        return items;
    }
    size_t i = 0;
    for (const YAML::Node& n : f.node) {
        // An empty item's own mark is wherever the next token starts, often lines away.
        YAML::Mark m = n.IsNull() ? f.mark : n.Mark();
        items.push_back({n, m, item_path(f.path, i++)});
    }
    return items;
}

// The keys of one map, checked against those the schema allows. Unknown and repeated keys are
// reported here, once; callers then take the keys they know in whatever order suits them.
class MapFields {
public:
    MapFields(Errors& errs, const Field& map, const std::vector<std::string>& known) : errs_(errs), map_(map) {
        for (const auto& kv : map.node) {
            const YAML::Node& key = kv.first;
            if (!key.IsScalar()) {
                errs_.add(key.Mark(), map.path, "expected a plain key, got " + describe(key));
                continue;
            }
            Field value{kv.second, kv.second.IsNull() ? key.Mark() : kv.second.Mark(),
                        child_path(map.path, key.Scalar())};
            if (std::find(known.begin(), known.end(), key.Scalar()) == known.end()) {
                errs_.add(key.Mark(), value.path, "unknown key");
            } else if (found_.count(key.Scalar())) {
                errs_.add(key.Mark(), value.path, "duplicate key");
            } else {
                found_.emplace(key.Scalar(), std::move(value));
            }
        }
    }

    std::optional<Field> get(const std::string& key) const {
        auto it = found_.find(key);
        if (it == found_.end()) return std::nullopt;
        return it->second;
    }

    std::optional<Field> need(const std::string& key) const {
        auto f = get(key);
        if (!f) errs_.add(map_.mark, child_path(map_.path, key), "required key missing");
        return f;
    }

private:
    Errors& errs_;
    Field map_;
    std::map<std::string, Field> found_;
};

// The names a list of names may refer to, for "expected one of" messages.
std::string name_list(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += std::string(out.empty() ? "" : ", ") + n;
    return out;
}

// ---- the schema ----

// nullopt = auto, resolved from the device name.
const Choices<std::optional<ExceptionPath>> kExceptionPaths = {
    {"auto", std::nullopt}, {"tap", ExceptionPath::tap}, {"off", ExceptionPath::off}};
const Choices<CheckType> kCheckTypes = {{"tcp", CheckType::tcp},   {"http", CheckType::http}, {"misc", CheckType::misc},
                                        {"ssl", CheckType::ssl},   {"ping", CheckType::ping}, {"udp", CheckType::udp},
                                        {"dns", CheckType::dns},   {"smtp", CheckType::smtp}};
// DNS_CHECK's query types, keepalived's set.
const Choices<uint16_t> kDnsTypes = {{"A", 1},   {"NS", 2},  {"CNAME", 5}, {"SOA", 6},
                                     {"MX", 15}, {"TXT", 16}, {"AAAA", 28}};
const Choices<VrrpState> kVrrpStates = {{"MASTER", VrrpState::master}, {"BACKUP", VrrpState::backup}};
const Choices<VrrpAuth> kVrrpAuthTypes = {{"PASS", VrrpAuth::pass}};
const Choices<uint8_t> kVrrpVersions = {{"2", 2}, {"3", 3}};

const Choices<Sched> kSchedulers = {{"rr", Sched::rr},   {"wrr", Sched::wrr}, {"lc", Sched::lc},   {"wlc", Sched::wlc},
                                    {"sh", Sched::sh},   {"mh", Sched::mh},   {"sed", Sched::sed}, {"nq", Sched::nq},
                                    {"fo", Sched::fo},   {"ovf", Sched::ovf}, {"dh", Sched::dh},   {"twos", Sched::twos},
                                    {"lblc", Sched::lblc}, {"lblcr", Sched::lblcr}};
const Choices<uint8_t> kProtocols = {{"tcp", kProtoTcp}, {"udp", kProtoUdp}};
// scheduler_flags: ipvsadm's -b names, each for its own scheduler.
struct SchedFlag {
    Sched sched;
    uint8_t flag;
};
const Choices<SchedFlag> kSchedFlags = {{"sh-fallback", {Sched::sh, kSchedFlagFallback}},
                                        {"sh-port", {Sched::sh, kSchedFlagPort}},
                                        {"mh-fallback", {Sched::mh, kSchedFlagFallback}},
                                        {"mh-port", {Sched::mh, kSchedFlagPort}}};
constexpr uint64_t kMaxThreshold = 0xffffffff;

constexpr uint8_t slot(TcpState s) { return static_cast<uint8_t>(s); }

// Keys under `timeouts:` and the state slot each sets; names as ipvsadm --timeout and IPVS's sysctls.
const std::vector<std::pair<std::string, uint8_t>> kTimeoutKeys = {
    {"established", slot(TcpState::established)},
    {"syn_sent", slot(TcpState::syn_sent)},
    {"syn_recv", slot(TcpState::syn_recv)},
    {"fin_wait", slot(TcpState::fin_wait)},
    {"time_wait", slot(TcpState::time_wait)},
    {"close", slot(TcpState::close)},
    {"close_wait", slot(TcpState::close_wait)},
    {"last_ack", slot(TcpState::last_ack)},
    {"listen", slot(TcpState::listen)},
    {"synack", slot(TcpState::synack)},
    {"udp", kUdpState},
};

// "10.0.0.2/24" or "2001:db8::2/64": the director's own address and its subnet.
std::optional<PortAddress> read_port_address(Errors& errs, const Field& f) {
    if (f.node.IsScalar()) {
        const std::string& s = f.node.Scalar();
        size_t slash = s.find('/');
        if (slash != std::string::npos) {
            auto ip = IpAddr::parse(s.substr(0, slash));
            std::string len = s.substr(slash + 1);
            bool digits = !len.empty() && len.size() <= 3 && (len.size() == 1 || len[0] != '0') &&
                          len.find_first_not_of("0123456789") == std::string::npos;
            if (ip && digits) {
                unsigned n = static_cast<unsigned>(std::stoul(len));
                if (n <= (ip->is_v4() ? 32u : 128u)) return PortAddress{*ip, static_cast<uint8_t>(n)};
            }
        }
    }
    errs.add(f, "expected an address with its prefix length like 10.0.0.2/24 or 2001:db8::2/64, got " +
                    describe(f.node));
    return std::nullopt;
}

// What the VRRP section may refer to, and whether every one of them was read: when one was not,
// a reference to it would be reported as unknown on top of the real mistake, so references go unchecked.
struct Known {
    std::vector<std::string> ports;
    bool ports_ok = true;
    std::vector<std::string> services;  // the names given
    bool services_ok = true;
    std::vector<IpAddr> vips;
    bool vips_ok = true;
    // The director's own addresses (ports[].addresses), with the path of each, which no real may be.
    std::vector<std::pair<IpAddr, std::string>> own_addresses;
    std::map<std::string, std::vector<IpAddr>> port_addresses;  // port name -> its addresses
    // Ports whose frames for the director never reach the kernel (exception_path: off on a device
    // the kernel does not sit under), where an address the kernel serves cannot work.
    std::set<std::string> kernel_blind;
    // The ports as read, for a real's `egress: PORT.VID`; vlans_ok: every VLAN id was read.
    const std::vector<Port>* port_defs = nullptr;
    bool vlans_ok = true;
    std::map<std::string, int> scripts;  // vrrp_scripts: name -> weight
    bool scripts_ok = true;
};

std::string port_names_hint(const std::vector<std::string>& ports) {
    return ports.empty() ? "the name of a port" : "one of the port names " + name_list(ports);
}

std::string subnet_text(const PortAddress& a) { return a.ip.str() + "/" + std::to_string(a.prefix_len); }

// ports[].vlans: the 802.1Q VLANs on a port, each with the director's own addresses in it. An id
// appears once per port, and a VLAN's subnet overlaps neither the port's own subnets nor another
// VLAN's (`subnets`, with their paths), so a real's address says which segment it is on.
void read_port_vlans(Errors& errs, const Field& f, Port& p, std::vector<std::pair<PortAddress, std::string>>& subnets,
                     std::map<std::string, std::string>& addrs, Known& known) {
    std::map<uint64_t, std::string> ids;  // id -> path of its first use
    for (const Field& item : read_list(errs, f)) {
        known.vlans_ok = known.vlans_ok && item.node.IsMap();
        if (!expect_map(errs, item)) continue;
        MapFields m(errs, item, {"id", "addresses"});
        auto id_f = m.need("id");
        auto id = id_f ? read_uint(errs, *id_f, 1, 4094) : std::nullopt;
        known.vlans_ok = known.vlans_ok && id.has_value();
        if (id && !ids.emplace(*id, item.path).second)
            errs.add(*id_f, "duplicate VLAN id " + std::to_string(*id) + " on port " + quoted(p.name) + ", first at " +
                                ids[*id]);
        PortVlan v;
        if (id) v.id = static_cast<uint16_t>(*id);
        std::vector<std::pair<PortAddress, std::string>> mine;
        if (auto af = m.get("addresses")) {
            for (const Field& a : read_list(errs, *af)) {
                auto pa = read_port_address(errs, a);
                if (!pa) continue;
                std::string key = pa->ip.str();
                if (!addrs.emplace(key, a.path).second) {
                    errs.add(a, "duplicate address " + key + ", first at " + addrs[key]);
                } else {
                    for (const auto& [other, path] : subnets)
                        if (subnets_overlap(*pa, other)) {
                            errs.add(a, "subnet " + subnet_text(*pa) + " overlaps " + subnet_text(other) + " at " +
                                            path + " (each subnet is one segment: a real in both could not be placed)");
                            break;
                        }
                }
                v.addresses.push_back(*pa);
                mine.push_back({*pa, a.path});
                known.own_addresses.push_back({pa->ip, a.path});
            }
        }
        subnets.insert(subnets.end(), mine.begin(), mine.end());  // a VLAN's own addresses may share a subnet
        if (id) p.vlans.push_back(std::move(v));
    }
}

void read_ports(Errors& errs, const Field& f, std::vector<Port>& out, Known& known) {
    if (f.node.IsSequence() && f.node.size() > kMaxPorts)
        errs.add(f, "at most " + std::to_string(kMaxPorts) + " ports, got " + std::to_string(f.node.size()));
    std::map<std::string, std::string> names, devices;  // value -> path of its first use
    std::map<std::string, std::string> addrs;            // address -> path of its first use
    for (const Field& item : read_list(errs, f)) {
        known.ports_ok = known.ports_ok && item.node.IsMap();
        if (!expect_map(errs, item)) continue;
        MapFields m(errs, item, {"name", "device", "addresses", "exception_path", "vlans"});
        Port p;
        std::vector<std::pair<PortAddress, std::string>> subnets;  // this port's and its vlans', with paths
        auto name_f = m.need("name");
        auto dev_f = m.need("device");
        auto name = name_f ? read_name(errs, *name_f) : std::nullopt;
        auto dev = dev_f ? read_device(errs, *dev_f) : std::nullopt;
        // Two ports on one device would make EAL probe it twice; two with one name make logs lie.
        if (name && !names.emplace(*name, item.path).second)
            errs.add(*name_f, "duplicate port name " + quoted(*name) + ", first at " + names[*name]);
        if (dev && !devices.emplace(*dev, item.path).second)
            errs.add(*dev_f, "duplicate device " + quoted(*dev) + ", first at " + devices[*dev]);
        if (name) p.name = *name;
        known.ports_ok = known.ports_ok && name.has_value();
        if (dev) p.device = *dev;
        if (auto af = m.get("addresses")) {
            for (const Field& a : read_list(errs, *af)) {
                auto pa = read_port_address(errs, a);
                if (!pa) continue;
                std::string key = pa->ip.str();
                if (!addrs.emplace(key, a.path).second)
                    errs.add(a, "duplicate address " + key + ", first at " + addrs[key]);
                p.addresses.push_back(*pa);
                known.own_addresses.push_back({pa->ip, a.path});
                subnets.push_back({*pa, a.path});
            }
        }
        if (auto vf = m.get("vlans")) read_port_vlans(errs, *vf, p, subnets, addrs, known);
        // auto picks by device; a device that failed to read leaves tap, and the file is refused anyway.
        if (dev) p.exception_path = default_exception_path(*dev);
        if (auto ef = m.get("exception_path"))
            if (auto e = read_choice(errs, *ef, kExceptionPaths); e && *e) {
                p.exception_path = **e;
                p.exception_path_auto = false;
            }
        out.push_back(std::move(p));
    }
}

void read_conn_table(Errors& errs, const Field& f, Config& cfg) {
    if (!expect_map(errs, f)) return;
    MapFields m(errs, f, {"ipv4_entries", "ipv6_entries"});
    if (auto v4 = m.get("ipv4_entries"))
        if (auto v = read_uint(errs, *v4, kMinConnTable, kMaxConnTable)) cfg.conn_table_ipv4 = *v;
    if (auto v6 = m.get("ipv6_entries"))
        if (auto v = read_uint(errs, *v6, kMinConnTable, kMaxConnTable)) cfg.conn_table_ipv6 = *v;
}

void read_timeouts(Errors& errs, const Field& f, Timeouts& t) {
    if (!expect_map(errs, f)) return;
    std::vector<std::string> known;
    for (const auto& k : kTimeoutKeys) known.push_back(k.first);
    MapFields m(errs, f, known);
    for (const auto& [key, state] : kTimeoutKeys)
        if (auto tf = m.get(key))
            if (auto s = read_uint(errs, *tf, 1, kMaxTimeoutS)) t.ms[state] = static_cast<uint32_t>(*s) * 1000;
}

void read_mh_table_size(Errors& errs, const Field& f, uint32_t& out) {
    auto v = read_uint(errs, f, kMinMhTableSize, kMaxMhTableSize);
    if (!v) return;
    uint32_t n = static_cast<uint32_t>(*v);
    // Maglev fills its table by stepping with a skip coprime to the size; a prime size makes every skip work.
    if (!is_prime(n)) {
        errs.add(f, "expected a prime, got " + std::to_string(n) + " (the next prime is " +
                        std::to_string(next_prime(n)) + ")");
        return;
    }
    out = n;
}

// "200" or "200-299"; codes as HTTP defines them, 100..599.
bool read_status_item(Errors& errs, const Field& f, std::vector<uint16_t>& out) {
    auto code = [](const std::string& s) -> std::optional<uint16_t> {
        if (s.size() != 3 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
        int v = std::stoi(s);
        if (v < 100 || v > 599) return std::nullopt;
        return static_cast<uint16_t>(v);
    };
    if (f.node.IsScalar()) {
        const std::string& s = f.node.Scalar();
        size_t dash = s.find('-');
        auto lo = code(s.substr(0, dash));
        auto hi = dash == std::string::npos ? lo : code(s.substr(dash + 1));
        if (lo && hi && *lo <= *hi) {
            for (uint16_t c = *lo; c <= *hi; c++) out.push_back(c);
            return true;
        }
    }
    errs.add(f, "expected a status code 100..599 or a range like 200-299, got " + describe(f.node));
    return false;
}

std::optional<std::string> read_digest(Errors& errs, const Field& f) {
    if (f.node.IsScalar() && f.node.Scalar().size() == 32 &&
        f.node.Scalar().find_first_not_of("0123456789abcdefABCDEF") == std::string::npos) {
        std::string d = f.node.Scalar();
        for (char& c : d)
            if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        return d;
    }
    errs.add(f, "expected an MD5 digest of 32 hex digits, got " + describe(f.node));
    return std::nullopt;
}

// Keys of health_check and the check types each belongs to; the rest apply to every type.
const std::vector<std::pair<std::string, std::vector<CheckType>>> kTypedCheckKeys = {
    {"connect_port", {CheckType::tcp, CheckType::http, CheckType::ssl, CheckType::udp, CheckType::dns, CheckType::smtp}},
    {"path", {CheckType::http, CheckType::ssl}},
    {"status_codes", {CheckType::http, CheckType::ssl}},
    {"digest", {CheckType::http, CheckType::ssl}},
    {"script", {CheckType::misc}},
    {"timeout", {CheckType::misc}},
    {"dynamic", {CheckType::misc}},
    {"enable_sni", {CheckType::ssl}},
    {"virtualhost", {CheckType::ssl}},
    {"verify", {CheckType::ssl}},
    {"ca_file", {CheckType::ssl}},
    {"payload", {CheckType::udp}},
    {"require_reply", {CheckType::udp}},
    {"min_reply_length", {CheckType::udp}},
    {"max_reply_length", {CheckType::udp}},
    {"dns_type", {CheckType::dns}},
    {"dns_name", {CheckType::dns}},
    {"helo_name", {CheckType::smtp}},
};

// Bytes written as hex digits, two a byte, spaces allowed between bytes (keepalived's payload and
// require_reply).
std::optional<std::string> read_hex(Errors& errs, const Field& f) {
    if (f.node.IsScalar()) {
        std::string out;
        const std::string& s = f.node.Scalar();
        auto digit = [](char c) {
            return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        };
        size_t i = 0;
        bool ok = true;
        while (ok && i < s.size()) {
            if (s[i] == ' ') {
                ++i;
                continue;
            }
            ok = i + 1 < s.size() && digit(s[i]) >= 0 && digit(s[i + 1]) >= 0;
            if (ok) out.push_back(static_cast<char>(digit(s[i]) * 16 + digit(s[i + 1])));
            i += 2;
        }
        if (ok && !out.empty()) return out;
    }
    errs.add(f, "expected bytes as pairs of hex digits like \"0a 1b\" or \"0a1b\", got " + describe(f.node));
    return std::nullopt;
}

// A DNS name: dotted labels of 1..63 bytes, 253 in all, a trailing dot allowed; "." is the root.
std::optional<std::string> read_dns_name(Errors& errs, const Field& f) {
    if (f.node.IsScalar() && !f.node.Scalar().empty()) {
        std::string s = f.node.Scalar();
        if (s == ".") return s;
        std::string body = s.back() == '.' ? s.substr(0, s.size() - 1) : s;
        bool ok = !body.empty() && body.size() <= 253 && !has_control_char(body);
        size_t start = 0;
        while (ok) {
            size_t dot = body.find('.', start);
            size_t len = (dot == std::string::npos ? body.size() : dot) - start;
            ok = len >= 1 && len <= 63;
            if (dot == std::string::npos) break;
            start = dot + 1;
        }
        if (ok) return s;
    }
    errs.add(f, "expected a DNS name like example.com or \".\" (labels of 1..63 characters), got " + describe(f.node));
    return std::nullopt;
}

// A host name for SNI and HELO: letters, digits, '-' and '.', up to 253 characters.
std::optional<std::string> read_host_name(Errors& errs, const Field& f) {
    if (f.node.IsScalar()) {
        const std::string& s = f.node.Scalar();
        if (!s.empty() && s.size() <= 253 &&
            s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == std::string::npos)
            return s;
    }
    errs.add(f, "expected a host name like www.example.com, got " + describe(f.node));
    return std::nullopt;
}

std::string type_names(const std::vector<CheckType>& types) {
    std::string out;
    for (CheckType t : types)
        for (const auto& [word, value] : kCheckTypes)
            if (value == t) out += std::string(out.empty() ? "" : ", ") + word;
    return out;
}

// A real's health check. `real_port_ok` says r.port was read, so the default connect_port means something.
// A script's command line (vrrp_scripts[].script, notify hooks): its program must be an absolute
// path to an executable file, as dplbd runs it without a shell.
void read_command_line(Errors& errs, const Field& f, std::string& out) {
    auto s = read_string(errs, f);
    if (!s) return;
    if (std::string why = command_line_problem(*s, errs.check_programs); !why.empty())
        errs.add(f, "expected a command line whose program is an absolute path to an executable file, got " +
                        describe(f.node) + " (" + why + ")");
    else
        out = *s;
}

std::optional<HealthCheck> read_health_check(Errors& errs, const Field& f, const RealServer& r, bool real_port_ok) {
    if (!expect_map(errs, f)) return std::nullopt;
    MapFields m(errs, f, {"type", "connect_timeout", "retry", "delay_before_retry", "warmup", "alpha", "connect_port",
                          "path", "status_codes", "digest", "script", "timeout", "dynamic", "enable_sni",
                          "virtualhost", "verify", "ca_file", "payload", "require_reply", "min_reply_length",
                          "max_reply_length", "dns_type", "dns_name", "helo_name"});
    HealthCheck hc;
    std::optional<CheckType> type;
    if (auto tf = m.need("type")) type = read_choice(errs, *tf, kCheckTypes);
    if (type) {
        hc.type = *type;
        hc.delay_before_retry_s = *type == CheckType::tcp ? 1 : 3;
        if (*type == CheckType::dns) hc.retry = 3;  // keepalived's DNS_CHECK default
        for (const auto& [key, types] : kTypedCheckKeys)
            if (auto kf = m.get(key); kf && std::find(types.begin(), types.end(), *type) == types.end())
                errs.add(*kf, "only for type " + type_names(types));
    }
    bool ok = type.has_value();
    auto seconds = [&](const char* key, uint64_t lo, uint32_t& out) {
        if (auto kf = m.get(key)) {
            auto v = read_uint(errs, *kf, lo, kMaxCheckS);
            if (v) out = static_cast<uint32_t>(*v);
            ok = ok && v.has_value();
        }
    };
    seconds("connect_timeout", 1, hc.connect_timeout_s);
    seconds("delay_before_retry", 0, hc.delay_before_retry_s);
    seconds("warmup", 0, hc.warmup_s);
    if (auto kf = m.get("retry"))
        if (auto v = read_uint(errs, *kf, 0, kMaxCheckRetry)) hc.retry = static_cast<uint32_t>(*v);
    if (auto kf = m.get("alpha"))
        if (auto b = read_bool(errs, *kf)) hc.alpha = *b;
    if (!type) return std::nullopt;

    if (*type != CheckType::misc && *type != CheckType::ping) {
        if (auto kf = m.get("connect_port")) {
            if (auto p = read_uint(errs, *kf, 1, 65535)) hc.connect_port = static_cast<uint16_t>(*p);
        } else if (r.port == 0 && (*type == CheckType::dns || *type == CheckType::smtp)) {
            hc.connect_port = *type == CheckType::dns ? 53 : 25;  // the protocol's port for an all-ports real
        } else if (real_port_ok && r.port == 0) {
            errs.add(f.mark, child_path(f.path, "connect_port"), "required key missing (the real server's port is 0)");
        } else {
            hc.connect_port = r.port;
        }
    }
    if (*type == CheckType::http || *type == CheckType::ssl) {
        if (auto kf = m.need("path")) {
            auto p = read_string(errs, *kf);
            if (p && (*p)[0] != '/') {
                errs.add(*kf, "expected a path starting with \"/\", got " + describe(kf->node));
                p.reset();
            }
            if (p) hc.path = *p;
        }
        hc.status_codes = {200};
        if (auto kf = m.get("status_codes")) {
            std::vector<uint16_t> codes;
            for (const Field& item : read_list(errs, *kf)) read_status_item(errs, item, codes);
            std::sort(codes.begin(), codes.end());
            codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
            if (!codes.empty()) hc.status_codes = codes;
        }
        if (auto kf = m.get("digest"))
            if (auto d = read_digest(errs, *kf)) hc.digest = *d;
    }
    if (*type == CheckType::misc) {
        if (auto kf = m.need("script"))
            if (auto sc = read_string(errs, *kf)) hc.script = *sc;
        hc.timeout_s = hc.connect_timeout_s;
        seconds("timeout", 1, hc.timeout_s);
        if (auto kf = m.get("dynamic"))
            if (auto b = read_bool(errs, *kf)) hc.dynamic = *b;
    }
    if (*type == CheckType::ssl) {
        if (auto kf = m.get("enable_sni"))
            if (auto b = read_bool(errs, *kf)) hc.enable_sni = *b;
        if (auto kf = m.get("virtualhost"))
            if (auto h = read_host_name(errs, *kf)) hc.virtualhost = *h;
        if (hc.enable_sni && !m.get("virtualhost"))
            errs.add(f.mark, child_path(f.path, "virtualhost"), "required key missing (enable_sni sends it)");
        if (auto kf = m.get("verify"))
            if (auto b = read_bool(errs, *kf)) hc.verify = *b;
        if (auto kf = m.get("ca_file")) {
            if (auto c = read_string(errs, *kf)) {
                if ((*c)[0] != '/') errs.add(*kf, "expected an absolute path, got " + describe(kf->node));
                else hc.ca_file = *c;
            }
            if (!m.get("verify") || !hc.verify) errs.add(*kf, "only with verify: true");
        }
    }
    if (*type == CheckType::udp) {
        if (auto kf = m.get("payload"))
            if (auto b = read_hex(errs, *kf)) hc.payload = *b;
        if (auto kf = m.get("require_reply")) {
            // true, false, or the bytes the reply must start with.
            if (kf->node.IsScalar() && (kf->node.Scalar() == "true" || kf->node.Scalar() == "false")) {
                hc.require_reply = kf->node.Scalar() == "true";
            } else if (auto b = read_hex(errs, *kf)) {
                hc.require_reply = true;
                hc.reply = *b;
            }
        }
        bool lengths_ok = true;
        for (auto [key, out] : {std::pair{"min_reply_length", &hc.min_reply_length}, std::pair{"max_reply_length", &hc.max_reply_length}}) {
            if (auto kf = m.get(key)) {
                if (auto v = read_uint(errs, *kf, 0, 65535)) *out = static_cast<uint32_t>(*v);
                else lengths_ok = false;
                if (!hc.require_reply) errs.add(*kf, "only with require_reply");
            }
        }
        if (lengths_ok && hc.min_reply_length > hc.max_reply_length)
            errs.add(*m.get("min_reply_length"), "min_reply_length " + std::to_string(hc.min_reply_length) +
                                                     " is over max_reply_length " + std::to_string(hc.max_reply_length));
    }
    if (*type == CheckType::dns) {
        if (auto kf = m.get("dns_type"))
            if (auto t = read_choice(errs, *kf, kDnsTypes)) hc.dns_type = *t;
        if (auto kf = m.get("dns_name"))
            if (auto n = read_dns_name(errs, *kf)) hc.dns_name = *n;
    }
    if (*type == CheckType::smtp) {
        if (auto kf = m.get("helo_name"))
            if (auto h = read_host_name(errs, *kf)) hc.helo_name = *h;
    }
    if (!ok) return std::nullopt;
    return hc;
}

// IPVS's connection limits of a real (ipvsadm -x / -y): l_threshold only below a u_threshold.
void read_thresholds(Errors& errs, const MapFields& m, RealServer& r) {
    if (auto f = m.get("u_threshold"))
        if (auto v = read_uint(errs, *f, 0, kMaxThreshold)) r.u_threshold = static_cast<uint32_t>(*v);
    auto f = m.get("l_threshold");
    if (!f) return;
    auto v = read_uint(errs, *f, 0, kMaxThreshold);
    if (!v) return;
    if (*v != 0 && r.u_threshold == 0 && !m.get("u_threshold"))
        errs.add(*f, "expected l_threshold only with a u_threshold (the limit it lowers to), got " + describe(f->node));
    else if (*v > r.u_threshold && r.u_threshold != 0)
        errs.add(*f, "expected at most the u_threshold (" + std::to_string(r.u_threshold) + "), got " +
                         describe(f->node));
    else
        r.l_threshold = static_cast<uint32_t>(*v);
}

// One real server. `svc_ok` says the service's vip and port were read, so family and the default
// port mean something.
// A real server's address, kept until every vip and the director's own addresses are known.
struct RealAddress {
    IpAddr ip;
    Field field;
    size_t service = 0;  // index in services
};

// Why a real's `egress:` names no port or VLAN of one, or "" when it does (or when the ports could
// not all be read, so that nothing is reported on top of their own mistake).
std::string egress_problem(const Known& known, const std::string& s) {
    if (!known.ports_ok || !known.port_defs || egress_named(*known.port_defs, s)) return "";
    const size_t dot = s.rfind('.');
    const std::string port = dot == std::string::npos ? "" : s.substr(0, dot);
    for (const Port& p : *known.port_defs) {
        if (dot == std::string::npos || p.name != port) continue;
        if (!known.vlans_ok) return "";
        std::vector<std::string> ids;
        for (const PortVlan& v : p.vlans) ids.push_back(std::to_string(v.id));
        return "expected a VLAN of port " + quoted(port) + " after the dot, got " + quoted(s) +
               (ids.empty() ? std::string(" (the port has no vlans)") : " (its vlans: " + name_list(ids) + ")");
    }
    const bool any_vlans = std::any_of(known.port_defs->begin(), known.port_defs->end(),
                                       [](const Port& p) { return !p.vlans.empty(); });
    return "expected " + port_names_hint(known.ports) + (any_vlans ? ", or PORT.VID for one of a port's vlans" : "") +
           ", got " + quoted(s);
}

// `addr` is set when the real's address was read, whatever else is wrong with the real.
std::optional<RealServer> read_real(Errors& errs, const Field& item, const Service& svc, bool svc_ok,
                                    std::optional<RealAddress>& addr, const Known& known) {
    if (!expect_map(errs, item)) return std::nullopt;
    MapFields m(errs, item, {"ip", "port", "weight", "mac", "inhibit_on_failure", "health_check", "egress",
                             "u_threshold", "l_threshold", "notify_up", "notify_down"});
    RealServer r;
    r.port = svc.port;
    bool ok = svc_ok;
    if (auto f = m.need("ip")) {
        auto ip = read_ip(errs, *f);
        if (ip && svc_ok && ip->family != svc.vip.family) {
            errs.add(*f, std::string("expected an ") + (svc.vip.is_v4() ? "IPv4" : "IPv6") +
                             " address like the vip, got " + describe(f->node));
            ip.reset();
        }
        if (std::string why = ip ? real_address_problem(*ip) : ""; !why.empty()) {
            errs.add(*f, "expected a unicast address, got " + describe(f->node) + " (" + why + ")");
            ip.reset();
        }
        if (ip) {
            r.ip = *ip;
            addr = RealAddress{*ip, *f};
        }
        ok = ok && ip.has_value();
    } else {
        ok = false;
    }
    bool port_ok = svc_ok;
    if (auto f = m.get("port")) {
        auto p = read_uint(errs, *f, 0, 65535);
        // Direct Routing leaves the packet as the client sent it: the real server gets the service's
        // port, which is why ipvsadm forces it for DR. Another port would only be a lie in the listing.
        if (p && svc_ok && *p != svc.port) {
            errs.add(*f, "real server " + (r.ip.family ? r.ip.str() : std::string("?")) + ": port " +
                             std::to_string(*p) + " differs from the service's port " + std::to_string(svc.port) +
                             " (Direct Routing forwards to the service's port; leave port out, and give its "
                             "health_check connect_port " + std::to_string(*p) + " to probe that port)");
            p.reset();
        }
        if (p) r.port = static_cast<uint16_t>(*p);
        port_ok = p.has_value();
        ok = ok && p.has_value();
    }
    if (auto f = m.get("weight"))
        if (auto w = read_uint(errs, *f, 0, 65535)) r.weight = static_cast<uint16_t>(*w);
    if (auto f = m.get("mac"))
        if (auto mac = read_mac(errs, *f)) {
            r.mac = *mac;
            r.has_mac = true;
        }
    if (auto f = m.get("inhibit_on_failure"))
        if (auto b = read_bool(errs, *f)) r.inhibit_on_failure = *b;
    if (auto f = m.get("egress"))  // PORT or PORT.VID; resolved once every port is read (resolve_egress)
        if (auto s = read_string(errs, *f)) {
            if (std::string why = egress_problem(known, *s); !why.empty())
                errs.add(*f, why);
            else
                r.egress = *s;
        }
    if (auto f = m.get("health_check")) r.health_check = read_health_check(errs, *f, r, port_ok);
    if (auto f = m.get("notify_up")) read_command_line(errs, *f, r.notify_up);
    if (auto f = m.get("notify_down")) read_command_line(errs, *f, r.notify_down);
    read_thresholds(errs, m, r);
    // Only a real whose address is known can take part in the duplicate check.
    if (!ok) return std::nullopt;
    return r;
}

void read_reals(Errors& errs, const Field& f, Service& svc, bool svc_ok, size_t index,
                std::vector<RealAddress>& addresses, const Known& known) {
    std::map<std::string, std::string> seen;  // ip:port -> path of its first use
    for (const Field& item : read_list(errs, f)) {
        std::optional<RealAddress> addr;
        auto r = read_real(errs, item, svc, svc_ok, addr, known);
        if (addr) {
            addr->service = index;
            addresses.push_back(*addr);
        }
        if (!r) continue;
        std::string ep = endpoint(r->ip, r->port);
        if (!seen.emplace(ep, item.path).second)
            errs.add(item, "duplicate real server " + ep + ", first at " + seen[ep]);
        svc.reals.push_back(*r);
    }
}

// keepalived's sorry_server: {ip, port, mac, egress}, a real of its own kind that no health check
// watches. Its address goes to `addresses` (a vip or the director's own address is refused as for a
// real); one of the service's reals may not be it, or the two would be one real in the listing.
void read_sorry_server(Errors& errs, const Field& f, Service& svc, bool svc_ok, size_t index,
                       std::vector<RealAddress>& addresses, const Known& known) {
    if (!expect_map(errs, f)) return;
    MapFields m(errs, f, {"ip", "port", "mac", "egress"});
    RealServer r;
    r.port = svc.port;
    bool ok = svc_ok;
    if (auto ip_f = m.need("ip")) {
        auto ip = read_ip(errs, *ip_f);
        if (ip && svc_ok && ip->family != svc.vip.family) {
            errs.add(*ip_f, std::string("expected an ") + (svc.vip.is_v4() ? "IPv4" : "IPv6") +
                                " address like the vip, got " + describe(ip_f->node));
            ip.reset();
        }
        if (std::string why = ip ? real_address_problem(*ip) : ""; !why.empty()) {
            errs.add(*ip_f, "expected a unicast address, got " + describe(ip_f->node) + " (" + why + ")");
            ip.reset();
        }
        if (ip) {
            for (const RealServer& real : svc.reals)
                if (real.ip == *ip) {
                    errs.add(*ip_f, "expected an address that is not one of the service's real_servers, got " +
                                        describe(ip_f->node) + " (the sorry server takes over from them)");
                    ip.reset();
                    break;
                }
        }
        if (ip) {
            r.ip = *ip;
            addresses.push_back(RealAddress{*ip, *ip_f, index});
        }
        ok = ok && ip.has_value();
    } else {
        ok = false;
    }
    if (auto p_f = m.get("port")) {
        auto p = read_uint(errs, *p_f, 0, 65535);
        if (p && svc_ok && *p != svc.port) {
            errs.add(*p_f, "sorry server: port " + std::to_string(*p) + " differs from the service's port " +
                               std::to_string(svc.port) + " (Direct Routing forwards to the service's port; leave "
                               "port out)");
            p.reset();
        }
        ok = ok && p.has_value();
    }
    if (auto mac_f = m.get("mac"))
        if (auto mac = read_mac(errs, *mac_f)) {
            r.mac = *mac;
            r.has_mac = true;
        }
    if (auto e = m.get("egress"))  // PORT or PORT.VID, as a real's
        if (auto name = read_string(errs, *e)) {
            if (std::string why = egress_problem(known, *name); !why.empty())
                errs.add(*e, why);
            else
                r.egress = *name;
        }
    if (ok) svc.sorry_server = r;
}

// quorum, hysteresis, quorum_up and quorum_down (keepalived's), and sorry_server_inhibit, which
// needs a sorry_server.
void read_quorum(Errors& errs, const MapFields& m, Service& svc) {
    if (auto f = m.get("quorum"))
        if (auto v = read_uint(errs, *f, 1, kMaxQuorum)) svc.quorum = static_cast<uint32_t>(*v);
    if (auto f = m.get("hysteresis"))
        if (auto v = read_uint(errs, *f, 0, kMaxQuorum)) {
            // quorum - hysteresis is the weight below which the service goes down: at least 1.
            if (*v >= svc.quorum)
                errs.add(*f, "expected a hysteresis below the quorum (" + std::to_string(svc.quorum) + "), got " +
                                 describe(f->node));
            else
                svc.hysteresis = static_cast<uint32_t>(*v);
        }
    if (auto f = m.get("quorum_up")) read_command_line(errs, *f, svc.quorum_up);
    if (auto f = m.get("quorum_down")) read_command_line(errs, *f, svc.quorum_down);
    if (auto f = m.get("sorry_server_inhibit"))
        if (auto b = read_bool(errs, *f)) {
            if (*b && !m.get("sorry_server"))
                errs.add(*f, "expected sorry_server_inhibit only with a sorry_server, got true");
            else
                svc.sorry_server_inhibit = *b;
        }
}

// persistence_granularity: a netmask like 255.255.255.0 (IPv4) or a prefix length, as a prefix length.
std::optional<uint8_t> read_granularity(Errors& errs, const Field& f, const Service& svc) {
    const unsigned bits = svc.vip.family == 6 ? 128 : 32;
    if (f.node.IsScalar())
        if (auto mask = IpAddr::parse(f.node.Scalar()); mask && mask->is_v4() && svc.vip.family == 4) {
            uint32_t m = 0;
            for (int i = 0; i < 4; i++) m = m << 8 | mask->b[i];
            unsigned len = 0;
            while (len < 32 && (m >> (31 - len) & 1)) len++;
            if (len > 0 && (len == 32 || (m << len) == 0)) return static_cast<uint8_t>(len);
            errs.add(f, "expected a netmask of leading ones like 255.255.255.0, got " + describe(f.node));
            return std::nullopt;
        }
    std::string what = svc.vip.family == 6 ? "a prefix length 1..128"
                                           : "a netmask like 255.255.255.0 or a prefix length 1..32";
    bool digits = f.node.IsScalar() && !f.node.Scalar().empty() && f.node.Scalar().size() <= 3 &&
                  f.node.Scalar().find_first_not_of("0123456789") == std::string::npos &&
                  (f.node.Scalar().size() == 1 || f.node.Scalar()[0] != '0');
    if (digits) {
        unsigned len = static_cast<unsigned>(std::stoul(f.node.Scalar()));
        if (len >= 1 && len <= bits) return static_cast<uint8_t>(len);
    }
    errs.add(f, "expected " + what + ", got " + describe(f.node));
    return std::nullopt;
}

// persistence_granularity, ops and scheduler_flags: each only where IPVS gives it a meaning.
// `svc_ok`: vip, port and protocol were read.
void read_ipvs_service_options(Errors& errs, const MapFields& m, Service& svc, bool svc_ok) {
    if (auto f = m.get("persistence_granularity")) {
        if (svc.persistence_timeout_s == 0)
            errs.add(*f, "expected persistence_granularity only with a persistence_timeout, got " + describe(f->node));
        else if (svc_ok)
            if (auto len = read_granularity(errs, *f, svc)) svc.persistence_prefix_len = *len;
    }
    if (auto f = m.get("ops"))
        if (auto b = read_bool(errs, *f)) {
            if (*b && svc_ok && svc.proto != kProtoUdp)
                errs.add(*f, "expected ops (one-packet scheduling) only on a udp service, got true on tcp");
            else
                svc.ops = *b;
        }
    if (auto f = m.get("scheduler_flags")) {
        if (!f->node.IsSequence()) {
            errs.add(*f, "expected a list, got " + describe(f->node));
            return;
        }
        size_t i = 0;
        for (const YAML::Node& n : f->node) {
            Field item{n, n.Mark(), item_path(f->path, i++)};
            auto flag = read_choice(errs, item, kSchedFlags);
            if (!flag) continue;
            if (flag->sched != svc.sched)
                errs.add(item, std::string("expected a flag of the service's scheduler ") + sched_name(svc.sched) +
                                   ", got " + describe(n) + " (for " + sched_name(flag->sched) + ")");
            else
                svc.sched_flags |= flag->flag;
        }
    }
}

// One service. Returns whether vip, port and protocol were all read, i.e. whether the service can
// take part in the duplicate check.
// `name_f` is set to the name's field when one was given; `name_ok` says nothing is wrong with the name.
// The addresses of its reals go to `reals`, to be checked once every vip is known.
bool read_service(Errors& errs, const Field& item, Service& svc, std::optional<Field>& name_f, bool& name_ok,
                  size_t index, std::vector<RealAddress>& reals, const Known& known) {
    name_ok = false;
    if (!expect_map(errs, item)) return false;
    MapFields m(errs, item, {"name", "vip", "port", "protocol", "scheduler", "persistence_timeout", "answer_arp",
                             "mh_table_size", "timeouts", "delay_loop", "real_servers", "persistence_granularity",
                             "ops", "scheduler_flags", "sorry_server", "sorry_server_inhibit", "quorum",
                             "hysteresis", "quorum_up", "quorum_down"});
    bool ok = true;
    name_ok = true;
    name_f = m.get("name");
    if (name_f) {
        auto s = read_name(errs, *name_f);
        if (s) svc.name = *s;
        name_ok = s.has_value();
    }
    if (auto f = m.need("vip")) {
        auto ip = read_vip(errs, *f);
        if (ip) svc.vip = *ip;
        ok = ok && ip.has_value();
    } else {
        ok = false;
    }
    if (auto f = m.need("port")) {
        auto p = read_uint(errs, *f, 0, 65535);
        if (p) svc.port = static_cast<uint16_t>(*p);
        ok = ok && p.has_value();
    } else {
        ok = false;
    }
    if (auto f = m.need("protocol")) {
        auto p = read_choice(errs, *f, kProtocols);
        if (p) svc.proto = *p;
        ok = ok && p.has_value();
    } else {
        ok = false;
    }
    if (auto f = m.get("scheduler"))
        if (auto s = read_choice(errs, *f, kSchedulers)) svc.sched = *s;
    if (auto f = m.get("persistence_timeout"))
        if (auto s = read_uint(errs, *f, 0, kMaxPersistenceS)) svc.persistence_timeout_s = static_cast<uint32_t>(*s);
    if (auto f = m.get("answer_arp"))
        if (auto b = read_bool(errs, *f)) svc.answer_arp = *b;
    read_ipvs_service_options(errs, m, svc, ok);
    if (auto f = m.get("mh_table_size")) read_mh_table_size(errs, *f, svc.mh_table_size);
    if (auto f = m.get("timeouts")) read_timeouts(errs, *f, svc.timeouts);
    svc.timeouts.ms[kTemplateState] = svc.persistence_timeout_s * 1000;
    if (auto f = m.get("delay_loop"))
        if (auto s = read_uint(errs, *f, 1, kMaxTimeoutS)) svc.delay_loop_s = static_cast<uint32_t>(*s);
    if (auto f = m.need("real_servers")) read_reals(errs, *f, svc, ok, index, reals, known);
    if (auto f = m.get("sorry_server")) read_sorry_server(errs, *f, svc, ok, index, reals, known);
    read_quorum(errs, m, svc);
    return ok;
}

// The data plane indexes per-core counters by service and dest id, so both counts are hard limits.
void check_limits(Errors& errs, const Field& f) {
    if (!f.node.IsSequence()) return;
    if (f.node.size() > kMaxServices)
        errs.add(f, "at most " + std::to_string(kMaxServices) + " services, got " + std::to_string(f.node.size()));
    size_t reals = 0;
    for (const YAML::Node& s : f.node) {
        if (!s.IsMap()) continue;
        // Walk the pairs: indexing a const map by a missing key gives a node that throws when asked its type.
        for (const auto& kv : s)
            if (kv.first.IsScalar() && kv.first.Scalar() == "real_servers") {
                if (kv.second.IsSequence()) reals += kv.second.size();
                break;  // a repeated key is reported elsewhere and not used
            }
        for (const auto& kv : s)  // a sorry server takes a dest id too
            if (kv.first.IsScalar() && kv.first.Scalar() == "sorry_server") {
                reals++;
                break;
            }
    }
    if (reals > kMaxDests)
        errs.add(f, "at most " + std::to_string(kMaxDests) + " real servers over all services, got " +
                        std::to_string(reals));
}

// A real server is a host of its own: never a vip (frames for a vip come back to a director) nor one
// of the director's own addresses.
void check_real_addresses(Errors& errs, const std::vector<RealAddress>& reals, const std::vector<Service>& services,
                          const Known& known) {
    std::map<IpAddr, size_t> vip_of;  // vip -> index of the first service with it
    for (size_t i = 0; i < services.size(); i++)
        if (services[i].vip.family != 0) vip_of.emplace(services[i].vip, i);
    for (const RealAddress& r : reals) {
        const std::string got = "expected the real server's own address, got ";
        if (services[r.service].vip == r.ip) {
            errs.add(r.field, got + "the service's vip " + describe(r.field.node) + " (" + kRealHoldsVip + ")");
        } else if (auto v = vip_of.find(r.ip); v != vip_of.end()) {
            errs.add(r.field, got + describe(r.field.node) + ", the vip of " + item_path("services", v->second) +
                                  " (a director answers for it)");
        } else {
            for (const auto& [ip, path] : known.own_addresses)
                if (ip == r.ip) {
                    errs.add(r.field, got + describe(r.field.node) + ", the director's own address at " + path);
                    break;
                }
        }
    }
}

void read_services(Errors& errs, const Field& f, std::vector<Service>& out, Known& known) {
    check_limits(errs, f);
    known.services_ok = known.vips_ok = f.node.IsSequence();
    std::map<std::string, std::string> seen;   // "TCP vip:port" -> path of its first use
    std::map<std::string, std::string> names;  // name -> path of its first use
    std::vector<RealAddress> reals;
    for (const Field& item : read_list(errs, f)) {
        Service svc;
        std::optional<Field> name_f;
        bool name_ok = false;
        if (read_service(errs, item, svc, name_f, name_ok, out.size(), reals, known)) {
            std::string key = std::string(proto_name(svc.proto)) + " " + endpoint(svc.vip, svc.port);
            if (!seen.emplace(key, item.path).second)
                errs.add(item, "duplicate service " + key + ", first at " + seen[key]);
        }
        known.vips_ok = known.vips_ok && svc.vip.family != 0;
        known.services_ok = known.services_ok && name_ok;
        // vrrp_instances[].track_services names services, so a name must say which one.
        if (name_f && name_ok && !names.emplace(svc.name, item.path).second)
            errs.add(*name_f, "duplicate service name " + quoted(svc.name) + ", first at " + names[svc.name]);
        if (!svc.name.empty()) known.services.push_back(svc.name);
        if (svc.vip.family != 0) known.vips.push_back(svc.vip);
        out.push_back(std::move(svc));
    }
    check_real_addresses(errs, reals, out, known);
}

void read_control(Errors& errs, const Field& f, ControlConfig& out) {
    if (!expect_map(errs, f)) return;
    MapFields m(errs, f, {"socket", "mode"});
    if (auto sf = m.get("socket")) {
        // sun_path holds 108 bytes with the terminating NUL.
        constexpr size_t kMaxSocketPath = 107;
        auto s = read_string(errs, *sf);
        if (s && (*s)[0] != '/') {
            errs.add(*sf, "expected an absolute path, got " + describe(sf->node));
        } else if (s && s->size() > kMaxSocketPath) {
            errs.add(*sf, "expected at most " + std::to_string(kMaxSocketPath) +
                              " characters (the limit of a UNIX socket path), got " + std::to_string(s->size()));
        } else if (s) {
            out.socket = *s;
        }
    }
    if (auto mf = m.get("mode")) {
        const std::string s = mf->node.IsScalar() ? mf->node.Scalar() : "";
        size_t digits = s.size() == 4 && s[0] == '0' ? 1 : 0;
        if ((s.size() == 3 || digits == 1) && s.find_first_not_of("01234567", digits) == std::string::npos) {
            const auto mode = static_cast<uint32_t>(std::stoul(s, nullptr, 8));
            // Whoever may connect may reload, drain and set weights. Connecting needs write permission;
            // read and execute grant nothing on a socket, but a mode that looks open is refused too.
            if (mode & 07)
                errs.add(*mf, "expected a mode that gives others no permission (anyone who can connect may "
                              "reload, drain and set weights), got " + describe(mf->node));
            else
                out.mode = mode;
        } else {
            errs.add(*mf, "expected an octal mode like \"0600\", got " + describe(mf->node));
        }
    }
}

void read_announce(Errors& errs, const Field& f, AnnounceConfig& out) {
    if (!expect_map(errs, f)) return;
    out.enabled = true;
    MapFields m(errs, f, {"table", "protocol", "maintenance"});
    if (auto tf = m.need("table")) {
        // 0 is no table to the kernel; 253..255 are its default, main and local tables, which hold
        // routes dplbd must not own.
        if (auto v = read_uint(errs, *tf, 1, 0xffffffffu)) {
            if (*v >= 253 && *v <= 255)
                errs.add(*tf, "expected a table of dplbd's own, not " + std::to_string(*v) +
                                  " (253 default, 254 main and 255 local are the kernel's)");
            else
                out.table = static_cast<uint32_t>(*v);
        }
    }
    if (auto pf = m.get("protocol")) {
        // 0-4: unspec, redirect, kernel, boot, static, which the kernel and `ip route` give out.
        if (auto v = read_uint(errs, *pf, 5, 255)) out.protocol = static_cast<uint8_t>(*v);
    }
    if (auto mf = m.get("maintenance"))
        if (auto b = read_bool(errs, *mf)) out.maintenance = *b;
}

// "127.0.0.1:9642", "[::1]:9642" or "off". Addresses only: a host name would need a resolver at start.
void read_metrics(Errors& errs, const Field& f, MetricsConfig& out) {
    if (!expect_map(errs, f)) return;
    MapFields m(errs, f, {"listen"});
    auto lf = m.get("listen");
    if (!lf) return;
    if (lf->node.IsScalar()) {
        const std::string& s = lf->node.Scalar();
        if (s == "off") {
            out.enabled = false;
            out.listen = "off";
            return;
        }
        std::string host, port;
        if (!s.empty() && s[0] == '[') {
            size_t close = s.find("]:");
            if (close != std::string::npos) {
                host = s.substr(1, close - 1);
                port = s.substr(close + 2);
            }
        } else if (size_t colon = s.rfind(':'); colon != std::string::npos) {
            host = s.substr(0, colon);
            port = s.substr(colon + 1);
        }
        auto ip = IpAddr::parse(host);
        bool bracketed = !s.empty() && s[0] == '[';
        bool port_ok = !port.empty() && port.size() <= 5 && port[0] != '0' &&
                       port.find_first_not_of("0123456789") == std::string::npos && std::stoul(port) <= 65535;
        if (ip && port_ok && ip->is_v6() == bracketed) {
            out.enabled = true;
            out.ip = *ip;
            out.port = static_cast<uint16_t>(std::stoul(port));
            out.listen = endpoint(out.ip, out.port);
            return;
        }
    }
    errs.add(*lf, "expected ADDRESS:PORT, [IPv6]:PORT or off, got " + describe(lf->node));
}

// keepalived's tracking weight: -253..-1 or 1..253, plain decimal; with zero_ok (scripts, whose
// weight 0 says FAULT while failing over the script's own weight) also 0.
std::optional<int64_t> read_track_weight(Errors& errs, const Field& f, bool zero_ok = false) {
    auto fail = [&]() -> std::optional<int64_t> {
        errs.add(f, zero_ok ? "expected a weight -253..253 (0: FAULT while failing), got " + describe(f.node)
                            : "expected a weight -253..-1 or 1..253 (leave weight out to go FAULT while down), got " +
                                  describe(f.node));
        return std::nullopt;
    };
    if (!f.node.IsScalar()) return fail();
    std::string s = f.node.Scalar();
    if (zero_ok && s == "0") return 0;
    bool negative = !s.empty() && s[0] == '-';
    if (negative) s = s.substr(1);
    if (s.empty() || s.size() > 3 || s[0] == '0' || s.find_first_not_of("0123456789") != std::string::npos)
        return fail();
    int64_t v = std::stoll(s);
    if (v > 253) return fail();
    return negative ? -v : v;
}

// A tracked object: a name, or {name: N, weight: W} with keepalived's weight.
std::vector<std::string> read_track_list(Errors& errs, const Field& f, const std::vector<std::string>& names,
                                         bool check, const std::string& what, std::map<std::string, int>& weights,
                                         bool zero_ok = false) {
    std::vector<std::string> out;
    for (const Field& item : read_list(errs, f)) {
        std::optional<std::string> name;
        std::optional<int64_t> weight;
        if (item.node.IsMap()) {
            MapFields m(errs, item, {"name", "weight"});
            if (auto n = m.need("name")) name = read_string(errs, *n);
            if (auto w = m.need("weight")) weight = read_track_weight(errs, *w, zero_ok);
            if (!name || !weight) continue;
        } else {
            name = read_string(errs, item);
            if (!name) continue;
        }
        if (check && std::find(names.begin(), names.end(), *name) == names.end()) {
            errs.add(item, "expected " + what + ", got " + quoted(*name));
            continue;
        }
        if (weight) weights[*name] = static_cast<int>(*weight);
        out.push_back(*name);
    }
    return out;
}

// vrrp_scripts: keepalived's vrrp_script blocks.
void read_vrrp_script(Errors& errs, const Field& item, VrrpScript& vs) {
    if (!expect_map(errs, item)) return;
    MapFields m(errs, item, {"name", "script", "interval", "timeout", "weight", "rise", "fall", "init_fail", "user"});
    if (auto f = m.need("name"))
        if (auto s = read_name(errs, *f)) vs.name = *s;
    if (auto f = m.need("script")) read_command_line(errs, *f, vs.script);
    if (auto f = m.get("interval"))
        if (auto v = read_uint(errs, *f, 1, kMaxScriptS)) vs.interval_s = static_cast<uint32_t>(*v);
    vs.timeout_s = vs.interval_s;
    if (auto f = m.get("timeout"))
        if (auto v = read_uint(errs, *f, 1, kMaxScriptS)) vs.timeout_s = static_cast<uint32_t>(*v);
    if (auto f = m.get("weight"))
        if (auto w = read_track_weight(errs, *f, true)) vs.weight = static_cast<int>(*w);
    if (auto f = m.get("rise"))
        if (auto v = read_uint(errs, *f, 1, kMaxScriptRiseFall)) vs.rise = static_cast<uint32_t>(*v);
    if (auto f = m.get("fall"))
        if (auto v = read_uint(errs, *f, 1, kMaxScriptRiseFall)) vs.fall = static_cast<uint32_t>(*v);
    if (auto f = m.get("init_fail"))
        if (auto b = read_bool(errs, *f)) vs.init_fail = *b;
    if (auto f = m.get("user"))
        if (auto u = read_name(errs, *f)) {
            std::vector<char> buf(16384);
            passwd pw{}, *found = nullptr;
            if (getpwnam_r(u->c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
                errs.add(*f, "unknown user " + quoted(*u));
            } else {
                vs.user = *u;
                vs.uid = pw.pw_uid;
                vs.gid = pw.pw_gid;
            }
        }
}

void read_vrrp_scripts(Errors& errs, const Field& f, std::vector<VrrpScript>& out, Known& known) {
    known.scripts_ok = f.node.IsSequence();
    std::map<std::string, std::string> seen;  // name -> path
    for (const Field& item : read_list(errs, f)) {
        VrrpScript vs;
        read_vrrp_script(errs, item, vs);
        if (vs.name.empty()) {
            known.scripts_ok = false;
            continue;
        }
        if (!seen.emplace(vs.name, item.path).second)
            errs.add(item, "duplicate script name " + quoted(vs.name) + ", first at " + seen[vs.name]);
        known.scripts[vs.name] = vs.weight;
        out.push_back(std::move(vs));
    }
}

// Everything the instances must agree on between them.
struct VrrpSeen {
    std::map<std::string, std::string> names;  // instance name -> path
    std::map<std::string, std::string> vrids;  // "lan0 51 IPv4" -> path
    std::map<std::string, std::string> vips;   // address -> path
};

const char* family_name(uint8_t family) { return family == 6 ? "IPv6" : "IPv4"; }

// Unicast VRRP (keepalived's unicast_peer, unicast_src_ip, unicast_ttl), read after the virtual
// addresses, whose families the peers must match. Peers are other directors: never one of our own
// addresses, a vip, or twice the same.
void read_vrrp_unicast(Errors& errs, const MapFields& m, const Known& known, const std::set<uint8_t>& families,
                       VrrpInstance& vi) {
    auto peers_f = m.get("unicast_peers");
    if (!peers_f) {
        for (const char* key : {"unicast_src_ip", "unicast_ttl"})
            if (auto f = m.get(key)) errs.add(*f, "only with unicast_peers");
        return;
    }
    auto own = [&](const IpAddr& ip) -> std::string {
        for (const auto& [a, path] : known.own_addresses)
            if (a == ip) return "the director's own address at " + path;
        if (std::find(vi.virtual_ipaddresses.begin(), vi.virtual_ipaddresses.end(), ip) !=
                vi.virtual_ipaddresses.end() ||
            std::find(known.vips.begin(), known.vips.end(), ip) != known.vips.end())
            return "a vip";
        return "";
    };
    if (auto f = m.get("unicast_src_ip"))
        if (auto ip = read_ip(errs, *f)) {
            auto mine = known.port_addresses.find(vi.interface);
            std::vector<IpAddr> listed;
            if (mine != known.port_addresses.end())
                for (const IpAddr& a : mine->second)
                    if (a.family == ip->family) listed.push_back(a);
            if (!families.empty() && !families.count(ip->family)) {
                errs.add(*f, std::string("expected an address of the instance's family (its virtual_ipaddresses ") +
                                 "are " + family_name(*families.begin()) + "), got " + describe(f->node));
            } else if (std::string why = real_address_problem(*ip); !why.empty()) {
                errs.add(*f, "expected a unicast address of this director, got " + describe(f->node) + " (" + why +
                                 ")");
            } else if (!listed.empty() && std::find(listed.begin(), listed.end(), *ip) == listed.end()) {
                std::string list;
                for (const IpAddr& a : listed) list += (list.empty() ? "" : ", ") + a.str();
                errs.add(*f, "expected one of the " + std::string(family_name(ip->family)) + " addresses of port " +
                                 vi.interface + " (" + list + "), got " + describe(f->node));
            } else if (own(*ip) == "a vip") {
                errs.add(*f, "expected an address of this director that is not a vip, got " + describe(f->node));
            } else {
                vi.unicast_src_ip = *ip;
            }
        }
    if (auto f = m.get("unicast_ttl"))
        if (auto v = read_uint(errs, *f, 1, 255)) vi.unicast_ttl = static_cast<uint8_t>(*v);
    std::map<IpAddr, std::string> seen;  // peer -> path of its first use
    std::set<uint8_t> peer_families;
    for (const Field& a : read_list(errs, *peers_f)) {
        auto ip = read_ip(errs, a);
        if (!ip) continue;
        const std::string got = "expected another director's address, got " + describe(a.node);
        if (std::string why = real_address_problem(*ip); !why.empty()) {
            errs.add(a, got + " (" + why + ")");
        } else if (!families.empty() && !families.count(ip->family)) {
            errs.add(a, got + ": an " + family_name(ip->family) + " peer, but the instance has no " +
                            family_name(ip->family) + " virtual_ipaddresses");
        } else if (std::string why = own(*ip); !why.empty()) {
            errs.add(a, got + ", " + why);
        } else if (ip->family && *ip == vi.unicast_src_ip) {
            errs.add(a, got + ", the instance's unicast_src_ip");
        } else if (!seen.emplace(*ip, a.path).second) {
            errs.add(a, "duplicate unicast peer " + ip->str() + ", first at " + seen[*ip]);
        } else {
            vi.unicast_peers.push_back(*ip);
            peer_families.insert(ip->family);
        }
    }
    // A family without a peer would send its adverts nowhere: say so rather than fall back to multicast.
    if (!vi.unicast_peers.empty())
        for (uint8_t fam : families)
            if (!peer_families.count(fam))
                errs.add(*peers_f, std::string("expected at least one ") + family_name(fam) + " peer for the " +
                                       family_name(fam) + " virtual_ipaddresses (unicast has no multicast fallback)");
}

const Choices<uint8_t> kAddressScopes = {{"global", 0}, {"site", 200}, {"link", 253}, {"host", 254}};

// "10.0.0.50" or "10.0.0.50/24": an address with an optional prefix length (0: none given).
std::optional<PortAddress> read_address_maybe_len(Errors& errs, const Field& f) {
    if (f.node.IsScalar() && f.node.Scalar().find('/') != std::string::npos) return read_port_address(errs, f);
    auto ip = read_ip(errs, f);
    if (!ip) return std::nullopt;
    return PortAddress{*ip, 0};
}

// One virtual_ipaddresses entry: ADDRESS[/LEN], or {address: ADDRESS[/LEN], label: L, scope: S}.
// The vip of a service is answered by the data plane and takes nothing else; any other address is
// the kernel's (a KernelAddress, prefix_len filled in), unless it is one of the director's own
// addresses, which the kernel holds anyway (VRRP's address owner). The result's prefix_len is 0
// for an address that is not a kernel address.
std::optional<KernelAddress> read_virtual_address(Errors& errs, const Field& f, const Known& known,
                                                  const std::string& port) {
    std::optional<Field> addr_f = f, label_f, scope_f;
    if (f.node.IsMap()) {
        MapFields m(errs, f, {"address", "label", "scope"});
        addr_f = m.need("address");
        label_f = m.get("label");
        scope_f = m.get("scope");
        if (!addr_f) return std::nullopt;
    }
    auto pa = read_address_maybe_len(errs, *addr_f);
    if (!pa) return std::nullopt;
    if (std::string why = vip_address_problem(pa->ip); !why.empty()) {
        errs.add(*addr_f, "expected a unicast address clients can reach, got " + describe(addr_f->node) + " (" + why +
                              ")");
        return std::nullopt;
    }
    KernelAddress ka;
    ka.ip = pa->ip;
    const bool service = std::find(known.vips.begin(), known.vips.end(), pa->ip) != known.vips.end();
    const bool own = std::any_of(known.own_addresses.begin(), known.own_addresses.end(),
                                 [&](const auto& o) { return o.first == pa->ip; });
    const char* not_kernel = service ? "the vip of a service, which the data plane answers for"
                                     : "one of the director's own addresses, which the kernel holds anyway";
    bool ok = true;
    auto refuse = [&](const Field& k, const std::string& what) {
        errs.add(k, what + " only for an address the kernel serves; " + pa->ip.str() + " is " + not_kernel);
        ok = false;
    };
    if (service || own) {
        if (pa->prefix_len) refuse(*addr_f, "a prefix length");
        if (label_f) refuse(*label_f, "a label");
        if (scope_f) refuse(*scope_f, "a scope");
        return ok ? std::optional<KernelAddress>(ka) : std::nullopt;
    }
    ka.prefix_len = pa->prefix_len ? pa->prefix_len : (pa->ip.is_v4() ? 32 : 128);
    if (known.kernel_blind.count(port)) {
        errs.add(*addr_f, "expected the vip of a service: " + pa->ip.str() + " would be served by the kernel, which " +
                              "never sees port " + port + "'s frames (exception_path: off)");
        return std::nullopt;
    }
    // Linux keeps a label and a scope of its choosing for IPv4 addresses only (an IPv6 address's
    // scope follows from the address).
    if (label_f) {
        auto l = read_string(errs, *label_f);
        constexpr size_t kMaxLabel = 14;  // with the ':' a label fits IFNAMSIZ after a 1-character name
        if (pa->ip.is_v6()) {
            errs.add(*label_f, "IPv4 only (Linux keeps no label for an IPv6 address)");
            ok = false;
        } else if (l && (l->empty() || l->size() > kMaxLabel || has_control_char(*l) ||
                         l->find_first_of(" /:") != std::string::npos)) {
            errs.add(*label_f, "expected 1.." + std::to_string(kMaxLabel) +
                                   " characters without spaces, '/', ':' or control characters (dplbd writes "
                                   "\"<interface>:<label>\"), got " + describe(label_f->node));
            ok = false;
        } else if (l) {
            ka.label = *l;
        }
    }
    if (scope_f) {
        if (pa->ip.is_v6()) {
            errs.add(*scope_f, "IPv4 only (Linux derives an IPv6 address's scope from the address)");
            ok = false;
        } else if (auto sc = read_choice(errs, *scope_f, kAddressScopes)) {
            ka.scope = *sc;
        } else {
            ok = false;
        }
    }
    return ok ? std::optional<KernelAddress>(ka) : std::nullopt;
}

void read_vrrp_instance(Errors& errs, const Field& item, const Known& known, VrrpSeen& seen, VrrpInstance& vi) {
    if (!expect_map(errs, item)) return;
    MapFields m(errs, item, {"name", "interface", "state", "virtual_router_id", "priority", "advert_int", "version",
                             "preempt", "preempt_delay", "authentication", "virtual_ipaddresses", "track_interfaces",
                             "track_services", "garp_master_delay", "garp_master_repeat", "unicast_peers",
                             "unicast_src_ip", "unicast_ttl", "track_scripts", "notify_master", "notify_backup",
                             "notify_fault", "notify_stop", "notify"});
    if (auto f = m.need("name"))
        if (auto s = read_name(errs, *f)) {
            vi.name = *s;
            if (!seen.names.emplace(*s, item.path).second)
                errs.add(*f, "duplicate instance name " + quoted(*s) + ", first at " + seen.names[*s]);
        }
    bool iface_ok = false;
    if (auto f = m.need("interface"))
        if (auto s = read_string(errs, *f)) {
            auto it = std::find(known.ports.begin(), known.ports.end(), *s);
            if (known.ports_ok && it == known.ports.end()) {
                errs.add(*f, "expected " + port_names_hint(known.ports) + ", got " + quoted(*s));
            } else {
                vi.interface = *s;
                vi.port_index = static_cast<size_t>(it - known.ports.begin());
                iface_ok = known.ports_ok;
            }
        }
    if (auto f = m.get("state"))
        if (auto s = read_choice(errs, *f, kVrrpStates)) vi.state = *s;
    std::optional<Field> vrid_f = m.need("virtual_router_id");
    std::optional<uint64_t> vrid;
    if (vrid_f) vrid = read_uint(errs, *vrid_f, 1, 255);
    if (vrid) vi.virtual_router_id = static_cast<uint8_t>(*vrid);
    if (auto f = m.get("priority"))
        if (auto p = read_uint(errs, *f, 1, 255)) vi.priority = static_cast<uint8_t>(*p);
    bool version_ok = true;
    if (auto f = m.get("version")) {
        auto v = read_choice(errs, *f, kVrrpVersions);
        if (v) vi.version = *v;
        version_ok = v.has_value();
    }
    if (auto f = m.get("advert_int")) {
        auto cs = f->node.IsScalar() ? parse_centiseconds(f->node.Scalar()) : std::nullopt;
        if (version_ok && vi.version == 2) {
            if (cs && *cs % 100 == 0 && *cs >= 100 && *cs <= 25500)
                vi.advert_int_cs = *cs;
            else
                errs.add(*f, "expected integer 1..255 (fractions need version 3), got " + describe(f->node));
        } else if (cs && *cs >= 1 && *cs <= kMaxAdvertIntV3Cs) {
            vi.advert_int_cs = *cs;
        } else {
            errs.add(*f, "expected seconds 0.01.." + format_centiseconds(kMaxAdvertIntV3Cs) +
                             " with at most 2 decimals, got " + describe(f->node));
        }
    }
    if (auto f = m.get("preempt"))
        if (auto b = read_bool(errs, *f)) vi.preempt = *b;
    if (auto f = m.get("preempt_delay"))
        if (auto v = read_uint(errs, *f, 0, kMaxPreemptDelayS)) vi.preempt_delay_s = static_cast<uint32_t>(*v);
    if (auto f = m.get("authentication")) {
        if (version_ok && vi.version == 3) {
            errs.add(*f, "only with version 2 (VRRPv3 has no authentication)");
        } else if (expect_map(errs, *f)) {
            MapFields a(errs, *f, {"type", "password"});
            std::optional<VrrpAuth> type;
            if (auto tf = a.need("type")) type = read_choice(errs, *tf, kVrrpAuthTypes);
            std::optional<std::string> pass;
            if (auto pf = a.need("password")) pass = read_string(errs, *pf);
            if (type && pass) {
                vi.auth = *type;
                vi.auth_pass = pass->substr(0, kMaxAuthPass);  // what keepalived sends too
            }
        }
    }
    std::set<uint8_t> families;
    if (auto f = m.need("virtual_ipaddresses")) {
        for (const Field& a : read_list(errs, *f)) {
            auto ka = read_virtual_address(errs, a, known, vi.interface);
            if (!ka) continue;
            const IpAddr& ip = ka->ip;
            families.insert(ip.family);
            if (!seen.vips.emplace(ip.str(), a.path).second) {
                errs.add(a, "duplicate virtual address " + ip.str() + ", first at " + seen.vips[ip.str()]);
                continue;
            }
            vi.virtual_ipaddresses.push_back(ip);
            if (ka->prefix_len != 0) vi.kernel_addresses.push_back(*ka);
        }
    }
    // VRRP tells routers apart by interface, router id and family: IPv4 and IPv6 run separately.
    if (iface_ok && vrid)
        for (uint8_t fam : families) {
            std::string key = vi.interface + " " + std::to_string(*vrid) + (fam == 4 ? " IPv4" : " IPv6");
            if (!seen.vrids.emplace(key, item.path).second)
                errs.add(*vrid_f, "duplicate virtual_router_id " + std::to_string(*vrid) + " on " + vi.interface +
                                      " for " + (fam == 4 ? "IPv4" : "IPv6") + ", first at " + seen.vrids[key]);
        }
    if (auto f = m.get("track_interfaces"))
        vi.track_interfaces = read_track_list(errs, *f, known.ports, known.ports_ok, port_names_hint(known.ports),
                                              vi.track_weights);
    if (auto f = m.get("track_services"))
        vi.track_services = read_track_list(errs, *f, known.services, known.services_ok, "the name of a service",
                                            vi.track_weights);
    if (auto f = m.get("track_scripts")) {
        std::vector<std::string> names;
        for (const auto& [n, w] : known.scripts) names.push_back(n);
        std::map<std::string, int> given;
        vi.track_scripts = read_track_list(errs, *f, names, known.scripts_ok,
                                           names.empty() ? "the name of a vrrp_scripts entry"
                                                         : "one of the vrrp_scripts names " + name_list(names),
                                           given, true);
        for (const auto& n : vi.track_scripts) {
            auto g = given.find(n);
            auto own = known.scripts.find(n);
            vi.track_script_weights[n] = g != given.end() ? g->second : own != known.scripts.end() ? own->second : 0;
        }
    }
    for (auto [key, out] : {std::pair{"notify_master", &vi.notify_master}, std::pair{"notify_backup", &vi.notify_backup},
                            std::pair{"notify_fault", &vi.notify_fault}, std::pair{"notify_stop", &vi.notify_stop},
                            std::pair{"notify", &vi.notify}})
        if (auto f = m.get(key)) read_command_line(errs, *f, *out);
    if (auto f = m.get("garp_master_delay"))
        if (auto v = read_uint(errs, *f, 0, kMaxGarpDelayS)) vi.garp_master_delay_s = static_cast<uint32_t>(*v);
    if (auto f = m.get("garp_master_repeat"))
        if (auto v = read_uint(errs, *f, 1, 255)) vi.garp_master_repeat = static_cast<uint32_t>(*v);
    read_vrrp_unicast(errs, m, known, families, vi);
}

void read_vrrp_instances(Errors& errs, const Field& f, const Known& known, std::vector<VrrpInstance>& out) {
    VrrpSeen seen;
    for (const Field& item : read_list(errs, f)) {
        VrrpInstance vi;
        read_vrrp_instance(errs, item, known, seen, vi);
        out.push_back(std::move(vi));
    }
}

// vrrp_sync_groups: keepalived's vrrp_sync_group blocks. Read after the instances: every member must
// be one of them, in one group only, and a group needs two (keepalived drops a group of one with a
// log line; here it is an error, as a group that syncs nothing is a mistake). A group's
// track_scripts are tracked by every member with weight 0 (a failing script puts the group in
// FAULT): keepalived ignores tracking weights in a sync group unless told otherwise.
void read_vrrp_sync_groups(Errors& errs, const Field& f, const Known& known, std::vector<VrrpInstance>& instances,
                           std::vector<VrrpSyncGroup>& out) {
    std::vector<std::string> instance_names;
    for (const VrrpInstance& vi : instances)
        if (!vi.name.empty()) instance_names.push_back(vi.name);
    std::map<std::string, std::string> group_seen;   // group name -> path
    std::map<std::string, std::string> member_seen;  // instance name -> path of its group entry
    for (const Field& item : read_list(errs, f)) {
        if (!expect_map(errs, item)) continue;
        MapFields m(errs, item, {"name", "instances", "track_scripts", "notify_master", "notify_backup",
                                 "notify_fault", "notify_stop", "notify"});
        VrrpSyncGroup g;
        if (auto nf = m.need("name"))
            if (auto s = read_name(errs, *nf)) {
                g.name = *s;
                if (!group_seen.emplace(*s, item.path).second)
                    errs.add(*nf, "duplicate sync group name " + quoted(*s) + ", first at " + group_seen[*s]);
            }
        if (auto lf = m.need("instances")) {
            std::vector<Field> members = read_list(errs, *lf);
            for (const Field& mf : members) {
                auto name = read_string(errs, mf);
                if (!name) continue;
                if (std::find(instance_names.begin(), instance_names.end(), *name) == instance_names.end()) {
                    errs.add(mf, "expected the name of a vrrp_instances entry" +
                                     (instance_names.empty() ? std::string(" (there are none)")
                                                             : " (" + name_list(instance_names) + ")") +
                                     ", got " + quoted(*name));
                    continue;
                }
                if (!member_seen.emplace(*name, mf.path).second) {
                    errs.add(mf, "instance " + quoted(*name) + " is already in a sync group, at " + member_seen[*name]);
                    continue;
                }
                g.instances.push_back(*name);
            }
            if (members.size() == 1) errs.add(*lf, "expected at least two instances (a group of one syncs nothing)");
        }
        if (auto tf = m.get("track_scripts")) {
            std::vector<std::string> names;
            for (const auto& [n, w] : known.scripts) names.push_back(n);
            for (const Field& sf : read_list(errs, *tf)) {
                auto s = read_string(errs, sf);
                if (!s) continue;
                if (known.scripts_ok && !known.scripts.count(*s))
                    errs.add(sf, "expected " +
                                     (names.empty() ? std::string("the name of a vrrp_scripts entry")
                                                    : "one of the vrrp_scripts names " + name_list(names)) +
                                     ", got " + quoted(*s));
                else if (std::find(g.track_scripts.begin(), g.track_scripts.end(), *s) == g.track_scripts.end())
                    g.track_scripts.push_back(*s);
            }
        }
        for (auto [key, dst] : {std::pair{"notify_master", &g.notify_master}, std::pair{"notify_backup", &g.notify_backup},
                                std::pair{"notify_fault", &g.notify_fault}, std::pair{"notify_stop", &g.notify_stop},
                                std::pair{"notify", &g.notify}})
            if (auto nf = m.get(key)) read_command_line(errs, *nf, *dst);
        for (VrrpInstance& vi : instances) {
            if (std::find(g.instances.begin(), g.instances.end(), vi.name) == g.instances.end()) continue;
            vi.sync_group = g.name;
            for (const std::string& s : g.track_scripts)
                if (std::find(vi.track_scripts.begin(), vi.track_scripts.end(), s) == vi.track_scripts.end()) {
                    vi.track_scripts.push_back(s);
                    vi.track_script_weights[s] = 0;
                }
        }
        out.push_back(std::move(g));
    }
}

// sync: the kernel interface (a name as `ip link` shows it), syncid 0..255 as ipvsadm --syncid, an IPv4
// multicast group, a port, a multicast TTL.
void read_sync(Errors& errs, const Field& f, SyncConfig& out) {
    if (!expect_map(errs, f)) return;
    MapFields m(errs, f, {"interface", "syncid", "group", "port", "ttl"});
    out.enabled = true;
    if (auto inf = m.need("interface")) {
        constexpr size_t kMaxIfName = 15;  // IFNAMSIZ with its terminating NUL
        if (auto s = read_string(errs, *inf)) {
            if (s->empty() || s->size() > kMaxIfName || has_control_char(*s) || s->find_first_of(" /") != std::string::npos)
                errs.add(*inf, "expected a kernel interface name (1 to 15 characters, no spaces or '/'), got " +
                                   describe(inf->node));
            else
                out.interface = *s;
        }
    }
    if (auto sf = m.get("syncid"))
        if (auto v = read_uint(errs, *sf, 0, 255)) out.syncid = static_cast<uint8_t>(*v);
    if (auto gf = m.get("group"))
        if (auto ip = read_ip(errs, *gf)) {
            if (!ip->is_v4() || (ip->b[0] & 0xf0) != 0xe0)
                errs.add(*gf, "expected an IPv4 multicast address (224.0.0.0/4), got " + describe(gf->node));
            else
                out.group = *ip;
        }
    if (auto pf = m.get("port"))
        if (auto v = read_uint(errs, *pf, 1, 65535)) out.port = static_cast<uint16_t>(*v);
    if (auto tf = m.get("ttl"))
        if (auto v = read_uint(errs, *tf, 1, 255)) out.ttl = static_cast<uint8_t>(*v);
}

void read_root(Errors& errs, const Field& root, Config& cfg) {
    if (!expect_map(errs, root)) return;
    MapFields m(errs, root, {"ports", "conn_table", "services", "expire_nodest_conn", "conn_reuse_mode", "control",
                             "metrics", "sync", "announce", "vrrp_scripts", "vrrp_instances",
                             "vrrp_sync_groups"});
    Known known;
    known.port_defs = &cfg.ports;
    if (auto f = m.need("ports")) {
        known.ports_ok = f->node.IsSequence();
        read_ports(errs, *f, cfg.ports, known);
    }
    for (const Port& p : cfg.ports) {
        known.ports.push_back(p.name);
        if (p.exception_path == ExceptionPath::off && default_exception_path(p.device) == ExceptionPath::tap)
            known.kernel_blind.insert(p.name);
        for (const PortAddress& a : p.addresses) known.port_addresses[p.name].push_back(a.ip);
    }
    if (auto f = m.get("conn_table")) read_conn_table(errs, *f, cfg);
    // A VRRP-only site (keepalived + nginx on the same hosts) has no services: its instances' addresses
    // are the kernel's.
    if (auto f = m.get("services")) {
        read_services(errs, *f, cfg.services, known);
    } else if (!m.get("vrrp_instances")) {
        errs.add(root.mark, child_path(root.path, "services"),
                 "required key missing (only a configuration with vrrp_instances may leave it out)");
    }
    for (Service& s : cfg.services) {
        for (RealServer& r : s.reals) resolve_egress(cfg.ports, r);
        if (s.sorry_server) resolve_egress(cfg.ports, *s.sorry_server);
    }
    if (auto f = m.get("expire_nodest_conn"))
        if (auto b = read_bool(errs, *f)) cfg.expire_nodest_conn = *b;
    if (auto f = m.get("conn_reuse_mode"))
        if (auto v = read_uint(errs, *f, 0, 3)) cfg.conn_reuse_mode = static_cast<uint8_t>(*v);
    if (auto f = m.get("control")) read_control(errs, *f, cfg.control);
    if (auto f = m.get("metrics")) read_metrics(errs, *f, cfg.metrics);
    if (auto f = m.get("sync")) read_sync(errs, *f, cfg.sync);
    if (auto f = m.get("announce")) read_announce(errs, *f, cfg.announce);
    if (auto f = m.get("vrrp_scripts")) read_vrrp_scripts(errs, *f, cfg.vrrp_scripts, known);
    if (auto f = m.get("vrrp_instances")) read_vrrp_instances(errs, *f, known, cfg.vrrp_instances);
    if (auto f = m.get("vrrp_sync_groups"))
        read_vrrp_sync_groups(errs, *f, known, cfg.vrrp_instances, cfg.vrrp_sync_groups);
}

// ---- reading the text: the guards around yaml-cpp ----

// yaml-cpp's scanner keeps every token of a flow collection that might still turn out to be a mapping
// key until it knows, so `[[[[...` is tokenised to the end of the file (about 240 bytes of memory per
// byte) before the parser gives up at 500 levels: 10 MB of `[` takes gigabytes and seconds. No
// configuration nests anywhere near kMaxFlowDepth, so the first bracket past it stops the load before
// yaml-cpp sees the text. The scan below knows just enough YAML (quotes, comments, block scalars,
// plain scalars) not to count brackets inside strings; where it is unsure it counts less, never more,
// and yaml-cpp's own limit is still there behind it.
constexpr size_t kMaxFlowDepth = 64;

constexpr const char* kUtf8Bom = "\xEF\xBB\xBF";

void check_flow_depth(const std::string& text, const std::string& name) {
    const size_t n = text.size();
    size_t i = text.compare(0, 3, kUtf8Bom) == 0 ? 3 : 0;  // yaml-cpp's columns start after it
    int line = 0, col = 0;
    size_t depth = 0;
    bool node_start = true;  // whether the next non-blank character begins a node (or a key)
    bool blank_before = true;  // a space, tab or line start just before text[i]
    int line_indent = 0;       // the indentation of the current line
    bool in_indent = true;     // still in the leading spaces of the line
    auto advance = [&] {
        if (text[i] == '\n') {
            line++;
            col = 0;
            line_indent = 0;
            in_indent = true;
        } else {
            col++;
        }
        i++;
    };
    auto next_is_blank = [&](size_t j) {
        return j >= n || text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r';
    };
    while (i < n) {
        const char c = text[i];
        if (c == '\n') {
            advance();
            blank_before = true;
            if (depth == 0) node_start = true;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r') {
            if (in_indent && c == ' ') line_indent++;
            advance();
            blank_before = true;
            continue;
        }
        in_indent = false;
        if (c == '#' && blank_before) {  // a comment, to the end of the line
            while (i < n && text[i] != '\n') advance();
            continue;
        }
        blank_before = false;
        if ((c == '"' || c == '\'') && node_start) {  // a quoted scalar, which may span lines
            advance();
            while (i < n) {
                if (c == '"' && text[i] == '\\' && i + 1 < n) {
                    advance();
                } else if (text[i] == c) {
                    if (c == '\'' && i + 1 < n && text[i + 1] == '\'') {
                        advance();
                    } else {
                        break;
                    }
                }
                advance();
            }
            if (i < n) advance();  // the closing quote
            node_start = false;
            continue;
        }
        if ((c == '&' || c == '!') && node_start) {  // an anchor or a tag: the node is still to come
            while (i < n && !next_is_blank(i) &&
                   (depth == 0 || std::string_view(",[]{}").find(text[i]) == std::string_view::npos))
                advance();
            continue;
        }
        if (c == '[' || c == '{') {
            // Inside a flow collection a bracket is always an indicator; outside, only where a node starts.
            if (depth > 0 || node_start) {
                if (++depth > kMaxFlowDepth)
                    throw ConfigError({name + ":" + std::to_string(line + 1) + ":" + std::to_string(col + 1) +
                                       ": yaml: [ and { nested more than " + std::to_string(kMaxFlowDepth) +
                                       " deep"});
                node_start = true;
            } else {
                node_start = false;
            }
            advance();
            continue;
        }
        if (depth > 0) {
            if (c == ']' || c == '}') {
                depth--;
                node_start = false;
            } else {
                node_start = c == ',' || c == ':' || c == '?';
            }
            advance();
            continue;
        }
        if ((c == '|' || c == '>') && node_start) {
            // A block scalar: the rest of this line, then every line that is blank or indented more than
            // this one (a superset of its content, which errs towards counting less).
            const int indent = line_indent;
            while (i < n && text[i] != '\n') advance();
            while (i < n) {
                size_t j = i + 1;  // text[i] is '\n'
                int spaces = 0;
                while (j < n && text[j] == ' ') {
                    j++;
                    spaces++;
                }
                bool blank = j >= n || text[j] == '\n' || text[j] == '\r';
                if (!blank && spaces <= indent) break;
                advance();
                while (i < n && text[i] != '\n') advance();
            }
            node_start = false;
            continue;
        }
        if ((c == '-' || c == '?' || c == ':') && next_is_blank(i + 1)) {
            node_start = true;  // "- ", "? ", ": " each open a node
        } else if (c == '-' && col == 0 && text.compare(i, 3, "---") == 0 && next_is_blank(i + 3)) {
            advance();
            advance();
            node_start = true;  // "--- [a]": the document's node follows on the same line
        } else {
            node_start = false;
        }
        advance();
    }
}

// Where a document starts (its first token) and where its top node is.
struct DocumentPlace {
    YAML::Mark start;
    YAML::Mark root = YAML::Mark::null_mark();
};

// Records the place of the document yaml-cpp's parser reads, and nothing else.
class DocumentPlaces : public YAML::EventHandler {
public:
    DocumentPlace doc;

    void OnDocumentStart(const YAML::Mark& m) override {
        doc = {m, YAML::Mark::null_mark()};
        has_root_ = false;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
    void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { node(m); }
    void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(m);
    }
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        node(m);
    }
    void OnMapEnd() override {}

private:
    void node(const YAML::Mark& m) {
        if (!has_root_) doc.root = m;
        has_root_ = true;
    }
    bool has_root_ = false;
};

// The token yaml-cpp stopped at, as the operator wrote it: one character (they are all indicators
// such as ","), or up to the next blank for anything else.
std::string token_at(const std::string& text, const YAML::Mark& m) {
    // yaml-cpp counts from after a byte order mark.
    const size_t bom = text.compare(0, 3, kUtf8Bom) == 0 ? 3 : 0;
    if (m.pos < 0 || static_cast<size_t>(m.pos) + bom >= text.size()) return "end of file";
    size_t p = static_cast<size_t>(m.pos) + bom;
    if (static_cast<unsigned char>(text[p]) < 0x80) return double_quoted(text.substr(p, 1));
    size_t end = text.find_first_of(" \t\r\n", p);
    return double_quoted(text.substr(p, end == std::string::npos ? std::string::npos : end - p), 20);
}

// The first document of `text`, or nullopt for a stream with none (only comments). Never
// YAML::LoadAll: yaml-cpp (0.7 at least) meets a token that cannot begin a node at the top of a
// document, such as a "," outside brackets, by reporting an empty document and leaving the token
// where it was, so every further call yields another empty document at the same place and LoadAll
// collects them until memory runs out. Here the parser is asked for at most three documents and the
// file is refused when one starts where the one before it started.
std::optional<YAML::Node> first_document(const std::string& text, const std::string& name, Errors& errs) {
    check_flow_depth(text, name);
    try {
        std::istringstream in(text);
        YAML::Parser parser(in);
        DocumentPlaces h;
        std::vector<DocumentPlace> docs;
        while (docs.size() < 3 && parser.HandleNextDocument(h)) {
            if (!docs.empty() && h.doc.start.pos == docs.back().start.pos) {
                // The document before this one was that same token, which yaml-cpp read as an empty
                // document without moving past it.
                throw ConfigError(
                    {position(name, h.doc.start) + ": yaml: unexpected " + token_at(text, h.doc.start)});
            }
            docs.push_back(h.doc);
        }
        if (docs.empty()) return std::nullopt;
        if (docs.size() > 1)
            errs.add(docs[1].root, "",
                     std::string("expected one YAML document, got ") + (docs.size() == 2 ? "2" : "2 or more"));
        // The same parse again, this time into nodes, stopping after the first document.
        return YAML::Load(text);
    } catch (const YAML::Exception& e) {
        // yaml-cpp stops at the first syntax error, so there is only ever one, and it has no field.
        throw ConfigError({position(name, e.mark) + ": yaml: " + e.msg});
    }
}

}  // namespace

Config load_config_string(const std::string& text, const std::string& name, const LoadOptions& options) {
    Errors errs(name);
    errs.check_programs = options.check_programs;
    std::optional<YAML::Node> doc = first_document(text, name, errs);
    Config cfg;
    cfg.file = name;
    // A file with nothing but comments reads as an empty map, so the operator is told which keys
    // are required rather than that "nothing" is not a map.
    Field root{YAML::Node(YAML::NodeType::Map), YAML::Mark::null_mark(), ""};
    if (doc && !doc->IsNull()) root = {*doc, doc->Mark(), ""};
    read_root(errs, root, cfg);
    if (!errs.empty()) throw ConfigError(errs.sorted());
    return cfg;
}

std::string format_centiseconds(uint32_t cs) {
    std::string out = std::to_string(cs / 100);
    if (cs % 100) {
        out += "." + std::to_string(cs % 100 / 10);
        if (cs % 10) out += std::to_string(cs % 10);
    }
    return out;
}

}  // namespace dplb::config
