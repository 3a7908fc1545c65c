// keepalived.conf -> dplb YAML, for operators moving a keepalived + IPVS director to dplb.
// `dplbctl import-keepalived FILE > lb.yaml` is this function with a file around it.
// What maps to what, and what is only warned about, is in config/README.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config.h"

namespace dplb::config {

struct ImportResult {
    std::string yaml;                   // loads with load_config_string without errors (once the
                                        // programs of its scripts and hooks exist on the host)
    std::vector<std::string> warnings;  // "NAME:LINE: message", in file order; what did not carry over
};

// What a firewall mark stands for: dplb matches no netfilter marks, so `virtual_server fwmark N`
// becomes one service per port of this address.
struct FwmarkTarget {
    IpAddr vip;
    std::vector<uint16_t> ports;  // in the order given, each once
};

// What keepalived's command line and the operator decide, which keepalived.conf does not say.
struct KeepalivedImportOptions {
    // import-keepalived --fwmark N=VIP:PORT[,PORT...]: mark -> what it stands for.
    std::map<uint32_t, FwmarkTarget> fwmarks;
    // keepalived -i ID: "@ID line" is kept and "@^ID line" dropped. Without it, "@ID" lines are dropped
    // and "@^ID" lines kept, each with a warning.
    std::optional<std::string> config_id;
    // auth_type AH becomes no authentication with a warning, rather than an error.
    bool allow_auth_downgrade = false;
    // Where the text's relative include paths resolve: the directory of the file it was read from
    // ("." for the current one). Empty: the text was not read from a file, and an include is an error.
    std::string base_dir;
};

// An import that failed, with the warnings found before it did (what the operator would also have
// had to fix).
class ImportError : public ConfigError {
public:
    ImportError(std::vector<std::string> errors, std::vector<std::string> warnings)
        : ConfigError(std::move(errors)), warnings(std::move(warnings)) {}
    std::vector<std::string> warnings;
};

// One --fwmark value, "N=VIP:PORT[,PORT...]" ("N=[IPv6]:PORT,..." for IPv6), added to `opts`: "" when
// it is taken, else why not. N is 1..4294967295 as keepalived takes a mark; a mark given twice is refused.
std::string add_fwmark_option(const std::string& value, KeepalivedImportOptions& opts);

// `name` is the file name to print in messages. Throws ConfigError, with every problem found as
// "NAME:LINE:COL: message", when the text is not a keepalived configuration that can be converted:
// unbalanced braces, a virtual_server or real_server without its port, a value keepalived itself
// would refuse, or one outside what dplb accepts.
// Throws ImportError, which carries the warnings found so far.
ImportResult import_keepalived(const std::string& text, const std::string& name,
                               const KeepalivedImportOptions& opts);
// With the default options.
ImportResult import_keepalived(const std::string& text, const std::string& name);

// Throws ConfigError when `r.yaml` does not load: "NAME: the converted configuration does not
// load" + `why` + ":", then the loader's messages. Every importer ends with it. Scripts' programs are
// not looked for: the file may be converted for another host.
void check_converted(const ImportResult& r, const std::string& name, const std::string& why);

}  // namespace dplb::config
