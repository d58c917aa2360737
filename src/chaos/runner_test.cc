#include "chaos/runner.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "chaos/state.h"

namespace llmrca::chaos {
namespace {

using Clock = std::chrono::steady_clock;

// A fault that changes nothing and logs what the runner asked of it, with times.
struct Log {
  std::vector<std::string> events;
  Clock::time_point t0 = Clock::now();
  std::vector<double> at;  // seconds since t0, per event
  void Add(const std::string& e) {
    events.push_back(e);
    at.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
};

class FakeFault : public Fault {
 public:
  FakeFault(std::string name, Log& log, Status inject = Status::Ok(),
            Status restore = Status::Ok(), int fail_after_polls = -1)
      : Fault(FaultRecord{name, "target " + name, {}, 0, 0, ""}),
        log_(log),
        inject_(std::move(inject)),
        restore_(std::move(restore)),
        fail_after_(fail_after_polls) {}
  std::vector<std::string> Plan() const override { return {"plan " + record_.type}; }
  Status Inject(const std::string& journal, const std::string& id) override {
    log_.Add("inject " + record_.type);
    EXPECT_TRUE(JournalAdd(journal, MakeUndo(id, "kill", 0, record_.type)).ok());
    return inject_;
  }
  std::string Poll() override {
    ++polls_;
    return fail_after_ >= 0 && polls_ > fail_after_ ? "it broke" : "";
  }
  Status Restore() override {
    log_.Add("restore " + record_.type);
    return restore_;
  }

 private:
  Log& log_;
  Status inject_, restore_;
  int fail_after_;
  int polls_ = 0;
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    journal_ = (std::filesystem::temp_directory_path() /
                ("llmrca_runner_" + std::to_string(::getpid()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                   .string();
    std::filesystem::remove(journal_);
    options_.journal = journal_;
    options_.on_record = [this](const FaultRecord& r) { records_.push_back(r); };
    options_.tick = std::chrono::milliseconds(5);
  }
  void TearDown() override { std::filesystem::remove(journal_); }
  std::string journal_;
  RunOptions options_;
  std::vector<FaultRecord> records_;
  Log log_;
};

TEST_F(RunnerTest, StartsEachFaultAtItsOffsetAndEndsItAfterItsDuration) {
  std::vector<TimedFault> faults;
  faults.push_back({std::make_unique<FakeFault>("late", log_), 0.15, 0.1});
  faults.push_back({std::make_unique<FakeFault>("early", log_), 0.0, 0.2});
  std::atomic<bool> stop{false};
  ASSERT_TRUE(RunFaults(faults, stop, options_).ok());
  // Timeline by hand: early [0, 0.2], late [0.15, 0.25].
  ASSERT_EQ(log_.events, (std::vector<std::string>{"inject early", "inject late", "restore early",
                                                   "restore late"}));
  EXPECT_LT(log_.at[0], 0.05);
  EXPECT_GE(log_.at[1], 0.15);
  EXPECT_GE(log_.at[2], 0.2);
  EXPECT_GE(log_.at[3], 0.25);
  EXPECT_LT(log_.at[3], 1.0);
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[0].type, "early");
  EXPECT_EQ(records_[0].outcome, "completed");
  EXPECT_GE(records_[0].end - records_[0].start, 0.2);
  EXPECT_EQ(records_[1].type, "late");
  EXPECT_FALSE(std::filesystem::exists(journal_));  // every undo was done and removed
}

TEST_F(RunnerTest, AStopRestoresWhatIsActiveAndRecordsWhatNeverStarted) {
  std::vector<TimedFault> faults;
  faults.push_back({std::make_unique<FakeFault>("active", log_), 0, 30});
  faults.push_back({std::make_unique<FakeFault>("later", log_), 20, 5});
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  const auto t0 = Clock::now();
  ASSERT_TRUE(RunFaults(faults, stop, options_).ok());
  stopper.join();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 5.0);
  EXPECT_EQ(log_.events, (std::vector<std::string>{"inject active", "restore active"}));
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[0].outcome, "stopped by signal");
  EXPECT_EQ(records_[1].type, "later");
  EXPECT_EQ(records_[1].outcome, "not started: stopped by signal");
  EXPECT_FALSE(std::filesystem::exists(journal_));
}

TEST_F(RunnerTest, AFailedInjectIsRecordedAndTheOthersStillRun) {
  std::vector<TimedFault> faults;
  faults.push_back({std::make_unique<FakeFault>("broken", log_, Status::Unavailable("no netem")), 0, 0.05});
  faults.push_back({std::make_unique<FakeFault>("fine", log_), 0, 0.05});
  std::atomic<bool> stop{false};
  const Status s = RunFaults(faults, stop, options_);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(log_.events, (std::vector<std::string>{"inject broken", "inject fine", "restore fine"}));
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[0].outcome, "failed: no netem");
  EXPECT_EQ(records_[1].outcome, "completed");
  EXPECT_FALSE(std::filesystem::exists(journal_));
}

TEST_F(RunnerTest, AFaultThatReportsTroubleEndsEarly) {
  std::vector<TimedFault> faults;
  faults.push_back({std::make_unique<FakeFault>("flaky", log_, Status::Ok(), Status::Ok(), 2), 0, 30});
  std::atomic<bool> stop{false};
  ASSERT_TRUE(RunFaults(faults, stop, options_).ok());
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome, "failed: it broke");
  EXPECT_LT(records_[0].end - records_[0].start, 5.0);
}

TEST_F(RunnerTest, AFailedRestoreKeepsItsJournalEntryForRecover) {
  std::vector<TimedFault> faults;
  faults.push_back({std::make_unique<FakeFault>("stuck", log_, Status::Ok(),
                                                Status::Unavailable("tc failed")),
                    0, 0.02});
  std::atomic<bool> stop{false};
  EXPECT_EQ(RunFaults(faults, stop, options_).code(), StatusCode::kUnavailable);
  ASSERT_EQ(records_.size(), 1u);
  EXPECT_EQ(records_[0].outcome.rfind("failed: could not restore (run llmrca chaos recover)", 0), 0u);
  Result<std::vector<UndoAction>> left = JournalRead(journal_);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].note, "stuck");
}

TEST_F(RunnerTest, RejectsBadTimesBeforeDoingAnything) {
  std::vector<TimedFault> faults;
  faults.push_back({std::make_unique<FakeFault>("ok", log_), 0, 1});
  faults.push_back({std::make_unique<FakeFault>("zero", log_), 0, 0});
  std::atomic<bool> stop{false};
  const Status s = RunFaults(faults, stop, options_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("fault 2 (zero)"), std::string::npos) << s.message();
  EXPECT_TRUE(log_.events.empty());
  faults[1].duration_s = 1;
  faults[1].start_s = -1;
  EXPECT_EQ(PlanFaults(faults, options_).code(), StatusCode::kInvalidArgument);
  faults[1].start_s = 3;
  std::vector<std::string> lines;
  options_.log = [&](const std::string& l) { lines.push_back(l); };
  ASSERT_TRUE(PlanFaults(faults, options_).ok());
  EXPECT_TRUE(log_.events.empty());  // a plan injects nothing
  ASSERT_EQ(records_.size(), 2u);
  EXPECT_EQ(records_[1].outcome, "dry run: nothing injected");
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], "dry run: zero on target zero, at +3 s for 1 s:");
  EXPECT_EQ(lines[3], "  plan zero");
}

}  // namespace
}  // namespace llmrca::chaos
