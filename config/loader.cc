// YAML -> Config. The walk never stops at the first problem: each reader reports what is wrong with
// its own node and the walk goes on with the next one, so an operator sees every mistake in a file at
// once. Nothing here uses yaml-cpp's as<T>(): its conversions accept things we want rejected
// (0x10 for an integer, "yes" for a boolean) and its errors carry no field path.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

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

    void add(const YAML::Mark& m, const std::string& path, const std::string& msg) {
        std::string where = path.empty() ? "(root)" : path;
        list_.push_back({line_of(m), column_of(m), position(file_, m) + ": " + where + ": " + msg});
    }
    void add(const Field& f, const std::string& msg) { add(f.mark, f.path, msg); }

    bool empty() const { return list_.empty(); }

    // In file order, whatever order the checks ran in; same-place messages keep their order.
    std::vector<std::string> sorted() const {
        std::vector<Entry> l = list_;
        std::stable_sort(l.begin(), l.end(), [](const Entry& a, const Entry& b) {
            return a.line != b.line ? a.line < b.line : a.col < b.col;
        });
        std::vector<std::string> out;
        for (const Entry& e : l) out.push_back(e.text);
        return out;
    }

private:
    struct Entry {
        int line;
        int col;
        std::string text;
    };
    std::string file_;
    std::vector<Entry> list_;
};

// A scalar as the operator wrote it, quoted so that spaces and empty strings show.
std::string quoted(const std::string& s) {
    constexpr size_t kMaxShown = 60;
    std::string out = "\"";
    for (size_t i = 0; i < s.size() && i < kMaxShown; i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > kMaxShown) out += "...";
    return out + "\"";
}

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

std::optional<IpAddr> read_ip(Errors& errs, const Field& f) {
    if (f.node.IsScalar())
        if (auto ip = IpAddr::parse(f.node.Scalar())) return ip;
    errs.add(f, "expected an IPv4 or IPv6 address, got " + describe(f.node));
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

// ---- the schema ----

const Choices<Sched> kSchedulers = {{"rr", Sched::rr}, {"wrr", Sched::wrr}, {"lc", Sched::lc},
                                    {"wlc", Sched::wlc}, {"sh", Sched::sh},   {"mh", Sched::mh}};
const Choices<uint8_t> kProtocols = {{"tcp", kProtoTcp}, {"udp", kProtoUdp}};

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

std::string endpoint(const IpAddr& ip, uint16_t port) {
    std::string a = ip.is_v6() ? "[" + ip.str() + "]" : ip.str();
    return a + ":" + std::to_string(port);
}

void read_ports(Errors& errs, const Field& f, std::vector<Port>& out) {
    std::map<std::string, std::string> names, devices;  // value -> path of its first use
    for (const Field& item : read_list(errs, f)) {
        if (!expect_map(errs, item)) continue;
        MapFields m(errs, item, {"name", "device"});
        Port p;
        auto name_f = m.need("name");
        auto dev_f = m.need("device");
        auto name = name_f ? read_string(errs, *name_f) : std::nullopt;
        auto dev = dev_f ? read_string(errs, *dev_f) : std::nullopt;
        // Two ports on one device would make EAL probe it twice; two with one name make logs lie.
        if (name && !names.emplace(*name, item.path).second)
            errs.add(*name_f, "duplicate port name " + quoted(*name) + ", first at " + names[*name]);
        if (dev && !devices.emplace(*dev, item.path).second)
            errs.add(*dev_f, "duplicate device " + quoted(*dev) + ", first at " + devices[*dev]);
        if (name) p.name = *name;
        if (dev) p.device = *dev;
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

// One real server. `svc_ok` says the service's vip and port were read, so family and the default
// port mean something.
std::optional<RealServer> read_real(Errors& errs, const Field& item, const Service& svc, bool svc_ok) {
    if (!expect_map(errs, item)) return std::nullopt;
    MapFields m(errs, item, {"ip", "port", "weight", "mac"});
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
        if (ip) r.ip = *ip;
        ok = ok && ip.has_value();
    } else {
        ok = false;
    }
    if (auto f = m.get("port")) {
        auto p = read_uint(errs, *f, 0, 65535);
        if (p) r.port = static_cast<uint16_t>(*p);
        ok = ok && p.has_value();
    }
    if (auto f = m.get("weight"))
        if (auto w = read_uint(errs, *f, 0, 65535)) r.weight = static_cast<uint16_t>(*w);
    if (auto f = m.need("mac"))
        if (auto mac = read_mac(errs, *f)) r.mac = *mac;
    // Only a real whose address is known can take part in the duplicate check.
    if (!ok) return std::nullopt;
    return r;
}

void read_reals(Errors& errs, const Field& f, Service& svc, bool svc_ok) {
    std::map<std::string, std::string> seen;  // ip:port -> path of its first use
    for (const Field& item : read_list(errs, f)) {
        auto r = read_real(errs, item, svc, svc_ok);
        if (!r) continue;
        std::string ep = endpoint(r->ip, r->port);
        if (!seen.emplace(ep, item.path).second)
            errs.add(item, "duplicate real server " + ep + ", first at " + seen[ep]);
        svc.reals.push_back(*r);
    }
}

// One service. Returns whether vip, port and protocol were all read, i.e. whether the service can
// take part in the duplicate check.
bool read_service(Errors& errs, const Field& item, Service& svc) {
    if (!expect_map(errs, item)) return false;
    MapFields m(errs, item, {"name", "vip", "port", "protocol", "scheduler", "persistence_timeout", "answer_arp",
                             "mh_table_size", "timeouts", "real_servers"});
    bool ok = true;
    if (auto f = m.get("name"))
        if (auto s = read_string(errs, *f)) svc.name = *s;
    if (auto f = m.need("vip")) {
        auto ip = read_ip(errs, *f);
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
    if (auto f = m.get("mh_table_size")) read_mh_table_size(errs, *f, svc.mh_table_size);
    if (auto f = m.get("timeouts")) read_timeouts(errs, *f, svc.timeouts);
    svc.timeouts.ms[kTemplateState] = svc.persistence_timeout_s * 1000;
    if (auto f = m.need("real_servers")) read_reals(errs, *f, svc, ok);
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
    }
    if (reals > kMaxDests)
        errs.add(f, "at most " + std::to_string(kMaxDests) + " real servers over all services, got " +
                        std::to_string(reals));
}

void read_services(Errors& errs, const Field& f, std::vector<Service>& out) {
    check_limits(errs, f);
    std::map<std::string, std::string> seen;  // "TCP vip:port" -> path of its first use
    for (const Field& item : read_list(errs, f)) {
        Service svc;
        if (read_service(errs, item, svc)) {
            std::string key = std::string(proto_name(svc.proto)) + " " + endpoint(svc.vip, svc.port);
            if (!seen.emplace(key, item.path).second)
                errs.add(item, "duplicate service " + key + ", first at " + seen[key]);
        }
        out.push_back(std::move(svc));
    }
}

void read_root(Errors& errs, const Field& root, Config& cfg) {
    if (!expect_map(errs, root)) return;
    MapFields m(errs, root, {"ports", "conn_table", "services"});
    if (auto f = m.need("ports")) read_ports(errs, *f, cfg.ports);
    if (auto f = m.get("conn_table")) read_conn_table(errs, *f, cfg);
    if (auto f = m.need("services")) read_services(errs, *f, cfg.services);
}

}  // namespace

Config load_config_string(const std::string& text, const std::string& name) {
    Errors errs(name);
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
        // yaml-cpp stops at the first syntax error, so there is only ever one, and it has no field.
        throw ConfigError({position(name, e.mark) + ": yaml: " + e.msg});
    }
    Config cfg;
    cfg.file = name;
    // A file with nothing but comments reads as an empty map, so the operator is told which keys
    // are required rather than that "nothing" is not a map.
    Field root{YAML::Node(YAML::NodeType::Map), YAML::Mark::null_mark(), ""};
    if (!docs.empty() && !docs[0].IsNull()) root = {docs[0], docs[0].Mark(), ""};
    if (docs.size() > 1)
        errs.add(docs[1].Mark(), "", "expected one YAML document, got " + std::to_string(docs.size()));
    read_root(errs, root, cfg);
    if (!errs.empty()) throw ConfigError(errs.sorted());
    return cfg;
}

}  // namespace dplb::config
