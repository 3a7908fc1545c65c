// Config -> Snapshot: what the control thread publishes to the workers.
#pragma once

#include "config.h"
#include "snapshot.h"

namespace dplb {

// One Service per configured service (id = its index) and one Dest per real, ids handed out in
// file order, with the scheduler tables built. Every service starts active; VRRP clears `active`
// and `answer_arp` on a backup director later.
//
// Ids are fresh each call: keeping a real's id across a reload (so counters and connection entries
// stay with it) needs the previous snapshot and is not done here.
//
// Throws std::invalid_argument when cfg has more services or reals than the data plane has ids for;
// load_config_* never returns such a config.
Snapshot build_snapshot(const config::Config& cfg);

}  // namespace dplb
