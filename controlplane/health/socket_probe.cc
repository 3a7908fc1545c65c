#include "socket_probe.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <boost/asio/post.hpp>

namespace dplb::health::detail {

namespace asio = boost::asio;

// A datagram is never larger than this (UDP_CHECK's max_reply_length is at most 65535).
constexpr size_t kMaxDatagram = 65536;

DeadlineProbe::DeadlineProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done,
                             std::string timeout_label)
    : io_(io),
      spec_(spec),
      target_(format_target(spec.host, spec.port)),
      deadline_(clock.make_timer(io)),
      done_(std::move(done)),
      timeout_label_(std::move(timeout_label)) {}

bool DeadlineProbe::parse_target(const std::string& proto, asio::ip::address& out) {
    boost::system::error_code ec;
    out = asio::ip::make_address(spec_.host, ec);
    if (!ec) return true;
    fail_soon(proto + " target \"" + spec_.host + "\" is not an IP address");
    return false;
}

void DeadlineProbe::arm_deadline() {
    // Cancelled by finish() or cancel() when the exchange ends first. The probe is kept alive by the
    // I/O in flight (and the Checker), not by its deadline.
    deadline_->wait(spec_.connect_timeout, [weak = weak_from_this()] {
        if (auto self = weak.lock(); self && !self->finished_) self->on_timeout();
    });
}

std::string DeadlineProbe::timeout_reason() const {
    return timeout_label_ + ": timeout after " + std::to_string(spec_.connect_timeout.count()) + " ms";
}

void DeadlineProbe::on_timeout() { finish(false, timeout_reason()); }

// Errors found before any I/O still complete asynchronously, like every other outcome, so the
// Checker never sees a completion from inside its own call.
void DeadlineProbe::fail_soon(std::string reason) {
    asio::post(io_, [self = shared_from_this(), reason = std::move(reason)]() mutable {
        self->finish(false, std::move(reason));
    });
}

void DeadlineProbe::finish(bool ok, std::string reason) {
    if (finished_) return;
    finished_ = true;
    deadline_->cancel();
    close_io();
    ProbeDone done = std::move(done_);
    done_ = nullptr;
    if (done) done(ProbeOutcome{ok, std::move(reason)});
}

void DeadlineProbe::cancel() {
    finished_ = true;
    done_ = nullptr;
    deadline_->cancel();
    close_io();
}

SocketProbe::SocketProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done, std::string proto,
                         std::string timeout_label)
    : DeadlineProbe(io, clock, spec, std::move(done), std::move(timeout_label)), socket_(io), proto_(std::move(proto)) {}

void SocketProbe::begin() {
    asio::ip::address addr;
    if (!parse_target(proto_, addr)) return;
    arm_deadline();
    auto self = std::static_pointer_cast<SocketProbe>(shared_from_this());
    socket_.async_connect(asio::ip::tcp::endpoint(addr, spec_.port),
                          [self](const boost::system::error_code& connect_ec) {
                              if (self->finished()) return;
                              if (!connect_ec) {
                                  self->on_connected();
                              } else if (connect_ec == asio::error::connection_refused) {
                                  self->finish(false, self->proto_ + " connect to " + self->target_ + " refused");
                              } else {
                                  self->finish(false, self->proto_ + " connect to " + self->target_ +
                                                          " failed: " + connect_ec.message());
                              }
                          });
}

void SocketProbe::close_io() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

DatagramProbe::DatagramProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done,
                             std::string proto, std::string timeout_label)
    : DeadlineProbe(io, clock, spec, std::move(done), std::move(timeout_label)), socket_(io), proto_(std::move(proto)) {}

bool DatagramProbe::open_connected(const asio::ip::address& addr, uint16_t port, int type, int protocol) {
    sockaddr_storage ss{};
    socklen_t len;
    if (addr.is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        auto bytes = addr.to_v4().to_bytes();
        std::memcpy(&sin->sin_addr, bytes.data(), bytes.size());
        len = sizeof(sockaddr_in);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(port);
        auto bytes = addr.to_v6().to_bytes();
        std::memcpy(&sin6->sin6_addr, bytes.data(), bytes.size());
        sin6->sin6_scope_id = addr.to_v6().scope_id();
        len = sizeof(sockaddr_in6);
    }
    int fd = ::socket(ss.ss_family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, protocol);
    // A datagram socket connects at once: it only fixes the peer (and the source address).
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) < 0) {
        int err = errno;
        if (fd >= 0) ::close(fd);
        fail_soon(proto_ + " socket to " + target_ + " failed: " + std::strerror(err));
        return false;
    }
    boost::system::error_code ec;
    socket_.assign(asio::generic::datagram_protocol(ss.ss_family, protocol), fd, ec);
    if (ec) {
        ::close(fd);
        fail_soon(proto_ + " socket to " + target_ + " failed: " + ec.message());
        return false;
    }
    return true;
}

void DatagramProbe::exchange(std::string datagram) {
    arm_deadline();
    out_ = std::move(datagram);
    auto self = std::static_pointer_cast<DatagramProbe>(shared_from_this());
    socket_.async_send(asio::buffer(out_), [self](const boost::system::error_code& ec, size_t) {
        if (self->finished()) return;
        if (ec) return self->on_receive_error(ec);
        self->receive();
    });
}

void DatagramProbe::receive() {
    in_.resize(kMaxDatagram);
    auto self = std::static_pointer_cast<DatagramProbe>(shared_from_this());
    socket_.async_receive(asio::buffer(in_), [self](const boost::system::error_code& ec, size_t n) {
        if (self->finished()) return;
        if (ec) return self->on_receive_error(ec);
        if (!self->accept(std::string_view(self->in_).substr(0, n)) && !self->finished()) self->receive();
    });
}

void DatagramProbe::on_receive_error(const boost::system::error_code& ec) {
    if (ec == asio::error::connection_refused) return finish(false, proto_ + " to " + target_ + ": port unreachable");
    finish(false, proto_ + " to " + target_ + " failed: " + ec.message());
}

void DatagramProbe::close_io() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

}  // namespace dplb::health::detail
