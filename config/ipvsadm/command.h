// ipvsadm's command line, read as ipvsadm reads it: one command (-A -E -D -a -e -d -C -L -Z -S -R
// --set) and the options that go with it, short options clustered (-Ln) or with their value attached
// (-w3), long options with `=VALUE` or a separate word, -p with an optional timeout. The same words
// serve `dplbctl ipvsadm ARGS...` and each line of an ipvsadm-save file.
//
// Addresses and ports are numeric, as `ipvsadm -S -n` writes them; a port may also be a service
// name from /etc/services. dplb never resolves host names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "net_types.h"

namespace dplb::config::ipvsadm {

enum class Verb : uint8_t {
    none,
    add_service,     // -A
    edit_service,    // -E
    delete_service,  // -D
    add_real,        // -a
    edit_real,       // -e
    delete_real,     // -d
    clear,           // -C
    list,            // -L, -l
    zero,            // -Z
    save,            // -S
    restore,         // -R
    set_timeouts,    // --set TCP TCPFIN UDP
};

// How IPVS would forward to a real: dplb forwards by direct routing only.
enum class Forward : uint8_t { gatewaying, ipip, masquerading };

struct Command {
    Verb verb = Verb::none;
    // -t / -u
    bool has_service = false;
    uint8_t proto = kProtoTcp;
    IpAddr vip;
    uint16_t port = 0;
    // -A / -E: what ipvsadm sends when an option is not given is its default, so these are set
    std::string scheduler = "wlc";     // -s
    uint32_t persistence_s = 0;        // -p [timeout]: 300 without a value; 0 = not persistent
    std::optional<uint8_t> netmask;    // -M, as a prefix length (IPv4 netmask or IPv6 prefix)
    bool ops = false;                  // -o / --ops
    std::vector<std::string> sched_flags;  // -b, as given: sh-fallback, sh-port, mh-fallback, mh-port
    // -a / -e / -d
    bool has_real = false;
    IpAddr rip;
    uint16_t rport = 0;  // the service's port when not given
    Forward forward = Forward::gatewaying;
    bool forward_given = false;
    uint32_t weight = 1;  // -w
    uint32_t u_threshold = 0, l_threshold = 0;  // -x, -y
    // --set
    uint32_t tcp_s = 0, tcpfin_s = 0, udp_s = 0;  // 0 = leave as it is
    // -L / -S
    bool numeric = false, connection = false, stats = false, rate = false, thresholds = false,
         persistent_conn = false, nosort = false, exact = false, timeout = false, daemon = false;
    std::vector<std::string> given;  // every option as written, for messages
};

// Throws ConfigError with one message naming the word at fault (ipvsadm's wording where it has one).
Command parse(const std::vector<std::string>& args);

// A line of an ipvsadm-save file as words (split on blanks; ipvsadm -R quotes nothing).
std::vector<std::string> split_words(const std::string& line);

// The option that names a verb, as ipvsadm's help writes it ("--add-service").
const char* verb_option(Verb v);

}  // namespace dplb::config::ipvsadm
