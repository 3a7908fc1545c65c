#include "runner.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "child_watch.h"

extern char** environ;

namespace dplb::scripts {

namespace asio = boost::asio;
using std::chrono::milliseconds;

std::string Result::describe() const {
    switch (kind) {
    case Kind::exited: return "exit status " + std::to_string(code);
    case Kind::signalled: return "killed by signal " + std::to_string(code);
    case Kind::timed_out: return "timed out after " + std::to_string(timeout.count()) + " ms (killed)";
    case Kind::not_started: return std::string("not started: ") + std::strerror(code);
    }
    return "?";
}

const char* Result::outcome() const {
    if (ok()) return "success";
    if (kind == Kind::timed_out) return "timeout";
    if (kind == Kind::not_started) return "not_started";
    return "failure";
}

namespace {

// The supplementary groups of `uid`'s user (looked up before the vfork: the child may not allocate).
std::vector<gid_t> groups_of(uid_t uid, gid_t gid) {
    std::vector<char> buf(16384);
    passwd pw{}, *found = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || !found) return {gid};
    int n = 64;
    std::vector<gid_t> groups(n);
    if (getgrouplist(pw.pw_name, gid, groups.data(), &n) < 0) {
        groups.resize(n);
        if (getgrouplist(pw.pw_name, gid, groups.data(), &n) < 0) return {gid};
    }
    groups.resize(n);
    return groups;
}

// Starts `job`; its pid (also its process group id), or -errno. Everything the child needs is
// prepared here; between vfork and execve it makes only system calls on memory it does not write,
// except `child_errno`, through which a failed exec is reported back.
pid_t spawn(const Job& job) {
    if (job.argv.empty()) return -EINVAL;
    std::vector<char*> argv;
    for (const auto& a : job.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<gid_t> groups = job.as_user ? groups_of(job.uid, job.gid) : std::vector<gid_t>{};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0) return -errno;

    // No handler of ours may run in the child, which shares our memory until it execs.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    volatile int child_errno = 0;
    pid_t pid = vfork();
    if (pid == 0) {
        setpgid(0, 0);
        for (int s = 1; s < NSIG; s++) {
            struct sigaction sa{};
            sa.sa_handler = SIG_DFL;
            sigaction(s, &sa, nullptr);
        }
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
            for (int fd = 3; fd < 4096; fd++) close(fd);
        // Raw system calls: glibc's setuid would signal every thread of the parent.
        if (job.as_user && (syscall(SYS_setgroups, groups.size(), groups.data()) != 0 ||
                            syscall(SYS_setresgid, job.gid, job.gid, job.gid) != 0 ||
                            syscall(SYS_setresuid, job.uid, job.uid, job.uid) != 0)) {
            child_errno = errno;
            _exit(127);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        execve(argv[0], argv.data(), environ);
        child_errno = errno ? errno : ENOEXEC;
        _exit(127);
    }
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    close(devnull);
    if (pid < 0) return -err;
    if (child_errno != 0) {
        // It has exited already (vfork resumed us after its _exit): reap it now.
        int e = child_errno;
        while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        return -e;
    }
    return pid;
}

}  // namespace

// One running child: its timeout (SIGTERM, then SIGKILL after the grace) and its end, watched by a
// ChildWatch whose pending handlers keep both alive until the reap.
class Runner::Child : public std::enable_shared_from_this<Child> {
public:
    using OnEnd = std::function<void(const Result&)>;
    Child(asio::io_context& io, pid_t pid, milliseconds timeout, milliseconds grace, OnEnd on_end)
        : io_(io), pid_(pid), timeout_(timeout), grace_(grace), deadline_(io), on_end_(std::move(on_end)) {}

    // Reached with the child unreaped only when the io_context went away: the watch reaps it.
    ~Child() {
        if (pid_ > 0 && !leave_running_) kill(-pid_, SIGKILL);
    }

    void watch() {
        deadline_.expires_after(timeout_);
        deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) self->on_timeout();
        });
        process::ChildWatch::start(io_, pid_, true, [self = shared_from_this()](int status) { self->ended(status); });
    }

    // The Runner is going away: the child runs on to its end (reaped off the control thread if the
    // io_context goes too); on_end is not called.
    void release() {
        on_end_ = nullptr;
        leave_running_ = true;
    }

    // stop(): SIGKILL to the group; the reap still comes, on_end is not called.
    void abandon() {
        on_end_ = nullptr;
        if (pid_ > 0) kill(-pid_, SIGKILL);
    }

private:
    void on_timeout() {
        if (pid_ <= 0) return;
        timed_out_ = true;
        kill(-pid_, SIGTERM);
        deadline_.expires_after(grace_);
        deadline_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock())
                if (self->pid_ > 0) kill(-self->pid_, SIGKILL);
        });
    }

    void ended(int status) {
        pid_t pid = pid_;
        pid_ = -1;
        deadline_.cancel();
        Result r;
        r.timeout = timeout_;
        if (timed_out_) {
            r.kind = Result::Kind::timed_out;
            kill(-pid, SIGKILL);  // whatever it started; the group id is not reused while members live
        } else if (status < 0) {
            r.kind = Result::Kind::not_started;
            r.code = -status;
        } else if (WIFSIGNALED(status)) {
            r.kind = Result::Kind::signalled;
            r.code = WTERMSIG(status);
        } else {
            r.kind = Result::Kind::exited;
            r.code = WEXITSTATUS(status);
        }
        if (on_end_) {
            OnEnd f = std::move(on_end_);
            on_end_ = nullptr;
            f(r);
        }
    }

    asio::io_context& io_;
    pid_t pid_;
    milliseconds timeout_, grace_;
    asio::steady_timer deadline_;
    OnEnd on_end_;
    bool timed_out_ = false;
    bool leave_running_ = false;
};

Runner::Runner(asio::io_context& io, size_t max_in_flight, size_t max_queued, milliseconds kill_grace)
    : io_(io), max_in_flight_(std::max<size_t>(1, max_in_flight)), max_queued_(max_queued), kill_grace_(kill_grace) {}

Runner::~Runner() {
    for (auto& w : children_)
        if (auto c = w.lock()) c->release();
}

void Runner::stop() {
    for (auto& w : children_)
        if (auto c = w.lock()) c->abandon();
    children_.clear();
    queue_.clear();
    running_ = 0;
    busy_lanes_.clear();
    alive_ = std::make_shared<bool>(true);  // the callbacks of abandoned children hold the old one
}

void Runner::run(Job job, Done done) {
    if (queue_.size() >= max_queued_) {
        counters_.not_started++;
        Result r;
        r.code = ENOSPC;
        asio::post(io_, [done = std::move(done), r] { done(r); });
        return;
    }
    queue_.push_back(Pending{std::move(job), std::move(done)});
    pump();  // started now when there is room (a hook run on the way out still starts)
}

bool Runner::lane_busy(const std::string& lane) const {
    return !lane.empty() && std::find(busy_lanes_.begin(), busy_lanes_.end(), lane) != busy_lanes_.end();
}

void Runner::pump() {
    for (auto it = queue_.begin(); it != queue_.end() && running_ < max_in_flight_;) {
        if (lane_busy(it->job.lane)) {
            ++it;
            continue;
        }
        Pending p = std::move(*it);
        it = queue_.erase(it);
        pid_t pid = spawn(p.job);
        if (pid < 0) {
            counters_.not_started++;
            Result r;
            r.code = -pid;
            asio::post(io_, [done = std::move(p.done), r] { done(r); });
            continue;
        }
        counters_.started++;
        running_++;
        if (!p.job.lane.empty()) busy_lanes_.push_back(p.job.lane);
        std::weak_ptr<bool> alive = alive_;
        auto child = std::make_shared<Child>(
            io_, pid, p.job.timeout, kill_grace_,
            [this, alive, lane = p.job.lane, done = std::move(p.done)](const Result& r) mutable {
                if (alive.lock()) finished(lane, r, done);
            });
        children_.erase(std::remove_if(children_.begin(), children_.end(), [](auto& w) { return w.expired(); }),
                        children_.end());
        children_.push_back(child);
        child->watch();
        // Later jobs of this lane may sit behind it; the scan goes on for other lanes.
        it = queue_.begin();
    }
}

void Runner::finished(const std::string& lane, const Result& r, Done& done) {
    running_--;
    if (!lane.empty()) {
        auto it = std::find(busy_lanes_.begin(), busy_lanes_.end(), lane);
        if (it != busy_lanes_.end()) busy_lanes_.erase(it);
    }
    if (r.ok()) counters_.succeeded++;
    else if (r.kind == Result::Kind::timed_out) counters_.timed_out++;
    else if (r.kind == Result::Kind::not_started) counters_.not_started++;
    else counters_.failed++;
    if (done) done(r);
    pump();
}

}  // namespace dplb::scripts
