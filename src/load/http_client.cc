#include "load/http_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace llmrca::load {

struct Http1Client::Conn {
  enum class State { kFree, kConnecting, kBusy, kIdle, kFailed };
  uint32_t slot = 0;
  uint32_t generation = 0;  // bumped at every close, so stale epoll events are told apart
  int fd = -1;
  State state = State::kFree;
  bool want_write = false;  // EPOLLOUT is in the interest set
  size_t address = 0;       // the index in addresses_ this connection was made to
  // The exchange it carries (tag null when none).
  void* tag = nullptr;
  uint64_t exchange = 0;
  bool reused = false;   // the connection carried an earlier exchange
  bool retried = false;  // sent again on a new connection already
  bool got_bytes = false;
  std::string out;  // the request; kept whole for a retry
  size_t out_done = 0;
  net::ResponseReader reader;
  Clock::time_point deadline;          // of the whole exchange
  Clock::time_point connect_deadline;  // while connecting
  ErrorClass failed_error = ErrorClass::kNone;  // kFailed: what OnTimer reports
  std::string failed_message;
  // Links of the two lists: [0] active_, [1] connecting_.
  Conn* prev[2] = {nullptr, nullptr};
  Conn* next[2] = {nullptr, nullptr};
  bool linked[2] = {false, false};
};

namespace {

constexpr size_t kReadBytes = 64 * 1024;

uint64_t EventData(uint32_t slot, uint32_t generation) {
  return static_cast<uint64_t>(generation) << 32 | slot;
}

}  // namespace

Result<HttpTarget> ParseHttpUrl(std::string_view url) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("load: URL '{}': {}", url, why));
  };
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) return bad("not a plain http:// URL");
  std::string_view rest = url.substr(kScheme.size());
  if (rest.find('#') != std::string_view::npos) return bad("a fragment ('#') is not allowed");
  const size_t slash = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, slash);
  HttpTarget t;
  if (slash == std::string_view::npos) {
    t.path = "/";
  } else {
    t.path = rest[slash] == '?' ? "/" : "";  // "http://h?q" asks for "/?q"
    t.path.append(rest.substr(slash));
  }
  if (authority.find('@') != std::string_view::npos) {
    return bad("user:password@ in the URL is not supported");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return bad("junk after ']'");
      port = after.substr(1);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  if (authority.find(':') != std::string_view::npos || !port.empty()) {
    int p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 ||
        p > 65535) {
      return bad(fmt::format("bad port '{}'", port.substr(0, 10)));
    }
    t.port = p;
  }
  t.host = std::string(host);
  t.host_header = std::string(authority);
  return t;
}

Http1Client::Http1Client(int epoll_fd, HttpTarget target, Options options, Handler& handler)
    : epoll_fd_(epoll_fd),
      target_(std::move(target)),
      options_(std::move(options)),
      handler_(handler),
      buffer_(kReadBytes) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(target_.port);
  const int rc = getaddrinfo(target_.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    resolve_error_ = fmt::format("cannot resolve host '{}': {}", target_.host, gai_strerror(rc));
  } else {
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
      if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
      Address address;
      std::memcpy(&address.addr, a->ai_addr, a->ai_addrlen);
      address.len = a->ai_addrlen;
      addresses_.push_back(address);
    }
    freeaddrinfo(found);
    if (addresses_.empty()) resolve_error_ = fmt::format("no address for host '{}'", target_.host);
  }
  prefix_ = fmt::format("POST {} HTTP/1.1\r\nHost: {}\r\n", target_.path, target_.host_header);
  for (const std::string& h : options_.headers) {
    prefix_ += h;
    prefix_ += "\r\n";
  }
  prefix_ += "Content-Length: ";
}

Http1Client::~Http1Client() {
  for (const auto& c : conns_) {
    if (c->fd >= 0) ::close(c->fd);
  }
}

std::string Http1Client::Where() const {
  return fmt::format("{}:{}", target_.host, target_.port);
}

size_t Http1Client::idle_connections() const {
  return idle_count_;
}

// Entries of idle_ whose connection the server closed are skipped when met; this keeps them from
// piling up when the pool is large and seldom drained.
void Http1Client::DropStaleIdle() {
  if (idle_.size() <= 2 * idle_count_ + 64) return;
  idle_.erase(std::remove_if(idle_.begin(), idle_.end(),
                             [this](const std::pair<uint32_t, uint32_t>& e) {
                               const Conn& c = *conns_[e.first];
                               return c.state != Conn::State::kIdle || c.generation != e.second;
                             }),
              idle_.end());
}

void Http1Client::Link(int list, Conn& c) {
  if (c.linked[list]) return;
  List& l = list == 0 ? active_ : connecting_;
  c.prev[list] = l.tail;
  c.next[list] = nullptr;
  if (l.tail != nullptr) {
    l.tail->next[list] = &c;
  } else {
    l.head = &c;
  }
  l.tail = &c;
  c.linked[list] = true;
}

void Http1Client::Unlink(int list, Conn& c) {
  if (!c.linked[list]) return;
  List& l = list == 0 ? active_ : connecting_;
  if (c.prev[list] != nullptr) {
    c.prev[list]->next[list] = c.next[list];
  } else {
    l.head = c.next[list];
  }
  if (c.next[list] != nullptr) {
    c.next[list]->prev[list] = c.prev[list];
  } else {
    l.tail = c.prev[list];
  }
  c.prev[list] = c.next[list] = nullptr;
  c.linked[list] = false;
}

Http1Client::Conn* Http1Client::NewConn() {
  if (!free_.empty()) {
    Conn* c = conns_[free_.back()].get();
    free_.pop_back();
    return c;
  }
  conns_.push_back(std::make_unique<Conn>());
  conns_.back()->slot = static_cast<uint32_t>(conns_.size() - 1);
  return conns_.back().get();
}

void Http1Client::CloseSocket(Conn& c) {
  if (c.fd >= 0) ::close(c.fd);  // which also takes it out of the epoll set
  c.fd = -1;
  ++c.generation;
  c.want_write = false;
  Unlink(1, c);
}

void Http1Client::Free(Conn& c) {
  CloseSocket(c);
  Unlink(0, c);
  c.state = Conn::State::kFree;
  c.tag = nullptr;
  free_.push_back(c.slot);
}

void Http1Client::Defer(Conn& c, ErrorClass error, std::string message) {
  CloseSocket(c);
  Unlink(0, c);
  c.state = Conn::State::kFailed;
  c.failed_error = error;
  c.failed_message = std::move(message);
  deferred_.emplace_back(c.slot, c.exchange);
}

bool Http1Client::Connect(Conn& c, size_t address) {
  c.address = address;
  c.fd = ::socket(addresses_[address].addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                  0);
  if (c.fd < 0) {
    Defer(c, ErrorClass::kOther, fmt::format("cannot open a socket: {}", std::strerror(errno)));
    return false;
  }
  ++connections_opened_;
  const int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = ::connect(c.fd, reinterpret_cast<const sockaddr*>(&addresses_[address].addr),
                           addresses_[address].len);
  if (rc != 0 && errno != EINPROGRESS) {
    const int err = errno;
    if (address + 1 < addresses_.size()) {
      CloseSocket(c);
      return Connect(c, address + 1);
    }
    Defer(c, ErrorClass::kRefused, fmt::format("connect to {}: {}", Where(), std::strerror(err)));
    return false;
  }
  c.state = rc == 0 ? Conn::State::kBusy : Conn::State::kConnecting;
  c.want_write = rc != 0;
  epoll_event ev{};
  ev.events = EPOLLIN | (c.want_write ? EPOLLOUT : 0u);
  ev.data.u64 = EventData(c.slot, c.generation);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
    Defer(c, ErrorClass::kOther, fmt::format("epoll_ctl: {}", std::strerror(errno)));
    return false;
  }
  if (rc != 0) {
    c.connect_deadline = Clock::now() + options_.connect_timeout;
    Link(1, c);
  }
  return true;
}

void Http1Client::SetInterest(Conn& c, bool want_write) {
  if (c.want_write == want_write) return;
  c.want_write = want_write;
  epoll_event ev{};
  ev.events = EPOLLIN | (want_write ? EPOLLOUT : 0u);
  ev.data.u64 = EventData(c.slot, c.generation);
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev);
}

bool Http1Client::Write(Conn& c, std::string& error) {
  while (c.out_done < c.out.size()) {
    const ssize_t n =
        ::send(c.fd, c.out.data() + c.out_done, c.out.size() - c.out_done, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_done += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      SetInterest(c, true);
      return true;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      error = fmt::format("send to {}: {}", Where(), std::strerror(n < 0 ? errno : EPIPE));
      return false;
    }
  }
  SetInterest(c, false);
  return true;
}

Http1Client::Conn* Http1Client::Start(std::string_view body, void* tag) {
  const Clock::time_point now = Clock::now();
  Conn* c = nullptr;
  while (c == nullptr && !idle_.empty()) {
    const auto [slot, generation] = idle_.back();
    idle_.pop_back();
    Conn* candidate = conns_[slot].get();
    if (candidate->state == Conn::State::kIdle && candidate->generation == generation) {
      c = candidate;
      --idle_count_;
    }
  }
  const bool reused = c != nullptr;
  if (c == nullptr) c = NewConn();
  c->tag = tag;
  c->exchange = next_exchange_++;
  c->reused = reused;
  c->retried = false;
  c->got_bytes = false;
  c->reader.Reset();
  c->out.assign(prefix_);
  char length[24];
  const auto [end, ec] = std::to_chars(length, length + sizeof length, body.size());
  c->out.append(length, end);
  c->out.append("\r\n\r\n");
  c->out.append(body);
  c->out_done = 0;
  c->deadline = now + options_.request_timeout;
  Link(0, *c);
  if (!resolve_error_.empty()) {
    Defer(*c, ErrorClass::kRefused, resolve_error_);
    return c;
  }
  if (reused) {
    c->state = Conn::State::kBusy;
  } else if (!Connect(*c, preferred_)) {
    return c;  // failed: reported from OnTimer()
  }
  if (c->state == Conn::State::kBusy) {
    std::string error;
    if (!Write(*c, error)) {
      if (c->reused) {
        Retry(*c);
      } else {
        Defer(*c, ErrorClass::kClosedMidStream, std::move(error));
      }
    }
  }
  return c;
}

// A kept-alive connection turned out closed by the server before any of the response came:
// the request goes again, once, on a new connection (as browsers and libcurl do).
void Http1Client::Retry(Conn& c) {
  CloseSocket(c);
  c.reused = false;
  c.retried = true;
  c.got_bytes = false;
  c.out_done = 0;
  c.reader.Reset();
  if (!Connect(c, preferred_) || c.state != Conn::State::kBusy) return;
  std::string error;
  if (!Write(c, error)) Defer(c, ErrorClass::kClosedMidStream, std::move(error));
}

void Http1Client::Cancel(Conn* conn) {
  if (conn == nullptr || conn->tag == nullptr) return;
  Free(*conn);
}

void Http1Client::Complete(Conn& c, bool reuse, Clock::time_point now) {
  void* tag = c.tag;
  if (reuse) {
    Unlink(0, c);
    c.tag = nullptr;
    c.state = Conn::State::kIdle;
    c.reader.Reset();
    idle_.emplace_back(c.slot, c.generation);
    ++idle_count_;
  } else {
    Free(c);
  }
  handler_.OnEnd(tag, ErrorClass::kNone, {}, now);
}

void Http1Client::Fail(Conn& c, ErrorClass error, std::string message, Clock::time_point now) {
  void* tag = c.tag;
  Free(c);
  handler_.OnEnd(tag, error, message, now);
}

void Http1Client::OnConnected(Conn& c, Clock::time_point now) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    if (c.address + 1 < addresses_.size()) {
      CloseSocket(c);
      if (Connect(c, c.address + 1) && c.state == Conn::State::kBusy) OnConnected(c, now);
      return;
    }
    Fail(c, ErrorClass::kRefused, fmt::format("connect to {}: {}", Where(), std::strerror(err)),
         now);
    return;
  }
  preferred_ = c.address;
  Unlink(1, c);
  c.state = Conn::State::kBusy;
  std::string error;
  if (!Write(c, error)) Fail(c, ErrorClass::kClosedMidStream, std::move(error), now);
}

void Http1Client::HandleEvent(const epoll_event& event) {
  const uint32_t slot = static_cast<uint32_t>(event.data.u64 & 0xffffffffu);
  const uint32_t generation = static_cast<uint32_t>(event.data.u64 >> 32);
  if (slot >= conns_.size()) return;
  Conn& c = *conns_[slot];
  if (c.generation != generation || c.fd < 0) return;  // an event of a socket closed meanwhile
  const Clock::time_point now = Clock::now();
  switch (c.state) {
    case Conn::State::kConnecting:
      if ((event.events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) OnConnected(c, now);
      return;
    case Conn::State::kIdle:
      // A kept-alive connection that the server closed (or wrote to unasked): drop it.
      Free(c);
      --idle_count_;
      DropStaleIdle();
      return;
    case Conn::State::kBusy:
      if ((event.events & EPOLLOUT) != 0 && c.out_done < c.out.size()) {
        std::string error;
        if (!Write(c, error)) {
          if (c.reused && !c.got_bytes && !c.retried) {
            Retry(c);
          } else {
            Fail(c, ErrorClass::kClosedMidStream, std::move(error), now);
          }
          return;
        }
      }
      if ((event.events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) != 0) Read(c, now);
      return;
    case Conn::State::kFree:
    case Conn::State::kFailed:
      return;
  }
}

void Http1Client::Read(Conn& c, Clock::time_point now) {
  for (;;) {
    const ssize_t n = ::recv(c.fd, buffer_.data(), buffer_.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      const std::string why = n < 0 ? fmt::format(" ({})", std::strerror(errno)) : "";
      if (c.reader.EndOfInput() == net::ResponseReader::Outcome::kComplete) {
        Complete(c, false, now);
      } else if (c.reused && !c.got_bytes && !c.retried) {
        Retry(c);
      } else {
        Fail(c, ErrorClass::kClosedMidStream, c.reader.error() + why, now);
      }
      return;
    }
    c.got_bytes = true;
    std::string_view in(buffer_.data(), static_cast<size_t>(n));
    body_.clear();
    net::ResponseReader::Outcome outcome;
    while ((outcome = c.reader.Next(in, body_)) == net::ResponseReader::Outcome::kHead) {
      handler_.OnHead(c.tag, c.reader.head(), now);
    }
    if (!body_.empty()) handler_.OnBody(c.tag, body_, now);
    if (outcome == net::ResponseReader::Outcome::kError) {
      Fail(c, ErrorClass::kMalformedStream, c.reader.error(), now);
      return;
    }
    if (outcome == net::ResponseReader::Outcome::kComplete) {
      // Bytes after the response were not asked for: the connection is not used again.
      Complete(c, c.reader.keep_alive() && in.empty(), now);
      return;
    }
    if (static_cast<size_t>(n) < buffer_.size()) return;  // drained; epoll says when more comes
  }
}

std::optional<Http1Client::Clock::time_point> Http1Client::NextDeadline() const {
  if (!deferred_.empty()) return Clock::now();
  std::optional<Clock::time_point> at;
  if (active_.head != nullptr) at = active_.head->deadline;
  if (connecting_.head != nullptr) {
    at = at ? std::min(*at, connecting_.head->connect_deadline) : connecting_.head->connect_deadline;
  }
  return at;
}

void Http1Client::OnTimer(Clock::time_point now) {
  if (!deferred_.empty()) {
    std::vector<std::pair<uint32_t, uint64_t>> failed;
    failed.swap(deferred_);
    for (const auto& [slot, exchange] : failed) {
      Conn& c = *conns_[slot];
      if (c.state != Conn::State::kFailed || c.exchange != exchange || c.tag == nullptr) continue;
      const ErrorClass error = c.failed_error;
      const std::string message = std::move(c.failed_message);
      Fail(c, error, message, now);
    }
  }
  while (connecting_.head != nullptr && connecting_.head->connect_deadline <= now) {
    Fail(*connecting_.head, ErrorClass::kTimeout,
         fmt::format("connect to {} timed out after {} ms", Where(),
                     options_.connect_timeout.count()),
         now);
  }
  while (active_.head != nullptr && active_.head->deadline <= now) {
    Fail(*active_.head, ErrorClass::kTimeout,
         fmt::format("request timed out after {} ms", options_.request_timeout.count()), now);
  }
}

}  // namespace llmrca::load
