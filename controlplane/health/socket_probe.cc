#include "socket_probe.h"

#include <utility>

#include <boost/asio/post.hpp>

namespace dplb::health::detail {

namespace asio = boost::asio;

SocketProbe::SocketProbe(asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done,
                         std::string proto, std::string timeout_label)
    : spec_(spec),
      target_(format_target(spec.host, spec.port)),
      socket_(io),
      deadline_(clock.make_timer(io)),
      done_(std::move(done)),
      proto_(std::move(proto)),
      timeout_label_(std::move(timeout_label)) {}

void SocketProbe::begin() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(spec_.host, ec);
    if (ec) {
        fail_soon(proto_ + " target \"" + spec_.host + "\" is not an IP address");
        return;
    }
    auto self = shared_from_this();
    // Cancelled by finish() or cancel() when the exchange ends first. The probe is kept alive by the
    // I/O in flight (and the Checker), not by its deadline.
    deadline_->wait(spec_.connect_timeout, [weak = weak_from_this()] {
        auto self = weak.lock();
        if (!self) return;
        self->finish(false, self->timeout_label_ + ": timeout after " +
                                std::to_string(self->spec_.connect_timeout.count()) + " ms");
    });
    socket_.async_connect(asio::ip::tcp::endpoint(addr, spec_.port),
                          [self](const boost::system::error_code& connect_ec) {
                              if (self->finished_) return;
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

// Errors found before any I/O still complete asynchronously, like every other outcome, so the
// Checker never sees a completion from inside its own call.
void SocketProbe::fail_soon(std::string reason) {
    auto self = shared_from_this();
    asio::post(socket_.get_executor(), [self, reason = std::move(reason)]() mutable {
        self->finish(false, std::move(reason));
    });
}

void SocketProbe::finish(bool ok, std::string reason) {
    if (finished_) return;
    finished_ = true;
    deadline_->cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    ProbeDone done = std::move(done_);
    done_ = nullptr;
    if (done) done(ProbeOutcome{ok, std::move(reason)});
}

void SocketProbe::cancel() {
    finished_ = true;
    done_ = nullptr;
    deadline_->cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
}

}  // namespace dplb::health::detail
