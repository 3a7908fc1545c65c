// Watching a child process end without blocking the io_context, for everything dplbd runs as a
// child (MISC_CHECK scripts, vrrp_script checks, notify hooks). The end is a pidfd (pidfd_open,
// Linux >= 5.3) turning readable, watched like any socket, and only then is the child reaped with
// waitpid(WNOHANG). Where pidfd_open is missing (older kernels, seccomp) or fails (out of
// descriptors), the end is found by polling waitpid(WNOHANG) on a timer instead, backing off from
// 1 ms to 20 ms. SIGCHLD is not used either way: that would mean owning the process-wide handler.
//
// The watch keeps itself alive (its pending handlers own it) until the reap, so its owner may let
// go of it at any time; killing the child is the owner's business, never the watch's.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace dplb::process {

class ChildWatch : public std::enable_shared_from_this<ChildWatch> {
public:
    // `status`: the wait status of the reap (>= 0), or -errno when the child could not be reaped
    // (ECHILD: someone else reaped it, e.g. with SIGCHLD set to SIG_IGN).
    using OnEnd = std::function<void(int status)>;

    // Starts watching `pid`, a child of this process not yet reaped. `use_pidfd` false forces the
    // polling (for tests of that path). on_end runs once, on the io_context, after the reap.
    static std::shared_ptr<ChildWatch> start(boost::asio::io_context& io, pid_t pid, bool use_pidfd, OnEnd on_end);

    // The child is unreaped only if the io_context went away first: it is reaped off this thread.
    ~ChildWatch();

    ChildWatch(boost::asio::io_context& io, pid_t pid, OnEnd on_end);

private:
    void watch(bool use_pidfd);
    void wait_exit();
    void schedule_poll(std::chrono::milliseconds delay);
    void try_reap(std::chrono::milliseconds next, bool from_pidfd);
    void ended(int status);

    pid_t pid_;
    boost::asio::steady_timer poll_;
    boost::asio::posix::stream_descriptor exit_;
    OnEnd on_end_;
};

// Reaps `pid` (our child) without blocking: now if it has ended, else from a detached thread. For a
// child whose watch can no longer run; the zombie stays only if no thread can be had.
void reap_in_background(pid_t pid);

}  // namespace dplb::process
