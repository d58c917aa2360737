#include "base/thread_pool.h"

#include <atomic>
#include <cmath>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "base/random.h"

namespace llmrca {
namespace {

TEST(ParallelForTest, RunsEveryIndexExactlyOnce) {
  constexpr size_t kN = 1000;
  for (size_t threads : {1u, 2u, 8u}) {
    std::vector<std::atomic<int>> runs(kN);
    ParallelFor(kN, threads, [&](size_t i) { runs[i].fetch_add(1); });
    for (size_t i = 0; i < kN; ++i) {
      ASSERT_EQ(runs[i].load(), 1) << "index " << i << " with " << threads << " threads";
    }
  }
}

// A per-index result that depends only on the index: a seeded draw stream keyed by the index.
double WorkFor(size_t i) {
  Rng rng(Rng::Derive(17, std::to_string(i)));
  double sum = 0;
  for (int k = 0; k < 50; ++k) sum += rng.Normal();
  return sum;
}

TEST(ParallelForTest, ResultsAreIdenticalAcrossThreadCounts) {
  constexpr size_t kN = 300;
  std::vector<std::vector<double>> results;
  for (size_t threads : {1u, 2u, 8u}) {
    std::vector<double> out(kN, std::nan(""));
    ParallelFor(kN, threads, [&](size_t i) { out[i] = WorkFor(i); });
    results.push_back(out);
  }
  for (size_t i = 0; i < kN; ++i) {
    ASSERT_EQ(results[0][i], WorkFor(i)) << "index " << i;  // bitwise the same
    ASSERT_EQ(results[1][i], results[0][i]) << "index " << i;
    ASSERT_EQ(results[2][i], results[0][i]) << "index " << i;
  }
}

TEST(ParallelForTest, ZeroItemsRunsNothing) {
  std::atomic<int> calls{0};
  ParallelFor(0, 8, [&](size_t) { calls.fetch_add(1); });
  EXPECT_EQ(calls.load(), 0);
}

TEST(ParallelForTest, MoreThreadsThanItemsStillRunsEachOnce) {
  std::vector<std::atomic<int>> runs(3);
  ParallelFor(3, 8, [&](size_t i) { runs[i].fetch_add(1); });
  for (const auto& r : runs) EXPECT_EQ(r.load(), 1);
}

TEST(ParallelForTest, OneOrZeroThreadsRunsInOrderOnTheCallersThread) {
  for (size_t threads : {0u, 1u}) {
    const std::thread::id caller = std::this_thread::get_id();
    std::vector<size_t> order;
    bool same_thread = true;
    ParallelFor(5, threads, [&](size_t i) {
      order.push_back(i);
      same_thread = same_thread && std::this_thread::get_id() == caller;
    });
    EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
    EXPECT_TRUE(same_thread);
  }
}

TEST(ThreadPoolTest, RunsEverySubmittedTaskBeforeWaitReturns) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4u);
  constexpr int kTasks = 200;
  std::vector<std::atomic<int>> runs(kTasks);
  for (int t = 0; t < kTasks; ++t) {
    pool.Submit([&runs, t] { runs[static_cast<size_t>(t)].fetch_add(1); });
  }
  pool.Wait();
  for (int t = 0; t < kTasks; ++t) EXPECT_EQ(runs[static_cast<size_t>(t)].load(), 1);
}

TEST(ThreadPoolTest, CanBeReusedAfterWait) {
  ThreadPool pool(2);
  std::atomic<int> count{0};
  for (int round = 1; round <= 3; ++round) {
    for (int t = 0; t < 10; ++t) pool.Submit([&] { count.fetch_add(1); });
    pool.Wait();
    EXPECT_EQ(count.load(), 10 * round);
  }
}

TEST(ThreadPoolTest, WaitWithNothingSubmittedReturnsAtOnce) {
  ThreadPool pool(3);
  pool.Wait();
  SUCCEED();
}

TEST(ThreadPoolTest, ZeroThreadsStartsOneWorker) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), 1u);
  std::atomic<int> count{0};
  pool.Submit([&] { count.fetch_add(1); });
  pool.Wait();
  EXPECT_EQ(count.load(), 1);
}

TEST(ThreadPoolTest, DestructorFinishesQueuedWork) {
  std::atomic<int> count{0};
  {
    ThreadPool pool(2);
    for (int t = 0; t < 50; ++t) pool.Submit([&] { count.fetch_add(1); });
  }  // no Wait(): the destructor drains the queue before joining
  EXPECT_EQ(count.load(), 50);
}

TEST(HardwareThreadsTest, IsAtLeastOne) { EXPECT_GE(HardwareThreads(), 1u); }

}  // namespace
}  // namespace llmrca
