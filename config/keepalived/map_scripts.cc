// vrrp_script -> vrrp_scripts, track_script -> track_scripts, and the notify hooks of instances and
// real servers (notify_master / _backup / _fault / _stop, notify, notify_up / _down).
#include "command_line.h"
#include "keepalived/mapper.h"

namespace dplb::config::keepalived {
namespace {

constexpr const char* kNoShell = "; dplb runs a script's program by its absolute path, without a shell)";

// The words of a script statement as one command line, as keepalived splits a quoted one again.
std::string command_of(const Stmt& s, size_t from, size_t to) {
    std::string cmd;
    for (size_t i = from; i < to && i < s.words.size(); i++) cmd += (i > from ? " " : "") + s.words[i].text;
    return cmd;
}

// keepalived's weight of a vrrp_script or a track_script line: -253..253.
std::optional<int> parse_weight(const std::string& w) {
    bool neg = !w.empty() && w[0] == '-';
    auto v = parse_uint(neg ? w.substr(1) : w, 253);
    if (!v) return std::nullopt;
    return neg ? -static_cast<int>(*v) : static_cast<int>(*v);
}

}  // namespace

void Mapper::vrrp_script(const Stmt& s) {
    if (s.words.size() < 2) {
        msgs_.error(s.line(), s.kw().col, "vrrp_script: missing name (expected \"vrrp_script NAME {\")");
        return;
    }
    if (!need_block(s, "vrrp_script NAME") || !name_ok(s.words[1], "vrrp_script")) return;
    OutScript out;
    out.line = s.line();
    out.name = s.arg(1);
    const std::string label = "vrrp_script " + out.name;
    std::map<std::string, int> seen;
    bool ok = true;
    for (const Stmt& b : s.block) {
        const std::string& kw = b.kw().text;
        if (kw == "script") {
            v_.once(b, seen);
            out.script = command_of(b, 1, b.words.size());
        } else if (kw == "interval" || kw == "timeout") {
            v_.once(b, seen);
            auto v = v_.seconds(b, 1, kMaxScriptS);
            (kw == "interval" ? out.interval : out.timeout) = v;
            ok = ok && v.has_value();
        } else if (kw == "rise" || kw == "fall") {
            v_.once(b, seen);
            auto v = v_.integer(b, 1, kMaxScriptRiseFall);
            (kw == "rise" ? out.rise : out.fall) = v;
            ok = ok && v.has_value();
        } else if (kw == "weight") {
            v_.once(b, seen);
            auto w = b.words.size() >= 2 ? parse_weight(b.words[1].text) : std::nullopt;
            if (!w) {
                msgs_.error(b.line(), b.kw().col, "weight: expected -253..253, got " + q(command_of(b, 1, 2)));
                ok = false;
                continue;
            }
            out.weight = *w;
            if (b.words.size() > 2)
                msgs_.warn(b.line(), "weight " + command_of(b, 1, b.words.size()) + ": " + command_of(b, 2, b.words.size()) +
                                         " not converted (dplb applies a weight as keepalived does without reverse)");
        } else if (kw == "init_fail") {
            v_.once(b, seen);
            if (auto f = v_.flag(b)) out.init_fail = *f;
        } else if (kw == "user") {
            v_.once(b, seen);
            if (b.words.size() < 2) {
                msgs_.error(b.line(), b.kw().col, "user: missing value");
                continue;
            }
            out.user = b.words[1].text;
            if (b.words.size() > 2)
                msgs_.warn(b.line(), "user " + command_of(b, 1, b.words.size()) + ": group " + q(b.words[2].text) +
                                         " not converted (dplb runs the script with the user's own group)");
        } else {
            not_converted(b);
        }
    }
    if (out.script.empty()) {
        msgs_.error(s.line(), s.kw().col, label + ": script missing");
        return;
    }
    if (!ok) return;
    if (std::string why = command_line_problem(out.script, false); !why.empty()) {
        msgs_.warn(s.line(), label + ": not converted (" + why + kNoShell);
        return;
    }
    for (const OutScript& o : model_.scripts)
        if (o.name == out.name) {
            msgs_.error(s.line(), s.words[1].col, label + ": duplicate name, first at line " + std::to_string(o.line));
            return;
        }
    model_.scripts.push_back(std::move(out));
}

void Mapper::track_script(const Stmt& b, OutVrrp& vi) {
    if (!need_block(b, "track_script")) return;
    for (const Stmt& t : b.block) {
        const std::string& name = t.kw().text;
        bool known = false;
        for (const OutScript& o : model_.scripts) known = known || o.name == name;
        if (!known) {
            msgs_.warn(t.line(), "track_script " + t.head() + ": not converted (no converted vrrp_script " + name + ")");
            continue;
        }
        bool again = false;
        for (const auto& n : vi.track_scripts) again = again || n == name;
        if (!again) vi.track_scripts.push_back(name);
        if (t.words.size() >= 3 && t.words[1].text == "weight") {
            if (auto w = parse_weight(t.words[2].text)) vi.track_script_weights[name] = *w;
            else
                msgs_.warn(t.line(), "track_script " + t.head() + ": weight must be -253..253; the script's own is used");
            if (t.words.size() > 3)
                msgs_.warn(t.line(), "track_script " + t.head() + ": " + command_of(t, 3, t.words.size()) +
                                         " not converted (dplb applies a weight as keepalived does without reverse)");
        } else if (t.words.size() > 1) {
            msgs_.warn(t.line(), "track_script " + t.head() + ": only \"weight N\" is understood; the script's own "
                                 "weight is used");
        }
    }
}

std::string Mapper::notify_hook(const Stmt& b) {
    if (b.words.size() < 2 || b.words[1].text.empty()) {
        msgs_.error(b.line(), b.kw().col, b.kw().text + ": missing script");
        return "";
    }
    if (std::string why = command_line_problem(b.words[1].text, false); !why.empty()) {
        msgs_.warn(b.line(), b.kw().text + ": not converted (" + why + kNoShell);
        return "";
    }
    if (b.words.size() > 2)
        msgs_.warn(b.line(), b.kw().text + ": user " + command_of(b, 2, b.words.size()) +
                                 " not converted (dplb runs notify hooks as its own user; quote a command with "
                                 "arguments: keepalived reads the words after the script as a user)");
    return b.words[1].text;
}

}  // namespace dplb::config::keepalived
