// keepalived.conf -> dplb YAML, in five steps, one per file of keepalived/: the preprocessor does what
// keepalived does to the lines before parsing them (conditions, definitions, ~SEQ, includes), the lexer
// turns the text into words with their positions, the parser turns the words into a tree of statements and blocks
// (this is where unbalanced braces are found), the mapper walks the tree keyword by keyword into a
// small output model, and the emitter writes the model out as YAML. Like the YAML loader, every step
// reports all it finds before giving up. Whatever keepalived says that dplb cannot say becomes a
// warning with its line; whatever the output could not load with is an error, so the YAML that comes
// out always loads (which the end of import_keepalived checks once more).
#include "keepalived_import.h"

#include <algorithm>
#include <string>
#include <vector>

#include "keepalived/emitter.h"
#include "keepalived/lexer.h"
#include "keepalived/mapper.h"
#include "keepalived/messages.h"
#include "keepalived/parser.h"
#include "keepalived/preprocess.h"
#include "keepalived/values.h"

namespace dplb::config {

void check_converted(const ImportResult& r, const std::string& name, const std::string& why) {
    try {
        LoadOptions o;
        o.check_programs = false;  // scripts named for the host the file is for
        load_config_string(r.yaml, name + " (converted)", o);
    } catch (const ConfigError& e) {
        std::vector<std::string> errs{name + ": the converted configuration does not load" + why + ":"};
        errs.insert(errs.end(), e.errors.begin(), e.errors.end());
        throw ConfigError(errs);
    }
}

std::string add_fwmark_option(const std::string& value, KeepalivedImportOptions& opts) {
    const std::string form = " (expected N=VIP:PORT[,PORT...], e.g. 7=10.0.0.100:80,443)";
    const size_t eq = value.find('=');
    if (eq == std::string::npos) return "--fwmark " + value + ": no '='" + form;
    const std::string mark = value.substr(0, eq), rest = value.substr(eq + 1);
    auto n = keepalived::parse_uint(mark, 0xffffffffu);
    if (!n || *n == 0) return "--fwmark " + value + ": expected a mark 1..4294967295, got \"" + mark + "\"" + form;
    if (opts.fwmarks.count(*n)) return "--fwmark " + value + ": mark " + mark + " is given twice";
    std::string host, ports;
    if (!rest.empty() && rest[0] == '[') {
        const size_t close = rest.find("]:");
        if (close == std::string::npos) return "--fwmark " + value + ": expected [IPv6]:PORTS" + form;
        host = rest.substr(1, close - 1);
        ports = rest.substr(close + 2);
    } else {
        const size_t colon = rest.find(':');
        if (colon == std::string::npos) return "--fwmark " + value + ": no ':' before the ports" + form;
        host = rest.substr(0, colon);
        ports = rest.substr(colon + 1);
    }
    FwmarkTarget t;
    auto ip = IpAddr::parse(host);
    if (!ip) return "--fwmark " + value + ": expected an IPv4 or IPv6 address, got \"" + host + "\"" + form;
    if (std::string why = vip_address_problem(*ip); !why.empty())
        return "--fwmark " + value + ": " + host + " cannot be a vip (" + why + ")";
    t.vip = *ip;
    size_t start = 0;
    while (true) {
        const size_t comma = ports.find(',', start);
        const std::string p = ports.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto port = keepalived::parse_uint(p, 65535);
        if (!port || *port == 0) return "--fwmark " + value + ": expected a port 1..65535, got \"" + p + "\"" + form;
        if (std::find(t.ports.begin(), t.ports.end(), *port) != t.ports.end())
            return "--fwmark " + value + ": port " + p + " is given twice";
        t.ports.push_back(static_cast<uint16_t>(*port));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    opts.fwmarks[*n] = std::move(t);
    return "";
}

ImportResult import_keepalived(const std::string& text, const std::string& name) {
    return import_keepalived(text, name, KeepalivedImportOptions{});
}

ImportResult import_keepalived(const std::string& text, const std::string& name,
                               const KeepalivedImportOptions& opts) {
    using namespace keepalived;
    Messages msgs(name);
    Source src = preprocess(text, name, opts, msgs);
    if (msgs.has_errors()) throw ImportError(msgs.errors(), msgs.warnings());
    const std::string expanded = src.text();
    msgs.set_origins(std::move(src.files), std::move(src.origins));
    Parser parser(msgs);
    lex(expanded, msgs, parser);
    const std::vector<Stmt> top = parser.finish();
    if (msgs.has_errors()) throw ImportError(msgs.errors(), msgs.warnings());
    Mapper mapper(msgs, opts.allow_auth_downgrade, &opts.fwmarks);
    mapper.run(top);
    if (msgs.has_errors()) throw ImportError(msgs.errors(), msgs.warnings());
    if (!mapper.has_services() && mapper.model().instances.empty())
        throw ImportError({name + ": no virtual_server and no vrrp_instance could be converted, and dplb needs "
                                  "one or the other"},
                          msgs.warnings());
    mapper.collect_ports();
    ImportResult out{emit_yaml(mapper.model(), name, msgs), msgs.warnings()};
    // The promise of this function; a failure here is a bug in the import, said as such.
    check_converted(out, name, " (a bug in the import)");
    return out;
}

}  // namespace dplb::config
