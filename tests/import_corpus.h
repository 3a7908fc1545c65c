// The golden corpus of an importer (keepalived.conf, ipvsadm rules): every FILE.EXT in a folder
// converts to exactly FILE.yaml.expected with exactly the warnings of FILE.warnings.expected, and
// what comes out loads; every FILE.EXT in its bad/ folder fails with exactly the errors of
// FILE.expected, each matching `format`.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "config.h"
#include "keepalived_import.h"

namespace dplb::config::testing {

using Importer = std::function<ImportResult(const std::string& text, const std::string& name)>;

inline std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot read " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string join_lines(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& l : lines) out += l + "\n";
    return out;
}

// Returns how many files were checked.
inline int check_good_corpus(const std::filesystem::path& dir, const std::string& ext, const Importer& import) {
    namespace fs = std::filesystem;
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ext) continue;
        const std::string name = entry.path().filename().string();
        fs::path yaml_path = entry.path(), warn_path = entry.path();
        yaml_path.replace_extension(".yaml.expected");
        warn_path.replace_extension(".warnings.expected");
        EXPECT_TRUE(fs::exists(yaml_path)) << name << " has no .yaml.expected";
        EXPECT_TRUE(fs::exists(warn_path)) << name << " has no .warnings.expected";
        try {
            ImportResult r = import(read_text(entry.path()), name);
            EXPECT_EQ(r.yaml, read_text(yaml_path)) << "in " << name;
            EXPECT_EQ(join_lines(r.warnings), read_text(warn_path)) << "in " << name;
            // What comes out is a configuration dplbd takes as it is.
            EXPECT_NO_THROW(load_config_string(r.yaml, name + ".yaml")) << "in " << name;
        } catch (const ConfigError& e) {
            ADD_FAILURE() << name << ": " << e.what();
        }
        checked++;
    }
    return checked;
}

inline int check_bad_corpus(const std::filesystem::path& dir, const std::string& ext, const Importer& import,
                            const std::regex& format) {
    namespace fs = std::filesystem;
    int checked = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.path().extension() != ext) continue;
        const std::string name = entry.path().filename().string();
        fs::path expected_path = entry.path();
        expected_path.replace_extension(".expected");
        EXPECT_TRUE(fs::exists(expected_path)) << name << " has no .expected";
        std::string expected = read_text(expected_path);
        while (!expected.empty() && expected.back() == '\n') expected.pop_back();
        try {
            import(read_text(entry.path()), name);
            ADD_FAILURE() << name << " converted without errors";
        } catch (const ConfigError& e) {
            EXPECT_EQ(e.what(), expected) << "in " << name;
            for (const std::string& m : e.errors) EXPECT_TRUE(std::regex_match(m, format)) << m;
        }
        checked++;
    }
    return checked;
}

}  // namespace dplb::config::testing
