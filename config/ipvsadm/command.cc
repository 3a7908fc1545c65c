#include "ipvsadm/command.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <array>
#include <cstdlib>

#include "config.h"
#include "text.h"

namespace dplb::config::ipvsadm {
namespace {

enum class Arg : uint8_t { none, required, optional };

// What an option is to the option checks: ipvsadm's names for them in its messages.
enum Opt : uint32_t {
    kService = 1u << 0,
    kScheduler = 1u << 1,
    kPersistent = 1u << 2,
    kNetmask = 1u << 3,
    kReal = 1u << 4,
    kForward = 1u << 5,
    kWeight = 1u << 6,
    kUThreshold = 1u << 7,
    kLThreshold = 1u << 8,
    kNumeric = 1u << 9,
    kConnection = 1u << 10,
    kListFormat = 1u << 11,  // --stats --rate --thresholds --persistent-conn --nosort --sort --exact
    kTimeout = 1u << 12,
    kDaemon = 1u << 13,
    kOps = 1u << 14,
    kSchedFlags = 1u << 15,
};

struct OptionDef {
    const char* long_name;
    char short_name;  // 0: long only
    Arg arg;
    Verb verb;  // Verb::none: an option, not a command
    uint32_t opt;
};

// ipvsadm's options that dplb takes. Others (--pe, --syncid, --start-daemon, -f, tunnels) are
// refused by name.
const std::array<OptionDef, 37> kOptions = {{
    {"add-service", 'A', Arg::none, Verb::add_service, 0},
    {"edit-service", 'E', Arg::none, Verb::edit_service, 0},
    {"delete-service", 'D', Arg::none, Verb::delete_service, 0},
    {"clear", 'C', Arg::none, Verb::clear, 0},
    {"list", 'L', Arg::none, Verb::list, 0},
    {"list", 'l', Arg::none, Verb::list, 0},
    {"zero", 'Z', Arg::none, Verb::zero, 0},
    {"add-server", 'a', Arg::none, Verb::add_real, 0},
    {"edit-server", 'e', Arg::none, Verb::edit_real, 0},
    {"delete-server", 'd', Arg::none, Verb::delete_real, 0},
    {"save", 'S', Arg::none, Verb::save, 0},
    {"restore", 'R', Arg::none, Verb::restore, 0},
    {"set", 0, Arg::none, Verb::set_timeouts, 0},
    {"tcp-service", 't', Arg::required, Verb::none, kService},
    {"udp-service", 'u', Arg::required, Verb::none, kService},
    {"scheduler", 's', Arg::required, Verb::none, kScheduler},
    {"persistent", 'p', Arg::optional, Verb::none, kPersistent},
    {"netmask", 'M', Arg::required, Verb::none, kNetmask},
    {"real-server", 'r', Arg::required, Verb::none, kReal},
    {"gatewaying", 'g', Arg::none, Verb::none, kForward},
    {"ipip", 'i', Arg::none, Verb::none, kForward},
    {"masquerading", 'm', Arg::none, Verb::none, kForward},
    {"weight", 'w', Arg::required, Verb::none, kWeight},
    {"u-threshold", 'x', Arg::required, Verb::none, kUThreshold},
    {"l-threshold", 'y', Arg::required, Verb::none, kLThreshold},
    {"numeric", 'n', Arg::none, Verb::none, kNumeric},
    {"connection", 'c', Arg::none, Verb::none, kConnection},
    {"timeout", 0, Arg::none, Verb::none, kTimeout},
    {"daemon", 0, Arg::none, Verb::none, kDaemon},
    {"stats", 0, Arg::none, Verb::none, kListFormat},
    {"rate", 0, Arg::none, Verb::none, kListFormat},
    {"thresholds", 0, Arg::none, Verb::none, kListFormat},
    {"persistent-conn", 0, Arg::none, Verb::none, kListFormat},
    {"nosort", 0, Arg::none, Verb::none, kListFormat},
    {"sort", 0, Arg::none, Verb::none, kListFormat},
    {"exact", 'X', Arg::none, Verb::none, kListFormat},
    {"ops", 'o', Arg::none, Verb::none, kOps},
}};
const OptionDef kSchedFlagsDef = {"sched-flags", 'b', Arg::required, Verb::none, kSchedFlags};

// Options each command takes (ipvsadm's commands_v_options) and those it needs.
struct VerbRule {
    Verb verb;
    uint32_t allowed;
    uint32_t needed;
};
const std::array<VerbRule, 12> kVerbRules = {{
    {Verb::add_service, kService | kScheduler | kPersistent | kNetmask | kOps | kSchedFlags, kService},
    {Verb::edit_service, kService | kScheduler | kPersistent | kNetmask | kOps | kSchedFlags, kService},
    {Verb::delete_service, kService, kService},
    {Verb::add_real, kService | kReal | kForward | kWeight | kUThreshold | kLThreshold, kService | kReal},
    {Verb::edit_real, kService | kReal | kForward | kWeight | kUThreshold | kLThreshold, kService | kReal},
    {Verb::delete_real, kService | kReal, kService | kReal},
    {Verb::clear, 0, 0},
    {Verb::list, kService | kNumeric | kConnection | kListFormat | kTimeout | kDaemon, 0},
    {Verb::zero, kService, 0},
    {Verb::save, kNumeric, 0},
    {Verb::restore, 0, 0},
    {Verb::set_timeouts, 0, 0},
}};

// ipvsadm's names for options in its "Illegal ... option" messages.
const char* opt_name(uint32_t o) {
    switch (o) {
    case kService: return "service-address";
    case kScheduler: return "scheduler";
    case kPersistent: return "persistent";
    case kNetmask: return "netmask";
    case kReal: return "real-server";
    case kForward: return "forwarding-method";
    case kWeight: return "weight";
    case kUThreshold: return "u-threshold";
    case kLThreshold: return "l-threshold";
    case kNumeric: return "numeric";
    case kConnection: return "connection";
    case kListFormat: return "list format";
    case kTimeout: return "timeout";
    case kDaemon: return "daemon";
    case kOps: return "ops";
    case kSchedFlags: return "sched-flags";
    }
    return "?";
}

[[noreturn]] void fail(const std::string& msg) { throw ConfigError({msg}); }

std::optional<uint64_t> number(const std::string& s) {
    if (s.empty() || s.size() > 10 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::strtoull(s.c_str(), nullptr, 10);
}

uint32_t number_in(const std::string& s, uint64_t lo, uint64_t hi, const std::string& what) {
    auto n = number(s);
    if (!n || *n < lo || *n > hi)
        fail("illegal " + what + " specified: " + double_quoted(s, 40) + " (expected " + std::to_string(lo) + "-" +
             std::to_string(hi) + ")");
    return static_cast<uint32_t>(*n);
}

// ADDR[:PORT], [V6ADDR][:PORT]: ipvsadm's parse_service. Returns whether a port was given.
bool parse_address(const std::string& s, uint8_t proto, IpAddr& ip, uint16_t& port, const std::string& what) {
    std::string host = s, portstr;
    if (!s.empty() && s[0] == '[') {
        size_t close = s.find(']');
        if (close == std::string::npos) fail("illegal " + what + " specified: " + double_quoted(s, 60));
        host = s.substr(1, close - 1);
        std::string rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest[0] != ':') fail("illegal " + what + " specified: " + double_quoted(s, 60));
            portstr = rest.substr(1);
        }
    } else if (size_t colon = s.find(':'); colon != std::string::npos) {
        if (s.find(':', colon + 1) != std::string::npos)
            fail("illegal " + what + " specified: " + double_quoted(s, 60) + " (an IPv6 address goes in [])");
        host = s.substr(0, colon);
        portstr = s.substr(colon + 1);
    }
    auto a = IpAddr::parse(host);
    if (!a || (s[0] == '[') != (a->family == 6))
        fail("illegal " + what + " specified: " + double_quoted(s, 60) +
             " (a numeric address; dplb does not resolve host names: save with ipvsadm -S -n)");
    ip = *a;
    if (portstr.empty()) return false;
    if (auto n = number(portstr); n && *n <= 65535) {
        port = static_cast<uint16_t>(*n);
        return true;
    }
    // A service name, as ipvsadm writes ports without -n.
    if (const servent* se = getservbyname(portstr.c_str(), proto == kProtoUdp ? "udp" : "tcp")) {
        port = ntohs(static_cast<uint16_t>(se->s_port));
        return true;
    }
    fail("illegal " + what + " specified: " + double_quoted(s, 60) + " (unknown port " + double_quoted(portstr, 40) +
         ")");
}

// -M: a dotted netmask for IPv4 (contiguous ones), a prefix length for IPv6.
uint8_t parse_netmask(const std::string& s, bool v6) {
    if (v6) return static_cast<uint8_t>(number_in(s, 1, 128, "ipv6 netmask"));
    auto a = IpAddr::parse(s);
    if (!a || a->family != 4) fail("illegal virtual server persistent mask specified: " + double_quoted(s, 40));
    uint32_t m = (uint32_t(a->b[0]) << 24) | (uint32_t(a->b[1]) << 16) | (uint32_t(a->b[2]) << 8) | a->b[3];
    uint8_t len = 0;
    while (len < 32 && (m & (1u << (31 - len)))) len++;
    if (len == 0 || (len < 32 && (m << len) != 0))
        fail("illegal virtual server persistent mask specified: " + double_quoted(s, 40) +
             " (expected contiguous ones, 128.0.0.0 to 255.255.255.255)");
    return len;
}

const OptionDef* find_long(const std::string& name) {
    if (name == kSchedFlagsDef.long_name) return &kSchedFlagsDef;
    for (const OptionDef& d : kOptions)
        if (name == d.long_name) return &d;
    return nullptr;
}

const OptionDef* find_short(char c) {
    if (c == kSchedFlagsDef.short_name) return &kSchedFlagsDef;
    for (const OptionDef& d : kOptions)
        if (d.short_name == c) return &d;
    return nullptr;
}

// Options of ipvsadm that dplb has no counterpart for: said by name rather than as unknown.
std::string not_supported(const std::string& word) {
    static const std::array<std::pair<const char*, const char*>, 12> kNo = {{
        {"-f", "fwmark services"},
        {"--fwmark-service", "fwmark services"},
        {"--pe", "persistence engines"},
        {"--start-daemon", "the connection sync daemon"},
        {"--stop-daemon", "the connection sync daemon"},
        {"--syncid", "the connection sync daemon"},
        {"--mcast-interface", "the connection sync daemon"},
        {"--tun-type", "tunnels"},
        {"--tun-port", "tunnels"},
        {"--tun-nocsum", "tunnels"},
        {"--tun-csum", "tunnels"},
        {"--tun-remcsum", "tunnels"},
    }};
    for (const auto& [w, what] : kNo)
        if (word == w || word.rfind(std::string(w) + "=", 0) == 0)
            return std::string(w) + ": dplb has no " + what;
    return "";
}

}  // namespace

const char* verb_option(Verb v) {
    for (const OptionDef& d : kOptions)
        if (d.verb == v) return d.long_name;
    return "";
}

std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
        size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') j++;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

Command parse(const std::vector<std::string>& args) {
    Command c;
    uint32_t seen = 0;
    std::vector<std::string> positional;
    std::string service_text, real_text, netmask_text;

    // Applies one option with its value (if it takes one).
    auto apply = [&](const OptionDef& d, const std::string& written, const std::optional<std::string>& value) {
        c.given.push_back(written);
        if (d.verb != Verb::none) {
            if (c.verb != Verb::none && c.verb != d.verb) fail("multiple commands specified");
            c.verb = d.verb;
            return;
        }
        if ((seen & d.opt) && d.opt != kListFormat)
            fail("multiple '" + std::string(opt_name(d.opt)) + "' options specified");
        seen |= d.opt;
        const std::string v = value.value_or("");
        switch (d.short_name) {
        case 't':
        case 'u':
            c.has_service = true;
            c.proto = d.short_name == 'u' ? kProtoUdp : kProtoTcp;
            service_text = v;
            break;
        case 's': c.scheduler = v; break;
        case 'p': c.persistence_s = value ? number_in(v, 1, kMaxPersistenceS, "persistent timeout") : 300; break;
        case 'M': netmask_text = v; break;
        case 'r':
            c.has_real = true;
            real_text = v;
            break;
        case 'g':
        case 'i':
        case 'm':
            c.forward_given = true;
            c.forward = d.short_name == 'g' ? Forward::gatewaying : d.short_name == 'i' ? Forward::ipip : Forward::masquerading;
            break;
        case 'w': c.weight = number_in(v, 0, 65535, "weight"); break;
        case 'x': c.u_threshold = number_in(v, 0, 2147483647, "u_threshold"); break;
        case 'y': c.l_threshold = number_in(v, 0, 2147483647, "l_threshold"); break;
        case 'n': c.numeric = true; break;
        case 'c': c.connection = true; break;
        case 'X': c.exact = true; break;
        case 'o': c.ops = true; break;
        case 'b':
            for (size_t i = 0; i <= v.size();) {
                size_t j = v.find(',', i);
                if (j == std::string::npos) j = v.size();
                c.sched_flags.push_back(v.substr(i, j - i));
                i = j + 1;
            }
            break;
        default: {
            const std::string n = d.long_name;
            if (n == "timeout") c.timeout = true;
            else if (n == "daemon") c.daemon = true;
            else if (n == "stats") c.stats = true;
            else if (n == "rate") c.rate = true;
            else if (n == "thresholds") c.thresholds = true;
            else if (n == "persistent-conn") c.persistent_conn = true;
            else if (n == "nosort") c.nosort = true;
            else if (n == "sort") c.nosort = false;
        }
        }
    };

    for (size_t i = 0; i < args.size(); i++) {
        const std::string& w = args[i];
        if (w.size() < 2 || w[0] != '-' || w == "--") {
            positional.push_back(w);
            continue;
        }
        if (std::string why = not_supported(w); !why.empty()) fail(why);
        auto next_value = [&](const OptionDef& d) -> std::optional<std::string> {
            if (d.arg == Arg::none) return std::nullopt;
            bool have = i + 1 < args.size() && (d.arg == Arg::required || args[i + 1].empty() || args[i + 1][0] != '-');
            if (!have) {
                if (d.arg == Arg::required) fail(w + ": needs a value");
                return std::nullopt;
            }
            return args[++i];
        };
        if (w[1] == '-') {
            std::string name = w.substr(2);
            std::optional<std::string> value;
            if (size_t eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name.resize(eq);
            }
            const OptionDef* d = find_long(name);
            if (!d) fail("unknown option " + double_quoted(w, 40));
            if (value && d->arg == Arg::none) fail(w + ": takes no value");
            if (!value) value = next_value(*d);
            apply(*d, "--" + name, value);
            continue;
        }
        // A cluster of short options: -Ln, -w3.
        for (size_t k = 1; k < w.size(); k++) {
            const OptionDef* d = find_short(w[k]);
            if (!d)
                fail("unknown option " + double_quoted(std::string("-") + w[k]) +
                     (w.size() > 2 ? " in " + double_quoted(w, 40) : ""));
            const std::string written = std::string("-") + w[k];
            if (d->arg != Arg::none && k + 1 < w.size()) {
                apply(*d, written, w.substr(k + 1));
                break;
            }
            if (d->arg != Arg::none && k + 1 == w.size()) {
                apply(*d, written, next_value(*d));
                break;
            }
            apply(*d, written, std::nullopt);
        }
    }

    if (c.verb == Verb::none) fail("no command given (one of -A -E -D -a -e -d -C -L -Z -S -R --set)");
    const char* cmd = verb_option(c.verb);
    if (c.verb == Verb::set_timeouts) {
        if (positional.size() != 3 || seen)
            fail("--set takes three timeouts in seconds: --set TCP TCPFIN UDP (0 leaves one as it is)");
        c.tcp_s = number_in(positional[0], 0, kMaxTimeoutS, "tcp timeout");
        c.tcpfin_s = number_in(positional[1], 0, kMaxTimeoutS, "tcpfin timeout");
        c.udp_s = number_in(positional[2], 0, kMaxTimeoutS, "udp timeout");
        return c;
    }
    if (!positional.empty()) fail("unexpected argument " + double_quoted(positional[0], 40));
    for (const VerbRule& r : kVerbRules) {
        if (r.verb != c.verb) continue;
        for (uint32_t o = 1; o <= kSchedFlags; o <<= 1) {
            if ((seen & o) && !(r.allowed & o))
                fail("Illegal '" + std::string(opt_name(o)) + "' option with the '" + cmd + "' command");
            if ((r.needed & o) && !(seen & o))
                fail("You need to supply the '" + std::string(opt_name(o)) + "' option for the '" + cmd + "' command");
        }
    }
    if (c.has_service)
        parse_address(service_text, c.proto, c.vip, c.port, "virtual server address[:port]");
    if (c.has_real) {
        parse_address(real_text, c.proto, c.rip, c.rport, "real server address[:port]");
        // ipvsadm gives a Direct Routing real server the service's port whatever port it names, and
        // dplb forwards by Direct Routing only (its loader refuses another port).
        c.rport = c.port;
        if (c.rip.family != c.vip.family) fail("real server and virtual service address families differ");
    }
    if (seen & kNetmask) c.netmask = parse_netmask(netmask_text, c.vip.family == 6);
    if ((c.verb == Verb::add_service || c.verb == Verb::edit_service) && c.port == 0 && c.persistence_s == 0)
        fail("Zero port specified for non-persistent service");
    if (c.ops && c.proto != kProtoUdp) fail("One-Packet Scheduling is only for UDP virtual services");
    return c;
}

}  // namespace dplb::config::ipvsadm
