// The Unix control socket dplbctl talks to. One request per connection: the command's words, each
// ended by '\n', then an empty line; the answer is "OK\n" or "ERR\n" followed by the text.
#pragma once

#include <sys/types.h>

#include <boost/asio.hpp>
#include <functional>
#include <string>
#include <vector>

#include "commands.h"

namespace dplb {

class ControlServer {
public:
    // Answers by calling `reply` once, now or later (on the io_context's thread): a command that
    // waits for something (a reload, a listing from the workers) never blocks the thread.
    using Reply_fn = std::function<void(Reply)>;
    using Handler = std::function<void(const std::vector<std::string>&, Reply_fn reply)>;
    // Binds `path` (creating its directory, replacing a stale socket file) with permissions `mode`.
    // Throws std::runtime_error with a clear message when it cannot.
    ControlServer(boost::asio::io_context& io, const std::string& path, mode_t mode, Handler handler);
    ~ControlServer();

private:
    void accept();

    boost::asio::local::stream_protocol::acceptor acceptor_;
    std::string path_;
    Handler handler_;
};

// The client side, for dplbctl and tests: sends `words`, returns the reply; throws on I/O errors.
Reply control_request(const std::string& path, const std::vector<std::string>& words);

}  // namespace dplb
