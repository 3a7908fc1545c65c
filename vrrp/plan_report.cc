#include "vrrp/plan_report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "keepalived/emitter.h"
#include "text.h"

namespace dplb::vrrp {

namespace {

int popcount_hosts(HostSet s) { return __builtin_popcount(s); }

std::string plural(uint64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string failed_label(const Plan& p, HostSet s, const char* sep = "+") {
    if (!s) return "none";
    std::string out;
    for (uint32_t h = 0; h < p.input.hosts; ++h)
        if (s >> h & 1) out += (out.empty() ? "" : sep) + p.host_name(h);
    return out;
}

double load(const Plan& p, uint32_t vips_held, uint32_t vips_total) {
    return vips_total ? static_cast<double>(p.input.traffic_bps) * vips_held / vips_total : 0.0;
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}


std::string json_number(double v) {
    char buf[32];
    if (v == static_cast<double>(static_cast<int64_t>(v))) {
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    } else {
        std::snprintf(buf, sizeof buf, "%.6f", v);
    }
    return buf;
}

std::string json_hosts(const Plan& p, HostSet s) {
    std::string out = "[";
    for (uint32_t h = 0; h < p.input.hosts; ++h)
        if (s >> h & 1) out += (out.size() > 1 ? "," : "") + json_string(p.host_name(h));
    return out + "]";
}

// One line on why `c` (a rejected number of VIPs) does not do.
std::string why_not(const Plan& p, const Candidate& c) {
    const Arrangement& a = c.arrangement;
    const uint32_t H = p.input.hosts, V = a.vips;
    const FailureCase& worst = a.cases[a.worst_case];
    std::string head = plural(V, "VIP", "VIPs") + ": ";
    if (c.verdict == Verdict::too_few) {
        return head + "fewer VIPs than hosts: " + plural(H - V, "host idles", "hosts idle") +
               " while every host is up" +
               (a.cases[0].vips[a.cases[0].busiest] * p.input.traffic_bps >= p.input.link_bps * V
                    ? ", and one link alone carries " + format_rate(load(p, a.cases[0].vips[a.cases[0].busiest], V))
                    : "");
    }
    if (c.verdict == Verdict::uneven) {
        // Loads with every host up, highest first.
        std::vector<uint32_t> held = a.cases[0].vips;
        std::sort(held.rbegin(), held.rend());
        std::string loads;
        for (uint32_t n : held) loads += (loads.empty() ? "" : " / ") + format_rate(load(p, n, V));
        return head + "not a multiple of " + std::to_string(H) +
               " hosts, so the load does not spread evenly with every host up (" + loads + ")";
    }
    std::string when = worst.failed ? "when " + failed_label(p, worst.failed, " and ") + " fail" +
                                          (popcount_hosts(worst.failed) == 1 ? "s" : "")
                                    : "with every host up";
    std::string line = head + format_rate(load(p, 1, V)) + " each; ";
    if (c.bound_exceeded) {
        uint32_t alive = H - p.input.failures;
        uint32_t least = (V + alive - 1) / alive;
        line += "after " + plural(p.input.failures, "failure", "failures") + " " + std::to_string(V) +
                " VIPs share " + plural(alive, "host", "hosts") + ", so one holds at least " + std::to_string(least) +
                ": " + format_rate(load(p, least, V)) + ", not below the " +
                format_rate(static_cast<double>(p.input.link_bps)) + " link, whatever the priorities";
    } else {
        line += "the best arrangement found still puts " + std::to_string(a.worst_vips) + " VIPs (" +
                format_rate(load(p, a.worst_vips, V)) + ") on one link";
    }
    return line + " (e.g. " + p.host_name(worst.busiest) + " " + when + ")";
}

}  // namespace

std::string plan_text(const Plan& p) {
    const PlanInput& in = p.input;
    std::string out = "Active-active plan: " + plural(in.hosts, "host", "hosts") + ", up to " +
                      plural(in.failures, "failure", "failures") + ", " +
                      format_rate(static_cast<double>(in.traffic_bps)) + " peak traffic, " +
                      format_rate(static_cast<double>(in.link_bps)) + " links\n\n";
    if (!p.found) {
        out += "No plan: " + p.error + "\n";
        if (!p.rejected.empty()) out += "\nTried:\n";
        for (const Candidate& c : p.rejected) out += "  " + why_not(p, c) + "\n";
        return out;
    }
    const Arrangement& a = p.chosen.arrangement;
    const uint32_t H = in.hosts, V = a.vips;
    const FailureCase& worst = a.cases[a.worst_case];
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.0f%%", 100.0 * p.worst_link_load_bps() / static_cast<double>(in.link_bps));
    out += plural(V, "VIP", "VIPs") + ", " + std::to_string(p.vips_per_host()) + " per host, " +
           format_rate(p.vip_load_bps()) + " each: every link stays below " +
           format_rate(static_cast<double>(in.link_bps)) + " after any " + plural(in.failures, "failure", "failures") +
           ".\nWorst case: " + format_rate(p.worst_link_load_bps()) + " (" + pct + ") on " +
           p.host_name(worst.busiest) +
           (worst.failed ? " when " + failed_label(p, worst.failed, " and ") + " fail" +
                               (popcount_hosts(worst.failed) == 1 ? "s" : "")
                         : " with every host up") +
           ".\n\n";

    // The priority matrix.
    size_t name_w = 6;
    for (uint32_t h = 0; h < H; ++h) name_w = std::max(name_w, p.host_name(h).size() + 2);
    out += "VRRP priorities, one instance per VIP (the highest priority alive holds it, preempt on):\n";
    out += "  " + pad("VIP", 7);
    for (uint32_t h = 0; h < H; ++h) out += pad(p.host_name(h), name_w);
    out += "failover order\n";
    for (uint32_t v = 0; v < V; ++v) {
        std::vector<uint8_t> prio(H);
        for (uint32_t r = 0; r < H; ++r) prio[a.order[v][r]] = priority_for_rank(r);
        out += "  " + pad("vip" + std::to_string(v + 1), 7);
        for (uint32_t h = 0; h < H; ++h) out += pad(std::to_string(prio[h]), name_w);
        std::string order;
        for (uint32_t r = 0; r < H; ++r) order += (r ? " > " : "") + p.host_name(a.order[v][r]);
        out += order + "\n";
    }

    // Every failure case.
    size_t case_w = 8;
    for (const FailureCase& c : a.cases) case_w = std::max(case_w, failed_label(p, c.failed).size() + 2);
    size_t cell_w = std::max<size_t>(name_w, 18);
    out += "\nLoad per failure case (VIPs held, link load):\n  " + pad("failed", case_w);
    for (uint32_t h = 0; h < H; ++h) out += pad(p.host_name(h), cell_w);
    while (out.back() == ' ') out.pop_back();
    out += "\n";
    for (const FailureCase& c : a.cases) {
        out += "  " + pad(failed_label(p, c.failed), case_w);
        for (uint32_t h = 0; h < H; ++h) {
            std::string cell = (c.failed >> h & 1)
                                   ? "-"
                                   : std::to_string(c.vips[h]) + "  " + format_rate(load(p, c.vips[h], V));
            out += pad(cell, cell_w);
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += "\n";
    }

    if (!p.rejected.empty()) {
        out += "\nWhy not fewer VIPs:\n";
        for (const Candidate& c : p.rejected) out += "  " + why_not(p, c) + "\n";
    }
    return out;
}

std::string plan_json(const Plan& p) {
    const PlanInput& in = p.input;
    std::string o = "{\"hosts\":" + std::to_string(in.hosts) + ",\"failures\":" + std::to_string(in.failures) +
                    ",\"traffic_bps\":" + std::to_string(in.traffic_bps) +
                    ",\"link_bps\":" + std::to_string(in.link_bps) +
                    ",\"host_names\":[";
    for (uint32_t h = 0; h < in.hosts; ++h) o += (h ? "," : "") + json_string(p.host_name(h));
    o += "],\"found\":" + std::string(p.found ? "true" : "false");
    if (!p.found) o += ",\"error\":" + json_string(p.error);
    if (p.found) {
        const Arrangement& a = p.chosen.arrangement;
        const FailureCase& w = a.cases[a.worst_case];
        o += ",\"vips\":" + std::to_string(p.vips()) + ",\"vips_per_host\":" + std::to_string(p.vips_per_host()) +
             ",\"vip_load_bps\":" + json_number(p.vip_load_bps()) +
             ",\"worst_link_load_bps\":" + json_number(p.worst_link_load_bps()) +
             ",\"worst_case\":{\"failed\":" + json_hosts(p, w.failed) + ",\"host\":" +
             json_string(p.host_name(w.busiest)) + ",\"vips\":" + std::to_string(a.worst_vips) + "}";
        o += ",\"matrix\":[";
        for (uint32_t v = 0; v < a.vips; ++v) {
            o += std::string(v ? "," : "") + "{\"vip\":" + std::to_string(v + 1) + ",\"order\":[";
            for (uint32_t r = 0; r < in.hosts; ++r) o += (r ? "," : "") + json_string(p.host_name(a.order[v][r]));
            o += "],\"priorities\":{";
            for (uint32_t r = 0; r < in.hosts; ++r)
                o += (r ? "," : "") + json_string(p.host_name(a.order[v][r])) + ":" +
                     std::to_string(priority_for_rank(r));
            o += "}}";
        }
        o += "],\"cases\":[";
        for (size_t i = 0; i < a.cases.size(); ++i) {
            const FailureCase& c = a.cases[i];
            o += std::string(i ? "," : "") + "{\"failed\":" + json_hosts(p, c.failed) + ",\"vips\":[";
            for (uint32_t h = 0; h < in.hosts; ++h) o += (h ? "," : "") + std::to_string(c.vips[h]);
            o += "],\"load_bps\":[";
            for (uint32_t h = 0; h < in.hosts; ++h) o += (h ? "," : "") + json_number(load(p, c.vips[h], a.vips));
            o += "]}";
        }
        o += "]";
    }
    o += ",\"rejected\":[";
    for (size_t i = 0; i < p.rejected.size(); ++i) {
        const Candidate& c = p.rejected[i];
        const FailureCase& w = c.arrangement.cases[c.arrangement.worst_case];
        o += std::string(i ? "," : "") + "{\"vips\":" + std::to_string(c.arrangement.vips) + ",\"verdict\":" +
             json_string(verdict_name(c.verdict)) + ",\"bound_exceeded\":" + (c.bound_exceeded ? "true" : "false") +
             ",\"worst_link_load_bps\":" + json_number(load(p, c.arrangement.worst_vips, c.arrangement.vips)) +
             ",\"failed\":" + json_hosts(p, w.failed) + ",\"host\":" + json_string(p.host_name(w.busiest)) + "}";
    }
    return o + "]}\n";
}

EmittedConfigs plan_yaml(const Plan& p, const EmitOptions& opt) {
    EmittedConfigs out;
    if (!p.found) {
        out.error = "no plan: " + p.error;
        return out;
    }
    const Arrangement& a = p.chosen.arrangement;
    const uint32_t V = a.vips;
    if (opt.vrid_base < 1 || opt.vrid_base + V - 1 > 255) {
        out.error = std::to_string(V) + " VIPs need virtual_router_id " + std::to_string(opt.vrid_base) + ".." +
                    std::to_string(opt.vrid_base + V - 1) + ", past 255";
        return out;
    }
    if (!opt.vips.empty() && opt.vips.size() != V) {
        out.error = "the plan has " + std::to_string(V) + " VIPs, " + std::to_string(opt.vips.size()) +
                    " addresses given";
        return out;
    }
    if (opt.advert_int_s < 1 || opt.advert_int_s > 255) {
        out.error = "advert_int must be 1..255 seconds";
        return out;
    }
    std::vector<IpAddr> addrs;
    for (uint32_t v = 0; v < V; ++v)
        addrs.push_back(opt.vips.empty() ? *IpAddr::parse("192.0.2." + std::to_string(v + 1)) : opt.vips[v]);
    for (uint32_t h = 0; h < p.input.hosts; ++h) {
        std::string masters;
        for (uint32_t v = 0; v < V; ++v)
            if (a.order[v][0] == h) masters += (masters.empty() ? "" : ", ") + ("vip" + std::to_string(v + 1));
        std::string y = "# dplbctl plan: " + p.host_name(h) + " of " + std::to_string(p.input.hosts) +
                        " hosts, up to " +
                        plural(p.input.failures, "failure", "failures") + ", " +
                        format_rate(static_cast<double>(p.input.traffic_bps)) + " over " +
                        format_rate(static_cast<double>(p.input.link_bps)) + " links.\n# " +
                        std::to_string(V) + " VIPs, one VRRP instance each; " + p.host_name(h) + " is MASTER of " +
                        masters + " and a backup of the others.\n";
        if (opt.vips.empty())
            y += "# The addresses are placeholders (192.0.2.0/24): put your own, the same in every host's file.\n";
        y += "# An address that is a service's vip in this file is forwarded by dplb; any other is added to\n"
             "# the kernel side of the port while MASTER (a VRRP-only site).\nvrrp_instances:\n";
        for (uint32_t v = 0; v < V; ++v) {
            const auto& o = a.order[v];
            uint32_t rank = static_cast<uint32_t>(std::find(o.begin(), o.end(), h) - o.begin());
            config::keepalived::OutVrrp vi;
            vi.name = "vip" + std::to_string(v + 1);
            vi.interface = opt.interface;
            vi.state = rank == 0 ? "MASTER" : "BACKUP";
            vi.vrid = opt.vrid_base + v;
            vi.priority = priority_for_rank(rank);
            vi.advert_us = opt.advert_int_s * 1000000u;
            vi.version = 2;
            vi.preempt = true;
            if (!opt.auth_pass.empty()) vi.auth_pass = opt.auth_pass;
            vi.vips.emplace_back(addrs[v], 0);
            y += config::keepalived::vrrp_instance_yaml(vi);
        }
        out.files.emplace_back(p.host_name(h) + ".yaml", y);
    }
    return out;
}

std::string write_plan_yaml(const Plan& p, const EmitOptions& options, const std::string& dir) {
    EmittedConfigs e = plan_yaml(p, options);
    if (!e.error.empty()) return e.error;
    for (const auto& [name, text] : e.files) {
        std::string path = dir + "/" + name;
        std::ofstream f(path);
        f << text;
        f.close();
        if (!f) return "cannot write " + path;
    }
    return "";
}

}  // namespace dplb::vrrp
