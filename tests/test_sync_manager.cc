// SyncManager without its socket (EAL for the synced table's rte_hash): what a received datagram does
// to the synced table and the counters (syncid, malformed, the drop reasons), the
// workers' rings drained into records, and expiry that frees slots only after a grace period.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "dataplane_fixture.h"
#include "fake_dataplane.h"
#include "sync_fixtures.h"
#include "sync_manager.h"

namespace dplb::test {
namespace {

class SyncManagerTest : public ::testing::Test {
protected:
    void SetUp() override {
        static unsigned n = 0;
        ASSERT_TRUE(table_.init(("smsync" + std::to_string(n++)).c_str(), 1024, 1024, 0));
        snap_ = std::make_shared<Snapshot>(golden_snapshot());
        cfg_.enabled = true;
        cfg_.interface = "lo";
        cfg_.syncid = 7;
        dp_.rings = {&ring_};
        mgr_ = std::make_unique<SyncManager>(io_, cfg_, dp_, table_, [this] { return snap_; },
                                             [this] { return now_; });
    }
    // A peer's record for 10 s.
    static sync::SyncConn conn(uint16_t cport, const char* real) { return test_sync::peer_conn(cport, real, 1, 10); }
    void deliver(uint8_t syncid, const std::vector<sync::SyncConn>& conns, const char* from = "10.0.0.3") {
        for (const auto& m : sync::encode(syncid, conns, 1472)) mgr_->handle_datagram(m.data(), m.size(), ip(from));
    }
    uint64_t dropped(sync::RxDrop d) const { return mgr_->stats().dropped[static_cast<unsigned>(d)]; }

    boost::asio::io_context io_;
    config::SyncConfig cfg_;
    FakeDataplane dp_{1};
    SyncRing ring_{64};
    SyncedTable table_;
    std::shared_ptr<const Snapshot> snap_;
    uint32_t now_ = 1000;
    std::unique_ptr<SyncManager> mgr_;
};

TEST_F(SyncManagerTest, StoresPeersConnectionsAndCountsEveryRefusal) {
    sync::SyncConn udp = conn(1, "10.0.0.11");
    udp.protocol = kProtoUdp;
    udp.vport = udp.dport = 53;
    udp.state = 0;
    deliver(7, {conn(40000, "10.0.0.12"), conn(40001, "10.0.0.13"), udp});
    EXPECT_EQ(1u, mgr_->stats().received_messages);
    EXPECT_EQ(3u, mgr_->stats().received_conns);
    EXPECT_EQ(2u, mgr_->stats().stored);
    EXPECT_EQ(1u, dropped(sync::RxDrop::no_real));
    EXPECT_EQ(2u, table_.size());
    ConnKey4 k = test_sync::key4(40000);
    ConnEntry e;
    ASSERT_TRUE(table_.find(&k, false, e));
    EXPECT_EQ(1, e.dest);
    EXPECT_EQ(11000u, e.expire_ms);

    deliver(8, {conn(40002, "10.0.0.12")});
    EXPECT_EQ(1u, dropped(sync::RxDrop::syncid));
    const uint8_t junk[] = {0, 7, 0, 10, 0, 1, 0, 0, 0};  // size says 10, 9 came
    mgr_->handle_datagram(junk, sizeof junk, ip("10.0.0.3"));
    EXPECT_EQ(1u, mgr_->stats().malformed[static_cast<unsigned>(sync::DecodeError::bad_size)]);
    EXPECT_EQ(2u, table_.size());
    EXPECT_EQ(2u, mgr_->stats().received_messages);  // the syncid one was received, then refused
}

TEST_F(SyncManagerTest, ExpiryWaitsForAGracePeriodBeforeFreeingSlots) {
    dp_.hold_grace = true;
    deliver(7, {conn(40000, "10.0.0.12")});
    ASSERT_EQ(1u, table_.size());
    now_ = 11000;
    mgr_->tick();
    EXPECT_EQ(1u, mgr_->stats().expired);
    ConnKey4 k = test_sync::key4(40000);
    ConnEntry e;
    EXPECT_FALSE(table_.find(&k, false, e));
    EXPECT_EQ(1u, table_.size());  // removed, its slot not handed back yet
    mgr_->tick();
    EXPECT_EQ(1u, table_.size());
    dp_.complete_all_grace();
    mgr_->tick();
    EXPECT_EQ(0u, table_.size());
}

TEST_F(SyncManagerTest, DrainsTheWorkersRingsIntoRecords) {
    // Without start() there is no socket: the records are translated and counted as stale or not, and
    // nothing is sent. Two good records and one whose real's id changed generation.
    SyncRecord r = test_sync::worker_record(40000, static_cast<uint8_t>(TcpState::established), 1, snap_->dests[1].gen);
    ASSERT_TRUE(ring_.push(r));
    ASSERT_TRUE(ring_.push(r));
    r.gen++;
    ASSERT_TRUE(ring_.push(r));
    mgr_->tick();
    EXPECT_EQ(1u, mgr_->stats().stale_records);
    SyncRecord left[4];
    EXPECT_EQ(0u, ring_.pop(left, 4));
}

}  // namespace
}  // namespace dplb::test
