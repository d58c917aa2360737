#include "chaos/process.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "base/subprocess.h"
#include "chaos/stress.h"

namespace llmrca::chaos {
namespace {

namespace fs = std::filesystem;

fs::path TempDir() {
  const fs::path d = fs::temp_directory_path() /
                     ("llmrca_process_" + std::to_string(::getpid()) + "_" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ProcessTest, ReadsTheCommandDirectoryAndEnvironmentOfAProcess) {
  const fs::path dir = TempDir();
  // /bin/sh runs in `dir` with one variable of our own; sleep keeps it there.
  SubprocessOptions o;
  const std::string cmd = "cd '" + dir.string() + "' && LLMRCA_MARK=42 exec sleep 30";
  Result<Subprocess> child = Subprocess::Start({"/bin/sh", "-c", cmd}, o);
  ASSERT_TRUE(child.ok());
  Result<ProcessCommand> c = Status::NotFound("not read yet");
  for (int i = 0; i < 200; ++i) {  // until exec has replaced the shell
    c = ReadProcessCommand(child->pid());
    if (c.ok() && !c->argv.empty() && c->argv[0] == "sleep") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->argv, (std::vector<std::string>{"sleep", "30"}));
  EXPECT_EQ(fs::path(c->exe).filename(), "sleep");
  EXPECT_EQ(fs::canonical(c->cwd), fs::canonical(dir));
  EXPECT_NE(std::find(c->env.begin(), c->env.end(), "LLMRCA_MARK=42"), c->env.end());
  child->Stop(std::chrono::seconds(1));
  EXPECT_EQ(ReadProcessCommand(999999999).status().code(), StatusCode::kNotFound);
  // A kernel thread (kthreadd is pid 2 on Linux) has no command line to start again.
  if (fs::exists("/proc/2/cmdline") && Slurp("/proc/2/cmdline").empty()) {
    EXPECT_EQ(ReadProcessCommand(2).status().code(), StatusCode::kInvalidArgument);
  }
  fs::remove_all(dir);
}

TEST(ProcessTest, StartsACommandDetachedInItsDirectoryWithItsEnvironment) {
  const fs::path dir = TempDir();
  ProcessCommand c;
  c.argv = {"sh", "-c", "echo \"$$ $LLMRCA_MARK $(pwd)\" > out; exec sleep 30"};
  c.exe = "/bin/sh";
  c.cwd = dir.string();
  c.env = {"LLMRCA_MARK=7", "PATH=/usr/bin:/bin"};
  Result<pid_t> pid = StartDetached(c, (dir / "log").string());
  ASSERT_TRUE(pid.ok()) << pid.status().ToString();
  std::string out;
  for (int i = 0; i < 200 && out.empty(); ++i) {
    out = Slurp(dir / "out");
    if (out.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(out, std::to_string(*pid) + " 7 " + fs::canonical(dir).string() + "\n");
  // Detached: not our child (waitpid refuses it) and in another session (its parent's, which
  // exited after the fork, so it cannot take a terminal either).
  int status = 0;
  EXPECT_EQ(::waitpid(*pid, &status, WNOHANG), -1);
  EXPECT_NE(::getsid(*pid), ::getsid(0));
  EXPECT_NE(::getsid(*pid), *pid);
  ::kill(*pid, SIGKILL);

  ProcessCommand missing = c;
  missing.exe = "/nonexistent/binary";
  Result<pid_t> bad = StartDetached(missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("/nonexistent/binary"), std::string::npos);
  missing = c;
  missing.cwd = "/nonexistent/dir";
  bad = StartDetached(missing);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("chdir '/nonexistent/dir'"), std::string::npos);
  fs::remove_all(dir);
}

TEST(ProcessTest, FreezerControlFilesOfBothVersions) {
  const FreezerControl v1 = FreezerOf({CgroupVersion::kV1, "/sys/fs/cgroup/freezer/x", false});
  EXPECT_EQ(v1.file, "/sys/fs/cgroup/freezer/x/freezer.state");
  EXPECT_EQ(v1.freeze, "FROZEN");
  EXPECT_EQ(v1.thaw, "THAWED");
  const FreezerControl v2 = FreezerOf({CgroupVersion::kV2, "/sys/fs/cgroup/pod/c", false});
  EXPECT_EQ(v2.file, "/sys/fs/cgroup/pod/c/cgroup.freeze");
  EXPECT_EQ(v2.freeze, "1");
  EXPECT_EQ(v2.thaw, "0");
  // v2 on a fake tree: the kernel's answer (cgroup.events) is written by the test.
  const fs::path dir = TempDir();
  std::ofstream(dir / "cgroup.freeze").flush();  // written in place, as cgroupfs files are
  std::ofstream(dir / "cgroup.events") << "populated 1\nfrozen 1\n";
  ASSERT_TRUE(SetFrozen({CgroupVersion::kV2, dir.string(), false}, true).ok());
  EXPECT_EQ(Slurp(dir / "cgroup.freeze"), "1");
  ASSERT_TRUE(SetFrozen({CgroupVersion::kV2, dir.string(), false}, false).ok());
  EXPECT_EQ(Slurp(dir / "cgroup.freeze"), "0");
  std::ofstream(dir / "cgroup.events") << "populated 1\nfrozen 0\n";  // never freezes
  const Status stuck = SetFrozen({CgroupVersion::kV2, dir.string(), false}, true, 50);
  EXPECT_EQ(stuck.code(), StatusCode::kUnavailable);
  EXPECT_EQ(Slurp(dir / "cgroup.freeze"), "0");  // thawed again
  const Status root = SetFrozen({CgroupVersion::kV2, dir.string(), true}, true);
  EXPECT_EQ(root.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(root.message().find("root cgroup"), std::string::npos);
  fs::remove_all(dir);
}

// This machine's v1 freezer (root only): a busy child in a cgroup of its own makes no progress
// while frozen and runs again once thawed.
TEST(ProcessTest, AFrozenCgroupMakesNoProgressUntilThawed) {
  const std::string dir = "/sys/fs/cgroup/freezer/llmrca-process-test-" + std::to_string(::getpid());
  if (::mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "cannot create a v1 freezer cgroup here";
  SubprocessOptions o;
  o.join_cgroup_procs = dir + "/cgroup.procs";
  Result<Subprocess> busy = Subprocess::Start({"/bin/sh", "-c", "while :; do :; done"}, o);
  ASSERT_TRUE(busy.ok()) << busy.status().ToString();
  Result<CgroupDir> cg = CgroupAt(dir);
  ASSERT_TRUE(cg.ok());
  EXPECT_FALSE(cg->is_root);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(SetFrozen(*cg, true).ok());
  EXPECT_EQ(Slurp(dir + "/freezer.state"), "FROZEN\n");
  const double frozen_at = ProcessCpuSeconds(busy->pid());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const double still = ProcessCpuSeconds(busy->pid());
  ASSERT_TRUE(SetFrozen(*cg, false).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const double thawed = ProcessCpuSeconds(busy->pid());
  busy->Stop(std::chrono::seconds(1));
  for (int i = 0; i < 200 && ::rmdir(dir.c_str()) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(fs::exists(dir)) << dir << " was left behind";
  EXPECT_EQ(still, frozen_at);  // not one clock tick while frozen
  EXPECT_GT(thawed, still);
  // The root freezer cgroup and the test's own are refused.
  const Result<CgroupDir> root = CgroupAt("/sys/fs/cgroup/freezer");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->is_root);
  EXPECT_EQ(SetFrozen(*root, true).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmrca::chaos
