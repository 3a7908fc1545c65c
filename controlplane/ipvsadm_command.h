// `dplbctl ipvsadm ARGS...`: ipvsadm's own command line against the running daemon. Changes (-A -E
// -D -a -e -d -C --set, and -R with the rules as further words) go through Director::apply_change and
// last until the next reload; -L/-l answer as `dplbctl list` does with the same flags; -S prints the
// running services as `ipvsadm -S -n` does; -Z zeroes what the views count (Director::zero).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "commands.h"
#include "director.h"

namespace dplb {

// `words` starts with "ipvsadm". Calls `reply` once (changes: once the workers have them).
void run_ipvsadm(Director& dir, const std::vector<std::string>& words, std::function<void(Reply)> reply);

}  // namespace dplb
