// Health checks against real things: TCP and HTTP servers on the loopback that each test starts on
// its own thread (own io_context, so a checker that blocked its loop could not hide it), and real
// /bin/sh scripts. Time is the test's own: the checkers run on a ManualClock that moves only when a
// test advances it, so every delay_loop, retry, delay_before_retry, warmup, connect_timeout and
// script timeout is checked to the millisecond (a check starts at exactly its time, not a
// millisecond before), however loaded the machine. Only the I/O and the scripts run in real time,
// and the tests wait for them by what they do (a Result delivered, a request read, a pid written),
// never for a length of time; kHangGuard only turns a hang into a failure.
#include "health_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "http_response.h"
#include "md5.h"
#include "probe.h"
#include "wire.h"

namespace dplb::health {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using std::chrono::milliseconds;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// How long a wait for real I/O or a script may take before the test calls it a hang. No assertion
// depends on it: the checkers' clock stands still while the test waits.
constexpr std::chrono::seconds kHangGuard{20};

// Waits for something outside the checkers' io_context (a script writing its pid, a killed process
// disappearing, a reap on another thread), looking every few ms; false after kHangGuard.
bool eventually(const std::function<bool()>& done) {
    auto give_up = std::chrono::steady_clock::now() + kHangGuard;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= give_up) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// The checkers' clock. Starts at 0 and moves only in advance(), which fires the timers that fall due
// on the way, in deadline order (then in the order they were armed), each with now() at its own
// deadline, so a check started by one runs its timeout from there. A timer due now fires at the
// next advance(), advance(0ms) included, never inside wait().

class ManualClock final : public Clock {
public:
    ~ManualClock() override {
        // Whatever is left (a test that failed half-way) lets go of its owner before the clock goes.
        std::vector<std::function<void()>> left;
        for (ManualTimer* t : timers_) left.push_back(std::move(t->fire_));
        left.clear();
        for (ManualTimer* t : timers_) t->clock_ = nullptr;
    }

    time_point now() const override { return now_; }
    std::unique_ptr<Timer> make_timer(asio::io_context&) override { return std::make_unique<ManualTimer>(*this); }

    void advance(milliseconds d) {
        const time_point until = now_ + d;
        while (ManualTimer* t = next_due(until)) {
            now_ = t->at_;
            std::function<void()> fire = std::move(t->fire_);
            t->fire_ = nullptr;
            fire();  // may arm, cancel or destroy timers: next_due() looks again
        }
        now_ = until;
    }

    milliseconds elapsed() const { return std::chrono::duration_cast<milliseconds>(now_.time_since_epoch()); }
    size_t timers() const { return timers_.size(); }

private:
    class ManualTimer final : public Timer {
    public:
        explicit ManualTimer(ManualClock& clock) : clock_(&clock) { clock_->timers_.push_back(this); }
        ~ManualTimer() override {
            if (clock_) clock_->timers_.erase(std::find(clock_->timers_.begin(), clock_->timers_.end(), this));
        }
        void wait(milliseconds delay, std::function<void()> fire) override {
            at_ = clock_->now_ + delay;
            seq_ = ++clock_->seq_;
            fire_ = std::move(fire);
        }
        void cancel() override {
            std::function<void()> drop = std::move(fire_);  // its owner may go with it, and this timer too
            fire_ = nullptr;
        }

        ManualClock* clock_;
        time_point at_{};
        uint64_t seq_ = 0;
        std::function<void()> fire_;
    };

    ManualTimer* next_due(time_point until) const {
        ManualTimer* next = nullptr;
        for (ManualTimer* t : timers_) {
            if (!t->fire_ || t->at_ > until) continue;
            if (!next || t->at_ < next->at_ || (t->at_ == next->at_ && t->seq_ < next->seq_)) next = t;
        }
        return next;
    }

    std::vector<ManualTimer*> timers_;
    time_point now_{};
    uint64_t seq_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A loopback server on its own thread. Control calls run on that thread and return when done.

class TestServer {
public:
    enum class Mode {
        accept_close,  // TCP_CHECK target: accept and hang up
        http,          // one HTTP response per connection, status and body settable
        silent,        // read the request and never answer (HTTP timeout)
    };

    explicit TestServer(Mode mode, const std::string& address = "127.0.0.1")
        : mode_(mode), addr_(asio::ip::make_address(address)), work_(asio::make_work_guard(io_)),
          thread_([this] { io_.run(); }) {
        try {
            open();
        } catch (...) {  // no destructor for a half-built object: the thread must be joined here
            work_.reset();
            thread_.join();
            throw;
        }
    }
    ~TestServer() {
        call([this] { close_all(); });
        work_.reset();
        thread_.join();
    }

    uint16_t port() const { return port_; }

    // Listen again on the same port (an ephemeral one the first time).
    void open() {
        call([this] {
            acceptor_.emplace(io_);
            tcp::endpoint ep(addr_, port_);
            acceptor_->open(ep.protocol());
            acceptor_->set_option(tcp::acceptor::reuse_address(true));
            acceptor_->bind(ep);
            acceptor_->listen();
            port_ = acceptor_->local_endpoint().port();
            accept_next(++generation_);
        });
    }
    // Stop listening and drop every connection: connects are refused from now on.
    void close() {
        call([this] { close_all(); });
    }

    void respond(int status, std::string body, bool content_length = true) {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = status;
        body_ = std::move(body);
        content_length_ = content_length;
    }
    std::string last_request() const {
        std::lock_guard<std::mutex> lock(mu_);
        return last_request_;
    }
    int accepted() const { return accepted_; }
    int requests() const { return requests_; }  // request heads read to the end

private:
    template <class F>
    void call(F f) {
        std::promise<void> done;
        asio::post(io_, [&] {
            try {
                f();
                done.set_value();
            } catch (...) {
                done.set_exception(std::current_exception());
            }
        });
        done.get_future().get();
    }

    void close_all() {
        boost::system::error_code ignored;
        if (acceptor_) acceptor_->close(ignored);
        acceptor_.reset();
        ++generation_;
        for (auto& s : held_) s->close(ignored);
        held_.clear();
    }

    // The generation keeps an accept that completed just before close() from arming a second
    // accept loop on the reopened acceptor.
    void accept_next(unsigned gen) {
        acceptor_->async_accept([this, gen](const boost::system::error_code& ec, tcp::socket s) {
            if (ec || gen != generation_) return;
            ++accepted_;
            auto sock = std::make_shared<tcp::socket>(std::move(s));
            held_.push_back(sock);
            if (mode_ == Mode::accept_close) {
                boost::system::error_code ignored;
                sock->close(ignored);
            } else {
                serve_http(sock);
            }
            accept_next(gen);
        });
    }

    void serve_http(std::shared_ptr<tcp::socket> sock) {
        auto in = std::make_shared<std::string>();
        asio::async_read_until(*sock, asio::dynamic_buffer(*in), "\r\n\r\n",
                               [this, sock, in](const boost::system::error_code& ec, size_t n) {
                                   if (ec) return;
                                   {
                                       std::lock_guard<std::mutex> lock(mu_);
                                       last_request_ = in->substr(0, n);
                                   }
                                   ++requests_;
                                   if (mode_ == Mode::silent) return;  // the socket stays open in held_
                                   auto out = std::make_shared<std::string>();
                                   {
                                       std::lock_guard<std::mutex> lock(mu_);
                                       *out = "HTTP/1.0 " + std::to_string(status_) + " Whatever\r\n";
                                       if (content_length_) *out += "Content-Length: " + std::to_string(body_.size()) + "\r\n";
                                       *out += "\r\n" + body_;
                                   }
                                   asio::async_write(*sock, asio::buffer(*out),
                                                     [sock, out](const boost::system::error_code&, size_t) {
                                                         boost::system::error_code ignored;
                                                         sock->shutdown(tcp::socket::shutdown_both, ignored);
                                                         sock->close(ignored);
                                                     });
                               });
    }

    const Mode mode_;
    const asio::ip::address addr_;
    asio::io_context io_;  // before the sockets: they must go first
    asio::executor_work_guard<asio::io_context::executor_type> work_;
    std::optional<tcp::acceptor> acceptor_;
    std::vector<std::shared_ptr<tcp::socket>> held_;
    unsigned generation_ = 0;
    uint16_t port_ = 0;
    std::atomic<int> accepted_{0};
    std::atomic<int> requests_{0};
    mutable std::mutex mu_;
    int status_ = 200;
    std::string body_ = "ok\n";
    bool content_length_ = true;
    std::string last_request_;
    std::thread thread_;  // last: joined (in the destructor) before anything it uses goes
};

// ---------------------------------------------------------------------------------------------
// Checkers run on the test's own thread, on clock_; run_until() drives their io_context.

struct Change {
    bool up;
    std::string reason;
    milliseconds at;  // on clock_
};

class HealthTest : public ::testing::Test {
protected:
    void TearDown() override {
        checker_.reset();
        // Let aborted handlers and the reaping of killed scripts finish; returns once idle.
        work_.reset();
        io_.restart();
        io_.run_for(kHangGuard);
        // No child left behind, running or zombie (waitid(WNOWAIT) only looks).
        siginfo_t info{};
        errno = 0;
        int rc = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
        EXPECT_TRUE(rc == -1 && errno == ECHILD) << "a child process survived the test";
        EXPECT_EQ(clock_.timers(), 0u) << "a timer outlived its checker";
    }

    CheckSpec spec(CheckType type, uint16_t port) {
        CheckSpec s;
        s.type = type;
        s.host = "127.0.0.1";
        s.port = port;
        s.delay_loop = 100ms;
        s.connect_timeout = 200ms;
        s.delay_before_retry = 50ms;
        s.script_timeout = 200ms;
        return s;
    }

    std::unique_ptr<Checker> make(const CheckSpec& s) {
        return std::make_unique<Checker>(
            io_, s, [this](bool up, const std::string& reason) { changes_.push_back({up, reason, clock_.elapsed()}); },
            [this](const Result& r) {
                results_.push_back(r);
                result_at_.push_back(clock_.elapsed());
            },
            clock_);
    }

    Checker& start(const CheckSpec& s) {
        std::cout << "  check: " << describe(s) << "\n";
        checker_ = make(s);
        checker_->start();
        return *checker_;
    }

    // Runs the io_context until `done`: the real I/O of the checks and their scripts' ends.
    bool run_until(const std::function<bool()>& done) {
        auto give_up = std::chrono::steady_clock::now() + kHangGuard;
        while (!done()) {
            if (std::chrono::steady_clock::now() >= give_up) return false;
            io_.run_one_for(10ms);
        }
        return true;
    }

    // Moves clock_ on by `gap`: `c`, idle until then, starts a check at exactly `gap`, not a
    // millisecond before.
    ::testing::AssertionResult starts_after(Checker& c, milliseconds gap) {
        const milliseconds from = clock_.elapsed();
        if (c.checking()) return ::testing::AssertionFailure() << "a check is still in flight at " << from.count() << " ms";
        if (gap > 0ms) {
            clock_.advance(gap - 1ms);
            if (c.checking()) {
                return ::testing::AssertionFailure()
                       << "a check started before " << (from + gap).count() << " ms (by " << clock_.elapsed().count() << ")";
            }
            clock_.advance(1ms);
        } else {
            clock_.advance(0ms);
        }
        if (!c.checking()) return ::testing::AssertionFailure() << "no check started at " << (from + gap).count() << " ms";
        return ::testing::AssertionSuccess();
    }

    // The check in flight runs (in real time; clock_ stands still) until its Result is in.
    ::testing::AssertionResult completes(Checker& c) {
        const size_t before = results_.size();
        if (!run_until([&] { return !c.checking(); })) {
            return ::testing::AssertionFailure() << "the check never completed (" << kHangGuard.count() << " s)";
        }
        if (results_.size() != before + 1) return ::testing::AssertionFailure() << "no Result for the check";
        return ::testing::AssertionSuccess();
    }

    // The check in flight, which nothing else will end (the network stays silent), ends at exactly
    // `timeout` on clock_, inside the deadline's callback, and its Result says it took that long.
    ::testing::AssertionResult times_out(Checker& c, milliseconds timeout) {
        const size_t before = results_.size();
        clock_.advance(timeout - 1ms);
        if (!c.checking()) return ::testing::AssertionFailure() << "the check ended before its timeout";
        clock_.advance(1ms);
        if (c.checking()) return ::testing::AssertionFailure() << "the check outlived its timeout";
        if (results_.size() != before + 1) return ::testing::AssertionFailure() << "no Result for the check";
        if (results_.back().duration != timeout) {
            return ::testing::AssertionFailure() << "it took " << results_.back().duration.count() << " us";
        }
        return ::testing::AssertionSuccess();
    }

    // Both: the next check starts exactly `gap` on, and its Result is results_.back().
    ::testing::AssertionResult check_after(Checker& c, milliseconds gap) {
        auto started = starts_after(c, gap);
        return started ? completes(c) : started;
    }

    size_t failures() const {
        size_t n = 0;
        for (const auto& r : results_) n += r.up ? 0 : 1;
        return n;
    }

    ManualClock clock_;  // first: it outlives the io_context and the probes its handlers hold
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    std::vector<Change> changes_;
    std::vector<Result> results_;
    std::vector<milliseconds> result_at_;  // on clock_
    std::unique_ptr<Checker> checker_;
};

// ---------------------------------------------------------------------------------------------
// Pure pieces.

TEST(Md5Test, Rfc1321Vectors) {
    using detail::md5_hex;
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(md5_hex("a"), "0cc175b9c0f1b6a831c399e269772661");
    EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
    EXPECT_EQ(md5_hex("message digest"), "f96b697d7cb7938d525a2f31aaf161d0");
    EXPECT_EQ(md5_hex("abcdefghijklmnopqrstuvwxyz"), "c3fcd3d76192e4007dfb496cca67e13b");
    EXPECT_EQ(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
              "d174ab98d277d9f5a5611c2c9f419d9f");
    EXPECT_EQ(md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890"),
              "57edf4a22be3c955ac49da2e2107b67a");
    // Lengths around the 56-byte padding edge take the one- and two-block tail paths.
    // (Expected values from Python's hashlib.)
    EXPECT_EQ(md5_hex(std::string(55, 'x')), "04364420e25c512fd958a70738aa8f72");
    EXPECT_EQ(md5_hex(std::string(56, 'x')), "668a72d5ba17f08e62dabcafad6db14b");
    EXPECT_EQ(md5_hex(std::string(63, 'x')), "7dc2ca208106a2f703567bdff99d8981");
    EXPECT_EQ(md5_hex(std::string(64, 'x')), "c1bb4f81d892b2d57947682aeb252456");
    EXPECT_EQ(md5_hex(std::string(65, 'x')), "1bc932052302d074bdec39795fe00cf6");
    EXPECT_EQ(md5_hex(std::string(119, 'x')), "ab347a5f68c8a443cfcddc633f12c24f");
    EXPECT_EQ(md5_hex(std::string(120, 'x')), "fb98667f98096de92620b64f46e1c5b5");
}

TEST(HttpHeadTest, StatusAndContentLength) {
    auto h = detail::parse_http_head("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                                     "content-length:  12\r\n\r\n");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 503);
    EXPECT_EQ(h->content_length, 12u);
    h = detail::parse_http_head("HTTP/1.0 200\r\n\r\n");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    EXPECT_FALSE(h->content_length);
    EXPECT_FALSE(detail::parse_http_head("SSH-2.0-OpenSSH_9.2\r\n\r\n"));
    EXPECT_FALSE(detail::parse_http_head("HTTP/1.1 2000 OK\r\n\r\n"));
    EXPECT_FALSE(detail::parse_http_head("HTTP/1.1 abc OK\r\n\r\n"));
}

TEST(DescribeTest, NamesTypeTargetAndTimers) {
    CheckSpec http{CheckType::http, "10.0.0.1", 8080};
    http.path = "/health";
    http.status_codes = {200, 204};
    EXPECT_EQ(describe(http),
              "HTTP_GET 10.0.0.1:8080/health status 200,204 connect_timeout 5000ms delay_loop 60000ms retry 1 "
              "delay_before_retry 1000ms");
    CheckSpec tcp{CheckType::tcp, "2001:db8::1", 443};
    tcp.alpha = true;
    tcp.warmup = 2000ms;
    EXPECT_THAT(describe(tcp), StartsWith("TCP_CHECK [2001:db8::1]:443 connect_timeout 5000ms"));
    EXPECT_THAT(describe(tcp), HasSubstr("warmup 2000ms alpha"));
    CheckSpec misc{CheckType::misc, "10.0.0.2", 0};
    misc.script = "/usr/local/bin/check 10.0.0.2";
    misc.dynamic = true;
    EXPECT_THAT(describe(misc), StartsWith("MISC_CHECK \"/usr/local/bin/check 10.0.0.2\" for 10.0.0.2:0 timeout 5000ms dynamic"));
}

// ---------------------------------------------------------------------------------------------
// The steady clock, which dplbd runs on. Every test below runs on clock_ instead; these only show
// that the real clock's timers keep the Timer contract and drive a Checker. No timing is asserted.

// Two waits due at once: both handlers are queued in the same pass of the reactor, and the first
// to run cancels the other, whose handler is then stale and must not call back.
TEST(SteadyClockTest, NoCallbackAfterCancelEvenWhenAlreadyDue) {
    asio::io_context io;
    auto a = steady_clock().make_timer(io);
    auto b = steady_clock().make_timer(io);
    int fired = 0;
    a->wait(0ms, [&] {
        ++fired;
        b->cancel();
    });
    b->wait(0ms, [&] {
        ++fired;
        a->cancel();
    });
    io.run();
    EXPECT_EQ(fired, 1);
}

TEST(SteadyClockTest, AWaitReplacesTheOneBeforeAndDestructionCancels) {
    asio::io_context io;
    auto a = steady_clock().make_timer(io);
    auto gone = steady_clock().make_timer(io);
    std::vector<std::string> fired;
    a->wait(0ms, [&] { fired.push_back("first"); });
    a->wait(1ms, [&] { fired.push_back("second"); });
    gone->wait(0ms, [&] { fired.push_back("destroyed"); });
    gone.reset();
    EXPECT_TRUE(fired.empty()) << "never from inside wait()";
    io.run();  // returns when no wait is left
    EXPECT_EQ(fired, std::vector<std::string>{"second"});
}

TEST(SteadyClockTest, DrivesAChecker) {
    TestServer server(TestServer::Mode::accept_close);
    uint16_t port = server.port();
    server.close();
    asio::io_context io;
    CheckSpec s{CheckType::tcp, "127.0.0.1", port};
    s.delay_loop = 20ms;
    s.delay_before_retry = 10ms;
    s.retry = 1;
    std::vector<bool> results;
    std::vector<std::string> changes;
    Checker c(io, s, [&](bool, const std::string& reason) { changes.push_back(reason); },
              [&](const Result& r) { results.push_back(r.up); });
    c.start();
    auto give_up = std::chrono::steady_clock::now() + kHangGuard;
    while (changes.empty() && std::chrono::steady_clock::now() < give_up) io.run_one_for(10ms);
    c.stop();
    ASSERT_EQ(changes.size(), 1u) << "no DOWN within " << kHangGuard.count() << " s";
    EXPECT_EQ(changes[0], "TCP connect to 127.0.0.1:" + std::to_string(port) + " refused");
    EXPECT_EQ(results, (std::vector<bool>{false, false})) << "a check and its retry";
    io.run();  // what stop() aborted; nothing calls back
    EXPECT_EQ(results.size(), 2u);
}

// ---------------------------------------------------------------------------------------------
// TCP_CHECK

TEST_F(HealthTest, TcpDownWhenListenerClosedUpWhenReopened) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms)) << "the first check starts at once (no warmup)";
    EXPECT_TRUE(results_[0].up) << results_[0].reason;
    EXPECT_EQ(results_[0].duration, 0us) << "the clock stood still while it connected";
    EXPECT_TRUE(c.up());
    EXPECT_TRUE(changes_.empty()) << "already UP: the first success is no change";

    server.close();
    ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_FALSE(results_[1].up);
    EXPECT_TRUE(c.up()) << "one failure is retried before the real goes DOWN";
    EXPECT_TRUE(changes_.empty());
    ASSERT_TRUE(check_after(c, s.delay_before_retry)) << "the retry comes delay_before_retry after the failure";
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "TCP connect to 127.0.0.1:" + std::to_string(server.port()) + " refused");
    EXPECT_EQ(changes_[0].at, s.delay_loop + s.delay_before_retry);
    EXPECT_FALSE(c.up());

    server.open();
    ASSERT_TRUE(check_after(c, s.delay_loop)) << "while DOWN, checks go on every delay_loop";
    ASSERT_EQ(changes_.size(), 2u);
    EXPECT_TRUE(changes_[1].up);
    EXPECT_THAT(changes_[1].reason, HasSubstr("succeeded"));
    EXPECT_EQ(changes_[1].at, 2 * s.delay_loop + s.delay_before_retry);
    EXPECT_TRUE(c.up());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_EQ(changes_.size(), 2u);
    // The server's thread accepts in its own time (a connect completes without it, so the first one
    // may have been dropped unaccepted by the close): the four since the reopen, at least.
    EXPECT_TRUE(eventually([&] { return server.accepted() >= 4; })) << "accepted " << server.accepted();
}

// A listener whose accept queue is full drops SYNs: the connect neither succeeds nor is refused,
// and only connect_timeout ends the attempt.
TEST_F(HealthTest, TcpConnectTimeoutWhenSynsAreDropped) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(lfd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(listen(lfd, 0), 0);
    socklen_t len = sizeof addr;
    getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    // One connection, never accepted, fills a backlog of 0. TCP_INFO of a listener counts the
    // queue in tcpi_unacked and its limit in tcpi_sacked; past the limit the kernel drops SYNs.
    int filler = socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_EQ(connect(filler, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_TRUE(eventually([&] {
        tcp_info info{};
        socklen_t info_len = sizeof info;
        getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &info, &info_len);
        return info.tcpi_unacked > info.tcpi_sacked;
    })) << "the accept queue never filled";

    CheckSpec s = spec(CheckType::tcp, ntohs(addr.sin_port));
    s.connect_timeout = 150ms;
    Checker& c = start(s);
    for (int attempt = 0; attempt < 2; ++attempt) {
        ASSERT_TRUE(starts_after(c, attempt == 0 ? 0ms : s.delay_before_retry));
        io_.poll();  // whatever the network has to say by now (nothing: the SYN was dropped)
        ASSERT_TRUE(times_out(c, s.connect_timeout));
        EXPECT_EQ(results_.back().reason, "TCP connect to 127.0.0.1:" + std::to_string(s.port) + ": timeout after 150 ms");
    }
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].at, 2 * s.connect_timeout + s.delay_before_retry);
    // delay_loop counts from the end of the check before, not from its start.
    ASSERT_TRUE(starts_after(c, s.delay_loop));
    checker_.reset();

    ::close(filler);
    ::close(lfd);
}

TEST_F(HealthTest, TcpOverIpv6Loopback) {
    std::unique_ptr<TestServer> server;
    try {
        server = std::make_unique<TestServer>(TestServer::Mode::accept_close, "::1");
    } catch (const std::exception& e) {
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    CheckSpec s = spec(CheckType::tcp, server->port());
    s.host = "::1";
    s.alpha = true;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_TRUE(c.up());
    EXPECT_EQ(changes_[0].reason, "TCP connect to [::1]:" + std::to_string(s.port) + " succeeded");
}

TEST_F(HealthTest, NotAnAddressIsDown) {
    CheckSpec s = spec(CheckType::tcp, 80);
    s.host = "real1.example.com";  // literals only: resolving names is the configuration's job
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(starts_after(c, 0ms));
    EXPECT_TRUE(results_.empty()) << "even this failure completes on the io_context, not inside the start";
    ASSERT_TRUE(completes(c));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_THAT(changes_[0].reason, HasSubstr("is not an IP address"));
}

// ---------------------------------------------------------------------------------------------
// HTTP_GET

TEST_F(HealthTest, HttpStatus200Then500) {
    TestServer server(TestServer::Mode::http);
    CheckSpec s = spec(CheckType::http, server.port());
    s.path = "/health";
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_[0].up) << results_[0].reason;
    EXPECT_EQ(results_[0].reason, "HTTP status 200 from /health");
    std::string request = server.last_request();
    EXPECT_THAT(request, StartsWith("GET /health HTTP/1.0\r\n"));
    EXPECT_THAT(request, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));

    server.respond(500, "broken\n");
    ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_TRUE(changes_.empty()) << "the first 500 is retried";
    ASSERT_TRUE(check_after(c, s.delay_before_retry));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "HTTP status 500 from /health");
    EXPECT_EQ(changes_[0].at, s.delay_loop + s.delay_before_retry);
    EXPECT_FALSE(c.up());

    server.respond(200, "fine\n");
    ASSERT_TRUE(check_after(c, s.delay_loop));
    ASSERT_EQ(changes_.size(), 2u);
    EXPECT_TRUE(changes_[1].up);
    EXPECT_TRUE(c.up());
    EXPECT_EQ(server.requests(), 4);
}

TEST_F(HealthTest, HttpStatusCodesListIsHonoured) {
    TestServer server(TestServer::Mode::http);
    server.respond(302, "");
    CheckSpec s = spec(CheckType::http, server.port());
    s.status_codes = {200, 302};
    s.alpha = true;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_TRUE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "HTTP status 302 from /");
}

// Same test with and without Content-Length: the body ends at the length or at the close.
class HttpDigest : public HealthTest, public ::testing::WithParamInterface<bool> {};

TEST_P(HttpDigest, MatchThenMismatch) {
    const bool content_length = GetParam();
    TestServer server(TestServer::Mode::http);
    std::string body(3000, 'h');  // bigger than one read, so the body arrives in pieces
    server.respond(200, body, content_length);
    CheckSpec s = spec(CheckType::http, server.port());
    s.path = "/index.html";
    s.digest = detail::md5_hex(body);
    for (char& ch : s.digest) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));  // case-blind
    s.alpha = true;
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_TRUE(changes_[0].up) << changes_[0].reason;
    EXPECT_TRUE(c.up());

    server.respond(200, body + "defaced", content_length);
    ASSERT_TRUE(check_after(c, s.delay_loop));
    ASSERT_EQ(changes_.size(), 2u);
    EXPECT_FALSE(changes_[1].up);
    EXPECT_THAT(changes_[1].reason, HasSubstr("digest mismatch"));
    EXPECT_THAT(changes_[1].reason, HasSubstr(detail::md5_hex(body + "defaced")));
}

INSTANTIATE_TEST_SUITE_P(Body, HttpDigest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "WithContentLength" : "UntilClose"; });

// The server reads the request and never answers: connect_timeout covers the whole exchange.
TEST_F(HealthTest, HttpTimeoutWhenServerNeverAnswers) {
    TestServer server(TestServer::Mode::silent);
    CheckSpec s = spec(CheckType::http, server.port());
    s.connect_timeout = 150ms;
    Checker& c = start(s);
    for (int attempt = 0; attempt < 2; ++attempt) {
        ASSERT_TRUE(starts_after(c, attempt == 0 ? 0ms : s.delay_before_retry));
        ASSERT_TRUE(run_until([&] { return server.requests() == attempt + 1; })) << "the request never came";
        ASSERT_TRUE(times_out(c, s.connect_timeout));
    }
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason,
              "HTTP GET / from 127.0.0.1:" + std::to_string(server.port()) + ": timeout after 150 ms");
    EXPECT_EQ(changes_[0].at, 2 * s.connect_timeout + s.delay_before_retry);
    EXPECT_FALSE(c.up());
    EXPECT_EQ(server.accepted(), 2) << "it connected both times; the answer is what never came";
}

// ---------------------------------------------------------------------------------------------
// MISC_CHECK

TEST_F(HealthTest, MiscExitZeroIsUp) {
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "exit 0";
    s.alpha = true;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_TRUE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "MISC_CHECK exit status 0");
    EXPECT_TRUE(c.up());
    EXPECT_EQ(c.dynamic_weight(), -1);
}

TEST_F(HealthTest, MiscExitOneIsDown) {
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "exit 1";
    s.dynamic = true;  // 1 is a failure even for dynamic scripts
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(changes_.empty()) << "the first failure is retried";
    ASSERT_TRUE(check_after(c, s.delay_before_retry));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "MISC_CHECK exit status 1");
    EXPECT_EQ(changes_[0].at, s.delay_before_retry);
    EXPECT_FALSE(c.up());
    EXPECT_EQ(failures(), 2u);
}

TEST_F(HealthTest, MiscDynamicExit7IsUpWithWeight5) {
    // A real script file with an argument, as keepalived's misc_path is a command line.
    auto dir = std::filesystem::temp_directory_path() / ("dplb-health-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    auto script = dir / "weight.sh";
    std::ofstream(script) << "#!/bin/sh\nexit $(( $1 + 2 ))\n";
    std::filesystem::permissions(script, std::filesystem::perms::owner_all);

    CheckSpec s = spec(CheckType::misc, 0);
    s.script = script.string() + " 5";
    s.dynamic = true;
    s.alpha = true;
    int weight_seen_in_on_change = -2;
    checker_ = std::make_unique<Checker>(
        io_, s, [&](bool up, const std::string& reason) {
            changes_.push_back({up, reason, clock_.elapsed()});
            weight_seen_in_on_change = checker_->dynamic_weight();
        },
        [&](const Result& r) { results_.push_back(r); }, clock_);
    checker_->start();
    ASSERT_TRUE(check_after(*checker_, 0ms));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_TRUE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "MISC_CHECK exit status 7 (weight 5)");
    EXPECT_EQ(results_[0].dynamic_weight, 5);
    EXPECT_EQ(checker_->dynamic_weight(), 5);
    EXPECT_EQ(weight_seen_in_on_change, 5) << "the weight is set before OnChange runs";
    checker_.reset();
    std::filesystem::remove_all(dir);
}

TEST_F(HealthTest, MiscExit7WithoutDynamicIsDown) {
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "exit 7";
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_EQ(changes_[0].reason, "MISC_CHECK exit status 7");
    EXPECT_EQ(c.dynamic_weight(), -1);
}

// Whether a process is gone: no such pid, or a zombie that nobody reaps (its parent died; in a
// container pid 1 may never reap it) - either way it runs no more.
bool process_gone(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    if (!stat) return true;
    std::string line;
    std::getline(stat, line);
    auto close_paren = line.rfind(')');
    return close_paren != std::string::npos && line.size() > close_paren + 2 && line[close_paren + 2] == 'Z';
}

// The pid a script wrote to `file`, or 0 until it has (echo writes it in one go).
pid_t pid_in(const std::filesystem::path& file) {
    pid_t pid = 0;
    std::ifstream(file) >> pid;
    return pid;
}

TEST_F(HealthTest, MiscScriptPastTimeoutIsKilledWithItsChildren) {
    auto pidfile = std::filesystem::temp_directory_path() / ("dplb-health-sleep-" + std::to_string(getpid()));
    std::filesystem::remove(pidfile);
    CheckSpec s = spec(CheckType::misc, 0);
    // The sleep runs in the background: only killing the whole process group ends it.
    s.script = "sleep 30 & echo $! > " + pidfile.string() + "; wait";
    s.retry = 1;
    Checker& c = start(s);
    for (int attempt = 0; attempt < 2; ++attempt) {
        ASSERT_TRUE(starts_after(c, attempt == 0 ? 0ms : s.delay_before_retry));
        ASSERT_TRUE(eventually([&] { return pid_in(pidfile) > 0; })) << "the script never started its sleep";
        pid_t grandchild = pid_in(pidfile);
        std::filesystem::remove(pidfile);
        clock_.advance(s.script_timeout - 1ms);
        EXPECT_TRUE(c.checking()) << "the script was stopped before its timeout";
        clock_.advance(1ms);  // SIGKILL to the group; the verdict comes with the reap
        ASSERT_TRUE(completes(c));
        EXPECT_EQ(results_.back().reason, "MISC_CHECK timeout after 200 ms (killed)");
        EXPECT_EQ(results_.back().duration, s.script_timeout);
        // It has had SIGKILL with its group; under load it may take a moment to be scheduled and die.
        EXPECT_TRUE(eventually([&] { return process_gone(grandchild); })) << "the script's background sleep survived";
    }
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "MISC_CHECK timeout after 200 ms (killed)");
    EXPECT_EQ(changes_[0].at, 2 * s.script_timeout + s.delay_before_retry);
    EXPECT_FALSE(c.up());
}

bool no_child_left() {
    siginfo_t info{};
    errno = 0;
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

TEST_F(HealthTest, StopKillsRunningScriptAndSilencesCallbacks) {
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "sleep 30";
    s.script_timeout = 10s;
    Checker& c = start(s);
    ASSERT_TRUE(starts_after(c, 0ms));  // the script runs: posix_spawn has returned
    EXPECT_FALSE(no_child_left());
    c.stop();
    EXPECT_FALSE(c.checking());
    // The kill is sent by stop(); the reap comes on the io_context, which the TearDown check (no
    // child left) would otherwise do for us.
    EXPECT_TRUE(run_until(no_child_left)) << "the script was never reaped after stop()";
    clock_.advance(s.script_timeout + s.delay_loop);  // its timeout and its next check would be due
    EXPECT_FALSE(c.checking());
    EXPECT_TRUE(results_.empty());
    EXPECT_TRUE(changes_.empty());
}

// Zombies whose parent is this process, from /proc (what `ps` shows as <defunct> under us).
std::vector<pid_t> our_zombies() {
    std::vector<pid_t> out;
    for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        const std::string name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); }))
            continue;
        std::ifstream stat(e.path() / "stat");
        std::string line;
        if (!stat || !std::getline(stat, line)) continue;  // gone meanwhile
        auto close_paren = line.rfind(')');
        if (close_paren == std::string::npos) continue;
        std::istringstream rest(line.substr(close_paren + 1));
        char state = 0;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (state == 'Z' && ppid == getpid()) out.push_back(static_cast<pid_t>(std::stol(name)));
    }
    return out;
}

// The script ignores SIGTERM and sleeps far past its timeout: only SIGKILL ends it, and nothing may
// wait for its end: the timeout sends the signal and returns, and the reap comes later on the
// io_context. Both ways of noticing the end: the pidfd, and the waitpid poll.
class MiscTimeout : public HealthTest, public ::testing::WithParamInterface<bool> {
protected:
    void SetUp() override { detail::misc_probe_use_pidfd = GetParam(); }
    void TearDown() override {
        HealthTest::TearDown();
        detail::misc_probe_use_pidfd = true;
    }
};

TEST_P(MiscTimeout, TermIgnoringScriptIsKilledAtItsTimeoutAndReapedOnTheLoop) {
    auto pidfile = std::filesystem::temp_directory_path() / ("dplb-health-trap-" + std::to_string(getpid()));
    std::filesystem::remove(pidfile);
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "trap '' TERM; echo $$ > " + pidfile.string() + "; sleep 30";
    s.script_timeout = 300ms;
    s.retry = 0;
    s.delay_loop = 10s;  // one check in this test
    Checker& c = start(s);
    ASSERT_TRUE(starts_after(c, 0ms));
    ASSERT_TRUE(eventually([&] { return pid_in(pidfile) > 0; })) << "the script never ran";
    pid_t shell = pid_in(pidfile);
    io_.poll();  // the loop sees what there is to see (the script still sleeping)
    clock_.advance(s.script_timeout - 1ms);
    EXPECT_TRUE(c.checking()) << "the script was stopped before its timeout";
    clock_.advance(1ms);
    EXPECT_TRUE(results_.empty()) << "the verdict was given inside the timeout: something waited for the child";
    ASSERT_TRUE(completes(c));
    EXPECT_FALSE(results_[0].up);
    EXPECT_EQ(results_[0].reason, "MISC_CHECK timeout after 300 ms (killed)");
    EXPECT_EQ(results_[0].duration, s.script_timeout);
    EXPECT_EQ(result_at_[0], s.script_timeout);
    EXPECT_FALSE(c.up());

    // The verdict comes with the reap: the script's shell is no child of ours any more.
    EXPECT_TRUE(no_child_left()) << "the killed script was not reaped with the verdict";
    EXPECT_EQ(our_zombies().size(), 0u) << "zombies of ours in /proc";
    EXPECT_TRUE(process_gone(shell));
    std::filesystem::remove(pidfile);
}

INSTANTIATE_TEST_SUITE_P(Reap, MiscTimeout, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "pidfd" : "poll"; });

// The io_context (with the check's pending handlers, which own the probe) destroyed while a script
// runs: the probe goes with it, and the script is killed and reaped all the same (off the loop, which
// is gone); no zombie is left.
TEST_F(HealthTest, IoContextDestroyedMidCheckLeavesNoZombie) {
    auto pidfile = std::filesystem::temp_directory_path() / ("dplb-health-gone-" + std::to_string(getpid()));
    std::filesystem::remove(pidfile);
    ManualClock clock;  // before the io_context: the probe's timeout timer goes with the io_context
    std::optional<asio::io_context> io(std::in_place);
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "trap '' TERM; echo $$ > " + pidfile.string() + "; sleep 30";
    s.script_timeout = 10s;
    auto checker = std::make_unique<Checker>(*io, s, [](bool, const std::string&) {}, Checker::OnResult{}, clock);
    checker->start();
    clock.advance(0ms);
    ASSERT_TRUE(checker->checking());
    ASSERT_TRUE(eventually([&] { return pid_in(pidfile) > 0; })) << "the script never started";
    checker.reset();  // SIGKILL; the reap is still pending on `io`...
    io.reset();       // ...which goes now, with the pending wait that owns the probe
    EXPECT_EQ(clock.timers(), 0u) << "the probe outlived its io_context";
    // Reaped off the thread: wait for it to be done.
    EXPECT_TRUE(eventually(no_child_left)) << "the script was never reaped";
    EXPECT_EQ(our_zombies().size(), 0u) << "zombies of ours in /proc";
    std::filesystem::remove(pidfile);
}

// ---------------------------------------------------------------------------------------------
// State machine: alpha, retries, one OnChange per change, warmup.

TEST_F(HealthTest, AlphaStartsDownNonAlphaStartsUp) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.alpha = true;
    std::unique_ptr<Checker> alpha = make(s);
    EXPECT_FALSE(alpha->up()) << "alpha: DOWN before any check";
    s.alpha = false;
    int plain_changes = 0;
    Checker plain(io_, s, [&](bool, const std::string&) { ++plain_changes; }, Checker::OnResult{}, clock_);
    EXPECT_TRUE(plain.up()) << "no alpha: UP before any check";

    alpha->start();
    plain.start();
    EXPECT_FALSE(alpha->checking()) << "start() does not check synchronously";
    EXPECT_FALSE(alpha->up());
    for (int i = 0; i < 4; ++i) {
        clock_.advance(i == 0 ? 0ms : s.delay_loop);
        ASSERT_TRUE(alpha->checking() && plain.checking());
        ASSERT_TRUE(run_until([&] { return !alpha->checking() && !plain.checking(); }));
        ASSERT_EQ(changes_.size(), 1u) << "the first success is a change, the further ones are not";
        EXPECT_TRUE(alpha->up());
        EXPECT_EQ(plain_changes, 0) << "UP to UP is no change";
    }
    EXPECT_EQ(changes_[0].at, 0ms);
}

TEST_F(HealthTest, AlphaWithFailingTargetStaysDownSilently) {
    TestServer server(TestServer::Mode::accept_close);
    uint16_t port = server.port();
    server.close();
    CheckSpec s = spec(CheckType::tcp, port);
    s.alpha = true;
    Checker& c = start(s);
    // DOWN already: a failure is not retried, checking goes on every delay_loop.
    ASSERT_TRUE(check_after(c, 0ms));
    ASSERT_TRUE(check_after(c, s.delay_loop));
    ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_EQ(failures(), 3u);
    EXPECT_FALSE(c.up());
    EXPECT_TRUE(changes_.empty()) << "DOWN to DOWN is no change";
}

TEST_F(HealthTest, SingleFailureThenSuccessNeverReportsDown) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.retry = 1;
    s.delay_before_retry = 150ms;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    server.close();
    ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_FALSE(results_.back().up);
    server.open();  // back before the retry: the one failure is never confirmed
    ASSERT_TRUE(check_after(c, s.delay_before_retry));
    EXPECT_TRUE(results_.back().up);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(check_after(c, s.delay_loop)) << "after a success, delay_loop again";
    EXPECT_EQ(failures(), 1u);
    EXPECT_TRUE(changes_.empty()) << changes_.front().reason;
    EXPECT_TRUE(c.up());
}

TEST_F(HealthTest, RetryCountHonoured) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.retry = 2;
    s.delay_loop = 300ms;
    s.delay_before_retry = 30ms;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    server.close();
    // One check and two retries, delay_before_retry apart (not delay_loop); the last one turns DOWN.
    ASSERT_TRUE(check_after(c, s.delay_loop));
    ASSERT_TRUE(check_after(c, s.delay_before_retry));
    EXPECT_TRUE(changes_.empty()) << "two failures of three";
    ASSERT_TRUE(check_after(c, s.delay_before_retry));
    ASSERT_EQ(changes_.size(), 1u);
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].at, s.delay_loop + 2 * s.delay_before_retry);
    EXPECT_EQ(failures(), 3u);
    EXPECT_FALSE(c.up());
    // While DOWN a failure is not retried: the next ones come delay_loop apart.
    ASSERT_TRUE(check_after(c, s.delay_loop));
    ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_EQ(failures(), 5u);
    EXPECT_EQ(changes_.size(), 1u);
}

TEST_F(HealthTest, OnChangeOncePerChangeAcrossFlaps) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.retry = 0;
    s.delay_loop = 50ms;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    for (int flap = 0; flap < 3; ++flap) {
        server.close();
        for (int i = 0; i < 4; ++i) ASSERT_TRUE(check_after(c, s.delay_loop));  // DOWN, then more failures
        server.open();
        for (int i = 0; i < 4; ++i) ASSERT_TRUE(check_after(c, s.delay_loop));  // UP, then more successes
    }
    ASSERT_EQ(changes_.size(), 6u);
    for (size_t i = 0; i < changes_.size(); ++i) {
        EXPECT_EQ(changes_[i].up, i % 2 == 1) << i;
        EXPECT_EQ(changes_[i].at, static_cast<int>(1 + 4 * i) * s.delay_loop) << "each change at its first check";
    }
    EXPECT_EQ(results_.size(), 1 + 3 * 8u);
}

TEST_F(HealthTest, WarmupSpreadsFirstChecksWithinWarmup) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.delay_loop = 10s;
    s.warmup = 400ms;
    constexpr int kCheckers = 8;
    std::vector<std::unique_ptr<Checker>> checkers;
    for (int i = 0; i < kCheckers; ++i) {
        checkers.push_back(make(s));
        checkers.back()->start();
    }
    // A millisecond at a time through the warmup: who starts a check when.
    std::vector<milliseconds> first(kCheckers, -1ms);
    for (milliseconds t = 0ms; t <= s.warmup; t += 1ms) {
        clock_.advance(t == 0ms ? 0ms : 1ms);
        for (int i = 0; i < kCheckers; ++i) {
            if (!checkers[i]->checking()) continue;
            EXPECT_EQ(first[i], -1ms) << "checker " << i << " checked twice within the warmup";
            first[i] = t;
        }
        ASSERT_TRUE(run_until([&] {
            return std::none_of(checkers.begin(), checkers.end(), [](const auto& c) { return c->checking(); });
        }));
    }
    std::set<milliseconds> distinct;
    for (int i = 0; i < kCheckers; ++i) {
        EXPECT_NE(first[i], -1ms) << "checker " << i << " had not checked by the end of the warmup";
        distinct.insert(first[i]);
    }
    std::cout << "  first checks at";
    for (milliseconds t : first) std::cout << " " << t.count();
    std::cout << " ms (warmup 400)\n";
    // Random in [0, 400]: 8 at one and the same millisecond has odds of 401^-7.
    EXPECT_GT(distinct.size(), 1u) << "8 first checks, all at once: no spreading";
    EXPECT_EQ(results_.size(), size_t{kCheckers});
    checkers.clear();
}

// ---------------------------------------------------------------------------------------------
// SSL_GET, PING_CHECK, UDP_CHECK, DNS_CHECK, SMTP_CHECK. Their servers are plain POSIX sockets on a
// thread of their own, each loop bounded by a stop flag looked at every 20 ms.

using detail::DnsVerdict;

std::string bytes(std::initializer_list<int> b) {
    std::string out;
    for (int x : b) out.push_back(static_cast<char>(x));
    return out;
}

TEST(DnsWireTest, QueryEncodesNameTypeAndRecursionDesired) {
    auto q = detail::dns_query(0x1234, "example.com", 1);
    ASSERT_TRUE(q);
    EXPECT_EQ(*q, bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c',
                         'o', 'm', 0, 0, 1, 0, 1}));
    EXPECT_EQ(detail::dns_query(0x1234, "example.com.", 1), q) << "a trailing dot changes nothing";
    auto root = detail::dns_query(0xbeef, ".", 6);
    ASSERT_TRUE(root);
    EXPECT_EQ(*root, bytes({0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 1}));
    EXPECT_FALSE(detail::dns_query(1, "a..b", 1)) << "an empty label";
    EXPECT_FALSE(detail::dns_query(1, std::string(64, 'a') + ".com", 1)) << "a label over 63 bytes";
    EXPECT_TRUE(detail::dns_query(1, std::string(63, 'a') + ".com", 1));
    std::string long_name;
    for (int i = 0; i < 64; ++i) long_name += "abc.";  // 256 bytes encoded
    EXPECT_FALSE(detail::dns_query(1, long_name, 1)) << "over 255 bytes";
    EXPECT_EQ(detail::dns_type_code("aaaa"), 28);
    EXPECT_EQ(detail::dns_type_code("PTR"), 0);
    EXPECT_EQ(detail::dns_type_name(15), "MX");
}

TEST(DnsWireTest, VerdictOnTruncatedStrayAndHostileReplies) {
    int rcode = -1;
    const std::string ok = bytes({0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0});
    EXPECT_EQ(detail::dns_verdict(ok, 0x1234, &rcode), DnsVerdict::up);
    EXPECT_EQ(rcode, 0);
    EXPECT_EQ(detail::dns_verdict(bytes({0x12, 0x34, 0x81, 0x83, 0, 1, 0, 0, 0, 0, 0, 0}), 0x1234, &rcode), DnsVerdict::down);
    EXPECT_EQ(rcode, 3) << "NXDOMAIN";
    EXPECT_EQ(detail::dns_verdict(ok, 0x1235), DnsVerdict::ignore) << "another id";
    EXPECT_EQ(detail::dns_verdict(bytes({0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}), 0x1234), DnsVerdict::ignore)
        << "QR clear: a query, not an answer";
    EXPECT_EQ(detail::dns_verdict(ok.substr(0, 11), 0x1234), DnsVerdict::ignore) << "shorter than a header";
    EXPECT_EQ(detail::dns_verdict("", 0x1234), DnsVerdict::ignore);
    // A header followed by garbage is judged by its header alone, as keepalived does.
    EXPECT_EQ(detail::dns_verdict(ok + std::string(500, '\xff'), 0x1234), DnsVerdict::up);
}

TEST(IcmpWireTest, EchoRequestChecksumAndReplyMatching) {
    std::string req = detail::icmp_echo_request(false, 0x0102, 0x0304, "ab");
    // 0x0800 + 0x0102 + 0x0304 + 0x6162 = 0x6d68, checksum = ~0x6d68.
    EXPECT_EQ(req, bytes({8, 0, 0x92, 0x97, 1, 2, 3, 4, 'a', 'b'}));
    EXPECT_EQ(detail::icmp_echo_request(true, 1, 2, "")[0], '\x80') << "ICMPv6 echo request is type 128";

    const std::string reply = bytes({0, 0, 0, 0, 1, 2, 3, 4, 'a', 'b'});
    EXPECT_TRUE(detail::icmp_is_echo_reply(reply, false, false, 0x0102, 0x0304));
    EXPECT_FALSE(detail::icmp_is_echo_reply(reply, false, false, 0x0102, 0x0305)) << "another sequence";
    EXPECT_FALSE(detail::icmp_is_echo_reply(reply, false, false, 0x0103, 0x0304)) << "another id";
    EXPECT_TRUE(detail::icmp_is_echo_reply(reply, false, false, 0x0103, 0x0304, false))
        << "a datagram socket's id is the kernel's";
    EXPECT_FALSE(detail::icmp_is_echo_reply(req, false, false, 0x0102, 0x0304)) << "our own request";
    EXPECT_FALSE(detail::icmp_is_echo_reply(reply.substr(0, 7), false, false, 0x0102, 0x0304)) << "truncated";
    std::string v6 = reply;
    v6[0] = static_cast<char>(129);
    EXPECT_TRUE(detail::icmp_is_echo_reply(v6, true, false, 0x0102, 0x0304));
    EXPECT_FALSE(detail::icmp_is_echo_reply(reply, true, false, 0x0102, 0x0304)) << "type 0 is no ICMPv6 reply";
    // Behind an IPv4 header (a raw socket): 20 bytes, or 24 with options; a bad IHL is no reply.
    std::string ip(20, '\0');
    ip[0] = 0x45;
    EXPECT_TRUE(detail::icmp_is_echo_reply(ip + reply, false, true, 0x0102, 0x0304));
    std::string ip_opts(24, '\0');
    ip_opts[0] = 0x46;
    EXPECT_TRUE(detail::icmp_is_echo_reply(ip_opts + reply, false, true, 0x0102, 0x0304));
    ip[0] = 0x44;
    EXPECT_FALSE(detail::icmp_is_echo_reply(ip + reply, false, true, 0x0102, 0x0304)) << "IHL under 5";
    ip[0] = 0x4f;
    EXPECT_FALSE(detail::icmp_is_echo_reply(ip + reply, false, true, 0x0102, 0x0304)) << "IHL past the packet";
    EXPECT_FALSE(detail::icmp_is_echo_reply("", false, true, 0x0102, 0x0304));
}

TEST(SmtpWireTest, ReplyCodesAcrossLines) {
    EXPECT_FALSE(detail::smtp_reply("220 mx.example ESMTP"));
    auto r = detail::smtp_reply("220 mx.example ESMTP\r\nrest");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, 220);
    EXPECT_EQ(r->length, 22u);
    EXPECT_FALSE(detail::smtp_reply("250-mx.example\r\n250-SIZE 100\r\n")) << "the last line is still to come";
    r = detail::smtp_reply("250-mx.example\r\n250-SIZE 100\r\n250 HELP\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, 250);
    EXPECT_EQ(r->length, 40u);  // 16 + 14 + 10
    r = detail::smtp_reply("25x oops\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, -1);
    r = detail::smtp_reply("250\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code, 250);
}

// Loopback socket of `type` bound to an ephemeral port of `address`; returns the fd, sets `port`.
int bound_socket(const std::string& address, int type, uint16_t& port) {
    addrinfo hints{}, *ai = nullptr;
    hints.ai_flags = AI_NUMERICHOST;
    hints.ai_socktype = type;
    if (getaddrinfo(address.c_str(), "0", &hints, &ai) != 0) throw std::runtime_error("bad address " + address);
    int fd = ::socket(ai->ai_family, type | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || ::bind(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        freeaddrinfo(ai);
        throw std::runtime_error("bind failed");
    }
    freeaddrinfo(ai);
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    port = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                         : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
    return fd;
}

// Waits up to 20 ms for `fd` to be readable; false when not (the caller looks at its stop flag).
bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 20) == 1;
}

// A UDP server: every datagram is recorded and answered with what `answer` returns (each element a
// datagram; none: the server stays deaf).
class UdpServer {
public:
    using Answer = std::function<std::vector<std::string>(const std::string& query)>;
    explicit UdpServer(Answer answer, const std::string& address = "127.0.0.1")
        : answer_(std::move(answer)), fd_(bound_socket(address, SOCK_DGRAM, port_)), thread_([this] { run(); }) {}
    ~UdpServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    uint16_t port() const { return port_; }
    std::vector<std::string> received() const {
        std::lock_guard<std::mutex> lock(mu_);
        return received_;
    }

private:
    void run() {
        while (!stop_) {
            if (!readable(fd_)) continue;
            char buf[65536];
            sockaddr_storage from{};
            socklen_t len = sizeof from;
            ssize_t n = recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
            if (n < 0) continue;
            std::string q(buf, static_cast<size_t>(n));
            {
                std::lock_guard<std::mutex> lock(mu_);
                received_.push_back(q);
            }
            for (const std::string& a : answer_(q)) sendto(fd_, a.data(), a.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
        }
    }

    Answer answer_;
    uint16_t port_ = 0;
    int fd_;
    mutable std::mutex mu_;
    std::vector<std::string> received_;
    std::atomic<bool> stop_{false};
    std::thread thread_;  // last
};

// A port where nothing listens: bound once to find a free one, then closed.
uint16_t closed_udp_port() {
    uint16_t port = 0;
    ::close(bound_socket("127.0.0.1", SOCK_DGRAM, port));
    return port;
}

// A TCP server taking one connection at a time, served by `serve` with the connected fd (which
// has a receive timeout of kHangGuard so a silent client cannot hold the thread forever).
class TcpServer {
public:
    using Serve = std::function<void(int fd)>;
    explicit TcpServer(Serve serve) : serve_(std::move(serve)), fd_(bound_socket("127.0.0.1", SOCK_STREAM, port_)) {
        ::listen(fd_, 16);
        thread_ = std::thread([this] { run(); });
    }
    ~TcpServer() {
        stop_ = true;
        thread_.join();
        ::close(fd_);
    }
    uint16_t port() const { return port_; }
    int served() const { return served_; }

private:
    void run() {
        while (!stop_) {
            if (!readable(fd_)) continue;
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            timeval tv{static_cast<time_t>(kHangGuard.count()), 0};
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            serve_(c);
            ::close(c);
            ++served_;
        }
    }

    Serve serve_;
    uint16_t port_ = 0;
    int fd_;
    std::atomic<bool> stop_{false};
    std::atomic<int> served_{0};
    std::thread thread_;
};

// One line (up to and without "\r\n") from a blocking fd; nullopt at the end of the stream.
std::optional<std::string> read_line(int fd) {
    std::string line;
    char c;
    while (::recv(fd, &c, 1, 0) == 1) {
        if (c == '\n') {
            if (!line.empty() && line.back() == '\r') line.pop_back();
            return line;
        }
        line += c;
    }
    return std::nullopt;
}

void send_all(int fd, const std::string& s) { (void)!::send(fd, s.data(), s.size(), MSG_NOSIGNAL); }

// ---- SMTP_CHECK

// An SMTP responder: `greeting` on connect, `helo_reply` to HELO, "221" to QUIT; every line it reads
// is recorded. An empty reply means hanging up instead.
class SmtpServer {
public:
    SmtpServer(std::string greeting, std::string helo_reply)
        : greeting_(std::move(greeting)), helo_reply_(std::move(helo_reply)), server_([this](int fd) { serve(fd); }) {}
    uint16_t port() const { return server_.port(); }
    std::vector<std::string> lines() const {
        std::lock_guard<std::mutex> lock(mu_);
        return lines_;
    }

private:
    void serve(int fd) {
        if (greeting_.empty()) return;
        send_all(fd, greeting_);
        while (auto line = read_line(fd)) {
            {
                std::lock_guard<std::mutex> lock(mu_);
                lines_.push_back(*line);
            }
            if (line->rfind("HELO ", 0) == 0) {
                if (helo_reply_.empty()) return;
                send_all(fd, helo_reply_);
            } else if (*line == "QUIT") {
                send_all(fd, "221 bye\r\n");
                return;
            } else {
                send_all(fd, "500 what\r\n");
            }
        }
    }

    const std::string greeting_, helo_reply_;
    mutable std::mutex mu_;
    std::vector<std::string> lines_;
    TcpServer server_;  // last: its thread uses the rest
};

TEST_F(HealthTest, SmtpGreetingHeloQuitIsUp) {
    SmtpServer server("220 mx.test ESMTP\r\n", "250 mx.test\r\n");
    CheckSpec s = spec(CheckType::smtp, server.port());
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
    EXPECT_EQ(server.lines(), (std::vector<std::string>{"HELO smtpchecker.keepalived.org", "QUIT"}));
}

TEST_F(HealthTest, SmtpMultiLineAnswersAndOwnHeloName) {
    SmtpServer server("220-mx.test ESMTP\r\n220 welcome\r\n", "250-mx.test\r\n250-SIZE 1000\r\n250 HELP\r\n");
    CheckSpec s = spec(CheckType::smtp, server.port());
    s.helo_name = "lb1.example.com";
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
    EXPECT_EQ(server.lines(), (std::vector<std::string>{"HELO lb1.example.com", "QUIT"}));
}

TEST_F(HealthTest, SmtpBadGreetingIsDownWithoutHelo) {
    SmtpServer server("554 no service\r\n", "250 ok\r\n");
    CheckSpec s = spec(CheckType::smtp, server.port());
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("greeting"));
    EXPECT_THAT(results_.back().reason, HasSubstr("554"));
    EXPECT_TRUE(server.lines().empty()) << "nothing sent after a bad greeting";
    EXPECT_FALSE(c.up());
}

TEST_F(HealthTest, SmtpHeloRejectedIsDown) {
    SmtpServer server("220 mx.test\r\n", "550 go away\r\n");
    CheckSpec s = spec(CheckType::smtp, server.port());
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("HELO"));
    EXPECT_THAT(results_.back().reason, HasSubstr("550"));
}

TEST_F(HealthTest, SmtpHangUpAfterHeloOrBeforeGreetingIsDown) {
    for (auto [greeting, helo] : {std::pair{"220 mx.test\r\n", ""}, std::pair{"", ""}}) {
        SmtpServer server(greeting, helo);
        CheckSpec s = spec(CheckType::smtp, server.port());
        s.retry = 0;
        results_.clear();
        Checker& c = start(s);
        ASSERT_TRUE(check_after(c, 0ms));
        EXPECT_FALSE(results_.back().up) << results_.back().reason;
        EXPECT_THAT(results_.back().reason, HasSubstr("closed"));
        checker_.reset();
    }
}

// ---- UDP_CHECK

TEST_F(HealthTest, UdpRequireReplyMatchesFirstBytes) {
    UdpServer echo([](const std::string& q) { return std::vector<std::string>{q}; });
    CheckSpec s = spec(CheckType::udp, echo.port());
    s.payload = bytes({0xde, 0xad, 0xbe, 0xef});
    s.require_reply = true;
    s.reply = bytes({0xde, 0xad});
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
    EXPECT_EQ(echo.received(), std::vector<std::string>{s.payload}) << "the payload, as configured";
    checker_.reset();

    s.reply = bytes({0xde, 0xae});
    Checker& c2 = start(s);
    ASSERT_TRUE(check_after(c2, 0ms));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("does not match"));
}

TEST_F(HealthTest, UdpReplyLengthOutsideBoundsIsDown) {
    UdpServer echo([](const std::string& q) { return std::vector<std::string>{q}; });
    CheckSpec s = spec(CheckType::udp, echo.port());
    s.payload = "four";
    s.require_reply = true;
    s.retry = 0;
    s.max_reply_length = 3;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("4 bytes"));
    checker_.reset();
    s.max_reply_length = 4;
    s.min_reply_length = 4;
    Checker& c2 = start(s);
    ASSERT_TRUE(check_after(c2, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
}

// No reply: up at the timeout without require_reply (nothing said the port is closed), down with it.
class UdpDeaf : public HealthTest, public ::testing::WithParamInterface<bool> {};

TEST_P(UdpDeaf, UpWithoutRequireReplyDownWithIt) {
    const bool require = GetParam();
    UdpServer deaf([](const std::string&) { return std::vector<std::string>{}; });
    CheckSpec s = spec(CheckType::udp, deaf.port());
    s.payload = "hello";
    s.require_reply = require;
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(starts_after(c, 0ms));
    // The datagram is out before the clock moves, so the verdict is about a real silence.
    ASSERT_TRUE(run_until([&] { return !deaf.received().empty(); }));
    ASSERT_TRUE(times_out(c, s.connect_timeout));
    EXPECT_EQ(results_.back().up, !require) << results_.back().reason;
}

INSTANTIATE_TEST_SUITE_P(RequireReply, UdpDeaf, ::testing::Bool());

class UdpClosed : public HealthTest, public ::testing::WithParamInterface<bool> {};

TEST_P(UdpClosed, PortUnreachableIsDownBeforeTheTimeout) {
    CheckSpec s = spec(CheckType::udp, closed_udp_port());
    s.payload = "hello";
    s.require_reply = GetParam();
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms)) << "the ICMP port unreachable ends it while the clock stands still";
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("port unreachable"));
}

INSTANTIATE_TEST_SUITE_P(RequireReply, UdpClosed, ::testing::Bool());

// ---- DNS_CHECK

// A DNS responder: answers every query with its header echoed back as a response with `rcode`,
// after the `before` datagrams made from the query (stray ones a checker must wait past).
UdpServer::Answer dns_answer(int rcode, std::function<std::vector<std::string>(const std::string&)> before = {}) {
    return [rcode, before](const std::string& q) {
        std::vector<std::string> out = before ? before(q) : std::vector<std::string>{};
        if (q.size() < 12) return out;
        std::string a = q;
        a[2] = static_cast<char>(0x81);  // QR, RD
        a[3] = static_cast<char>(0x80 | rcode);  // RA, RCODE
        out.push_back(a);
        return out;
    };
}

TEST_F(HealthTest, DnsNoerrorIsUpAndTheQueryIsWhatWasConfigured) {
    UdpServer dns(dns_answer(0));
    CheckSpec s = spec(CheckType::dns, dns.port());
    s.dns_type = 28;
    s.dns_name = "www.example.com";
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
    auto got = dns.received();
    ASSERT_EQ(got.size(), 1u);
    ASSERT_GE(got[0].size(), 12u);
    EXPECT_EQ(got[0].substr(2, 4), bytes({0x01, 0x00, 0, 1})) << "recursion desired, one question";
    EXPECT_EQ(got[0].substr(12), bytes({3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 28, 0, 1}));
}

TEST_F(HealthTest, DnsErrorRcodeIsDown) {
    UdpServer dns(dns_answer(3));
    CheckSpec s = spec(CheckType::dns, dns.port());
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("RCODE 3"));
    auto got = dns.received();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].substr(12), bytes({0, 0, 6, 0, 1})) << "keepalived's defaults: SOA for the root";
}

// Before the real answer: a reply with another id, one with QR clear and a truncated one, each
// saying SERVFAIL. Taking any of them for the answer would make the check fail.
TEST_F(HealthTest, DnsStrayAndTruncatedRepliesAreWaitedPast) {
    UdpServer dns(dns_answer(0, [](const std::string& q) {
        std::string other_id = q, query = q;
        other_id[0] = static_cast<char>(~other_id[0]);
        other_id[2] = static_cast<char>(0x81);
        other_id[3] = static_cast<char>(0x82);
        query[3] = static_cast<char>(0x02);  // QR clear, RCODE 2
        std::string truncated = q.substr(0, 2) + bytes({0x81, 0x82, 0, 1});
        return std::vector<std::string>{other_id, query, truncated};
    }));
    CheckSpec s = spec(CheckType::dns, dns.port());
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
}

TEST_F(HealthTest, DnsSilentServerTimesOutDown) {
    UdpServer deaf([](const std::string&) { return std::vector<std::string>{}; });
    CheckSpec s = spec(CheckType::dns, deaf.port());
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(starts_after(c, 0ms));
    ASSERT_TRUE(run_until([&] { return !deaf.received().empty(); }));
    ASSERT_TRUE(times_out(c, s.connect_timeout));
    EXPECT_FALSE(results_.back().up);
}

// ---- PING_CHECK

class PingLoopback : public HealthTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(PingLoopback, EchoReplyIsUp) {
    CheckSpec s = spec(CheckType::ping, 0);
    s.host = GetParam();
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
    EXPECT_THAT(results_.back().reason, HasSubstr("echo reply"));
}

INSTANTIATE_TEST_SUITE_P(Families, PingLoopback, ::testing::Values("127.0.0.1", "::1"));

// TEST-NET-1 (RFC 5737) answers nobody: no echo reply before the timeout (or no route at all).
TEST_F(HealthTest, PingWithoutReplyIsDown) {
    CheckSpec s = spec(CheckType::ping, 0);
    s.host = "192.0.2.1";
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(starts_after(c, 0ms));
    clock_.advance(s.connect_timeout);
    ASSERT_TRUE(run_until([&] { return !c.checking(); }));
    ASSERT_EQ(results_.size(), 1u);
    EXPECT_FALSE(results_.back().up) << results_.back().reason;
}

// ---- SSL_GET

// A self-signed certificate for health.test, made once for the suite with the openssl tool.
struct TlsFiles {
    std::string dir, cert, key;
};

const TlsFiles& tls_files() {
    static const TlsFiles files = [] {
        char tmpl[] = "/tmp/dplb-health-tls-XXXXXX";
        TlsFiles f;
        f.dir = ::mkdtemp(tmpl);
        f.cert = f.dir + "/cert.pem";
        f.key = f.dir + "/key.pem";
        std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
                          "-subj /CN=health.test -addext subjectAltName=DNS:health.test -keyout " +
                          f.key + " -out " + f.cert + " 2>/dev/null";
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("openssl req failed");
        return f;
    }();
    return files;
}

// An HTTPS server with that certificate: one response per connection; it records the SNI name and
// the request head of the last one.
class TlsServer {
public:
    TlsServer() : ctx_(SSL_CTX_new(TLS_server_method())) {
        SSL_CTX_use_certificate_file(ctx_, tls_files().cert.c_str(), SSL_FILETYPE_PEM);
        SSL_CTX_use_PrivateKey_file(ctx_, tls_files().key.c_str(), SSL_FILETYPE_PEM);
    }
    ~TlsServer() {
        server_.reset();
        SSL_CTX_free(ctx_);
    }
    uint16_t port() const { return server_->port(); }
    void respond(int status, std::string body) {
        std::lock_guard<std::mutex> lock(mu_);
        status_ = status;
        body_ = std::move(body);
    }
    std::string sni() const {
        std::lock_guard<std::mutex> lock(mu_);
        return sni_;
    }
    std::string request() const {
        std::lock_guard<std::mutex> lock(mu_);
        return request_;
    }
    int handshakes() const { return handshakes_; }

private:
    void serve(int fd) {
        SSL* ssl = SSL_new(ctx_);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1) {
            ++handshakes_;
            const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
            std::string req;
            char buf[4096];
            int n;
            while (req.find("\r\n\r\n") == std::string::npos && (n = SSL_read(ssl, buf, sizeof buf)) > 0) req.append(buf, n);
            std::string out;
            {
                std::lock_guard<std::mutex> lock(mu_);
                sni_ = name ? name : "";
                request_ = req;
                out = "HTTP/1.0 " + std::to_string(status_) + " X\r\nContent-Length: " + std::to_string(body_.size()) +
                      "\r\n\r\n" + body_;
            }
            SSL_write(ssl, out.data(), static_cast<int>(out.size()));
            SSL_shutdown(ssl);
        }
        SSL_free(ssl);
    }

    SSL_CTX* ctx_;
    mutable std::mutex mu_;
    int status_ = 200;
    std::string body_ = "ok\n";
    std::string sni_, request_;
    std::atomic<int> handshakes_{0};
    std::optional<TcpServer> server_{std::in_place, [this](int fd) { serve(fd); }};  // last
};

TEST_F(HealthTest, SslGetStatusAndDigestOverTls) {
    TlsServer server;
    CheckSpec s = spec(CheckType::ssl, server.port());
    s.path = "/health";
    s.retry = 0;
    s.digest = detail::md5_hex("ok\n");
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
    EXPECT_THAT(server.request(), StartsWith("GET /health HTTP/1.0\r\n"));
    EXPECT_EQ(server.sni(), "") << "no SNI unless enable_sni";

    server.respond(200, "changed\n");
    ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("digest mismatch"));

    server.respond(500, "ok\n");
    ASSERT_TRUE(check_after(c, s.delay_loop));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("status 500"));
}

TEST_F(HealthTest, SslGetSendsSniAndHost) {
    TlsServer server;
    CheckSpec s = spec(CheckType::ssl, server.port());
    s.enable_sni = true;
    s.sni_name = "health.test";
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_TRUE(results_.back().up) << results_.back().reason;
    EXPECT_EQ(server.sni(), "health.test");
    EXPECT_THAT(server.request(), HasSubstr("\r\nHost: health.test\r\n"));
}

// verify: the self-signed certificate fails against the system's anchors, passes against itself,
// and fails again when the name sent is not the certificate's.
TEST_F(HealthTest, SslGetVerifiesChainAndName) {
    TlsServer server;
    CheckSpec s = spec(CheckType::ssl, server.port());
    s.retry = 0;
    s.verify = true;
    s.enable_sni = true;
    s.sni_name = "health.test";
    auto once = [&](const CheckSpec& spec_) {
        checker_.reset();
        Checker& c = start(spec_);
        EXPECT_TRUE(check_after(c, 0ms));
        return results_.back();
    };
    Result r = once(s);
    EXPECT_FALSE(r.up) << "a self-signed certificate is no chain to a system anchor";
    EXPECT_THAT(r.reason, HasSubstr("handshake"));

    s.ca_file = tls_files().cert;
    r = once(s);
    EXPECT_TRUE(r.up) << r.reason;

    s.sni_name = "other.test";
    r = once(s);
    EXPECT_FALSE(r.up) << "the certificate is not for other.test";

    s.verify = false;
    r = once(s);
    EXPECT_TRUE(r.up) << "keepalived's default: nothing verified; " << r.reason;
}

// A plain HTTP server that answers at once, before any request: no TLS record comes back.
TEST_F(HealthTest, SslGetAgainstPlainHttpIsDown) {
    TcpServer server([](int fd) { send_all(fd, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n"); });
    CheckSpec s = spec(CheckType::ssl, server.port());
    s.retry = 0;
    Checker& c = start(s);
    ASSERT_TRUE(check_after(c, 0ms));
    EXPECT_FALSE(results_.back().up);
    EXPECT_THAT(results_.back().reason, HasSubstr("SSL handshake"));
}

TEST(DescribeTest, NewCheckTypes) {
    CheckSpec ssl{CheckType::ssl, "10.0.0.1", 443};
    ssl.enable_sni = true;
    ssl.sni_name = "www.example.com";
    ssl.verify = true;
    EXPECT_THAT(describe(ssl), StartsWith("SSL_GET 10.0.0.1:443/ status 200 sni www.example.com verify connect_timeout"));
    CheckSpec udp{CheckType::udp, "10.0.0.1", 53};
    udp.payload = bytes({0x0a, 0xff});
    udp.require_reply = true;
    EXPECT_THAT(describe(udp), StartsWith("UDP_CHECK 10.0.0.1:53 payload 0aff require_reply - length 0..255"));
    CheckSpec dns{CheckType::dns, "::1", 53};
    EXPECT_THAT(describe(dns), StartsWith("DNS_CHECK [::1]:53 type SOA name . connect_timeout"));
    CheckSpec smtp{CheckType::smtp, "10.0.0.1", 25};
    EXPECT_THAT(describe(smtp), StartsWith("SMTP_CHECK 10.0.0.1:25 helo_name smtpchecker.keepalived.org"));
    CheckSpec ping{CheckType::ping, "10.0.0.1", 0};
    EXPECT_THAT(describe(ping), StartsWith("PING_CHECK 10.0.0.1 connect_timeout"));
}

}  // namespace
}  // namespace dplb::health
