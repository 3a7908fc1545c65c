// The real dplbd on one net_pcap port, for tests: frames in from a pcap file (rx_pcap), frames out to
// another (tx_pcap), the counters in --stats-json at exit, dplbctl on its control socket meanwhile.
// EAL: -l 0,1 (one worker, so output frames keep their input order), --no-huge --no-pci.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "frame_builder.h"

namespace dplb::test {

std::string slurp(const std::string& path);
// The unsigned number after "key": at or after `from` in a JSON text; UINT64_MAX when absent.
uint64_t json_number(const std::string& json, const std::string& key, size_t from = 0);

// A directory under /tmp, removed with everything in it.
struct TempDir {
    std::string path;
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

class DplbdRunner {
public:
    // Files go to `dir`: in.pcap, out.pcap, lb.yaml, stats.json, dplbd.log, dplb.sock.
    explicit DplbdRunner(std::string dir);
    ~DplbdRunner();  // kills a dplbd still running (a test that failed half way)
    DplbdRunner(const DplbdRunner&) = delete;
    DplbdRunner& operator=(const DplbdRunner&) = delete;

    // Writes `frames` to in.pcap and `config` (YAML without a control section: the runner adds its
    // socket) to lb.yaml, and starts dplbd. False when the files cannot be written or fork fails.
    bool start(const std::vector<Bytes>& frames, const std::string& config);
    // Whether dplbd is still running; once it is not, exit_status() says how it ended.
    bool running();
    // SIGTERM, then waits up to `limit` for dplbd to exit; one still running then is killed (SIGKILL)
    // and stop() returns false: it hung. True once it exited by itself after the signal, whatever
    // its status (exited_cleanly() says whether that was 0).
    bool stop(std::chrono::milliseconds limit = std::chrono::seconds(30));
    int exit_status() const { return status_; }  // waitpid's status; -1 while running
    bool exited_cleanly() const;                 // exited (no signal) with status 0
    std::string describe_exit() const;           // "exit 0", "killed by signal 11", ...

    // The frames written to out.pcap so far (whole records only).
    std::vector<Bytes> output() const;
    // dplbctl -s SOCKET -t `timeout_s` ARGS; stdout and stderr together. `ok` gets whether it exited 0.
    std::string ctl(const std::string& args, bool* ok = nullptr, unsigned timeout_s = 5) const;
    std::string log() const { return slurp(log_); }
    std::string stats_json() const { return slurp(stats_); }
    const std::string& dir() const { return dir_; }

private:
    std::string dir_, in_, out_, config_, stats_, log_, socket_;
    pid_t pid_ = -1;
    int status_ = -1;
};

}  // namespace dplb::test
