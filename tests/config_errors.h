// The errors a configuration text gets from the loader, in order; empty when it loads.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace dplb::config {

inline std::vector<std::string> config_errors(const std::string& text, const std::string& name) {
    try {
        load_config_string(text, name);
    } catch (const ConfigError& e) {
        return e.errors;
    }
    return {};
}

}  // namespace dplb::config
