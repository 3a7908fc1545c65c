// What the import writes, as read from keepalived.conf: only what was given, so the YAML says no more
// than keepalived.conf did.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

namespace dplb::config::keepalived {

// Checker options that a virtual_server passes to its real_servers and a real_server to its checkers.
struct CheckOpts {
    std::optional<uint32_t> connect_timeout, retry, delay_before_retry, warmup, delay_loop;
    std::optional<bool> alpha, inhibit_on_failure;
    int delay_loop_line = 0;

    // `o` over this.
    void overlay(const CheckOpts& o) {
        if (o.connect_timeout) connect_timeout = o.connect_timeout;
        if (o.retry) retry = o.retry;
        if (o.delay_before_retry) delay_before_retry = o.delay_before_retry;
        if (o.warmup) warmup = o.warmup;
        if (o.delay_loop) {
            delay_loop = o.delay_loop;
            delay_loop_line = o.delay_loop_line;
        }
        if (o.alpha) alpha = o.alpha;
        if (o.inhibit_on_failure) inhibit_on_failure = o.inhibit_on_failure;
    }
};

struct OutCheck {
    CheckType type = CheckType::tcp;
    int line = 0;
    std::string keyword;  // TCP_CHECK, HTTP_GET, ...
    CheckOpts opts;
    std::optional<uint16_t> connect_port;
    std::string path;
    std::vector<std::string> status_codes;  // as written: "200", "200-299"
    std::string digest;
    std::string script;
    std::optional<uint32_t> timeout;
    bool dynamic = false;
    // SSL_GET
    bool enable_sni = false;
    std::string virtualhost;
    // UDP_CHECK: hex as written ("0a 1b" taken apart into "0a1b")
    std::string payload_hex;
    bool require_reply = false;
    std::string reply_hex;
    std::optional<uint32_t> min_reply_length, max_reply_length;
    // DNS_CHECK
    std::string dns_type;  // upper case
    std::string dns_name;
    // SMTP_CHECK
    std::string helo_name;
};

struct OutReal {
    int line = 0;
    int ip_col = 0;  // where its address is written
    IpAddr ip;
    uint16_t port = 0;
    std::optional<uint32_t> weight;
    std::optional<bool> inhibit_on_failure;
    std::optional<uint32_t> u_threshold, l_threshold;  // uthreshold / lthreshold
    std::optional<OutCheck> check;
    std::string notify_up, notify_down;  // command lines
    uint16_t written_port = 0;  // the port keepalived.conf gave it (0: none), which keepalived checks
};

// sorry_server IP PORT.
struct OutSorry {
    int line = 0;
    int ip_col = 0;
    IpAddr ip;
};

struct OutService {
    int line = 0;
    std::string head;
    IpAddr vip;
    uint16_t port = 0;
    uint8_t proto = kProtoTcp;
    std::optional<std::string> scheduler;
    std::optional<uint32_t> persistence;
    std::optional<std::string> granularity;  // persistence_granularity, as written
    bool ops = false;
    std::vector<std::string> sched_flags;  // sh-fallback, sh-port, mh-fallback, mh-port
    std::optional<uint32_t> delay_loop;
    std::vector<OutReal> reals;
    std::optional<OutSorry> sorry;
    bool sorry_inhibit = false;
    std::optional<uint32_t> quorum, hysteresis;
    std::string quorum_up, quorum_down;  // command lines
    // How a virtual_server group or fwmark became this service, for the comment above it ("" for
    // virtual_server IP PORT).
    std::string origin;
};

struct OutVrrp {
    int line = 0;
    int col = 0;
    std::string name;
    std::string interface;
    int interface_line = 0;
    std::optional<std::string> state;
    std::optional<uint32_t> vrid, priority, preempt_delay, garp_delay, garp_repeat;
    std::optional<uint32_t> advert_us;
    int advert_line = 0;
    std::optional<uint32_t> version;
    int version_line = 0;
    int vrid_line = 0, vrid_col = 0;
    std::optional<bool> preempt;
    std::optional<std::string> auth_pass;
    int auth_line = 0;
    bool auth_seen = false;
    std::vector<std::pair<IpAddr, int>> vips;  // with their lines
    std::set<IpAddr> vip_set;                  // the same addresses, to find one given twice
    // Addresses of no virtual_server (a VRRP-only site): the kernel holds them while MASTER, in the
    // form the line gave: prefix length (0 = none), label (the part after "INTERFACE:"), scope name.
    struct KernelForm {
        uint8_t prefix_len = 0;
        std::string label, scope;
    };
    std::map<IpAddr, KernelForm> kernel;
    std::vector<std::pair<std::string, int>> track;
    std::map<std::string, int> track_weights;  // track_interface NAME weight W
    // Unicast VRRP: unicast_peer { IP ... }, unicast_src_ip, unicast_ttl.
    std::vector<std::pair<IpAddr, int>> unicast_peers;  // with their lines
    std::optional<IpAddr> unicast_src_ip;
    int unicast_src_line = 0;
    std::optional<uint32_t> unicast_ttl;
    int unicast_ttl_line = 0;
    std::vector<std::string> track_scripts;    // vrrp_script names, in order, each once
    std::map<std::string, int> track_script_weights;  // track_script { NAME weight W }
    std::vector<std::pair<std::string, std::string>> notify;  // (keyword, command line) in file order
};

// vrrp_script NAME { ... }: only what was given.
struct OutScript {
    int line = 0;
    std::string name;
    std::string script;
    std::optional<uint32_t> interval, timeout, rise, fall;
    std::optional<int> weight;
    bool init_fail = false;
    std::string user;
};

// virtual_server_group NAME { ... }: its entries, each a VIP and a port (ranges expanded) or a
// fwmark, with the line it is written on.
struct OutGroupEntry {
    int line = 0;
    IpAddr vip;
    uint16_t port = 0;
    std::optional<uint32_t> fwmark;
    std::string written;  // as keepalived.conf gives it: "10.0.0.1-3 80", "fwmark 7"
};
struct OutGroup {
    int line = 0;
    std::vector<OutGroupEntry> entries;
};

// vrrp_sync_group NAME { ... }: its converted members (two at least) and what carried over.
struct OutSyncGroup {
    int line = 0;
    std::string name;
    std::vector<std::string> instances;
    std::vector<std::string> track_scripts;
    std::vector<std::pair<std::string, std::string>> notify;  // (keyword, command line) in file order
};

// Everything the YAML is written from.
struct Model {
    std::vector<std::pair<std::string, int>> ports;  // interface, line of first use
    std::map<std::string, uint32_t> timeouts;        // lvs_timeouts: tcp, tcpfin, udp
    std::vector<OutService> services;
    std::vector<OutScript> scripts;
    std::vector<OutVrrp> instances;
    std::vector<OutSyncGroup> sync_groups;
};

}  // namespace dplb::config::keepalived
