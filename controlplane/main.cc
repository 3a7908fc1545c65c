// dplbd: the director. `dplbd [EAL args] [-- [--config FILE] [options]]` (dplbd --help).
// The main lcore is the control thread; every worker lcore runs the same packet loop.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <net/if.h>
#include <rte_mbuf.h>
#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "announcer.h"
#include "commands.h"
#include "config.h"
#include "control_server.h"
#include "director.h"
#include "eal_dataplane.h"
#include "exception_path.h"
#include "health_manager.h"
#include "kernel_routes.h"
#include "log.h"
#include "metrics.h"
#include "sync_manager.h"
#include "neighbours.h"
#include "port.h"
#include "processor.h"
#include "sd_notify.h"
#include "snapshot_builder.h"
#include "stats_report.h"
#include "telemetry.h"
#include "version.h"
#include "vrrp_manager.h"
#include "worker.h"

namespace {

using dplb::LogLevel;

const char* kDefaultConfig = "/etc/dplb/dplb.yaml";

std::atomic<bool> g_quit{false};

// How long a stop waits for the kernel to confirm that every announced route is gone.
constexpr std::chrono::milliseconds kAnnounceShutdownLimit{2000};

void on_early_signal(int) { g_quit = true; }

struct Options {
    std::string config = kDefaultConfig;
    std::string stats_json;      // written at exit
    uint32_t idle_sleep_us = 0;  // a shared lab host: give the CPU back when idle
    bool check_only = false;
    bool withdraw_only = false;
};

void usage() {
    std::fprintf(stderr,
                 "usage: dplbd [EAL options] [-- [--config FILE] [--stats-json FILE] [--idle-sleep-us N]]\n"
                 "       dplbd --check-config [FILE]\n"
                 "       dplbd --withdraw [FILE]\n"
                 "       dplbd --help | --eal-help | --version\n");
}

void help() {
    std::printf(
        "dplbd %s: a layer-4 load balancer (Direct Routing) on DPDK ports.\n"
        "\n"
        "usage: dplbd [EAL options] [-- [--config FILE] [--stats-json FILE] [--idle-sleep-us N]]\n"
        "       dplbd --check-config [FILE]\n"
        "       dplbd --withdraw [FILE]\n"
        "       dplbd --help | --eal-help | --version\n"
        "\n"
        "dplbd's options (after \"--\"; without \"--\" every argument is EAL's):\n"
        "  --config FILE         the configuration (default %s)\n"
        "  --stats-json FILE     write the final counters as JSON to FILE at exit\n"
        "  --idle-sleep-us N     workers sleep N microseconds (0..1000000) when a poll finds nothing;\n"
        "                        0 (the default) polls without pause\n"
        "  --check-config [FILE] parse and validate FILE (default %s), start nothing;\n"
        "                        exit 0 when it is valid, 1 when not\n"
        "  --withdraw [FILE]     remove the announced VIPs' routes that FILE's announce section names\n"
        "                        (a crashed dplbd's; run after it stops), start nothing\n"
        "  --help, -h            this text\n"
        "  --eal-help            DPDK EAL's own list of options\n"
        "  --version             the version\n"
        "\n"
        "EAL options used most:\n"
        "  -l 0,1                lcores: the first is the control thread, every other one a worker\n"
        "  -a PCI_ADDR           use only this PCI device (repeatable; --no-pci: none)\n"
        "  --vdev DRIVER,ARGS    a virtual device, e.g. --vdev net_af_packet0,iface=eth1\n"
        "  --no-huge -m MB       run without hugepages on MB of ordinary memory\n"
        "  --file-prefix NAME    runtime files under /var/run/dpdk/NAME (several instances on a host)\n"
        "  --log-level LEVEL     EAL's log level, e.g. --log-level lib.eal:error\n"
        "\n"
        "signals: SIGINT/SIGTERM stop; SIGHUP reloads the configuration (the running one is kept when\n"
        "the new one is invalid); SIGUSR1 prints the service table (as dplbctl list) on stdout.\n"
        "systemd: Type=notify is supported ($NOTIFY_SOCKET: READY=1 once serving, RELOADING=1 on\n"
        "SIGHUP, STOPPING=1); under the journal ($JOURNAL_STREAM) log lines carry their priority.\n"
        "paths: configuration %s; the control socket is the configuration's control.socket\n"
        "(default %s; dplbctl talks to it).\n",
        DPLB_VERSION, kDefaultConfig, kDefaultConfig, kDefaultConfig, dplb::config::kDefaultControlSocket);
}

bool parse_options(int argc, char** argv, Options& o) {
    for (int i = 0; i < argc; i++) {
        std::string a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        std::string v;
        if (a == "--config") {
            if (!value(o.config)) return false;
        } else if (a == "--check-config") {
            if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) o.config = argv[++i];  // FILE is optional
            o.check_only = true;
        } else if (a == "--withdraw") {
            if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) o.config = argv[++i];  // FILE is optional
            o.withdraw_only = true;
        } else if (a == "--stats-json") {
            if (!value(o.stats_json)) return false;
        } else if (a == "--idle-sleep-us") {
            if (!value(v)) return false;
            char* end = nullptr;
            unsigned long n = std::strtoul(v.c_str(), &end, 10);
            if (*end || n > 1000000) return false;
            o.idle_sleep_us = static_cast<uint32_t>(n);
        } else {
            dplb::log(LogLevel::err, "dplbd: unknown option '%s'", a.c_str());
            return false;
        }
    }
    return !o.config.empty();
}

bool load(const std::string& path, dplb::config::Config& cfg) {
    try {
        cfg = dplb::config::load_config_file(path);
        return true;
    } catch (const dplb::config::ConfigError& e) {
        dplb::log(LogLevel::err, "%s", e.what());
        return false;
    }
}

// The control thread: signals, the once-a-second tick, the control socket and /metrics, until
// SIGINT/SIGTERM. Returns the exit status.
// The kernel interface carrying port i's own address: its exception-path TAP, or for a port the
// kernel already sees (net_af_packet) the interface itself. "" when there is none.
std::vector<std::string> kernel_ifnames(const dplb::config::Config& cfg, const std::vector<dplb::PortInfo>& ports,
                                        const std::vector<dplb::PortInfo>& taps) {
    std::vector<std::string> out;
    for (size_t i = 0; i < ports.size(); i++) {
        if (i < taps.size() && taps[i].port_id != dplb::kNoPort) {
            out.push_back(dplb::exception_ifname(cfg.ports[i].name));
            continue;
        }
        rte_eth_dev_info info{};
        char name[IF_NAMESIZE] = "";
        if (rte_eth_dev_info_get(ports[i].port_id, &info) == 0 && info.if_index) if_indextoname(info.if_index, name);
        out.push_back(name);
    }
    return out;
}

int control_loop(boost::asio::io_context& io, dplb::Director& director, const dplb::config::Config& cfg,
                 const std::vector<dplb::PortInfo>& ports, const std::vector<dplb::PortInfo>& taps,
                 std::optional<dplb::ControlListener>& listener, size_t nb_workers, dplb::DataplaneApi& dp,
                 dplb::SyncedTable* synced) {
    // Declared first, so destroyed last: the metrics exposer's threads and the control socket read it.
    std::unique_ptr<dplb::SyncManager> sync;
    std::unique_ptr<dplb::Announcer> announce;  // with an announce section only
    std::unique_ptr<dplb::ControlServer> control;
    std::unique_ptr<dplb::Metrics> metrics;
    try {
        if (synced) {
            sync = std::make_unique<dplb::SyncManager>(
                io, cfg.sync, dp, *synced, [&director] { return director.snapshot(); }, [] { return dplb::now_ms(); });
            sync->start();
            director.set_sync(sync.get());
            dplb::log(LogLevel::info, "dplbd: connection sync on %s, group %s:%u, syncid %u", cfg.sync.interface.c_str(),
                      cfg.sync.group.str().c_str(), cfg.sync.port, cfg.sync.syncid);
        }
        control = std::make_unique<dplb::ControlServer>(
            io, std::move(*listener),
            [&director, &announce](const std::vector<std::string>& words, dplb::ControlServer::Reply_fn reply) {
                dplb::run_command(director, announce.get(), words, std::move(reply));
            });
        if (cfg.metrics.enabled) {
            std::vector<dplb::MetricsPort> mp;
            for (const auto& p : ports) mp.push_back({p.name, p.port_id, p.nb_queues});
            metrics = std::make_unique<dplb::Metrics>(cfg.metrics.listen, director, mp);
        }
    } catch (const std::exception& e) {
        dplb::log(LogLevel::err, "dplbd: %s", e.what());
        return 1;
    }
    dplb::HealthManager health(io, director, [&metrics](const auto&... check) {
        if (metrics) metrics->observe_health_check(check...);
    });
    dplb::NeighbourResolver neighbours(io, director);
    std::vector<uint16_t> port_ids;
    for (const auto& p : ports) port_ids.push_back(p.port_id);
    if (cfg.announce.enabled) {
        dplb::Announcer::Observer seen;
        seen.vip = [&metrics](const dplb::IpAddr& vip, int announced) {
            if (metrics) metrics->set_vip_announced(vip.str(), announced);
        };
        seen.maintenance = [&metrics](bool on) {
            if (metrics) metrics->set_maintenance(on);
        };
        seen.withdrawn = [&metrics] {
            if (metrics) metrics->count_withdrawal();
        };
        announce = std::make_unique<dplb::Announcer>(director, port_ids, std::move(seen));
        health.set_on_quorum([&announce](const dplb::ServiceRef& svc, bool up) { announce->quorum_changed(svc, up); });
        director.set_on_workers([&announce](bool alive) { announce->workers_alive(alive); });
    }
    dplb::VrrpManager vrrp(io, director, kernel_ifnames(cfg, ports, taps), port_ids,
                           [&metrics](const auto&... change) {
                               if (metrics) metrics->set_vrrp_state(change...);
                           });
    vrrp.set_on_group_state([&metrics](const std::string& group, int state) {
        if (metrics) metrics->set_vrrp_sync_group_state(group, state);
    });
    vrrp.set_on_script([&metrics](const auto&... run) {
        if (metrics) metrics->observe_script(run...);
    });
    health.set_on_notify([&metrics](const std::string& kind, const std::string& name, const std::string& outcome) {
        if (metrics) metrics->observe_script(kind, name, outcome);
    });
    director.set_after_reload([&health, &neighbours, &vrrp, &announce] {
        health.sync();
        neighbours.refresh();
        vrrp.sync();
        if (announce) announce->sync();
    });
    director.set_after_weight([&health] { health.evaluate_quorums(); });
    health.sync();
    neighbours.start();
    vrrp.sync();
    dplb::log(LogLevel::info, "dplbd: control socket %s%s%s", cfg.control.socket.c_str(),
              metrics ? ", metrics on http://" : "", metrics ? (cfg.metrics.listen + "/metrics").c_str() : "");

    // systemd (Type=notify): a failed notification is logged, never fatal.
    auto notify = [](const std::string& state) {
        std::string err;
        if (!dplb::sd_notify(state, &err)) dplb::log(LogLevel::warning, "dplbd: sd_notify: %s", err.c_str());
    };
    boost::asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
    signals.add(SIGUSR1);
    std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                                int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(dplb::monotonic_usec()));
            director.reload([&director, &notify](const std::string& err) {
                if (err.empty()) {
                    dplb::log(LogLevel::notice, "dplbd: reloaded %s", director.config().file.c_str());
                    notify("READY=1\nSTATUS=reloaded " + director.config().file + ", " +
                           std::to_string(director.snapshot()->services.size()) + " service(s)");
                } else {
                    dplb::log(LogLevel::err, "dplbd: reload failed, running configuration kept:\n%s", err.c_str());
                    notify("READY=1\nSTATUS=reload failed, running configuration kept");
                }
            });
        } else if (sig == SIGUSR1) {
            auto t = std::make_unique<dplb::CoreCounters>();
            director.totals(*t);
            dplb::ListOptions lo;
            lo.size = director.conn_table_capacity();
            dplb::log_data(stdout, dplb::format_ipvsadm(*director.snapshot(), *t, lo).c_str());
        } else {
            notify("STOPPING=1");
            vrrp.stop();  // a MASTER resigns (priority 0) so its backup takes over at once
            g_quit = true;
            io.stop();
            return;
        }
        std::fflush(stdout);
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    boost::asio::steady_timer tick(io);
    std::function<void(const boost::system::error_code&)> on_tick = [&](const boost::system::error_code& ec) {
        if (ec) return;
        director.tick();
        vrrp.tick();
        if (announce) announce->tick();
        tick.expires_after(std::chrono::seconds(1));
        tick.async_wait(on_tick);
    };
    tick.expires_after(std::chrono::seconds(1));
    tick.async_wait(on_tick);
    // Serving from here: ports up, the first snapshot published, the control socket and /metrics
    // listening. A stop asked for during start-up is honoured here.
    if (!g_quit) {
        notify("READY=1\nSTATUS=" + std::to_string(ports.size()) + " port(s) up, " + std::to_string(nb_workers) +
               " worker(s), " + std::to_string(director.snapshot()->services.size()) + " service(s)");
        io.run();
    } else {
        notify("STOPPING=1");
    }
    // Every VIP withdrawn (the kernel routes removed, so the BGP daemon withdraws them) before
    // run() stops the ports.
    if (announce) announce->shutdown(kAnnounceShutdownLimit);
    director.set_after_reload({});
    director.set_after_weight({});
    director.set_on_workers({});
    return 0;
}

// What the control thread keeps for each worker.
struct Worker {
    unsigned lcore = 0;
    rte_mempool* pool = nullptr;
    std::unique_ptr<dplb::Processor> proc;
    dplb::WorkerContext ctx;
};

int run(const Options& opt, const dplb::config::Config& cfg, std::optional<dplb::ControlListener>& listener) {
    std::vector<unsigned> lcores;
    unsigned lc;
    RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
    if (lcores.empty()) {
        dplb::log(LogLevel::err, "dplbd: no worker lcore: give EAL at least two (-l 0,1): the first is the control thread");
        return 1;
    }
    bool persistence = false;
    for (const auto& s : cfg.services) persistence |= s.persistence_timeout_s > 0;

    // One mbuf pool per worker (its RX queues on every port fill from it): no shared pool between cores.
    std::vector<Worker> workers(lcores.size());
    unsigned mbufs = static_cast<unsigned>(cfg.ports.size()) * 2048 + 2047;
    for (size_t w = 0; w < workers.size(); w++) {
        workers[w].lcore = lcores[w];
        char name[32];
        std::snprintf(name, sizeof name, "mbuf_w%zu", w);
        int socket = static_cast<int>(rte_lcore_to_socket_id(lcores[w]));
        workers[w].pool = rte_pktmbuf_pool_create(name, mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
        if (!workers[w].pool) {
            dplb::log(LogLevel::err, "dplbd: cannot create mbuf pool for lcore %u: %s (more memory: EAL -m)",
                         lcores[w], rte_strerror(rte_errno));
            return 1;
        }
        dplb::ProcessorConfig pc;
        pc.ipv4_entries = cfg.conn_table_ipv4;
        pc.ipv6_entries = cfg.conn_table_ipv6;
        pc.socket = socket;
        pc.id = static_cast<unsigned>(w);
        pc.workers = static_cast<unsigned>(workers.size());
        std::string err;
        workers[w].proc = dplb::Processor::create(pc, err);
        if (!workers[w].proc) {
            dplb::log(LogLevel::err, "dplbd: lcore %u: %s (more memory: EAL -m, or smaller conn_table)", lcores[w],
                         err.c_str());
            return 1;
        }
    }

    // Connection sync: a ring per worker (worker -> control) and the synced table (control -> workers).
    std::vector<std::unique_ptr<dplb::SyncRing>> sync_rings;
    std::unique_ptr<dplb::SyncedTable> synced;
    if (cfg.sync.enabled) {
        synced = std::make_unique<dplb::SyncedTable>();
        if (!synced->init("synced", cfg.conn_table_ipv4, cfg.conn_table_ipv6, SOCKET_ID_ANY)) {
            dplb::log(LogLevel::err, "dplbd: cannot allocate the synced-connection table: %s (more memory: EAL -m)",
                      rte_strerror(rte_errno));
            return 1;
        }
        for (Worker& w : workers) {
            sync_rings.push_back(std::make_unique<dplb::SyncRing>());
            w.proc->set_sync(sync_rings.back().get(), synced.get());
        }
    }

    std::vector<dplb::PortInfo> ports;
    dplb::PortOptions popt;
    popt.rss_addresses_only = persistence;
    std::vector<rte_mempool*> pools;
    for (const Worker& w : workers) pools.push_back(w.pool);
    int rc = 0;
    std::vector<dplb::PortInfo> taps;  // exception path per port; port_id kNoPort when off
    for (const auto& pc : cfg.ports) {
        dplb::PortInfo info;
        info.name = pc.name;
        info.device = pc.device;
        std::string err;
        if (!dplb::port_start(info, pools, popt, err)) {
            dplb::log(LogLevel::err, "dplbd: %s", err.c_str());
            rc = 1;
            break;
        }
        dplb::log(LogLevel::info, "dplbd: port %s (%s) up, MAC %s, %u queue(s)%s", info.name.c_str(), info.device.c_str(),
                    info.mac.str().c_str(), info.nb_queues, info.rss ? ", RSS" : "");
        ports.push_back(info);
        dplb::PortInfo tap;
        tap.port_id = dplb::kNoPort;
        if (pc.exception_path == dplb::config::ExceptionPath::tap &&
            !dplb::exception_start(pc, info, pools, tap, err)) {
            dplb::log(LogLevel::err, "dplbd: %s", err.c_str());
            rc = 1;
            break;
        }
        taps.push_back(tap);
    }

    if (rc == 0) {
        for (size_t w = 0; w < workers.size(); w++) {
            dplb::WorkerContext& ctx = workers[w].ctx;
            ctx.proc = workers[w].proc.get();
            std::vector<dplb::MacAddr> macs;
            for (const auto& p : ports) macs.push_back(p.mac);
            ctx.proc->set_port_macs(macs);
            ctx.quit = &g_quit;
            ctx.idle_sleep_us = opt.idle_sleep_us;
            for (size_t i = 0; i < ports.size(); i++) {
                dplb::WorkerQueue q;
                q.port_id = ports[i].port_id;
                q.queue = static_cast<uint16_t>(w);
                q.mac = ports[i].mac;
                if (i < taps.size()) q.exc_port = taps[i].port_id;
                ctx.queues.push_back(q);
            }
            if (!dplb::worker_prepare(ctx, static_cast<int>(rte_lcore_to_socket_id(workers[w].lcore)))) {
                dplb::log(LogLevel::err, "dplbd: cannot allocate TX buffers");
                rc = 1;
                break;
            }
        }
    }
    std::vector<dplb::WorkerContext*> ctxs;
    for (Worker& w : workers) ctxs.push_back(&w.ctx);
    std::unique_ptr<dplb::EalDataplane> dataplane;
    if (rc == 0) {
        std::string err;
        dataplane = dplb::EalDataplane::create(ctxs, err);
        if (!dataplane) {
            dplb::log(LogLevel::err, "dplbd: %s", err.c_str());
            rc = 1;
        }
    }
    // Declared before the Director: handlers the Director posted are destroyed after it, unrun.
    boost::asio::io_context io;
    std::unique_ptr<dplb::Director> director;
    if (rc == 0) {
        director = std::make_unique<dplb::Director>(io, cfg, *dataplane);
        try {
            director->start();  // the first snapshot, before any worker runs
        } catch (const std::exception& e) {
            dplb::log(LogLevel::err, "dplbd: %s", e.what());
            rc = 1;
        }
    }
    if (rc == 0) {
        dplb::register_telemetry(*director);
        for (Worker& w : workers) rte_eal_remote_launch(dplb::worker_main, &w.ctx, w.lcore);
        dplb::log(LogLevel::info, "dplbd: %zu worker(s) running, %zu service(s)", workers.size(),
                    director->snapshot()->services.size());
        std::fflush(stdout);
        rc = control_loop(io, *director, cfg, ports, taps, listener, workers.size(), *dataplane, synced.get());
    }
    g_quit = true;
    rte_eal_mp_wait_lcore();  // every worker is offline from here: nothing reads a View any more

    auto totals = std::make_unique<dplb::CoreCounters>();
    if (director && director->snapshot()) {
        director->totals(*totals);
        dplb::log(LogLevel::info, "dplbd: stopping; rx %llu, forwarded %llu, tx %llu, drops %llu",
                    static_cast<unsigned long long>(totals->rx_packets),
                    static_cast<unsigned long long>(totals->forwarded),
                    static_cast<unsigned long long>(totals->tx_packets),
                    static_cast<unsigned long long>(totals->drops_total()));
        dplb::ListOptions lo;
        lo.size = director->conn_table_capacity();
        dplb::log_data(stdout, dplb::format_ipvsadm(*director->snapshot(), *totals, lo).c_str());
        if (!opt.stats_json.empty()) {
            std::ofstream f(opt.stats_json);
            f << dplb::format_stats_json(*director->snapshot(), *totals) << "\n";
            if (!f) {
                dplb::log(LogLevel::err, "dplbd: cannot write %s", opt.stats_json.c_str());
                rc = 1;
            }
        }
    }
    for (const auto& p : ports) dplb::port_stop(p);
    for (const auto& t : taps)
        if (t.port_id != dplb::kNoPort) dplb::port_stop(t);
    for (Worker& w : workers) {
        dplb::worker_release(w.ctx);
        w.proc.reset();
        rte_mempool_free(w.pool);
    }
    return rc;
}

// Descriptors: the control socket's sessions are capped (ControlLimits), health checks and VRRP
// open their own as they go; the usual soft limit of 1024 leaves them little room. Nothing in dplbd
// uses select(), so the soft limit goes up to the hard one (at most 65536: the scripts dplbd runs
// inherit it).
void raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0) return;
    rlim_t want = r.rlim_max == RLIM_INFINITY ? 65536 : std::min<rlim_t>(r.rlim_max, 65536);
    if (r.rlim_cur >= want) return;
    r.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &r) != 0)
        dplb::log(LogLevel::warning, "dplbd: cannot raise the descriptor limit to %llu: %s",
                     static_cast<unsigned long long>(want), std::strerror(errno));
}

}  // namespace

// dplbd --withdraw [FILE]: what dplbd's SIGTERM path does to the announced routes, for the times it
// could not (a crash, SIGKILL): BGP daemons keep announcing what the table holds, and a director
// whose dplbd is gone must not attract flows. The unit runs it as ExecStopPost.
int withdraw_announced(int argc, char** argv) {
    Options opt;
    if (!parse_options(argc, argv, opt)) {
        usage();
        return 2;
    }
    dplb::config::Config cfg;
    if (!load(opt.config, cfg)) return 1;
    if (!cfg.announce.enabled) {
        std::printf("%s: no announce section: nothing to withdraw\n", opt.config.c_str());
        return 0;
    }
    bool failed = false;
    dplb::KernelRoutes routes(cfg.announce.table, cfg.announce.protocol, [&](bool error, const std::string& m) {
        failed |= error;
        dplb::log(error ? LogLevel::err : LogLevel::info, "%s", m.c_str());
    });
    routes.clean();
    if (!routes.flush_for(std::chrono::seconds(5))) {
        dplb::log(LogLevel::err, "dplbd: the kernel did not answer within 5 s");
        return 1;
    }
    std::printf("announce table %u: no route of protocol %u left\n", cfg.announce.table, cfg.announce.protocol);
    return failed ? 1 : 0;
}

int main(int argc, char** argv) {
    // Answered before EAL, the configuration or the control socket are touched.
    for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; i++) {
        if (std::strcmp(argv[i], "--version") == 0) {
            std::printf("dplbd %s\n", DPLB_VERSION);
            return 0;
        }
        if (std::strcmp(argv[i], "--help") == 0 || (i == 1 && std::strcmp(argv[i], "-h") == 0)) {
            help();
            return 0;
        }
        if (std::strcmp(argv[i], "--eal-help") == 0) {
            char help_arg[] = "--help";
            char* eal_argv[] = {argv[0], help_arg, nullptr};
            int rc = rte_eal_init(2, eal_argv);  // prints EAL's usage
            if (rc >= 0) rte_eal_cleanup();
            return 0;
        }
    }
    if (argc >= 2 && std::strcmp(argv[1], "--check-config") == 0) {
        Options opt;
        if (!parse_options(argc - 1, argv + 1, opt)) {
            usage();
            return 2;
        }
        dplb::config::Config cfg;
        if (!load(opt.config, cfg)) return 1;
        std::printf("%s: configuration ok (%zu service(s))\n", opt.config.c_str(), cfg.services.size());
        return 0;
    }
    if (argc >= 2 && std::strcmp(argv[1], "--withdraw") == 0) return withdraw_announced(argc - 1, argv + 1);
    raise_fd_limit();
    // dplbd's own options follow the first "--" (EAL's options come before it; without "--" every
    // argument is EAL's and the configuration is the default one). They, the configuration and the
    // control socket with its lock are taken before EAL initialises anything: a second dplbd with
    // the same control socket stops here, before it probes or starts a port.
    // Still single-threaded here, as ControlListener::take wants.
    int sep = 0;
    for (int i = 1; i < argc && !sep; i++)
        if (std::strcmp(argv[i], "--") == 0) sep = i;
    Options opt;
    dplb::config::Config cfg;
    std::optional<dplb::ControlListener> listener;
    if (sep && (!parse_options(argc - sep - 1, argv + sep + 1, opt) || opt.check_only || opt.withdraw_only)) {
        usage();
        return 2;
    }
    if (!load(opt.config, cfg)) return 1;
    try {
        listener.emplace(dplb::ControlListener::take(cfg.control.socket, cfg.control.mode));
    } catch (const std::exception& e) {
        dplb::log(LogLevel::err, "dplbd: %s; not starting", e.what());
        return 1;
    }
    // The control loop handles signals with Asio; until it runs, SIGINT/SIGTERM only ask to stop.
    std::signal(SIGINT, on_early_signal);
    std::signal(SIGTERM, on_early_signal);
    int eal_args = rte_eal_init(argc, argv);
    if (eal_args < 0) {
        dplb::log(LogLevel::err, "dplbd: EAL initialisation failed: %s", rte_strerror(rte_errno));
        return 1;
    }
    int rc = run(opt, cfg, listener);
    rte_eal_cleanup();
    return rc;
}
