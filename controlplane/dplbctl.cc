// dplbctl: the operator's tool. Talks to dplbd over its control socket, as ipvsadm talks to the
// kernel; `import-keepalived` and `import-ipvsadm` convert a keepalived.conf or ipvsadm rules without a
// daemon.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "config.h"
#include "control_server.h"
#include "ipvsadm_import.h"
#include "keepalived_import.h"
#include "version.h"
#include "vrrp/plan_report.h"
#include "vrrp/planner.h"

namespace {

const char* kDefaultSocket = "/run/dplb/dplb.sock";
// How long dplbctl waits for dplbd's whole answer by default (a reload or a listing of every
// connection may take a while; a wedged or starting dplbd must not hang a script forever).
const unsigned kDefaultTimeoutS = 60;

void usage() {
    std::fprintf(stderr,
                 "usage: dplbctl [-s SOCKET] [-t SECONDS] COMMAND [ARGS] [--json]\n"
                 "       dplbctl --help | --version\n"
                 "  list [-t|-u VIP:PORT] [--stats | --rate | --thresholds | --persistent-conn |\n"
                 "       --connections | --timeout] [--exact] [--nosort]   (as ipvsadm -Ln)\n"
                 "  timeouts [--detail]   status   reload\n"
                 "  weight [tcp:|udp:]VIP:PORT REAL:PORT N     drain REAL:PORT     maintenance on|off\n"
                 "  help (from the daemon)\n"
                 "  import-keepalived [--config-id ID] [--allow-auth-downgrade] [--fwmark ...] keepalived.conf\n"
                 "       > lb.yaml\n"
                 "       (no daemon needed; warnings on stderr; --config-id: keepalived's -i ID for @ID lines;\n"
                 "       --allow-auth-downgrade: convert auth_type AH as no authentication;\n"
                 "       --fwmark N=VIP:PORT[,PORT...] (repeatable): what virtual_server fwmark N stands for)\n"
                 "  import-ipvsadm RULES > lb.yaml   (ipvsadm-save output or a script of ipvsadm lines; - = stdin)\n"
                 "  ipvsadm ARGS...   (ipvsadm's -A -E -D -a -e -d -C --set -L -S -Z, and -R < RULES, on the\n"
                 "       running daemon until the next reload)\n"
                 "  plan --hosts H --failures F --traffic 1.5Gbit --link 1Gbit [--json] [--emit-config DIR]\n"
                 "       [--vips IP,IP,...] [--interface PORT] [--vrid-base N] [--auth-pass P]\n"
                 "default socket: %s (or $DPLB_SOCKET); -t: how long to wait for the answer (default %u s,\n"
                 "0: as long as it takes)\n",
                 kDefaultSocket, kDefaultTimeoutS);
}

using Importer = std::function<dplb::config::ImportResult(const std::string& text, const std::string& name)>;

// keepalived.conf or ipvsadm rules ("-": standard input) -> YAML on stdout; what does not carry over
// is listed on stderr with line numbers, also when the import fails (before the reason).
int import_file(const std::string& path, const Importer& import) {
    std::stringstream text;
    if (path == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream f(path);
        if (!f) {
            std::fprintf(stderr, "dplbctl: %s: cannot open: %s\n", path.c_str(), std::strerror(errno));
            return 1;
        }
        text << f.rdbuf();
    }
    try {
        dplb::config::ImportResult r = import(text.str(), path == "-" ? "stdin" : path);
        std::fputs(r.yaml.c_str(), stdout);
        for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        return 0;
    } catch (const dplb::config::ImportError& e) {
        for (const auto& w : e.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    } catch (const dplb::config::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}

// import-keepalived [--config-id ID] [--allow-auth-downgrade] [--fwmark N=VIP:PORT[,PORT...]]... FILE
int import_keepalived(const std::vector<std::string>& words) {
    dplb::config::KeepalivedImportOptions opts;
    std::string path;
    for (size_t i = 1; i < words.size(); i++) {
        const std::string& a = words[i];
        if (a == "--config-id" && i + 1 < words.size() && !words[i + 1].empty()) {
            opts.config_id = words[++i];
        } else if (a == "--allow-auth-downgrade") {
            opts.allow_auth_downgrade = true;
        } else if (a == "--fwmark" && i + 1 < words.size()) {
            if (std::string err = dplb::config::add_fwmark_option(words[++i], opts); !err.empty()) {
                std::fprintf(stderr, "dplbctl import-keepalived: %s\n", err.c_str());
                return 2;
            }
        } else if (path.empty() && (a == "-" || a.empty() || a[0] != '-')) {
            path = a;
        } else {
            path.clear();
            break;
        }
    }
    if (path.empty()) {
        std::fprintf(stderr,
                     "usage: dplbctl import-keepalived [--config-id ID] [--allow-auth-downgrade] "
                     "[--fwmark N=VIP:PORT[,PORT...]]... keepalived.conf > lb.yaml\n");
        return 2;
    }
    // keepalived reads an include relative to the directory of the file that names it.
    if (path != "-") {
        opts.base_dir = std::filesystem::path(path).parent_path().string();
        if (opts.base_dir.empty()) opts.base_dir = ".";
    }
    return import_file(path, [&opts](const std::string& text, const std::string& name) {
        return dplb::config::import_keepalived(text, name, opts);
    });
}

bool to_u32(const std::string& s, uint32_t& out) {
    if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = static_cast<uint32_t>(std::stoul(s));
    return true;
}

// Active-active planning: how many VIPs, and which host backs up which, so that any F failures
// leave every surviving link under its capacity.
int plan(const std::vector<std::string>& args) {
    dplb::vrrp::PlanInput in;
    dplb::vrrp::EmitOptions emit;
    std::string emit_dir;
    bool json = false;
    for (size_t i = 1; i < args.size(); i++) {
        const std::string& a = args[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= args.size()) return false;
            out = args[++i];
            return true;
        };
        std::string v;
        bool ok = true;
        if (a == "--json") json = true;
        else if (a == "--hosts") ok = value(v) && to_u32(v, in.hosts);
        else if (a == "--failures") ok = value(v) && to_u32(v, in.failures);
        else if (a == "--traffic" || a == "--link") {
            ok = value(v);
            auto rate = ok ? dplb::vrrp::parse_rate(v) : std::nullopt;
            if (!rate) {
                std::fprintf(stderr, "dplbctl plan: %s: expected a rate like 1.5Gbit or 800Mbit, got \"%s\"\n",
                             a.c_str(), v.c_str());
                return 2;
            }
            (a == "--traffic" ? in.traffic_bps : in.link_bps) = *rate;
        } else if (a == "--emit-config") ok = value(emit_dir);
        else if (a == "--interface") ok = value(emit.interface);
        else if (a == "--auth-pass") ok = value(emit.auth_pass);
        else if (a == "--vrid-base") ok = value(v) && to_u32(v, emit.vrid_base);
        else if (a == "--vips") {
            ok = value(v);
            for (size_t p = 0; ok && p <= v.size();) {
                size_t c = v.find(',', p);
                std::string one = v.substr(p, c == std::string::npos ? std::string::npos : c - p);
                auto ip = dplb::IpAddr::parse(one);
                if (!ip) {
                    std::fprintf(stderr, "dplbctl plan: --vips: \"%s\" is not an IP address\n", one.c_str());
                    return 2;
                }
                emit.vips.push_back(*ip);
                if (c == std::string::npos) break;
                p = c + 1;
            }
        } else ok = false;
        if (!ok) {
            std::fprintf(stderr, "dplbctl plan: bad or incomplete option '%s'\n", a.c_str());
            usage();
            return 2;
        }
    }
    if (!in.hosts || !in.traffic_bps || !in.link_bps) {
        std::fprintf(stderr, "dplbctl plan: --hosts, --traffic and --link are required\n");
        return 2;
    }
    dplb::vrrp::Plan p = dplb::vrrp::plan(in);
    std::fputs((json ? dplb::vrrp::plan_json(p) : dplb::vrrp::plan_text(p)).c_str(), stdout);
    if (!p.found) return 1;
    if (!emit_dir.empty()) {
        std::string err = dplb::vrrp::write_plan_yaml(p, emit, emit_dir);
        if (!err.empty()) {
            std::fprintf(stderr, "dplbctl plan: %s\n", err.c_str());
            return 1;
        }
        if (!json) std::printf("wrote one YAML file per host into %s\n", emit_dir.c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::string sock = std::getenv("DPLB_SOCKET") ? std::getenv("DPLB_SOCKET") : kDefaultSocket;
    std::vector<std::string> words;
    uint32_t timeout_s = kDefaultTimeoutS;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if (!words.empty() && words[0] == "ipvsadm") {  // ipvsadm's own options from here on (-s, -t, -h)
            words.push_back(a);
            continue;
        }
        if ((a == "-s" || a == "--socket") && i + 1 < argc) sock = argv[++i];
        else if ((a == "-t" || a == "--timeout") && words.empty()) {
            if (i + 1 >= argc || !to_u32(argv[i + 1], timeout_s) || timeout_s > 86400) {
                std::fprintf(stderr, "dplbctl: %s: expected seconds (0..86400)\n", a.c_str());
                return 2;
            }
            i++;
        } else if (a == "--version" && words.empty()) {
            std::printf("dplbctl %s\n", DPLB_VERSION);
            return 0;
        } else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else words.push_back(a);
    }
    if (words.empty()) {
        usage();
        return 2;
    }
    if (words[0] == "plan") return plan(words);
    if (words[0] == "import-keepalived") return import_keepalived(words);
    if (words[0] == "import-ipvsadm") {
        if (words.size() != 2) {
            std::fprintf(stderr, "usage: dplbctl import-ipvsadm RULES (- for stdin) > lb.yaml\n");
            return 2;
        }
        return import_file(words[1], dplb::config::import_ipvsadm);
    }
    if (words[0] == "ipvsadm" && words.size() >= 2 && (words[1] == "-R" || words[1] == "--restore")) {
        // The rules (ipvsadm-save's lines) from standard input, one word each.
        if (words.size() != 2) {
            std::fprintf(stderr, "usage: dplbctl ipvsadm -R < RULES\n");
            return 2;
        }
        for (std::string line; std::getline(std::cin, line);) words.push_back(line);
    }
    try {
        dplb::Reply r = dplb::control_request(sock, words, std::chrono::seconds(timeout_s));
        std::fputs(r.text.c_str(), r.ok ? stdout : stderr);
        return r.ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dplbctl: %s: %s (is dplbd running?)\n", sock.c_str(), e.what());
        return 1;
    }
}
