// The YAML loader under libFuzzer: the input is a configuration file's text. Checked:
// - load_config_string either returns a configuration or throws ConfigError, never anything else;
//   every error is "fuzz.yaml:LINE:COL: ...", its line inside the text, one line without control
//   characters (what the operator's terminal shows; check "control-chars", see skipped()), and
//   what() is the errors joined by newlines;
// - a configuration that loads names its file, differs from itself in no fixed field, and builds a
//   snapshot (build_snapshot, unless its Maglev tables alone would be large: fuzzing time, not a
//   bug) whose services are what the data plane relies on: unique ids, each found by its own vip,
//   port and protocol, its VIP slot holding its VIP, every real id in range, in use, of that service,
//   and every Maglev and wrr table entry one of its reals.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>

#include "config.h"
#include "fuzz_input.h"
#include "snapshot_builder.h"

namespace dplb::fuzz {
namespace {

constexpr const char* kName = "fuzz.yaml";
constexpr uint64_t kMaxMhSlotsBuilt = 1u << 18;

// "NAME:LINE:COL: " at the start of `msg`, with LINE at most `lines`.
bool positioned(const std::string& msg, const std::string& name, size_t lines) {
    if (msg.compare(0, name.size() + 1, name + ":") != 0) return false;
    size_t i = name.size() + 1, line = 0, digits = 0;
    for (; i < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i])); i++, digits++)
        line = std::min<size_t>(line * 10 + static_cast<size_t>(msg[i] - '0'), SIZE_MAX / 20);
    if (!digits || line == 0 || line > lines || i >= msg.size() || msg[i++] != ':') return false;
    for (digits = 0; i < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i])); i++) digits++;
    return digits && msg.compare(i, 2, ": ") == 0;
}

// One line an operator's terminal shows as it is: no control characters (the loader quotes the
// values it repeats, text.h).
bool printable(const std::string& msg) {
    return std::none_of(msg.begin(), msg.end(),
                        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// `msg` with its control characters as \xNN, to print the broken invariant.
std::string quoted(const std::string& msg) {
    std::string out;
    for (char c : msg) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7f) {
            out += c;
            continue;
        }
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", u);
        out += hex;
    }
    return out;
}

void check_snapshot(const config::Config& cfg) {
    uint64_t mh_slots = 0;
    for (const config::Service& s : cfg.services)
        mh_slots += s.mh_table_size;  // every service has one: the table-full fallback
    if (mh_slots > kMaxMhSlotsBuilt) return;
    Snapshot snap = build_snapshot(cfg);
    FUZZ_CHECK(snap.services.size() == cfg.services.size(), "%zu services configured, %zu in the snapshot",
               cfg.services.size(), snap.services.size());
    FUZZ_CHECK(snap.dests.size() <= kMaxDests, "%zu real ids", snap.dests.size());
    std::vector<bool> ids(kMaxServices);
    for (const Service& s : snap.services) {
        FUZZ_CHECK(s.id < kMaxServices && !ids[s.id], "service id %u out of range or taken twice", s.id);
        ids[s.id] = true;
        const Service* found = s.vip.is_v4() ? snap.find_service4(s.vip.v4_be(), s.port, s.proto)
                                             : snap.find_service6(s.vip.b.data(), s.port, s.proto);
        FUZZ_CHECK(found == &s, "service %s port %u proto %u: the lookup finds another", s.vip.str().c_str(), s.port,
                   s.proto);
        FUZZ_CHECK(s.vip_slot < snap.vips.size() && snap.vips[s.vip_slot].ip == s.vip, "service %u: VIP slot %u of %zu",
                   s.id, s.vip_slot, snap.vips.size());
        for (uint16_t id : s.dests) {
            FUZZ_CHECK(id < snap.dests.size() && snap.dests[id].in_use && snap.dests[id].svc == s.id &&
                           !snap.dests[id].draining,
                       "service %u lists real id %u, not one of its own", s.id, id);
        }
        auto own = [&s](uint16_t id) { return std::find(s.dests.begin(), s.dests.end(), id) != s.dests.end(); };
        for (uint16_t id : s.tables->mh) FUZZ_CHECK(own(id), "service %u: Maglev entry %u not its real", s.id, id);
        for (uint16_t id : s.tables->wrr_seq) FUZZ_CHECK(own(id), "service %u: wrr entry %u not its real", s.id, id);
        for (uint16_t id : s.tables->sh) FUZZ_CHECK(own(id), "service %u: sh entry %u not its real", s.id, id);
    }
}

}  // namespace
}  // namespace dplb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dplb;
    using namespace dplb::fuzz;
    const std::string text(reinterpret_cast<const char*>(data), size);
    const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    config::Config cfg;
    try {
        cfg = config::load_config_string(text, kName);
    } catch (const config::ConfigError& e) {
        FUZZ_CHECK(!e.errors.empty(), "ConfigError without errors");
        std::string joined;
        for (const std::string& m : e.errors) {
            if (!skipped("control-chars"))
                FUZZ_CHECK(printable(m), "error with a control character in it: %s", quoted(m).c_str());
            FUZZ_CHECK(positioned(m, kName, lines), "error not NAME:LINE:COL: (%zu lines): %s", lines, m.c_str());
            joined += (joined.empty() ? "" : "\n") + m;
        }
        if (joined.find('\0') == std::string::npos)  // else what(), a C string, stops at it
            FUZZ_CHECK(joined == e.what(), "what() is not the errors joined: %s", e.what());
        return 0;
    } catch (const std::exception& e) {
        FUZZ_CHECK(false, "load_config_string threw something other than ConfigError: %s", e.what());
    }
    FUZZ_CHECK(cfg.file == kName, "the configuration names file \"%s\"", cfg.file.c_str());
    FUZZ_CHECK(config::fixed_field_changes(cfg, cfg).empty(), "a configuration differs from itself in a fixed field");
    check_snapshot(cfg);
    return 0;
}
