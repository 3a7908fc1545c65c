// The kernel side of VRRP addresses that are no service's vip (config::KernelAddress): while an
// instance is MASTER its such addresses sit on the kernel interface of its port, as keepalived puts
// them there with `ip address add`, so the kernel answers ARP / NS for them and the local service
// (nginx on the director) receives their traffic, which the data plane hands to the kernel.
//
// Changes go over rtnetlink from a thread of their own (netlink_worker.h), in the order they were
// asked for: the control thread (VRRP adverts) never waits on the kernel. Every address dplbd adds carries the
// address protocol kAddressProto (IFA_PROTO, Linux >= 5.18; `ip -d address` shows it), so that the
// addresses a killed dplbd left behind are found and removed at the next start (clean()).
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "config.h"
#include "netlink_worker.h"

namespace dplb {

constexpr uint8_t kAddressProto = 0x64;  // IFA_PROTO of dplbd's addresses (user range; 0-3 are the kernel's)

// One address on one kernel interface.
struct KernelEntry {
    std::string ifname;
    config::KernelAddress addr;
    bool operator<(const KernelEntry& o) const;
    bool operator==(const KernelEntry& o) const { return ifname == o.ifname && addr == o.addr; }
};

// "10.0.0.50/32 dev dplb-lan0 label dplb-lan0:web scope host", for logs.
std::string describe(const KernelEntry& e);
// The IFA_LABEL for `e`: "<ifname>:<label>" cut to the 15 characters of an interface name; "" = none.
std::string kernel_label(const KernelEntry& e);

// The rtnetlink requests, built without a socket (tests read them). `seq` goes into the header.
std::vector<uint8_t> add_address_request(const KernelEntry& e, int ifindex, uint32_t seq);
std::vector<uint8_t> del_address_request(const KernelEntry& e, int ifindex, uint32_t seq);

class KernelAddresses {
public:
    // `log(error, message)` is called from the netlink thread for every change (error = false) and
    // every failure (true).
    using Log = std::function<void(bool error, const std::string& message)>;
    explicit KernelAddresses(Log log);
    // Finishes what is queued (the deletes of a shutdown), then stops the thread.
    ~KernelAddresses() = default;
    KernelAddresses(const KernelAddresses&) = delete;
    KernelAddresses& operator=(const KernelAddresses&) = delete;

    // Queues the removal of every address with kAddressProto on these interfaces ("" skipped).
    void clean(const std::vector<std::string>& ifnames);
    // Brings the kernel to `want`: what is installed and no longer wanted is deleted first, then what
    // is new is added. Returns at once.
    void set(const std::set<KernelEntry>& want);
    const std::set<KernelEntry>& installed() const { return installed_; }
    // Blocks until the thread has done everything queued so far (tests, shutdown).
    void flush() { worker_.flush(); }

private:
    void apply(NetlinkSocket& sock, bool add, const KernelEntry& e);
    void clean_now(NetlinkSocket& sock, const std::vector<std::string>& ifnames);

    Log log_;
    std::set<KernelEntry> installed_;  // what set() has asked for (control thread only)
    NetlinkWorker worker_;             // last: its jobs use the members above
};

}  // namespace dplb
