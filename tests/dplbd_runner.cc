#include "dplbd_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "pcap_file.h"

#ifndef DPLBD_PATH
#define DPLBD_PATH "dplbd"
#endif
#ifndef DPLBCTL_PATH
#define DPLBCTL_PATH "dplbctl"
#endif

namespace dplb::test {

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

uint64_t json_number(const std::string& json, const std::string& key, size_t from) {
    size_t p = json.find("\"" + key + "\":", from);
    if (p == std::string::npos) return UINT64_MAX;
    return std::strtoull(json.c_str() + p + key.size() + 3, nullptr, 10);
}

TempDir::TempDir() {
    char tmpl[] = "/tmp/dplbd-test-XXXXXX";
    const char* p = mkdtemp(tmpl);
    path = p ? p : "/tmp";
}

TempDir::~TempDir() {
    if (path != "/tmp") std::system(("rm -rf " + path).c_str());
}

DplbdRunner::DplbdRunner(std::string dir)
    : dir_(std::move(dir)),
      in_(dir_ + "/in.pcap"),
      out_(dir_ + "/out.pcap"),
      config_(dir_ + "/lb.yaml"),
      stats_(dir_ + "/stats.json"),
      log_(dir_ + "/dplbd.log"),
      socket_(dir_ + "/dplb.sock") {}

DplbdRunner::~DplbdRunner() {
    if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

bool DplbdRunner::start(const std::vector<Bytes>& frames, const std::string& config) {
    if (!write_pcap(in_, frames)) return false;
    {
        std::ofstream f(config_);
        f << config << "control:\n  socket: " << socket_ << "\n";
        if (!f) return false;
    }
    std::string vdev = "net_pcap0,rx_pcap=" + in_ + ",tx_pcap=" + out_;
    pid_t pid = fork();
    if (pid < 0) return false;
    if (pid == 0) {
        int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(DPLBD_PATH, "dplbd", "-l", "0,1", "--no-huge", "--no-pci", "--no-shconf", "-m", "256", "--no-telemetry",
              "--log-level", "lib.eal:error", "--vdev", vdev.c_str(), "--", "--config", config_.c_str(), "--stats-json",
              stats_.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    pid_ = pid;
    status_ = -1;
    return true;
}

bool DplbdRunner::running() {
    if (pid_ <= 0) return false;
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = st;
        pid_ = -1;
        return false;
    }
    return true;
}

bool DplbdRunner::stop(std::chrono::milliseconds limit) {
    if (!running()) return true;
    kill(pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (!running()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
    status_ = st;
    pid_ = -1;
    return false;
}

bool DplbdRunner::exited_cleanly() const { return status_ != -1 && WIFEXITED(status_) && WEXITSTATUS(status_) == 0; }

std::string DplbdRunner::describe_exit() const {
    if (status_ == -1) return "still running";
    if (WIFEXITED(status_)) return "exit " + std::to_string(WEXITSTATUS(status_));
    if (WIFSIGNALED(status_)) return "killed by signal " + std::to_string(WTERMSIG(status_));
    return "status " + std::to_string(status_);
}

std::vector<Bytes> DplbdRunner::output() const { return read_pcap(out_); }

std::string DplbdRunner::ctl(const std::string& args, bool* ok, unsigned timeout_s) const {
    std::string cmd =
        std::string(DPLBCTL_PATH) + " -s " + socket_ + " -t " + std::to_string(timeout_s) + " " + args + " 2>&1";
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) {
        if (ok) *ok = false;
        return "popen failed";
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int st = pclose(p);
    if (ok) *ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    return out;
}

}  // namespace dplb::test
