// keepalived.conf -> dplb YAML, for operators moving a keepalived + IPVS director to dplb.
// `dplbctl import-keepalived FILE > lb.yaml` is this function with a file around it.
// What maps to what, and what is only warned about, is in config/README.md.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace dplb::config {

struct ImportResult {
    std::string yaml;                   // loads with load_config_string without errors (once the
                                        // programs of its scripts and hooks exist on the host)
    std::vector<std::string> warnings;  // "NAME:LINE: message", in file order; what did not carry over
};

// `name` is the file name to print in messages. Throws ConfigError, with every problem found as
// "NAME:LINE:COL: message", when the text is not a keepalived configuration that can be converted:
// unbalanced braces, a virtual_server or real_server without its port, a value keepalived itself
// would refuse, or one outside what dplb accepts.
ImportResult import_keepalived(const std::string& text, const std::string& name);

// Throws ConfigError when `r.yaml` does not load: "NAME: the converted configuration does not
// load" + `why` + ":", then the loader's messages. Every importer ends with it. Scripts' programs are
// not looked for: the file may be converted for another host.
void check_converted(const ImportResult& r, const std::string& name, const std::string& why);

}  // namespace dplb::config
