// keepalived's quorum of a virtual server: the service is up while the weights of its live reals add
// up to its quorum, with a hysteresis so that one real flapping near the threshold does not flip it.
// While it is down, its sorry server (if any) takes the new connections (snapshot_builder.cc) and
// quorum_down has run; quorum_up runs when it is up again. Pure: HealthManager keeps the states.
#pragma once

#include <cstdint>
#include <map>

#include "config.h"
#include "snapshot_builder.h"

namespace dplb {

// The weight of a service's live reals: the effective weight (snapshot_builder.h) of each real that
// passes its check or has none. The sorry server does not count.
uint64_t live_weight(const config::Service& svc, const std::map<RealKey, RealRuntime>& runtime);

// The quorum state after a change of `live` weight, from `was_up`: an up service goes down when the
// weight is 0 or below quorum - hysteresis; a down one comes up when it is not 0 and at least
// quorum + hysteresis. Otherwise the state stays.
bool quorum_next(bool was_up, uint64_t live, uint32_t quorum, uint32_t hysteresis);

}  // namespace dplb
