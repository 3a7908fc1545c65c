// Neighbour resolution without blocking the control thread: the parser on hand-made rtnetlink
// answers, the asynchronous dump against a fake kernel on a socketpair (answers in several
// datagrams, an error, no answer at all: abandoned at its timeout while the loop keeps ticking),
// and against the real kernel in a network namespace of the test's own (skipped without one).
#include "neighbours.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <arpa/inet.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dplb {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

IpAddr v4(const char* s) {
    IpAddr ip;
    ip.family = 4;
    EXPECT_EQ(inet_pton(AF_INET, s, ip.b.data()), 1) << s;
    return ip;
}
IpAddr v6(const char* s) {
    IpAddr ip;
    ip.family = 6;
    EXPECT_EQ(inet_pton(AF_INET6, s, ip.b.data()), 1) << s;
    return ip;
}
MacAddr mac(const char* s) { return *MacAddr::parse(s); }

// ---------------------------------------------------------------------------------------------
// rtnetlink messages as the kernel writes them.

std::string attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    std::string out(reinterpret_cast<const char*>(&a), sizeof a);
    out.append(static_cast<const char*>(data), len);
    out.resize(RTA_ALIGN(out.size()), '\0');
    return out;
}

std::string message(uint16_t type, uint32_t seq, const std::string& payload, uint16_t flags = NLM_F_MULTI) {
    nlmsghdr nh{};
    nh.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(payload.size()));
    nh.nlmsg_type = type;
    nh.nlmsg_flags = flags;
    nh.nlmsg_seq = seq;
    nh.nlmsg_pid = 4242;
    std::string out(reinterpret_cast<const char*>(&nh), sizeof nh);
    out += payload;
    out.resize(NLMSG_ALIGN(out.size()), '\0');
    return out;
}

std::string neigh(uint32_t seq, const IpAddr& ip, const std::optional<MacAddr>& lladdr, uint16_t state) {
    ndmsg nd{};
    nd.ndm_family = ip.is_v6() ? AF_INET6 : AF_INET;
    nd.ndm_ifindex = 7;
    nd.ndm_state = state;
    std::string payload(reinterpret_cast<const char*>(&nd), sizeof nd);
    payload.resize(NLMSG_ALIGN(payload.size()), '\0');
    payload += attr(NDA_DST, ip.b.data(), ip.is_v6() ? 16 : 4);
    if (lladdr) payload += attr(NDA_LLADDR, lladdr->b.data(), 6);
    uint32_t probes = 3;
    payload += attr(NDA_PROBES, &probes, sizeof probes);
    return message(RTM_NEWNEIGH, seq, payload);
}

std::string done_msg(uint32_t seq, int code = 0) {
    return message(NLMSG_DONE, seq, std::string(reinterpret_cast<const char*>(&code), sizeof code));
}

std::string error_msg(uint32_t seq, int code) {
    nlmsgerr e{};
    e.error = code;
    return message(NLMSG_ERROR, seq, std::string(reinterpret_cast<const char*>(&e), sizeof e), 0);
}

TEST(NeighbourParse, UsableEntriesOfThisDumpOnly) {
    const uint32_t seq = 77;
    std::string dgram = neigh(seq, v4("10.0.0.1"), mac("02:00:00:00:00:01"), NUD_REACHABLE) +
                        neigh(seq, v6("2001:db8::2"), mac("02:00:00:00:00:02"), NUD_STALE) +
                        neigh(seq, v4("10.0.0.3"), mac("02:00:00:00:00:03"), NUD_PERMANENT) +
                        neigh(seq, v4("10.0.0.4"), mac("02:00:00:00:00:04"), NUD_FAILED) +       // not usable
                        neigh(seq, v4("10.0.0.5"), std::nullopt, NUD_INCOMPLETE) +               // no MAC yet
                        neigh(seq, v4("10.0.0.6"), mac("00:00:00:00:00:00"), NUD_NOARP) +         // not usable
                        neigh(seq, v4("10.0.0.7"), mac("00:00:00:00:00:00"), NUD_PERMANENT) +     // zero MAC
                        neigh(seq + 1, v4("10.0.0.8"), mac("02:00:00:00:00:08"), NUD_REACHABLE);  // another dump
    NeighbourTable table;
    EXPECT_EQ(parse_neighbour_dump(dgram.data(), dgram.size(), seq, table), NeighbourDumpPart::more);
    ASSERT_EQ(table.size(), 3u);
    EXPECT_EQ(table.at(v4("10.0.0.1")), mac("02:00:00:00:00:01"));
    EXPECT_EQ(table.at(v6("2001:db8::2")), mac("02:00:00:00:00:02"));
    EXPECT_EQ(table.at(v4("10.0.0.3")), mac("02:00:00:00:00:03"));

    std::string end = done_msg(seq + 1) + done_msg(seq);  // another dump's DONE is not ours
    EXPECT_EQ(parse_neighbour_dump(end.data(), end.size(), seq, table), NeighbourDumpPart::done);
    EXPECT_EQ(table.size(), 3u);
}

TEST(NeighbourParse, ErrorsEndTheDump) {
    NeighbourTable table;
    int err = 0;
    std::string e = error_msg(5, -EPERM);
    EXPECT_EQ(parse_neighbour_dump(e.data(), e.size(), 5, table, &err), NeighbourDumpPart::failed);
    EXPECT_EQ(err, EPERM);
    std::string d = done_msg(5, -EINTR);  // a DONE that carries the dump's error
    EXPECT_EQ(parse_neighbour_dump(d.data(), d.size(), 5, table, &err), NeighbourDumpPart::failed);
    EXPECT_EQ(err, EINTR);
    std::string ack = error_msg(5, 0);  // an acknowledgement is no error
    EXPECT_EQ(parse_neighbour_dump(ack.data(), ack.size(), 5, table, &err), NeighbourDumpPart::more);
    // A message that claims more bytes than the datagram holds.
    std::string cut = neigh(5, v4("10.0.0.1"), mac("02:00:00:00:00:01"), NUD_REACHABLE);
    cut.resize(cut.size() - 8);
    EXPECT_EQ(parse_neighbour_dump(cut.data(), cut.size(), 5, table, &err), NeighbourDumpPart::failed);
    EXPECT_EQ(err, EBADMSG);
    EXPECT_TRUE(table.empty());
}

// ---------------------------------------------------------------------------------------------
// The dump against a fake kernel: the test holds the other end of a socketpair.

// A 10 ms periodic timer: how late it ever ran says whether anything held the loop.
class Ticker {
public:
    explicit Ticker(asio::io_context& io) : timer_(io) { arm(Clock::now() + 10ms); }
    ~Ticker() { timer_.cancel(); }
    Clock::duration max_lateness() const { return max_; }
    int ticks() const { return ticks_; }

private:
    void arm(Clock::time_point at) {
        timer_.expires_at(at);
        timer_.async_wait([this, at](const boost::system::error_code& ec) {
            if (ec) return;
            max_ = std::max(max_, Clock::now() - at);
            ++ticks_;
            arm(at + 10ms);
        });
    }
    asio::steady_timer timer_;
    Clock::duration max_{0};
    int ticks_ = 0;
};

class FakeKernel : public ::testing::Test {
protected:
    void SetUp() override {
        int sv[2];
        ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
        ours_ = sv[0];
        kernel_ = sv[1];
    }
    void TearDown() override {
        dump_.reset();
        io_.restart();
        io_.run_for(1s);  // aborted handlers run; returns once idle
        if (kernel_ >= 0) close(kernel_);
        if (ours_ >= 0) close(ours_);  // never handed to a dump
    }

    void start(milliseconds timeout) {
        started_ = Clock::now();
        dump_ = NeighbourDump::start_on(io_, ours_, timeout, [this](NeighbourDump::Outcome o) {
            ++calls_;
            ended_ = Clock::now();
            outcome_ = std::move(o);
        });
        ours_ = -1;  // the dump's now
        // The request went out before start_on() returned.
        char buf[256];
        ssize_t n = recv(kernel_, buf, sizeof buf, MSG_DONTWAIT);
        ASSERT_EQ(n, static_cast<ssize_t>(NLMSG_LENGTH(sizeof(ndmsg))));
        nlmsghdr nh;
        std::memcpy(&nh, buf, sizeof nh);
        EXPECT_EQ(nh.nlmsg_type, RTM_GETNEIGH);
        EXPECT_EQ(nh.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
        seq_ = nh.nlmsg_seq;
    }
    void answer(const std::string& dgram) {
        ASSERT_EQ(send(kernel_, dgram.data(), dgram.size(), 0), static_cast<ssize_t>(dgram.size()));
    }
    // Bytes we sent that the dump has not read yet.
    int unread() const {
        int n = -1;
        EXPECT_EQ(ioctl(kernel_, SIOCOUTQ, &n), 0);
        return n;
    }
    bool run_until(const std::function<bool()>& done, Clock::duration timeout) {
        auto deadline = Clock::now() + timeout;
        while (!done()) {
            if (Clock::now() >= deadline) return false;
            io_.run_one_for(10ms);
        }
        return true;
    }

    asio::io_context io_;
    int ours_ = -1, kernel_ = -1;
    uint32_t seq_ = 0;
    std::shared_ptr<NeighbourDump> dump_;
    int calls_ = 0;
    std::optional<NeighbourDump::Outcome> outcome_;
    Clock::time_point started_, ended_;
};

TEST_F(FakeKernel, AnswerInSeveralDatagramsEndsAtDone) {
    start(2000ms);
    answer(neigh(seq_, v4("192.0.2.1"), mac("02:00:00:00:01:01"), NUD_REACHABLE) +
           neigh(seq_, v4("192.0.2.2"), mac("02:00:00:00:01:02"), NUD_STALE));
    ASSERT_TRUE(run_until([&] { return unread() == 0; }, 1s));
    answer(neigh(seq_, v6("2001:db8::3"), mac("02:00:00:00:01:03"), NUD_DELAY));
    ASSERT_TRUE(run_until([&] { return unread() == 0; }, 1s));
    io_.poll();
    EXPECT_EQ(calls_, 0) << "ended before NLMSG_DONE";
    answer(done_msg(seq_));
    ASSERT_TRUE(run_until([&] { return calls_ > 0; }, 1s));
    EXPECT_EQ(calls_, 1);
    ASSERT_TRUE(outcome_->ok) << outcome_->error;
    ASSERT_EQ(outcome_->table.size(), 3u);
    EXPECT_EQ(outcome_->table.at(v4("192.0.2.1")), mac("02:00:00:00:01:01"));
    EXPECT_EQ(outcome_->table.at(v4("192.0.2.2")), mac("02:00:00:00:01:02"));
    EXPECT_EQ(outcome_->table.at(v6("2001:db8::3")), mac("02:00:00:00:01:03"));
    // Done means done: its socket is closed.
    EXPECT_LT(send(kernel_, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL), 0);
}

TEST_F(FakeKernel, ErrorAnswerFailsTheDump) {
    start(2000ms);
    answer(error_msg(seq_, -EPERM));
    ASSERT_TRUE(run_until([&] { return calls_ > 0; }, 1s));
    EXPECT_FALSE(outcome_->ok);
    EXPECT_NE(outcome_->error.find(std::strerror(EPERM)), std::string::npos) << outcome_->error;
}

// The kernel never says DONE (nor anything for this dump): the dump is abandoned at its timeout
// and the io_context is never held meanwhile. A blocking recv (as the old read did) would hang
// here: the watchdog then hangs up the fake kernel's end, which ends such a recv, and the test fails.
TEST_F(FakeKernel, NoDoneIsAbandonedAtTheTimeoutWithoutHoldingTheLoop) {
    std::mutex mu;
    std::condition_variable cv;
    bool over = false;
    std::thread watchdog([&] {
        std::unique_lock<std::mutex> lock(mu);
        if (!cv.wait_for(lock, 3s, [&] { return over; })) shutdown(kernel_, SHUT_RDWR);
    });
    Ticker ticker(io_);
    start(300ms);
    answer(neigh(seq_, v4("192.0.2.1"), mac("02:00:00:00:01:01"), NUD_REACHABLE));
    answer(done_msg(seq_ + 1000));  // another dump's end
    bool verdict = run_until([&] { return calls_ > 0; }, 300ms + 500ms);
    {
        std::lock_guard<std::mutex> lock(mu);
        over = true;
    }
    cv.notify_one();
    watchdog.join();
    ASSERT_TRUE(verdict) << "no verdict";
    auto took = std::chrono::duration_cast<milliseconds>(ended_ - started_);
    std::printf("  abandoned after %lld ms (timeout 300); 10 ms timer: %d ticks, max lateness %lld ms\n",
                static_cast<long long>(took.count()), ticker.ticks(),
                static_cast<long long>(std::chrono::duration_cast<milliseconds>(ticker.max_lateness()).count()));
    EXPECT_FALSE(outcome_->ok);
    EXPECT_EQ(outcome_->error, "no end of the dump within 300 ms");
    EXPECT_TRUE(outcome_->table.empty()) << "a partial table is no table";
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 300ms + 300ms);
    EXPECT_GT(ticker.ticks(), 15);
    EXPECT_LT(ticker.max_lateness(), 100ms);
    EXPECT_EQ(calls_, 1);
}

TEST_F(FakeKernel, CancelledDumpNeverCalls) {
    start(100ms);
    dump_->cancel();
    std::string end = done_msg(seq_);
    (void)!send(kernel_, end.data(), end.size(), MSG_DONTWAIT | MSG_NOSIGNAL);  // fails: the dump closed its socket
    io_.run_for(300ms);
    EXPECT_EQ(calls_, 0);
}

// ---------------------------------------------------------------------------------------------
// The real kernel, in a network namespace of the test's own (on this thread only: a network
// namespace is per thread), with permanent entries on a veth interface. Enough of them that the
// kernel answers in several datagrams.

TEST(NeighbourKernel, DumpReadsTheNamespacesTable) {
    constexpr int kEntries = 1000;
    auto v4_of = [](int i) { return "10.77." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1); };
    auto mac_of = [](int i) {
        char s[18];
        std::snprintf(s, sizeof s, "02:00:00:00:%02x:%02x", (i >> 8) & 0xff, i & 0xff);
        return std::string(s);
    };
    const auto batch = std::filesystem::temp_directory_path() / ("dplb-neigh-" + std::to_string(getpid()) + ".batch");
    {
        std::ofstream b(batch);
        b << "link add dplbn0 type veth peer name dplbn1\n"
          << "link set dplbn0 up\n"
          << "link set dplbn1 up\n";
        for (int i = 0; i < kEntries; ++i)
            b << "neigh add " << v4_of(i) << " lladdr " << mac_of(i) << " dev dplbn0 nud permanent\n";
        b << "neigh add 2001:db8::77 lladdr 02:00:00:00:77:77 dev dplbn0 nud permanent\n"
          << "neigh add 10.78.0.1 dev dplbn0 nud noarp\n";  // not usable: left out
    }
    std::string skip;
    std::optional<NeighbourDump::Outcome> outcome;
    long took_us = -1;
    std::thread([&] {
        if (unshare(CLONE_NEWNET) != 0) {
            skip = std::string("no network namespace of our own: ") + std::strerror(errno);
            return;
        }
        // Children of this thread start in its namespace; the namespace goes with the thread.
        std::string cmd = "ip -batch " + batch.string() + " >/dev/null 2>&1";
        int rc = std::system(cmd.c_str());
        if (rc != 0) {
            skip = "'" + cmd + "' failed (status " + std::to_string(rc) + "): no ip(8) or no veth";
            return;
        }
        asio::io_context io;
        auto t0 = Clock::now();
        NeighbourDump::start(io, 2000ms, [&](NeighbourDump::Outcome o) { outcome = std::move(o); });
        io.run();  // returns when the dump has ended: bounded by its own 2 s timeout
        took_us = static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count());
    }).join();
    std::filesystem::remove(batch);
    if (!skip.empty()) GTEST_SKIP() << skip;
    ASSERT_TRUE(outcome.has_value()) << "done was never called";
    ASSERT_TRUE(outcome->ok) << outcome->error;
    std::printf("  %zu entries dumped in %ld us\n", outcome->table.size(), took_us);
    EXPECT_EQ(outcome->table.size(), static_cast<size_t>(kEntries + 1));
    for (int i = 0; i < kEntries; ++i) {
        auto it = outcome->table.find(v4(v4_of(i).c_str()));
        ASSERT_NE(it, outcome->table.end()) << v4_of(i) << " missing";
        EXPECT_EQ(it->second, mac(mac_of(i).c_str())) << v4_of(i);
    }
    auto it6 = outcome->table.find(v6("2001:db8::77"));
    ASSERT_NE(it6, outcome->table.end());
    EXPECT_EQ(it6->second, mac("02:00:00:00:77:77"));
    EXPECT_EQ(outcome->table.count(v4("10.78.0.1")), 0u);
}

}  // namespace
}  // namespace dplb
