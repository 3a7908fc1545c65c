// The clock the health checks keep time by: delay_loop, delay_before_retry, warmup, connect_timeout
// and the MISC_CHECK timeout, and the duration in each Result. dplbd runs on steady_clock() (the
// steady clock and asio timers); the tests bring a clock of their own that they move forward by hand,
// so the schedule is checked to the millisecond without waiting for it (as vrrp/state_machine.h
// takes `now` from its caller).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

namespace dplb::health {

class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;

    // One pending wait at a time, like an asio timer, but one that never calls back late: after
    // cancel(), a new wait() or the timer's destruction, the `fire` of the wait before is not called.
    class Timer {
    public:
        virtual ~Timer() = default;
        // Calls `fire` once `delay` has passed on the clock, on the io_context (never from inside
        // this call); replaces the wait armed before, if any.
        virtual void wait(std::chrono::milliseconds delay, std::function<void()> fire) = 0;
        virtual void cancel() = 0;
    };

    virtual ~Clock() = default;
    virtual time_point now() const = 0;
    // A timer whose waits end on `io` (the steady clock's), or when the clock says so (a test's).
    virtual std::unique_ptr<Timer> make_timer(boost::asio::io_context& io) = 0;
};

// std::chrono::steady_clock with asio::steady_timer: the checks' clock in dplbd.
Clock& steady_clock();

}  // namespace dplb::health
