// MISC_CHECK: run `/bin/sh -c script` in its own process group; exit 0 is up. With `dynamic`,
// exit 1 is down and 2..255 is up with weight = code - 2. A script still running after
// script_timeout gets SIGKILL, with everything it started (the whole group), and counts as down.
//
// The child is started with posix_spawn (vfork + exec under the hood) rather than fork(): a
// dataplane process maps gigabytes that fork() would have to copy-on-write set up. Nothing here
// waits for it: its end is watched by a process::ChildWatch (a pidfd, or polling where there is
// none). The same holds after a timeout or a stop(): SIGKILL is sent and the reap comes when the
// child is gone. script_timeout runs on the checks' clock (clock.h); noticing the end is in real time.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include <boost/asio/post.hpp>

#include "child_watch.h"
#include "probe.h"

extern char** environ;

namespace dplb::health::detail {

std::atomic<bool> misc_probe_use_pidfd{true};

namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

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

class MiscProbe : public Probe, public std::enable_shared_from_this<MiscProbe> {
public:
    MiscProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : io_(io),
          deadline_(clock.make_timer(io)),
          done_(std::move(done)),
          timeout_(spec.script_timeout),
          dynamic_(spec.dynamic) {}

    // Only reached with a child still unreaped if the io_context went away mid-check: it gets
    // SIGKILL (again) and the watch reaps it off this thread.
    ~MiscProbe() override {
        if (pid_ > 0) kill(-pid_, SIGKILL);
    }

    void run(const std::string& script) {
        pid_t pid = spawn_script(script);
        if (pid < 0) {
            std::string reason = std::string("MISC_CHECK cannot run /bin/sh: ") + std::strerror(-pid);
            asio::post(io_, [self = shared_from_this(), reason]() { self->report(false, reason); });
            return;
        }
        pid_ = pid;
        deadline_->wait(timeout_, [weak = weak_from_this()] {
            if (auto self = weak.lock()) self->kill_on_timeout();
        });
        // The wait for the child's end keeps the probe alive until the reap, not the timeout.
        process::ChildWatch::start(io_, pid_, misc_probe_use_pidfd,
                                   [self = shared_from_this()](int status) { self->exited(status); });
    }

    void cancel() override {
        cancelled_ = true;
        done_ = nullptr;
        if (pid_ > 0 && !killed_) {
            kill(-pid_, SIGKILL);
            killed_ = true;
        }
        // The pending watch keeps this object alive until the child is reaped.
    }

private:
    void kill_on_timeout() {
        if (pid_ <= 0 || killed_) return;
        kill(-pid_, SIGKILL);
        killed_ = true;
        // The reap follows when the watch sees the child gone: a killed process is gone within a
        // scheduler tick. No waiting here.
    }

    // `status` < 0: the child could not be reaped (-errno; ECHILD when someone else reaped it).
    void exited(int status) {
        pid_ = -1;
        deadline_->cancel();
        if (status < 0) return report(false, std::string("MISC_CHECK lost its child: ") + std::strerror(-status));
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

    asio::io_context& io_;
    std::unique_ptr<Clock::Timer> deadline_;  // script_timeout
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
