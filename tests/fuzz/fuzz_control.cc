// The control socket under libFuzzer: the input is what a client sends on one connection, through
// the real ControlServer (its framing: words ended by '\n', then an empty line) on a UNIX socket
// in a directory of the process's own, to run_command on a fresh Director over a fake data plane
// (tests/fake_dataplane.h) for each input. Checked:
// - a client that sends nothing gets no answer; any other gets exactly one: "OK\n" or "ERR\n" and a
//   text that is empty or ends with a newline; no command lets an exception escape ("internal
//   error"); a request without its closing empty line is refused;
// - help (or no words) is OK; a command dplbctl does not know is refused;
// - a weight or drain that is refused changes nothing; one that is accepted is in the snapshot
//   when the answer comes: every real it names has the weight asked for (0 for drain).
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "control_server.h"
#include "director.h"
#include "fake_dataplane.h"
#include "fuzz_input.h"

namespace dplb::fuzz {
namespace {

// Every service has a Maglev table (the table-full fallback): 251 slots keep a Director's start cheap.
const char* const kConfig =
    "ports:\n  - name: lan0\n    device: net_ring0\n"
    "services:\n"
    "  - name: web\n    vip: 10.0.0.100\n    port: 80\n    protocol: tcp\n    scheduler: rr\n    mh_table_size: 251\n"
    "    real_servers:\n"
    "      - ip: 10.0.0.11\n        mac: 02:00:00:00:00:11\n"
    "      - ip: 10.0.0.12\n        port: 80\n        weight: 3\n        mac: 02:00:00:00:00:12\n"
    "  - name: dns\n    vip: 10.0.0.100\n    port: 53\n    protocol: udp\n    scheduler: wrr\n    mh_table_size: 251\n"
    "    real_servers:\n"
    "      - ip: 10.0.0.11\n        mac: 02:00:00:00:00:11\n"
    "  - name: tls6\n    vip: 2001:db8::100\n    port: 443\n    protocol: tcp\n    scheduler: mh\n"
    "    mh_table_size: 251\n    persistence_timeout: 60\n"
    "    real_servers:\n"
    "      - ip: 2001:db8::11\n        mac: 02:00:00:00:00:11\n"
    "vrrp_instances:\n"
    "  - name: VI_1\n    interface: lan0\n    virtual_router_id: 51\n    priority: 100\n    advert_int: 1\n"
    "    virtual_ipaddresses: [10.0.0.100]\n";

constexpr auto kAnswerDeadline = std::chrono::seconds(20);
const std::set<std::string> kCommands = {"help", "list", "timeouts", "status", "reload", "weight", "drain"};

struct Fixture {
    std::string dir, config_path, socket_path;
    boost::asio::io_context io;
    config::Config cfg;
    std::unique_ptr<ControlServer> server;
    Director* director = nullptr;  // the current input's
};

Fixture* g_fixture = nullptr;

void remove_fixture() {
    if (!g_fixture) return;
    g_fixture->server.reset();
    ::unlink(g_fixture->config_path.c_str());
    ::unlink((g_fixture->socket_path + ".lock").c_str());
    ::rmdir(g_fixture->dir.c_str());
}

void make_fixture() {
    g_fixture = new Fixture;
    Fixture& f = *g_fixture;
    char tmpl[] = "/tmp/dplb-fuzz-control-XXXXXX";
    FUZZ_CHECK(::mkdtemp(tmpl), "mkdtemp: %s", std::strerror(errno));
    f.dir = tmpl;
    f.config_path = f.dir + "/lb.yaml";
    f.socket_path = f.dir + "/dplb.sock";
    std::ofstream(f.config_path) << kConfig;
    f.cfg = config::load_config_file(f.config_path);
    f.server = std::make_unique<ControlServer>(
        f.io, f.socket_path, 0600, [](const std::vector<std::string>& words, ControlServer::Reply_fn reply) {
            run_command(*g_fixture->director, nullptr, words, std::move(reply));
        });
    std::atexit(remove_fixture);
}

// The words of a request as the protocol has them (control_server.h); `framed` is false when the
// closing empty line never comes.
std::vector<std::string> words_of(const std::string& req, bool& framed) {
    size_t end = req.find("\n\n");
    framed = end != std::string::npos;
    std::vector<std::string> words;
    if (!framed) return words;
    size_t at = 0;
    while (at <= end) {
        size_t nl = req.find('\n', at);
        if (nl == at) break;
        words.push_back(req.substr(at, nl - at));
        at = nl + 1;
    }
    return words;
}

// Sends `req` on a new connection and returns everything that comes back until the server closes.
std::string exchange(Fixture& f, test::FakeDataplane& dp, const std::string& req) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0, "socket: %s", std::strerror(errno));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, f.socket_path.c_str(), f.socket_path.size() + 1);
    FUZZ_CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "connect: %s", std::strerror(errno));
    auto deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
    auto turn = [&] {
        FUZZ_CHECK(std::chrono::steady_clock::now() < deadline, "no answer within 20 s to a %zu-byte request",
                   req.size());
        f.io.run_one_for(std::chrono::milliseconds(1));
        // The workers of the fake data plane have no connections: a listing is served at once.
        for (DumpRequest*& r : dp.dumps)
            if (r) r->done.store(true), r = nullptr;
    };
    size_t sent = 0;
    while (sent < req.size()) {
        ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
        else if (errno == EAGAIN) turn();
        else break;  // the server answered and closed before taking everything
    }
    ::shutdown(fd, SHUT_WR);
    std::string answer;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) answer.append(buf, static_cast<size_t>(n));
        else if (n == 0 || errno != EAGAIN) break;
        else turn();
    }
    ::close(fd);
    return answer;
}

bool same(const RealKey& a, const RealKey& b) { return !(a < b) && !(b < a); }

}  // namespace
}  // namespace dplb::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    dplb::fuzz::make_fixture();
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace dplb;
    using namespace dplb::fuzz;
    Fixture& f = *g_fixture;
    if (f.io.stopped()) f.io.restart();
    const std::string req(reinterpret_cast<const char*>(data), size);
    test::FakeDataplane dp(2);
    auto director = std::make_unique<Director>(f.io, f.cfg, dp);
    director->start();
    f.director = director.get();
    std::string answer = exchange(f, dp, req);

    bool framed;
    std::vector<std::string> words = words_of(req, framed);
    if (req.empty()) {
        FUZZ_CHECK(answer.empty(), "an answer to nothing: %s", answer.c_str());
    } else {
        bool ok = answer.compare(0, 3, "OK\n") == 0;
        FUZZ_CHECK(ok || answer.compare(0, 4, "ERR\n") == 0, "answer neither OK nor ERR: %s", answer.c_str());
        std::string text = answer.substr(ok ? 3 : 4);
        FUZZ_CHECK(text.empty() || text.back() == '\n', "answer text without its last newline: %s", answer.c_str());
        FUZZ_CHECK(text.compare(0, 16, "internal error: ") != 0, "%s", answer.c_str());  // control_server.cc
        FUZZ_CHECK(framed || !ok, "a request without its empty line accepted: %s", answer.c_str());
        if (framed && (words.empty() || words[0] == "help")) FUZZ_CHECK(ok, "help refused: %s", answer.c_str());
        if (framed && !words.empty() && !kCommands.count(words[0]))
            FUZZ_CHECK(!ok, "unknown command '%s' accepted", words[0].c_str());
        // Weights asked for are in the snapshot the answer came after; a refused one changed nothing.
        const auto& rt = director->runtime();
        if (!ok) FUZZ_CHECK(rt.empty(), "a refused request changed %zu reals' runtime state", rt.size());
        auto snap = director->snapshot();
        for (const auto& [key, r] : rt) {
            int want = r.drained ? 0 : r.weight_override;
            if (want < 0) continue;
            bool seen = false;
            for (const Service& s : snap->services)
                for (uint16_t id : s.dests)
                    if (same(real_key(s, snap->dests[id]), key)) {
                        seen = true;
                        FUZZ_CHECK(snap->dests[id].weight == want, "real %s: weight %u after an OK asking %d",
                                   key.rip.str().c_str(), snap->dests[id].weight, want);
                    }
            FUZZ_CHECK(seen, "real %s changed, but not in the snapshot", key.rip.str().c_str());
        }
    }

    // Builds still running finish before the Director goes; handlers left behind find it gone.
    auto deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
    while (!director->idle()) {
        FUZZ_CHECK(std::chrono::steady_clock::now() < deadline, "the Director never became idle");
        f.io.run_one_for(std::chrono::milliseconds(1));
    }
    f.director = nullptr;
    director.reset();
    f.io.poll();
    return 0;
}
