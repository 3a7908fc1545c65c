// Internal: one check attempt against one target. The Checker starts a probe, waits for its single
// completion and decides retries and state; probes know nothing about state or scheduling.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "health_check.h"

namespace dplb::health::detail {

struct ProbeOutcome {
    bool ok;
    std::string reason;
    int dynamic_weight = -1;
};

// Called at most once, on the io_context, unless the probe was cancelled first.
using ProbeDone = std::function<void(ProbeOutcome)>;

class Probe {
public:
    virtual ~Probe() = default;
    // Abandon the attempt: free its socket or kill its process; `done` will not be called.
    virtual void cancel() = 0;
};

// The timeout (connect_timeout, script_timeout) runs on `clock`; the I/O, and the waitpid polling of
// a MISC_CHECK without a pidfd, on the io_context in real time.
std::shared_ptr<Probe> start_tcp_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);
std::shared_ptr<Probe> start_http_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);
std::shared_ptr<Probe> start_misc_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);
std::shared_ptr<Probe> start_ssl_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);
std::shared_ptr<Probe> start_ping_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);
std::shared_ptr<Probe> start_udp_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);
std::shared_ptr<Probe> start_dns_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);
std::shared_ptr<Probe> start_smtp_probe(boost::asio::io_context& io, Clock& clock, const CheckSpec& spec, ProbeDone done);

// MISC_CHECK watches its child's end through a pidfd where the kernel has them (Linux >= 5.3);
// false makes it poll waitpid(WNOHANG) as it does without one (tests cover that path with it).
extern std::atomic<bool> misc_probe_use_pidfd;

// "127.0.0.1:80", "[::1]:80" (what reasons and logs show).
std::string format_target(const std::string& host, uint16_t port);

}  // namespace dplb::health::detail
