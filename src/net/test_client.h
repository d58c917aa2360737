// A blocking HTTP/1.1 test client on one connection, for the tests of llmrca's servers: sends
// raw bytes and reads responses by their framing (Content-Length or chunked), noting when each
// chunk arrived. Test-only; header-only.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace llmrca::net::test_support {

// A loopback port nothing listens on: bound to port 0, then closed (connecting is refused).
inline int UnusedLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

using Clock = std::chrono::steady_clock;

class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { Close(); }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool connected() const { return connected_; }
  bool Send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  struct Response {
    int status = 0;
    std::string head;
    std::string body;
    std::vector<Clock::time_point> chunk_times;  // chunked: when each chunk was complete
  };
  // Reads one response; nullopt on timeout or a closed connection before it is complete.
  std::optional<Response> Read(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    const Clock::time_point until = Clock::now() + timeout;
    Response r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(until)) return std::nullopt;
    }
    r.head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    if (r.status == 100) return Read(timeout);
    const size_t cl = r.head.find("Content-Length: ");
    if (cl != std::string::npos) {
      const size_t n = std::stoul(r.head.substr(cl + 16));
      while (buf_.size() < n) {
        if (!Fill(until)) return std::nullopt;
      }
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
      return r;
    }
    for (;;) {  // chunked
      size_t line;
      while ((line = buf_.find("\r\n")) == std::string::npos) {
        if (!Fill(until)) return std::nullopt;
      }
      const size_t n = std::stoul(buf_.substr(0, line), nullptr, 16);
      while (buf_.size() < line + 2 + n + 2) {
        if (!Fill(until)) return std::nullopt;
      }
      if (n == 0) {
        buf_.erase(0, line + 4);
        return r;
      }
      r.body += buf_.substr(line + 2, n);
      r.chunk_times.push_back(Clock::now());
      buf_.erase(0, line + 2 + n + 2);
    }
  }
  // True when the server closed the connection (read returns 0) within the timeout.
  bool ClosedByServer() {
    const Clock::time_point until = Clock::now() + std::chrono::seconds(5);
    while (Fill(until)) {
    }
    return eof_;
  }

 private:
  bool Fill(Clock::time_point until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

}  // namespace llmrca::net::test_support
