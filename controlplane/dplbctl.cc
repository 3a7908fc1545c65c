// dplbctl: the operator's tool. Talks to dplbd over its control socket, as ipvsadm talks to the
// kernel; `import-keepalived` converts a keepalived.conf without a daemon.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "control_server.h"

namespace {

const char* kDefaultSocket = "/run/dplb/dplb.sock";

void usage() {
    std::fprintf(stderr,
                 "usage: dplbctl [-s SOCKET] COMMAND [ARGS] [--json]\n"
                 "  list [--stats | --rate | --connections]   timeouts   status   reload\n"
                 "  weight [tcp:|udp:]VIP:PORT REAL:PORT N     drain REAL:PORT\n"
                 "  help (from the daemon)\n"
                 "default socket: %s (or $DPLB_SOCKET)\n",
                 kDefaultSocket);
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
    try {
        dplb::Reply r = dplb::control_request(sock, words);
        std::fputs(r.text.c_str(), r.ok ? stdout : stderr);
        return r.ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "dplbctl: %s: %s (is dplbd running?)\n", sock.c_str(), e.what());
        return 1;
    }
}
