#include "drop_reason.h"

namespace dplb {

const char* drop_name(Drop d) {
    static const char* const names[] = {
#define DPLB_X(name, text) #name,
        DPLB_DROP_REASONS(DPLB_X)
#undef DPLB_X
    };
    return d < Drop::count ? names[static_cast<unsigned>(d)] : "?";
}

const char* drop_text(Drop d) {
    static const char* const texts[] = {
#define DPLB_X(name, text) text,
        DPLB_DROP_REASONS(DPLB_X)
#undef DPLB_X
    };
    return d < Drop::count ? texts[static_cast<unsigned>(d)] : "?";
}

}  // namespace dplb
