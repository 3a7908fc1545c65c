// Health checks of real servers with keepalived's semantics (TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK,
// PING_CHECK, UDP_CHECK, DNS_CHECK, SMTP_CHECK):
// one Checker per target, driven by a Boost.Asio io_context, never blocking it. Independent of the
// configuration and the dataplane; whoever owns both turns OnChange into weight/quiescence updates.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "clock.h"

namespace dplb::health {

enum class CheckType { tcp, http, misc, ssl, ping, udp, dns, smtp };

struct CheckSpec {
    CheckType type;
    std::string host;  // target (IPv4 or IPv6 literal)
    uint16_t port;
    std::chrono::milliseconds delay_loop{60000}, connect_timeout{5000}, delay_before_retry{1000},
        warmup{0};
    unsigned retry = 1;
    bool alpha = false;  // alpha: start DOWN until the first success; else start UP
    std::string path = "/";
    std::vector<int> status_codes{200};
    std::string digest{};  // http: md5 hex of body, optional
    std::string script{};
    std::chrono::milliseconds script_timeout{5000};
    bool dynamic = false;  // misc
    // ssl (SSL_GET: HTTP_GET over TLS, same path, status_codes and digest)
    bool enable_sni = false;   // send the TLS server name (sni_name, or `host` when that is empty)
    std::string sni_name{};    // keepalived's virtualhost
    bool verify = false;       // verify the certificate chain (and the name when SNI is sent)
    std::string ca_file{};     // trust anchors for verify; empty = the system's
    // udp (UDP_CHECK)
    std::string payload{};       // bytes sent; empty = an empty datagram
    bool require_reply = false;  // without: up unless an ICMP port unreachable comes back
    std::string reply{};         // with require_reply: the reply must start with these bytes
    unsigned min_reply_length = 0, max_reply_length = 255;
    // dns (DNS_CHECK)
    uint16_t dns_type = 6;  // SOA, keepalived's default
    std::string dns_name = ".";
    // smtp (SMTP_CHECK)
    std::string helo_name = "smtpchecker.keepalived.org";
};

struct Result {
    bool up;
    std::string reason;
    int dynamic_weight = -1;  // MISC_CHECK with dynamic: exit code - 2 for codes 2..255
    std::chrono::microseconds duration;  // on the Checker's clock
};

// One line for logs, e.g. "HTTP_GET 10.0.0.1:80/health status 200 timeout 5000ms".
std::string describe(const CheckSpec& spec);

// One per target; owns its timers and the check in flight. Callbacks run on the io_context.
// start(), stop(), checking() and the destructor must be called from the thread running the
// io_context (or while it does not run): after stop() returns no callback is called any more and a
// running MISC_CHECK script has been sent SIGKILL. up() and dynamic_weight() may be read from any
// thread. Every delay and timeout runs on `clock`, which must outlive the io_context's handlers.
class Checker {
public:
    using OnChange = std::function<void(bool up, const std::string& reason)>;  // once per change
    using OnResult = std::function<void(const Result&)>;  // every completed check (for a histogram)

    Checker(boost::asio::io_context& io, CheckSpec spec, OnChange on_change, OnResult on_result = {},
            Clock& clock = steady_clock());
    ~Checker();
    Checker(const Checker&) = delete;
    Checker& operator=(const Checker&) = delete;

    void start();
    void stop();
    // Whether a check attempt is in flight (started, its Result not delivered yet).
    bool checking() const;
    bool up() const;
    // Weight last reported by a dynamic MISC_CHECK (exit code - 2); -1 until one reports one.
    int dynamic_weight() const;

private:
    class Impl;
    // Shared with the completion handlers in flight, which outlive stop() until they are aborted.
    std::shared_ptr<Impl> impl_;
};

}  // namespace dplb::health
