// The HTTP engine of `llmrca load`: sends the requests of a run to an LLM server and turns every
// response into a RequestRecord as it completes. Plain http:// URLs go over llmrca's own HTTP/1.1
// client (load/http_client.h); https://, HTTP/2, and --http-client curl over libcurl's multi
// interface. One event loop per thread (epoll + a timerfd, so sends and chunk timestamps are not
// rounded to milliseconds), thousands of concurrent streams per loop, HTTP/1.1 keep-alive.
// Open loop (an ArrivalSchedule decides when each request is sent, whatever the server does) or
// closed loop (N users, each sending its next request when the previous one ends).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/status.h"
#include "load/prompts.h"
#include "load/provider.h"
#include "load/record.h"
#include "load/schedule.h"

namespace llmrca::load {

enum class HttpVersion {
  kHttp11,  // HTTP/1.1 with keep-alive
  kHttp2,   // HTTP/2: negotiated by ALPN over TLS, prior knowledge over plain http
};

// Which HTTP client carries the requests of a plain http:// URL over HTTP/1.1. https:// URLs and
// HTTP/2 always go through libcurl.
enum class HttpClient {
  kNative,  // llmrca's own HTTP/1.1 client (load/http_client.h): less work per request
  kCurl,    // libcurl's multi interface
};

struct EngineOptions {
  // Base URL of the server, e.g. "http://127.0.0.1:8000"; the provider's path is appended.
  std::string url;
  RequestOptions request;
  // Sent as "Authorization: Bearer <key>" when not empty. Never logged, printed or recorded.
  std::string api_key;
  // > 0: closed loop with this many users. 0: open loop, arrivals from the schedule.
  int users = 0;
  // Bounds of a closed-loop run (at least one is required); an open-loop run is bounded by its
  // schedule. No request is started after `duration`; requests then in flight may finish.
  std::optional<std::chrono::nanoseconds> duration;
  std::optional<int64_t> max_requests;
  int threads = 1;  // event loops; arrivals and users are shared among them
  std::chrono::milliseconds request_timeout{600'000};  // whole request, first byte to last
  std::chrono::milliseconds connect_timeout{10'000};
  // After a stop request (Ctrl-C): how long requests in flight may still finish. Those still
  // running then are recorded as failed (kOther, "interrupted").
  std::chrono::milliseconds drain_timeout{10'000};
  HttpVersion http_version = HttpVersion::kHttp11;
  HttpClient http_client = HttpClient::kNative;
  bool insecure_tls = false;  // do not verify the server's certificate
};

// Receives every request's record once, as it completes, from the engine's threads (calls are
// serialised by the engine: one at a time).
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void Add(const RequestRecord& record) = 0;
};

// Counters of a running engine, readable from any thread while it runs.
struct EngineProgress {
  std::atomic<int64_t> started{0};
  std::atomic<int64_t> completed{0};  // succeeded
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> in_flight{0};
};

struct EngineResult {
  int64_t requests = 0;      // records delivered to the sink
  bool interrupted = false;  // the stop flag ended the run early
  // Steady-clock time of the run's start (record times are seconds after it) and the wall
  // clock at the same moment, in Unix nanoseconds.
  std::chrono::steady_clock::time_point start;
  int64_t start_unix_ns = 0;
  double elapsed_s = 0;
  // Not OK when the run ended early on its own error (a schedule file or prompt that failed to
  // read mid-run); every record delivered before it is still valid.
  Status error;
};

// Runs one load test and blocks until every request has ended. `schedule` is required for an
// open-loop run and ignored for a closed-loop one; request i uses prompts.Get(i) unless its
// arrival carries a replayed prompt. `stop` ends scheduling when it becomes true (checked at
// least every 50 ms); `on_tick`, when set, is called about every `tick` from the calling thread.
// `on_start` is called once with the run's start time before the first request is sent.
// Errors: kInvalidArgument for bad options (URL, bounds, threads) and kUnavailable when libcurl
// or epoll cannot be set up, both before any request is sent. A failing server gives failed
// records, not a failed run; an error of the run itself mid-way is in EngineResult::error.
Result<EngineResult> RunEngine(const EngineOptions& options, ArrivalSchedule* schedule,
                               const PromptSource& prompts, RecordSink& sink,
                               EngineProgress& progress, const std::atomic<bool>& stop,
                               const std::function<void(const EngineResult&)>& on_start = {},
                               const std::function<void()>& on_tick = {},
                               std::chrono::milliseconds tick = std::chrono::milliseconds(250));

// Whether a run with these options uses the native client (HttpClient::kNative, a plain http://
// URL, HTTP/1.1) rather than libcurl.
bool UsesNativeHttp(const EngineOptions& options);

// libcurl's version and features, e.g. "libcurl 7.88.1 (OpenSSL/3.0.11, HTTP2, nghttp2/1.52.0)".
std::string CurlVersionString();

}  // namespace llmrca::load
