#include "base/subprocess.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace llmrca {
namespace {

using std::chrono::milliseconds;

SubprocessOptions Captured() {
  SubprocessOptions o;
  o.capture_stdout = true;
  return o;
}

SubprocessOptions LogTo(const std::string& path) {
  SubprocessOptions o;
  o.stderr_path = path;
  return o;
}

// True when `pid` is gone or a zombie (it has ended; only its reaping is left).
bool Ended(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren == std::string::npos || line.size() < paren + 3 || line[paren + 2] == 'Z';
}

TEST(SubprocessTest, ReadsLinesAndStopsWithSigterm) {
  auto p = Subprocess::Start({"sh", "-c", "echo ready; echo two; exec sleep 30"},
                             Captured());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto line = p->ReadLine(milliseconds(5000));
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(*line, "ready");
  EXPECT_EQ(*p->ReadLine(milliseconds(5000)), "two");
  EXPECT_EQ(p->ReadLine(milliseconds(50)).status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(p->Poll().has_value());
  EXPECT_EQ(p->Stop(milliseconds(2000)), 128 + SIGTERM);
  EXPECT_EQ(p->Stop(milliseconds(2000)), 128 + SIGTERM);  // idempotent
}

TEST(SubprocessTest, ReportsExitCodesMissingProgramsAndClosedOutput) {
  auto p = Subprocess::Start({"sh", "-c", "exit 3"}, Captured());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->ReadLine(milliseconds(5000)).status().code(), StatusCode::kUnavailable);
  std::optional<int> code;
  for (int i = 0; i < 500 && !code; ++i) {
    code = p->Poll();
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(code, 3);
  auto missing = Subprocess::Start({"llmrca-no-such-program-here"});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("llmrca-no-such-program-here"), std::string::npos);
}

TEST(SubprocessTest, KillsAChildThatIgnoresSigtermAfterTheGrace) {
  auto p = Subprocess::Start({"sh", "-c", "trap '' TERM; echo armed; while :; do sleep 1; done"},
                             Captured());
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(*p->ReadLine(milliseconds(5000)), "armed");  // the trap is set
  EXPECT_EQ(p->Stop(milliseconds(100)), 128 + SIGKILL);
}

TEST(SubprocessTest, StderrGoesToTheNamedFile) {
  char dir[] = "/tmp/llmrca-subprocess-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string path = std::string(dir) + "/child.log";
  auto p = Subprocess::Start({"sh", "-c", "echo oops >&2"}, LogTo(path));
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 500 && !p->Poll(); ++i) std::this_thread::sleep_for(milliseconds(5));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "oops\n");
  std::remove(path.c_str());
  ::rmdir(dir);
  EXPECT_EQ(Subprocess::Start({"true"}, LogTo("/nonexistent-dir/x.log")).status().code(),
            StatusCode::kIoError);
}

TEST(SubprocessTest, AChildDiesWithItsParentEvenWhenTheParentIsKilled) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t middle = ::fork();
  ASSERT_GE(middle, 0);
  if (middle == 0) {  // starts a long child, reports its pid, then dies without cleaning up
    auto p = Subprocess::Start({"sleep", "30"});
    const pid_t child = p.ok() ? p->pid() : -1;
    if (::write(fds[1], &child, sizeof child) != sizeof child) ::_exit(2);
    ::kill(::getpid(), SIGKILL);
  }
  pid_t child = -1;
  ASSERT_EQ(::read(fds[0], &child, sizeof child), static_cast<ssize_t>(sizeof child));
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_GT(child, 0);
  int status = 0;
  ::waitpid(middle, &status, 0);
  bool ended = false;
  for (int i = 0; i < 400 && !ended; ++i) {
    ended = Ended(child);
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(ended) << "sleep " << child << " outlived its killed parent";
  if (!ended) ::kill(child, SIGKILL);
}

TEST(SubprocessTest, JoinsACgroupBeforeItRuns) {
  SubprocessOptions bad;
  bad.join_cgroup_procs = "/nonexistent-cgroup/cgroup.procs";
  EXPECT_EQ(Subprocess::Start({"true"}, bad).status().code(), StatusCode::kUnavailable);
  // A real v1 cpu cgroup of our own, where this machine lets us make one (root).
  const std::string dir = "/sys/fs/cgroup/cpu/llmrca-subprocess-test-" + std::to_string(::getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "cannot create " << dir;
  SubprocessOptions o;
  o.join_cgroup_procs = dir + "/cgroup.procs";
  o.capture_stdout = true;
  auto p = Subprocess::Start({"sh", "-c", "cat /proc/self/cgroup; exec sleep 30"}, o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  bool in_cgroup = false;
  for (int i = 0; i < 20 && !in_cgroup; ++i) {
    auto line = p->ReadLine(milliseconds(5000));
    if (!line.ok()) break;
    in_cgroup = line->find(":cpu:/llmrca-subprocess-test-") != std::string::npos ||
                line->find(",cpu:/llmrca-subprocess-test-") != std::string::npos;
  }
  p->Stop(milliseconds(2000));
  // A reaped child may take a moment to leave the cgroup's list; rmdir fails (EBUSY) until then.
  for (int i = 0; i < 200 && ::rmdir(dir.c_str()) != 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir << " was left behind";
  EXPECT_TRUE(in_cgroup);
}

TEST(SubprocessTest, SelfExecutableIsThisTestBinary) {
  auto self = SelfExecutable();
  ASSERT_TRUE(self.ok());
  EXPECT_NE(self->find("llmrca_base_tests"), std::string::npos) << *self;
}

}  // namespace
}  // namespace llmrca
