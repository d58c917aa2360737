#include "sim/router.h"

#include <curl/curl.h>

#include <algorithm>
#include <ctime>
#include <atomic>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "net/http.h"
#include "net/http_server.h"
#include "sim/exposition.h"

namespace llmrca::sim {
namespace {

using Clock = std::chrono::steady_clock;

// Ray Serve's DEFAULT_LATENCY_BUCKET_MS (python/ray/serve/_private/constants.py).
std::vector<double> RayLatencyBucketsMs() {
  return {1,    2,    5,    10,    20,    50,     100,    200,    300,   400,
          500,  1000, 2000, 5000,  10000, 60000,  120000, 300000, 600000};
}

std::string ErrorJson(int status, std::string_view message) {
  nlohmann::json j;
  j["object"] = "error";
  j["message"] = message;
  j["type"] = net::ReasonPhrase(status);
  j["code"] = status;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// libcurl results that mean "this replica never answered": the request may go elsewhere.
bool ConnectionFailure(CURLcode code) {
  return code == CURLE_COULDNT_CONNECT || code == CURLE_OPERATION_TIMEDOUT ||
         code == CURLE_GOT_NOTHING || code == CURLE_SEND_ERROR || code == CURLE_RECV_ERROR ||
         code == CURLE_COULDNT_RESOLVE_HOST;
}

}  // namespace

Result<RouterBackend> ParseRouterBackend(const std::string& text, int index) {
  RouterBackend b;
  std::string url = text;
  const size_t eq = text.find('=');
  if (eq != std::string::npos && text.compare(0, 7, "http://") != 0) {
    b.name = text.substr(0, eq);
    url = text.substr(eq + 1);
  } else {
    b.name = fmt::format("ray-replicas-{}", index);
  }
  while (!url.empty() && url.back() == '/') url.pop_back();
  const auto bad = [&] {
    return Status::InvalidArgument(
        fmt::format("backend '{}': expected http://HOST:PORT or NAME=http://HOST:PORT", text));
  };
  if (b.name.empty() || url.compare(0, 7, "http://") != 0) return bad();
  const std::string authority = url.substr(7);
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon == 0 || authority.find('/') != std::string::npos) {
    return bad();
  }
  const std::optional<int64_t> port = ParseInt(authority.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return bad();
  b.url = url;
  return b;
}

int PowerOfTwoChoices(std::span<const int> load, std::mt19937_64& rng) {
  std::vector<int> eligible;
  for (size_t i = 0; i < load.size(); ++i) {
    if (load[i] >= 0) eligible.push_back(static_cast<int>(i));
  }
  if (eligible.empty()) return -1;
  if (eligible.size() == 1) return eligible[0];
  const size_t n = eligible.size();
  const size_t a = std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  size_t b = std::uniform_int_distribution<size_t>(0, n - 2)(rng);
  if (b >= a) ++b;  // distinct from a, uniform over the rest
  const int x = eligible[a], y = eligible[b];
  return load[static_cast<size_t>(y)] < load[static_cast<size_t>(x)] ? y : x;
}

class Router::Impl {
 public:
  explicit Impl(RouterOptions options)
      : opt_(std::move(options)), replicas_(opt_.backends.size()), rng_(opt_.seed) {
    for (size_t i = 0; i < replicas_.size(); ++i) {
      replicas_[i].stats.name = opt_.backends[i].name;
      replicas_[i].latency_ms = std::make_unique<Histogram>(RayLatencyBucketsMs());
    }
  }
  ~Impl() { Stop(); }

  Status Init() {
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return Status::Internal("curl_multi_init failed");
    // Keep upstream connections open for reuse: one per concurrent stream may be needed.
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 8192L);
    net::HttpServerOptions http;
    http.host = opt_.host;
    http.port = opt_.port;
    LLMRCA_ASSIGN_OR_RETURN(server_,
                            net::HttpServer::Start(http, [this](net::HttpRequest r, net::Responder w) {
                              Handle(std::move(r), std::move(w));
                            }));
    thread_ = std::thread([this] { Run(); });
    Log("INFO", "router.py:308", "", "",
        "Using router <class 'ray.serve._private.replica_scheduler.pow_2_scheduler."
        "PowerOfTwoChoicesReplicaScheduler'>.");
    std::string names;
    for (const RouterBackend& b : opt_.backends) names += (names.empty() ? "'" : ", '") + b.name + "'";
    Log("INFO", "pow_2_scheduler.py:255", "", "",
        fmt::format("Got updated replicas for deployment '{}' in application '{}': {{{}}}.",
                    opt_.deployment, opt_.application, names));
    return Status::Ok();
  }

  void Stop() {
    if (server_) server_->Stop();
    stop_.store(true);
    if (multi_ != nullptr) curl_multi_wakeup(multi_);
    if (thread_.joinable()) thread_.join();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    multi_ = nullptr;
  }

  int port() const { return server_->port(); }

  std::string MetricsText() const;
  std::vector<RouterReplicaStats> Replicas() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<RouterReplicaStats> out;
    for (const Replica& r : replicas_) out.push_back(r.stats);
    return out;
  }
  int queued() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queued_;
  }

 private:
  struct Pending {
    net::HttpRequest request;
    net::Responder responder;
    Clock::time_point arrival;
    std::vector<char> tried;
    int attempts = 0;
    std::string id;  // request id (UUID)
    // Tracing (when on_span is set): this request's server span and its parent.
    TraceContext trace;       // trace id and the server span's id
    SpanId parent{};          // the client's span, all zeros for none
    uint64_t start_ns = 0;
  };

  struct Transfer {
    explicit Transfer(Pending pending) : p(std::move(pending)) {}
    Impl* impl = nullptr;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    Pending p;
    int replica = -1;
    Clock::time_point start;
    uint64_t start_ns = 0;
    SpanId span{};  // this attempt's client span (tracing)
    int status = 0;
    std::string content_type;
    bool has_length = false;  // the upstream answer is whole (Content-Length): pass it whole
    bool started = false;     // our streamed response head is out
    bool client_gone = false;
    std::string body;         // has_length: the answer so far
    std::list<Transfer>::iterator self;
  };

  struct Replica {
    RouterReplicaStats stats;
    std::unique_ptr<Histogram> latency_ms;
    Clock::time_point down_until{};
  };

  void Handle(net::HttpRequest request, net::Responder responder);
  void Run();
  void Dispatch();
  void StartTransfer(Pending p, int replica);
  void Finish(Transfer& t, CURLcode code);
  void Answer(Pending& p, int status, std::string_view message);
  void EmitSpans(const Transfer& t, CURLcode code, int answered, bool retry);
  void Log(std::string_view level, std::string_view where, std::string_view request_id,
           std::string_view replica, std::string_view message) const;
  std::string NewRequestId();  // under mu_

  static size_t OnHeader(char* data, size_t size, size_t n, void* user);
  static size_t OnBody(char* data, size_t size, size_t n, void* user);

  const RouterOptions opt_;
  std::unique_ptr<net::HttpServer> server_;
  CURLM* multi_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  // Shared between the server thread and the client thread.
  mutable std::mutex mu_;
  std::vector<Pending> inbox_;  // new requests, taken by the client thread
  int queued_ = 0;              // inbox_ + queue_
  int ongoing_http_ = 0;
  std::map<std::pair<std::string, int>, int64_t> http_requests_;  // (method, status)
  std::map<std::pair<std::string, int>, int64_t> http_errors_;
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Histogram>> http_latency_;
  int64_t router_requests_ = 0;
  std::mt19937_64 id_rng_{std::random_device{}()};  // under mu_
  std::vector<Replica> replicas_;  // stats and latency under mu_; down_until client thread only

  // Client thread only.
  std::mt19937_64 rng_;
  std::deque<Pending> queue_;
  std::list<Transfer> transfers_;
};

void Router::Impl::Handle(net::HttpRequest request, net::Responder responder) {
  const std::string& path = request.head.path;
  if (request.head.method == "GET" && path == "/metrics") {
    responder.Send(200, "text/plain; version=0.0.4; charset=utf-8", MetricsText());
    return;
  }
  if (request.head.method == "GET" && path == "/-/healthz") {
    responder.Send(200, "text/plain", "success");
    return;
  }
  if (request.head.method == "GET" && path == "/-/routes") {
    nlohmann::json j;
    j[opt_.route_prefix] = opt_.application;
    responder.Send(200, "application/json", j.dump());
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (opt_.max_queued_requests >= 0 && queued_ >= opt_.max_queued_requests) {
      ++http_requests_[{request.head.method, 503}];
      ++http_errors_[{request.head.method, 503}];
    } else {
      ++queued_;
      ++ongoing_http_;
      ++router_requests_;
      Pending p{std::move(request), std::move(responder), Clock::now(),
                std::vector<char>(replicas_.size(), 0), 0, NewRequestId(), {}, {}, 0};
      if (opt_.on_span) {
        p.start_ns = UnixNanos();
        const std::optional<TraceContext> parent =
            ParseTraceparent(p.request.head.Field("traceparent"));
        p.trace.trace_id = parent ? parent->trace_id : NewTraceId(id_rng_);
        if (parent) p.parent = parent->span_id;
        p.trace.span_id = NewSpanId(id_rng_);
      }
      inbox_.push_back(std::move(p));
      curl_multi_wakeup(multi_);
      return;
    }
  }
  responder.Send(503, "application/json",
                 ErrorJson(503, "the router's queue is full (max_queued_requests)"));
}

void Router::Impl::Run() {
  while (!stop_.load()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Pending& p : inbox_) queue_.push_back(std::move(p));
      inbox_.clear();
    }
    Dispatch();
    int running = 0;
    curl_multi_perform(multi_, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      Finish(*t, msg->data.result);
    }
    Dispatch();  // retries and freed slots
    // Wake at least every 50 ms: replicas marked down come back by the clock.
    curl_multi_poll(multi_, nullptr, 0, queue_.empty() ? 1000 : 50, nullptr);
  }
  // Stopping: the server is closed, so answers go nowhere; release everything.
  for (Transfer& t : transfers_) {
    curl_multi_remove_handle(multi_, t.easy);
    curl_easy_cleanup(t.easy);
    curl_slist_free_all(t.headers);
  }
  transfers_.clear();
  queue_.clear();
}

void Router::Impl::Dispatch() {
  const Clock::time_point now = Clock::now();
  while (!queue_.empty()) {
    Pending& p = queue_.front();
    if (p.responder.closed()) {  // the client left while queued
      std::lock_guard<std::mutex> lock(mu_);
      --queued_;
      --ongoing_http_;
      queue_.pop_front();
      continue;
    }
    std::vector<int> load(replicas_.size());
    bool any_untried = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < replicas_.size(); ++i) {
        const Replica& r = replicas_[i];
        const bool down = r.down_until > now;
        if (!p.tried[i]) any_untried = true;
        load[i] = (p.tried[i] || down || r.stats.ongoing >= opt_.max_ongoing_requests)
                      ? -1
                      : r.stats.ongoing;
      }
    }
    if (!any_untried) {  // every replica failed once: the next round may try them again
      std::fill(p.tried.begin(), p.tried.end(), 0);
      continue;
    }
    const int pick = PowerOfTwoChoices(load, rng_);
    if (pick < 0) return;  // all busy or down: wait (FIFO, the head blocks the rest)
    Pending taken = std::move(p);
    queue_.pop_front();
    {
      std::lock_guard<std::mutex> lock(mu_);
      --queued_;
    }
    StartTransfer(std::move(taken), pick);
  }
}

void Router::Impl::StartTransfer(Pending p, int replica) {
  transfers_.emplace_back(std::move(p));
  Transfer& t = transfers_.back();
  t.self = std::prev(transfers_.end());
  t.impl = this;
  t.replica = replica;
  t.start = Clock::now();
  t.p.tried[static_cast<size_t>(replica)] = 1;
  ++t.p.attempts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++replicas_[static_cast<size_t>(replica)].stats.ongoing;
  }
  const net::HttpHead& head = t.p.request.head;
  std::string url = opt_.backends[static_cast<size_t>(replica)].url + head.path;
  if (!head.query.empty()) url += "?" + head.query;
  t.easy = curl_easy_init();
  curl_easy_setopt(t.easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(t.easy, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(opt_.connect_timeout.count()));
  curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(t.easy, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
  curl_easy_setopt(t.easy, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
  curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t);
  // Forward the client's headers except those of its own connection and framing.
  for (const auto& [name, value] : head.fields) {
    if (net::EqualsIgnoreCase(name, "host") || net::EqualsIgnoreCase(name, "content-length") ||
        net::EqualsIgnoreCase(name, "connection") || net::EqualsIgnoreCase(name, "expect") ||
        net::EqualsIgnoreCase(name, "keep-alive") ||
        net::EqualsIgnoreCase(name, "transfer-encoding") ||
        (opt_.on_span && net::EqualsIgnoreCase(name, "traceparent"))) {
      continue;
    }
    t.headers = curl_slist_append(t.headers, fmt::format("{}: {}", name, value).c_str());
  }
  t.headers = curl_slist_append(t.headers, "Expect:");
  if (opt_.on_span) {
    t.start_ns = UnixNanos();
    {
      std::lock_guard<std::mutex> lock(mu_);
      t.span = NewSpanId(id_rng_);
    }
    TraceContext child = t.p.trace;
    child.span_id = t.span;
    t.headers =
        curl_slist_append(t.headers, ("traceparent: " + FormatTraceparent(child)).c_str());
  }
  if (head.Field("x-request-id").empty()) {
    t.headers = curl_slist_append(t.headers, ("X-Request-Id: " + t.p.id).c_str());
  }
  if (head.Field("x-forwarded-for").empty()) {
    t.headers = curl_slist_append(t.headers, "X-Forwarded-For: 127.0.0.1");
  }
  curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, t.headers);
  if (head.method == "GET") {
    curl_easy_setopt(t.easy, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDS, t.p.request.body.data());
    curl_easy_setopt(t.easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(t.p.request.body.size()));
    if (head.method != "POST") curl_easy_setopt(t.easy, CURLOPT_CUSTOMREQUEST, head.method.c_str());
  }
  curl_multi_add_handle(multi_, t.easy);
}

size_t Router::Impl::OnHeader(char* data, size_t size, size_t n, void* user) {
  Transfer& t = *static_cast<Transfer*>(user);
  const std::string_view line(data, size * n);
  if (line.compare(0, 5, "HTTP/") == 0) {  // a status line (a 100 Continue comes before)
    const size_t sp = line.find(' ');
    const std::optional<int64_t> code =
        sp == std::string_view::npos ? std::nullopt : ParseInt(line.substr(sp + 1, 3));
    t.status = code.value_or(0) >= 200 ? static_cast<int>(*code) : 0;
    t.content_type.clear();
    t.has_length = false;
    return size * n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = Trim(line.substr(colon + 1));
  if (net::EqualsIgnoreCase(name, "content-type")) t.content_type = std::string(value);
  if (net::EqualsIgnoreCase(name, "content-length")) t.has_length = true;
  return size * n;
}

size_t Router::Impl::OnBody(char* data, size_t size, size_t n, void* user) {
  Transfer& t = *static_cast<Transfer*>(user);
  if (t.p.responder.closed()) {
    t.client_gone = true;
    return 0;  // aborts the upstream transfer
  }
  if (t.has_length) {
    t.body.append(data, size * n);
    return size * n;
  }
  if (!t.started) {
    t.p.responder.Start(t.status, t.content_type.empty() ? "application/octet-stream"
                                                         : std::string_view(t.content_type));
    t.started = true;
  }
  t.p.responder.Write(std::string_view(data, size * n));
  return size * n;
}

void Router::Impl::Answer(Pending& p, int status, std::string_view message) {
  p.responder.Send(status, "application/json", ErrorJson(status, message));
}

void Router::Impl::Finish(Transfer& t, CURLcode code) {
  curl_multi_remove_handle(multi_, t.easy);
  curl_easy_cleanup(t.easy);
  curl_slist_free_all(t.headers);
  const size_t ri = static_cast<size_t>(t.replica);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t.start).count();
  const bool no_answer = t.status == 0 && !t.client_gone;
  // Decide first, count, then answer: whoever reads the metrics after the answer sees it counted.
  int answered = 0;  // the status the client gets; 0: none (it left, or the request is retried)
  bool retry = false;
  std::string error;  // the text of an error answer made here
  if (t.client_gone) {
    // Nothing to send; the engine's stream was cut.
  } else if (code == CURLE_OK && t.status != 0) {
    answered = t.status;
  } else if (no_answer && ConnectionFailure(code) && t.p.attempts <= opt_.retries) {
    retry = true;
  } else if (no_answer) {
    answered = code == CURLE_OPERATION_TIMEDOUT ? 504 : 503;
    error = fmt::format("replica {} failed: {}", opt_.backends[ri].name, curl_easy_strerror(code));
  } else {
    // The replica broke off an answer under way. A stream already started just ends (the
    // client sees it without its final event); either way it counts as a server error.
    answered = t.started ? 500 : 502;
    error = fmt::format("replica {} broke off its answer: {}", opt_.backends[ri].name,
                        curl_easy_strerror(code));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    Replica& r = replicas_[ri];
    --r.stats.ongoing;
    ++r.stats.requests;
    if (no_answer) ++r.stats.connect_failures;
    if (answered >= 500 || no_answer) ++r.stats.errors;
    r.latency_ms->Observe(ms);
    if (retry) {
      ++queued_;
    } else {
      --ongoing_http_;
      const std::string& method = t.p.request.head.method;
      const int status = answered != 0 ? answered : 499;  // 499: the client closed first
      ++http_requests_[{method, status}];
      if (status >= 400) ++http_errors_[{method, status}];
      auto& h = http_latency_[{method, std::to_string(status)}];
      if (!h) h = std::make_unique<Histogram>(RayLatencyBucketsMs());
      h->Observe(std::chrono::duration<double, std::milli>(Clock::now() - t.p.arrival).count());
    }
  }
  if (no_answer) {
    replicas_[ri].down_until = Clock::now() + opt_.down_for;
    Log("WARNING", "pow_2_scheduler.py:570", t.p.id, opt_.backends[ri].name,
        fmt::format("Failed to reach replica {} ({}); {}", opt_.backends[ri].name,
                    curl_easy_strerror(code), retry ? "retrying on another replica" : "giving up"));
  }
  if (opt_.on_span) EmitSpans(t, code, answered, retry);
  if (!retry) {
    const double total_ms =
        std::chrono::duration<double, std::milli>(Clock::now() - t.p.arrival).count();
    Log(answered >= 500 ? "ERROR" : "INFO", "proxy.py:538", t.p.id, opt_.backends[ri].name,
        fmt::format("{} {} {:.1f}ms", t.p.request.head.method, answered != 0 ? answered : 499,
                    total_ms));
  }
  if (retry) {
    queue_.push_front(std::move(t.p));
  } else if (answered != 0 && error.empty()) {
    if (t.has_length) {
      t.p.responder.Send(t.status, t.content_type.empty() ? "application/octet-stream"
                                                          : std::string_view(t.content_type),
                         t.body);
    } else {
      if (!t.started) t.p.responder.Start(t.status, t.content_type);
      t.p.responder.End();
    }
  } else if (answered != 0) {
    if (t.started) {
      t.p.responder.End();
    } else {
      Answer(t.p, answered, error);
    }
  }
  transfers_.erase(t.self);
}

void Router::Impl::EmitSpans(const Transfer& t, CURLcode code, int answered, bool retry) {
  const RouterBackend& backend = opt_.backends[static_cast<size_t>(t.replica)];
  const net::HttpHead& head = t.p.request.head;
  const uint64_t now = UnixNanos();
  Span client;
  client.trace_id = t.p.trace.trace_id;
  client.span_id = t.span;
  client.parent_span_id = t.p.trace.span_id;
  client.name = head.method;  // OpenTelemetry's HTTP client span name: the method
  client.kind = SpanKind::kClient;
  client.start_unix_ns = t.start_ns;
  client.end_unix_ns = now;
  client.attributes = {{"http.request.method", head.method},
                       {"url.full", backend.url + head.path},
                       {"ray.serve.replica", backend.name},
                       {"ray.serve.deployment", opt_.deployment}};
  if (t.status != 0) client.attributes.emplace_back("http.response.status_code", int64_t{t.status});
  if (code != CURLE_OK || t.status >= 500) {
    client.error = true;
    client.status_message = code != CURLE_OK ? curl_easy_strerror(code)
                                             : fmt::format("HTTP {}", t.status);
  }
  opt_.on_span(std::move(client));
  if (retry) return;
  Span server;
  server.trace_id = t.p.trace.trace_id;
  server.span_id = t.p.trace.span_id;
  server.parent_span_id = t.p.parent;
  server.name = fmt::format("{} {}", head.method, head.path);
  server.kind = SpanKind::kServer;
  server.start_unix_ns = t.p.start_ns;
  server.end_unix_ns = now;
  server.attributes = {{"http.request.method", head.method},
                       {"url.path", head.path},
                       {"http.response.status_code", int64_t{answered != 0 ? answered : 499}},
                       {"ray.serve.request_id", t.p.id},
                       {"ray.serve.application", opt_.application},
                       {"ray.serve.attempts", int64_t{t.p.attempts}}};
  if (answered >= 500) {
    server.error = true;
    server.status_message = fmt::format("HTTP {}", answered);
  }
  opt_.on_span(std::move(server));
}

std::string Router::Impl::NewRequestId() {
  const uint64_t a = id_rng_(), b = id_rng_();
  // A version-4 UUID: 4 in the version nibble, 10 in the variant bits.
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                     a & 0xfff, 0x8000 | ((b >> 48) & 0x3fff), b & 0xffffffffffffULL);
}

void Router::Impl::Log(std::string_view level, std::string_view where,
                       std::string_view request_id, std::string_view replica,
                       std::string_view message) const {
  if (!opt_.log) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  const std::string asctime = fmt::format("{},{:03d}", stamp, ms);
  if (opt_.log_json) {
    nlohmann::json j;
    j["levelname"] = level;
    j["asctime"] = asctime;
    j["deployment"] = opt_.deployment;
    j["replica"] = replica;
    j["request_id"] = request_id;
    j["route"] = opt_.route_prefix;
    j["application"] = opt_.application;
    j["message"] = message;
    opt_.log(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    opt_.log(fmt::format("{} {} proxy {} {} {} {} {} - {}", level, asctime, opt_.host,
                         request_id.empty() ? "-" : request_id, opt_.route_prefix,
                         opt_.application, where, message));
  }
}

std::string Router::Impl::MetricsText() const {
  std::lock_guard<std::mutex> lock(mu_);
  ExpositionWriter w;
  const std::string& app = opt_.application;
  const std::string& route = opt_.route_prefix;
  const std::string& dep = opt_.deployment;
  const std::string handle = "proxy";
  const std::string actor = opt_.name;
  w.Family("ray_serve_num_http_requests_total", "counter",
           "The number of HTTP requests processed.");
  for (const auto& [key, n] : http_requests_) {
    w.Sample("ray_serve_num_http_requests_total",
             {{"route", route}, {"method", key.first}, {"application", app},
              {"status_code", std::to_string(key.second)}},
             static_cast<double>(n));
  }
  w.Family("ray_serve_num_http_error_requests_total", "counter",
           "The number of non-200 HTTP responses.");
  for (const auto& [key, n] : http_errors_) {
    w.Sample("ray_serve_num_http_error_requests_total",
             {{"route", route}, {"error_code", std::to_string(key.second)},
              {"method", key.first}, {"application", app}},
             static_cast<double>(n));
  }
  w.Family("ray_serve_num_ongoing_http_requests", "gauge",
           "The number of ongoing requests in this HTTP proxy.");
  w.Sample("ray_serve_num_ongoing_http_requests",
           {{"node_id", opt_.name}, {"node_ip_address", opt_.host}}, ongoing_http_);
  w.Family("ray_serve_http_request_latency_ms", "histogram",
           "The end-to-end latency of HTTP requests (measured from the Serve HTTP proxy).");
  for (const auto& [key, h] : http_latency_) {
    w.HistogramSamples("ray_serve_http_request_latency_ms",
                       {{"method", key.first}, {"route", route}, {"application", app},
                        {"status_code", key.second}},
                       *h);
  }
  w.Family("ray_serve_num_router_requests_total", "counter",
           "The number of requests processed by the router.");
  w.Sample("ray_serve_num_router_requests_total",
           {{"deployment", dep}, {"route", route}, {"application", app}, {"handle", handle},
            {"actor_id", actor}},
           static_cast<double>(router_requests_));
  w.Family("ray_serve_handle_request_counter_total", "counter",
           "The number of handle.remote() calls that have been made on this handle.");
  w.Sample("ray_serve_handle_request_counter_total",
           {{"handle", handle}, {"deployment", dep}, {"route", route}, {"application", app}},
           static_cast<double>(router_requests_));
  w.Family("ray_serve_deployment_queued_queries", "gauge",
           "The current number of queries to this deployment waiting to be assigned to a "
           "replica.");
  w.Sample("ray_serve_deployment_queued_queries",
           {{"deployment", dep}, {"application", app}, {"handle", handle}, {"actor_id", actor}},
           queued_);
  w.Family("ray_serve_replica_processing_queries", "gauge",
           "The current number of queries being processed.");
  for (const Replica& r : replicas_) {
    w.Sample("ray_serve_replica_processing_queries",
             {{"deployment", dep}, {"replica", r.stats.name}, {"application", app}},
             r.stats.ongoing);
  }
  w.Family("ray_serve_deployment_request_counter_total", "counter",
           "The number of queries that have been processed in this replica.");
  for (const Replica& r : replicas_) {
    w.Sample("ray_serve_deployment_request_counter_total",
             {{"deployment", dep}, {"replica", r.stats.name}, {"route", route},
              {"application", app}},
             static_cast<double>(r.stats.requests));
  }
  w.Family("ray_serve_deployment_error_counter_total", "counter",
           "The number of exceptions that have occurred in this replica.");
  for (const Replica& r : replicas_) {
    w.Sample("ray_serve_deployment_error_counter_total",
             {{"deployment", dep}, {"replica", r.stats.name}, {"route", route},
              {"application", app}},
             static_cast<double>(r.stats.errors));
  }
  w.Family("ray_serve_deployment_processing_latency_ms", "histogram",
           "The latency for queries to be processed.");
  for (const Replica& r : replicas_) {
    w.HistogramSamples("ray_serve_deployment_processing_latency_ms",
                       {{"deployment", dep}, {"replica", r.stats.name}, {"route", route},
                        {"application", app}},
                       *r.latency_ms);
  }
  return w.text();
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::Start(RouterOptions options) {
  if (options.backends.empty()) return Status::InvalidArgument("the router needs backends");
  if (options.max_ongoing_requests < 1) {
    return Status::InvalidArgument("max_ongoing_requests must be at least 1");
  }
  if (options.retries < 0) return Status::InvalidArgument("retries must be >= 0");
  static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (global != CURLE_OK) return Status::Internal("curl_global_init failed");
  auto impl = std::make_unique<Impl>(std::move(options));
  LLMRCA_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

int Router::port() const { return impl_->port(); }
std::string Router::MetricsText() const { return impl_->MetricsText(); }
std::vector<RouterReplicaStats> Router::Replicas() const { return impl_->Replicas(); }
int Router::queued() const { return impl_->queued(); }

}  // namespace llmrca::sim
