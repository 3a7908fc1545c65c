#include "vrrp/track.h"

#include <algorithm>

namespace dplb::vrrp {

void TrackSet::add(const std::string& name, int weight) {
    for (Item& it : items_)
        if (it.name == name) {
            it.weight = weight;
            return;
        }
    items_.push_back(Item{name, weight, true});
}

bool TrackSet::remove(const std::string& name) {
    auto it = std::find_if(items_.begin(), items_.end(), [&](const Item& i) { return i.name == name; });
    if (it == items_.end()) return false;
    items_.erase(it);
    return true;
}

bool TrackSet::set(const std::string& name, bool up) {
    for (Item& it : items_)
        if (it.name == name) {
            it.up = up;
            return true;
        }
    return false;
}

bool TrackSet::has(const std::string& name) const {
    return std::any_of(items_.begin(), items_.end(), [&](const Item& it) { return it.name == name; });
}

bool TrackSet::fault() const {
    return std::any_of(items_.begin(), items_.end(), [](const Item& it) { return it.weight == 0 && !it.up; });
}

std::string TrackSet::fault_what() const {
    std::string s;
    for (const Item& it : items_)
        if (it.weight == 0 && !it.up) s += (s.empty() ? "" : ", ") + it.name + " down";
    return s;
}

int TrackSet::priority_delta() const {
    int d = 0;
    for (const Item& it : items_) {
        if (it.weight > 0 && it.up) d += it.weight;
        if (it.weight < 0 && !it.up) d += it.weight;
    }
    return d;
}

uint8_t effective_priority(uint8_t base, int delta) {
    if (base == 255) return 255;
    return static_cast<uint8_t>(std::clamp(static_cast<int>(base) + delta, 1, 254));
}

}  // namespace dplb::vrrp
