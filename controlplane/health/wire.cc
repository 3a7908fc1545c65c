#include "wire.h"

#include <cctype>
#include <cstring>

namespace dplb::health::detail {
namespace {

constexpr size_t kDnsHeader = 12;

const struct {
    const char* name;
    uint16_t code;
} kDnsTypes[] = {{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"MX", 15}, {"TXT", 16}, {"AAAA", 28}};

void put16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}

uint16_t get16(std::string_view b, size_t at) {
    return static_cast<uint16_t>((static_cast<uint8_t>(b[at]) << 8) | static_cast<uint8_t>(b[at + 1]));
}

}  // namespace

uint16_t dns_type_code(std::string_view name) {
    for (const auto& t : kDnsTypes) {
        if (name.size() != std::strlen(t.name)) continue;
        bool same = true;
        for (size_t i = 0; i < name.size() && same; ++i)
            same = std::toupper(static_cast<unsigned char>(name[i])) == t.name[i];
        if (same) return t.code;
    }
    return 0;
}

std::string dns_type_name(uint16_t type) {
    for (const auto& t : kDnsTypes)
        if (t.code == type) return t.name;
    return "TYPE" + std::to_string(type);
}

std::optional<std::string> dns_query(uint16_t id, std::string_view name, uint16_t type) {
    std::string out;
    put16(out, id);
    put16(out, 0x0100);  // a standard query, recursion desired
    put16(out, 1);       // one question
    put16(out, 0);
    put16(out, 0);
    put16(out, 0);
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    size_t encoded = 1;  // the root label
    while (!name.empty()) {
        size_t dot = name.find('.');
        std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > 63) return std::nullopt;
        encoded += label.size() + 1;
        if (encoded > 255) return std::nullopt;
        out.push_back(static_cast<char>(label.size()));
        out.append(label);
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
        if (name.empty()) return std::nullopt;  // "a..": an empty label at the end
    }
    out.push_back('\0');
    put16(out, type);
    put16(out, 1);  // IN
    return out;
}

DnsVerdict dns_verdict(std::string_view reply, uint16_t id, int* rcode) {
    if (reply.size() < kDnsHeader) return DnsVerdict::ignore;
    if (get16(reply, 0) != id) return DnsVerdict::ignore;
    uint16_t flags = get16(reply, 2);
    if (!(flags & 0x8000)) return DnsVerdict::ignore;  // QR clear: a query, not our answer
    int rc = flags & 0x000f;
    if (rcode) *rcode = rc;
    return rc == 0 ? DnsVerdict::up : DnsVerdict::down;
}

std::string icmp_echo_request(bool v6, uint16_t id, uint16_t seq, std::string_view data) {
    std::string out;
    out.push_back(static_cast<char>(v6 ? 128 : 8));
    out.push_back('\0');
    put16(out, 0);  // checksum, below
    put16(out, id);
    put16(out, seq);
    out.append(data);
    if (!v6) {
        uint32_t sum = 0;
        for (size_t i = 0; i < out.size(); i += 2) {
            uint16_t word = static_cast<uint16_t>(static_cast<uint8_t>(out[i]) << 8);
            if (i + 1 < out.size()) word |= static_cast<uint8_t>(out[i + 1]);
            sum += word;
        }
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        uint16_t check = static_cast<uint16_t>(~sum);
        out[2] = static_cast<char>(check >> 8);
        out[3] = static_cast<char>(check & 0xff);
    }
    return out;
}

bool icmp_is_echo_reply(std::string_view packet, bool v6, bool with_ip_header, uint16_t id, uint16_t seq,
                        bool check_id) {
    if (with_ip_header) {
        if (packet.empty()) return false;
        size_t ihl = (static_cast<uint8_t>(packet[0]) & 0x0f) * 4u;
        if ((static_cast<uint8_t>(packet[0]) >> 4) != 4 || ihl < 20 || packet.size() < ihl) return false;
        packet.remove_prefix(ihl);
    }
    if (packet.size() < 8) return false;
    if (static_cast<uint8_t>(packet[0]) != (v6 ? 129 : 0) || packet[1] != 0) return false;
    if (check_id && get16(packet, 4) != id) return false;
    return get16(packet, 6) == seq;
}

std::optional<SmtpReply> smtp_reply(std::string_view buf) {
    size_t at = 0;
    while (true) {
        size_t eol = buf.find('\n', at);
        if (eol == std::string_view::npos) return std::nullopt;
        std::string_view line = buf.substr(at, eol - at);
        at = eol + 1;
        bool digits = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                      std::isdigit(static_cast<unsigned char>(line[1])) &&
                      std::isdigit(static_cast<unsigned char>(line[2]));
        if (!digits) return SmtpReply{-1, at};
        // "250-": more lines of the same reply follow; "250 " or "250" ends it.
        if (line.size() > 3 && line[3] == '-') continue;
        return SmtpReply{(line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'), at};
    }
}

}  // namespace dplb::health::detail
