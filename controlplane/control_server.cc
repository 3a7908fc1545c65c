#include "control_server.h"
#include "log.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <stdexcept>
#include <system_error>

namespace dplb {
namespace {

using boost::asio::local::stream_protocol;
constexpr size_t kMaxRequest = 64 * 1024;
constexpr int kBacklog = 128;
// An accept failure is logged at most this often (an exhausted descriptor table would otherwise
// log ten lines a second).
constexpr std::chrono::seconds kErrorLogInterval{60};

void make_parent_dir(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    std::string dir = path.substr(0, slash);
    for (size_t p = 1; p <= dir.size(); p++)
        if (p == dir.size() || dir[p] == '/') ::mkdir(dir.substr(0, p).c_str(), 0755);
}

sockaddr_un unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof a.sun_path)
        throw std::runtime_error("control socket " + path + ": path empty or too long");
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

// What the lock file says about its holder: " (pid N)" or "".
std::string lock_holder(int fd) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return "";
    std::string s(buf, static_cast<size_t>(n));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return "";
    return " (pid " + s + ")";
}

class Session;

}  // namespace

struct ControlServer::State {
    Handler handler;
    ControlLimits limits;
    ControlServer* server = nullptr;  // null once the server is gone
    size_t open = 0;                  // sessions whose connection is not closed yet
    // Sessions still waiting for their request, oldest first: the ones a new connection may close.
    std::list<std::weak_ptr<Session>> waiting;
};

namespace {

// One request/answer exchange.
class Session : public std::enable_shared_from_this<Session> {
public:
    Session(stream_protocol::socket s, std::shared_ptr<ControlServer::State> st)
        : sock_(std::move(s)), timer_(sock_.get_executor()), st_(std::move(st)) {
        st_->open++;
    }
    // Normally closed already (by finish(), on the io_context's thread); at shutdown, when the
    // io_context drops the handlers that hold it, it is not.
    ~Session() { finish(); }

    void start() {
        st_->waiting.push_back(weak_from_this());
        waiting_pos_ = std::prev(st_->waiting.end());
        waiting_ = true;
        arm(Phase::request, st_->limits.request_deadline);
        auto self = shared_from_this();
        boost::asio::async_read_until(sock_, buf_, "\n\n", [self](boost::system::error_code ec, size_t) {
            if (self->closed_) return;  // past its deadline, or closed for a newer connection
            self->leave_waiting();
            self->phase_ = Phase::command;
            self->timer_.cancel();
            if (ec) {
                if (ec == boost::asio::error::eof && self->buf_.size() == 0) return self->finish();  // said nothing
                self->answer(Reply{false, ec == boost::asio::error::not_found ? "request too long\n" : "bad request\n"});
                return;
            }
            std::istream in(&self->buf_);
            std::vector<std::string> words;
            std::string w;
            while (std::getline(in, w) && !w.empty()) words.push_back(w);
            try {
                self->st_->handler(words, [self](Reply r) { self->answer(r); });
            } catch (const std::exception& e) {
                self->answer(Reply{false, std::string("internal error: ") + e.what() + "\n"});
            }
        });
    }

    // Closes the connection now (a newer one needs its place).
    void evict() { finish(); }

private:
    enum class Phase { request, command, answer };

    void arm(Phase phase, std::chrono::milliseconds after) {
        phase_ = phase;
        timer_.expires_after(after);
        timer_.async_wait([self = shared_from_this(), phase](boost::system::error_code ec) {
            if (!ec && self->phase_ == phase) self->finish();
        });
    }

    void answer(const Reply& r) {
        if (answered_ || closed_) return;
        answered_ = true;
        out_ = (r.ok ? "OK\n" : "ERR\n") + r.text;
        arm(Phase::answer, st_->limits.answer_deadline);
        auto self = shared_from_this();
        boost::asio::async_write(sock_, boost::asio::buffer(out_),
                                 [self](boost::system::error_code, size_t) { self->finish(); });
    }

    void leave_waiting() {
        if (!waiting_) return;
        st_->waiting.erase(waiting_pos_);
        waiting_ = false;
    }

    void finish() {
        if (closed_) return;
        closed_ = true;
        leave_waiting();
        boost::system::error_code ignored;
        timer_.cancel();
        sock_.close(ignored);
        st_->open--;
        if (st_->server) st_->server->session_ended();
    }

    stream_protocol::socket sock_;
    boost::asio::steady_timer timer_;
    std::shared_ptr<ControlServer::State> st_;
    boost::asio::streambuf buf_{kMaxRequest};
    std::string out_;
    Phase phase_ = Phase::request;
    std::list<std::weak_ptr<Session>>::iterator waiting_pos_;
    bool waiting_ = false;
    bool answered_ = false;
    bool closed_ = false;
};

}  // namespace

ControlListener ControlListener::take(const std::string& path, mode_t mode) {
    sockaddr_un addr = unix_address(path);
    make_parent_dir(path);
    ControlListener l;
    l.path_ = path;
    // The lock first: of two dplbd started together, exactly one goes on.
    std::string lock = path + ".lock";
    l.lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (l.lock_fd_ < 0)
        throw std::runtime_error("control socket " + path + ": cannot open its lock file " + lock + ": " +
                                 std::strerror(errno));
    if (::flock(l.lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            throw std::runtime_error("control socket " + path + " is in use by another dplbd" +
                                     lock_holder(l.lock_fd_) + ", which holds " + lock);
        throw std::runtime_error("control socket " + path + ": cannot lock " + lock + ": " + std::strerror(e));
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(l.lock_fd_, 0) != 0 || ::pwrite(l.lock_fd_, pid.data(), pid.size(), 0) < 0)
        throw std::runtime_error("control socket " + path + ": cannot write " + lock + ": " + std::strerror(errno));

    // A socket file left by a dplbd that died is stale; one that answers belongs to a live process
    // that does not take the lock (an older dplbd). A full backlog (EAGAIN) is a live one too.
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) throw std::runtime_error("control socket " + path + " exists and is not a socket");
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (probe < 0) throw std::runtime_error("control socket " + path + ": socket: " + std::strerror(errno));
        int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
        int e = errno;
        ::close(probe);
        if (rc == 0 || e == EAGAIN)
            throw std::runtime_error("control socket " + path + " is in use by another dplbd");
        ::unlink(path.c_str());
    }

    l.fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l.fd_ < 0) throw std::runtime_error("control socket " + path + ": socket: " + std::strerror(errno));
    // The file is created with `mode` already (no window where others may connect): umask is
    // per process, which is why dplbd takes its socket before it starts any thread.
    mode_t old_mask = ::umask(static_cast<mode_t>(~mode & 0777));
    int rc = ::bind(l.fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int e = errno;
    ::umask(old_mask);
    if (rc != 0) throw std::runtime_error("control socket " + path + ": bind: " + std::strerror(e));
    l.bound_ = true;
    if (::chmod(path.c_str(), mode) != 0)
        throw std::runtime_error("control socket " + path + ": chmod: " + std::strerror(errno));
    if (::listen(l.fd_, kBacklog) != 0)
        throw std::runtime_error("control socket " + path + ": listen: " + std::strerror(errno));
    return l;
}

ControlListener::ControlListener(ControlListener&& o) noexcept
    : path_(std::move(o.path_)), fd_(o.fd_), lock_fd_(o.lock_fd_), bound_(o.bound_) {
    o.fd_ = -1;
    o.lock_fd_ = -1;
    o.bound_ = false;
}

ControlListener::~ControlListener() {
    if (fd_ >= 0) ::close(fd_);
    if (bound_) ::unlink(path_.c_str());  // only a file this process bound, never another's
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

ControlServer::ControlServer(boost::asio::io_context& io, ControlListener listener, Handler handler,
                             ControlLimits limits)
    : listener_(std::move(listener)), acceptor_(io), backoff_(io), state_(std::make_shared<State>()) {
    boost::system::error_code ec;
    acceptor_.assign(stream_protocol(), listener_.fd_, ec);
    if (ec) throw std::runtime_error("control socket " + listener_.path_ + ": " + ec.message());
    listener_.fd_ = -1;  // the acceptor closes it
    state_->handler = std::move(handler);
    state_->limits = limits;
    if (state_->limits.max_sessions == 0) state_->limits.max_sessions = 1;
    state_->server = this;
    accept();
}

ControlServer::ControlServer(boost::asio::io_context& io, const std::string& path, mode_t mode, Handler handler,
                             ControlLimits limits)
    : ControlServer(io, ControlListener::take(path, mode), std::move(handler), limits) {}

ControlServer::~ControlServer() {
    state_->server = nullptr;
    boost::system::error_code ec;
    backoff_.cancel();
    acceptor_.close(ec);
    // listener_ then removes the socket file and releases the lock.
}

size_t ControlServer::sessions() const { return state_->open; }

void ControlServer::accept() {
    if (accepting_) return;
    if (parked_ || (state_->open >= state_->limits.max_sessions && state_->waiting.empty())) {
        paused_ = true;  // every session is past its request: the next to end resumes accepting
        return;
    }
    paused_ = false;
    accepting_ = true;
    acceptor_.async_accept([this, st = state_](boost::system::error_code ec, stream_protocol::socket s) {
        if (ec == boost::asio::error::operation_aborted || !st->server) return;  // the server is gone
        accepting_ = false;
        if (!ec) {
            on_accept(std::move(s));
            accept();
            return;
        }
        if (ec == boost::asio::error::connection_aborted) {  // the client gave up first: nothing wrong here
            accept();
            return;
        }
        // Out of descriptors (EMFILE, ENFILE) or memory, or anything unexpected: the pending
        // connection stays readable, so wait rather than spin; it is accepted when this passes.
        auto now = std::chrono::steady_clock::now();
        if (last_error_log_ == std::chrono::steady_clock::time_point{} || now - last_error_log_ >= kErrorLogInterval) {
            log(LogLevel::warning, "dplbd: control socket %s: accept: %s; %zu session(s) open; retrying every %lld ms%s",
                         listener_.path_.c_str(), ec.message().c_str(), st->open,
                         static_cast<long long>(st->limits.accept_backoff.count()),
                         errors_unlogged_ ? (", " + std::to_string(errors_unlogged_) + " failure(s) not logged").c_str()
                                          : "");
            last_error_log_ = now;
            errors_unlogged_ = 0;
        } else {
            errors_unlogged_++;
        }
        accepting_ = true;
        backoff_.expires_after(st->limits.accept_backoff);
        backoff_.async_wait([this, st](boost::system::error_code wec) {
            if (wec || !st->server) return;
            accepting_ = false;
            accept();
        });
    });
}

void ControlServer::on_accept(stream_protocol::socket s) {
    // At the cap: the oldest session that has not sent its request gives its place.
    while (state_->open >= state_->limits.max_sessions && !state_->waiting.empty()) {
        std::shared_ptr<Session> oldest = state_->waiting.front().lock();
        if (oldest) oldest->evict();  // leaves `waiting` and closes
        else state_->waiting.pop_front();
    }
    ::fcntl(s.native_handle(), F_SETFD, FD_CLOEXEC);  // not for the scripts dplbd runs
    if (state_->open >= state_->limits.max_sessions) {
        // Every session got past its request while this accept was pending: this connection waits,
        // unread, for the first place (as it would have in the backlog); accepting pauses.
        parked_.emplace(std::move(s));
        paused_ = true;
        return;
    }
    std::make_shared<Session>(std::move(s), state_)->start();
}

void ControlServer::session_ended() {
    if (parked_ && state_->open < state_->limits.max_sessions) {
        stream_protocol::socket s = std::move(*parked_);
        parked_.reset();
        std::make_shared<Session>(std::move(s), state_)->start();
    }
    if (paused_) accept();
}

Reply control_request(const std::string& path, const std::vector<std::string>& words,
                      std::chrono::milliseconds timeout) {
    std::string req;
    for (const auto& w : words) {
        if (w.empty() || w.find('\n') != std::string::npos) throw std::invalid_argument("empty word or newline in argument");
        req += w + "\n";
    }
    req += "\n";
    sockaddr_un addr = unix_address(path);
    const bool bounded = timeout.count() > 0;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto late = [&]() {
        char s[64];
        std::snprintf(s, sizeof s, "no complete answer within %g s", static_cast<double>(timeout.count()) / 1000);
        return std::runtime_error(s);
    };
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    if (bounded) {
        // A blocking connect waits while the listener's backlog is full; SO_SNDTIMEO bounds it.
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    while (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN && bounded) throw late();
        throw std::system_error(errno, std::generic_category(), "connect");
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    // Waits until fd is ready for `events`; false when the deadline has passed.
    auto wait = [&](short events) {
        for (;;) {
            int ms = -1;
            if (bounded) {
                auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
                if (left.count() <= 0) return false;
                ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
            }
            pollfd p{fd, events, 0};
            int rc = ::poll(&p, 1, ms);
            if (rc > 0) return true;
            if (rc < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
        }
    };
    for (size_t off = 0; off < req.size();) {
        ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
        if (n >= 0) {
            off += static_cast<size_t>(n);
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait(POLLOUT)) throw late();
        } else {
            throw std::system_error(errno, std::generic_category(), "send");
        }
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            out.append(buf, static_cast<size_t>(n));
        } else if (n == 0) {
            break;
        } else if (errno == EAGAIN || errno == EINTR) {
            if (!wait(POLLIN)) throw late();
        } else {
            throw std::system_error(errno, std::generic_category(), "recv");
        }
    }
    Reply r;
    size_t nl = out.find('\n');
    std::string status = out.substr(0, nl);
    if (status != "OK" && status != "ERR")
        throw std::runtime_error(out.empty() ? "dplbd closed the connection without an answer"
                                             : "unexpected answer from dplbd");
    r.ok = status == "OK";
    r.text = nl == std::string::npos ? "" : out.substr(nl + 1);
    return r;
}

}  // namespace dplb
