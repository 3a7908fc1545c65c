// TCP_CHECK: the real is up when a TCP connection to it completes within connect_timeout; the
// connection is closed at once, nothing is sent.
#include <memory>

#include "socket_probe.h"

namespace dplb::health::detail {
namespace {

class TcpProbe : public SocketProbe {
public:
    TcpProbe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done)
        : SocketProbe(io, clock, spec, std::move(done), "TCP", "TCP connect to " + format_target(spec.host, spec.port)) {}
    void run() { begin(); }

private:
    void on_connected() override { finish(true, "TCP connect to " + target_ + " succeeded"); }
};

}  // namespace

std::shared_ptr<Probe> start_tcp_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done) {
    auto probe = std::make_shared<TcpProbe>(io, clock, spec, std::move(done));
    probe->run();
    return probe;
}

}  // namespace dplb::health::detail
