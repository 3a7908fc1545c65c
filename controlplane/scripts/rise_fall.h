// A vrrp_script's up/down state from its results, as keepalived counts them: `rise` successes in a
// row turn a down script up, `fall` failures in a row turn an up script down; a result against the
// run resets the count. It starts up, or down with init_fail. Pure.
#pragma once

#include <cstdint>

namespace dplb::scripts {

class RiseFall {
public:
    RiseFall(uint32_t rise, uint32_t fall, bool init_fail)
        : rise_(rise ? rise : 1), fall_(fall ? fall : 1), count_(init_fail ? 0 : rise_ + fall_ - 1) {}

    bool up() const { return count_ >= rise_; }

    // One result; true when it changed up().
    bool feed(bool ok) {
        bool was = up();
        if (ok) {
            if (count_ + 1 < rise_) count_++;
            else count_ = rise_ + fall_ - 1;  // up, with `fall` failures to go
        } else {
            if (count_ > rise_) count_--;
            else count_ = 0;  // down, with `rise` successes to go
        }
        return up() != was;
    }

private:
    // 0 .. rise-1: down, that many successes so far; rise .. rise+fall-1: up, (count - rise + 1)
    // failures from going down.
    uint32_t rise_, fall_, count_;
};

}  // namespace dplb::scripts
