#include "kernel_routes.h"

#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace dplb {
namespace {

rtmsg header_for(const IpAddr& vip, uint32_t table, uint8_t protocol) {
    rtmsg rt{};
    rt.rtm_family = vip.is_v6() ? AF_INET6 : AF_INET;
    rt.rtm_dst_len = vip.is_v6() ? 128 : 32;
    // RTA_TABLE holds it all; the 8-bit field only what fits.
    rt.rtm_table = table < 256 ? static_cast<uint8_t>(table) : static_cast<uint8_t>(RT_TABLE_UNSPEC);
    rt.rtm_protocol = protocol;
    rt.rtm_scope = RT_SCOPE_UNIVERSE;
    rt.rtm_type = RTN_BLACKHOLE;
    return rt;
}

}  // namespace

std::vector<uint8_t> vip_route_request(bool add, const IpAddr& vip, uint32_t table, uint8_t protocol, uint32_t seq) {
    const auto flags = static_cast<uint16_t>(add ? NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE
                                                 : NLM_F_REQUEST | NLM_F_ACK);
    NetlinkRequest r(add ? RTM_NEWROUTE : RTM_DELROUTE, flags, seq, header_for(vip, table, protocol));
    r.attr(RTA_DST, vip.b.data(), vip.is_v6() ? 16 : 4);
    r.attr(RTA_TABLE, &table, sizeof table);
    return r.done();
}

std::string describe_vip_route(const IpAddr& vip, uint32_t table, uint8_t protocol) {
    return "blackhole " + vip.str() + (vip.is_v6() ? "/128" : "/32") + " table " + std::to_string(table) + " proto " +
           std::to_string(protocol);
}

KernelRoutes::KernelRoutes(uint32_t table, uint8_t protocol, Log log)
    : table_(table), protocol_(protocol), log_(std::move(log)) {}

void KernelRoutes::clean() {
    worker_.post([this](NetlinkSocket& sock) { clean_now(sock); });
}

void KernelRoutes::set(const IpAddr& vip, bool present) {
    if (present == (installed_.count(vip) != 0)) return;
    if (present) installed_.insert(vip);
    else installed_.erase(vip);
    worker_.post([this, vip, present](NetlinkSocket& sock) { apply(sock, present, vip); });
}

void KernelRoutes::apply(NetlinkSocket& sock, bool add, const IpAddr& vip) {
    const std::string what = describe_vip_route(vip, table_, protocol_);
    uint32_t seq = sock.next_seq();
    int err = sock.transact(vip_route_request(add, vip, table_, protocol_, seq), seq);
    if (!add && err == ESRCH) err = 0;  // gone already (someone removed it): no failure
    if (err)
        log_(true, std::string("announce: cannot ") + (add ? "add " : "remove ") + what + ": " + std::strerror(err));
    else
        log_(false, std::string("announce: ") + (add ? "added " : "removed ") + what);
}

void KernelRoutes::clean_now(NetlinkSocket& sock) {
    uint32_t seq = sock.next_seq();
    rtmsg all{};
    std::vector<std::pair<IpAddr, rtmsg>> leftovers;
    int err = sock.dump(NetlinkRequest(RTM_GETROUTE, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_DUMP), seq, all).done(), seq,
                        [&](const nlmsghdr& h) {
        if (h.nlmsg_type != RTM_NEWROUTE) return;
        auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(&h));
        if (rt->rtm_protocol != protocol_) return;
        uint32_t table = rt->rtm_table;
        IpAddr dst;
        size_t len = RTM_PAYLOAD(&h);
        for (auto* a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
            const size_t plen = RTA_PAYLOAD(a);
            if (a->rta_type == RTA_TABLE && plen == 4) std::memcpy(&table, RTA_DATA(a), 4);
            if (a->rta_type == RTA_DST && (plen == 4 || plen == 16)) {
                dst.family = plen == 4 ? 4 : 6;
                std::memcpy(dst.b.data(), RTA_DATA(a), plen);
            }
        }
        if (table != table_ || dst.family == 0) return;
        leftovers.push_back({dst, *rt});
    });
    if (err) {
        log_(true, std::string("announce: listing the routes of table ") + std::to_string(table_) + ": " +
                       std::strerror(err));
        return;
    }
    for (const auto& [dst, rt] : leftovers) {
        // Deleted as found (its prefix length and type), whatever put it there with our protocol.
        rtmsg del = rt;
        NetlinkRequest r(RTM_DELROUTE, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK), seq = sock.next_seq(), del);
        r.attr(RTA_DST, dst.b.data(), dst.is_v6() ? 16 : 4);
        r.attr(RTA_TABLE, &table_, sizeof table_);
        int derr = sock.transact(r.done(), seq);
        const std::string what = dst.str() + "/" + std::to_string(rt.rtm_dst_len) + " table " + std::to_string(table_);
        if (derr && derr != ESRCH)
            log_(true, "announce: removing " + what + " left from before: " + std::strerror(derr));
        else
            log_(false, "announce: removed " + what + ", left from before");
    }
}

}  // namespace dplb
