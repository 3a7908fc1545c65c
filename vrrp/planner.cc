// The search behind plan(): for V = 1, 2, ... build the most even arrangement we can and judge it.
//
// An arrangement gives every VIP an order of all hosts; VIP v goes to the first host of its order
// that has not failed. Only the first F + 1 hosts of an order ever matter for F failures. For each
// V the search starts from a regular design (VIP j of host p takes the others in a mixed-radix
// rotation, so a host's VIPs fail over to different peers first, then to different second
// backups) and improves it by simulated annealing: swap two backups of one VIP, keep the swap if
// the failure cases get no worse (and, less and less often as the search cools, even if they do).
// The measure is how far each survivor's VIP count exceeds a target (first the ideal
// ceil(V / survivors), then what the capacity allows), summed over all cases, so a cost of 0 is a
// proof that the arrangement fits. Everything is deterministic (a fixed seed per H, F, V).
#include "vrrp/planner.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

namespace dplb::vrrp {

namespace {

constexpr uint64_t kMaxRateBps = 1000000000000000ULL;  // 1 Pbit/s: keeps count * rate in 64 bits
constexpr int kFullSearchIterations = 200000;
constexpr int kShortSearchIterations = 4000;
constexpr double kSearchWork = 2e7;        // iterations x failure sets, so large clusters stay quick
constexpr size_t kMaxFailureSets = 4096;  // failure cases to check, beyond which plan() declines

int popcount(HostSet s) { return __builtin_popcount(s); }

double binomial(uint32_t n, uint32_t k) {
    double r = 1;
    for (uint32_t i = 1; i <= k; ++i) r = r * (n - k + i) / i;
    return r;
}

uint32_t landing(const std::vector<uint32_t>& order, HostSet failed) {
    for (uint32_t h : order)
        if (!(failed >> h & 1)) return h;
    return order.front();  // unreachable: fewer than all hosts fail
}

// VIP i: MASTER i mod H (the first V mod H hosts get one more when H does not divide V), backups
// from the other hosts, taken in the order p+1, p+2, ... rotated by the digits of j = i / H.
std::vector<std::vector<uint32_t>> initial_orders(uint32_t hosts, uint32_t vips) {
    std::vector<std::vector<uint32_t>> orders(vips);
    for (uint32_t i = 0; i < vips; ++i) {
        uint32_t p = i % hosts, digits = i / hosts;
        std::vector<uint32_t> rest;
        for (uint32_t d = 1; d < hosts; ++d) rest.push_back((p + d) % hosts);
        std::vector<uint32_t>& o = orders[i];
        o.push_back(p);
        while (!rest.empty()) {
            uint32_t m = static_cast<uint32_t>(rest.size());
            o.push_back(rest[digits % m]);
            rest.erase(rest.begin() + digits % m);
            digits /= m;
        }
    }
    return orders;
}

// Local search state: VIP counts per failure set and host, and the total excess over the targets.
class Search {
public:
    Search(uint32_t hosts, uint32_t failures, std::vector<std::vector<uint32_t>> orders)
        : hosts_(hosts), failures_(failures), sets_(failure_sets(hosts, failures)), orders_(std::move(orders)),
          counts_(sets_.size(), std::vector<uint32_t>(hosts, 0)), targets_(sets_.size(), 0),
          rng_(hosts * 1000003u + failures * 1009u + static_cast<uint32_t>(orders_.size())) {
        recount();
    }

    // Target per failure set: the ideal ceil(V / survivors), or a flat cap.
    void target_ideal() {
        uint32_t v = static_cast<uint32_t>(orders_.size());
        for (size_t s = 0; s < sets_.size(); ++s) {
            uint32_t alive = hosts_ - static_cast<uint32_t>(popcount(sets_[s]));
            targets_[s] = (v + alive - 1) / alive;
        }
        recost();
    }
    void target_cap(uint32_t cap) {
        std::fill(targets_.begin(), targets_.end(), cap);
        recost();
    }

    // Simulated annealing over backup swaps; keeps the best arrangement seen. Returns its cost
    // (0: every case within its target).
    long run(int iterations) {
        uint32_t relevant = std::min(failures_, hosts_ - 1);  // backup positions that can matter
        if (relevant == 0 || hosts_ < 3 || orders_.empty() || cost_ == 0) return cost_;
        long best = cost_;
        std::vector<std::vector<uint32_t>> best_orders = orders_;
        std::uniform_real_distribution<double> coin(0.0, 1.0);
        for (int it = 0; it < iterations && best > 0; ++it) {
            uint32_t v = static_cast<uint32_t>(rng_() % orders_.size());
            uint32_t i = 1 + static_cast<uint32_t>(rng_() % relevant);
            uint32_t j = 1 + static_cast<uint32_t>(rng_() % (hosts_ - 1));
            if (i == j) continue;
            long before = cost_;
            swap(v, i, j);
            // Worse moves pass now and then, less and less often, to climb out of local minima.
            double temperature = 2.0 * (1.0 - static_cast<double>(it) / iterations) + 0.01;
            if (cost_ > before && coin(rng_) > std::exp(static_cast<double>(before - cost_) / temperature)) {
                swap(v, i, j);
            } else if (cost_ < best) {
                best = cost_;
                best_orders = orders_;
            }
        }
        if (best < cost_) {
            orders_ = std::move(best_orders);
            recount();
        }
        return cost_;
    }

    const std::vector<std::vector<uint32_t>>& orders() const { return orders_; }
    size_t cases() const { return sets_.size(); }

private:
    long excess(size_t s, uint32_t h) const {
        if (sets_[s] >> h & 1) return 0;
        return counts_[s][h] > targets_[s] ? static_cast<long>(counts_[s][h] - targets_[s]) : 0;
    }

    void recount() {
        for (size_t s = 0; s < sets_.size(); ++s) {
            std::fill(counts_[s].begin(), counts_[s].end(), 0);
            for (const auto& o : orders_) ++counts_[s][landing(o, sets_[s])];
        }
        recost();
    }

    void recost() {
        cost_ = 0;
        for (size_t s = 0; s < sets_.size(); ++s)
            for (uint32_t h = 0; h < hosts_; ++h) cost_ += excess(s, h);
    }

    void swap(uint32_t v, uint32_t i, uint32_t j) {
        std::vector<uint32_t>& o = orders_[v];
        std::vector<uint32_t> old_land(sets_.size());
        for (size_t s = 0; s < sets_.size(); ++s) old_land[s] = landing(o, sets_[s]);
        std::swap(o[i], o[j]);
        for (size_t s = 0; s < sets_.size(); ++s) {
            uint32_t a = old_land[s], b = landing(o, sets_[s]);
            if (a == b) continue;
            cost_ -= excess(s, a) + excess(s, b);
            --counts_[s][a];
            ++counts_[s][b];
            cost_ += excess(s, a) + excess(s, b);
        }
    }

    uint32_t hosts_, failures_;
    std::vector<HostSet> sets_;
    std::vector<std::vector<uint32_t>> orders_;
    std::vector<std::vector<uint32_t>> counts_;
    std::vector<uint32_t> targets_;
    long cost_ = 0;
    std::mt19937 rng_;
};

// The most VIPs one host may hold: count * T < C * V.
uint32_t vip_cap(const PlanInput& in, uint32_t vips) {
    uint64_t room = in.link_bps * vips;  // both at most 1e15 and vips at most a few thousand
    return room == 0 ? 0 : static_cast<uint32_t>((room - 1) / in.traffic_bps);
}

Candidate assess(const PlanInput& in, uint32_t vips) {
    const uint32_t H = in.hosts, F = in.failures;
    const uint32_t cap = vip_cap(in, vips);
    const uint32_t ideal = (vips + (H - F) - 1) / (H - F);  // the least the busiest survivor can hold
    // A full search only where it can succeed: an even count whose bound leaves room.
    const bool candidate = vips >= H && vips % H == 0 && ideal <= cap;
    Search s(H, F, initial_orders(H, vips));
    const int full = static_cast<int>(std::min<double>(kFullSearchIterations, kSearchWork / s.cases()));
    s.target_ideal();
    s.run(candidate ? full : std::min(full, kShortSearchIterations));
    Arrangement a = evaluate(H, F, s.orders());
    if (candidate && a.worst_vips > cap) {
        s.target_cap(cap);  // second chance: aim at what the capacity allows rather than the ideal
        if (s.run(full) == 0) a = evaluate(H, F, s.orders());
    }
    Candidate c;
    c.arrangement = std::move(a);
    c.bound_exceeded = ideal > cap;
    if (vips < H) c.verdict = Verdict::too_few;
    else if (vips % H != 0) c.verdict = Verdict::uneven;
    else c.verdict = c.arrangement.worst_vips <= cap ? Verdict::fits : Verdict::over_link;
    return c;
}

}  // namespace

const char* verdict_name(Verdict v) {
    switch (v) {
    case Verdict::fits: return "fits";
    case Verdict::too_few: return "too_few";
    case Verdict::uneven: return "uneven";
    case Verdict::over_link: return "over_link";
    }
    return "?";
}

std::vector<HostSet> failure_sets(uint32_t hosts, uint32_t failures) {
    std::vector<HostSet> out;
    for (uint32_t f = 0; f <= failures && f <= hosts; ++f)
        for (HostSet s = 0; s < (HostSet{1} << hosts); ++s)
            if (static_cast<uint32_t>(popcount(s)) == f) out.push_back(s);
    return out;
}

Arrangement evaluate(uint32_t hosts, uint32_t failures, std::vector<std::vector<uint32_t>> order) {
    Arrangement a;
    a.vips = static_cast<uint32_t>(order.size());
    a.order = std::move(order);
    for (HostSet s : failure_sets(hosts, failures)) {
        FailureCase c;
        c.failed = s;
        c.vips.assign(hosts, 0);
        for (const auto& o : a.order) ++c.vips[landing(o, s)];
        for (uint32_t h = 0; h < hosts; ++h)
            if (!(s >> h & 1) && (c.vips[h] > c.vips[c.busiest] || (s >> c.busiest & 1))) c.busiest = h;
        if (c.vips[c.busiest] > a.worst_vips) {
            a.worst_vips = c.vips[c.busiest];
            a.worst_case = a.cases.size();
        }
        a.cases.push_back(std::move(c));
    }
    return a;
}

uint8_t priority_for_rank(uint32_t rank) { return static_cast<uint8_t>(250 - 10 * std::min(rank, 24u)); }

double Plan::vip_load_bps() const {
    return vips() ? static_cast<double>(input.traffic_bps) / vips() : 0.0;
}

double Plan::worst_link_load_bps() const { return chosen.arrangement.worst_vips * vip_load_bps(); }

std::string Plan::host_name(uint32_t h) const {
    if (h < input.host_names.size()) return input.host_names[h];
    return "host" + std::to_string(h + 1);
}

Plan plan(const PlanInput& in) {
    Plan p;
    p.input = in;
    const uint32_t H = in.hosts, F = in.failures;
    if (H < 1 || H > kMaxPlanHosts) {
        p.error = "hosts must be 1.." + std::to_string(kMaxPlanHosts);
        return p;
    }
    if (F >= H) {
        p.error = "failures must be fewer than hosts";
        return p;
    }
    if (in.traffic_bps == 0 || in.link_bps == 0 || in.traffic_bps > kMaxRateBps || in.link_bps > kMaxRateBps) {
        p.error = "traffic and link capacity must be above 0 and at most 1 Pbit/s";
        return p;
    }
    size_t cases = 0;
    for (uint32_t f = 0; f <= F; ++f) cases += static_cast<size_t>(std::lround(binomial(H, f)));
    if (cases > kMaxFailureSets) {
        p.error = std::to_string(cases) + " failure cases to check (every set of up to " + std::to_string(F) +
                  " of " + std::to_string(H) + " hosts): more than " + std::to_string(kMaxFailureSets) +
                  " is beyond this planner";
        return p;
    }
    if (in.max_vips < 1 || in.max_vips > kMaxPlanVips) {
        p.error = "max_vips must be 1.." + std::to_string(kMaxPlanVips);
        return p;
    }
    if (!in.host_names.empty() && in.host_names.size() != H) {
        p.error = "give a name for every host, or none";
        return p;
    }
    // Even a perfect spread puts T / (H - F) on each survivor.
    if (in.traffic_bps >= in.link_bps * (H - F)) {
        p.error = "no number of VIPs can do: after " + std::to_string(F) + " failure(s) the " +
                  std::to_string(H - F) + " surviving link(s) share " +
                  format_rate(static_cast<double>(in.traffic_bps)) +
                  ", at least " + format_rate(static_cast<double>(in.traffic_bps) / (H - F)) +
                  " each, not below " + format_rate(static_cast<double>(in.link_bps));
        return p;
    }
    for (uint32_t v = 1; v <= in.max_vips; ++v) {
        Candidate c = assess(in, v);
        if (c.verdict == Verdict::fits) {
            p.found = true;
            p.chosen = std::move(c);
            return p;
        }
        p.rejected.push_back(std::move(c));
    }
    p.error = "no arrangement of at most " + std::to_string(in.max_vips) + " VIPs found";
    return p;
}

std::optional<uint64_t> parse_rate(const std::string& text) {
    std::string s;
    for (char ch : text)
        if (ch != ' ' && ch != '_') s += ch;
    if (s.empty()) return std::nullopt;
    char* end = nullptr;
    double value = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || !std::isfinite(value) || value < 0) return std::nullopt;
    std::string unit(end);
    // Drop the "per second" spellings, then read "[prefix](bit|b|bps)?".
    for (const char* suffix : {"/s", "ps"})
        if (unit.size() >= 2 && unit.compare(unit.size() - 2, 2, suffix) == 0) unit.erase(unit.size() - 2);
    double scale = 1;
    if (!unit.empty()) {
        switch (unit[0]) {
        case 'k': case 'K': scale = 1e3; unit.erase(0, 1); break;
        case 'm': case 'M': scale = 1e6; unit.erase(0, 1); break;
        case 'g': case 'G': scale = 1e9; unit.erase(0, 1); break;
        case 't': case 'T': scale = 1e12; unit.erase(0, 1); break;
        default: break;
        }
    }
    if (!(unit.empty() || unit == "bit" || unit == "b" || unit == "bits")) return std::nullopt;  // "B": bytes
    double bps = value * scale;
    if (bps > 1.8e19) return std::nullopt;
    return static_cast<uint64_t>(std::llround(bps));
}

std::string format_rate(double bps) {
    const char* units[] = {"bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"};
    int u = 0;
    while (u < 4 && std::fabs(bps) >= 1000) {
        bps /= 1000;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g %s", bps, units[u]);
    return buf;
}

}  // namespace dplb::vrrp
