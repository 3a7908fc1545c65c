// The director's configuration as typed values, and the loader that reads it from YAML. The loader
// checks everything it can before anything reaches the data plane, and reports every problem it finds
// as FILE:LINE:COL: FIELD: MESSAGE so an operator can fix a file in one go. See config/README.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "net_types.h"
#include "snapshot.h"
#include "tcp_state.h"

namespace dplb::config {

constexpr uint32_t kDefaultConnTableIpv4 = 262144;
constexpr uint32_t kDefaultConnTableIpv6 = 65536;
constexpr uint32_t kMinConnTable = 1024;
constexpr uint32_t kMaxConnTable = 134217728;
constexpr uint32_t kMinMhTableSize = 251;
constexpr uint32_t kMaxMhTableSize = 1048573;  // the largest prime below 2^20
constexpr uint32_t kMaxPersistenceS = 86400;
constexpr uint32_t kMaxTimeoutS = 86400;
constexpr uint32_t kDefaultDelayLoopS = 60;  // keepalived's delay_loop
constexpr uint32_t kMaxCheckS = 3600;        // health check timers
constexpr uint32_t kMaxCheckRetry = 100;
constexpr uint32_t kMaxAdvertIntV3Cs = 4095;  // VRRPv3's 12-bit Max Adver Int, in centiseconds
constexpr uint32_t kMaxPreemptDelayS = 1000;  // keepalived's limit
constexpr uint32_t kMaxGarpDelayS = 3600;
constexpr size_t kMaxAuthPass = 8;  // VRRPv2 simple text password, as keepalived keeps it
constexpr uint32_t kMaxScriptS = 3600;      // vrrp_script interval / timeout
constexpr uint32_t kMaxScriptRiseFall = 100;
constexpr uint32_t kMaxQuorum = 0xffffffff;  // a sum of real weights (each at most 65535)
constexpr uint32_t kNotifyTimeoutS = 30;    // a notify hook still running after this is killed
constexpr size_t kMaxScriptsInFlight = 8;   // children run at once for scripts and hooks (per manager)
constexpr const char* kDefaultControlSocket = "/run/dplb/dplb.sock";
constexpr uint32_t kDefaultControlMode = 0600;
constexpr uint16_t kDefaultMetricsPort = 9642;

// What to do with frames addressed to the director itself (ARP, SSH, BGP, ...).
enum class ExceptionPath : uint8_t {
    off,  // drop them (answering ARP for VIPs and VRRP are handled in the data plane regardless)
    tap,  // hand them to the kernel through a TAP interface
};

// One of the director's own addresses on a port, with its prefix length (10.0.0.2/24).
struct PortAddress {
    IpAddr ip;
    uint8_t prefix_len = 0;
};

// An 802.1Q VLAN on a port: its id and the director's own addresses in it. Frames to a real in one of
// their subnets leave by the port tagged with `id`.
struct PortVlan {
    uint16_t id = 0;                     // 1..4094
    std::vector<PortAddress> addresses;  // may be empty (reals reached by `egress: PORT.VID` only)
};

struct Port {
    std::string name;    // label for logs and metrics
    std::string device;  // DPDK device as EAL knows it: a vdev name or a PCI address
    std::vector<PortAddress> addresses;  // may be empty
    // Ids unique, subnets overlapping neither `addresses` nor each other. A port with VLANs sends
    // frames to reals in its own subnets untagged; one without keeps the tag a frame came with.
    std::vector<PortVlan> vlans;
    // Resolved: `auto` in the file is already turned into off or tap (see default_exception_path).
    ExceptionPath exception_path = ExceptionPath::tap;
    bool exception_path_auto = true;  // whether the file said auto (or nothing)
};

enum class CheckType : uint8_t { tcp, http, misc, ssl, ping, udp, dns, smtp };

// How a real server is health-checked; keepalived's TCP_CHECK, HTTP_GET, MISC_CHECK, SSL_GET,
// PING_CHECK, UDP_CHECK, DNS_CHECK and SMTP_CHECK. Every field
// holds its resolved value: defaults applied, connect_port and timeout_s filled in.
struct HealthCheck {
    CheckType type = CheckType::tcp;
    uint32_t connect_timeout_s = 5;
    uint32_t retry = 1;                 // extra attempts before the real is marked down
    uint32_t delay_before_retry_s = 1;  // 1 for tcp, 3 for the others when not given
    uint32_t warmup_s = 0;              // first check after a random delay in [0, warmup_s]
    bool alpha = false;                 // start DOWN until the first success
    uint16_t connect_port = 0;          // all but misc and ping: the real's port when not given
    // http and ssl
    std::string path;                     // starts with '/'
    std::vector<uint16_t> status_codes;   // sorted, unique; {200} when not given
    std::string digest;                   // md5 of the body, 32 lowercase hex digits; empty = not checked
    // misc
    std::string script;    // command line: program and arguments separated by spaces
    uint32_t timeout_s = 0;  // script timeout; connect_timeout_s when not given
    bool dynamic = false;    // exit 0 = up, 1 = down, 2..255 = up with weight (code - 2)
    // ssl
    bool enable_sni = false;  // send `virtualhost` as the TLS server name
    std::string virtualhost;  // required with enable_sni
    bool verify = false;      // verify the certificate chain (against ca_file, or the system's anchors)
    std::string ca_file;
    // udp
    std::string payload;          // bytes to send (hex in the file); empty = an empty datagram
    bool require_reply = false;
    std::string reply;            // with require_reply: expected first bytes (hex in the file)
    uint32_t min_reply_length = 0, max_reply_length = 255;
    // dns
    uint16_t dns_type = 6;         // SOA
    std::string dns_name = ".";
    // smtp
    std::string helo_name = "smtpchecker.keepalived.org";
};

struct RealServer {
    IpAddr ip;
    uint16_t port = 0;
    uint16_t weight = 1;
    MacAddr mac;           // meaningful only when has_mac
    bool has_mac = false;  // false: neighbour resolution finds it; a static MAC wins
    bool inhibit_on_failure = false;  // on failure set weight 0 rather than removing the real
    // The port frames to it leave by: `egress` as written (a port name, or PORT.VID for one of its
    // vlans; "" = not given) and resolved by resolve_egress (an index in Config::ports: the named
    // port, else the one whose subnet holds `ip`, else kIngressPort, the port each frame came in on),
    // with the 802.1Q tag they leave with (Dest::vlan: kVlanAsReceived, kVlanUntagged or a VLAN id).
    std::string egress;
    uint8_t egress_port = kIngressPort;
    uint16_t egress_vlan = kVlanAsReceived;
    // IPVS's per-real connection limits (ipvsadm -x / -y, keepalived uthreshold / lthreshold): 0 = none.
    uint32_t u_threshold = 0;
    uint32_t l_threshold = 0;
    std::optional<HealthCheck> health_check;  // absent: always up
    // keepalived's notify_up / notify_down: command lines run when health checks turn the real up
    // or down (config/command_line.h); "" = none.
    std::string notify_up, notify_down;
};

struct Service {
    std::string name;
    IpAddr vip;
    uint16_t port = 0;  // 0 = every port
    uint8_t proto = kProtoTcp;
    Sched sched = Sched::wlc;  // ipvsadm's default
    uint32_t persistence_timeout_s = 0;
    // persistence_granularity as a prefix length (ipvsadm -M, a netmask for IPv4); 0 = the whole address.
    uint8_t persistence_prefix_len = 0;
    bool ops = false;           // one-packet scheduling (UDP): every datagram scheduled, no entry
    uint8_t sched_flags = 0;    // kSchedFlagFallback | kSchedFlagPort (sh / mh), as IPVS's SCHED1/SCHED2
    bool answer_arp = true;
    uint32_t mh_table_size = kDefaultMhTableSize;
    // Milliseconds, IPVS defaults with the file's overrides; the template slot holds
    // persistence_timeout_s * 1000.
    Timeouts timeouts = Timeouts::ipvs_defaults();
    uint32_t delay_loop_s = kDefaultDelayLoopS;  // seconds between health checks of each real
    std::vector<RealServer> reals;
    // keepalived's sorry_server: a real that takes the service's new connections only while its quorum
    // is lost (every real down, by default), and none once it is regained; its flows stay until they
    // end. Never health-checked, as keepalived's. With sorry_server_inhibit it stays listed with
    // weight 0 while not in use; else it leaves the service as IPVS removes a real (draining).
    std::optional<RealServer> sorry_server;
    bool sorry_server_inhibit = false;
    // keepalived's quorum / hysteresis: the service is up while the weights of its live reals add
    // up to the quorum. Down (from up) when the sum is below quorum - hysteresis; up again (from down)
    // at quorum + hysteresis or more. quorum_up / quorum_down: command lines run on each change.
    uint32_t quorum = 1;
    uint32_t hysteresis = 0;  // below quorum
    std::string quorum_up, quorum_down;
};

// A script whose exit status is tracked by VRRP instances, as keepalived's vrrp_script: run every
// interval_s, exit 0 = success; rise successes in a row make it up, fall failures in a row down. It
// starts up (down with init_fail). A run past timeout_s is killed and is a failure.
struct VrrpScript {
    std::string name;
    std::string script;         // command line (config/command_line.h); the program an absolute path
    uint32_t interval_s = 1;
    uint32_t timeout_s = 1;     // interval_s when not given
    int weight = 0;             // keepalived's meaning, as VrrpInstance::track_weights
    uint32_t rise = 1, fall = 1;
    bool init_fail = false;
    std::string user;           // "" = dplbd's own; else run as that user (uid, gid resolved at load)
    uint32_t uid = 0, gid = 0;
};

enum class VrrpState : uint8_t { backup, master };

// A virtual_ipaddresses entry that is no service's vip nor one of the director's own addresses (a
// VRRP-only site: keepalived + nginx on the same hosts). No service matches its traffic, so the data
// plane hands it to the kernel; while the instance is MASTER dplbd adds the address to the kernel
// side of the instance's port (the exception path's TAP, or the interface itself under
// net_af_packet) and removes it on leaving MASTER, as keepalived does with `ip address add/del`.
struct KernelAddress {
    IpAddr ip;
    uint8_t prefix_len = 0;  // 32 / 128 when the file gives none, as keepalived
    std::string label;       // IPv4 only: the address label is "<kernel interface>:<label>"; "" = none
    uint8_t scope = 0;       // IPv4 only: RT_SCOPE_UNIVERSE (global, 0), site 200, link 253, host 254
    bool operator==(const KernelAddress& o) const {
        return ip == o.ip && prefix_len == o.prefix_len && label == o.label && scope == o.scope;
    }
    bool operator!=(const KernelAddress& o) const { return !(*this == o); }
};
enum class VrrpAuth : uint8_t { none, pass };

// One VRRP instance, as keepalived's vrrp_instance.
struct VrrpInstance {
    std::string name;
    std::string interface;  // a port name
    size_t port_index = 0;  // that port's index in Config::ports
    VrrpState state = VrrpState::backup;  // initial state
    uint8_t virtual_router_id = 0;        // 1..255
    uint8_t priority = 100;               // 1..255; 255 = address owner
    uint32_t advert_int_cs = 100;         // centiseconds; whole seconds for version 2
    uint8_t version = 2;                  // 2 or 3; IPv6 addresses always go out as VRRPv3
    bool preempt = true;
    uint32_t preempt_delay_s = 0;
    VrrpAuth auth = VrrpAuth::none;       // version 2 only
    std::string auth_pass;                // at most kMaxAuthPass characters (longer ones are cut)
    std::vector<IpAddr> virtual_ipaddresses;  // every address the instance announces; IPv4, IPv6 or both
    std::vector<KernelAddress> kernel_addresses;  // those of them that are no service's vip (see above)
    std::vector<std::string> track_interfaces;  // port names
    std::vector<std::string> track_services;    // service names
    // keepalived's `weight` of a tracked object, by name; absent (or 0): FAULT while it is down;
    // w < 0: priority lowered by -w while it is down; w > 0: raised by w while it is up.
    std::map<std::string, int> track_weights;
    std::vector<std::string> track_scripts;  // Config::vrrp_scripts names
    // The weight of each tracked script: the one given in track_scripts, else the script's own.
    std::map<std::string, int> track_script_weights;
    uint32_t garp_master_delay_s = 5;
    uint32_t garp_master_repeat = 5;
    // Unicast VRRP (keepalived's unicast_peer / unicast_src_ip / unicast_ttl): with peers, adverts
    // go to each peer of the family instead of 224.0.0.18 / ff02::12, and only adverts from a listed
    // peer are accepted. Empty: multicast, as RFC 3768 / 5798.
    std::vector<IpAddr> unicast_peers;  // unique; for each address family of the instance, at least one
    IpAddr unicast_src_ip;              // family 0: the kernel interface's own address of the family
    uint8_t unicast_ttl = 255;          // TTL / hop limit of unicast adverts, 1..255
    // keepalived's notify hooks: command lines run on entering MASTER / BACKUP / FAULT, on stopping,
    // and `notify` on every change with the arguments INSTANCE <name> <state> <priority>; "" = none.
    std::string notify_master, notify_backup, notify_fault, notify_stop, notify;
    std::string sync_group;  // the vrrp_sync_groups entry it belongs to; "" = none (set by the loader)
};

// keepalived's vrrp_sync_group: instances that change state together (vrrp/sync_group.h). A FAULT
// of one puts every member in FAULT until all are clear; one that yields to a higher priority
// master pulls the others to BACKUP; one becomes MASTER only when every other member would too, and
// then they all do. Notify hooks as an instance's, `notify` called with GROUP <name> <state>.
struct VrrpSyncGroup {
    std::string name;
    std::vector<std::string> instances;  // VrrpInstance names, at least two, each in one group only
    std::vector<std::string> track_scripts;  // Config::vrrp_scripts names: down = the group in FAULT
    std::string notify_master, notify_backup, notify_fault, notify_stop, notify;
};

inline IpAddr ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    IpAddr ip;
    ip.family = 4;
    ip.b[0] = a;
    ip.b[1] = b;
    ip.b[2] = c;
    ip.b[3] = d;
    return ip;
}

struct ControlConfig {
    std::string socket = kDefaultControlSocket;  // absolute path of the UNIX socket
    uint32_t mode = kDefaultControlMode;         // its permission bits
};

struct MetricsConfig {
    bool enabled = true;
    std::string listen = "127.0.0.1:9642";  // normalised host:port or [v6]:port
    IpAddr ip = ipv4(127, 0, 0, 1);
    uint16_t port = kDefaultMetricsPort;
};

// Connection synchronisation between directors (IPVS's sync protocol version 1, sync/): every director
// with `sync:` sends its new connections and state changes to the group and takes its peers'.
constexpr uint16_t kDefaultSyncPort = 8848;  // IP_VS_SYNC_PORT
struct SyncConfig {
    bool enabled = false;      // the `sync:` key is present
    std::string interface;     // kernel interface the messages go out and come in on
    uint8_t syncid = 0;        // 0: accept every syncid (IPVS's backup with syncid 0); sent as is
    IpAddr group = ipv4(224, 0, 0, 81);  // IP_VS_SYNC_GROUP
    uint16_t port = kDefaultSyncPort;
    uint8_t ttl = 1;
};

// Routes handed to a BGP daemon (README "Scaling out"): dplbd keeps one route per VIP it can serve in
// a kernel routing table of its own, marked with its own route protocol; BIRD (or FRR, ...) imports
// that table and announces the VIPs. Absent from the file: the feature is off.
constexpr uint8_t kDefaultAnnounceProtocol = 201;
struct AnnounceConfig {
    bool enabled = false;
    uint32_t table = 0;  // 1..2^32-1, not 253 (default), 254 (main), 255 (local)
    uint8_t protocol = kDefaultAnnounceProtocol;  // rtnetlink rtm_protocol; not 0-4 (the kernel's)
    bool maintenance = false;  // start withdrawn (dplbctl maintenance on|off changes it at run time)
};

struct Config {
    std::string file;  // as passed to the loader, for messages
    std::vector<Port> ports;
    uint32_t conn_table_ipv4 = kDefaultConnTableIpv4;  // entries per worker core
    uint32_t conn_table_ipv6 = kDefaultConnTableIpv6;
    std::vector<Service> services;
    bool expire_nodest_conn = false;  // IPVS's sysctl: drop connections of a removed or weight-0 real at once
    uint8_t conn_reuse_mode = 1;      // IPVS's sysctl: a SYN on a closing entry is a new connection (0-3)
    ControlConfig control;
    MetricsConfig metrics;
    SyncConfig sync;
    AnnounceConfig announce;
    std::vector<VrrpScript> vrrp_scripts;
    std::vector<VrrpInstance> vrrp_instances;
    std::vector<VrrpSyncGroup> vrrp_sync_groups;
};

// Everything wrong with one file. what() is the messages joined by '\n'.
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<std::string> errors);
    std::vector<std::string> errors;
};

// Where frames to a real leave: a port's index (kIngressPort: the one each came in on) and the tag
// they leave with (kVlanAsReceived, kVlanUntagged or a VLAN id).
struct Egress {
    uint8_t port = kIngressPort;
    uint16_t vlan = kVlanAsReceived;
};

// The port whose subnet (an address with its prefix length, of the port or of one of its vlans) holds
// `ip`, the longest prefix first: in a VLAN's subnet, that VLAN; in the port's own, untagged when the
// port has vlans, else as received. {kIngressPort, kVlanAsReceived} when no subnet holds it.
Egress egress_by_subnet(const std::vector<Port>& ports, const IpAddr& ip);
// What a real's `egress:` names: a port by its name (untagged when it has vlans, else as received),
// or PORT.VID, one of that port's vlans (a port whose whole name matches wins). nullopt: neither.
std::optional<Egress> egress_named(const std::vector<Port>& ports, const std::string& name);
// Sets r.egress_port and r.egress_vlan: by r.egress when it names a port, else by r.ip's subnet.
void resolve_egress(const std::vector<Port>& ports, RealServer& r);
// Whether two subnets share an address (same family, equal on the shorter prefix).
bool subnets_overlap(const PortAddress& a, const PortAddress& b);

// What a load checks beyond the text.
struct LoadOptions {
    // Scripts' programs exist and are executable on this host (false: the importers' check of what
    // they wrote, which may be meant for another host).
    bool check_programs = true;
};

// The reals the data plane may forward a service's connections to: its real_servers, then its
// sorry_server when it has one.
std::vector<const RealServer*> forwarding_reals(const Service& svc);

// Both throw ConfigError. `name` is the file name to print in messages.
Config load_config_file(const std::string& path);
Config load_config_string(const std::string& text, const std::string& name, const LoadOptions& options = {});

// The fields of `next` that differ from `running` and that dplbd cannot change while it runs (they are
// fixed when EAL, the ports, the connection tables, the control socket and the metrics listener are set
// up at start), by their names in the file, in this order:
//   ports                        the number of ports
//   ports[i].name                for each index i present in both
//   ports[i].device
//   ports[i].addresses           the list, in order, with prefix lengths
//   ports[i].exception_path      the resolved value: `auto` and what it resolves to are the same
//   ports[i].vlans               ids and addresses, in order (the kernel's VLAN interfaces on the TAP)
//   conn_table.ipv4_entries
//   conn_table.ipv6_entries
//   control.socket
//   control.mode
//   metrics.listen               normalised; `off` is how the file turns metrics off
//   sync                         present or not, and any of its fields (its socket is set up at start)
//   announce                     the section's presence (the routes' owner is set up at start)
//   announce.table               where the announced routes live: a BGP daemon's config names it
//   announce.protocol
// Empty when none of them differ. Pure: it looks at nothing but its two arguments.
std::vector<std::string> fixed_field_changes(const Config& running, const Config& next);

// off for devices that have no kernel side worth a TAP (net_af_packet*, net_af_xdp*, net_pcap*,
// net_ring*, net_null*), tap for everything else; what `exception_path: auto` resolves to.
ExceptionPath default_exception_path(const std::string& device);

// Why `ip` cannot be a service's vip, or "" when it can: the unspecified address, 0.0.0.0/8, loopback,
// multicast, the IPv4 broadcast address, an IPv4-mapped IPv6 address, or link-local (169.254.0.0/16,
// fe80::/10). Shared by the loader and the keepalived import, so both refuse the same addresses.
std::string vip_address_problem(const IpAddr& ip);
// Why `ip` cannot be a real server's address by itself, or "" when it can: as for a vip, except that
// link-local is allowed (a Direct Routing real server is on the link anyway). Being a vip or one of
// the director's own addresses is checked where those are known.
std::string real_address_problem(const IpAddr& ip);

// Why a real server may not be the vip of its own service, for messages of the loader and the import.
constexpr const char* kRealHoldsVip =
    "in Direct Routing a real server holds the vip on its loopback and is reached at an address of its own";

// Whether `s` holds a control character (bytes 0x00..0x1f and 0x7f), which no name may.
bool has_control_char(const std::string& s);

// Centiseconds as the configuration writes seconds: "1", "0.5", "40.95" (loader messages, importer).
std::string format_centiseconds(uint32_t cs);

// Used by the loader for mh_table_size; public so the tests can check them.
bool is_prime(uint32_t n);
uint32_t next_prime(uint32_t n);  // the smallest prime >= n (n < 4294967291)

}  // namespace dplb::config
