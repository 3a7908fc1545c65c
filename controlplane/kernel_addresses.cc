#include "kernel_addresses.h"

#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <tuple>

namespace dplb {
namespace {

constexpr size_t kRecvBuffer = 32768;

// A netlink request: header, ifaddrmsg, then attributes.
class Request {
public:
    Request(uint16_t type, uint16_t flags, uint32_t seq, const ifaddrmsg& ifa) {
        buf_.resize(NLMSG_LENGTH(sizeof(ifaddrmsg)));
        auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
        nh->nlmsg_type = type;
        nh->nlmsg_flags = flags;
        nh->nlmsg_seq = seq;
        std::memcpy(buf_.data() + NLMSG_HDRLEN, &ifa, sizeof ifa);
    }
    void attr(uint16_t type, const void* data, size_t len) {
        const size_t at = NLMSG_ALIGN(buf_.size());
        buf_.resize(at + RTA_SPACE(len));
        rtattr rta{};
        rta.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
        rta.rta_type = type;
        std::memcpy(buf_.data() + at, &rta, sizeof rta);
        std::memcpy(buf_.data() + at + RTA_LENGTH(0), data, len);
    }
    std::vector<uint8_t> done() {
        auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
        nh->nlmsg_len = static_cast<uint32_t>(buf_.size());
        return std::move(buf_);
    }

private:
    std::vector<uint8_t> buf_;
};

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

// Sends one request and reads its acknowledgement; 0 or a positive errno.
int transact(int fd, const std::vector<uint8_t>& req, uint32_t seq) {
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) return errno;
    alignas(nlmsghdr) char buf[kRecvBuffer];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;  // EAGAIN: no answer within the socket's timeout
        }
        size_t len = static_cast<size_t>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq || h->nlmsg_type != NLMSG_ERROR) continue;
            nlmsgerr err;
            std::memcpy(&err, NLMSG_DATA(h), sizeof err);
            return -err.error;
        }
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
    Request r(RTM_NEWADDR, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE), seq,
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
    Request r(RTM_DELADDR, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_ACK), seq, header_for(e, ifindex));
    r.attr(IFA_LOCAL, e.addr.ip.b.data(), addr_len(e.addr.ip));
    r.attr(IFA_ADDRESS, e.addr.ip.b.data(), addr_len(e.addr.ip));
    return r.done();
}

KernelAddresses::KernelAddresses(Log log) : log_(std::move(log)) {
    fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ >= 0) {
        timeval tv{1, 0};  // an answer the kernel owes us comes at once; never wait longer than this
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    thread_ = std::thread([this] { loop(); });
}

KernelAddresses::~KernelAddresses() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (fd_ >= 0) close(fd_);
}

void KernelAddresses::queue(Op op) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        ops_.push_back(std::move(op));
    }
    cv_.notify_all();
}

void KernelAddresses::clean(const std::vector<std::string>& ifnames) { queue(Op{Kind::clean, {}, ifnames}); }

void KernelAddresses::set(const std::set<KernelEntry>& want) {
    for (const KernelEntry& e : installed_)
        if (!want.count(e)) queue(Op{Kind::del, e, {}});
    for (const KernelEntry& e : want)
        if (!installed_.count(e)) queue(Op{Kind::add, e, {}});
    installed_ = want;
}

void KernelAddresses::flush() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return ops_.empty() && !busy_; });
}

void KernelAddresses::loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !ops_.empty(); });
        if (ops_.empty()) return;  // stopping, and everything done
        Op op = std::move(ops_.front());
        ops_.pop_front();
        busy_ = true;
        lock.unlock();
        apply(op);
        lock.lock();
        busy_ = false;
        cv_.notify_all();
    }
}

void KernelAddresses::apply(const Op& op) {
    if (fd_ < 0) {
        log_(true, "kernel address: no netlink socket: " + std::string(std::strerror(errno)));
        return;
    }
    if (op.kind == Kind::clean) {
        std::set<int> indexes;
        for (const std::string& n : op.ifnames)
            if (!n.empty())
                if (unsigned i = if_nametoindex(n.c_str())) indexes.insert(static_cast<int>(i));
        if (indexes.empty()) return;
        // Dump every address; delete ours on those interfaces.
        uint32_t seq = ++seq_;
        ifaddrmsg all{};
        Request dump(RTM_GETADDR, static_cast<uint16_t>(NLM_F_REQUEST | NLM_F_DUMP), seq, all);
        std::vector<uint8_t> req = dump.done();
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        if (sendto(fd_, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
            log_(true, std::string("kernel address: cannot list addresses: ") + std::strerror(errno));
            return;
        }
        std::vector<std::pair<KernelEntry, int>> leftovers;
        alignas(nlmsghdr) char buf[kRecvBuffer];
        for (bool done = false; !done;) {
            ssize_t n = recv(fd_, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                log_(true, std::string("kernel address: listing addresses: ") + std::strerror(errno));
                return;
            }
            size_t len = static_cast<size_t>(n);
            for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
                if (h->nlmsg_seq != seq) continue;
                if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
                    done = true;
                    break;
                }
                if (h->nlmsg_type != RTM_NEWADDR) continue;
                auto* ifa = static_cast<ifaddrmsg*>(NLMSG_DATA(h));
                if (!indexes.count(static_cast<int>(ifa->ifa_index))) continue;
                KernelEntry e;
                bool ours = false;
                size_t alen = IFA_PAYLOAD(h);
                for (auto* a = IFA_RTA(ifa); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
                    const size_t plen = RTA_PAYLOAD(a);
                    if (a->rta_type == IFA_PROTO && plen >= 1) ours = *static_cast<uint8_t*>(RTA_DATA(a)) == kAddressProto;
                    if ((a->rta_type == IFA_LOCAL || (a->rta_type == IFA_ADDRESS && e.addr.ip.family == 0)) &&
                        (plen == 4 || plen == 16)) {
                        e.addr.ip = IpAddr{};
                        e.addr.ip.family = plen == 4 ? 4 : 6;
                        std::memcpy(e.addr.ip.b.data(), RTA_DATA(a), plen);
                    }
                }
                if (!ours || e.addr.ip.family == 0) continue;
                e.addr.prefix_len = ifa->ifa_prefixlen;
                char name[IF_NAMESIZE] = "";
                if_indextoname(ifa->ifa_index, name);
                e.ifname = name;
                leftovers.push_back({e, static_cast<int>(ifa->ifa_index)});
            }
        }
        for (const auto& [e, index] : leftovers) {
            uint32_t s = ++seq_;
            int err = transact(fd_, del_address_request(e, index, s), s);
            if (err) log_(true, "kernel address: removing " + describe(e) + " left from before: " + std::strerror(err));
            else log_(false, "kernel address: removed " + describe(e) + ", left from before");
        }
        return;
    }
    const KernelEntry& e = op.entry;
    unsigned index = if_nametoindex(e.ifname.c_str());
    if (!index) {
        log_(true, std::string("kernel address: ") + (op.kind == Kind::add ? "cannot add " : "cannot remove ") +
                       describe(e) + ": no interface " + e.ifname);
        return;
    }
    uint32_t seq = ++seq_;
    const bool add = op.kind == Kind::add;
    int err = transact(fd_, add ? add_address_request(e, static_cast<int>(index), seq)
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
