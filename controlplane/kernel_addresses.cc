#include "kernel_addresses.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>
#include <tuple>

namespace dplb {
namespace {

ifaddrmsg header_for(const KernelEntry& e, int ifindex) {
    ifaddrmsg ifa{};
    ifa.ifa_family = e.addr.ip.is_v6() ? AF_INET6 : AF_INET;
    ifa.ifa_prefixlen = e.addr.prefix_len;
    ifa.ifa_scope = e.addr.ip.is_v6() ? 0 : e.addr.scope;
    ifa.ifa_index = static_cast<uint32_t>(ifindex);
    return ifa;
}

size_t addr_len(const IpAddr& ip) { return ip.is_v6() ? 16 : 4; }

const char* scope_name(uint8_t scope) {
    switch (scope) {
        case 200: return "site";
        case 253: return "link";
        case 254: return "host";
        default: return "global";
    }
}

}  // namespace

bool KernelEntry::operator<(const KernelEntry& o) const {
    return std::tie(ifname, addr.ip.family, addr.ip.b, addr.prefix_len, addr.label, addr.scope) <
           std::tie(o.ifname, o.addr.ip.family, o.addr.ip.b, o.addr.prefix_len, o.addr.label, o.addr.scope);
}

std::string kernel_label(const KernelEntry& e) {
    if (e.addr.label.empty() || e.addr.ip.is_v6()) return "";
    return (e.ifname + ":" + e.addr.label).substr(0, IFNAMSIZ - 1);
}

std::string describe(const KernelEntry& e) {
    std::string s = e.addr.ip.str() + "/" + std::to_string(e.addr.prefix_len) + " dev " + e.ifname;
    if (!kernel_label(e).empty()) s += " label " + kernel_label(e);
    if (e.addr.ip.is_v4() && e.addr.scope != 0) s += std::string(" scope ") + scope_name(e.addr.scope);
    return s;
}

std::vector<uint8_t> add_address_request(const KernelEntry& e, int ifindex, uint32_t seq) {
    // Replace: an address left from before (another prefix length, label) takes the new form.
    NetlinkRequest r(RTM_NEWADDR, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE), seq,
              header_for(e, ifindex));
    r.attr(IFA_LOCAL, e.addr.ip.b.data(), addr_len(e.addr.ip));
    r.attr(IFA_ADDRESS, e.addr.ip.b.data(), addr_len(e.addr.ip));
    if (std::string label = kernel_label(e); !label.empty()) r.attr(IFA_LABEL, label.c_str(), label.size() + 1);
    // IPv6: usable at once, as keepalived adds its addresses (a backup never holds it, so nothing
    // on the link can answer the duplicate address detection anyway).
    uint32_t flags = e.addr.ip.is_v6() ? IFA_F_NODAD : 0;
    r.attr(IFA_FLAGS, &flags, sizeof flags);
    uint8_t proto = kAddressProto;
    r.attr(IFA_PROTO, &proto, sizeof proto);
    return r.done();
}

std::vector<uint8_t> del_address_request(const KernelEntry& e, int ifindex, uint32_t seq) {
    NetlinkRequest r(RTM_DELADDR, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK), seq, header_for(e, ifindex));
    r.attr(IFA_LOCAL, e.addr.ip.b.data(), addr_len(e.addr.ip));
    r.attr(IFA_ADDRESS, e.addr.ip.b.data(), addr_len(e.addr.ip));
    return r.done();
}

KernelAddresses::KernelAddresses(Log log) : log_(std::move(log)) {}

void KernelAddresses::clean(const std::vector<std::string>& ifnames) {
    worker_.post([this, ifnames](NetlinkSocket& sock) { clean_now(sock, ifnames); });
}

void KernelAddresses::set(const std::set<KernelEntry>& want) {
    for (const KernelEntry& e : installed_)
        if (!want.count(e)) worker_.post([this, e](NetlinkSocket& sock) { apply(sock, false, e); });
    for (const KernelEntry& e : want)
        if (!installed_.count(e)) worker_.post([this, e](NetlinkSocket& sock) { apply(sock, true, e); });
    installed_ = want;
}

void KernelAddresses::clean_now(NetlinkSocket& sock, const std::vector<std::string>& ifnames) {
    if (sock.open_error()) {
        log_(true, "kernel address: no netlink socket: " + std::string(std::strerror(sock.open_error())));
        return;
    }
    std::set<int> indexes;
    for (const std::string& n : ifnames)
        if (!n.empty())
            if (unsigned i = if_nametoindex(n.c_str())) indexes.insert(static_cast<int>(i));
    if (indexes.empty()) return;
    // Dump every address; delete ours on those interfaces.
    uint32_t seq = sock.next_seq();
    ifaddrmsg all{};
    std::vector<std::pair<KernelEntry, int>> leftovers;
    int err = sock.dump(NetlinkRequest(RTM_GETADDR, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_DUMP), seq, all).done(),
                        seq, [&](const nlmsghdr& h) {
        if (h.nlmsg_type != RTM_NEWADDR) return;
        auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(&h));
        if (!indexes.count(static_cast<int>(ifa->ifa_index))) return;
        KernelEntry e;
        bool ours = false;
        size_t alen = IFA_PAYLOAD(&h);
        for (auto* a = IFA_RTA(ifa); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
            const size_t plen = RTA_PAYLOAD(a);
            if (a->rta_type == IFA_PROTO && plen >= 1) ours = *static_cast<const uint8_t*>(RTA_DATA(a)) == kAddressProto;
            if ((a->rta_type == IFA_LOCAL || (a->rta_type == IFA_ADDRESS && e.addr.ip.family == 0)) &&
                (plen == 4 || plen == 16)) {
                e.addr.ip = IpAddr{};
                e.addr.ip.family = plen == 4 ? 4 : 6;
                std::memcpy(e.addr.ip.b.data(), RTA_DATA(a), plen);
            }
        }
        if (!ours || e.addr.ip.family == 0) return;
        e.addr.prefix_len = ifa->ifa_prefixlen;
        char name[IF_NAMESIZE] = "";
        if_indextoname(ifa->ifa_index, name);
        e.ifname = name;
        leftovers.push_back({e, static_cast<int>(ifa->ifa_index)});
    });
    if (err) {
        log_(true, std::string("kernel address: listing addresses: ") + std::strerror(err));
        return;
    }
    for (const auto& [e, index] : leftovers) {
        uint32_t s = sock.next_seq();
        int derr = sock.transact(del_address_request(e, index, s), s);
        if (derr) log_(true, "kernel address: removing " + describe(e) + " left from before: " + std::strerror(derr));
        else log_(false, "kernel address: removed " + describe(e) + ", left from before");
    }
}

void KernelAddresses::apply(NetlinkSocket& sock, bool add, const KernelEntry& e) {
    if (sock.open_error()) {
        log_(true, "kernel address: no netlink socket: " + std::string(std::strerror(sock.open_error())));
        return;
    }
    unsigned index = if_nametoindex(e.ifname.c_str());
    if (!index) {
        log_(true, std::string("kernel address: ") + (add ? "cannot add " : "cannot remove ") + describe(e) +
                       ": no interface " + e.ifname);
        return;
    }
    uint32_t seq = sock.next_seq();
    int err = sock.transact(add ? add_address_request(e, static_cast<int>(index), seq)
                                : del_address_request(e, static_cast<int>(index), seq),
                            seq);
    // Removing an address that is gone already (someone else removed it) is no failure.
    if (!add && err == EADDRNOTAVAIL) err = 0;
    if (err)
        log_(true, std::string("kernel address: ") + (add ? "cannot add " : "cannot remove ") + describe(e) + ": " +
                       std::strerror(err));
    else
        log_(false, std::string("kernel address: ") + (add ? "added " : "removed ") + describe(e));
}

}  // namespace dplb
