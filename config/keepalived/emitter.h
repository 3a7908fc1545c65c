// The model -> dplb's YAML: the last of the import's steps.
#pragma once

#include <string>

#include "keepalived/messages.h"
#include "keepalived/model.h"

namespace dplb::config::keepalived {

// `name` is the file the model was read from, for the header; `msgs` says where each entry's line
// comes from, for its comment.
std::string emit_yaml(const Model& m, const std::string& name, const Messages& msgs);

// One entry of vrrp_instances ("  - name: ..." and its keys), as the import writes it; also what
// `dplbctl plan --emit-config` writes for each instance of its plan. `vrid` and `version` must be set.
std::string vrrp_instance_yaml(const OutVrrp& vi);

}  // namespace dplb::config::keepalived
