// Director through a fake data plane: reloads all-or-nothing, what cannot change at run time, id
// lifecycle (references, generations, grace periods), VIP ownership flips, incremental and
// coalesced builds, connection listings from workers that do not answer.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>

#include "commands.h"
#include "director.h"
#include "fake_dataplane.h"
#include "health_manager.h"

namespace dplb {
namespace {

using test::FakeDataplane;

std::string real_yaml(const std::string& ip, int weight = 1) {
    return "      - ip: " + ip + "\n        weight: " + std::to_string(weight) + "\n        mac: 02:00:00:00:00:01\n";
}

// `services` services on 10.0.<s/250>.<s%250+1>:80, each with `reals` reals on 10.<base>.x.y.
std::string config_yaml(int services, int reals, int base = 1, const std::string& extra = "",
                        const std::string& sched = "rr") {
    std::string y = "ports:\n  - name: lan0\n    device: net_ring0\nservices:\n";
    int n = 0;
    for (int s = 0; s < services; s++) {
        y += "  - name: svc" + std::to_string(s) + "\n    vip: 10.0." + std::to_string(s / 250) + "." +
             std::to_string(s % 250 + 1) + "\n    port: 80\n    protocol: tcp\n    scheduler: " + sched +
             "\n    mh_table_size: 251\n    real_servers:\n";
        for (int r = 0; r < reals; r++, n++)
            y += real_yaml("10." + std::to_string(base) + "." + std::to_string(n / 250) + "." + std::to_string(n % 250 + 1));
    }
    return y + extra;
}

const char* kVrrp =
    "vrrp_instances:\n"
    "  - name: VI_1\n    interface: lan0\n    virtual_router_id: 51\n    priority: 100\n    advert_int: 1\n"
    "    virtual_ipaddresses: [10.0.0.1]\n";

class DirectorTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/dplb-director-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
        path_ = dir_ + "/lb.yaml";
    }
    void TearDown() override {
        director_.reset();
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }

    void write(const std::string& text) {
        std::ofstream f(path_, std::ios::trunc);
        f << text;
    }

    void start(const std::string& text, size_t workers = 2) {
        write(text);
        dp_ = std::make_unique<FakeDataplane>(workers);
        director_ = std::make_unique<Director>(io_, config::load_config_file(path_), *dp_);
        director_->start();
    }

    // Runs the control thread's io_context until `done` holds (bounded: 20 s).
    template <class Pred>
    bool run_until(Pred done) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!done()) {
            if (std::chrono::steady_clock::now() > deadline) return false;
            io_.run_one_for(std::chrono::milliseconds(10));
        }
        return true;
    }
    bool settle() {
        return run_until([this] { return director_->idle(); });
    }

    // Reloads and waits for the answer.
    std::string reload() {
        bool answered = false;
        std::string err;
        director_->reload(path_, [&](const std::string& e) {
            answered = true;
            err = e;
        });
        EXPECT_TRUE(run_until([&] { return answered; })) << "reload never answered";
        return err;
    }

    const View& view() const { return *dp_->view; }
    int dest_id(const std::string& ip) const {
        auto snap = director_->snapshot();
        for (size_t id = 0; id < snap->dests.size(); id++)
            if (snap->dests[id].in_use && snap->dests[id].ip == *IpAddr::parse(ip)) return static_cast<int>(id);
        return -1;
    }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{io_.get_executor()};
    std::string dir_, path_;
    std::unique_ptr<FakeDataplane> dp_;
    std::unique_ptr<Director> director_;
};

TEST_F(DirectorTest, StartPublishesAViewOfTheSnapshotWithEveryNonVrrpVipOwned) {
    start(config_yaml(2, 2));
    ASSERT_NE(dp_->view, nullptr);
    EXPECT_EQ(view().snap.get(), director_->snapshot().get());
    EXPECT_EQ(view().vips->flags, (std::vector<uint8_t>{VipTable::kOwned, VipTable::kOwned}));
    EXPECT_EQ(view().failsafe_ms, 0u);
    EXPECT_GE(dp_->beats, 1u);
}

// `dplbctl status` and /metrics read the workers' counters through totals(): every per-core field
// is summed, the connection-sync ones included (a flow adopted on any worker counts).
TEST_F(DirectorTest, TotalsSumEveryWorkersSyncCounters) {
    start(config_yaml(2, 2));
    for (size_t w = 0; w < 2; w++) {
        dp_->counters_rw(w).sync_queued = 10 + w;
        dp_->counters_rw(w).sync_ring_full = 2 + w;
        dp_->counters_rw(w).sync_adopted = 5 + w;
        dp_->counters_rw(w).sync_refreshed = 7 + w;
    }
    auto t = std::make_unique<CoreCounters>();
    director_->totals(*t);
    EXPECT_EQ(t->sync_queued, 21u);
    EXPECT_EQ(t->sync_ring_full, 5u);
    EXPECT_EQ(t->sync_adopted, 11u);
    EXPECT_EQ(t->sync_refreshed, 15u);
}

// The workers' liveness (announce state, "workers stalled"): a grace period still pending after
// kWorkerStall is a stall; its end is the workers back.
TEST_F(DirectorTest, WorkersStalledWhileAGracePeriodDoesNotEnd) {
    start(config_yaml(1, 1));
    std::vector<bool> changes;
    director_->set_on_workers([&](bool alive) { changes.push_back(alive); });
    dp_->hold_grace = true;
    const auto held = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until([&] { return !changes.empty(); })) << "no stall seen";
    EXPECT_GE(std::chrono::steady_clock::now() - held, Director::kWorkerStall);
    EXPECT_EQ(changes, std::vector<bool>{false});
    EXPECT_FALSE(director_->workers_alive());
    dp_->complete_all_grace();  // the workers pass their quiescent points again
    dp_->hold_grace = false;
    ASSERT_TRUE(run_until([&] { return changes.size() == 2; })) << "no recovery seen";
    EXPECT_EQ(changes, (std::vector<bool>{false, true}));
    EXPECT_TRUE(director_->workers_alive());
    director_->set_on_workers({});
}

// The reproducer of the id exhaustion: every real renumbered while the old ones still hold
// connections needs twice the id space. The reload must fail whole, with its cause, and change nothing.
TEST_F(DirectorTest, ReloadThatNeedsMoreIdsThanExistFailsWholeAndKeepsEverything) {
    const int services = 40, reals = kMaxDests / 2 / services + 1;  // just over half the id space
    start(config_yaml(services, reals, 1));
    auto before = director_->snapshot();
    const View* view_before = dp_->view;
    for (size_t id = 0; id < before->dests.size(); id++) dp_->counters_rw(0).dest[id].refs = 1;  // all in use

    write(config_yaml(services, reals, 2));  // the same services, every real a new one
    std::string err = reload();
    EXPECT_NE(err.find("ids the data plane has"), std::string::npos) << err;
    EXPECT_NE(err.find("nothing applied"), std::string::npos) << err;
    EXPECT_EQ(director_->snapshot().get(), before.get());
    EXPECT_EQ(dp_->view, view_before);
    EXPECT_EQ(director_->config().services[0].reals[0].ip, *IpAddr::parse("10.1.0.1"));
    EXPECT_EQ(director_->reloads_failed(), 1u);
    EXPECT_EQ(director_->reloads_ok(), 0u);
    EXPECT_FALSE(director_->last_reload_ok());

    EXPECT_NE(err.find(std::to_string(services * reals) + " real servers configured"), std::string::npos) << err;

    // The running state is whole: a valid reload applies.
    write(config_yaml(services, reals, 1, "", "wlc"));
    EXPECT_EQ(reload(), "");
    EXPECT_EQ(director_->snapshot()->services[0].sched, Sched::wlc);
}

TEST_F(DirectorTest, ReloadRefusesFieldsThatCannotChangeByNameAndKeepsTheConfig) {
    start(config_yaml(1, 2));
    write(config_yaml(1, 3) + "control:\n  socket: /run/dplb/other.sock\n");
    std::string err = reload();
    EXPECT_NE(err.find("control.socket"), std::string::npos) << err;
    EXPECT_EQ(director_->config().services[0].reals.size(), 2u);
    EXPECT_EQ(director_->snapshot()->services[0].dests.size(), 2u);
}

TEST_F(DirectorTest, ReloadOfAnUnreadableFileFailsFastAndKeepsTheConfig) {
    start(config_yaml(1, 2));
    write(",");
    std::string err = reload();
    EXPECT_NE(err.find("lb.yaml:1:1"), std::string::npos) << err;
    write(config_yaml(1, 2) + "---\n,\n");
    err = reload();
    EXPECT_FALSE(err.empty());
    EXPECT_EQ(director_->reloads_failed(), 2u);
    EXPECT_EQ(director_->config().services[0].reals.size(), 2u);
}

// A worker in the middle of hit() has moved a connection out of InActConn and not yet into
// ActiveConn: both read 0. The id must not be freed: references move only when entries come and go.
TEST_F(DirectorTest, IdOfARemovedRealStaysWhileAnyEntryRefersToItWhateverItsStateCounters) {
    start(config_yaml(1, 2));
    int gone = dest_id("10.1.0.2");
    ASSERT_GE(gone, 0);
    DestCounters& c = dp_->counters_rw(1).dest[gone];
    c.active = 0;
    c.inactive = 0;
    c.persist = 0;
    c.refs = 1;
    write(config_yaml(1, 1));  // 10.1.0.2 leaves: it drains
    ASSERT_EQ(reload(), "");
    director_->tick();
    ASSERT_TRUE(settle());
    const Dest& d = director_->snapshot()->dests[gone];
    EXPECT_TRUE(d.in_use);
    EXPECT_TRUE(d.draining);

    c.refs = 0;  // the last entry released
    director_->tick();
    ASSERT_TRUE(settle());
    EXPECT_FALSE(director_->snapshot()->dests[gone].in_use);

    // The next real to get that id gets the next generation.
    uint8_t gen = director_->snapshot()->dests[gone].gen;
    write(config_yaml(1, 1) + "");
    std::string y = config_yaml(1, 1);
    y += real_yaml("10.9.0.9");
    write(y);
    ASSERT_EQ(reload(), "");
    int again = dest_id("10.9.0.9");
    EXPECT_EQ(again, gone);
    EXPECT_EQ(director_->snapshot()->dests[again].gen, static_cast<uint8_t>(gen + 1));
}

// While a replaced View may still be read by a worker, nothing it holds is freed and no id is
// handed back.
TEST_F(DirectorTest, ReplacedViewsLiveUntilTheirGracePeriodAndIdsWaitForIt) {
    start(config_yaml(1, 2));
    int gone = dest_id("10.1.0.2");
    dp_->hold_grace = true;
    std::weak_ptr<const Snapshot> first = director_->snapshot();
    write(config_yaml(1, 1));
    ASSERT_EQ(reload(), "");
    EXPECT_FALSE(first.expired()) << "freed before the workers passed a quiescent point";
    director_->tick();  // no entry refers to it, but a worker may still schedule on the first snapshot
    io_.poll();
    EXPECT_FALSE(director_->building());
    EXPECT_TRUE(director_->snapshot()->dests[gone].in_use);

    dp_->complete_all_grace();
    ASSERT_TRUE(run_until([&] { return first.expired(); }));
    dp_->hold_grace = false;
    director_->tick();
    ASSERT_TRUE(settle());
    EXPECT_FALSE(director_->snapshot()->dests[gone].in_use);
}

// Views published after the one in which a real started draining (VRRP flips, here held in their
// grace periods, as under a steady stream of them) do not keep its id: once every worker has the
// View where it drains and nothing refers to it, it is freed.
TEST_F(DirectorTest, DrainedIdIsFreedWhileLaterViewsAwaitTheirGracePeriods) {
    start(config_yaml(1, 2, 1, kVrrp));
    int gone = dest_id("10.1.0.2");
    ASSERT_GE(gone, 0);
    dp_->hold_grace = true;
    write(config_yaml(1, 1, 1, kVrrp));  // 10.1.0.2 leaves: it drains
    ASSERT_EQ(reload(), "");
    director_->tick();  // no entry refers to it, but a worker may still hold the View before
    io_.poll();
    EXPECT_TRUE(director_->snapshot()->dests[gone].in_use);

    dp_->complete_all_grace();  // every worker has the View in which it drains...
    ASSERT_TRUE(run_until([&] { return director_->version_in_use() == director_->version_published(); }));
    // ...and the flips go on: each new View waits for its grace period, and another follows it.
    for (int i = 0; i < 4; i++) director_->set_vips_owned({*IpAddr::parse("10.0.0.1")}, i % 2 == 0);
    ASSERT_LT(director_->version_in_use(), director_->version_published());
    director_->tick();
    ASSERT_TRUE(run_until([&] { return !director_->building() && !director_->snapshot()->dests[gone].in_use; }))
        << "a drained id was kept while later Views awaited their grace periods";
    EXPECT_LT(director_->version_in_use(), director_->version_published());
}

// A real whose service left keeps that service's id while it drains: a new service must not take
// it, or the draining entries would be taken for the new service's.
TEST_F(DirectorTest, ServiceIdOfADrainingRealIsNotReused) {
    start(config_yaml(2, 1));
    int drains = dest_id("10.1.0.2");  // svc1's only real
    ASSERT_GE(drains, 0);
    uint16_t old_svc = director_->snapshot()->dests[drains].svc;
    dp_->counters_rw(0).dest[drains].refs = 1;
    // svc1 leaves, a new service (another VIP) arrives.
    std::string y = config_yaml(1, 1);
    y += "  - vip: 10.0.9.9\n    port: 80\n    protocol: tcp\n    mh_table_size: 251\n    real_servers:\n" + real_yaml("10.1.9.9");
    write(y);
    ASSERT_EQ(reload(), "");
    auto snap = director_->snapshot();
    ASSERT_EQ(snap->services.size(), 2u);
    EXPECT_TRUE(snap->dests[drains].draining);
    EXPECT_NE(snap->services[1].id, old_svc);
}

TEST_F(DirectorTest, VrrpFlipPublishesOwnershipAloneWithNoBuild) {
    start(config_yaml(2, 2, 1, kVrrp));
    EXPECT_EQ(director_->failsafe_ms(), 2000u);  // twice the advert interval
    EXPECT_EQ(view().failsafe_ms, 2000u);
    // 10.0.0.1 (svc0) is VI_1's and not claimed yet; 10.0.0.2 is no instance's.
    EXPECT_EQ(view().vips->flags, (std::vector<uint8_t>{VipTable::kVrrp, VipTable::kOwned}));
    uint64_t builds = director_->builds(), tables = director_->tables_rebuilt(), pubs = dp_->publishes;
    const Snapshot* snap = view().snap.get();

    director_->set_vips_owned({*IpAddr::parse("10.0.0.1")}, true);
    EXPECT_EQ(dp_->publishes, pubs + 1);  // at once, before any handler runs
    EXPECT_EQ(view().snap.get(), snap);
    EXPECT_EQ(view().vips->flags, (std::vector<uint8_t>{VipTable::kOwned | VipTable::kVrrp, VipTable::kOwned}));
    director_->set_vips_owned({*IpAddr::parse("10.0.0.1")}, true);  // no change: nothing published
    EXPECT_EQ(dp_->publishes, pubs + 1);
    director_->set_vips_owned({*IpAddr::parse("10.0.0.1")}, false);
    EXPECT_EQ(view().vips->flags, (std::vector<uint8_t>{VipTable::kVrrp, VipTable::kOwned}));
    ASSERT_TRUE(settle());
    EXPECT_EQ(director_->builds(), builds);
    EXPECT_EQ(director_->tables_rebuilt(), tables);
}

// An instance removed by a reload resigns afterwards; its VIP, still a service's, is owned as every
// VIP outside VRRP is, whatever the resigning instance says.
TEST_F(DirectorTest, VipOfARemovedInstanceIsOwned) {
    start(config_yaml(1, 2, 1, kVrrp));
    director_->set_vips_owned({*IpAddr::parse("10.0.0.1")}, false);
    write(config_yaml(1, 2));
    ASSERT_EQ(reload(), "");
    director_->set_vips_owned({*IpAddr::parse("10.0.0.1")}, false);  // the instance's stop()
    EXPECT_TRUE(director_->owns_vip(*IpAddr::parse("10.0.0.1")));
    EXPECT_EQ(view().vips->flags, (std::vector<uint8_t>{VipTable::kOwned}));
    EXPECT_EQ(view().failsafe_ms, 0u);
}

TEST_F(DirectorTest, HealthChangeRebuildsOnlyThatServicesTables) {
    start(config_yaml(3, 4));
    auto before = director_->snapshot();
    uint64_t tables = director_->tables_rebuilt();
    const config::Service& s1 = director_->config().services[1];
    director_->runtime()[RealKey{s1.vip, s1.port, s1.proto, s1.reals[2].ip, s1.reals[2].port}].healthy = false;
    bool published = false;
    director_->rebuild([&](const std::string& err) {
        EXPECT_EQ(err, "");
        published = true;
    });
    ASSERT_TRUE(run_until([&] { return published; }));
    auto after = director_->snapshot();
    EXPECT_EQ(director_->tables_rebuilt(), tables + 1);
    EXPECT_EQ(after->services[0].tables, before->services[0].tables);
    EXPECT_NE(after->services[1].tables, before->services[1].tables);
    EXPECT_EQ(after->services[2].tables, before->services[2].tables);
    EXPECT_EQ(after->services[1].dests.size(), 3u);  // the down real left the service
}

// An event about one real builds its service only, and the result is what a full build gives.
TEST_F(DirectorTest, OneRealsChangeBuildsItsServiceOnlyAndMatchesAFullBuild) {
    start(config_yaml(3, 4));
    auto key = [this](int svc, int real) {
        const config::Service& s = director_->config().services[svc];
        return RealKey{s.vip, s.port, s.proto, s.reals[real].ip, s.reals[real].port};
    };
    uint64_t tables = director_->tables_rebuilt();
    director_->runtime()[key(1, 2)].healthy = false;
    director_->runtime()[key(2, 0)].weight_override = 5;
    bool done = false;
    director_->rebuild(key(1, 2));
    director_->rebuild(key(2, 0), [&](const std::string& err) { done = err.empty(); });
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(director_->tables_rebuilt(), tables + 2);
    auto partial = director_->snapshot();

    done = false;
    director_->rebuild([&](const std::string& err) { done = err.empty(); });  // everything
    ASSERT_TRUE(run_until([&] { return done; }));
    auto full = director_->snapshot();
    ASSERT_EQ(partial->services.size(), full->services.size());
    for (size_t i = 0; i < full->services.size(); i++) {
        EXPECT_EQ(partial->services[i].id, full->services[i].id);
        EXPECT_EQ(partial->services[i].dests, full->services[i].dests) << i;
        EXPECT_EQ(partial->services[i].tables->mh, full->services[i].tables->mh) << i;
        EXPECT_EQ(partial->services[i].tables->wrr_seq, full->services[i].tables->wrr_seq) << i;
    }
    ASSERT_EQ(partial->dests.size(), full->dests.size());
    for (size_t id = 0; id < full->dests.size(); id++) {
        const Dest &a = partial->dests[id], &b = full->dests[id];
        EXPECT_EQ(std::tie(a.in_use, a.draining, a.healthy, a.weight, a.gen, a.svc, a.port),
                  std::tie(b.in_use, b.draining, b.healthy, b.weight, b.gen, b.svc, b.port))
            << id;
        EXPECT_EQ(a.ip, b.ip) << id;
        EXPECT_EQ(a.mac, b.mac) << id;
    }
    const Dest& down = full->dests[dest_id("10.1.0.7")];  // services[1].reals[2]
    EXPECT_FALSE(down.healthy);
    EXPECT_TRUE(down.draining);
    EXPECT_EQ(full->dests[dest_id("10.1.0.9")].weight, 5);  // services[2].reals[0]
}

TEST_F(DirectorTest, NoOpReloadRebuildsNoTable) {
    start(config_yaml(5, 4));
    uint64_t tables = director_->tables_rebuilt();
    ASSERT_EQ(reload(), "");
    ASSERT_TRUE(settle());
    EXPECT_EQ(director_->tables_rebuilt(), tables);
    EXPECT_EQ(director_->reloads_ok(), 1u);
}

TEST_F(DirectorTest, BurstOfEventsIsCoalesced) {
    start(config_yaml(1, 2));
    uint64_t builds = director_->builds();
    int answered = 0;
    for (int w = 1; w <= 100; w++)
        ASSERT_EQ(director_->set_weight("10.0.0.1:80", "10.1.0.1:80", w, [&](const std::string&) { answered++; }), "");
    ASSERT_TRUE(run_until([&] { return answered == 100; }));
    EXPECT_LE(director_->builds(), builds + 2);
    EXPECT_EQ(director_->snapshot()->dests[dest_id("10.1.0.1")].weight, 100);
    EXPECT_EQ(view().snap.get(), director_->snapshot().get());
}

TEST_F(DirectorTest, WeightAnswersOnceTheWorkersHaveTheChange) {
    start(config_yaml(1, 2));
    bool seen = false;
    ASSERT_EQ(director_->set_weight("10.0.0.1:80", "10.1.0.2:80", 7, [&](const std::string& err) {
        EXPECT_EQ(err, "");
        EXPECT_EQ(dp_->view->snap->dests[dest_id("10.1.0.2")].weight, 7);
        seen = true;
    }),
              "");
    EXPECT_FALSE(seen);
    ASSERT_TRUE(run_until([&] { return seen; }));
    EXPECT_NE(director_->set_weight("10.0.0.1:80", "10.1.0.9:80", 7), "");
}

// Operator changes (dplbctl ipvsadm) apply in order on the configuration running when their build
// starts, keep operator weights, change nothing when refused, and last until the next reload.
TEST_F(DirectorTest, OperatorChangesApplyInOrderAndLastUntilTheNextReload) {
    start(config_yaml(1, 2));
    ASSERT_EQ(director_->set_weight("10.0.0.1:80", "10.1.0.2:80", 7), "");
    std::vector<std::string> answers;
    auto add_real = [](const std::string& ip) {
        return [ip](config::Config& cfg) -> std::string {
            config::RealServer r;
            r.ip = *IpAddr::parse(ip);
            r.port = 80;
            cfg.services.at(0).reals.push_back(r);
            return "";
        };
    };
    // Two changes asked for at once: the second sees the first.
    director_->apply_change(add_real("10.1.0.10"), "add .10", [&](const std::string& e) { answers.push_back("1" + e); });
    director_->apply_change(add_real("10.1.0.11"), "add .11", [&](const std::string& e) { answers.push_back("2" + e); });
    director_->apply_change([](config::Config&) { return std::string("refused"); }, "no",
                            [&](const std::string& e) { answers.push_back("3" + e); });
    ASSERT_TRUE(run_until([&] { return answers.size() == 3; }));
    EXPECT_EQ(answers, (std::vector<std::string>{"1", "2", "3refused"}));
    ASSERT_TRUE(settle());
    EXPECT_EQ(director_->config().services[0].reals.size(), 4u);
    EXPECT_GE(dest_id("10.1.0.10"), 0);
    EXPECT_GE(dest_id("10.1.0.11"), 0);
    EXPECT_EQ(view().snap->dests[dest_id("10.1.0.2")].weight, 7);  // the operator weight stayed
    EXPECT_EQ(director_->operator_changes(), (std::vector<std::string>{"add .10", "add .11"}));
    EXPECT_EQ(director_->reloads_ok(), 0u);
    EXPECT_EQ(reload(), "");
    ASSERT_TRUE(settle());
    EXPECT_EQ(director_->config().services[0].reals.size(), 2u);
    EXPECT_TRUE(director_->operator_changes().empty());
    EXPECT_EQ(view().snap->dests[dest_id("10.1.0.2")].weight, 1);
}

// A worker that never serves its listing (stopped, stuck) delays the answer by the deadline only,
// and its request is withdrawn.
TEST_F(DirectorTest, ConnectionListingAnswersWithoutAWorkerThatDoesNotServeIt) {
    start(config_yaml(1, 2));
    bool answered = false;
    std::vector<ConnInfo> got;
    director_->connections(10, [&](std::vector<ConnInfo> c) {
        answered = true;
        got = std::move(c);
    });
    ASSERT_NE(dp_->dumps[0], nullptr);
    ASSERT_NE(dp_->dumps[1], nullptr);
    ConnInfo c;
    c.sport = 1234;
    dp_->dumps[0]->out.push_back(c);  // worker 0 answers; worker 1 never does
    dp_->dumps[0]->done.store(true);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until([&] { return answered; }));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].sport, 1234);
    EXPECT_EQ(dp_->dumps[1], nullptr);
}

// `dplbctl list` through the command parser: -t / -u pick one service (ipvsadm's list_service: no
// version line), an unknown one is an error, views are exclusive; size= sums the workers' tables.
TEST_F(DirectorTest, ListCommandPicksOneServiceAndSumsTheTablesCapacity) {
    start(config_yaml(3, 1));
    dp_->fills = {ConnTableFill{0, 4096, 0, 1024}, ConnTableFill{7, 4096, 0, 1024}};
    auto run = [this](std::vector<std::string> words) {
        Reply got{false, "no answer"};
        run_command(*director_, nullptr, words, [&got](Reply r) { got = std::move(r); });
        return got;
    };
    Reply r = run({"list", "-t", "10.0.0.2:80"});
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.text,
              "Prot LocalAddress:Port Scheduler Flags\n"
              "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
              "TCP  10.0.0.2:80 rr\n"
              "  -> 10.1.0.2:80                  Route   1      0          0         \n");
    r = run({"list"});
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.text.substr(0, r.text.find('\n') + 1), "IP Virtual Server version 1.2.1 (size=10240)\n");
    r = run({"list", "-u", "10.0.0.2:80"});  // the service is TCP
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.text, "No such service\n");
    EXPECT_FALSE(run({"list", "--stats", "--rate"}).ok);
    EXPECT_FALSE(run({"list", "-t"}).ok);
    EXPECT_FALSE(run({"timeouts", "--exact"}).ok);
    r = run({"list", "--timeout"});
    EXPECT_EQ(r.text, "Timeout (tcp tcpfin udp): 900 120 300\n");
}

}  // namespace
}  // namespace dplb

namespace dplb {
namespace {

// HealthManager keeps each service's quorum with keepalived's hysteresis; a lost quorum hands the
// service's new connections to its sorry server and runs quorum_down, a regained one hands them back
// and runs quorum_up. Health is set by hand here (as a checker's verdict would) and sync() evaluates.
TEST_F(DirectorTest, QuorumWithHysteresisMovesTheServiceToItsSorryServerAndBack) {
    const std::string down = dir_ + "/down", up = dir_ + "/up";
    start("ports:\n  - name: lan0\n    device: net_ring0\nservices:\n"
          "  - vip: 10.0.0.1\n    port: 80\n    protocol: tcp\n    scheduler: rr\n"
          "    quorum: 2\n    hysteresis: 1\n"  // down below 1, up again from 3
          "    quorum_up: \"/usr/bin/touch " + up + "\"\n    quorum_down: \"/usr/bin/touch " + down + "\"\n"
          "    sorry_server: {ip: 10.9.0.9, mac: \"02:00:00:00:00:09\"}\n    real_servers:\n" +
          real_yaml("10.1.0.1", 2) + real_yaml("10.1.0.2", 1));
    HealthManager health(io_, *director_);
    std::vector<std::string> hooks;
    health.set_on_notify([&](const std::string& kind, const std::string& name, const std::string& outcome) {
        hooks.push_back(kind + " " + name + " " + outcome);
    });
    const config::Service& s = director_->config().services[0];
    auto set_health = [&](const char* ip, bool healthy) {
        director_->runtime()[RealKey{s.vip, s.port, s.proto, *IpAddr::parse(ip), 80}].healthy = healthy;
        health.sync();
        return settle();
    };
    auto sorry_weight = [&] { return director_->snapshot()->dests.at(dest_id("10.9.0.9")).weight; };
    auto listed = [&](const char* ip) {
        const auto& d = director_->snapshot()->services.at(0).dests;
        return std::find(d.begin(), d.end(), dest_id(ip)) != d.end();
    };

    health.sync();
    ASSERT_TRUE(settle());
    EXPECT_TRUE(director_->snapshot()->services[0].quorum_up);
    EXPECT_FALSE(listed("10.9.0.9"));
    ASSERT_TRUE(set_health("10.1.0.1", false));  // live weight 1: not below quorum - hysteresis
    EXPECT_TRUE(director_->snapshot()->services[0].quorum_up);
    EXPECT_EQ(sorry_weight(), 0);
    ASSERT_TRUE(set_health("10.1.0.2", false));  // 0: lost
    EXPECT_FALSE(director_->snapshot()->services[0].quorum_up);
    EXPECT_EQ(sorry_weight(), 1);
    EXPECT_TRUE(listed("10.9.0.9"));
    ASSERT_TRUE(run_until([&] { return hooks.size() == 1; }));
    EXPECT_EQ(hooks[0], "notify_quorum TCP 10.0.0.1:80 success");
    EXPECT_EQ(::access(down.c_str(), F_OK), 0) << "quorum_down ran";
    std::string status;
    run_command(*director_, nullptr, {"status"}, [&](Reply r) { status = r.text; });
    EXPECT_NE(status.find("TCP 10.0.0.1:80 quorum DOWN (live weight 0, quorum 2, hysteresis 1), sorry server "
                          "10.9.0.9:80 IN USE"),
              std::string::npos)
        << status;
    ASSERT_TRUE(set_health("10.1.0.1", true));  // 2: not yet quorum + hysteresis
    EXPECT_FALSE(director_->snapshot()->services[0].quorum_up);
    EXPECT_EQ(sorry_weight(), 1);
    EXPECT_FALSE(listed("10.1.0.1")) << "a live real takes nothing new while the sorry server serves";
    ASSERT_TRUE(set_health("10.1.0.2", true));  // 3: regained
    EXPECT_TRUE(director_->snapshot()->services[0].quorum_up);
    EXPECT_FALSE(listed("10.9.0.9"));
    EXPECT_TRUE(listed("10.1.0.1"));
    ASSERT_TRUE(run_until([&] { return hooks.size() == 2; }));
    EXPECT_EQ(::access(up.c_str(), F_OK), 0) << "quorum_up ran";
    ::unlink(up.c_str());
    ::unlink(down.c_str());
}

}  // namespace
}  // namespace dplb
