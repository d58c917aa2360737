#include "net/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

namespace llmrca::net {

// What a Responder shares with the server: where its bytes go, and whether anyone still wants
// them. `Channel` outlives the server (responders may hold it after Stop()).
struct Channel {
  std::mutex mu;
  bool stopped = false;  // under mu
  int wake_fd = -1;      // eventfd of the server thread; under mu
  struct Op {
    uint64_t conn = 0;
    uint64_t seq = 0;  // the exchange on that connection
    std::string bytes;
    bool end = false;
  };
  std::vector<Op> ops;  // under mu

  void Post(uint64_t conn, uint64_t seq, std::string bytes, bool end) {
    std::lock_guard<std::mutex> lock(mu);
    if (stopped) return;
    const bool was_empty = ops.empty();
    ops.push_back({conn, seq, std::move(bytes), end});
    if (was_empty) {
      const uint64_t one = 1;
      [[maybe_unused]] const ssize_t n = ::write(wake_fd, &one, sizeof one);
    }
  }
};

struct Responder::Exchange {
  std::shared_ptr<Channel> channel;
  uint64_t conn = 0;
  uint64_t seq = 0;
  bool keep_alive = true;
  std::atomic<bool> closed{false};
  // 0: nothing sent, 1: streaming, 2: ended. Moves only forward (compare-exchange).
  std::atomic<int> state{0};
  std::mutex write_mu;  // keeps one response's chunks in order across threads
};

namespace {

std::string Head(int status, std::string_view content_type, bool keep_alive,
                 std::optional<size_t> length, const HeaderList& extra) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\n", status,
                                ReasonPhrase(status), content_type);
  if (length) {
    out += fmt::format("Content-Length: {}\r\n", *length);
  } else {
    out += "Transfer-Encoding: chunked\r\nCache-Control: no-cache\r\n";
  }
  for (const auto& [name, value] : extra) out += fmt::format("{}: {}\r\n", name, value);
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  return out;
}

}  // namespace

void Responder::Send(int status, std::string_view content_type, std::string_view body,
                     const HeaderList& extra) {
  Exchange& x = *exchange_;
  int expected = 0;
  if (!x.state.compare_exchange_strong(expected, 2)) return;
  std::string bytes = Head(status, content_type, x.keep_alive, body.size(), extra);
  bytes.append(body);
  std::lock_guard<std::mutex> lock(x.write_mu);
  x.channel->Post(x.conn, x.seq, std::move(bytes), /*end=*/true);
}

void Responder::Start(int status, std::string_view content_type, const HeaderList& extra) {
  Exchange& x = *exchange_;
  std::lock_guard<std::mutex> lock(x.write_mu);
  int expected = 0;
  if (!x.state.compare_exchange_strong(expected, 1)) return;
  x.channel->Post(x.conn, x.seq, Head(status, content_type, x.keep_alive, std::nullopt, extra),
                  false);
}

void Responder::Write(std::string_view data) {
  Exchange& x = *exchange_;
  if (data.empty()) return;
  std::lock_guard<std::mutex> lock(x.write_mu);
  if (x.state.load() != 1 || x.closed.load()) return;
  std::string bytes = fmt::format("{:x}\r\n", data.size());
  bytes.append(data);
  bytes.append("\r\n");
  x.channel->Post(x.conn, x.seq, std::move(bytes), false);
}

void Responder::End() {
  Exchange& x = *exchange_;
  std::lock_guard<std::mutex> lock(x.write_mu);
  int expected = 1;
  if (!x.state.compare_exchange_strong(expected, 2)) return;
  x.channel->Post(x.conn, x.seq, "0\r\n\r\n", /*end=*/true);
}

bool Responder::closed() const { return exchange_->closed.load(); }

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)),
        channel_(std::make_shared<Channel>()) {}
  ~Impl() { Stop(); }

  Status Open();
  void Stop();
  int port() const { return port_; }
  HttpServerStats stats() const {
    HttpServerStats s;
    s.connections_accepted = accepted_.load();
    s.connections_open = open_.load();
    s.requests = requests_.load();
    s.responses_in_flight = in_flight_.load();
    return s;
  }

 private:
  struct Conn {
    uint64_t id = 0;
    int fd = -1;
    uint32_t events = 0;
    explicit Conn(RequestReader::Limits limits) : reader(limits) {}
    std::string in;
    RequestReader reader;
    std::string out;
    size_t out_off = 0;
    std::shared_ptr<Responder::Exchange> exchange;  // the response in progress, if any
    uint64_t seq = 0;                               // exchanges started on this connection
    bool close_when_flushed = false;
    bool read_eof = false;  // no more input: EPOLLIN is off (it would fire forever)
    bool closed = false;
  };

  void Run();
  void AcceptAll();
  void OnReadable(Conn& c);
  void ProcessInput(Conn& c);
  bool ParseOne(Conn& c);
  void ApplyOps();
  void Queue(Conn& c, std::string_view bytes) { c.out.append(bytes); }
  void ProtocolError(Conn& c, int status, std::string_view message);
  void Flush(Conn& c);
  void UpdateInterest(Conn& c);
  void CloseConn(Conn& c);

  const HttpServerOptions options_;
  const HttpHandler handler_;
  std::shared_ptr<Channel> channel_;
  int port_ = 0;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;  // server thread only
  std::vector<uint64_t> graveyard_;
  uint64_t next_id_ = 16;  // ids below are the server's own descriptors in epoll data
  std::atomic<int64_t> accepted_{0}, open_{0}, requests_{0}, in_flight_{0};
};

constexpr uint64_t kListenId = 1;
constexpr uint64_t kWakeId = 2;

Status HttpServer::Impl::Open() {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  if (inet_pton(AF_INET, options_.host.c_str(), &addr.sin_addr) != 1) {
    return Status::InvalidArgument(
        fmt::format("http server: '{}' is not an IPv4 address", options_.host));
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (listen_fd_ < 0 || epoll_fd_ < 0 || wake_fd_ < 0) {
    return Status::Unavailable(fmt::format("http server: {}", std::strerror(errno)));
  }
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4096) != 0) {
    return Status::Unavailable(fmt::format("http server: cannot listen on {}:{}: {}",
                                           options_.host, options_.port, std::strerror(errno)));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  for (const auto& [fd, id] : {std::pair{listen_fd_, kListenId}, std::pair{wake_fd_, kWakeId}}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  {
    std::lock_guard<std::mutex> lock(channel_->mu);
    channel_->wake_fd = wake_fd_;
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void HttpServer::Impl::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  {
    std::lock_guard<std::mutex> channel_lock(channel_->mu);
    channel_->stopped = true;
    channel_->ops.clear();
  }
  if (thread_.joinable()) {
    stop_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
  }
  for (int* fd : {&listen_fd_, &epoll_fd_, &wake_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void HttpServer::Impl::Run() {
  epoll_event events[256];
  while (!stop_.load()) {
    const int n = ::epoll_wait(epoll_fd_, events, 256, -1);
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      const uint64_t id = events[i].data.u64;
      if (id == kListenId) {
        AcceptAll();
        continue;
      }
      if (id == kWakeId) {
        uint64_t count = 0;
        [[maybe_unused]] const ssize_t got = ::read(wake_fd_, &count, sizeof count);
        ApplyOps();
        continue;
      }
      auto it = conns_.find(id);
      if (it == conns_.end() || it->second->closed) continue;
      Conn& c = *it->second;
      if ((events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) OnReadable(c);
      if (!c.closed && (events[i].events & EPOLLOUT) != 0) Flush(c);
    }
    for (const uint64_t id : graveyard_) conns_.erase(id);
    graveyard_.clear();
  }
  for (auto& [id, c] : conns_) {
    if (!c->closed) CloseConn(*c);
  }
  conns_.clear();
}

void HttpServer::Impl::AcceptAll() {
  for (int k = 0; k < 256; ++k) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or out of descriptors: the backlog keeps the rest
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    auto c = std::make_unique<Conn>(
        RequestReader::Limits{options_.max_head_bytes, options_.max_body_bytes});
    c->id = next_id_++;
    c->fd = fd;
    c->events = EPOLLIN;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    accepted_.fetch_add(1);
    open_.fetch_add(1);
    conns_[c->id] = std::move(c);
  }
}

void HttpServer::Impl::OnReadable(Conn& c) {
  char buf[16384];
  bool eof = false;
  for (;;) {
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      if (c.in.size() > options_.max_head_bytes + options_.max_body_bytes) {
        CloseConn(c);
        return;
      }
      continue;
    }
    if (n == 0) {
      eof = true;
    } else if (errno == EINTR) {
      continue;
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      eof = true;  // reset
    }
    break;
  }
  if (!c.exchange) ProcessInput(c);
  if (eof && !c.closed) {
    // The client sent all it will (it may have half-closed and still read): finish the
    // response in progress, then close. A client that is really gone makes a send fail.
    c.read_eof = true;
    c.close_when_flushed = true;
    if (!c.exchange && c.out.size() == c.out_off) {
      CloseConn(c);
      return;
    }
    UpdateInterest(c);
  }
}

void HttpServer::Impl::ProcessInput(Conn& c) {
  while (!c.closed && !c.exchange && !c.close_when_flushed && ParseOne(c)) {
  }
}

bool HttpServer::Impl::ParseOne(Conn& c) {
  RequestReader::Step step = c.reader.Next(c.in);
  if (step.outcome == RequestReader::Outcome::kError) {
    ProtocolError(c, step.status, step.message);
    return false;
  }
  if (step.outcome == RequestReader::Outcome::kNeedMore) {
    if (step.send_continue) {
      Queue(c, "HTTP/1.1 100 Continue\r\n\r\n");
      Flush(c);
    }
    return false;
  }
  HttpRequest request;
  request.head = std::move(step.head);
  request.body = std::move(step.body);
  auto x = std::make_shared<Responder::Exchange>();
  x->channel = channel_;
  x->conn = c.id;
  x->seq = ++c.seq;
  x->keep_alive = request.head.keep_alive;
  c.exchange = x;
  requests_.fetch_add(1);
  in_flight_.fetch_add(1);
  handler_(std::move(request), Responder(x));
  // The handler may have answered at once: its bytes wait in the channel for ApplyOps().
  return true;
}

void HttpServer::Impl::ApplyOps() {
  std::vector<Channel::Op> ops;
  {
    std::lock_guard<std::mutex> lock(channel_->mu);
    ops.swap(channel_->ops);
  }
  for (Channel::Op& op : ops) {
    auto it = conns_.find(op.conn);
    if (it == conns_.end() || it->second->closed) continue;
    Conn& c = *it->second;
    if (!c.exchange || c.exchange->seq != op.seq) continue;  // a response already ended
    Queue(c, op.bytes);
    if (op.end) {
      const bool keep_alive = c.exchange->keep_alive;
      c.exchange.reset();
      in_flight_.fetch_sub(1);
      if (!keep_alive) c.close_when_flushed = true;
    }
    if (c.out.size() - c.out_off > options_.max_output_bytes) {
      CloseConn(c);
      continue;
    }
    Flush(c);
    if (!c.closed && !c.exchange) ProcessInput(c);  // a pipelined next request
  }
}

void HttpServer::Impl::ProtocolError(Conn& c, int status, std::string_view message) {
  const std::string body = fmt::format("{{\"error\":{{\"message\":\"{}\",\"code\":{}}}}}",
                                       message, status);
  Queue(c, Head(status, "application/json", false, body.size(), {}));
  Queue(c, body);
  c.close_when_flushed = true;
  Flush(c);
}

void HttpServer::Impl::Flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                             MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    CloseConn(c);
    return;
  }
  if (c.out_off == c.out.size()) {
    c.out.clear();
    c.out_off = 0;
    if (c.close_when_flushed && !c.exchange) {
      CloseConn(c);
      return;
    }
  }
  UpdateInterest(c);
}

void HttpServer::Impl::UpdateInterest(Conn& c) {
  const uint32_t want =
      (c.read_eof ? 0u : static_cast<uint32_t>(EPOLLIN)) | (c.out.size() > c.out_off ? EPOLLOUT : 0u);
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
  c.events = want;
}

void HttpServer::Impl::CloseConn(Conn& c) {
  if (c.closed) return;
  c.closed = true;
  if (c.exchange) {
    c.exchange->closed = true;
    c.exchange.reset();
    in_flight_.fetch_sub(1);
  }
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  open_.fetch_sub(1);
  graveyard_.push_back(c.id);
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                      HttpHandler handler) {
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  LLMRCA_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

int HttpServer::port() const { return impl_->port(); }
HttpServerStats HttpServer::stats() const { return impl_->stats(); }
void HttpServer::Stop() {
  if (impl_) impl_->Stop();
}

}  // namespace llmrca::net
