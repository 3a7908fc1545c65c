// The connection-sync channel on the control thread (IPVS sync protocol version 1, sync/codec.h):
// every 10 ms it drains the workers' sync rings (a bounded batch), packs the records into messages
// up to the interface's MTU and multicasts them; it receives its peers' messages, keeps those of our
// syncid whose service and real are ours in the synced table the workers adopt from
// (dataplane/synced_table.h), and removes synced entries whose time has come, freeing their slots
// only after a grace period. One UDP socket, non-blocking: a send that would block is counted and the
// message dropped (sync is loss-tolerant), never waited for. Active-active: every director both sends
// and receives; its own messages (multicast loop off, and by source address) are ignored.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "config.h"
#include "dataplane_api.h"
#include "snapshot.h"
#include "sync/stats.h"
#include "synced_table.h"

namespace dplb {

class SyncManager {
public:
    using Clock = std::function<uint32_t()>;         // the workers' millisecond clock (worker.h now_ms)
    using SnapshotFn = std::function<std::shared_ptr<const Snapshot>()>;

    SyncManager(boost::asio::io_context& io, const config::SyncConfig& cfg, DataplaneApi& dp, SyncedTable& table,
                SnapshotFn snapshot, Clock clock);
    ~SyncManager();

    // Opens the socket on the interface (joins the group, loop off, the TTL) and starts the timer
    // and the receive loop. Throws std::runtime_error naming what failed.
    void start();
    void stop();

    const sync::Stats& stats() const { return stats_; }
    const config::SyncConfig& config() const { return cfg_; }
    // For tests: one pass of the timer's work, and a datagram as the socket would hand it over.
    void tick();
    void handle_datagram(const uint8_t* data, size_t len, const IpAddr& from);

    static constexpr uint32_t kTickMs = 10;
    static constexpr uint32_t kDrainPerWorker = 2048;  // records per worker per tick
    static constexpr uint32_t kExpirePerTick = 4096;   // synced-table slots looked at per tick

private:
    void arm();
    void drain();
    void send(const std::vector<uint8_t>& msg);
    void receive();
    void expire();

    boost::asio::io_context& io_;
    config::SyncConfig cfg_;
    DataplaneApi& dp_;
    SyncedTable& table_;
    SnapshotFn snapshot_;
    Clock clock_;
    boost::asio::ip::udp::socket socket_;
    boost::asio::ip::udp::endpoint group_ep_, from_;
    boost::asio::steady_timer timer_;
    std::vector<uint8_t> rxbuf_ = std::vector<uint8_t>(65536);
    std::vector<SyncRecord> batch_;
    std::vector<IpAddr> own_;  // the interface's addresses: a message from one is our own
    size_t max_len_ = 1500 - 28;
    std::vector<SyncedTable::Retired> retired_, in_grace_;
    uint64_t grace_token_ = 0;
    sync::Stats stats_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dplb
