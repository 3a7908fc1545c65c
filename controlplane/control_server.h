// The Unix control socket dplbctl talks to. One request per connection: the command's words, each
// ended by '\n', then an empty line; the answer is "OK\n" or "ERR\n" followed by the text.
#pragma once

#include <sys/types.h>

#include <boost/asio.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"

namespace dplb {

// What keeps clients that connect and say nothing, or never read their answer, from holding the
// control socket or dplbd's descriptors.
struct ControlLimits {
    // From its connection, a client has this long to send its whole request; then it is closed.
    std::chrono::milliseconds request_deadline{5000};
    // Once the answer is ready, the client has this long to take all of it. Preparing the answer
    // has no deadline: a reload or a listing from the workers takes what it takes.
    std::chrono::milliseconds answer_deadline{30000};
    // Sessions open at once. At the cap, a new connection closes the oldest session still waiting
    // for its request; when every session is past its request, accepting pauses until one ends
    // (the connection accepted just then waits, unread, for the first place: at most
    // max_sessions + 1 descriptors in all).
    size_t max_sessions = 64;
    // When accept fails (out of descriptors: EMFILE, ENFILE; or memory), accepting waits this long
    // before it tries again: the listener stays readable, so retrying at once would spin.
    std::chrono::milliseconds accept_backoff{100};
};

// The control socket, taken before anything else of dplbd starts (EAL, the ports): first an
// exclusive lock (flock) on "<path>.lock", which then holds the owner's pid, then the socket, bound
// and listening. The lock file stays after exit (removing it would race with a dplbd starting).
class ControlListener {
public:
    // Creates the socket's directory and replaces a stale socket file (one nobody answers on).
    // Throws std::runtime_error with a clear message when another dplbd holds the lock or answers on
    // the socket, or when the socket cannot be bound with permissions `mode`.
    static ControlListener take(const std::string& path, mode_t mode);

    ControlListener(ControlListener&& o) noexcept;
    ControlListener& operator=(ControlListener&&) = delete;
    ControlListener(const ControlListener&) = delete;
    ControlListener& operator=(const ControlListener&) = delete;
    // Closes the socket, removes its file, then releases the lock.
    ~ControlListener();

    const std::string& path() const { return path_; }

private:
    friend class ControlServer;
    ControlListener() = default;

    std::string path_;
    int fd_ = -1;       // the listening socket, until a ControlServer takes it
    int lock_fd_ = -1;  // "<path>.lock", locked
    bool bound_ = false;
};

class ControlServer {
public:
    // Answers by calling `reply` once, now or later (on the io_context's thread): a command that
    // waits for something (a reload, a listing from the workers) never blocks the thread.
    using Reply_fn = std::function<void(Reply)>;
    using Handler = std::function<void(const std::vector<std::string>&, Reply_fn reply)>;
    // Serves a socket taken earlier; from here until it is destroyed it owns the socket and the lock.
    ControlServer(boost::asio::io_context& io, ControlListener listener, Handler handler, ControlLimits limits = {});
    // Takes `path` (ControlListener::take) and serves it.
    ControlServer(boost::asio::io_context& io, const std::string& path, mode_t mode, Handler handler,
                  ControlLimits limits = {});
    ~ControlServer();

    // Sessions open now (their connection not yet closed).
    size_t sessions() const;

    struct State;  // shared with the sessions, which may outlive the server
    // Called by a session when its connection closes: accepting resumes if it waited for a place.
    void session_ended();

private:
    void accept();
    void on_accept(boost::asio::local::stream_protocol::socket s);

    ControlListener listener_;
    boost::asio::local::stream_protocol::acceptor acceptor_;
    boost::asio::steady_timer backoff_;
    std::shared_ptr<State> state_;
    std::optional<boost::asio::local::stream_protocol::socket> parked_;  // accepted at the cap, not started
    bool accepting_ = false;  // an accept or a back-off is pending
    bool paused_ = false;     // at the cap with no session to close: waiting for one to end
    std::chrono::steady_clock::time_point last_error_log_{};
    unsigned errors_unlogged_ = 0;
};

// The client side, for dplbctl and tests: sends `words`, returns the reply; throws on I/O errors
// and when `timeout` (zero: none) passes before the whole answer has come.
Reply control_request(const std::string& path, const std::vector<std::string>& words,
                      std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace dplb
