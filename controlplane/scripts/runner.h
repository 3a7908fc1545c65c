// Runs scripts (vrrp_script checks, notify hooks) as child processes off the control thread, as
// keepalived does: nothing here blocks the io_context. A child is started with vfork + execve (no
// shell; the words of a command line, config/command_line.h), in its own process group, with
// stdin/stdout/stderr on /dev/null and no descriptor of dplbd inherited; as another user when the
// job names one (only possible when dplbd runs as root). Its end is watched through a pidfd
// (Linux >= 5.3), or by polling waitpid(WNOHANG) where there is none; SIGCHLD is not used.
//
// At most `max_in_flight` children run at once; the others wait in order. Jobs that share a
// non-empty `lane` run one after another in the order they were queued (the notify hooks of one
// VRRP instance), whatever else runs. A child still running at its timeout gets SIGTERM (its whole
// group), then SIGKILL after `kill_grace`, and its result is timed_out.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace dplb::scripts {

struct Job {
    std::vector<std::string> argv;  // argv[0]: the program, an absolute path
    std::chrono::milliseconds timeout{1000};
    std::string lane;               // "" = no ordering with other jobs
    bool as_user = false;           // run with uid/gid (and that user's groups)
    uid_t uid = 0;
    gid_t gid = 0;
};

struct Result {
    enum class Kind : uint8_t { exited, signalled, timed_out, not_started };
    Kind kind = Kind::not_started;
    int code = 0;  // the exit status (exited), the signal (signalled), errno (not_started)
    bool ok() const { return kind == Kind::exited && code == 0; }
    std::string describe() const;  // "exit status 0", "killed by signal 9", "timed out after 500 ms", ...
    const char* outcome() const;   // for metrics: "success", "failure", "timeout", "not_started"
    std::chrono::milliseconds timeout{0};
};

struct RunnerCounters {
    uint64_t started = 0;
    uint64_t succeeded = 0;   // exit status 0
    uint64_t failed = 0;      // any other exit status or a signal
    uint64_t timed_out = 0;
    uint64_t not_started = 0; // exec failed, no process to be had, or the queue was full
};

class Runner {
public:
    using Done = std::function<void(const Result&)>;
    Runner(boost::asio::io_context& io, size_t max_in_flight, size_t max_queued = 1024,
           std::chrono::milliseconds kill_grace = std::chrono::milliseconds(1000));
    // Running children are left to finish on their own (notify_stop at shutdown must not be cut
    // short), reaped off the control thread if the io_context goes away; queued jobs are dropped.
    ~Runner();
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;

    // Queues `job`, started at once when fewer than max_in_flight run and its lane is free; `done`
    // is called once on the io_context when it has ended (never from inside run()). A full queue:
    // done with not_started (ENOSPC).
    void run(Job job, Done done);
    // Kills every running child (SIGKILL to its group), forgets the queued jobs; no `done` is called
    // afterwards. The killed children are still reaped through the io_context.
    void stop();

    size_t in_flight() const { return running_; }
    size_t queued() const { return queue_.size(); }
    const RunnerCounters& counters() const { return counters_; }

private:
    class Child;
    struct Pending {
        Job job;
        Done done;
    };
    void pump();
    void finished(const std::string& lane, const Result& r, Done& done);
    bool lane_busy(const std::string& lane) const;

    boost::asio::io_context& io_;
    size_t max_in_flight_, max_queued_;
    std::chrono::milliseconds kill_grace_;
    std::deque<Pending> queue_;
    size_t running_ = 0;
    std::vector<std::string> busy_lanes_;
    std::vector<std::weak_ptr<Child>> children_;
    RunnerCounters counters_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace dplb::scripts
