// Internal: what TCP_CHECK and HTTP_GET share. Parses the address literal, owns the socket and ONE
// deadline (connect_timeout) covering the whole exchange, so an attempt never outlives its
// timeout, and makes sure `done` runs exactly once whichever of the I/O or the deadline ends first.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "probe.h"

namespace dplb::health::detail {

class SocketProbe : public Probe, public std::enable_shared_from_this<SocketProbe> {
public:
    // `proto` ("TCP", "HTTP") prefixes connect errors; `timeout_label` prefixes the timeout reason.
    SocketProbe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done, std::string proto,
                std::string timeout_label);
    void cancel() override;

protected:
    // Arms the deadline and connects; on_connected() continues on success.
    void begin();
    virtual void on_connected() = 0;
    // First call wins: closes the socket (aborting pending I/O) and reports.
    void finish(bool ok, std::string reason);
    bool finished() const { return finished_; }

    const CheckSpec spec_;
    const std::string target_;  // "127.0.0.1:80"
    boost::asio::ip::tcp::socket socket_;

private:
    void fail_soon(std::string reason);

    std::unique_ptr<Clock::Timer> deadline_;
    ProbeDone done_;
    std::string proto_;
    std::string timeout_label_;
    bool finished_ = false;
};

}  // namespace dplb::health::detail
