#include "chaos/gpu/gpu_load.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llmrca::chaos::gpu {
namespace {

using ::testing::HasSubstr;

TEST(GpuLoadTest, ValidatesOptionsWithoutAGpu) {
  EXPECT_TRUE(ValidateGpuLoadOptions(GpuLoadOptions{}).ok());
  const auto message = [](GpuLoadOptions o) {
    GpuStatus s = ValidateGpuLoadOptions(o);
    return s.ok() ? std::string("ok") : s.error().message;
  };
  GpuLoadOptions o;
  o.device = -1;
  EXPECT_THAT(message(o), HasSubstr("device -1"));
  o = {};
  o.load_pct = 0;
  EXPECT_THAT(message(o), HasSubstr("outside (0, 100]"));
  o.load_pct = 100.5;
  EXPECT_THAT(message(o), HasSubstr("outside (0, 100]"));
  o = {};
  o.duration = std::chrono::seconds(0);
  EXPECT_THAT(message(o), HasSubstr("duration"));
  o = {};
  o.period = std::chrono::duration<double>(-0.1);
  EXPECT_THAT(message(o), HasSubstr("period"));
  o = {};
  o.memory_bytes = -1;
  EXPECT_THAT(message(o), HasSubstr("memory"));
}

TEST(GpuLoadTest, WithoutCudaEveryRunSaysSo) {
  if (GpuLoadBuiltWithCuda()) GTEST_SKIP() << "built with CUDA";
  std::atomic<bool> stop{false};
  GpuResult<GpuLoadReport> load = RunGpuLoad(GpuLoadOptions{}, stop);
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(load.error().code, GpuErrorCode::kUnavailable);
  EXPECT_THAT(load.error().message, HasSubstr("built without CUDA"));
  EXPECT_THAT(RunGpuProbe(0, 10).error().message, HasSubstr("built without CUDA"));
  EXPECT_THAT(DescribeCudaDevice(0).error().message, HasSubstr("built without CUDA"));
  // Bad options are still reported as such, before the missing CUDA.
  GpuLoadOptions bad;
  bad.load_pct = 0;
  EXPECT_EQ(RunGpuLoad(bad, stop).error().code, GpuErrorCode::kInvalidArgument);
}

// The rest needs a CUDA build and a GPU; elsewhere they are skipped with the reason.
void SkipWithoutGpu() {
  if (!GpuLoadBuiltWithCuda()) GTEST_SKIP() << "built without CUDA (LLMRCA_WITH_CUDA=OFF)";
  GpuResult<GpuCudaDevice> d = DescribeCudaDevice(0);
  if (!d.ok()) GTEST_SKIP() << "no usable GPU: " << d.error().message;
}

TEST(GpuLoadTest, HalfLoadKeepsTheGpuBusyHalfTheTime) {
  SkipWithoutGpu();
  if (::testing::Test::IsSkipped()) return;
  GpuLoadOptions o;
  o.load_pct = 50;
  o.duration = std::chrono::seconds(2);
  o.memory_bytes = 64 << 20;
  std::atomic<bool> stop{false};
  GpuResult<GpuLoadReport> r = RunGpuLoad(o, stop);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(r->kernels_launched, 0);
  EXPECT_GT(r->blocks_per_launch, 0);
  EXPECT_EQ(r->memory_bytes_held, 64 << 20);
  EXPECT_FALSE(r->stopped);
  EXPECT_NEAR(r->elapsed_s, 2.0, 0.3);
  // 50 % of each 100 ms period; launch gaps and sleeps overshooting bound it loosely.
  EXPECT_NEAR(r->busy_share, 0.5, 0.1);
  EXPECT_THAT(r->uuid, ::testing::StartsWith("GPU-"));
}

TEST(GpuLoadTest, StopFlagEndsTheLoadEarly) {
  SkipWithoutGpu();
  if (::testing::Test::IsSkipped()) return;
  GpuLoadOptions o;
  o.duration = std::chrono::seconds(30);
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stop = true;
  });
  GpuResult<GpuLoadReport> r = RunGpuLoad(o, stop);
  stopper.join();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->stopped);
  EXPECT_LT(r->elapsed_s, 2.0);
  EXPECT_GT(r->busy_share, 0.8);  // 100 %: kernels back to back
}

TEST(GpuLoadTest, ProbeTimesItsKernels) {
  SkipWithoutGpu();
  if (::testing::Test::IsSkipped()) return;
  GpuResult<GpuProbeReport> p = RunGpuProbe(0, 20);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->kernels, 20);
  EXPECT_GT(p->elapsed_s, 0);
  EXPECT_DOUBLE_EQ(p->mean_kernel_ms, p->elapsed_s / 20 * 1e3);
  EXPECT_EQ(RunGpuProbe(0, 0).error().code, GpuErrorCode::kInvalidArgument);
  EXPECT_EQ(DescribeCudaDevice(4096).error().code, GpuErrorCode::kNotFound);
}

}  // namespace
}  // namespace llmrca::chaos::gpu
