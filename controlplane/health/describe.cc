// One-line descriptions of checks for logs, in keepalived's vocabulary so operators recognise them.
#include <string>

#include "health_check.h"
#include "probe.h"

namespace dplb::health {

namespace detail {

std::string format_target(const std::string& host, uint16_t port) {
    // IPv6 literals get brackets so the port cannot be read as part of the address.
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

}  // namespace detail

std::string describe(const CheckSpec& spec) {
    auto ms = [](std::chrono::milliseconds d) { return std::to_string(d.count()) + "ms"; };
    std::string out;
    switch (spec.type) {
        case CheckType::tcp:
            out = "TCP_CHECK " + detail::format_target(spec.host, spec.port) + " connect_timeout " + ms(spec.connect_timeout);
            break;
        case CheckType::http: {
            out = "HTTP_GET " + detail::format_target(spec.host, spec.port) + spec.path + " status ";
            for (size_t i = 0; i < spec.status_codes.size(); ++i) {
                out += (i ? "," : "") + std::to_string(spec.status_codes[i]);
            }
            if (!spec.digest.empty()) out += " digest " + spec.digest;
            out += " connect_timeout " + ms(spec.connect_timeout);
            break;
        }
        case CheckType::misc:
            out = "MISC_CHECK \"" + spec.script + "\" for " + detail::format_target(spec.host, spec.port) +
                  " timeout " + ms(spec.script_timeout);
            if (spec.dynamic) out += " dynamic";
            break;
    }
    out += " delay_loop " + ms(spec.delay_loop) + " retry " + std::to_string(spec.retry) + " delay_before_retry " +
           ms(spec.delay_before_retry);
    if (spec.warmup.count() > 0) out += " warmup " + ms(spec.warmup);
    if (spec.alpha) out += " alpha";
    return out;
}

}  // namespace dplb::health
