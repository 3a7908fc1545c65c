// Internal: what the network checks share. DeadlineProbe owns ONE deadline (connect_timeout)
// covering the whole exchange, so an attempt never outlives its timeout, and makes sure `done` runs
// exactly once whichever of the I/O or the deadline ends first. SocketProbe adds a TCP connection
// (TCP_CHECK, HTTP_GET, SSL_GET, SMTP_CHECK), DatagramProbe a connected datagram socket of any
// protocol (UDP_CHECK and DNS_CHECK over UDP, PING_CHECK over ICMP).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/generic/datagram_protocol.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "probe.h"

namespace dplb::health::detail {

class DeadlineProbe : public Probe, public std::enable_shared_from_this<DeadlineProbe> {
public:
    void cancel() override;

protected:
    // `timeout_label` prefixes the timeout reason ("TCP connect to 127.0.0.1:80").
    DeadlineProbe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done,
                  std::string timeout_label);
    // spec_.host as an address; on failure reports "<proto> target ... is not an IP address" (soon).
    bool parse_target(const std::string& proto, boost::asio::ip::address& out);
    // Starts the deadline: on_timeout() runs when it passes before finish().
    void arm_deadline();
    // What the deadline passing means; down with "<label>: timeout after N ms" unless overridden.
    virtual void on_timeout();
    // Closes whatever socket the probe holds, aborting its pending I/O.
    virtual void close_io() = 0;
    // First call wins: closes the socket and reports.
    void finish(bool ok, std::string reason);
    // The same, from a later turn of the io_context (errors found before any I/O).
    void fail_soon(std::string reason);
    bool finished() const { return finished_; }
    std::string timeout_reason() const;

    boost::asio::io_context& io_;
    const CheckSpec spec_;
    const std::string target_;  // "127.0.0.1:80"

private:
    std::unique_ptr<Clock::Timer> deadline_;
    ProbeDone done_;
    std::string timeout_label_;
    bool finished_ = false;
};

class SocketProbe : public DeadlineProbe {
public:
    // `proto` ("TCP", "HTTP") prefixes connect errors.
    SocketProbe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done, std::string proto,
                std::string timeout_label);

protected:
    // Arms the deadline and connects; on_connected() continues on success.
    void begin();
    virtual void on_connected() = 0;
    void close_io() override;

    boost::asio::ip::tcp::socket socket_;
    const std::string proto_;
};

class DatagramProbe : public DeadlineProbe {
public:
    DatagramProbe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done,
                  std::string proto, std::string timeout_label);

protected:
    // Opens a socket of `type` (SOCK_DGRAM or SOCK_RAW) and `protocol` (IPPROTO_UDP, IPPROTO_ICMP...)
    // in the family of `addr` and connects it to addr:port; false (and a report, soon) when it cannot.
    bool open_connected(const boost::asio::ip::address& addr, uint16_t port, int type, int protocol);
    // Sends `datagram`, then receives until accept() says the exchange is over: accept() returns
    // false to keep waiting (a stray reply) and calls finish() otherwise.
    void exchange(std::string datagram);
    virtual bool accept(std::string_view reply) = 0;
    // A receive error (ECONNREFUSED: an ICMP port unreachable came back) ends the check down.
    virtual void on_receive_error(const boost::system::error_code& ec);
    void close_io() override;

    boost::asio::generic::datagram_protocol::socket socket_;
    const std::string proto_;

private:
    void receive();

    std::string out_;
    std::string in_;
};

}  // namespace dplb::health::detail
