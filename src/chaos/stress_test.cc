#include "chaos/stress.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
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

TEST(StressTest, DiskWritesAtItsRateAndLeavesNoFile) {
  // 4 MiB/s for 1 s with fdatasync: the process's own write counter (/proc/self/io wchar, the
  // kernel's count, not the stressor's) rises by 4 MiB, give or take the pacing's 10 ms slices
  // and a slow fsync. Nothing is left in the directory (the file is unlinked once open).
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("llmrca_disk_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  DiskStressOptions o;
  o.dir = dir.string();
  o.write_bps = 4 << 20;
  o.fsync = true;
  o.file_bytes = 1 << 20;  // writes wrap within 1 MiB
  std::atomic<bool> stop{false};
  const ProcessIo before = ReadProcessIo(::getpid());
  ASSERT_GE(before.wchar, 0);
  bool empty_during = false;
  std::thread look([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    empty_during = std::filesystem::is_empty(dir);
  });
  Result<DiskStressStats> st = RunDiskStress(o, std::chrono::seconds(1), stop);
  look.join();
  const int64_t written = ReadProcessIo(::getpid()).wchar - before.wchar;
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_GE(written, 3.4 * (1 << 20));
  EXPECT_LE(written, 4.3 * (1 << 20));
  // The stressor's own count agrees (within a few writes of the runtime's, e.g. a sanitizer's).
  EXPECT_NEAR(static_cast<double>(st->bytes_written), static_cast<double>(written), 4096);
  EXPECT_GT(st->fsyncs, 10);              // one per 10 ms slice with writes, ~100
  EXPECT_TRUE(empty_during);
  EXPECT_TRUE(std::filesystem::is_empty(dir));

  // Reads alone: at their rate, from a file laid down first.
  DiskStressOptions r;
  r.dir = dir.string();
  r.read_bps = 2 << 20;
  r.file_bytes = 1 << 20;
  Result<DiskStressStats> rs = RunDiskStress(r, std::chrono::milliseconds(500), stop);
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_GE(rs->bytes_read, 0.8 * (1 << 20));
  EXPECT_LE(rs->bytes_read, 1.1 * (1 << 20));
  EXPECT_EQ(rs->bytes_written, 0);

  DiskStressOptions none;
  none.dir = dir.string();
  EXPECT_EQ(RunDiskStress(none, std::chrono::seconds(1), stop).status().code(),
            StatusCode::kInvalidArgument);
  DiskStressOptions nowhere = o;
  nowhere.dir = "/nonexistent/dir";
  const Status s = RunDiskStress(nowhere, std::chrono::seconds(1), stop).status();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("/nonexistent/dir"), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace llmrca::chaos
