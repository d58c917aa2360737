#include "chaos/tc.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

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
  EXPECT_EQ(TcApplyCommands(delay), (std::vector<Args>{Args{"tc", "qdisc", "add", "dev", "eth0", "root", "netem",
                                         "delay", "1000ms", "100ms", "25%", "loss", "1%"}}));
  EXPECT_EQ(TcRemoveCommands(delay), (std::vector<Args>{{"tc", "qdisc", "del", "dev", "eth0", "root"}}));
  TcFault rate;
  rate.dev = "veth0";
  rate.netns = "ns1";
  rate.rate = "1mbit";
  EXPECT_FALSE(UsesNetem(rate));
  EXPECT_EQ(TcApplyCommands(rate),
            (std::vector<Args>{{"ip", "netns", "exec", "ns1", "tc", "qdisc", "add", "dev", "veth0", "root", "tbf",
                  "rate", "1mbit", "burst", "32kbit", "latency", "50ms"}}));
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

TEST(TcTest, BuildsTheIngressCommandsThroughAnIfb) {
  TcFault in;
  in.dev = "veth1";
  in.netns = "ns1";
  in.rate = "4mbit";
  in.ingress = true;
  EXPECT_FALSE(ValidateTcFault(in).ok());  // no ifb named
  in.ifb = "lrifb1";
  ASSERT_TRUE(ValidateTcFault(in).ok());
  const Args ns = {"ip", "netns", "exec", "ns1"};
  const auto with = [&](Args tail) {
    Args a = ns;
    a.insert(a.end(), tail.begin(), tail.end());
    return a;
  };
  EXPECT_EQ(TcApplyCommands(in),
            (std::vector<Args>{
                with({"ip", "link", "add", "lrifb1", "type", "ifb"}),
                with({"ip", "link", "set", "dev", "lrifb1", "up"}),
                with({"tc", "qdisc", "add", "dev", "veth1", "handle", "ffff:", "ingress"}),
                with({"tc", "filter", "add", "dev", "veth1", "parent", "ffff:", "protocol", "all",
                      "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect",
                      "dev", "lrifb1"}),
                with({"tc", "qdisc", "add", "dev", "lrifb1", "root", "tbf", "rate", "4mbit",
                      "burst", "32kbit", "latency", "50ms"})}));
  EXPECT_EQ(TcRemoveCommands(in),
            (std::vector<Args>{with({"tc", "qdisc", "del", "dev", "veth1", "ingress"}),
                               with({"ip", "link", "del", "lrifb1"})}));
  in.ifb = "a-name-longer-than-15";
  EXPECT_FALSE(ValidateTcFault(in).ok());
}

// Two namespaces joined by a veth pair (link-local addresses), made and removed by the test.
class VethPair {
 public:
  VethPair() {
    const std::string tag = std::to_string(::getpid() % 100000);
    a_ = "llmrca-tcA-" + tag;
    b_ = "llmrca-tcB-" + tag;
    ok_ = RunCommand({"ip", "netns", "add", a_}).ok() && RunCommand({"ip", "netns", "add", b_}).ok() &&
          RunCommand({"ip", "link", "add", "vethA", "netns", a_, "type", "veth", "peer", "name",
                      "vethB", "netns", b_}).ok() &&
          RunCommand({"ip", "-n", a_, "addr", "add", "169.254.77.1/30", "dev", "vethA"}).ok() &&
          RunCommand({"ip", "-n", b_, "addr", "add", "169.254.77.2/30", "dev", "vethB"}).ok() &&
          RunCommand({"ip", "-n", a_, "link", "set", "vethA", "up"}).ok() &&
          RunCommand({"ip", "-n", b_, "link", "set", "vethB", "up"}).ok();
  }
  ~VethPair() {
    Result<std::string> a = RunCommand({"ip", "netns", "del", a_});
    Result<std::string> b = RunCommand({"ip", "netns", "del", b_});
    (void)a;
    (void)b;
  }
  bool ok() const { return ok_; }
  const std::string& a() const { return a_; }
  const std::string& b() const { return b_; }

  // Seconds to send `bytes` over TCP from b (169.254.77.2) to a (169.254.77.1), as the
  // receiver sees them arrive; -1 on a socket error.
  double Transfer(size_t bytes) {
    const int server = InNetns(a_, [] { return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
    const int client = InNetns(b_, [] { return ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); });
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    ::inet_pton(AF_INET, "169.254.77.1", &addr.sin_addr);
    socklen_t len = sizeof addr;
    double seconds = -1;
    if (server >= 0 && client >= 0 &&
        ::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::listen(server, 1) == 0 &&
        ::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len) == 0 &&
        ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      const int conn = ::accept(server, nullptr, nullptr);
      const auto t0 = std::chrono::steady_clock::now();
      std::thread sender([&] {
        std::vector<char> buf(bytes, 'x');
        size_t sent = 0;
        while (sent < bytes) {
          const ssize_t n = ::send(client, buf.data() + sent, bytes - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
      });
      std::vector<char> buf(1 << 16);
      size_t got = 0;
      while (conn >= 0 && got < bytes) {
        const ssize_t n = ::recv(conn, buf.data(), buf.size(), 0);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      sender.join();
      if (got == bytes) {
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      if (conn >= 0) ::close(conn);
    }
    if (server >= 0) ::close(server);
    if (client >= 0) ::close(client);
    return seconds;
  }

 private:
  // Runs `fn` on a thread that joined the namespace; sockets it creates stay in it.
  template <class F>
  static int InNetns(const std::string& name, F fn) {
    int result = -1;
    std::thread t([&] {
      const int ns = ::open(("/var/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
      if (ns >= 0 && ::setns(ns, CLONE_NEWNET) == 0) result = fn();
      if (ns >= 0) ::close(ns);
    });
    t.join();
    return result;
  }

  std::string a_, b_;
  bool ok_ = false;
};

// The rate limit measured: 4 mbit/s is 500,000 bytes/s, so 400,000 bytes need at least
// 0.8 s less the 4 KB burst; unshaped, a veth moves them in milliseconds. Egress is shaped
// on the sender's interface, ingress on the receiver's (through the ifb); both come off.
TEST(TcTest, TbfCapsThroughputBetweenNamespacesOnEgressAndIngress) {
  VethPair net;
  if (!net.ok()) GTEST_SKIP() << "cannot create network namespaces and veth pairs here";
  constexpr size_t kBytes = 400'000;
  const double free_s = net.Transfer(kBytes);
  ASSERT_GT(free_s, 0);
  EXPECT_LT(free_s, 0.4);

  TcFault egress;
  egress.dev = "vethB";
  egress.netns = net.b();
  egress.rate = "4mbit";
  ASSERT_TRUE(ApplyTcFault(egress).ok());
  const double egress_s = net.Transfer(kBytes);
  ASSERT_TRUE(RemoveTcFault(egress).ok());

  TcFault ingress;
  ingress.dev = "vethA";
  ingress.netns = net.a();
  ingress.rate = "4mbit";
  ingress.ingress = true;
  ingress.ifb = "lrifbtest";
  Status applied = ApplyTcFault(ingress);
  ASSERT_TRUE(applied.ok()) << applied.ToString();
  Status twice = ApplyTcFault(ingress);  // an ingress qdisc is there now: refused
  EXPECT_EQ(twice.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(twice.message().find("already has an ingress qdisc"), std::string::npos);
  const double ingress_s = net.Transfer(kBytes);
  ASSERT_TRUE(RemoveTcFault(ingress).ok());
  const double after_s = net.Transfer(kBytes);

  EXPECT_GE(egress_s, 0.7);
  EXPECT_LT(egress_s, 5.0);
  EXPECT_GE(ingress_s, 0.7);
  EXPECT_LT(ingress_s, 5.0);
  EXPECT_GT(after_s, 0);
  EXPECT_LT(after_s, 0.4);
  // Nothing left: the default qdisc on both ends, no ingress qdisc, no ifb.
  const std::string a = *RunCommand({"ip", "netns", "exec", net.a(), "tc", "qdisc", "show"});
  const std::string b = *RunCommand({"ip", "netns", "exec", net.b(), "tc", "qdisc", "show"});
  EXPECT_EQ(a.find("tbf"), std::string::npos) << a;
  EXPECT_EQ(a.find("ingress"), std::string::npos) << a;
  EXPECT_EQ(b.find("tbf"), std::string::npos) << b;
  EXPECT_EQ(RunCommand({"ip", "-n", net.a(), "link", "show", "lrifbtest"}).ok(), false);
}

}  // namespace
}  // namespace llmrca::chaos
