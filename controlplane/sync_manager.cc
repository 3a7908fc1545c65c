#include "sync_manager.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "sync/codec.h"
#include "sync/translate.h"

namespace dplb {

namespace asio = boost::asio;
using asio::ip::udp;

SyncManager::SyncManager(asio::io_context& io, const config::SyncConfig& cfg, DataplaneApi& dp, SyncedTable& table,
                         SnapshotFn snapshot, Clock clock)
    : io_(io), cfg_(cfg), dp_(dp), table_(table), snapshot_(std::move(snapshot)), clock_(std::move(clock)),
      socket_(io), timer_(io) {}

SyncManager::~SyncManager() {
    *alive_ = false;
    stop();
}

namespace {

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("sync: " + what + ": " + std::strerror(errno));
}

}  // namespace

void SyncManager::start() {
    const unsigned ifindex = if_nametoindex(cfg_.interface.c_str());
    if (!ifindex) fail("interface " + cfg_.interface);
    // The interface's addresses (our own messages come from one) and its MTU (messages fit it).
    ifaddrs* ifa = nullptr;
    if (getifaddrs(&ifa) != 0) fail("getifaddrs");
    for (ifaddrs* i = ifa; i; i = i->ifa_next) {
        if (!i->ifa_addr || cfg_.interface != i->ifa_name) continue;
        if (i->ifa_addr->sa_family == AF_INET)
            own_.push_back(IpAddr::from_v4_be(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr));
    }
    freeifaddrs(ifa);
    if (own_.empty()) {
        errno = EADDRNOTAVAIL;
        fail("interface " + cfg_.interface + " has no IPv4 address to send from");
    }
    socket_.open(udp::v4());
    const int fd = socket_.native_handle();
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, cfg_.interface.c_str(), IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 28 + 100) max_len_ = static_cast<size_t>(ifr.ifr_mtu) - 28;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) fail("SO_REUSEADDR");
    if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, cfg_.interface.c_str(),
                   static_cast<socklen_t>(cfg_.interface.size())) != 0)
        fail("SO_BINDTODEVICE " + cfg_.interface);
    sockaddr_in any{};
    any.sin_family = AF_INET;
    any.sin_port = htons(cfg_.port);
    any.sin_addr.s_addr = cfg_.group.v4_be();  // only the group's datagrams
    if (bind(fd, reinterpret_cast<sockaddr*>(&any), sizeof any) != 0) fail("bind to the group's port");
    ip_mreqn mreq{};
    mreq.imr_multiaddr.s_addr = cfg_.group.v4_be();
    mreq.imr_ifindex = static_cast<int>(ifindex);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) fail("join " + cfg_.group.str());
    ip_mreqn out{};
    out.imr_ifindex = static_cast<int>(ifindex);
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof out) != 0) fail("IP_MULTICAST_IF");
    unsigned char loop = 0, ttl = cfg_.ttl;
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0) fail("IP_MULTICAST_LOOP");
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) != 0) fail("IP_MULTICAST_TTL");
    socket_.non_blocking(true);
    group_ep_ = udp::endpoint(asio::ip::address_v4(ntohl(cfg_.group.v4_be())), cfg_.port);
    receive();
    arm();
}

void SyncManager::stop() {
    boost::system::error_code ec;
    timer_.cancel();
    if (socket_.is_open()) socket_.close(ec);
}

void SyncManager::arm() {
    timer_.expires_after(std::chrono::milliseconds(kTickMs));
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        tick();
        arm();
    });
}

void SyncManager::tick() {
    drain();
    expire();
}

// The workers' records, translated by the snapshot of now (a record whose real's id was handed to
// another real since is stale and dropped), packed into as few messages as fit the MTU.
void SyncManager::drain() {
    auto snap = snapshot_();
    if (!snap) return;
    std::vector<sync::SyncConn> conns;
    for (size_t w = 0; w < dp_.worker_count(); w++) {
        SyncRing* ring = dp_.sync_ring(w);
        if (!ring) continue;
        batch_.resize(kDrainPerWorker);
        uint32_t n = ring->pop(batch_.data(), kDrainPerWorker);
        for (uint32_t i = 0; i < n; i++) {
            if (auto c = sync::to_wire(batch_[i], *snap)) conns.push_back(*c);
            else stats_.stale_records++;
        }
    }
    if (conns.empty()) return;
    for (const auto& msg : sync::encode(cfg_.syncid, conns, max_len_)) send(msg);
}

void SyncManager::send(const std::vector<uint8_t>& msg) {
    if (!socket_.is_open()) return;
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(msg), group_ep_, 0, ec);  // non-blocking: would_block is an error here
    if (ec) {
        stats_.send_errors++;
        return;
    }
    stats_.sent_messages++;
    stats_.sent_conns += msg.size() > 4 ? msg[4] : 0;
}

void SyncManager::receive() {
    socket_.async_receive_from(asio::buffer(rxbuf_), from_,
                               [this, alive = alive_](const boost::system::error_code& ec, size_t n) {
                                   if (!*alive || ec == asio::error::operation_aborted || !socket_.is_open()) return;
                                   if (!ec) {
                                       IpAddr from;
                                       if (from_.address().is_v4())
                                           from = IpAddr::from_v4_be(htonl(from_.address().to_v4().to_uint()));
                                       handle_datagram(rxbuf_.data(), n, from);
                                   }
                                   receive();
                               });
}

void SyncManager::handle_datagram(const uint8_t* data, size_t len, const IpAddr& from) {
    if (std::find(own_.begin(), own_.end(), from) != own_.end()) {
        stats_.own_messages++;
        return;
    }
    sync::Decoded d = sync::decode(data, len);
    if (!d.ok()) {
        stats_.malformed[static_cast<unsigned>(d.error)]++;
        return;
    }
    stats_.received_messages++;
    stats_.received_conns += d.msg.conns.size();
    stats_.skipped += d.skipped;
    if (cfg_.syncid != 0 && d.msg.syncid != cfg_.syncid) {
        stats_.dropped[static_cast<unsigned>(sync::RxDrop::syncid)] += d.msg.conns.size();
        return;
    }
    auto snap = snapshot_();
    if (!snap) return;
    const uint32_t now = clock_();
    for (const sync::SyncConn& c : d.msg.conns) {
        sync::Resolved r;
        sync::RxDrop why = sync::resolve(c, *snap, now, r);
        if (why == sync::RxDrop::count && !table_.put(r.key(), r.v6, r.entry)) why = sync::RxDrop::table_full;
        if (why != sync::RxDrop::count) stats_.dropped[static_cast<unsigned>(why)]++;
        else stats_.stored++;
    }
    stats_.synced_entries = table_.size();
}

// Entries past their time leave the table; their slots go back to it once every worker has passed a
// quiescent point after the removal (synced_table.h), one grace period at a time.
void SyncManager::expire() {
    if (!in_grace_.empty() && dp_.grace_done(grace_token_)) {
        table_.reclaim(in_grace_);
        in_grace_.clear();
    }
    stats_.expired += table_.expire(clock_(), kExpirePerTick, retired_);
    if (in_grace_.empty() && !retired_.empty()) {
        in_grace_.swap(retired_);
        grace_token_ = dp_.grace_start();
    }
    stats_.synced_entries = table_.size();
}

}  // namespace dplb
