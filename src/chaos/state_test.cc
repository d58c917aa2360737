#include "chaos/state.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace llmrca::chaos {
namespace {

std::string TempPath() {
  return "/tmp/llmrca_state_test_" + std::to_string(::getpid()) + "_" +
         ::testing::UnitTest::GetInstance()->current_test_info()->name();
}

TEST(ChaosStateTest, AddsRemovesAndReadsBackEntries) {
  const std::string path = TempPath();
  std::remove(path.c_str());
  EXPECT_TRUE(JournalRead(path)->empty());  // no file: nothing to undo
  ASSERT_TRUE(JournalAdd(path, MakeUndo("a", "continue", 11, "pause of 11", {})).ok());
  ASSERT_TRUE(JournalAdd(path, MakeUndo("b", "kill", 12, "cpu stressor", {"tc", "qdisc"})).ok());
  auto all = JournalRead(path);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].action, "kill");
  EXPECT_EQ((*all)[1].pid, 12);
  EXPECT_EQ((*all)[1].command, (std::vector<std::string>{"tc", "qdisc"}));
  ASSERT_TRUE(JournalRemove(path, "a").ok());
  ASSERT_EQ(JournalRead(path)->size(), 1u);
  ASSERT_TRUE(JournalRemove(path, "b").ok());
  EXPECT_FALSE(std::ifstream(path).good());  // the last entry removes the file
  std::ofstream(path) << "{not json\n";
  EXPECT_EQ(JournalRead(path).status().code(), StatusCode::kDataError);
  std::remove(path.c_str());
}

TEST(ChaosStateTest, RecoverResumesAPausedProcessLeftBehind) {
  // A child paused by a "fault" whose injector died: recover must resume it.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (int i = 0; i < 3000; ++i) ::usleep(1000);
    ::_exit(0);
  }
  ASSERT_EQ(::kill(child, SIGSTOP), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, WUNTRACED), child);
  ASSERT_TRUE(WIFSTOPPED(status));
  const std::string path = TempPath();
  ASSERT_TRUE(JournalAdd(path, MakeUndo("f1", "continue", child, "pause", {})).ok());
  ASSERT_TRUE(JournalAdd(path, MakeUndo("f2", "run", 0, "a command", {"true"})).ok());
  auto done = Recover(path);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), 2u);
  EXPECT_NE((*done)[0].find("resumed pid"), std::string::npos);
  EXPECT_EQ((*done)[1], "ran 'true' (a command)");
  ASSERT_EQ(::waitpid(child, &status, WCONTINUED), child);
  EXPECT_TRUE(WIFCONTINUED(status));
  EXPECT_TRUE(JournalRead(path)->empty());
  ::kill(child, SIGKILL);
  ::waitpid(child, &status, 0);
}

}  // namespace
}  // namespace llmrca::chaos
