// An ipvsadm-save file (or a provisioning script of ipvsadm commands) -> dplb YAML, for sites that
// drive IPVS with ipvsadm alone. `dplbctl import-ipvsadm FILE > lb.yaml` is this function with a file
// around it. Each line is one ipvsadm command (with or without the leading `ipvsadm`), replayed in
// order as `ipvsadm -R` replays them; a script's other lines are skipped with a warning.
#pragma once

#include <string>

#include "keepalived_import.h"

namespace dplb::config {

// `name` is the file name for messages. Warnings ("NAME:LINE: message") say what was taken
// differently (-m/-i as -g, lines that change nothing). Throws ConfigError with every line IPVS would
// refuse ("NAME:LINE: message"), or when no service is left.
ImportResult import_ipvsadm(const std::string& text, const std::string& name);

}  // namespace dplb::config
