// The tree of keepalived statements -> the model, keyword by keyword: the third of the import's steps.
// Whatever keepalived says that dplb cannot say becomes a warning with its line; whatever the YAML
// could not load with is an error. mapper.cc holds the walk and what applies everywhere,
// map_virtual_server.cc the virtual servers, map_vrrp.cc the VRRP instances, map_sync_group.cc the
// sync groups.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "keepalived/messages.h"
#include "keepalived/model.h"
#include "keepalived/parser.h"
#include "keepalived/values.h"
#include "keepalived_import.h"

namespace dplb::config::keepalived {

// Why a keyword does not carry over: " (dplb has no ...)"; a keyword the import does not know gets a
// reason that says so.
std::string reason_for(const std::string& kw);

class Mapper {
public:
    // `allow_auth_downgrade`: convert auth_type AH as no authentication (with a warning) rather than
    // refuse it.
    // `fwmarks`: what each firewall mark stands for (import-keepalived --fwmark); nullptr = none given.
    explicit Mapper(Messages& msgs, bool allow_auth_downgrade = false,
                    const std::map<uint32_t, FwmarkTarget>* fwmarks = nullptr)
        : msgs_(msgs), v_(msgs), allow_auth_downgrade_(allow_auth_downgrade), fwmarks_(fwmarks) {}

    // Reads the statements of a file whose braces balance.
    void run(const std::vector<Stmt>& top);
    bool has_services() const { return !model_.services.empty(); }
    // The ports to write, one per interface the kept instances use, each with its warning.
    void collect_ports();
    const Model& model() const { return model_; }

private:
    // mapper.cc
    void not_converted(const Stmt& s, const std::string& reason = "");
    bool name_ok(const Word& w, const std::string& kw);
    bool need_block(const Stmt& s, const std::string& form);
    void global_defs(const Stmt& g);
    void lvs_timeouts(const Stmt& s);
    bool check_opt(const Stmt& s, CheckOpts& o, std::map<std::string, int>& seen);
    void check_real_addresses();
    void check_limits();

    // map_virtual_server.cc
    void forwarding(const Stmt& s);
    bool address_and_port(const Stmt& s, bool portless_ok, IpAddr& ip, uint16_t& port);
    void virtual_server(const Stmt& s);
    bool real_server(const Stmt& s, const OutService& svc, const CheckOpts& vs_opts, OutReal& r);
    void ipvs_options(OutService& svc, const Word* granularity, const Stmt* ops, const std::vector<const Stmt*>& flags);
    void unknown_checkers(const std::vector<const Stmt*>& others, const Stmt* used, const CheckOpts& opts,
                          OutReal& r);
    void force_service_port(const Stmt& s, const OutService& svc, OutReal& r);
    void warn_delay_loop(const CheckOpts& o, uint32_t service_delay_loop);
    std::optional<OutCheck> checker(const Stmt& s, const OutReal& r, const CheckOpts& inherited,
                                    uint32_t delay_loop);
    bool url(const Stmt& u, OutCheck& c);
    static bool status_item_ok(const std::string& s);

    // map_quorum.cc: sorry_server, sorry_server_inhibit, quorum, hysteresis, quorum_up / quorum_down.
    // Returns whether `b` was one of them.
    bool quorum_option(const Stmt& b, OutService& svc, std::map<std::string, int>& seen);
    void finish_quorum(OutService& svc, const Stmt& s);

    // map_groups.cc: virtual_server_group and fwmark, which dplb has not: a virtual server over
    // several addresses and ports becomes one service per address and port.
    struct Target {
        IpAddr vip;
        uint16_t port = 0;
        std::string origin;  // the comment above the service ("" for virtual_server IP PORT)
    };
    void virtual_server_group(const Stmt& s);
    bool group_entry(const Stmt& e, OutGroup& g);
    // The services `virtual_server group NAME` / `virtual_server fwmark N` stands for; false after an error.
    bool group_targets(const Stmt& s, std::vector<Target>& out);
    bool fwmark_targets(uint32_t mark, const Word& where, const std::string& what, std::vector<Target>& out);
    void warn_unused_groups();
    // `svc`, mapped for its first target, once per target.
    void add_services(const Stmt& s, const OutService& svc, const std::vector<Target>& targets);

    // map_vrrp.cc
    void vip_line(const Stmt& l, OutVrrp& vi);
    void vrrp_instance(const Stmt& s);
    void authentication(const Stmt& a, OutVrrp& vi);
    void unicast_peer(const Stmt& b, OutVrrp& vi);
    void finish_unicast(OutVrrp& vi);
    void finish_vrrp(OutVrrp& vi, const std::string& label);

    // map_sync_group.cc: after the instances. `member_lines`: instance -> the line of its group entry.
    void sync_group(const Stmt& s, std::map<std::string, int>& member_lines);

    // map_scripts.cc
    void vrrp_script(const Stmt& s);
    void track_script(const Stmt& b, OutVrrp& vi);
    // notify_master "CMD" [user [group]] and the like: the command line, or "" after an error.
    std::string notify_hook(const Stmt& b);

    Messages& msgs_;
    Values v_;
    bool allow_auth_downgrade_;
    uint32_t vrrp_version_ = 2;
    std::optional<uint32_t> garp_delay_, garp_repeat_;
    const std::map<uint32_t, FwmarkTarget>* fwmarks_;
    // While a virtual_server over several ports is mapped: "each service's port (80, 443)"; else "".
    std::string ports_note_;
    // "the service's port 80", or ports_note_ when there is one.
    std::string service_port(const OutService& svc) const {
        return ports_note_.empty() ? "the service's port " + std::to_string(svc.port) : ports_note_;
    }
    std::map<std::string, OutGroup> groups_;
    std::set<std::string> groups_used_;
    Model model_;
    std::set<IpAddr> service_vips_;  // the vips of model_.services
    std::map<std::string, int> services_seen_;
    std::map<std::string, int> names_seen_;
    std::map<std::string, std::string> vrids_seen_;
    std::map<std::string, std::string> vip_owner_;
};

}  // namespace dplb::config::keepalived
