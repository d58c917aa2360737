// FakeLlmServer: an in-process LLM server on 127.0.0.1 for testing and benchmarking `llmrca
// load`. It streams tokens on a known schedule (the first token `ttft_ms` after the request body
// is complete, then one every `itl_ms`) in the OpenAI/vLLM, TGI and Triton wire formats
// (reference/load-testing.md §3), fails on request in the ways real servers fail, and records
// when each chunk went out, so that a client's TTFT/ITL can be checked against the server's own
// times. Linux only: one thread, epoll, non-blocking sockets and a timerfd-driven timer heap.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace llmrca::load::testing {

// How the server answers one LLM request. Chosen per request by a directive in its body (see
// ParseFakeDirective); `k` below is the directive's `error_after` (default
// FakeServerOptions::error_after), clamped to the request's token count.
enum class FakeMode {
  kStream,          // "stream": the normal answer, streamed or not as the request asks
  kStatus,          // "status": that HTTP status at once, with the API's JSON error body
  kHtmlError,       // "html_error": that HTTP status (default 502) with an nginx-style HTML page
  kInStreamError,   // "in_stream_error": HTTP 200, k tokens, then an error object (OpenAI: and
                    // `data: [DONE]`); non-streamed: a 200 body holding only the error object
  kMalformed,       // "malformed": k tokens, then the line `data: {not json` and the end of the
                    // response; non-streamed: the 200 body `{not json`
  kCloseMidStream,  // "close_mid_stream": k tokens, then the socket is closed with no end of
                    // stream; non-streamed: headers and half the body, then the close
  kHang,            // "hang": the request is read and never answered (closed at Stop)
  kSlowHeaders,     // "slow_headers": like kStream with the whole answer, headers included,
                    // held back `headers_ms`
};

// The directive name of a mode ("stream", "status", "html_error", ...), and its inverse.
std::string_view FakeModeName(FakeMode mode);
std::optional<FakeMode> FakeModeFromName(std::string_view name);

struct FakeServerOptions {
  int port = 0;                      // 0: the kernel picks a free port
  double ttft_ms = 10;               // body complete -> first token chunk handed to send()
  double itl_ms = 2;                 // one token chunk to the next
  int default_tokens = 16;           // when neither the body nor a directive gives a count
  int error_after = 2;               // `k` of the failing modes
  double headers_delay_ms = 500;     // how long kSlowHeaders holds the answer back
  std::string model = "fake-model";  // /v1/models, /metrics labels, when the body names none
  bool keep_alive = true;            // false: every response carries `Connection: close`
  // Keep a ServedRequest per request (Served()). The benchmark executable turns it off so that
  // memory stays flat over millions of requests.
  bool record = true;
};

// The per-request overrides found in a body: `[fake key=value ...]` anywhere in its text (so a
// load test can put it in a prompt). Keys: ttft_ms, itl_ms, headers_ms (milliseconds, 0 to
// 3,600,000), tokens (1 to 1,000,000), error_after (0 to 1,000,000), mode (a FakeModeName),
// status (400 to 599; alone it means mode=status). Example: `[fake ttft_ms=20 itl_ms=5 tokens=8
// mode=in_stream_error error_after=3]`. Only the first directive counts.
struct FakeDirective {
  std::optional<double> ttft_ms;
  std::optional<double> itl_ms;
  std::optional<double> headers_ms;
  std::optional<int> tokens;
  std::optional<int> error_after;
  std::optional<FakeMode> mode;
  std::optional<int> status;
};

// Finds and parses the directive in `body`. An empty FakeDirective when there is none;
// kInvalidArgument ("fake_llm_server: directive: ...") for an unknown key, a bad value or a
// missing `]`. The server answers such a request with HTTP 400 and that message.
Result<FakeDirective> ParseFakeDirective(std::string_view body);

// What the server did with one request, on std::chrono::steady_clock (the clock of the
// in-process client).
struct ServedRequest {
  using TimePoint = std::chrono::steady_clock::time_point;
  std::string method;
  std::string path;  // the request target without its query string
  std::string body;
  TimePoint received;                     // the last byte of the body was read
  std::optional<TimePoint> headers_sent;  // the status line and headers were fully written
  // When each token chunk was fully written into the socket buffer: one per token of a stream;
  // one for the whole body of a non-streamed answer that carries tokens; none for error bodies.
  std::vector<TimePoint> chunk_sent;
  TimePoint finished;  // the response was complete, or the connection closed
  int status = 0;      // HTTP status sent; 0 when none was (kHang, or closed before headers)
  FakeMode mode = FakeMode::kStream;
  bool stream = false;         // a streamed (SSE) answer
  int tokens = 0;              // tokens the answer was planned to have
  bool completed = false;      // the whole response was written
  bool client_closed = false;  // the client closed or reset the connection first
};

// Counters, readable from any thread at any time.
struct FakeServerStats {
  int64_t connections_accepted = 0;
  int64_t connections_open = 0;
  int64_t requests_received = 0;   // complete requests read (any path)
  int64_t requests_completed = 0;  // responses fully written (any path)
  int64_t streams_open = 0;        // LLM requests received whose answer has not ended
  int64_t streams_peak = 0;        // the most streams_open ever seen at once
  int64_t tokens_sent = 0;         // token chunks (streams) or tokens in bodies (non-streamed)
  int64_t bad_requests = 0;        // answered 4xx because the request itself was bad
};

// The server. Routes (HTTP/1.1, Content-Length bodies, keep-alive, pipelined requests answered
// in order):
//   POST /v1/chat/completions, /v1/completions            OpenAI/vLLM (§3.1)
//   POST /generate, /generate_stream                        TGI (§3.2)
//   POST /v2/models/<m>[/versions/<v>]/generate, .../generate_stream, .../infer   Triton (§3.3)
//   GET /metrics (vLLM-named Prometheus series), GET /health, GET /v1/models; anything else 404.
// Tokens: max_completion_tokens, else max_tokens (TGI: parameters.max_new_tokens; Triton:
// max_tokens), else default_tokens; a directive's `tokens` wins. Token i's text is the i % 10th
// of "The", " quick", " brown", " fox", " jumps", " over", " the", " lazy", " dog", "."; prompt
// tokens are the whitespace-separated words of the prompt text. A streamed chat answer sends its
// role chunk together with token 0 (as vLLM does), and its last token chunk carries
// finish_reason "length"; the usage chunk comes only with stream_options.include_usage.
// After Stop(), connecting to port() is refused (ECONNREFUSED) unless another process has taken
// the port meanwhile: that is the "refused" situation for client tests. The server treats a
// client's half-close (shutdown(SHUT_WR)) as a disconnect, as uvicorn does.
// Thread-safe: every method may be called from any thread.
class FakeLlmServer {
 public:
  // Binds 127.0.0.1:options.port and starts the server thread. kInvalidArgument for bad options
  // (negative or non-finite times, default_tokens < 1, port outside 0..65535, empty model);
  // kUnavailable when the socket cannot be bound; kIoError when epoll, timerfd or the thread
  // cannot be made.
  static Result<std::unique_ptr<FakeLlmServer>> Start(const FakeServerOptions& options);

  ~FakeLlmServer();  // calls Stop()
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  int port() const;
  std::string BaseUrl() const;  // "http://127.0.0.1:<port>"

  // A copy of the records of every request that has ended (answered, failed, or cut off by a
  // close or by Stop), in the order they ended. Empty when options.record is false.
  std::vector<ServedRequest> Served() const;

  // Blocks until at least `count` requests have ended or `timeout` passes; true in the first
  // case. A client that has just read a whole response calls this before Served(), because the
  // server records a request only after its last write returns.
  bool WaitForServed(size_t count, std::chrono::milliseconds timeout) const;

  FakeServerStats stats() const;

  // Closes the listening socket and every connection (hanging ones included), records the
  // requests still open, and joins the server thread. Idempotent.
  void Stop();

 private:
  class Impl;
  explicit FakeLlmServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llmrca::load::testing
