#include "chaos/stress.h"

#include <sys/resource.h>
#include <unistd.h>

#include <thread>

#include <gtest/gtest.h>

namespace llmrca::chaos {
namespace {

double SelfCpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

TEST(StressTest, ParsesByteSizes) {
  EXPECT_EQ(*ParseByteSize("4096"), 4096);
  EXPECT_EQ(*ParseByteSize("100k"), 102400);
  EXPECT_EQ(*ParseByteSize("512M"), 512LL << 20);
  EXPECT_EQ(*ParseByteSize("8G"), 8LL << 30);
  for (const char* bad : {"", "M", "-1M", "0", "1.5G", "12X"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

TEST(StressTest, CpuWorkersBurnTheirDutyCycle) {
  // One worker at 50 % for 1 s: busy 50 ms of every 100 ms, 0.5 CPU seconds in all. The duty
  // cycle is an upper bound (asserted below 0.7 with the loop's own overhead); other load on
  // this machine can take CPU from the busy phases, so the lower bound only checks it ran.
  std::atomic<bool> stop{false};
  const double before = SelfCpuSeconds();
  RunCpuStress(1, 50, std::chrono::seconds(1), stop);
  const double used = SelfCpuSeconds() - before;
  EXPECT_GT(used, 0.1);
  EXPECT_LT(used, 0.7);
}

TEST(StressTest, MemoryRampsToItsSizeAndStopsOnRequest) {
  std::atomic<bool> stop{false};
  const int64_t before = ProcessRssBytes(::getpid());
  ASSERT_GT(before, 0);
  int64_t peak = 0;
  std::thread hog([&] {
    EXPECT_TRUE(RunMemoryStress(64LL << 20, std::chrono::milliseconds(200), std::chrono::seconds(20), stop).ok());
  });
  for (int i = 0; i < 200 && peak - before < (60LL << 20); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    peak = std::max(peak, ProcessRssBytes(::getpid()));
  }
  stop = true;
  hog.join();
  EXPECT_GE(peak - before, 60LL << 20);  // 64 MiB written, page by page
  EXPECT_LT(ProcessRssBytes(::getpid()) - before, 16LL << 20);  // released
  EXPECT_GT(ProcessCpuSeconds(::getpid()), 0);
  EXPECT_EQ(ProcessCpuSeconds(-5), -1);
}

}  // namespace
}  // namespace llmrca::chaos
