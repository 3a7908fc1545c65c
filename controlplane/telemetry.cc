#include "telemetry.h"

#include <rte_telemetry.h>

#include <memory>
#include <string>

#include "director.h"

namespace dplb {
namespace {

Director* g_director = nullptr;  // the telemetry callbacks are plain C functions


// DPDK 22.11 telemetry dicts hold only values or arrays, so the listing is flat:
// (keys may hold only letters, digits and _): svc0_name = "TCP 10.0.0.100:80", svc0_conns, ...,
// svc0_real1_name = "10.0.0.12:80", svc0_real1_active_conns, ...
int services_cmd(const char*, const char*, rte_tel_data* d) {
    auto snap = g_director->snapshot();
    auto t = std::make_unique<CoreCounters>();
    g_director->totals(*t);
    rte_tel_data_start_dict(d);
    for (size_t i = 0; i < snap->services.size(); i++) {
        const Service& s = snap->services[i];
        std::string p = "svc" + std::to_string(i) + "_";
        std::string name = std::string(proto_name(s.proto)) + " " + endpoint(s.vip, s.port);
        rte_tel_data_add_dict_string(d, (p + "name").c_str(), name.c_str());
        rte_tel_data_add_dict_string(d, (p + "scheduler").c_str(), sched_name(s.sched));
        rte_tel_data_add_dict_u64(d, (p + "conns").c_str(), t->svc[s.id].conns);
        rte_tel_data_add_dict_u64(d, (p + "inpkts").c_str(), t->svc[s.id].inpkts);
        rte_tel_data_add_dict_u64(d, (p + "inbytes").c_str(), t->svc[s.id].inbytes);
        for (size_t j = 0; j < s.dests.size(); j++) {
            const Dest& dst = snap->dests[s.dests[j]];
            const DestCounters& c = t->dest[s.dests[j]];
            std::string r = p + "real" + std::to_string(j) + "_";
            rte_tel_data_add_dict_string(d, (r + "name").c_str(), endpoint(dst.ip, dst.port).c_str());
            rte_tel_data_add_dict_u64(d, (r + "weight").c_str(), dst.weight);
            rte_tel_data_add_dict_u64(d, (r + "active_conns").c_str(), c.active);
            rte_tel_data_add_dict_u64(d, (r + "inactive_conns").c_str(), c.inactive);
            rte_tel_data_add_dict_u64(d, (r + "conns").c_str(), c.conns);
            rte_tel_data_add_dict_u64(d, (r + "inpkts").c_str(), c.inpkts);
            rte_tel_data_add_dict_u64(d, (r + "inbytes").c_str(), c.inbytes);
        }
    }
    return 0;
}

// Data-plane totals and drops by reason.
int stats_cmd(const char*, const char*, rte_tel_data* d) {
    auto t = std::make_unique<CoreCounters>();
    g_director->totals(*t);
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "rx_packets", t->rx_packets);
    rte_tel_data_add_dict_u64(d, "tx_packets", t->tx_packets);
    rte_tel_data_add_dict_u64(d, "forwarded", t->forwarded);
    rte_tel_data_add_dict_u64(d, "forwarded_stateless", t->stateless);
    rte_tel_data_add_dict_u64(d, "table_full", t->table_full);
    rte_tel_data_add_dict_u64(d, "arp_replies", t->arp_replies);
    rte_tel_data_add_dict_u64(d, "to_kernel", t->to_kernel);
    rte_tel_data_add_dict_u64(d, "from_kernel", t->from_kernel);
    rte_tel_data_add_dict_u64(d, "not_for_us", t->not_for_us);
    rte_tel_data_add_dict_u64(d, "expired", t->expired);
    for (unsigned i = 0; i < kDropCount; i++)
        rte_tel_data_add_dict_u64(d, (std::string("drop_") + drop_name(static_cast<Drop>(i))).c_str(), t->drops[i]);
    return 0;
}

}  // namespace

void register_telemetry(Director& director) {
    g_director = &director;
    rte_telemetry_register_cmd("/dplb/services", services_cmd,
                               "Services and real servers with counters, as dplbctl list --stats. No parameters");
    rte_telemetry_register_cmd("/dplb/stats", stats_cmd, "Data-plane totals and drops by reason. No parameters");
}

}  // namespace dplb
