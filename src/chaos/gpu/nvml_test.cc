#include "chaos/gpu/nvml.h"

#include <stdlib.h>

#include <cmath>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "chaos/gpu/testing/fake_nvml_env.h"

// Every test here runs against the fake NVML (fake_nvml.cc); none touches a real GPU. Expected
// values are the fake's documented devices: GPU 0 at 350 W (default 350 W, accepts 100-400 W,
// draw 123.456 W, utilisation 37 % / 12 %), GPU 1 at 300 W (150-300 W, no utilisation).

namespace llmrca::chaos::gpu {
namespace {

using ::testing::HasSubstr;
using Pairs = std::vector<std::pair<unsigned, unsigned>>;

constexpr const char* kUuid0 = "GPU-fa4e0000-0000-4000-8000-000000000000";

std::unique_ptr<Nvml> OpenFake() {
  GpuResult<std::unique_ptr<Nvml>> nvml = Nvml::Open();
  EXPECT_TRUE(nvml.ok()) << (nvml.ok() ? "" : nvml.error().message);
  return nvml.ok() ? std::move(*nvml) : nullptr;
}

TEST(NvmlTest, ResolvesTheLibraryFromArgumentThenEnvironmentThenDefault) {
  ::unsetenv("LLMRCA_NVML_LIBRARY");
  EXPECT_EQ(ResolveNvmlLibrary(""), "libnvidia-ml.so.1");
  EXPECT_EQ(ResolveNvmlLibrary("/opt/x.so"), "/opt/x.so");
  ::setenv("LLMRCA_NVML_LIBRARY", "/env/fake.so", 1);
  EXPECT_EQ(ResolveNvmlLibrary(""), "/env/fake.so");
  EXPECT_EQ(ResolveNvmlLibrary("/opt/x.so"), "/opt/x.so");
  ::setenv("LLMRCA_NVML_LIBRARY", "", 1);
  EXPECT_EQ(ResolveNvmlLibrary(""), "libnvidia-ml.so.1");
  ::unsetenv("LLMRCA_NVML_LIBRARY");
}

TEST(NvmlTest, FormatsMilliwattsAsWatts) {
  EXPECT_EQ(FormatWatts(150000), "150");
  EXPECT_EQ(FormatWatts(150500), "150.5");
  EXPECT_EQ(FormatWatts(123456), "123.456");
  EXPECT_EQ(FormatWatts(1), "0.001");
  EXPECT_EQ(FormatWatts(0), "0");
}

TEST(NvmlTest, NamesReturnCodes) {
  EXPECT_EQ(NvmlReturnName(0), "NVML_SUCCESS");
  EXPECT_EQ(NvmlReturnName(4), "NVML_ERROR_NO_PERMISSION");
  EXPECT_EQ(NvmlReturnName(9), "NVML_ERROR_DRIVER_NOT_LOADED");
  EXPECT_EQ(NvmlReturnName(999), "NVML_ERROR_UNKNOWN");
  EXPECT_EQ(NvmlReturnName(4242), "NVML error 4242");
}

TEST(NvmlTest, MissingLibraryNamesThePathAndTheDriver) {
  GpuResult<std::unique_ptr<Nvml>> nvml = Nvml::Open("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.error().code, GpuErrorCode::kNotFound);
  EXPECT_THAT(nvml.error().message, HasSubstr("/nonexistent/libnvidia-ml.so.1"));
  EXPECT_THAT(nvml.error().message, HasSubstr("NVML comes with the NVIDIA driver"));
}

TEST(NvmlTest, LibraryWithoutNvmlIsRefusedNamingTheSymbol) {
  GpuResult<std::unique_ptr<Nvml>> nvml = Nvml::Open("libc.so.6");
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.error().code, GpuErrorCode::kNotFound);
  EXPECT_THAT(nvml.error().message, HasSubstr("nvmlInit_v2"));
}

TEST(NvmlTest, InitFailureCarriesNvmlsOwnError) {
  testing::FakeNvmlEnv env;
  ::setenv("LLMRCA_FAKE_NVML_FAIL_INIT", "9", 1);
  GpuResult<std::unique_ptr<Nvml>> nvml = Nvml::Open();
  ASSERT_FALSE(nvml.ok());
  EXPECT_EQ(nvml.error().code, GpuErrorCode::kUnavailable);
  EXPECT_EQ(nvml.error().nvml_return, 9);
  EXPECT_THAT(nvml.error().message, HasSubstr("Driver Not Loaded"));
  EXPECT_THAT(nvml.error().message, HasSubstr("NVML_ERROR_DRIVER_NOT_LOADED"));
}

TEST(NvmlTest, ReadsTheFakeDevices) {
  testing::FakeNvmlEnv env;
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  EXPECT_EQ(nvml->library(), testing::FakeNvmlLibrary());
  ASSERT_TRUE(nvml->DeviceCount().ok());
  EXPECT_EQ(*nvml->DeviceCount(), 2u);

  GpuResult<std::vector<GpuDeviceInfo>> devices = nvml->Devices();
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 2u);
  const GpuDeviceInfo& d0 = (*devices)[0];
  EXPECT_EQ(d0.index, 0u);
  EXPECT_EQ(d0.name, "llmrca fake GPU 0");
  EXPECT_EQ(d0.uuid, kUuid0);
  EXPECT_EQ(d0.power_limit_w, 350.0);
  EXPECT_EQ(d0.default_limit_w, 350.0);
  EXPECT_EQ(d0.min_limit_w, 100.0);
  EXPECT_EQ(d0.max_limit_w, 400.0);
  ASSERT_TRUE(d0.power_w.has_value());
  EXPECT_DOUBLE_EQ(*d0.power_w, 123.456);
  EXPECT_EQ(d0.gpu_util_pct, 37u);
  EXPECT_EQ(d0.memory_util_pct, 12u);

  const GpuDeviceInfo& d1 = (*devices)[1];
  EXPECT_EQ(d1.name, "llmrca fake GPU 1");
  EXPECT_EQ(d1.power_limit_w, 300.0);
  EXPECT_EQ(d1.min_limit_w, 150.0);
  EXPECT_EQ(d1.max_limit_w, 300.0);
  EXPECT_EQ(d1.power_w, 99.0);
  EXPECT_FALSE(d1.gpu_util_pct.has_value());  // NOT_SUPPORTED in the fake
  EXPECT_FALSE(d1.memory_util_pct.has_value());

  GpuResult<unsigned> found = nvml->FindByUuid("GPU-fa4e0001-0000-4000-8000-000000000001");
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, 1u);
  EXPECT_EQ(nvml->FindByUuid("GPU-nope").error().code, GpuErrorCode::kNotFound);
}

TEST(NvmlTest, UnknownDeviceIsNotFound) {
  testing::FakeNvmlEnv env;
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<GpuDeviceInfo> d = nvml->DeviceInfo(2);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, GpuErrorCode::kNotFound);
  EXPECT_THAT(d.error().message, HasSubstr("no GPU 2"));
  EXPECT_THAT(d.error().message, HasSubstr("2 GPU(s) (0..1)"));
  EXPECT_EQ(PlanPowerCap(*nvml, 7, 150).error().code, GpuErrorCode::kNotFound);
}

TEST(NvmlTest, PlansTheExactActionsAndChangesNothing) {
  testing::FakeNvmlEnv env;
  env.WriteState("limit 0 300000\n");  // someone set 300 W before: that, not 350 W, is restored
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<PowerCapPlan> plan = PlanPowerCap(*nvml, 0, 150);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->device, 0u);
  EXPECT_EQ(plan->uuid, kUuid0);
  EXPECT_EQ(plan->previous_limit_mw, 300000u);
  EXPECT_EQ(plan->target_limit_mw, 150000u);
  EXPECT_EQ(plan->default_limit_mw, 350000u);
  EXPECT_EQ(plan->min_limit_mw, 100000u);
  EXPECT_EQ(plan->max_limit_mw, 400000u);
  const std::string gpu = std::string("GPU 0 (llmrca fake GPU 0, ") + kUuid0 + ")";
  EXPECT_EQ(PowerCapActions(*plan),
            (std::vector<std::string>{"set the power limit of " + gpu + " from 300 W to 150 W",
                                      "restore the power limit of " + gpu + " to 300 W"}));
  EXPECT_EQ(PowerCapRestoreCommand(*plan),
            (std::vector<std::string>{"nvidia-smi", "-i", kUuid0, "-pl", "300"}));
  EXPECT_TRUE(env.ReadState().sets.empty());
}

TEST(NvmlTest, AppliesACapAndRestoresThePreviousLimit) {
  testing::FakeNvmlEnv env;
  env.WriteState("limit 0 300000\n");
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<PowerCapPlan> plan = PlanPowerCap(*nvml, 0, 150.5);
  ASSERT_TRUE(plan.ok()) << plan.error().message;

  GpuStatus applied = ApplyPowerCap(*nvml, *plan);
  ASSERT_TRUE(applied.ok()) << applied.ToString();
  testing::FakeNvmlState state = env.ReadState();
  EXPECT_EQ(state.limits, (Pairs{{0, 150500}, {1, 300000}}));
  EXPECT_EQ(state.sets, (Pairs{{0, 150500}}));
  EXPECT_EQ(nvml->DeviceInfo(0)->power_limit_w, 150.5);

  GpuStatus restored = RestorePowerCap(*nvml, *plan);
  ASSERT_TRUE(restored.ok()) << restored.ToString();
  state = env.ReadState();
  EXPECT_EQ(state.limits, (Pairs{{0, 300000}, {1, 300000}}));  // 300 W, not the 350 W default
  EXPECT_EQ(state.sets, (Pairs{{0, 150500}, {0, 300000}}));
}

TEST(NvmlTest, CapsTheSecondGpuOnly) {
  testing::FakeNvmlEnv env;
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<PowerCapPlan> plan = PlanPowerCap(*nvml, 1, 200);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_TRUE(ApplyPowerCap(*nvml, *plan).ok());
  ASSERT_TRUE(RestorePowerCap(*nvml, *plan).ok());
  EXPECT_EQ(env.ReadState().sets, (Pairs{{1, 200000}, {1, 300000}}));
}

TEST(NvmlTest, RefusesWattsOutsideTheRangeNamingIt) {
  testing::FakeNvmlEnv env;
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<PowerCapPlan> low = PlanPowerCap(*nvml, 0, 50);
  ASSERT_FALSE(low.ok());
  EXPECT_EQ(low.error().code, GpuErrorCode::kInvalidArgument);
  EXPECT_THAT(low.error().message, HasSubstr("50 W is out of range"));
  EXPECT_THAT(low.error().message, HasSubstr("accepts 100 W to 400 W"));
  EXPECT_THAT(low.error().message, HasSubstr("GPU 0"));

  GpuStatus high = nvml->SetPowerLimit(1, 301);
  ASSERT_FALSE(high.ok());
  EXPECT_EQ(high.error().code, GpuErrorCode::kInvalidArgument);
  EXPECT_THAT(high.error().message, HasSubstr("accepts 150 W to 300 W"));

  for (const double bad : {0.0, -5.0, std::nan(""), HUGE_VAL, 1e12}) {
    EXPECT_EQ(PlanPowerCap(*nvml, 0, bad).error().code, GpuErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(nvml->SetPowerLimit(0, bad).error().code, GpuErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(env.ReadState().sets.empty());
}

TEST(NvmlTest, PermissionErrorSaysRootAndNamesTheDevice) {
  testing::FakeNvmlEnv env;
  ::setenv("LLMRCA_FAKE_NVML_FAIL_SET", "4", 1);  // NVML_ERROR_NO_PERMISSION
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<PowerCapPlan> plan = PlanPowerCap(*nvml, 0, 150);
  ASSERT_TRUE(plan.ok());
  GpuStatus applied = ApplyPowerCap(*nvml, *plan);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code, GpuErrorCode::kPermissionDenied);
  EXPECT_EQ(applied.error().nvml_return, 4);
  EXPECT_THAT(applied.error().message,
              HasSubstr("cannot set the power limit of GPU 0 (llmrca fake GPU 0"));
  EXPECT_THAT(applied.error().message,
              HasSubstr("NVML: Insufficient Permissions (NVML_ERROR_NO_PERMISSION, 4)"));
  EXPECT_THAT(applied.error().message, HasSubstr("needs root"));
  EXPECT_TRUE(env.ReadState().sets.empty());
}

TEST(NvmlTest, ApplyRefusesAStalePlan) {
  testing::FakeNvmlEnv env;
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<PowerCapPlan> plan = PlanPowerCap(*nvml, 0, 150);
  ASSERT_TRUE(plan.ok());
  env.WriteState("limit 0 200000\n");  // changed by someone else after planning
  GpuStatus applied = ApplyPowerCap(*nvml, *plan);
  ASSERT_FALSE(applied.ok());
  EXPECT_EQ(applied.error().code, GpuErrorCode::kUnavailable);
  EXPECT_THAT(applied.error().message, HasSubstr("moved from 350 W to 200 W"));
  EXPECT_TRUE(env.ReadState().sets.empty());
}

TEST(NvmlTest, ApplyPutsTheLimitBackWhenTheCapDoesNotTake) {
  testing::FakeNvmlEnv env;
  ::setenv("LLMRCA_FAKE_NVML_IGNORE_SET", "1", 1);  // set reports success, changes nothing
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  GpuResult<PowerCapPlan> plan = PlanPowerCap(*nvml, 0, 150);
  ASSERT_TRUE(plan.ok());
  GpuStatus applied = ApplyPowerCap(*nvml, *plan);
  ASSERT_FALSE(applied.ok());
  EXPECT_THAT(applied.error().message, HasSubstr("reads 350 W after setting 150 W"));
  EXPECT_THAT(applied.error().message, HasSubstr("restored 350 W"));
}

TEST(NvmlTest, CloseIsIdempotentAndLaterCallsFail) {
  testing::FakeNvmlEnv env;
  std::unique_ptr<Nvml> nvml = OpenFake();
  ASSERT_NE(nvml, nullptr);
  EXPECT_TRUE(nvml->Close().ok());
  EXPECT_TRUE(nvml->Close().ok());
  GpuResult<unsigned> count = nvml->DeviceCount();
  ASSERT_FALSE(count.ok());
  EXPECT_EQ(count.error().code, GpuErrorCode::kUnavailable);
  EXPECT_EQ(nvml->SetPowerLimit(0, 150).error().code, GpuErrorCode::kUnavailable);
}

}  // namespace
}  // namespace llmrca::chaos::gpu
