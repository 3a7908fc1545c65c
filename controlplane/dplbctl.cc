// dplbctl: the operator's tool. Talks to dplbd over its control socket, as ipvsadm talks to the
// kernel; `import-keepalived` converts a keepalived.conf without a daemon.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config.h"
#include "control_server.h"
#include "keepalived_import.h"

namespace {

const char* kDefaultSocket = "/run/dplb/dplb.sock";

void usage() {
    std::fprintf(stderr,
                 "usage: dplbctl [-s SOCKET] COMMAND [ARGS] [--json]\n"
                 "  list [--stats | --rate | --connections]   timeouts   status   reload\n"
                 "  weight [tcp:|udp:]VIP:PORT REAL:PORT N     drain REAL:PORT\n"
                 "  help (from the daemon)\n"
                 "  import-keepalived keepalived.conf > lb.yaml   (no daemon needed; warnings on stderr)\n"
                 "default socket: %s (or $DPLB_SOCKET)\n",
                 kDefaultSocket);
}

// keepalived.conf -> YAML on stdout; what does not carry over is listed on stderr with line numbers.
int import_keepalived(const std::string& path) {
    std::ifstream f(path);
    if (!f) {
        std::fprintf(stderr, "dplbctl: %s: cannot open: %s\n", path.c_str(), std::strerror(errno));
        return 1;
    }
    std::stringstream text;
    text << f.rdbuf();
    try {
        dplb::config::ImportResult r = dplb::config::import_keepalived(text.str(), path);
        std::fputs(r.yaml.c_str(), stdout);
        for (const auto& w : r.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
        return 0;
    } catch (const dplb::config::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string sock = std::getenv("DPLB_SOCKET") ? std::getenv("DPLB_SOCKET") : kDefaultSocket;
    std::vector<std::string> words;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        if ((a == "-s" || a == "--socket") && i + 1 < argc) sock = argv[++i];
        else if (a == "-h" || a == "--help") {
            usage();
            return 0;
        } else words.push_back(a);
    }
    if (words.empty()) {
        usage();
        return 2;
    }
    if (words[0] == "import-keepalived") {
        if (words.size() != 2) {
            std::fprintf(stderr, "usage: dplbctl import-keepalived keepalived.conf > lb.yaml\n");
            return 2;
        }
        return import_keepalived(words[1]);
    }
    try {
        dplb::Reply r = dplb::control_request(sock, words);
        std::fputs(r.text.c_str(), r.ok ? stdout : stderr);
        return r.ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dplbctl: %s: %s (is dplbd running?)\n", sock.c_str(), e.what());
        return 1;
    }
}
