// The control socket against clients that misbehave: idle and half-sent requests closed at their
// deadline, answers that take longer than it still delivered, the session cap (the oldest idle
// session gives its place; accepting pauses while every session awaits its answer), no accept loop
// when descriptors run out, and the lock that keeps a second dplbd off a socket in use.
#include <gtest/gtest.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "control_server.h"

namespace dplb {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/dplb-ctl-test-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf " + path).c_str()); }
};

// A ControlServer on its own io_context thread. Handler: "hold" keeps the reply for release_one();
// "slow" answers after 800 ms; anything else answers at once with the words.
class Server {
public:
    Server(const std::string& path, ControlLimits limits) : guard_(io_.get_executor()) {
        server_ = std::make_unique<ControlServer>(io_, path, 0600,
                                                  [this](const std::vector<std::string>& w, ControlServer::Reply_fn r) {
                                                      handle(w, std::move(r));
                                                  },
                                                  limits);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~Server() {
        on_io([this] {
            held_.clear();
            server_.reset();
        });
        guard_.reset();
        io_.stop();
        thread_.join();
    }
    // Runs fn on the io thread and waits for it.
    template <typename Fn>
    auto on_io(Fn fn) -> decltype(fn()) {
        std::packaged_task<decltype(fn())()> task(std::move(fn));
        auto f = task.get_future();
        boost::asio::post(io_, [&task] { task(); });
        return f.get();
    }
    size_t sessions() {
        return on_io([this] { return server_->sessions(); });
    }
    size_t held() {
        return on_io([this] { return held_.size(); });
    }
    void release_one() {
        on_io([this] {
            if (held_.empty()) return;
            held_.front()(Reply{true, "released\n"});
            held_.erase(held_.begin());
        });
    }
    std::thread& thread() { return thread_; }

private:
    void handle(const std::vector<std::string>& w, ControlServer::Reply_fn r) {
        if (!w.empty() && w[0] == "hold") {
            held_.push_back(std::move(r));
        } else if (!w.empty() && w[0] == "slow") {
            auto t = std::make_shared<boost::asio::steady_timer>(io_, milliseconds(800));
            t->async_wait([t, r](boost::system::error_code) { r(Reply{true, "slow answer\n"}); });
        } else {
            std::string text;
            for (const auto& x : w) text += x + "\n";
            r(Reply{true, text});
        }
    }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
    std::unique_ptr<ControlServer> server_;
    std::vector<ControlServer::Reply_fn> held_;
    std::thread thread_;
};

int connect_unix(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    timeval tv{2, 0};  // a full backlog: give up after 2 s
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Reads until the peer closes or `within` passes; returns what came, and whether it closed.
std::pair<std::string, bool> read_until_closed(int fd, milliseconds within) {
    std::string out;
    auto end = Clock::now() + within;
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
        if (left <= 0) return {out, false};
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) out.append(buf, static_cast<size_t>(n));
        else if (n == 0 || (errno != EAGAIN && errno != EINTR)) return {out, true};
    }
}

bool closed_now(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return false;
    char c;
    return ::recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) == 0;
}

ControlLimits short_deadline() {
    ControlLimits l;
    l.request_deadline = milliseconds(300);
    return l;
}

TEST(ControlServer, IdleAndHalfSentRequestsAreClosedAtTheDeadline) {
    TempDir dir;
    std::string sock = dir.path + "/c.sock";
    Server srv(sock, short_deadline());
    auto t0 = Clock::now();
    int idle = connect_unix(sock);
    int half = connect_unix(sock);
    ASSERT_GE(idle, 0);
    ASSERT_GE(half, 0);
    ASSERT_EQ(::send(half, "status\n", 7, MSG_NOSIGNAL), 7);  // never the empty line that ends it
    auto [a, a_closed] = read_until_closed(idle, milliseconds(3000));
    auto [b, b_closed] = read_until_closed(half, milliseconds(3000));
    double took = seconds_since(t0);
    EXPECT_TRUE(a_closed && b_closed) << "still open after " << took << " s";
    EXPECT_GE(took, 0.25);
    EXPECT_EQ(a, "");
    EXPECT_EQ(b, "");
    EXPECT_EQ(srv.sessions(), 0u);
    ::close(idle);
    ::close(half);
    EXPECT_EQ(control_request(sock, {"status"}).text, "status\n") << "still serving";
}

TEST(ControlServer, AnAnswerMayTakeLongerThanTheRequestDeadline) {
    TempDir dir;
    std::string sock = dir.path + "/c.sock";
    Server srv(sock, short_deadline());
    auto t0 = Clock::now();
    Reply r = control_request(sock, {"slow"}, milliseconds(5000));
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.text, "slow answer\n");
    EXPECT_GE(seconds_since(t0), 0.75);
}

TEST(ControlServer, AtTheCapTheOldestIdleSessionGivesItsPlace) {
    TempDir dir;
    std::string sock = dir.path + "/c.sock";
    ControlLimits l;
    l.max_sessions = 4;
    l.request_deadline = milliseconds(20000);  // only the cap closes them here
    Server srv(sock, l);
    std::vector<int> idle;
    for (int i = 0; i < 10; i++) {
        idle.push_back(connect_unix(sock));
        ASSERT_GE(idle.back(), 0) << i;
    }
    auto t0 = Clock::now();
    Reply r = control_request(sock, {"status"}, milliseconds(5000));
    EXPECT_TRUE(r.ok);
    EXPECT_LT(seconds_since(t0), 2.0);
    EXPECT_LE(srv.sessions(), 4u);
    // The 6 oldest gave their places to the 4 newest, then one more to the request.
    for (int i = 0; i < 7; i++) EXPECT_TRUE(read_until_closed(idle[i], milliseconds(2000)).second) << i;
    for (int i = 7; i < 10; i++) EXPECT_FALSE(closed_now(idle[i])) << i;
    for (int fd : idle) ::close(fd);
}

TEST(ControlServer, AtTheCapWithEverySessionBusyAcceptingWaits) {
    TempDir dir;
    std::string sock = dir.path + "/c.sock";
    ControlLimits l;
    l.max_sessions = 2;
    Server srv(sock, l);
    int busy[2];
    for (int& fd : busy) {
        fd = connect_unix(sock);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::send(fd, "hold\n\n", 6, MSG_NOSIGNAL), 6);
    }
    auto end = Clock::now() + milliseconds(3000);
    while (srv.held() < 2 && Clock::now() < end) std::this_thread::yield();
    ASSERT_EQ(srv.held(), 2u);
    // A third request waits in the backlog: neither answered nor closed while both are held...
    int third = connect_unix(sock);
    ASSERT_GE(third, 0);
    ASSERT_EQ(::send(third, "status\n\n", 8, MSG_NOSIGNAL), 8);
    auto [early, early_closed] = read_until_closed(third, milliseconds(300));
    EXPECT_EQ(early, "");
    EXPECT_FALSE(early_closed);
    // ...and is served once one of them ends.
    srv.release_one();
    auto [answer, closed] = read_until_closed(third, milliseconds(3000));
    EXPECT_TRUE(closed);
    EXPECT_EQ(answer, "OK\nstatus\n");
    EXPECT_EQ(read_until_closed(busy[0], milliseconds(3000)).first, "OK\nreleased\n");
    srv.release_one();
    EXPECT_EQ(read_until_closed(busy[1], milliseconds(3000)).first, "OK\nreleased\n");
    for (int fd : busy) ::close(fd);
    ::close(third);
}

double thread_cpu_seconds(std::thread& t) {
    clockid_t c;
    if (pthread_getcpuclockid(t.native_handle(), &c) != 0) return -1;
    timespec ts{};
    clock_gettime(c, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST(ControlServer, OutOfDescriptorsItWaitsInsteadOfSpinning) {
    TempDir dir;
    std::string sock = dir.path + "/c.sock";
    Server srv(sock, ControlLimits{});
    // Client sockets made first; then no descriptor left for the server's accept.
    std::vector<int> clients;
    for (int i = 0; i < 3; i++) clients.push_back(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int lowest_free = ::dup(0);
    ASSERT_GE(lowest_free, 0);
    ::close(lowest_free);
    rlimit saved{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit low = saved;
    low.rlim_cur = static_cast<rlim_t>(lowest_free);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
    for (int fd : clients) {
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::send(fd, "status\n\n", 8, MSG_NOSIGNAL), 8);
    }
    double cpu0 = thread_cpu_seconds(srv.thread());
    auto t0 = Clock::now();
    std::this_thread::sleep_for(milliseconds(1000));  // the window the CPU time is measured over
    double cpu = thread_cpu_seconds(srv.thread()) - cpu0;
    double wall = seconds_since(t0);
    bool none_answered = true;
    for (int fd : clients) none_answered &= !closed_now(fd);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
    EXPECT_LT(cpu / wall, 0.05) << "the io thread used " << cpu << " s of CPU in " << wall << " s";
    EXPECT_TRUE(none_answered) << "accept should have failed with EMFILE";
    // Descriptors back: every waiting client is served within a few back-off periods.
    for (int fd : clients) {
        auto [answer, closed] = read_until_closed(fd, milliseconds(3000));
        EXPECT_TRUE(closed);
        EXPECT_EQ(answer, "OK\nstatus\n");
        ::close(fd);
    }
}

TEST(ControlListener, ASecondTakeFailsNamingTheHolder) {
    TempDir dir;
    std::string sock = dir.path + "/run/c.sock";  // the directory is created
    {
        ControlListener first = ControlListener::take(sock, 0600);
        struct stat st{};
        ASSERT_EQ(::stat(sock.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0600u);
        try {
            ControlListener second = ControlListener::take(sock, 0600);
            ADD_FAILURE() << "a second take succeeded";
        } catch (const std::runtime_error& e) {
            std::string m = e.what();
            EXPECT_NE(m.find("in use by another dplbd (pid " + std::to_string(::getpid()) + ")"), std::string::npos)
                << m;
        }
        EXPECT_EQ(::stat(sock.c_str(), &st), 0) << "the failed take left the socket file alone";
        ControlListener moved(std::move(first));
        EXPECT_EQ(::stat(sock.c_str(), &st), 0) << "a moved-from listener removes nothing";
    }
    struct stat st{};
    EXPECT_NE(::stat(sock.c_str(), &st), 0) << "the socket file goes with its listener";
    EXPECT_EQ(::stat((sock + ".lock").c_str(), &st), 0) << "the lock file stays";
    ControlListener again = ControlListener::take(sock, 0600);  // and the lock is free again
}

TEST(ControlListener, AStaleSocketFileIsReplacedAndAFileThatIsNotASocketIsLeftAlone) {
    TempDir dir;
    std::string sock = dir.path + "/c.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, sock.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);  // the file stays, nobody listens: what a dplbd killed with -9 leaves
    {
        Server srv(sock, ControlLimits{});
        EXPECT_EQ(control_request(sock, {"status"}, milliseconds(3000)).text, "status\n");
    }
    std::string file = dir.path + "/not-a-socket";
    std::ofstream(file) << "keep me\n";
    EXPECT_THROW(ControlListener::take(file, 0600), std::runtime_error);
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "keep me");
}

TEST(ControlRequest, GivesUpAtItsTimeout) {
    TempDir dir;
    std::string sock = dir.path + "/c.sock";
    Server srv(sock, ControlLimits{});
    auto t0 = Clock::now();
    EXPECT_THROW(control_request(sock, {"hold"}, milliseconds(300)), std::runtime_error);
    double took = seconds_since(t0);
    EXPECT_GE(took, 0.25);
    EXPECT_LT(took, 2.0);
}

}  // namespace
}  // namespace dplb
