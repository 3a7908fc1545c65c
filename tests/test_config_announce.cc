// The `announce:` section (config/config.h AnnounceConfig): values, defaults, the errors with their
// file:line:col, and what a reload may not change.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config.h"
#include "config_errors.h"

namespace dplb::config {
namespace {

const char* const kBase =
    "ports:\n"
    "  - name: lan\n"
    "    device: net_af_packet0\n"
    "services:\n"
    "  - vip: 10.0.0.10\n"
    "    port: 80\n"
    "    protocol: tcp\n"
    "    real_servers:\n"
    "      - ip: 10.0.0.21\n";

std::vector<std::string> errors_of(const std::string& text) { return config_errors(text, "a.yaml"); }

TEST(ConfigAnnounce, AbsentIsOff) {
    Config c = load_config_string(kBase, "a.yaml");
    EXPECT_FALSE(c.announce.enabled);
}

TEST(ConfigAnnounce, TableWithDefaults) {
    Config c = load_config_string(std::string(kBase) + "announce:\n  table: 201\n", "a.yaml");
    EXPECT_TRUE(c.announce.enabled);
    EXPECT_EQ(c.announce.table, 201u);
    EXPECT_EQ(c.announce.protocol, 201);
    EXPECT_FALSE(c.announce.maintenance);
}

TEST(ConfigAnnounce, EveryKey) {
    Config c = load_config_string(
        std::string(kBase) + "announce:\n  table: 4294967295\n  protocol: 99\n  maintenance: true\n", "a.yaml");
    EXPECT_EQ(c.announce.table, 4294967295u);
    EXPECT_EQ(c.announce.protocol, 99);
    EXPECT_TRUE(c.announce.maintenance);
}

TEST(ConfigAnnounce, Errors) {
    const std::string b = kBase;  // 9 lines: `announce:` is line 10
    EXPECT_EQ(errors_of(b + "announce:\n  protocol: 201\n"),
              std::vector<std::string>{"a.yaml:11:3: announce.table: required key missing"});
    EXPECT_EQ(errors_of(b + "announce:\n  table: 0\n"),
              std::vector<std::string>{"a.yaml:11:10: announce.table: expected integer 1..4294967295, got \"0\""});
    EXPECT_EQ(errors_of(b + "announce:\n  table: 4294967296\n"),
              std::vector<std::string>{
                  "a.yaml:11:10: announce.table: expected integer 1..4294967295, got \"4294967296\""});
    for (const char* t : {"253", "254", "255"})
        EXPECT_EQ(errors_of(b + "announce:\n  table: " + t + "\n"),
                  std::vector<std::string>{std::string("a.yaml:11:10: announce.table: expected a table of dplbd's own, not ") +
                                           t + " (253 default, 254 main and 255 local are the kernel's)"});
    EXPECT_EQ(errors_of(b + "announce:\n  table: 201\n  protocol: 4\n"),
              std::vector<std::string>{"a.yaml:12:13: announce.protocol: expected integer 5..255, got \"4\""});
    EXPECT_EQ(errors_of(b + "announce:\n  table: 201\n  protocol: 256\n"),
              std::vector<std::string>{"a.yaml:12:13: announce.protocol: expected integer 5..255, got \"256\""});
    EXPECT_EQ(errors_of(b + "announce:\n  table: 201\n  maintenance: yes\n"),
              std::vector<std::string>{"a.yaml:12:16: announce.maintenance: expected true or false, got \"yes\""});
    EXPECT_EQ(errors_of(b + "announce:\n  table: 201\n  tabel: 5\n"),
              std::vector<std::string>{"a.yaml:12:3: announce.tabel: unknown key"});
    EXPECT_EQ(errors_of(b + "announce: 201\n"),
              std::vector<std::string>{"a.yaml:10:11: announce: expected a map, got \"201\""});
}

TEST(ConfigAnnounce, ReloadRefusesTableProtocolAndPresence) {
    Config off = load_config_string(kBase, "a.yaml");
    Config on = load_config_string(std::string(kBase) + "announce:\n  table: 201\n", "a.yaml");
    Config moved = load_config_string(std::string(kBase) + "announce:\n  table: 202\n  protocol: 202\n", "a.yaml");
    Config maint = load_config_string(std::string(kBase) + "announce:\n  table: 201\n  maintenance: true\n", "a.yaml");
    EXPECT_EQ(fixed_field_changes(off, on), std::vector<std::string>{"announce"});
    EXPECT_EQ(fixed_field_changes(on, off), std::vector<std::string>{"announce"});
    EXPECT_EQ(fixed_field_changes(on, moved), (std::vector<std::string>{"announce.table", "announce.protocol"}));
    EXPECT_TRUE(fixed_field_changes(on, maint).empty());  // maintenance may change by reload
    EXPECT_TRUE(fixed_field_changes(on, on).empty());
}

}  // namespace
}  // namespace dplb::config
