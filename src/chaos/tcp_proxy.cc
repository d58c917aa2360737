#include "chaos/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>

namespace llmrca::chaos {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxQueued = 1 << 20;  // per direction: stop reading beyond

Result<sockaddr_in> Address(const std::string& host, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
    return Status::InvalidArgument(fmt::format("'{}' is not an IPv4 address", host));
  }
  return a;
}

}  // namespace

Status ValidateToxics(const ProxyToxics& t) {
  if (t.latency.count() < 0 || t.jitter.count() < 0 || t.stall.count() < 0 ||
      t.timeout_after.count() < 0) {
    return Status::InvalidArgument("proxy faults: times must be >= 0");
  }
  if (t.bandwidth_kbps < 0) return Status::InvalidArgument("proxy faults: bandwidth must be >= 0");
  if (!(t.stall_probability >= 0 && t.stall_probability <= 1)) {
    return Status::InvalidArgument("proxy faults: stall probability must be within 0..1");
  }
  if (!(t.toxicity >= 0 && t.toxicity <= 1)) {
    return Status::InvalidArgument("proxy faults: toxicity must be within 0..1");
  }
  return Status::Ok();
}

class TcpProxy::Impl {
 public:
  explicit Impl(TcpProxyOptions o) : opt_(std::move(o)), toxics_(opt_.toxics), rng_(opt_.seed) {}
  ~Impl() {
    stop_.store(true);
    if (wake_fd_ >= 0) {
      const uint64_t one = 1;
      ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
      (void)ignored;
    }
    if (thread_.joinable()) thread_.join();
    for (Conn& c : conns_) CloseConn(c);
    for (int fd : {listen_fd_, wake_fd_, epoll_fd_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  Status Init() {
    LLMRCA_ASSIGN_OR_RETURN(const sockaddr_in listen_addr, Address(opt_.listen_host, opt_.listen_port));
    LLMRCA_ASSIGN_OR_RETURN(upstream_, Address(opt_.upstream_host, opt_.upstream_port));
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&listen_addr), sizeof listen_addr) != 0 ||
        ::listen(listen_fd_, 1024) != 0) {
      return Status::Unavailable(fmt::format("cannot listen on {}:{}: {}", opt_.listen_host,
                                             opt_.listen_port, std::strerror(errno)));
    }
    sockaddr_in bound{};
    socklen_t len = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.sin_port);
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &listen_tag_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
    ev.data.ptr = &wake_tag_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
    thread_ = std::thread([this] { Run(); });
    return Status::Ok();
  }

  int port() const { return port_; }
  void SetToxics(const ProxyToxics& t) {
    std::lock_guard<std::mutex> lock(mu_);
    toxics_ = t;
  }
  TcpProxyStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

 private:
  struct Chunk {
    std::string data;
    size_t offset = 0;
    Clock::time_point due;
  };
  // One direction: bytes read from `from`, written to `to`.
  struct Pipe {
    int from = -1, to = -1;
    bool toxic = false;
    std::deque<Chunk> queue;
    size_t queued = 0;
    Clock::time_point last_due{};
    Clock::time_point bandwidth_free{};  // the next write may start then
    bool eof = false;        // `from` has no more data
    bool shut = false;       // `to` was shut for writing
    bool upstream = false;   // client -> server
  };
  struct Conn;
  struct Tag {
    Conn* conn = nullptr;
    bool client = false;
  };
  struct Conn {
    int client = -1, server = -1;
    bool connected = false;
    bool affected = false;
    bool timeout = false;             // relays nothing
    Clock::time_point close_at{};     // timeout: close then (epoch: never)
    Pipe up, down;
    Tag client_tag, server_tag;
    uint32_t client_events = 0, server_events = 0;
    bool dead = false;
    std::list<Conn>::iterator self;
  };

  void Run();
  void Accept();
  void OnEvent(Tag& tag, uint32_t events);
  void ReadInto(Conn& c, Pipe& p, const ProxyToxics& t);
  void Flush(Conn& c, Pipe& p, Clock::time_point now);
  void UpdateInterest(Conn& c);
  void CloseConn(Conn& c);

  const TcpProxyOptions opt_;
  mutable std::mutex mu_;
  ProxyToxics toxics_;   // under mu_
  TcpProxyStats stats_;  // under mu_
  std::mt19937_64 rng_;
  sockaddr_in upstream_{};
  int listen_fd_ = -1, epoll_fd_ = -1, wake_fd_ = -1;
  int port_ = 0;
  Tag listen_tag_, wake_tag_;
  std::list<Conn> conns_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

void TcpProxy::Impl::Run() {
  epoll_event events[256];
  while (!stop_.load()) {
    // Sleep until the next chunk falls due (or a timeout closes a connection), at most 100 ms.
    const Clock::time_point now = Clock::now();
    Clock::time_point next = now + std::chrono::milliseconds(100);
    for (const Conn& c : conns_) {
      for (const Pipe* p : {&c.up, &c.down}) {
        if (!p->queue.empty()) next = std::min(next, std::max(p->queue.front().due, p->bandwidth_free));
      }
      if (c.close_at != Clock::time_point{}) next = std::min(next, c.close_at);
    }
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now);
    const int n = ::epoll_wait(epoll_fd_, events, 256, static_cast<int>(std::max<int64_t>(0, wait.count())));
    for (int i = 0; i < n; ++i) {
      Tag* tag = static_cast<Tag*>(events[i].data.ptr);
      if (tag == &listen_tag_) {
        Accept();
      } else if (tag == &wake_tag_) {
        uint64_t v;
        ssize_t ignored = ::read(wake_fd_, &v, sizeof v);
        (void)ignored;
      } else if (!tag->conn->dead) {
        OnEvent(*tag, events[i].events);
      }
    }
    const Clock::time_point after = Clock::now();
    for (auto it = conns_.begin(); it != conns_.end();) {
      Conn& c = *it;
      if (!c.dead && c.close_at != Clock::time_point{} && after >= c.close_at) CloseConn(c);
      if (!c.dead && c.connected) {
        Flush(c, c.up, after);
        Flush(c, c.down, after);
        if (c.up.shut && c.down.shut) CloseConn(c);
      }
      if (!c.dead) UpdateInterest(c);
      it = c.dead ? conns_.erase(it) : std::next(it);
    }
  }
}

void TcpProxy::Impl::Accept() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    ProxyToxics t;
    {
      std::lock_guard<std::mutex> lock(mu_);
      t = toxics_;
      ++stats_.connections;
    }
    const bool affected = std::uniform_real_distribution<double>(0, 1)(rng_) < t.toxicity;
    if (affected) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.affected;
    }
    if (t.down || (affected && t.reset)) {
      if (!t.down) {  // a reset: close with a zero linger time, which sends RST
        linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
      ::close(fd);
      continue;
    }
    const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    const int on = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    ::setsockopt(up, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    const int rc = ::connect(up, reinterpret_cast<const sockaddr*>(&upstream_), sizeof upstream_);
    if (rc != 0 && errno != EINPROGRESS) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.upstream_failures;
      }
      ::close(up);
      ::close(fd);
      continue;
    }
    conns_.emplace_back();
    Conn& c = conns_.back();
    c.self = std::prev(conns_.end());
    c.client = fd;
    c.server = up;
    c.connected = rc == 0;
    c.affected = affected;
    c.timeout = affected && t.timeout;
    if (c.timeout && t.timeout_after.count() > 0) c.close_at = Clock::now() + t.timeout_after;
    c.up = Pipe{fd, up, affected && t.upstream, {}, 0, {}, {}, false, false, true};
    c.down = Pipe{up, fd, affected && t.downstream, {}, 0, {}, {}, false, false, false};
    c.client_tag = Tag{&c, true};
    c.server_tag = Tag{&c, false};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = &c.client_tag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    c.client_events = EPOLLIN;
    ev.events = c.connected ? EPOLLIN : EPOLLOUT;
    ev.data.ptr = &c.server_tag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, up, &ev);
    c.server_events = ev.events;
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.open;
  }
}

void TcpProxy::Impl::OnEvent(Tag& tag, uint32_t events) {
  Conn& c = *tag.conn;
  if (!tag.client && !c.connected) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(c.server, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (events & (EPOLLERR | EPOLLHUP)) != 0) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.upstream_failures;
      }
      CloseConn(c);
      return;
    }
    c.connected = true;
  }
  ProxyToxics t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    t = toxics_;
  }
  Pipe& in = tag.client ? c.up : c.down;
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) ReadInto(c, in, t);
  // Hung up with nothing more to read: that side is gone in both directions (a level-triggered
  // EPOLLHUP would otherwise be reported again and again).
  if (!c.dead && (events & (EPOLLHUP | EPOLLERR)) != 0 && in.eof) CloseConn(c);
}

void TcpProxy::Impl::ReadInto(Conn& c, Pipe& p, const ProxyToxics& t) {
  // With a bandwidth limit, read about 10 ms worth at a time so the pacing is smooth.
  size_t size = 64 * 1024;
  if (p.toxic && t.bandwidth_kbps > 0) {
    size = std::clamp<size_t>(static_cast<size_t>(t.bandwidth_kbps) * 10, 512, size);
  }
  while (!p.eof && p.queued < kMaxQueued) {
    char buf[64 * 1024];
    const ssize_t n = ::recv(p.from, buf, size, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {  // reset by that side: pass the break on to the other
      CloseConn(c);
      return;
    }
    if (n == 0) {
      p.eof = true;
      return;
    }
    if (c.timeout) continue;  // a timed-out connection relays nothing
    const Clock::time_point now = Clock::now();
    Clock::time_point due = now;
    if (p.toxic) {
      auto delay = t.latency;
      if (t.jitter.count() > 0) {
        delay += std::chrono::microseconds(std::uniform_int_distribution<int64_t>(
            -t.jitter.count(), t.jitter.count() - 1)(rng_));
      }
      if (t.stall_probability > 0 &&
          std::uniform_real_distribution<double>(0, 1)(rng_) < t.stall_probability) {
        delay += t.stall;
      }
      due += std::max(std::chrono::microseconds(0), delay);
    }
    due = std::max(due, p.last_due);  // order is kept
    p.last_due = due;
    p.queue.push_back(Chunk{std::string(buf, static_cast<size_t>(n)), 0, due});
    p.queued += static_cast<size_t>(n);
  }
}

void TcpProxy::Impl::Flush(Conn& c, Pipe& p, Clock::time_point now) {
  int64_t bandwidth = 0;
  if (p.toxic) {
    std::lock_guard<std::mutex> lock(mu_);
    bandwidth = toxics_.bandwidth_kbps;
  }
  while (!p.queue.empty() && p.queue.front().due <= now && p.bandwidth_free <= now) {
    Chunk& ch = p.queue.front();
    const ssize_t n = ::send(p.to, ch.data.data() + ch.offset, ch.data.size() - ch.offset,
                             MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT will tell
    if (n < 0) {
      CloseConn(c);
      return;
    }
    ch.offset += static_cast<size_t>(n);
    p.queued -= static_cast<size_t>(n);
    {
      std::lock_guard<std::mutex> lock(mu_);
      (p.upstream ? stats_.bytes_upstream : stats_.bytes_downstream) += n;
    }
    if (bandwidth > 0) {
      p.bandwidth_free = std::max(p.bandwidth_free, now) +
                         std::chrono::microseconds(n * 1000 / bandwidth);  // 1 KB = 1,000 B
    }
    if (ch.offset == ch.data.size()) p.queue.pop_front();
  }
  if (p.eof && p.queue.empty() && !p.shut) {
    ::shutdown(p.to, SHUT_WR);
    p.shut = true;
  }
}

void TcpProxy::Impl::UpdateInterest(Conn& c) {
  const auto want = [&](const Pipe& in, const Pipe& out, bool is_server) {
    uint32_t e = 0;
    if (!in.eof && in.queued < kMaxQueued) e |= EPOLLIN;
    if (!out.queue.empty() || (is_server && !c.connected)) e |= EPOLLOUT;
    return e;
  };
  // The client side reads `up` and writes `down`; the server side reads `down`, writes `up`.
  const uint32_t ce = want(c.up, c.down, false);
  const uint32_t se = c.connected ? want(c.down, c.up, true) : EPOLLOUT;
  epoll_event ev{};
  if (ce != c.client_events) {
    ev.events = ce;
    ev.data.ptr = &c.client_tag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.client, &ev);
    c.client_events = ce;
  }
  if (se != c.server_events) {
    ev.events = se;
    ev.data.ptr = &c.server_tag;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.server, &ev);
    c.server_events = se;
  }
}

void TcpProxy::Impl::CloseConn(Conn& c) {
  if (c.dead) return;
  c.dead = true;
  for (int fd : {c.client, c.server}) {
    if (fd < 0) continue;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
  }
  std::lock_guard<std::mutex> lock(mu_);
  --stats_.open;
}

TcpProxy::TcpProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TcpProxy::~TcpProxy() = default;

Result<std::unique_ptr<TcpProxy>> TcpProxy::Start(TcpProxyOptions options) {
  LLMRCA_RETURN_IF_ERROR(ValidateToxics(options.toxics));
  if (options.upstream_port < 1 || options.upstream_port > 65535) {
    return Status::InvalidArgument("proxy: the upstream needs a port from 1 to 65535");
  }
  if (options.listen_port < 0 || options.listen_port > 65535) {
    return Status::InvalidArgument("proxy: the listen port must be from 0 to 65535");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  LLMRCA_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<TcpProxy>(new TcpProxy(std::move(impl)));
}

int TcpProxy::port() const { return impl_->port(); }
void TcpProxy::SetToxics(const ProxyToxics& toxics) { impl_->SetToxics(toxics); }
TcpProxyStats TcpProxy::stats() const { return impl_->stats(); }

}  // namespace llmrca::chaos
