// One-line descriptions of checks for logs, in keepalived's vocabulary so operators recognise them.
#include <string>

#include "health_check.h"
#include "probe.h"
#include "wire.h"

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
        case CheckType::ssl: {
            out = "SSL_GET " + detail::format_target(spec.host, spec.port) + spec.path + " status ";
            for (size_t i = 0; i < spec.status_codes.size(); ++i) {
                out += (i ? "," : "") + std::to_string(spec.status_codes[i]);
            }
            if (!spec.digest.empty()) out += " digest " + spec.digest;
            if (spec.enable_sni) out += " sni " + (spec.sni_name.empty() ? std::string("-") : spec.sni_name);
            if (spec.verify) out += " verify" + (spec.ca_file.empty() ? std::string() : " ca " + spec.ca_file);
            out += " connect_timeout " + ms(spec.connect_timeout);
            break;
        }
        case CheckType::ping:
            out = "PING_CHECK " + spec.host + " connect_timeout " + ms(spec.connect_timeout);
            break;
        case CheckType::udp: {
            static const char* hex = "0123456789abcdef";
            auto to_hex = [](const std::string& b) {
                std::string h;
                for (unsigned char c : b) h += std::string{hex[c >> 4], hex[c & 15]};
                return h;
            };
            out = "UDP_CHECK " + detail::format_target(spec.host, spec.port) + " payload " +
                  (spec.payload.empty() ? std::string("-") : to_hex(spec.payload));
            if (spec.require_reply) {
                out += " require_reply " + (spec.reply.empty() ? std::string("-") : to_hex(spec.reply)) + " length " +
                       std::to_string(spec.min_reply_length) + ".." + std::to_string(spec.max_reply_length);
            }
            out += " connect_timeout " + ms(spec.connect_timeout);
            break;
        }
        case CheckType::dns:
            out = "DNS_CHECK " + detail::format_target(spec.host, spec.port) + " type " +
                  detail::dns_type_name(spec.dns_type) + " name " + spec.dns_name + " connect_timeout " +
                  ms(spec.connect_timeout);
            break;
        case CheckType::smtp:
            out = "SMTP_CHECK " + detail::format_target(spec.host, spec.port) + " helo_name " + spec.helo_name +
                  " connect_timeout " + ms(spec.connect_timeout);
            break;
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
