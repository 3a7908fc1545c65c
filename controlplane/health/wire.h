// Internal: the few wire formats the checks speak, as pure functions over bytes so that hostile
// input is tested without a network: a DNS query and the verdict on its reply (DNS_CHECK), an ICMP
// echo request and the match of its reply (PING_CHECK), an SMTP reply's code (SMTP_CHECK).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dplb::health::detail {

// ---- DNS (RFC 1035) ----

// keepalived's DNS_CHECK types by name (A, NS, CNAME, SOA, MX, TXT, AAAA; any case); 0 if unknown.
uint16_t dns_type_code(std::string_view name);
// The name for a code from dns_type_code(); "TYPE<n>" for others.
std::string dns_type_name(uint16_t type);

// A recursion-desired query for `name` (dotted, "." or "" for the root, a trailing dot allowed) of
// `type`, class IN. nullopt when the name cannot be encoded (an empty label inside it, a label over
// 63 bytes, over 255 bytes in all).
std::optional<std::string> dns_query(uint16_t id, std::string_view name, uint16_t type);

enum class DnsVerdict {
    ignore,   // not the answer to our query (too short for a header, another id, not a response)
    up,       // the answer, RCODE NOERROR
    down,     // the answer, another RCODE
};
// keepalived's rule: a reply is ours when it has a whole header, our id and QR set; it then decides
// by RCODE alone. `rcode` receives the code of an answer.
DnsVerdict dns_verdict(std::string_view reply, uint16_t id, int* rcode = nullptr);

// ---- ICMP echo (RFC 792, RFC 4443) ----

// An echo request (type 8, or 128 for ICMPv6) with its checksum (ICMPv6's is the kernel's).
std::string icmp_echo_request(bool v6, uint16_t id, uint16_t seq, std::string_view data);
// Whether `packet` is the echo reply (type 0 / 129) to (id, seq). A raw IPv4 socket hands over the
// IP header too (`with_ip_header`); a datagram ICMP socket rewrites the id to its own, so `check_id`
// is false there (the kernel matches it).
bool icmp_is_echo_reply(std::string_view packet, bool v6, bool with_ip_header, uint16_t id, uint16_t seq,
                        bool check_id = true);

// ---- SMTP (RFC 5321) ----

// The code of a complete reply in `buf` (its lines "250-..." then "250 ..."), and how many bytes it
// took; nullopt while incomplete. A line that does not start with three digits gives code -1.
struct SmtpReply {
    int code;
    size_t length;
};
std::optional<SmtpReply> smtp_reply(std::string_view buf);

}  // namespace dplb::health::detail
