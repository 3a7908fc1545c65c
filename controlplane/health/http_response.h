// Internal: the little of HTTP/1.x that HTTP_GET needs from a response head: the status code and
// how long the body is, so the body can be read for its digest without waiting for the close.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace dplb::health::detail {

struct HttpHead {
    int status = 0;
    std::optional<size_t> content_length;  // absent: the body ends when the server closes
};

// `head` is everything up to and including the blank line. nullopt when the status line is not
// "HTTP/<version> <3 digits>...".
std::optional<HttpHead> parse_http_head(std::string_view head);

}  // namespace dplb::health::detail
