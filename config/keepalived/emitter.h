// The model -> dplb's YAML: the last of the import's steps.
#pragma once

#include <string>

#include "keepalived/model.h"

namespace dplb::config::keepalived {

// `name` is the file the model was read from, for the comments that say where each entry comes from.
std::string emit_yaml(const Model& m, const std::string& name);

}  // namespace dplb::config::keepalived
