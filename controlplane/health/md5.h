// MD5 (RFC 1321), only for HTTP_GET's body digest as keepalived's genhash prints it. Self-contained
// so the health checks need no crypto library; MD5 here compares content, it protects nothing.
#pragma once

#include <string>
#include <string_view>

namespace dplb::health::detail {

// Lower-case hex of the 16-byte digest (32 characters).
std::string md5_hex(std::string_view data);

}  // namespace dplb::health::detail
