// The Checker: scheduling, retries and the UP/DOWN state, as keepalived's checkers do it.
//   - a check every delay_loop, counted from the end of the previous one;
//   - while UP, a failure is retried `retry` more times, delay_before_retry apart, and only the
//     last failure in a row turns the real DOWN; while DOWN, failures are not retried (nothing to
//     confirm) and checking simply continues every delay_loop;
//   - a single success brings a DOWN real back UP;
//   - OnChange fires on transitions only, OnResult on every completed attempt.
// Every delay and timeout runs on the Clock given to the Checker (clock.h): the steady clock in
// dplbd, the test's own in tests/test_health.cc.
#include "health_check.h"

#include <atomic>
#include <random>
#include <utility>

#include "probe.h"

namespace dplb::health {

namespace asio = boost::asio;
using std::chrono::milliseconds;

class Checker::Impl : public std::enable_shared_from_this<Checker::Impl> {
public:
    Impl(asio::io_context& io, CheckSpec spec, OnChange on_change, OnResult on_result, Clock& clock)
        : io_(io),
          clock_(clock),
          spec_(std::move(spec)),
          on_change_(std::move(on_change)),
          on_result_(std::move(on_result)),
          timer_(clock.make_timer(io)),
          rng_(std::random_device{}()),
          up_(!spec_.alpha) {}

    bool checking() const { return probe_ != nullptr; }
    bool up() const { return up_; }
    int weight() const { return weight_; }

    void start() {
        if (running_) return;
        running_ = true;
        ++generation_;
        failures_ = 0;
        // Warmup spreads the first checks of many reals over [0, warmup] instead of a burst.
        milliseconds first{0};
        if (spec_.warmup.count() > 0) {
            std::uniform_int_distribution<long long> pick(0, spec_.warmup.count());
            first = milliseconds(pick(rng_));
        }
        schedule(first);
    }

    void stop() {
        if (!running_) return;
        running_ = false;
        ++generation_;  // handlers already queued (a timer that fired just now) see a stale generation
        timer_->cancel();
        if (probe_) probe_->cancel();
        probe_.reset();
    }

private:
    void schedule(milliseconds delay) {
        timer_->wait(delay, [self = shared_from_this(), gen = generation_] {
            if (gen == self->generation_) self->run_check();
        });
    }

    void run_check() {
        auto started = clock_.now();
        auto done = [self = shared_from_this(), gen = generation_, started](detail::ProbeOutcome outcome) {
            if (gen != self->generation_) return;
            auto took = std::chrono::duration_cast<std::chrono::microseconds>(self->clock_.now() - started);
            self->on_outcome(std::move(outcome), took);
        };
        switch (spec_.type) {
            case CheckType::tcp: probe_ = detail::start_tcp_probe(io_, clock_, spec_, std::move(done)); break;
            case CheckType::http: probe_ = detail::start_http_probe(io_, clock_, spec_, std::move(done)); break;
            case CheckType::misc: probe_ = detail::start_misc_probe(io_, clock_, spec_, std::move(done)); break;
            case CheckType::ssl: probe_ = detail::start_ssl_probe(io_, clock_, spec_, std::move(done)); break;
            case CheckType::ping: probe_ = detail::start_ping_probe(io_, clock_, spec_, std::move(done)); break;
            case CheckType::udp: probe_ = detail::start_udp_probe(io_, clock_, spec_, std::move(done)); break;
            case CheckType::dns: probe_ = detail::start_dns_probe(io_, clock_, spec_, std::move(done)); break;
            case CheckType::smtp: probe_ = detail::start_smtp_probe(io_, clock_, spec_, std::move(done)); break;
        }
    }

    void on_outcome(detail::ProbeOutcome outcome, std::chrono::microseconds took) {
        probe_.reset();
        const unsigned gen = generation_;
        bool changed = false;
        milliseconds next = spec_.delay_loop;
        if (outcome.ok) {
            failures_ = 0;
            // Set before the callbacks run so that OnChange can read the new weight.
            if (outcome.dynamic_weight >= 0) weight_ = outcome.dynamic_weight;
            changed = !up_.exchange(true);
        } else if (up_) {
            if (failures_ < spec_.retry) {
                ++failures_;
                next = spec_.delay_before_retry;
            } else {
                failures_ = 0;
                up_ = false;
                changed = true;
            }
        }

        Result result{outcome.ok, outcome.reason, outcome.dynamic_weight, took};
        if (on_result_) on_result_(result);
        // A callback may have stopped (or restarted) us; then the schedule below is not ours to make.
        if (changed && on_change_ && gen == generation_) on_change_(outcome.ok, outcome.reason);
        if (gen == generation_) schedule(next);
    }

    asio::io_context& io_;
    Clock& clock_;
    const CheckSpec spec_;
    OnChange on_change_;
    OnResult on_result_;
    std::unique_ptr<Clock::Timer> timer_;
    std::shared_ptr<detail::Probe> probe_;
    std::mt19937 rng_;
    bool running_ = false;
    unsigned generation_ = 0;
    unsigned failures_ = 0;  // failed attempts in a row while UP, retries included
    // Written on the io_context only; atomic so that up() and dynamic_weight() work from anywhere.
    std::atomic<bool> up_;
    std::atomic<int> weight_{-1};
};

Checker::Checker(asio::io_context& io, CheckSpec spec, OnChange on_change, OnResult on_result, Clock& clock)
    : impl_(std::make_shared<Impl>(io, std::move(spec), std::move(on_change), std::move(on_result), clock)) {}

Checker::~Checker() { impl_->stop(); }

void Checker::start() { impl_->start(); }
void Checker::stop() { impl_->stop(); }
bool Checker::checking() const { return impl_->checking(); }
bool Checker::up() const { return impl_->up(); }
int Checker::dynamic_weight() const { return impl_->weight(); }

}  // namespace dplb::health
