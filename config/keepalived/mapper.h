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

namespace dplb::config::keepalived {

// Why a keyword does not carry over: " (dplb has no ...)"; a keyword the import does not know gets a
// reason that says so.
std::string reason_for(const std::string& kw);

class Mapper {
public:
    // `allow_auth_downgrade`: convert auth_type AH as no authentication (with a warning) rather than
    // refuse it.
    explicit Mapper(Messages& msgs, bool allow_auth_downgrade = false)
        : msgs_(msgs), v_(msgs), allow_auth_downgrade_(allow_auth_downgrade) {}

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
    Model model_;
    std::set<IpAddr> service_vips_;  // the vips of model_.services
    std::map<std::string, int> services_seen_;
    std::map<std::string, int> names_seen_;
    std::map<std::string, std::string> vrids_seen_;
    std::map<std::string, std::string> vip_owner_;
};

}  // namespace dplb::config::keepalived
