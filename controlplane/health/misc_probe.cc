// MISC_CHECK: run `/bin/sh -c script` in its own process group; exit 0 is up. With `dynamic`,
// exit 1 is down and 2..255 is up with weight = code - 2. A script still running after
// script_timeout gets SIGKILL, with everything it started (the whole group), and counts as down.
//
// The child is started with posix_spawn (vfork + exec under the hood) rather than fork(): a
// dataplane process maps gigabytes that fork() would have to copy-on-write set up. Nothing here
// waits for it: its end is a pidfd (pidfd_open, Linux >= 5.3) turning readable, watched by the
// io_context like any socket, and only then is it reaped, with waitpid(WNOHANG). The same holds after
// a timeout or a stop(): SIGKILL is sent and the reap comes when the pidfd says the child is gone.
// Where pidfd_open is missing (older kernels, seccomp) or fails (out of descriptors), its end is
// found by polling waitpid(WNOHANG) on a timer instead, backing off from 1 ms to 20 ms. SIGCHLD is
// not used either way: that would mean owning the process-wide handler. script_timeout runs on the
// checks' clock (clock.h); the polling is only a way of noticing the end, in real time.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <thread>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "probe.h"

extern char** environ;

namespace dplb::health::detail {

std::atomic<bool> misc_probe_use_pidfd{true};

namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr milliseconds kFirstPoll{1};
constexpr milliseconds kMaxPoll{20};

// Starts the script; returns its pid (also its process group id) or -errno.
pid_t spawn_script(const std::string& script) {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    // Own group (pgid = pid) so a timeout can kill the script and its children in one go; default
    // signal dispositions and an empty mask, whatever the daemon set for itself.
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    // Output goes nowhere (as keepalived does), and no descriptor of ours leaks into the script: an
    // inherited listening socket would keep a port open that the daemon believes closed.
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);

    const char* argv[] = {"/bin/sh", "-c", script.c_str(), nullptr};
    pid_t pid = -1;
    int err = posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    return err == 0 ? pid : -err;
}

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

// The last resort of a probe destroyed with its child unreaped, which only happens when the
// io_context is destroyed mid-check (its pending handlers own the probe): nothing will run the reap
// any more, and a blocking waitpid there could hang for as long as the child sits in an
// uninterruptible sleep. A detached thread waits for that one pid instead.
void reap_in_background(pid_t pid) {
    if (waitpid(pid, nullptr, WNOHANG) != 0) return;  // reaped now, or not ours any more
    try {
        std::thread([pid] {
            while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        }).detach();
    } catch (const std::system_error&) {
        // No thread to be had: the zombie stays until the daemon exits. Better than hanging here.
    }
}

class MiscProbe : public Probe, public std::enable_shared_from_this<MiscProbe> {
public:
    MiscProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : deadline_(clock.make_timer(io)),
          poll_(io),
          exit_(io),
          done_(std::move(done)),
          timeout_(spec.script_timeout),
          dynamic_(spec.dynamic) {}

    ~MiscProbe() override {
        // Only reached with a child still unreaped if the io_context went away mid-check: it gets
        // SIGKILL (again) and is reaped off this thread.
        if (pid_ > 0) {
            kill(-pid_, SIGKILL);
            reap_in_background(pid_);
        }
    }

    void run(const std::string& script) {
        pid_t pid = spawn_script(script);
        if (pid < 0) {
            std::string reason = std::string("MISC_CHECK cannot run /bin/sh: ") + std::strerror(-pid);
            asio::post(poll_.get_executor(), [self = shared_from_this(), reason]() { self->report(false, reason); });
            return;
        }
        pid_ = pid;
        // The wait for the child's end keeps the probe alive until the reap, not the timeout.
        deadline_->wait(timeout_, [weak = weak_from_this()] {
            if (auto self = weak.lock()) self->kill_on_timeout();
        });
        // The pid cannot be reused before we reap it, so the pidfd is for this child and no other.
        int fd = misc_probe_use_pidfd ? open_pidfd(pid_) : -1;
        if (fd >= 0) {
            boost::system::error_code ec;
            exit_.assign(fd, ec);
            if (!ec) return wait_exit();
            close(fd);
        }
        schedule_poll(kFirstPoll);
    }

    void cancel() override {
        cancelled_ = true;
        done_ = nullptr;
        if (pid_ > 0 && !killed_) {
            kill(-pid_, SIGKILL);
            killed_ = true;
        }
        // The pending exit wait (or poll) keeps this object alive until the child is reaped.
    }

private:
    // pidfd: readable once the child has exited (a zombie waiting for us).
    void wait_exit() {
        exit_.async_wait(asio::posix::stream_descriptor::wait_read,
                         [self = shared_from_this()](const boost::system::error_code& ec) {
                             if (ec == asio::error::operation_aborted) return;  // closed: the child is reaped
                             self->on_exit_readable(ec);
                         });
    }

    void on_exit_readable(const boost::system::error_code& ec) {
        int status = 0;
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) return exited(status);
        if (r < 0 && errno != EINTR) return lost_child(errno);
        // Not reaped (the descriptor failed, or woke us for something else): the reactor is
        // edge-triggered, so another wait might never end; poll instead, which also takes over
        // the timeout. Not expected to happen.
        (void)ec;
        boost::system::error_code ignored;
        exit_.close(ignored);
        schedule_poll(kFirstPoll);
    }

    void kill_on_timeout() {
        if (pid_ <= 0 || killed_) return;
        kill(-pid_, SIGKILL);
        killed_ = true;
        // The reap follows when the pidfd turns readable, or at the next poll, which comes soon: a
        // killed process is gone within a scheduler tick. No waiting here.
        if (!exit_.is_open()) schedule_poll(kFirstPoll);
    }

    // The fallback without a pidfd: waitpid(WNOHANG) on a timer that backs off.
    void schedule_poll(milliseconds delay) {
        poll_.expires_after(delay);
        poll_.async_wait([self = shared_from_this(), delay](const boost::system::error_code& ec) {
            if (ec) return;
            self->poll(std::min(delay * 2, kMaxPoll));
        });
    }

    void poll(milliseconds next) {
        int status = 0;
        pid_t r = waitpid(pid_, &status, WNOHANG);
        if (r == pid_) return exited(status);
        if (r < 0 && errno != EINTR) return lost_child(errno);
        schedule_poll(next);
    }

    void exited(int status) {
        pid_ = -1;
        finish_waits();
        on_exit(status);
    }

    // ECHILD: someone else reaped it (SIGCHLD set to SIG_IGN?)
    void lost_child(int err) {
        pid_ = -1;
        finish_waits();
        report(false, std::string("MISC_CHECK lost its child: ") + std::strerror(err));
    }

    // The child is gone: its pidfd, the poll and the timeout are of no more use (their handlers let
    // go of us).
    void finish_waits() {
        boost::system::error_code ignored;
        exit_.close(ignored);
        poll_.cancel();
        deadline_->cancel();
    }

    void on_exit(int status) {
        if (killed_) return report(false, "MISC_CHECK timeout after " + std::to_string(timeout_.count()) + " ms (killed)");
        if (WIFSIGNALED(status)) return report(false, "MISC_CHECK killed by signal " + std::to_string(WTERMSIG(status)));
        int code = WEXITSTATUS(status);
        std::string reason = "MISC_CHECK exit status " + std::to_string(code);
        if (code == 0) return report(true, reason);
        if (dynamic_ && code >= 2) return report(true, reason + " (weight " + std::to_string(code - 2) + ")", code - 2);
        report(false, reason);
    }

    void report(bool ok, std::string reason, int weight = -1) {
        if (cancelled_ || !done_) return;
        ProbeDone done = std::move(done_);
        done_ = nullptr;
        done(ProbeOutcome{ok, std::move(reason), weight});
    }

    std::unique_ptr<Clock::Timer> deadline_;  // script_timeout
    asio::steady_timer poll_;                 // the waitpid poll, without a pidfd
    asio::posix::stream_descriptor exit_;     // the child's pidfd
    ProbeDone done_;
    milliseconds timeout_;
    bool dynamic_;
    pid_t pid_ = -1;
    bool killed_ = false;
    bool cancelled_ = false;
};

}  // namespace

std::shared_ptr<Probe> start_misc_probe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    auto probe = std::make_shared<MiscProbe>(io, clock, spec, std::move(done));
    probe->run(spec.script);
    return probe;
}

}  // namespace dplb::health::detail
