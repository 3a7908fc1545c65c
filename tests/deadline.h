// Runs a call that must return (a load or import of hostile input) on a thread of its own and waits
// at most `limit` for it. One that has not returned by then is a hang: the test fails and the process
// ends at once, since the thread cannot be stopped and the future's destructor would wait for it.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>

namespace dplb::test {

template <typename F>
auto within_deadline(F f, const std::string& what, std::chrono::seconds limit = std::chrono::seconds(30)) {
    auto result = std::async(std::launch::async, f);
    if (result.wait_for(limit) != std::future_status::ready) {
        ADD_FAILURE() << what << " did not return within " << limit.count() << " s";
        std::fprintf(stderr, "%s did not return within %lld s: giving up on the test run\n", what.c_str(),
                     static_cast<long long>(limit.count()));
        std::fflush(stderr);
        std::_Exit(1);
    }
    return result.get();
}

}  // namespace dplb::test
