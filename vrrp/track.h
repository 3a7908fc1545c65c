// Tracked objects of one VRRP instance, keepalived's track_interface / track_script: each has a
// name, an up/down state and a weight. Weight 0: while it is down the instance is in FAULT.
// Weight w > 0: while it is up the priority is raised by w. Weight w < 0: while it is down the
// priority is lowered by -w. Everything starts up. Pure; instance.h feeds the result to the state
// machine as TrackFault / TrackOk / PriorityChanged.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dplb::vrrp {

class TrackSet {
public:
    // Adds `name`, or changes its weight if it is there already (its state is kept).
    void add(const std::string& name, int weight = 0);
    // Stops tracking `name` (a reload dropped it): it no longer counts, down or not. False when no
    // such name was added.
    bool remove(const std::string& name);
    // Sets the state of `name`; false when no such name was added.
    bool set(const std::string& name, bool up);
    bool has(const std::string& name) const;

    bool fault() const;             // some weight-0 object is down
    std::string fault_what() const; // "lan0 down, web down" (the weight-0 objects that are down)
    int priority_delta() const;     // the sum of the weights that apply

private:
    struct Item {
        std::string name;
        int weight;
        bool up;
    };
    std::vector<Item> items_;
};

// The priority to advertise: the configured one moved by `delta`, kept within 1..254 (an address
// owner, 255, stays 255 whatever is tracked, as RFC 3768 §5.3.4 reserves 255 for it).
uint8_t effective_priority(uint8_t base, int delta);

}  // namespace dplb::vrrp
