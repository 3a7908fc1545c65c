// The script runner (controlplane/scripts/) with real child processes: /bin/sh scripts written to a
// temporary directory. Every wait is on a condition (a file a script wrote, a completion callback)
// with a bounded deadline, never a sleep standing in for one.
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "command_line.h"
#include "notify.h"
#include "rise_fall.h"
#include "runner.h"
#include "script_checks.h"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dplb::scripts::Job;
using dplb::scripts::Result;
using dplb::scripts::Runner;

namespace {

class ScriptsTest : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/dplb-scripts-XXXXXX";
        ASSERT_NE(mkdtemp(tmpl), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { fs::remove_all(dir_); }

    // An executable /bin/sh script in the temporary directory.
    std::string script(const std::string& name, const std::string& body) {
        std::string path = dir_ + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
        chmod(path.c_str(), 0755);
        return path;
    }
    std::string file(const std::string& name) const { return dir_ + "/" + name; }
    bool exists(const std::string& name) const { return fs::exists(file(name)); }
    std::string read(const std::string& name) const {
        std::ifstream in(file(name));
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

    // Runs the io_context until pred() holds or `limit` has passed; whether it holds.
    template <typename P>
    bool run_until(P pred, std::chrono::milliseconds limit = 10s) {
        auto end = std::chrono::steady_clock::now() + limit;
        while (!pred() && std::chrono::steady_clock::now() < end) io_.run_for(5ms);
        return pred();
    }

    Job job(std::vector<std::string> argv, std::chrono::milliseconds timeout = 5s, std::string lane = "") {
        Job j;
        j.argv = std::move(argv);
        j.timeout = timeout;
        j.lane = std::move(lane);
        return j;
    }

    boost::asio::io_context io_;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
        boost::asio::make_work_guard(io_);
    std::string dir_;
};

TEST(CommandLine, SplitsWordsAndQuotes) {
    using dplb::config::split_command_line;
    EXPECT_EQ(*split_command_line("/bin/x a  b"), (std::vector<std::string>{"/bin/x", "a", "b"}));
    EXPECT_EQ(*split_command_line("/bin/x \"a b\" 'c d'e"), (std::vector<std::string>{"/bin/x", "a b", "c de"}));
    EXPECT_EQ(*split_command_line("/bin/x ''"), (std::vector<std::string>{"/bin/x", ""}));
    EXPECT_TRUE(split_command_line("   ")->empty());
    EXPECT_FALSE(split_command_line("/bin/x \"a").has_value());
}

TEST(CommandLine, Problems) {
    using dplb::config::command_line_problem;
    EXPECT_EQ(command_line_problem("/bin/true x"), "");
    EXPECT_EQ(command_line_problem("true"), "the program `true` is not an absolute path");
    EXPECT_EQ(command_line_problem("/nonexistent/x"), "the program `/nonexistent/x` does not exist");
    EXPECT_EQ(command_line_problem("/etc/passwd"), "the program `/etc/passwd` is not an executable file");
    EXPECT_EQ(command_line_problem("/bin"), "the program `/bin` is not an executable file");
    EXPECT_EQ(command_line_problem(""), "is empty");
    EXPECT_EQ(command_line_problem("/bin/true 'x"), "a quote is not closed");
}

TEST(RiseFall, CountsInARow) {
    dplb::scripts::RiseFall rf(2, 3, false);
    EXPECT_TRUE(rf.up());
    EXPECT_FALSE(rf.feed(false));
    EXPECT_FALSE(rf.feed(false));
    EXPECT_FALSE(rf.feed(true));  // the run is broken: three failures needed again
    EXPECT_FALSE(rf.feed(false));
    EXPECT_FALSE(rf.feed(false));
    EXPECT_TRUE(rf.feed(false));
    EXPECT_FALSE(rf.up());
    EXPECT_FALSE(rf.feed(true));
    EXPECT_FALSE(rf.feed(false));  // broken again: two successes needed
    EXPECT_FALSE(rf.feed(true));
    EXPECT_TRUE(rf.feed(true));
    EXPECT_TRUE(rf.up());
}

TEST(RiseFall, InitFailStartsDown) {
    dplb::scripts::RiseFall rf(3, 1, true);
    EXPECT_FALSE(rf.up());
    EXPECT_FALSE(rf.feed(true));
    EXPECT_FALSE(rf.feed(true));
    EXPECT_TRUE(rf.feed(true));
    EXPECT_TRUE(rf.feed(false));  // fall 1
    // Up after its rise, a script needs its full `fall` to go down again.
    dplb::scripts::RiseFall two(2, 2, true);
    EXPECT_FALSE(two.feed(true));
    EXPECT_TRUE(two.feed(true));
    EXPECT_FALSE(two.feed(false));
    EXPECT_TRUE(two.up());
    EXPECT_TRUE(two.feed(false));
    dplb::scripts::RiseFall one(1, 1, false);
    EXPECT_TRUE(one.feed(false));
    EXPECT_TRUE(one.feed(true));
}

TEST_F(ScriptsTest, ExitStatus) {
    Runner runner(io_, 4);
    std::vector<Result> got(3);
    int done = 0;
    runner.run(job({script("ok", "exit 0")}), [&](const Result& r) { got[0] = r, done++; });
    runner.run(job({script("three", "exit \"$1\""), "3"}), [&](const Result& r) { got[1] = r, done++; });
    runner.run(job({script("sig", "kill -USR1 $$")}), [&](const Result& r) { got[2] = r, done++; });
    ASSERT_TRUE(run_until([&] { return done == 3; }));
    EXPECT_TRUE(got[0].ok()) << got[0].describe();
    EXPECT_EQ(got[1].kind, Result::Kind::exited);
    EXPECT_EQ(got[1].code, 3);
    EXPECT_FALSE(got[1].ok());
    EXPECT_EQ(got[2].kind, Result::Kind::signalled);
    EXPECT_EQ(got[2].code, SIGUSR1);
    EXPECT_EQ(runner.counters().succeeded, 1u);
    EXPECT_EQ(runner.counters().failed, 2u);
    EXPECT_EQ(runner.in_flight(), 0u);
}

TEST_F(ScriptsTest, ArgumentsAndNoInheritedDescriptors) {
    Runner runner(io_, 1);
    bool done = false;
    std::string s = script("args", "printf '%s|' \"$@\" > " + file("out") + "; ls /proc/self/fd >> " + file("out"));
    runner.run(job({s, "a b", "c"}), [&](const Result&) { done = true; });
    ASSERT_TRUE(run_until([&] { return done; }));
    // The words as given, and no descriptor but 0, 1, 2 (and the one ls opens for the listing).
    EXPECT_EQ(read("out"), "a b|c|0\n1\n2\n3\n");
}

TEST_F(ScriptsTest, NotStarted) {
    Runner runner(io_, 2);
    std::vector<Result> got(2);
    int done = 0;
    std::string noexec = file("noexec");
    std::ofstream(noexec) << "#!/bin/sh\n";
    chmod(noexec.c_str(), 0644);
    runner.run(job({noexec}), [&](const Result& r) { got[0] = r, done++; });
    runner.run(job({file("missing")}), [&](const Result& r) { got[1] = r, done++; });
    ASSERT_TRUE(run_until([&] { return done == 2; }));
    EXPECT_EQ(got[0].kind, Result::Kind::not_started);
    EXPECT_EQ(got[0].code, EACCES);
    EXPECT_EQ(got[1].kind, Result::Kind::not_started);
    EXPECT_EQ(got[1].code, ENOENT);
    EXPECT_EQ(runner.counters().not_started, 2u);
}

TEST_F(ScriptsTest, TimeoutSendsTermThenKill) {
    Runner runner(io_, 2, 16, 200ms);
    std::vector<Result> got(2);
    int done = 0;
    // One leaves on SIGTERM (and says so), the other ignores it and needs SIGKILL.
    std::string polite = script("polite", "trap 'echo term > " + file("term") + "; exit 1' TERM\n"
                                          "echo started > " + file("polite-started") + "\n"
                                          "i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done");
    std::string stubborn = script("stubborn", "trap '' TERM\n"
                                              "echo started > " + file("stubborn-started") + "\n"
                                              "i=0; while [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done");
    auto t0 = std::chrono::steady_clock::now();
    runner.run(job({polite}, 300ms), [&](const Result& r) { got[0] = r, done++; });
    runner.run(job({stubborn}, 300ms), [&](const Result& r) { got[1] = r, done++; });
    ASSERT_TRUE(run_until([&] { return done == 2; }));
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(got[0].kind, Result::Kind::timed_out);
    EXPECT_EQ(got[1].kind, Result::Kind::timed_out);
    EXPECT_EQ(got[0].describe(), "timed out after 300 ms (killed)");
    EXPECT_TRUE(exists("polite-started") && exists("stubborn-started"));
    EXPECT_EQ(read("term"), "term\n");  // SIGTERM came first
    EXPECT_LT(took, 10s);               // the loops would have run 30 s
    EXPECT_EQ(runner.counters().timed_out, 2u);
}

TEST_F(ScriptsTest, BoundedInFlight) {
    Runner runner(io_, 2);
    int done = 0;
    std::string s = script("wait", "echo \"start $1\" >> " + file("log") + "\n"
                                   "echo x > " + file("started-") + "$1\n"
                                   "i=0; while [ ! -e " + file("go") + " ] && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done\n"
                                   "echo \"end $1\" >> " + file("log"));
    for (int i = 0; i < 5; i++) runner.run(job({s, std::to_string(i)}), [&](const Result&) { done++; });
    ASSERT_TRUE(run_until([&] { return exists("started-0") && exists("started-1"); }));
    EXPECT_EQ(runner.in_flight(), 2u);
    EXPECT_EQ(runner.queued(), 3u);
    EXPECT_FALSE(exists("started-2"));  // the runner holds it back, whatever the timing
    std::ofstream(file("go")) << "go\n";
    ASSERT_TRUE(run_until([&] { return done == 5; }));
    // Never more than two between a start and its end.
    std::istringstream log(read("log"));
    std::string word, n;
    int now = 0, most = 0, lines = 0;
    while (log >> word >> n) {
        now += word == "start" ? 1 : -1;
        most = std::max(most, now);
        lines++;
    }
    EXPECT_EQ(lines, 10);
    EXPECT_EQ(most, 2);
}

TEST_F(ScriptsTest, LaneRunsInOrderOthersRunAlongside) {
    Runner runner(io_, 4);
    std::vector<Result> got(4);
    int done = 0;
    // Each job of lane a logs its start and end with a pause between; job 0 waits for the job of
    // lane b, which can only start alongside it.
    std::string a = script("a", "echo \"start $1\" >> " + file("log") + "\n"
                                "if [ \"$1\" = 0 ]; then i=0; while [ ! -e " + file("b") + " ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i+1)); done; [ -e " + file("b") + " ] || exit 1; fi\n"
                                "sleep 0.05\n"
                                "echo \"end $1\" >> " + file("log"));
    std::string b = script("b", "echo b > " + file("b"));
    for (int i = 0; i < 3; i++)
        runner.run(job({a, std::to_string(i)}, 10s, "vrrp VI_1"), [&, i](const Result& r) { got[i] = r, done++; });
    runner.run(job({b}, 10s, "vrrp VI_2"), [&](const Result& r) { got[3] = r, done++; });
    ASSERT_TRUE(run_until([&] { return done == 4; }));
    for (const auto& r : got) EXPECT_TRUE(r.ok()) << r.describe();
    EXPECT_EQ(read("log"), "start 0\nend 0\nstart 1\nend 1\nstart 2\nend 2\n");
}

TEST_F(ScriptsTest, FullQueueIsRefusedAndCounted) {
    Runner runner(io_, 1, 2);
    int done = 0;
    std::vector<Result> got(4);
    std::string s = script("ok", "exit 0");
    for (int i = 0; i < 4; i++) runner.run(job({s}), [&, i](const Result& r) { got[i] = r, done++; });
    ASSERT_TRUE(run_until([&] { return done == 4; }));
    // One running, two waiting, the fourth refused.
    EXPECT_TRUE(got[0].ok());
    EXPECT_TRUE(got[1].ok());
    EXPECT_TRUE(got[2].ok());
    EXPECT_EQ(got[3].kind, Result::Kind::not_started);
    EXPECT_EQ(got[3].code, ENOSPC);
    EXPECT_EQ(runner.counters().not_started, 1u);
    EXPECT_EQ(runner.counters().succeeded, 3u);
}

TEST_F(ScriptsTest, StopKillsWithoutCallback) {
    auto runner = std::make_unique<Runner>(io_, 2);
    bool called = false;
    std::string s = script("long", "echo $$ > " + file("pid") + "\nexec sleep 30");
    runner->run(job({s}, 60s), [&](const Result&) { called = true; });
    ASSERT_TRUE(run_until([&] { return !read("pid").empty(); }));
    pid_t pid = std::atoi(read("pid").c_str());
    runner->stop();  // SIGKILL, and the reap still happens through the io_context
    runner.reset();
    ASSERT_TRUE(run_until([&] { return kill(pid, 0) != 0; }));
    EXPECT_FALSE(called);
}

TEST_F(ScriptsTest, DestroyedRunnerLetsChildrenFinish) {
    auto runner = std::make_unique<Runner>(io_, 2);
    bool called = false;
    std::string s = script("hook", "echo x > " + file("started") + "\n"
                                   "i=0; while [ ! -e " + file("go") + " ] && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done\n"
                                   "echo done > " + file("finished"));
    runner->run(job({s}, 60s), [&](const Result&) { called = true; });
    ASSERT_TRUE(run_until([&] { return exists("started"); }));
    runner.reset();  // dplbd going away with a notify_stop hook running
    std::ofstream(file("go")) << "go\n";
    ASSERT_TRUE(run_until([&] { return read("finished") == "done\n"; }));
    EXPECT_FALSE(called);
}

TEST_F(ScriptsTest, RunsAsUser) {
    if (geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    passwd* pw = getpwnam("nobody");
    ASSERT_NE(pw, nullptr);
    chmod(dir_.c_str(), 0777);
    Runner runner(io_, 1);
    bool done = false;
    Job j = job({script("id", "id -u > " + file("uid") + "; id -g >> " + file("uid"))});
    j.as_user = true;
    j.uid = pw->pw_uid;
    j.gid = pw->pw_gid;
    runner.run(j, [&](const Result&) { done = true; });
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_EQ(read("uid"), std::to_string(pw->pw_uid) + "\n" + std::to_string(pw->pw_gid) + "\n");
}

// vrrp_sync_group hooks: the state's hook, then notify with GROUP <name> <state> 0, on a lane of the
// group's own.
TEST_F(ScriptsTest, SyncGroupNotifyHooksWithGroupArguments) {
    dplb::config::VrrpSyncGroup g;
    g.name = "G";
    g.notify_master = "/bin/m a";
    g.notify_fault = "/bin/f";
    g.notify_stop = "/bin/s";
    g.notify = "/bin/n x";
    auto jobs = dplb::scripts::sync_group_notify_jobs(g, "MASTER");
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_EQ(jobs[0].argv, (std::vector<std::string>{"/bin/m", "a"}));
    EXPECT_EQ(jobs[1].argv, (std::vector<std::string>{"/bin/n", "x", "GROUP", "G", "MASTER", "0"}));
    EXPECT_EQ(jobs[0].lane, jobs[1].lane);
    dplb::config::VrrpInstance vi;
    vi.name = "G";
    vi.notify = "/bin/n";
    EXPECT_NE(jobs[0].lane, dplb::scripts::vrrp_notify_jobs(vi, "G", "MASTER", 1).at(0).lane)
        << "a group and an instance of the same name do not share a lane";
    auto backup = dplb::scripts::sync_group_notify_jobs(g, "BACKUP");  // no notify_backup
    ASSERT_EQ(backup.size(), 1u);
    EXPECT_EQ(backup[0].argv.back(), "0");
    EXPECT_EQ(dplb::scripts::sync_group_notify_jobs(g, "FAULT").at(0).argv,
              (std::vector<std::string>{"/bin/f"}));
    EXPECT_EQ(dplb::scripts::sync_group_notify_jobs(g, "STOP").at(0).argv, (std::vector<std::string>{"/bin/s"}));
}

TEST_F(ScriptsTest, NotifyHooksInOrderWithKeepalivedArguments) {
    std::string log = file("log");
    dplb::config::VrrpInstance vi;
    vi.name = "VI_1";
    // Each hook pauses before it logs: a hook that started before the previous one ended would
    // log out of order.
    vi.notify_master = script("master", "sleep 0.05; echo master >> " + log) + " 'two words'";
    vi.notify_backup = script("backup", "sleep 0.05; echo backup >> " + log);
    vi.notify_fault = script("fault", "echo fault >> " + log);
    vi.notify = script("notify", "echo \"$*\" >> " + log);
    auto jobs = dplb::scripts::vrrp_notify_jobs(vi, "VI_1", "MASTER", 100);
    ASSERT_EQ(jobs.size(), 2u);
    EXPECT_EQ(jobs[0].argv, (std::vector<std::string>{file("master"), "two words"}));
    EXPECT_EQ(jobs[1].argv, (std::vector<std::string>{file("notify"), "INSTANCE", "VI_1", "MASTER", "100"}));
    EXPECT_EQ(jobs[0].timeout, std::chrono::seconds(dplb::config::kNotifyTimeoutS));
    EXPECT_EQ(jobs[0].lane, jobs[1].lane);
    EXPECT_EQ(dplb::scripts::vrrp_notify_jobs(vi, "VI_1", "STOP", 0).size(), 1u);  // no notify_stop: notify only
    Runner runner(io_, 8);
    int done = 0;
    auto fire = [&](const char* state, int prio) {
        for (auto& j : dplb::scripts::vrrp_notify_jobs(vi, "VI_1", state, prio))
            runner.run(std::move(j), [&](const Result&) { done++; });
    };
    fire("MASTER", 100);
    fire("BACKUP", 90);
    fire("FAULT", 0);
    fire("STOP", 0);
    ASSERT_TRUE(run_until([&] { return done == 7; }));
    EXPECT_EQ(read("log"), "master\nINSTANCE VI_1 MASTER 100\nbackup\nINSTANCE VI_1 BACKUP 90\n"
                           "fault\nINSTANCE VI_1 FAULT 0\nINSTANCE VI_1 STOP 0\n");
    dplb::config::RealServer rs;
    rs.notify_down = file("fault") + " x";
    ASSERT_EQ(dplb::scripts::real_notify_jobs(rs, "tcp a -> b", false).size(), 1u);
    EXPECT_TRUE(dplb::scripts::real_notify_jobs(rs, "tcp a -> b", true).empty());
}

TEST_F(ScriptsTest, ScriptChecksFollowAFile) {
    Runner runner(io_, 2);
    std::vector<std::pair<bool, std::string>> changes;
    dplb::scripts::ScriptChecks checks(io_, runner, [&](const std::string& name, bool up, const std::string& why) {
        changes.emplace_back(up, name + ": " + why);
    });
    dplb::config::VrrpScript vs;
    vs.name = "chk";
    vs.script = "/bin/sh -c 'test -e " + file("present") + "'";
    vs.interval_s = 1;
    vs.timeout_s = 1;
    vs.rise = 2;
    vs.fall = 1;
    vs.init_fail = true;
    std::ofstream(file("present")) << "x\n";
    checks.sync({vs});
    EXPECT_FALSE(checks.up("chk"));
    // Two successes (one interval apart) make it up.
    ASSERT_TRUE(run_until([&] { return checks.up("chk"); }, 5s));
    ASSERT_EQ(changes.size(), 1u);
    EXPECT_EQ(changes[0], std::make_pair(true, std::string("chk: exit status 0")));
    EXPECT_EQ(checks.stats().at("chk").runs, 2u);
    fs::remove(file("present"));
    ASSERT_TRUE(run_until([&] { return !checks.up("chk"); }, 5s));
    ASSERT_EQ(changes.size(), 2u);
    EXPECT_EQ(changes[1], std::make_pair(false, std::string("chk: exit status 1")));
    // An unchanged reload keeps the state; a changed one starts again from init_fail.
    checks.sync({vs});
    EXPECT_FALSE(checks.up("chk"));
    EXPECT_EQ(checks.stats().at("chk").runs, 3u);
    checks.sync({});
    EXPECT_FALSE(checks.has("chk"));
}

}  // namespace
