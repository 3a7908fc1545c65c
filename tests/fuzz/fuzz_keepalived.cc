// The keepalived importer under libFuzzer: the input is a keepalived.conf's text. Checked:
// - import_keepalived either returns YAML or throws ConfigError, never anything else, and never the
//   error that says its own output did not load (keepalived_import.cc: "a bug in the import");
// - every error and warning names the file first: "fuzz.conf:LINE:COL: ..." or "fuzz.conf: ..."
//   for errors, "fuzz.conf:LINE: ..." or "fuzz.conf: ..." (about the whole file) for warnings.
// (That the YAML loads is checked by import_keepalived itself, which reports it as that error.)
#include <cctype>
#include <string>

#include "config.h"
#include "fuzz_input.h"
#include "keepalived_import.h"

namespace {

constexpr const char* kName = "fuzz.conf";
// What import_keepalived says first when its own output does not load (keepalived_import.cc).
const std::string kImportBug = "fuzz.conf: the converted configuration does not load (a bug in the import):";

bool named(const std::string& msg) { return msg.compare(0, 10, "fuzz.conf:") == 0; }

// "fuzz.conf:LINE: " or "fuzz.conf: ".
bool lined(const std::string& msg) {
    if (msg.compare(0, 11, "fuzz.conf: ") == 0) return true;
    size_t i = 10, digits = 0;
    for (; i < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i])); i++) digits++;
    return named(msg) && digits && msg.compare(i, 2, ": ") == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dplb;
    const std::string text(reinterpret_cast<const char*>(data), size);
    config::ImportResult r;
    try {
        r = config::import_keepalived(text, kName);
    } catch (const config::ConfigError& e) {
        FUZZ_CHECK(!e.errors.empty(), "ConfigError without errors");
        FUZZ_CHECK(e.errors[0] != kImportBug, "%s", e.what());
        for (const std::string& m : e.errors)
            FUZZ_CHECK(named(m), "error not prefixed by the file name: %s", m.c_str());
        return 0;
    } catch (const std::exception& e) {
        FUZZ_CHECK(false, "import_keepalived threw something other than ConfigError: %s", e.what());
    }
    for (const std::string& w : r.warnings) FUZZ_CHECK(lined(w), "warning not NAME:LINE: or NAME: %s", w.c_str());
    FUZZ_CHECK(!r.yaml.empty(), "an import without errors and without YAML");
    return 0;
}
