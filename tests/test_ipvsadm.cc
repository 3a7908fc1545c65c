// ipvsadm's syntax: the command line as ipvsadm reads it, its changes with IPVS's rules and messages,
// ipvsadm-save's lines, and rules files / provisioning scripts -> YAML (golden corpus in
// config/examples/ipvsadm).
#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

#include "config.h"
#include "import_corpus.h"
#include "ipvsadm/command.h"
#include "ipvsadm/table.h"
#include "ipvsadm_import.h"

#ifndef DPLB_SOURCE_ROOT
#define DPLB_SOURCE_ROOT "."
#endif

namespace dplb::config::ipvsadm {
namespace {

const std::string kCorpus = std::string(DPLB_SOURCE_ROOT) + "/config/examples/ipvsadm";

Command cmd(const std::string& line) { return parse(split_words(line)); }

// The message parse() refuses `line` with, or "" when it takes it.
std::string refusal(const std::string& line) {
    try {
        parse(split_words(line));
    } catch (const ConfigError& e) {
        return e.errors.at(0);
    }
    return "";
}

// Applies each line in turn; returns the first refusal, or "".
std::string run(Table& t, const std::vector<std::string>& lines, std::vector<std::string>* warnings = nullptr) {
    for (const std::string& l : lines) {
        std::string e = apply(cmd(l), t, [&](const std::string& w) {
            if (warnings) warnings->push_back(w);
        });
        if (!e.empty()) return e;
    }
    return "";
}

TEST(IpvsadmImport, GoldenCorpus) {
    EXPECT_GE(testing::check_good_corpus(kCorpus, ".rules", import_ipvsadm), 2);
}

TEST(IpvsadmImport, GoldenBadCorpus) {
    EXPECT_GE(testing::check_bad_corpus(kCorpus + "/bad", ".rules", import_ipvsadm,
                                        std::regex(R"([a-z_]+\.rules:[0-9]+: .+)")),
              2);
}

// IPVS takes a real on a vip; dplb's loader does not (a real is reached at an address of its own).
TEST(IpvsadmImport, RealOnAVipIsRefusedByName) {
    try {
        import_ipvsadm("-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.2:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.0.2\n", "r");
        ADD_FAILURE() << "converted";
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.errors, std::vector<std::string>{"r: real server 10.0.0.2 of TCP 10.0.0.1:80: is a vip (a director "
                                                     "answers for it)"});
    }
}

TEST(IpvsadmCommand, ShortOptionsClusterAndTakeAttachedValues) {
    Command c = cmd("-Lnc");
    EXPECT_EQ(c.verb, Verb::list);
    EXPECT_TRUE(c.numeric);
    EXPECT_TRUE(c.connection);
    c = cmd("-a -t 10.0.0.1:80 -r10.0.1.1:8080 -w3 -x 100 -y 50");
    EXPECT_EQ(c.verb, Verb::add_real);
    EXPECT_EQ(c.rip.str(), "10.0.1.1");
    EXPECT_EQ(c.rport, 80);  // ipvsadm gives a Direct Routing real server the service's port
    EXPECT_EQ(c.weight, 3u);
    EXPECT_EQ(c.u_threshold, 100u);
    EXPECT_EQ(c.l_threshold, 50u);
}

TEST(IpvsadmCommand, LongOptionsWithEqualsOrSeparateValue) {
    Command c = cmd("--add-service --udp-service=[2001:db8::1]:53 --scheduler rr --ops");
    EXPECT_EQ(c.verb, Verb::add_service);
    EXPECT_EQ(c.proto, kProtoUdp);
    EXPECT_EQ(c.vip.str(), "2001:db8::1");
    EXPECT_EQ(c.port, 53);
    EXPECT_EQ(c.scheduler, "rr");
    EXPECT_TRUE(c.ops);
}

// -p takes a value only when the next word is not an option; alone it is 300 s (ipvsadm's default).
TEST(IpvsadmCommand, PersistentTimeoutIsOptional) {
    EXPECT_EQ(cmd("-A -t 10.0.0.1:80 -p").persistence_s, 300u);
    EXPECT_EQ(cmd("-A -t 10.0.0.1:80 -p -s rr").persistence_s, 300u);
    EXPECT_EQ(cmd("-A -t 10.0.0.1:80 -p 60 -s rr").persistence_s, 60u);
    EXPECT_EQ(cmd("-A -t 10.0.0.1:80 -p60").persistence_s, 60u);
    EXPECT_EQ(cmd("-A -t 10.0.0.1:80").persistence_s, 0u);
}

// What ipvsadm fills in for what is not given: wlc, -g, weight 1, the service's port for the real.
TEST(IpvsadmCommand, Defaults) {
    Command s = cmd("-A -t 10.0.0.1:80");
    EXPECT_EQ(s.scheduler, "wlc");
    Command r = cmd("-a -t 10.0.0.1:80 -r 10.0.1.1");
    EXPECT_EQ(r.forward, Forward::gatewaying);
    EXPECT_EQ(r.weight, 1u);
    EXPECT_EQ(r.rport, 80);
}

TEST(IpvsadmCommand, NetmaskIsAPrefixLength) {
    EXPECT_EQ(cmd("-A -t 10.0.0.1:80 -p 60 -M 255.255.255.0").netmask, 24);
    EXPECT_EQ(cmd("-A -t 10.0.0.1:80 -p 60 -M 255.255.255.255").netmask, 32);
    EXPECT_EQ(cmd("-A -t [2001:db8::1]:80 -p 60 -M 64").netmask, 64);
    EXPECT_EQ(refusal("-A -t 10.0.0.1:80 -p 60 -M 255.0.255.0"),
              "illegal virtual server persistent mask specified: \"255.0.255.0\" (expected contiguous ones, "
              "128.0.0.0 to 255.255.255.255)");
    EXPECT_EQ(refusal("-A -t [2001:db8::1]:80 -p 60 -M 129"),
              "illegal ipv6 netmask specified: \"129\" (expected 1-128)");
}

TEST(IpvsadmCommand, Refusals) {
    EXPECT_EQ(refusal("-A -a -t 10.0.0.1:80"), "multiple commands specified");
    EXPECT_EQ(refusal("-t 10.0.0.1:80"), "no command given (one of -A -E -D -a -e -d -C -L -Z -S -R --set)");
    EXPECT_EQ(refusal("-A -t 10.0.0.1:80 -w 2"), "Illegal 'weight' option with the 'add-service' command");
    EXPECT_EQ(refusal("-a -t 10.0.0.1:80"), "You need to supply the 'real-server' option for the 'add-server' command");
    EXPECT_EQ(refusal("-A -s rr"), "You need to supply the 'service-address' option for the 'add-service' command");
    EXPECT_EQ(refusal("-A -t 10.0.0.1:80 -t 10.0.0.2:80"), "multiple 'service-address' options specified");
    EXPECT_EQ(refusal("-a -t 10.0.0.1:80 -r 10.0.1.1 -w"), "-w: needs a value");
    EXPECT_EQ(refusal("-a -t 10.0.0.1:80 -r 10.0.1.1 -w -1"), "illegal weight specified: \"-1\" (expected 0-65535)");
    EXPECT_EQ(refusal("-a -t 10.0.0.1:80 -r 10.0.1.1 -w 70000"), "illegal weight specified: \"70000\" (expected 0-65535)");
    EXPECT_EQ(refusal("-A -t 10.0.0.1:0 -s rr"), "Zero port specified for non-persistent service");
    EXPECT_EQ(refusal("-A -t 10.0.0.1:80 -o"), "One-Packet Scheduling is only for UDP virtual services");
    EXPECT_EQ(refusal("-A -f 7 -s rr"), "-f: dplb has no fwmark services");
    EXPECT_EQ(refusal("-A -t 10.0.0.1:80 --pe sip"), "--pe: dplb has no persistence engines");
    EXPECT_EQ(refusal("-A -t 10.0.0.1:80 -q"), "unknown option \"-q\"");
    EXPECT_EQ(refusal("-A -t www:80"),
              "illegal virtual server address[:port] specified: \"www:80\" (a numeric address; dplb does not "
              "resolve host names: save with ipvsadm -S -n)");
    EXPECT_EQ(refusal("-A -t 2001:db8::1:80"), "illegal virtual server address[:port] specified: \"2001:db8::1:80\" "
                                              "(an IPv6 address goes in [])");
    EXPECT_EQ(refusal("-a -t 10.0.0.1:80 -r [2001:db8::2]:80"), "real server and virtual service address families differ");
    EXPECT_EQ(refusal("--set 1 2"), "--set takes three timeouts in seconds: --set TCP TCPFIN UDP (0 leaves one as it is)");
    EXPECT_EQ(refusal("-L extra"), "unexpected argument \"extra\"");
}

TEST(IpvsadmTable, IpvsRefusalsLeaveTheTableAsItWas) {
    Table t;
    ASSERT_EQ(run(t, {"-A -t 10.0.0.1:80 -s rr", "-a -t 10.0.0.1:80 -r 10.0.1.1 -w 2"}), "");
    const std::string before = save(t.services);
    EXPECT_EQ(apply(cmd("-A -t 10.0.0.1:80 -s wlc"), t, {}), "Service already exists");
    EXPECT_EQ(apply(cmd("-E -t 10.0.0.2:80 -s wlc"), t, {}), "No such service");
    EXPECT_EQ(apply(cmd("-D -t 10.0.0.1:81"), t, {}), "No such service");
    EXPECT_EQ(apply(cmd("-a -t 10.0.0.2:80 -r 10.0.1.1"), t, {}), "Service not defined");
    EXPECT_EQ(apply(cmd("-a -t 10.0.0.1:80 -r 10.0.1.1"), t, {}), "Destination already exists");
    EXPECT_EQ(apply(cmd("-e -t 10.0.0.1:80 -r 10.0.1.9:81"), t, {}), "No such destination");
    EXPECT_EQ(apply(cmd("-d -t 10.0.0.1:80 -r 10.0.1.2"), t, {}), "No such destination");
    EXPECT_EQ(apply(cmd("-E -t 10.0.0.1:80 -s nosuch"), t, {}), "Scheduler not found: \"nosuch\"");
    EXPECT_EQ(apply(cmd("-E -t 10.0.0.1:80 -s rr -b sh-port"), t, {}),
              "incompatible scheduler flag `sh-port' with scheduler rr");
    EXPECT_EQ(apply(cmd("-E -t 10.0.0.1:80 -s sh -b mh-port"), t, {}),
              "incompatible scheduler flag `mh-port' with scheduler sh");
    EXPECT_EQ(apply(cmd("-E -t 10.0.0.1:80 -s sh -b sh-fast"), t, {}),
              "invalid scheduler flag `sh-fast' (dplb knows sh-fallback, sh-port, mh-fallback, mh-port)");
    EXPECT_EQ(apply(cmd("-E -t 10.0.0.1:80 -s rr -M 255.255.255.0"), t, {}), "-M: a persistence netmask needs -p");
    EXPECT_EQ(apply(cmd("-e -t 10.0.0.1:80 -r 10.0.1.1 -x 10 -y 20"), t, {}),
              "lower threshold 20 is above upper threshold 10");
    EXPECT_EQ(apply(cmd("-e -t 10.0.0.1:80 -r 10.0.1.1 -y 20"), t, {}), "-y (lower threshold) needs -x (upper threshold)");
    EXPECT_EQ(save(t.services), before);
}

// As ipvsadm sends the whole service or destination, -E and -e set what is not given to its default.
TEST(IpvsadmTable, EditSetsEveryField) {
    Table t;
    ASSERT_EQ(run(t, {"-A -t 10.0.0.1:80 -s sh -p 60 -M 255.255.0.0 -b sh-port",
                      "-a -t 10.0.0.1:80 -r 10.0.1.1 -w 5 -x 100 -y 10", "-E -t 10.0.0.1:80 -s rr",
                      "-e -t 10.0.0.1:80 -r 10.0.1.1"}),
              "");
    ASSERT_EQ(t.services.size(), 1u);
    const Service& s = t.services[0];
    EXPECT_EQ(s.sched, Sched::rr);
    EXPECT_EQ(s.persistence_timeout_s, 0u);
    EXPECT_EQ(s.persistence_prefix_len, 0);
    EXPECT_EQ(s.sched_flags, 0);
    ASSERT_EQ(s.reals.size(), 1u);
    EXPECT_EQ(s.reals[0].weight, 1);
    EXPECT_EQ(s.reals[0].u_threshold, 0u);
}

TEST(IpvsadmTable, ForwardingOtherThanDirectRoutingIsWarned) {
    Table t;
    std::vector<std::string> w;
    ASSERT_EQ(run(t, {"-A -t 10.0.0.1:80", "-a -t 10.0.0.1:80 -r 10.0.1.1 -m", "-a -t 10.0.0.1:80 -r 10.0.1.2 -i"}, &w),
              "");
    EXPECT_EQ(w, (std::vector<std::string>{"-m (masquerading): taken as -g, dplb forwards by direct routing only",
                                           "-i (tunnelling): taken as -g, dplb forwards by direct routing only"}));
}

// ipvsadm -S -n, line for line, from ipvsadm.c's rule format: "-A %s -s %s", " -p %u", " -M %s",
// "-a %s -r %s %s -w %d"; services sorted IPv4 before IPv6, TCP before UDP, then by address and port,
// reals by address and port.
// A VRRP instance's address that is no service's vip is the kernel's: a change to the services leaves
// it alone, while a vip that stops being a service's is still refused.
TEST(IpvsadmTable, CommitKeepsKernelAddresses) {
    Config cfg = load_config_string(
        "ports:\n  - {name: lan0, device: net_af_packet0}\n"
        "services:\n  - {vip: 10.0.0.100, port: 80, protocol: tcp, real_servers: [{ip: 10.0.0.11}]}\n"
        "vrrp_instances:\n  - {name: VI_1, interface: lan0, virtual_router_id: 1, "
        "virtual_ipaddresses: [10.0.0.100, 10.0.0.50]}\n",
        "c.yaml");
    Table t = table_of(cfg);
    ASSERT_EQ(apply(cmd("-a -t 10.0.0.100:80 -r 10.0.0.12"), t, {}), "");
    EXPECT_EQ(commit(t, cfg), "");
    EXPECT_EQ(cfg.services.at(0).reals.size(), 2u);
    Table gone = table_of(cfg);
    ASSERT_EQ(apply(cmd("-D -t 10.0.0.100:80"), gone, {}), "");
    EXPECT_EQ(commit(gone, cfg),
              "vrrp_instance VI_1 holds 10.0.0.100, which would be no service's vip: change the file and reload");
}

TEST(IpvsadmTable, SaveFormat) {
    Table t;
    ASSERT_EQ(run(t, {"-A -u 10.0.0.1:53 -s rr --ops", "-a -u 10.0.0.1:53 -r 10.0.1.2:5353 -w 0",
                      "-A -t [2001:db8::1]:443 -s mh -b mh-fallback,mh-port -p 60 -M 64",
                      "-a -t [2001:db8::1]:443 -r [2001:db8::12]:443", "-a -t [2001:db8::1]:443 -r [2001:db8::11]:443",
                      "-A -t 10.0.0.9:80 -s wlc", "-A -t 10.0.0.1:443 -s sh -p 300 -M 255.255.255.0",
                      "-a -t 10.0.0.1:443 -r 10.0.1.2 -w 2 -x 100 -y 60", "-a -t 10.0.0.1:443 -r 10.0.1.1 -w 1"}),
              "");
    EXPECT_EQ(save(t.services),
              "-A -t 10.0.0.1:443 -s sh -p 300 -M 255.255.255.0\n"
              "-a -t 10.0.0.1:443 -r 10.0.1.1:443 -g -w 1\n"
              "-a -t 10.0.0.1:443 -r 10.0.1.2:443 -g -w 2 -x 100 -y 60\n"
              "-A -t 10.0.0.9:80 -s wlc\n"
              "-A -u 10.0.0.1:53 -s rr --ops\n"
              "-a -u 10.0.0.1:53 -r 10.0.1.2:53 -g -w 0\n"  // the service's port, as ipvsadm gives it
              "-A -t [2001:db8::1]:443 -s mh -p 60 -M 64 -b mh-fallback,mh-port\n"
              "-a -t [2001:db8::1]:443 -r [2001:db8::11]:443 -g -w 1\n"
              "-a -t [2001:db8::1]:443 -r [2001:db8::12]:443 -g -w 1\n");
}

// Property: whatever a random run of changes leaves, replaying its saved rules on an empty table
// gives the same rules (what -S writes, -R reads back whole).
TEST(IpvsadmTable, SaveRestoresWhatItSaved) {
    std::mt19937 rng(12345);
    const std::vector<std::string> scheds = {"rr", "wrr", "lc", "wlc", "sh", "mh", "sed", "nq", "fo", "ovf", "dh"};
    for (int round = 0; round < 200; round++) {
        Table t;
        for (int step = 0; step < 30; step++) {
            const bool udp = rng() % 3 == 0;
            const std::string svc = std::string(udp ? "-u" : "-t") + " 10.0.0." + std::to_string(1 + rng() % 4) + ":" +
                                    std::to_string(80 + rng() % 2);
            const std::string real = " -r 10.0.1." + std::to_string(1 + rng() % 5);
            std::string sched = scheds[rng() % scheds.size()];
            std::string line;
            switch (rng() % 6) {
            case 0:
            case 1: {
                line = (rng() % 2 ? "-A " : "-E ") + svc + " -s " + sched;
                if (rng() % 2) line += " -p " + std::to_string(1 + rng() % 600) + (rng() % 2 ? " -M 255.255.255.0" : "");
                if (udp && rng() % 2) line += " --ops";
                if ((sched == "sh" || sched == "mh") && rng() % 2) line += " -b " + sched + "-port";
                break;
            }
            case 2: line = "-D " + svc; break;
            case 3:
            case 4: {
                line = (rng() % 2 ? "-a " : "-e ") + svc + real + " -w " + std::to_string(rng() % 10);
                if (rng() % 2) line += " -x " + std::to_string(100 + rng() % 10) + " -y " + std::to_string(rng() % 100);
                break;
            }
            default: line = "-d " + svc + real;
            }
            apply(cmd(line), t, {});  // refusals are part of the run
        }
        const std::string saved = save(t.services);
        Table back;
        size_t start = 0;
        while (start < saved.size()) {
            size_t end = saved.find('\n', start);
            ASSERT_EQ(apply(cmd(saved.substr(start, end - start)), back, {}), "") << saved;
            start = end + 1;
        }
        ASSERT_EQ(save(back.services), saved);
    }
}

}  // namespace
}  // namespace dplb::config::ipvsadm

namespace dplb::config::ipvsadm {
namespace {

// A service's sorry server is one of its dests: a real of the same address and port would be two.
TEST(IpvsadmTable, SorryServerIsNoNewDestination) {
    Table t;
    ASSERT_EQ(run(t, {"-A -t 10.0.0.1:80 -s rr", "-a -t 10.0.0.1:80 -r 10.0.1.1"}), "");
    RealServer sorry;
    sorry.ip = *IpAddr::parse("10.0.1.9");
    sorry.port = 80;
    t.services[0].sorry_server = sorry;
    EXPECT_EQ(apply(cmd("-a -t 10.0.0.1:80 -r 10.0.1.9"), t, {}),
              "Destination already exists (the service's sorry_server)");
    EXPECT_EQ(t.services[0].reals.size(), 1u);
    EXPECT_EQ(apply(cmd("-a -t 10.0.0.1:80 -r 10.0.1.2"), t, {}), "");
}

}  // namespace
}  // namespace dplb::config::ipvsadm
