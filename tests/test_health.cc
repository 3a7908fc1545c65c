// Health checks against real things: TCP and HTTP servers on the loopback that each test starts on
// its own thread (own io_context, so a checker that blocked its loop could not hide it), and real
// /bin/sh scripts. Intervals are tens to hundreds of ms and every wait is bounded, so the suite runs
// in seconds; the DOWN-time assertions use keepalived's worst case
//   delay_loop + (retry + 1) * timeout + retry * delay_before_retry
// plus a scheduling margin, and print what they measured.
#include "health_check.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
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
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
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

#include "http_response.h"
#include "md5.h"
#include "probe.h"

namespace dplb::health {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Room for scheduling noise on a loaded 2-core build machine, on top of the keepalived bound.
constexpr milliseconds kMargin{300};

milliseconds down_bound(const CheckSpec& s) {
    milliseconds timeout = s.type == CheckType::misc ? s.script_timeout : s.connect_timeout;
    return s.delay_loop + (s.retry + 1) * timeout + s.retry * s.delay_before_retry;
}

long ms_since(Clock::time_point t) {
    return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - t).count());
}

// ---------------------------------------------------------------------------------------------
// A loopback server on its own thread. Control calls run on that thread and return when done.

class TestServer {
public:
    enum class Mode {
        accept_close,  // TCP_CHECK target: accept and hang up
        http,          // one HTTP response per connection, status and body settable
        silent,        // accept and never say anything (HTTP timeout)
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
            } else if (mode_ == Mode::http) {
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
                                   auto out = std::make_shared<std::string>();
                                   {
                                       std::lock_guard<std::mutex> lock(mu_);
                                       last_request_ = in->substr(0, n);
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
    mutable std::mutex mu_;
    int status_ = 200;
    std::string body_ = "ok\n";
    bool content_length_ = true;
    std::string last_request_;
    std::thread thread_;  // last: joined (in the destructor) before anything it uses goes
};

// ---------------------------------------------------------------------------------------------
// Checkers run on the test's own thread; run_until() drives their io_context.

struct Change {
    bool up;
    std::string reason;
    Clock::time_point at;
};

class HealthTest : public ::testing::Test {
protected:
    void TearDown() override {
        checker_.reset();
        // Let aborted handlers and the reaping of killed scripts finish; returns once idle.
        work_.reset();
        io_.restart();
        io_.run_for(2s);
        // No child left behind, running or zombie (waitid(WNOWAIT) only looks).
        siginfo_t info{};
        errno = 0;
        int rc = waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT);
        EXPECT_TRUE(rc == -1 && errno == ECHILD) << "a child process survived the test";
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

    Checker& start(const CheckSpec& s) {
        std::cout << "  check: " << describe(s) << "\n";
        checker_ = std::make_unique<Checker>(
            io_, s, [this](bool up, const std::string& reason) { changes_.push_back({up, reason, Clock::now()}); },
            [this](const Result& r) {
                results_.push_back(r);
                result_times_.push_back(Clock::now());
                if (on_result_hook_) on_result_hook_(r);
            });
        started_at_ = Clock::now();
        checker_->start();
        return *checker_;
    }

    bool run_until(const std::function<bool()>& done, Clock::duration timeout) {
        auto deadline = Clock::now() + timeout;
        while (!done()) {
            auto now = Clock::now();
            if (now >= deadline) return false;
            io_.run_one_for(std::min<Clock::duration>(deadline - now, 10ms));
        }
        return true;
    }
    void run_for(Clock::duration d) {
        run_until([] { return false; }, d);
    }
    bool wait_changes(size_t n, Clock::duration timeout) {
        return run_until([&] { return changes_.size() >= n; }, timeout);
    }
    bool wait_results(size_t n, Clock::duration timeout) {
        return run_until([&] { return results_.size() >= n; }, timeout);
    }
    size_t failures() const {
        size_t n = 0;
        for (const auto& r : results_) n += r.up ? 0 : 1;
        return n;
    }

    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    std::vector<Change> changes_;
    std::vector<Result> results_;
    std::vector<Clock::time_point> result_times_;
    std::function<void(const Result&)> on_result_hook_;
    Clock::time_point started_at_;
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
// TCP_CHECK

TEST_F(HealthTest, TcpDownWhenListenerClosedUpWhenReopened) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    Checker& c = start(s);
    ASSERT_TRUE(wait_results(1, 1s));
    EXPECT_TRUE(results_[0].up) << results_[0].reason;
    EXPECT_TRUE(c.up());
    EXPECT_TRUE(changes_.empty()) << "already UP: the first success is no change";

    server.close();
    auto broke = Clock::now();
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
    long took = ms_since(broke);
    std::cout << "  TCP DOWN " << took << " ms after the listener closed (bound " << down_bound(s).count()
              << " ms + " << kMargin.count() << ")\n";
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "TCP connect to 127.0.0.1:" + std::to_string(server.port()) + " refused");
    EXPECT_FALSE(c.up());
    EXPECT_GE(took, s.delay_before_retry.count()) << "DOWN needs the retry, delay_before_retry later";

    server.open();
    auto back = Clock::now();
    ASSERT_TRUE(wait_changes(2, s.delay_loop + s.connect_timeout + kMargin));
    std::cout << "  TCP UP " << ms_since(back) << " ms after the listener reopened\n";
    EXPECT_TRUE(changes_[1].up);
    EXPECT_THAT(changes_[1].reason, HasSubstr("succeeded"));
    EXPECT_TRUE(c.up());
    run_for(3 * s.delay_loop);
    EXPECT_EQ(changes_.size(), 2u);
    EXPECT_GT(server.accepted(), 0);
}

// A listener whose accept queue is full drops SYNs: the connect neither succeeds nor is refused.
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
    // Fill the queue (never accepted) until a connect no longer completes.
    std::vector<int> fillers;
    for (int i = 0; i < 16; ++i) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        fillers.push_back(fd);
        connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 100) == 0) break;
    }

    CheckSpec s = spec(CheckType::tcp, ntohs(addr.sin_port));
    s.connect_timeout = 150ms;
    start(s);
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
    long took = ms_since(started_at_);
    std::cout << "  TCP DOWN by timeout " << took << " ms after start (bound " << down_bound(s).count() << " ms)\n";
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "TCP connect to 127.0.0.1:" + std::to_string(s.port) + ": timeout after 150 ms");
    EXPECT_EQ(failures(), 2u);
    for (const auto& r : results_) EXPECT_GE(r.duration, std::chrono::microseconds(150ms));
    // The two timeouts and the retry gap cannot take less than this.
    EXPECT_GE(took, 2 * 150 + 50);

    for (int fd : fillers) ::close(fd);
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
    ASSERT_TRUE(wait_changes(1, 1s));
    EXPECT_TRUE(c.up());
    EXPECT_EQ(changes_[0].reason, "TCP connect to [::1]:" + std::to_string(s.port) + " succeeded");
}

TEST_F(HealthTest, NotAnAddressIsDown) {
    CheckSpec s = spec(CheckType::tcp, 80);
    s.host = "real1.example.com";  // literals only: resolving names is the configuration's job
    s.retry = 0;
    start(s);
    ASSERT_TRUE(wait_changes(1, 1s));
    EXPECT_FALSE(changes_[0].up);
    EXPECT_THAT(changes_[0].reason, HasSubstr("is not an IP address"));
}

// ---------------------------------------------------------------------------------------------
// HTTP_GET

TEST_F(HealthTest, HttpStatus200Then500) {
    TestServer server(TestServer::Mode::http);
    CheckSpec s = spec(CheckType::http, server.port());
    s.path = "/health";
    s.connect_timeout = 300ms;
    Checker& c = start(s);
    ASSERT_TRUE(wait_results(1, 1s));
    EXPECT_TRUE(results_[0].up) << results_[0].reason;
    EXPECT_EQ(results_[0].reason, "HTTP status 200 from /health");
    std::string request = server.last_request();
    EXPECT_THAT(request, StartsWith("GET /health HTTP/1.0\r\n"));
    EXPECT_THAT(request, HasSubstr("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"));

    server.respond(500, "broken\n");
    auto broke = Clock::now();
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
    std::cout << "  HTTP DOWN " << ms_since(broke) << " ms after the 500s began (bound " << down_bound(s).count()
              << " ms)\n";
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "HTTP status 500 from /health");
    EXPECT_FALSE(c.up());

    server.respond(200, "fine\n");
    ASSERT_TRUE(wait_changes(2, s.delay_loop + s.connect_timeout + kMargin));
    EXPECT_TRUE(changes_[1].up);
    EXPECT_TRUE(c.up());
}

TEST_F(HealthTest, HttpStatusCodesListIsHonoured) {
    TestServer server(TestServer::Mode::http);
    server.respond(302, "");
    CheckSpec s = spec(CheckType::http, server.port());
    s.status_codes = {200, 302};
    s.alpha = true;
    start(s);
    ASSERT_TRUE(wait_changes(1, 1s));
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
    Checker& c = start(s);
    ASSERT_TRUE(wait_changes(1, 1s));
    EXPECT_TRUE(changes_[0].up) << changes_[0].reason;
    EXPECT_TRUE(c.up());

    server.respond(200, body + "defaced", content_length);
    auto broke = Clock::now();
    ASSERT_TRUE(wait_changes(2, down_bound(s) + kMargin));
    std::cout << "  HTTP digest DOWN " << ms_since(broke) << " ms after the body changed\n";
    EXPECT_FALSE(changes_[1].up);
    EXPECT_THAT(changes_[1].reason, HasSubstr("digest mismatch"));
    EXPECT_THAT(changes_[1].reason, HasSubstr(detail::md5_hex(body + "defaced")));
}

INSTANTIATE_TEST_SUITE_P(Body, HttpDigest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "WithContentLength" : "UntilClose"; });

TEST_F(HealthTest, HttpTimeoutWhenServerNeverAnswers) {
    TestServer server(TestServer::Mode::silent);
    CheckSpec s = spec(CheckType::http, server.port());
    s.connect_timeout = 150ms;
    Checker& c = start(s);
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
    long took = ms_since(started_at_);
    std::cout << "  HTTP DOWN by timeout " << took << " ms after start (bound " << down_bound(s).count() << " ms)\n";
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason,
              "HTTP GET / from 127.0.0.1:" + std::to_string(server.port()) + ": timeout after 150 ms");
    EXPECT_FALSE(c.up());
    ASSERT_EQ(results_.size(), 2u);
    for (const auto& r : results_) {
        EXPECT_GE(r.duration, std::chrono::microseconds(150ms));
        EXPECT_LT(r.duration, std::chrono::microseconds(150ms + kMargin));
    }
    EXPECT_EQ(server.accepted(), 2) << "it connected both times; the answer is what never came";
}

// ---------------------------------------------------------------------------------------------
// MISC_CHECK

TEST_F(HealthTest, MiscExitZeroIsUp) {
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "exit 0";
    s.alpha = true;
    Checker& c = start(s);
    ASSERT_TRUE(wait_changes(1, 1s));
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
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
    std::cout << "  MISC DOWN " << ms_since(started_at_) << " ms after start\n";
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "MISC_CHECK exit status 1");
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
            changes_.push_back({up, reason, Clock::now()});
            weight_seen_in_on_change = checker_->dynamic_weight();
        },
        [&](const Result& r) { results_.push_back(r); });
    checker_->start();
    ASSERT_TRUE(wait_changes(1, 1s));
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
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
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

TEST_F(HealthTest, MiscScriptPastTimeoutIsKilledWithItsChildren) {
    auto pidfile = std::filesystem::temp_directory_path() / ("dplb-health-sleep-" + std::to_string(getpid()));
    CheckSpec s = spec(CheckType::misc, 0);
    // The sleep runs in the background: only killing the whole process group ends it.
    s.script = "sleep 30 & echo $! > " + pidfile.string() + "; wait";
    s.retry = 1;
    Checker& c = start(s);
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
    long took = ms_since(started_at_);
    std::cout << "  MISC DOWN by timeout " << took << " ms after start (bound " << down_bound(s).count()
              << " ms)\n";
    EXPECT_FALSE(changes_[0].up);
    EXPECT_EQ(changes_[0].reason, "MISC_CHECK timeout after 200 ms (killed)");
    EXPECT_FALSE(c.up());
    EXPECT_GE(took, 2 * 200 + 50);
    for (const auto& r : results_) EXPECT_GE(r.duration, std::chrono::microseconds(200ms));

    pid_t grandchild = 0;
    std::ifstream(pidfile) >> grandchild;
    ASSERT_GT(grandchild, 0);
    // It has had SIGKILL with its group; under load it may take a moment to be scheduled and die.
    auto killed = Clock::now();
    while (!process_gone(grandchild) && Clock::now() - killed < 1s) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(process_gone(grandchild)) << "the script's background sleep survived";
    std::cout << "  background sleep gone " << ms_since(killed) << " ms after the DOWN\n";
    std::filesystem::remove(pidfile);
}

TEST_F(HealthTest, StopKillsRunningScriptAndSilencesCallbacks) {
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "sleep 30";
    s.script_timeout = 10s;
    Checker& c = start(s);
    run_for(100ms);  // the script is running now
    c.stop();
    auto stopped = Clock::now();
    run_for(300ms);
    EXPECT_TRUE(results_.empty());
    EXPECT_TRUE(changes_.empty());
    // The TearDown check (no child left) proves the kill and the reap; do it within the run above.
    siginfo_t info{};
    errno = 0;
    EXPECT_EQ(waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT), -1);
    EXPECT_EQ(errno, ECHILD) << "script not reaped " << ms_since(stopped) << " ms after stop()";
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

bool no_child_left() {
    siginfo_t info{};
    errno = 0;
    return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

// A 10 ms periodic timer on the checker's io_context: how late it ever ran says whether anything
// held the loop (a blocking waitpid after the kill, say).
class LatenessProbe {
public:
    explicit LatenessProbe(asio::io_context& io) : timer_(io) { arm(Clock::now() + kPeriod); }
    ~LatenessProbe() { timer_.cancel(); }
    milliseconds max_lateness() const { return std::chrono::duration_cast<milliseconds>(max_); }
    int ticks() const { return ticks_; }

private:
    static constexpr milliseconds kPeriod{10};
    void arm(Clock::time_point at) {
        timer_.expires_at(at);
        timer_.async_wait([this, at](const boost::system::error_code& ec) {
            if (ec) return;
            max_ = std::max(max_, Clock::now() - at);
            ++ticks_;
            arm(at + kPeriod);
        });
    }
    asio::steady_timer timer_;
    Clock::duration max_{0};
    int ticks_ = 0;
};

// The script ignores SIGTERM and sleeps far past its timeout: only SIGKILL ends it, and nothing may
// wait for that on the loop. Both ways of noticing the end: the pidfd, and the waitpid poll.
class MiscTimeout : public HealthTest, public ::testing::WithParamInterface<bool> {
protected:
    void SetUp() override { detail::misc_probe_use_pidfd = GetParam(); }
    void TearDown() override {
        HealthTest::TearDown();
        detail::misc_probe_use_pidfd = true;
    }
};

TEST_P(MiscTimeout, TermIgnoringScriptIsKilledReapedAndTheLoopNeverStalls) {
    auto pidfile = std::filesystem::temp_directory_path() / ("dplb-health-trap-" + std::to_string(getpid()));
    std::filesystem::remove(pidfile);
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "trap '' TERM; echo $$ > " + pidfile.string() + "; sleep 30";
    s.script_timeout = 300ms;
    s.retry = 0;
    s.delay_loop = 10s;  // one check in this test
    LatenessProbe lateness(io_);
    Checker& c = start(s);
    ASSERT_TRUE(wait_results(1, s.script_timeout + kMargin)) << "no verdict within timeout + margin";
    long took = ms_since(started_at_);
    EXPECT_FALSE(results_[0].up);
    EXPECT_EQ(results_[0].reason, "MISC_CHECK timeout after 300 ms (killed)");
    EXPECT_GE(took, 300);
    EXPECT_FALSE(c.up());

    // The verdict comes with the reap: the script's shell is no child of ours any more.
    EXPECT_TRUE(no_child_left()) << "the killed script was not reaped with the verdict";
    EXPECT_EQ(our_zombies().size(), 0u) << "zombies of ours in /proc";
    pid_t shell = 0;
    std::ifstream(pidfile) >> shell;
    EXPECT_GT(shell, 0) << "the script never ran";
    if (shell > 0) {
        EXPECT_TRUE(process_gone(shell));
    }
    run_for(50ms);  // the loop keeps ticking after the check, too
    std::cout << "  verdict " << took << " ms after start (timeout 300); 10 ms timer: " << lateness.ticks()
              << " ticks, max lateness " << lateness.max_lateness().count() << " ms\n";
    EXPECT_GT(lateness.ticks(), 25);
    EXPECT_LT(lateness.max_lateness(), 100ms) << "something held the io_context";
    std::filesystem::remove(pidfile);
}

INSTANTIATE_TEST_SUITE_P(Reap, MiscTimeout, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "pidfd" : "poll"; });

// The io_context (with the check's pending handlers, which own the probe) destroyed while a script
// runs: the destructor neither waits for the child nor leaves it a zombie.
TEST_F(HealthTest, IoContextDestroyedMidCheckLeavesNoZombie) {
    auto pidfile = std::filesystem::temp_directory_path() / ("dplb-health-gone-" + std::to_string(getpid()));
    std::filesystem::remove(pidfile);
    auto script_pid = [&] {
        pid_t pid = 0;
        std::ifstream(pidfile) >> pid;
        return pid;
    };
    std::optional<asio::io_context> io(std::in_place);
    CheckSpec s = spec(CheckType::misc, 0);
    s.script = "trap '' TERM; echo $$ > " + pidfile.string() + "; sleep 30";
    s.script_timeout = 10s;
    auto checker = std::make_unique<Checker>(*io, s, [](bool, const std::string&) {});
    checker->start();
    // Until the script has started (it writes its pid), bounded.
    auto deadline = Clock::now() + 2s;
    while (script_pid() <= 0 && Clock::now() < deadline) io->run_one_for(10ms);
    ASSERT_GT(script_pid(), 0) << "the script never started";
    auto t0 = Clock::now();
    checker.reset();  // SIGKILL; the reap is still pending on `io`...
    io.reset();       // ...which goes now, with the pending wait that owns the probe
    Clock::duration destroy_took = Clock::now() - t0;
    std::cout << "  stop + io_context teardown took "
              << std::chrono::duration_cast<std::chrono::microseconds>(destroy_took).count() << " us\n";
    EXPECT_LT(destroy_took, 50ms);
    // Reaped off the thread: wait (bounded) for it to be done.
    auto until = Clock::now() + 2s;
    while (!no_child_left() && Clock::now() < until) std::this_thread::sleep_for(5ms);
    EXPECT_TRUE(no_child_left()) << "the script was never reaped";
    EXPECT_EQ(our_zombies().size(), 0u) << "zombies of ours in /proc";
    std::filesystem::remove(pidfile);
}

// ---------------------------------------------------------------------------------------------
// State machine: alpha, retries, one OnChange per change, warmup.

TEST_F(HealthTest, AlphaStartsDownNonAlphaStartsUp) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.alpha = true;
    s.warmup = 0ms;
    Checker alpha(io_, s, [&](bool up, const std::string& reason) { changes_.push_back({up, reason, Clock::now()}); });
    EXPECT_FALSE(alpha.up()) << "alpha: DOWN before any check";
    s.alpha = false;
    int plain_changes = 0;
    Checker plain(io_, s, [&](bool, const std::string&) { ++plain_changes; });
    EXPECT_TRUE(plain.up()) << "no alpha: UP before any check";

    alpha.start();
    plain.start();
    EXPECT_FALSE(alpha.up()) << "start() does not check synchronously";
    ASSERT_TRUE(wait_changes(1, 1s));
    EXPECT_TRUE(changes_[0].up);
    EXPECT_TRUE(alpha.up());
    run_for(3 * s.delay_loop);
    EXPECT_EQ(changes_.size(), 1u) << "further successes are no change";
    EXPECT_EQ(plain_changes, 0) << "UP to UP is no change";
}

TEST_F(HealthTest, AlphaWithFailingTargetStaysDownSilently) {
    TestServer server(TestServer::Mode::accept_close);
    uint16_t port = server.port();
    server.close();
    CheckSpec s = spec(CheckType::tcp, port);
    s.alpha = true;
    Checker& c = start(s);
    ASSERT_TRUE(wait_results(3, 1s));
    EXPECT_FALSE(c.up());
    EXPECT_TRUE(changes_.empty()) << "DOWN to DOWN is no change";
}

TEST_F(HealthTest, SingleFailureThenSuccessNeverReportsDown) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.retry = 1;
    s.delay_before_retry = 150ms;
    // The listener is back before the retry: the one failure is never confirmed.
    on_result_hook_ = [&](const Result& r) {
        if (!r.up) server.open();
    };
    Checker& c = start(s);
    ASSERT_TRUE(wait_results(1, 1s));
    server.close();
    ASSERT_TRUE(run_until([&] { return failures() == 1 && results_.back().up; }, 2s));
    run_for(3 * s.delay_loop);
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
    ASSERT_TRUE(wait_results(1, 1s));
    server.close();
    auto broke = Clock::now();
    ASSERT_TRUE(wait_changes(1, down_bound(s) + kMargin));
    std::cout << "  DOWN after retry=2 " << ms_since(broke) << " ms after the listener closed (bound "
              << down_bound(s).count() << " ms)\n";
    ASSERT_EQ(failures(), 3u) << "one check and two retries";
    // The three failures are delay_before_retry apart, not delay_loop.
    size_t n = results_.size();
    for (size_t i = n - 2; i < n; ++i) {
        auto gap = result_times_[i] - result_times_[i - 1];
        EXPECT_GE(gap, s.delay_before_retry);
        EXPECT_LT(gap, s.delay_loop - 50ms);
    }
    EXPECT_FALSE(c.up());
    // While DOWN a failure is not retried: the next ones come delay_loop apart.
    ASSERT_TRUE(wait_results(n + 2, 2 * s.delay_loop + kMargin));
    EXPECT_GE(result_times_[n] - result_times_[n - 1], s.delay_loop);
    EXPECT_GE(result_times_[n + 1] - result_times_[n], s.delay_loop);
    EXPECT_EQ(changes_.size(), 1u);
}

TEST_F(HealthTest, OnChangeOncePerChangeAcrossFlaps) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.retry = 0;
    s.delay_loop = 50ms;
    start(s);
    ASSERT_TRUE(wait_results(1, 1s));
    for (int flap = 0; flap < 3; ++flap) {
        server.close();
        ASSERT_TRUE(wait_changes(changes_.size() + 1, down_bound(s) + kMargin));
        size_t before = results_.size();
        ASSERT_TRUE(wait_results(before + 3, 1s));  // several more failed checks...
        server.open();
        ASSERT_TRUE(wait_changes(changes_.size() + 1, down_bound(s) + kMargin));
        ASSERT_TRUE(wait_results(results_.size() + 3, 1s));  // ...and successes: still no extra calls
    }
    ASSERT_EQ(changes_.size(), 6u);
    for (size_t i = 0; i < changes_.size(); ++i) EXPECT_EQ(changes_[i].up, i % 2 == 1) << i;
    EXPECT_GT(results_.size(), 3 * 6u);
}

TEST_F(HealthTest, WarmupSpreadsFirstChecksWithinWarmup) {
    TestServer server(TestServer::Mode::accept_close);
    CheckSpec s = spec(CheckType::tcp, server.port());
    s.delay_loop = 10s;
    s.warmup = 400ms;
    constexpr int kCheckers = 8;
    std::vector<std::unique_ptr<Checker>> checkers;
    std::vector<long> first_ms(kCheckers, -1);
    auto t0 = Clock::now();
    for (int i = 0; i < kCheckers; ++i) {
        checkers.push_back(std::make_unique<Checker>(io_, s, [](bool, const std::string&) {}, [&, i](const Result&) {
            if (first_ms[i] < 0) first_ms[i] = ms_since(t0);
        }));
        checkers.back()->start();
    }
    ASSERT_TRUE(run_until([&] { return std::count(first_ms.begin(), first_ms.end(), -1) == 0; },
                          s.warmup + kMargin));
    long lo = *std::min_element(first_ms.begin(), first_ms.end());
    long hi = *std::max_element(first_ms.begin(), first_ms.end());
    std::cout << "  first checks between " << lo << " and " << hi << " ms (warmup 400)\n";
    EXPECT_LE(hi, (s.warmup + kMargin).count());
    EXPECT_GT(hi - lo, 20) << "8 random delays in [0, 400] ms all within 20 ms of each other";
}

}  // namespace
}  // namespace dplb::health
