#include "keepalived/messages.h"

#include "text.h"

namespace dplb::config::keepalived {

// A value as the operator wrote it, quoted so that spaces, empty strings and control characters show.
std::string q(const std::string& s) { return double_quoted(s, 60); }

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

}  // namespace dplb::config::keepalived
