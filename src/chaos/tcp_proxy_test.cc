#include "chaos/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::chaos {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// An echo server on a free loopback port: one thread per connection, bounded by the test.
class EchoServer {
 public:
  EchoServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        workers_.emplace_back([c] {
          const int on = 1;
          ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
          char buf[65536];
          ssize_t n;
          while ((n = ::recv(c, buf, sizeof buf, 0)) > 0) {
            if (::send(c, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
          }
          ::close(c);
        });
      }
    });
  }
  ~EchoServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    for (std::thread& t : workers_) t.join();
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread accept_;
  std::vector<std::thread> workers_;
};

// A blocking client with a 5 s receive timeout.
class Conn {
 public:
  explicit Conn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Conn() { ::close(fd_); }
  bool connected() const { return connected_; }
  bool Send(const std::string& s) {
    const bool ok = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
    send_errno_ = ok ? 0 : errno;
    return ok;
  }
  int send_errno() const { return send_errno_; }
  // Reads exactly n bytes; shorter on EOF, error or timeout (errno kept in last_errno()).
  std::string Recv(size_t n) {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
      const ssize_t k = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (k <= 0) {
        errno_ = k < 0 ? errno : 0;
        break;
      }
      out.append(buf, static_cast<size_t>(k));
    }
    return out;
  }
  int last_errno() const { return errno_; }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

 private:
  int fd_ = -1;
  bool connected_ = false;
  int errno_ = 0;
  int send_errno_ = 0;
};

std::unique_ptr<TcpProxy> StartProxy(int upstream, const ProxyToxics& t) {
  TcpProxyOptions o;
  o.upstream_port = upstream;
  o.toxics = t;
  auto p = TcpProxy::Start(o);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

// Round trip of one small message through the proxy, in ms.
double RoundTripMs(int port) {
  Conn c(port);
  const auto t0 = Clock::now();
  if (!c.Send("ping") || c.Recv(4) != "ping") return -1;
  return Ms(Clock::now() - t0);
}

TEST(TcpProxyTest, RelaysAMegabyteExactlyBothWaysWithoutFaults) {
  EchoServer echo;
  auto proxy = StartProxy(echo.port(), ProxyToxics{});
  ASSERT_TRUE(proxy);
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 3);
  {
    Conn c(proxy->port());
    ASSERT_TRUE(c.connected());
    std::thread writer([&] { c.Send(data); });
    const std::string back = c.Recv(data.size());
    writer.join();
    EXPECT_TRUE(back == data);
  }
  for (int i = 0; i < 200 && proxy->stats().open != 0; ++i) std::this_thread::sleep_for(milliseconds(5));
  const TcpProxyStats s = proxy->stats();
  EXPECT_EQ(s.connections, 1);
  EXPECT_EQ(s.bytes_upstream, 1 << 20);
  EXPECT_EQ(s.bytes_downstream, 1 << 20);
  EXPECT_EQ(s.open, 0);
}

TEST(TcpProxyTest, DelaysTheChosenDirections) {
  EchoServer echo;
  ProxyToxics t;
  t.latency = milliseconds(80);
  auto down = StartProxy(echo.port(), t);  // downstream only (the default): one delay
  t.upstream = true;
  auto both = StartProxy(echo.port(), t);  // both directions: two delays
  ASSERT_TRUE(down && both);
  EXPECT_GE(RoundTripMs(down->port()), 80);
  EXPECT_LT(RoundTripMs(down->port()), 80 + 150);
  EXPECT_GE(RoundTripMs(both->port()), 160);
  // Changed while running: new data gets no delay.
  down->SetToxics(ProxyToxics{});
  EXPECT_LT(RoundTripMs(down->port()), 80);
}

TEST(TcpProxyTest, JitterStaysWithinItsBoundsAndKeepsTheOrder) {
  EchoServer echo;
  ProxyToxics t;
  t.latency = milliseconds(60);
  t.jitter = milliseconds(40);
  auto proxy = StartProxy(echo.port(), t);
  ASSERT_TRUE(proxy);
  Conn c(proxy->port());
  std::string sent, got;
  std::vector<double> delays;
  for (int i = 0; i < 20; ++i) {
    const std::string m(1, static_cast<char>('a' + i));
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.Send(m));
    got += c.Recv(1);
    delays.push_back(Ms(Clock::now() - t0));
    sent += m;
  }
  EXPECT_EQ(got, sent);
  // Each echo waits latency + U[-jitter, +jitter) = 20 to 100 ms (plus the loop's own time).
  for (double d : delays) {
    EXPECT_GE(d, 20);
    EXPECT_LT(d, 100 + 150);
  }
}

TEST(TcpProxyTest, BandwidthCapsTheRate) {
  EchoServer echo;
  ProxyToxics t;
  t.bandwidth_kbps = 100;  // 100,000 bytes a second downstream
  auto proxy = StartProxy(echo.port(), t);
  ASSERT_TRUE(proxy);
  Conn c(proxy->port());
  const std::string data(50000, 'x');
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.Send(data));
  EXPECT_EQ(c.Recv(data.size()).size(), data.size());
  // 50,000 bytes at 100,000 B/s: 0.5 s; the first ~1,000-byte read goes out at once.
  EXPECT_GE(Ms(Clock::now() - t0), 480);
}

TEST(TcpProxyTest, StallsDelayChunksLikeRetransmissions) {
  EchoServer echo;
  ProxyToxics t;
  t.stall_probability = 1;
  t.stall = milliseconds(100);
  auto proxy = StartProxy(echo.port(), t);
  ASSERT_TRUE(proxy);
  EXPECT_GE(RoundTripMs(proxy->port()), 100);
}

TEST(TcpProxyTest, TheShareOfStalledChunksFollowsTheStallProbability) {
  // 120 echo round trips on one connection, each one downstream chunk; a stall adds 60 ms. With
  // p = 0.3 the count of slow round trips is Binomial(120, 0.3): mean 36, sd 5.0; the bounds
  // [18, 54] are 3.6 sd either side, so a correct proxy fails this about 3 times in 10,000.
  EchoServer echo;
  ProxyToxics t;
  t.stall_probability = 0.3;
  t.stall = milliseconds(60);
  auto proxy = StartProxy(echo.port(), t);
  ASSERT_TRUE(proxy);
  Conn c(proxy->port());
  int slow = 0;
  for (int i = 0; i < 120; ++i) {
    const auto t0 = Clock::now();
    ASSERT_TRUE(c.Send("ping"));
    ASSERT_EQ(c.Recv(4), "ping");
    if (Ms(Clock::now() - t0) >= 55) ++slow;
  }
  EXPECT_GE(slow, 18);
  EXPECT_LE(slow, 54);
}

TEST(TcpProxyTest, TimeoutRelaysNothingThenCloses) {
  EchoServer echo;
  ProxyToxics t;
  t.timeout = true;
  t.timeout_after = milliseconds(150);
  auto proxy = StartProxy(echo.port(), t);
  ASSERT_TRUE(proxy);
  Conn c(proxy->port());
  const auto t0 = Clock::now();
  ASSERT_TRUE(c.Send("ping"));
  EXPECT_EQ(c.Recv(4), "");  // EOF, nothing echoed
  EXPECT_EQ(c.last_errno(), 0);
  EXPECT_GE(Ms(Clock::now() - t0), 140);
}

TEST(TcpProxyTest, ResetDownAndToxicity) {
  EchoServer echo;
  ProxyToxics reset;
  reset.reset = true;
  auto r = StartProxy(echo.port(), reset);
  ProxyToxics down;
  down.down = true;
  auto d = StartProxy(echo.port(), down);
  ProxyToxics none;
  none.latency = milliseconds(500);
  none.toxicity = 0;
  auto n = StartProxy(echo.port(), none);
  ASSERT_TRUE(r && d && n);
  {
    Conn c(r->port());
    // The kernel reports a reset once: to the send when the RST came first, else to the recv.
    c.Send("ping");
    EXPECT_EQ(c.Recv(4), "");
    EXPECT_TRUE(c.send_errno() == ECONNRESET || c.last_errno() == ECONNRESET)
        << "send errno " << c.send_errno() << ", recv errno " << c.last_errno();
  }
  {
    Conn c(d->port());
    EXPECT_EQ(c.Recv(4), "");
    EXPECT_EQ(c.last_errno(), 0);  // closed, not reset
  }
  EXPECT_LT(RoundTripMs(n->port()), 400);  // toxicity 0: no connection is delayed
  EXPECT_EQ(n->stats().affected, 0);
  EXPECT_EQ(n->stats().connections, 1);
}

TEST(TcpProxyTest, AnUnreachableUpstreamClosesTheClientAndIsCounted) {
  // A loopback port nothing listens on.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  auto proxy = StartProxy(ntohs(a.sin_port), ProxyToxics{});
  ASSERT_TRUE(proxy);
  Conn c(proxy->port());
  EXPECT_EQ(c.Recv(1), "");
  for (int i = 0; i < 200 && proxy->stats().upstream_failures == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_EQ(proxy->stats().upstream_failures, 1);
}

TEST(TcpProxyTest, RejectsBadOptions) {
  TcpProxyOptions o;
  o.upstream_port = 80;
  o.toxics.toxicity = 1.5;
  EXPECT_EQ(TcpProxy::Start(o).status().code(), StatusCode::kInvalidArgument);
  o.toxics = ProxyToxics{};
  o.toxics.latency = milliseconds(-1);
  EXPECT_EQ(TcpProxy::Start(o).status().code(), StatusCode::kInvalidArgument);
  o.toxics = ProxyToxics{};
  o.upstream_port = 0;
  EXPECT_EQ(TcpProxy::Start(o).status().code(), StatusCode::kInvalidArgument);
  o.upstream_port = 80;
  o.listen_host = "localhost";  // an IPv4 address is required
  EXPECT_EQ(TcpProxy::Start(o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llmrca::chaos
