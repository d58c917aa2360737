// TcpProxy: network faults without root or kernel support (`llmrca chaos proxy`). A TCP proxy
// between clients and one upstream that delays, slows, stalls, cuts or resets the bytes it
// relays, with the semantics of Toxiproxy's toxics (reference/chaos-and-telemetry.md 1.5):
//
// - latency + jitter: each chunk read from one side is written to the other at its arrival
//   time + latency + U[-jitter, +jitter) (never before the chunk ahead of it: order is kept);
// - bandwidth: at most `bandwidth_kbps` x 1,000 bytes a second leave in that direction;
// - stalls: with probability `stall_probability` a chunk waits `stall` more, the way a lost
//   segment waits for its retransmission (what packet loss looks like to a TCP client);
// - timeout: nothing is relayed; the connection is closed after `timeout` (0: never);
// - reset: the client's connection is reset (RST) as soon as it is accepted;
// - down: the proxy accepts and closes at once, as an upstream that is gone.
//
// Each applies to the directions in `stream` and to a `toxicity` share of connections (drawn
// per connection). One thread, epoll, non-blocking sockets; the faults can be changed while it
// runs (new chunks get the new ones). Backpressure: a direction stops reading while 1 MiB waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace llmrca::chaos {

struct ProxyToxics {
  std::chrono::microseconds latency{0};
  std::chrono::microseconds jitter{0};
  int64_t bandwidth_kbps = 0;  // 0: unlimited
  double stall_probability = 0;
  std::chrono::microseconds stall{200000};  // Linux's minimum retransmission timeout
  bool timeout = false;
  std::chrono::milliseconds timeout_after{0};  // with `timeout`: close after this (0: never)
  bool reset = false;
  bool down = false;
  bool upstream = false;    // client -> server
  bool downstream = true;   // server -> client
  double toxicity = 1;      // share of connections affected
};

struct TcpProxyOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;  // 0: any free port
  std::string upstream_host = "127.0.0.1";
  int upstream_port = 0;
  ProxyToxics toxics;
  uint64_t seed = 1;
};

struct TcpProxyStats {
  int64_t connections = 0;        // accepted
  int64_t affected = 0;           // connections the toxics applied to (toxicity draw)
  int64_t upstream_failures = 0;  // connects to the upstream that failed
  int64_t open = 0;
  int64_t bytes_upstream = 0;     // client -> server, written
  int64_t bytes_downstream = 0;   // server -> client, written
};

class TcpProxy {
 public:
  // Validates the options, listens, starts the thread. kInvalidArgument for a bad option
  // (negative times, toxicity outside 0..1, no port), kUnavailable when it cannot listen.
  static Result<std::unique_ptr<TcpProxy>> Start(TcpProxyOptions options);
  ~TcpProxy();  // closes every connection
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  int port() const;
  void SetToxics(const ProxyToxics& toxics);  // thread-safe; applies to data read from now on
  TcpProxyStats stats() const;

  class Impl;

 private:
  explicit TcpProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Checks toxics: kInvalidArgument naming the bad field.
Status ValidateToxics(const ProxyToxics& toxics);

}  // namespace llmrca::chaos
