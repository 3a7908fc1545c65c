#include "child_watch.h"

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <thread>

namespace dplb::process {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kFirstPoll{1};
constexpr milliseconds kMaxPoll{20};

// A descriptor that turns readable when `pid` (our child, not yet reaped) exits; -1 without one.
int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

}  // namespace

void reap_in_background(pid_t pid) {
    if (waitpid(pid, nullptr, WNOHANG) != 0) return;  // reaped now, or not ours any more
    // A blocking waitpid here could hang for as long as the child sits in an uninterruptible sleep.
    try {
        std::thread([pid] {
            while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }).detach();
    } catch (const std::system_error&) {
        // No thread to be had: the zombie stays until the daemon exits. Better than hanging here.
    }
}

std::shared_ptr<ChildWatch> ChildWatch::start(asio::io_context& io, pid_t pid, bool use_pidfd, OnEnd on_end) {
    auto w = std::make_shared<ChildWatch>(io, pid, std::move(on_end));
    w->watch(use_pidfd);
    return w;
}

ChildWatch::ChildWatch(asio::io_context& io, pid_t pid, OnEnd on_end)
    : pid_(pid), poll_(io), exit_(io), on_end_(std::move(on_end)) {}

ChildWatch::~ChildWatch() {
    if (pid_ > 0) reap_in_background(pid_);
}

void ChildWatch::watch(bool use_pidfd) {
    // The pid cannot be reused before we reap it, so the pidfd is for this child and no other.
    int fd = use_pidfd ? open_pidfd(pid_) : -1;
    if (fd >= 0) {
        boost::system::error_code ec;
        exit_.assign(fd, ec);
        if (!ec) return wait_exit();
        close(fd);
    }
    schedule_poll(kFirstPoll);
}

void ChildWatch::wait_exit() {
    exit_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                         if (ec == asio::error::operation_aborted) return;  // closed: the child is reaped
                         self->try_reap(kFirstPoll, true);
                     });
}

void ChildWatch::schedule_poll(milliseconds delay) {
    poll_.expires_after(delay);
    poll_.async_wait([self = shared_from_this(), delay](const boost::system::error_code& ec) {
        if (ec) return;
        self->try_reap(std::min(delay * 2, kMaxPoll), false);
    });
}

void ChildWatch::try_reap(milliseconds next, bool from_pidfd) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) return ended(status);
    if (r < 0 && errno != EINTR) return ended(-errno);
    if (from_pidfd) {
        // Woken without an exit to reap: the reactor is edge-triggered, so another wait might never
        // end; poll instead. Not expected to happen.
        boost::system::error_code ignored;
        exit_.close(ignored);
    }
    schedule_poll(next);
}

void ChildWatch::ended(int status) {
    pid_ = -1;
    boost::system::error_code ignored;
    exit_.close(ignored);
    poll_.cancel();
    if (on_end_) {
        OnEnd f = std::move(on_end_);
        on_end_ = nullptr;
        f(status);
    }
}

}  // namespace dplb::process
