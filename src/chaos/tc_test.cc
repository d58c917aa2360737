#include "chaos/tc.h"

#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::chaos {
namespace {

using Args = std::vector<std::string>;

TEST(TcTest, BuildsTheExactCommands) {
  TcFault delay;
  delay.dev = "eth0";
  delay.delay_ms = 1000;
  delay.jitter_ms = 100;
  delay.correlation_pct = 25;
  delay.loss_pct = 1;
  EXPECT_TRUE(UsesNetem(delay));
  EXPECT_EQ(TcApplyCommand(delay), (Args{"tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                                         "delay", "1000ms", "100ms", "25%", "loss", "1%"}));
  EXPECT_EQ(TcRemoveCommand(delay), (Args{"tc", "qdisc", "del", "dev", "eth0", "root"}));
  TcFault rate;
  rate.dev = "veth0";
  rate.netns = "ns1";
  rate.rate = "1mbit";
  EXPECT_FALSE(UsesNetem(rate));
  EXPECT_EQ(TcApplyCommand(rate),
            (Args{"ip", "netns", "exec", "ns1", "tc", "qdisc", "add", "dev", "veth0", "root", "tbf",
                  "rate", "1mbit", "burst", "32kbit", "latency", "50ms"}));
  EXPECT_EQ(TcShowCommand(rate), (Args{"ip", "netns", "exec", "ns1", "tc", "qdisc", "show", "dev",
                                       "veth0"}));
}

TEST(TcTest, RejectsFaultsThatAreIncompleteOrMixed) {
  TcFault f;
  f.delay_ms = 10;
  EXPECT_FALSE(ValidateTcFault(f).ok());  // no interface
  f.dev = "lo";
  EXPECT_TRUE(ValidateTcFault(f).ok());
  f.loss_pct = 120;
  EXPECT_FALSE(ValidateTcFault(f).ok());
  f.loss_pct = 0;
  f.rate = "1mbit";
  EXPECT_FALSE(ValidateTcFault(f).ok());  // tbf and netem in one fault
  TcFault none;
  none.dev = "lo";
  EXPECT_FALSE(ValidateTcFault(none).ok());
  TcFault jitter;
  jitter.dev = "lo";
  jitter.jitter_ms = 5;
  EXPECT_FALSE(ValidateTcFault(jitter).ok());  // jitter without delay
}

// In a network namespace of its own (root only): tbf goes on and comes off, netem either works
// or fails naming the missing qdisc, and a non-default root qdisc is not overwritten.
TEST(TcTest, AppliesAndRemovesInANamespaceOfItsOwn) {
  const std::string ns = "llmrca-tc-test-" + std::to_string(::getpid());
  if (!RunCommand({"ip", "netns", "add", ns}).ok()) GTEST_SKIP() << "cannot create a netns here";
  ASSERT_TRUE(RunCommand({"ip", "-n", ns, "link", "set", "lo", "up"}).ok());
  TcFault rate;
  rate.dev = "lo";
  rate.netns = ns;
  rate.rate = "1mbit";
  Status applied = ApplyTcFault(rate);
  EXPECT_TRUE(applied.ok()) << applied.ToString();
  EXPECT_NE(RunCommand(TcShowCommand(rate))->find("qdisc tbf"), std::string::npos);
  Status again = ApplyTcFault(rate);  // tbf is not a default qdisc: refused, not replaced
  EXPECT_EQ(again.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(again.message().find("already has a tbf root qdisc"), std::string::npos);
  EXPECT_TRUE(RemoveTcFault(rate).ok());
  EXPECT_EQ(RunCommand(TcShowCommand(rate))->find("tbf"), std::string::npos);

  TcFault delay;
  delay.dev = "lo";
  delay.netns = ns;
  delay.delay_ms = 20;
  Status netem = ApplyTcFault(delay);
  if (netem.ok()) {
    EXPECT_NE(RunCommand(TcShowCommand(delay))->find("netem"), std::string::npos);
    EXPECT_TRUE(RemoveTcFault(delay).ok());
  } else {
    EXPECT_NE(netem.message().find("no netem qdisc"), std::string::npos) << netem.ToString();
    EXPECT_NE(netem.message().find("llmrca chaos proxy"), std::string::npos);
  }
  TcFault missing = rate;
  missing.dev = "nonexistent0";
  EXPECT_FALSE(ApplyTcFault(missing).ok());
  EXPECT_TRUE(RunCommand({"ip", "netns", "del", ns}).ok());
}

}  // namespace
}  // namespace llmrca::chaos
