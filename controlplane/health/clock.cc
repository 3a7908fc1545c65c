#include "clock.h"

#include <cstdint>
#include <utility>

#include <boost/asio/steady_timer.hpp>

namespace dplb::health {
namespace {

namespace asio = boost::asio;

class SteadyTimer final : public Clock::Timer {
public:
    explicit SteadyTimer(asio::io_context& io) : timer_(io) {}
    ~SteadyTimer() override { ++*generation_; }

    void wait(std::chrono::milliseconds delay, std::function<void()> fire) override {
        const uint64_t mine = ++*generation_;
        timer_.expires_after(delay);  // aborts the wait before, unless its handler is queued already
        // A handler queued before cancel() or a new wait() runs anyway, without an error; the
        // generation (shared, as the handler may outlive the timer) tells it that it is stale.
        timer_.async_wait([generation = generation_, mine, fire = std::move(fire)](const boost::system::error_code& ec) {
            if (ec || *generation != mine) return;
            fire();
        });
    }

    void cancel() override {
        ++*generation_;
        timer_.cancel();
    }

private:
    asio::steady_timer timer_;
    std::shared_ptr<uint64_t> generation_ = std::make_shared<uint64_t>(0);
};

class SteadyClock final : public Clock {
public:
    time_point now() const override { return std::chrono::steady_clock::now(); }
    std::unique_ptr<Timer> make_timer(asio::io_context& io) override { return std::make_unique<SteadyTimer>(io); }
};

}  // namespace

Clock& steady_clock() {
    static SteadyClock clock;
    return clock;
}

}  // namespace dplb::health
