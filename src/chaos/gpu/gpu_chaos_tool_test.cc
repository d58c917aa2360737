#include "chaos/gpu/gpu_chaos_tool.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "chaos/gpu/gpu_load.h"
#include "chaos/gpu/testing/fake_nvml_env.h"

// The tool against the fake NVML (fake GPU 0: 350 W, accepts 100-400 W); no real GPU is touched.

namespace llmrca::chaos::gpu {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Pairs = std::vector<std::pair<unsigned, unsigned>>;

struct ToolRun {
  int code = -1;
  std::string out;
  std::string err;
};

ToolRun Tool(std::vector<std::string> args) {
  std::ostringstream out;
  std::ostringstream err;
  ToolRun r;
  r.code = RunGpuChaosTool(args, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

// The number after "key": in a flat JSON text; NaN when absent.
double JsonNumberField(const std::string& json, const std::string& key) {
  const size_t at = json.find("\"" + key + "\":");
  if (at == std::string::npos) return std::nan("");
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

TEST(GpuChaosToolTest, UsageErrorsExitWithTwo) {
  testing::FakeNvmlEnv env;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "no command"},
      {{"explode"}, "unknown command 'explode'"},
      {{"info", "--bogus"}, "unknown option '--bogus' for info"},
      {{"power-cap", "--device", "0", "--duration", "5"}, "--watts is required"},
      {{"power-cap", "--device", "x", "--watts", "150", "--duration", "5"}, "--device wants"},
      {{"power-cap", "--device", "0", "--watts", "150W", "--duration", "5"}, "--watts wants"},
      {{"power-cap", "--device", "0", "--watts", "150", "--duration", "0"}, "positive"},
      {{"power-cap", "--device", "0", "--watts", "150", "--duration"}, "--duration needs a value"},
      {{"power-cap", "--device=0", "--device=1"}, "--device given twice"},
      {{"load", "--device", "0", "--load", "150", "--duration", "5"}, "outside (0, 100]"},
      {{"load", "--device", "0", "--load", "50", "--duration", "5", "--memory", "1T"},
       "--memory wants bytes"},
      {{"load", "--probe", "--kernels", "0"}, "--kernels wants"},
  };
  for (const auto& [args, message] : cases) {
    const ToolRun r = Tool(args);
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_THAT(r.err, HasSubstr(message));
    EXPECT_THAT(r.err, HasSubstr("usage: llmrca-gpu-chaos"));
  }
  EXPECT_EQ(Tool({"--help"}).code, 0);
}

TEST(GpuChaosToolTest, InfoListsTheDevicesAndLimits) {
  testing::FakeNvmlEnv env;
  const ToolRun text = Tool({"info"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("2 GPU(s) through"));
  EXPECT_THAT(text.out, HasSubstr("GPU 0: llmrca fake GPU 0 (GPU-fa4e0000-"));
  EXPECT_THAT(text.out, HasSubstr("power limit 350 W (default 350 W, accepts 100 W to 400 W), "
                                  "draw 123.456 W"));
  EXPECT_THAT(text.out, HasSubstr("utilisation: gpu 37 %, memory 12 %"));
  EXPECT_THAT(text.out, HasSubstr("utilisation: gpu n/a, memory n/a"));

  const ToolRun json = Tool({"info", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, HasSubstr("\"name\":\"llmrca fake GPU 0\""));
  EXPECT_THAT(json.out, HasSubstr("\"power_limit_w\":350,\"default_limit_w\":350,"
                                  "\"min_limit_w\":100,\"max_limit_w\":400,\"power_w\":123.456,"
                                  "\"gpu_util_pct\":37,\"memory_util_pct\":12"));
  EXPECT_THAT(json.out, HasSubstr("\"gpu_util_pct\":null"));
}

TEST(GpuChaosToolTest, InfoWithoutNvmlIsAClearFailure) {
  const ToolRun r = Tool({"info", "--nvml-library", "/nonexistent/libnvidia-ml.so.1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("NVML comes with the NVIDIA driver"));
}

TEST(GpuChaosToolTest, DryRunPrintsTheActionsAndRecordAndChangesNothing) {
  testing::FakeNvmlEnv env;
  const ToolRun r =
      Tool({"power-cap", "--device", "0", "--watts", "150", "--duration", "60", "--dry-run"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("dry run: would set the power limit of GPU 0 (llmrca fake GPU 0, "
                               "GPU-fa4e0000-0000-4000-8000-000000000000) from 350 W to 150 W"));
  EXPECT_THAT(r.err, HasSubstr("restore the power limit of GPU 0"));
  EXPECT_THAT(r.out, StartsWith("{\"type\":\"gpu_power_cap\",\"target\":\"GPU 0 (llmrca fake GPU "
                                "0, GPU-fa4e0000-0000-4000-8000-000000000000)\",\"params\":{"));
  EXPECT_THAT(r.out, HasSubstr("\"watts\":150,\"previous_watts\":350,\"default_watts\":350,"
                               "\"min_watts\":100,\"max_watts\":400,\"duration_s\":60,"
                               "\"dry_run\":true}"));
  EXPECT_THAT(r.out, HasSubstr("\"outcome\":\"dry run: nothing injected\"}\n"));
  EXPECT_TRUE(env.ReadState().sets.empty());
}

TEST(GpuChaosToolTest, PowerCapRestoresWhenTheDurationEnds) {
  testing::FakeNvmlEnv env;
  env.WriteState("limit 0 320000\n");
  const ToolRun r = Tool({"power-cap", "--device", "0", "--watts", "150", "--duration", "0.3"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"previous_watts\":320"));
  EXPECT_THAT(r.out, HasSubstr("\"outcome\":\"completed\""));
  EXPECT_GE(JsonNumberField(r.out, "end") - JsonNumberField(r.out, "start"), 0.3);
  EXPECT_THAT(r.err, HasSubstr("undo with: nvidia-smi -i GPU-fa4e0000-0000-4000-8000-000000000000 "
                               "-pl 320"));
  const testing::FakeNvmlState state = env.ReadState();
  EXPECT_EQ(state.sets, (Pairs{{0, 150000}, {0, 320000}}));
  EXPECT_EQ(state.limits, (Pairs{{0, 320000}, {1, 300000}}));
}

TEST(GpuChaosToolTest, PowerCapOutOfRangeNamesTheRange) {
  testing::FakeNvmlEnv env;
  const ToolRun r = Tool({"power-cap", "--device", "0", "--watts", "500", "--duration", "5"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("accepts 100 W to 400 W"));
  EXPECT_TRUE(r.out.empty());
  EXPECT_TRUE(env.ReadState().sets.empty());
}

TEST(GpuChaosToolTest, PowerCapWithoutRootRecordsTheFailure) {
  testing::FakeNvmlEnv env;
  ::setenv("LLMRCA_FAKE_NVML_FAIL_SET", "4", 1);
  const ToolRun r = Tool({"power-cap", "--device", "0", "--watts", "150", "--duration", "5"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("NVML_ERROR_NO_PERMISSION"));
  EXPECT_THAT(r.err, HasSubstr("needs root"));
  EXPECT_THAT(r.out, HasSubstr("\"outcome\":\"failed: gpu: cannot set the power limit of GPU 0"));
  EXPECT_TRUE(env.ReadState().sets.empty());
}

TEST(GpuChaosToolTest, LoadWithoutCudaIsAClearFailure) {
  if (GpuLoadBuiltWithCuda()) GTEST_SKIP() << "built with CUDA";
  testing::FakeNvmlEnv env;
  const ToolRun r = Tool({"load", "--device", "0", "--load", "100", "--duration", "5"});
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("built without CUDA"));
  EXPECT_EQ(Tool({"load", "--probe"}).code, 1);
}

// Starts the tool binary with stdout into a pipe; returns its pid and the pipe's read end.
std::pair<pid_t, int> Spawn(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) return {-1, -1};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDERR_FILENO);
    ::close(fds[0]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(LLMRCA_GPU_CHAOS_TOOL));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

std::string ReadAll(int fd) {
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return text;
}

TEST(GpuChaosToolTest, PowerCapRestoresOnSigterm) {
  testing::FakeNvmlEnv env;  // the child inherits the environment naming the fake and its state
  const auto [pid, out_fd] =
      Spawn({"power-cap", "--device", "1", "--watts", "200", "--duration", "60"});
  ASSERT_GT(pid, 0);
  // Wait for the cap to be in force (the fake records the set), then ask the tool to stop.
  bool capped = false;
  for (int i = 0; i < 500 && !capped; ++i) {
    capped = !env.ReadState().sets.empty();
    if (!capped) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(capped) << "the tool never set the cap";
  const auto sent = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  const std::string out = ReadAll(out_fd);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(5));
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(out, HasSubstr("\"outcome\":\"stopped by signal\""));
  EXPECT_THAT(out, HasSubstr("\"signal\":\"SIGTERM\""));
  EXPECT_EQ(env.ReadState().sets, (Pairs{{1, 200000}, {1, 300000}}));
}

}  // namespace
}  // namespace llmrca::chaos::gpu
