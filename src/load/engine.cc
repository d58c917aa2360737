#include "load/engine.h"

#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <fmt/format.h>

#include "load/http_client.h"

namespace llmrca::load {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

Status InitCurlOnce() {
  static std::once_flag once;  // curl_global_init must run once per process, before any thread
  static CURLcode code = CURLE_OK;
  std::call_once(once, [] { code = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (code != CURLE_OK) {
    return Status::Unavailable(
        fmt::format("load: libcurl: initialisation failed: {}", curl_easy_strerror(code)));
  }
  return Status::Ok();
}

// What the workers share. Members under a mutex say so.
struct Shared {
  Shared(const EngineOptions& o, ArrivalSchedule* s, const PromptSource& p, RecordSink& k,
         EngineProgress& g, const std::atomic<bool>& st, RequestBuilder b)
      : options(o), schedule(s), prompts(p), sink(k), progress(g), stop(st),
        builder(std::move(b)) {}

  const EngineOptions& options;
  ArrivalSchedule* schedule;
  const PromptSource& prompts;
  RecordSink& sink;
  EngineProgress& progress;
  const std::atomic<bool>& stop;
  RequestBuilder builder;
  std::string url;          // the base URL (no trailing '/') and the provider's path
  std::string auth_header;  // "Authorization: Bearer ..." or empty
  bool native = false;       // the native HTTP/1.1 client, not libcurl
  HttpTarget target;        // native: where requests go
  Clock::time_point start;
  std::optional<Clock::time_point> send_until;  // closed loop: no sends after it

  std::mutex schedule_mu;
  bool schedule_done = false;  // under schedule_mu

  std::atomic<int64_t> next_closed_index{0};

  std::mutex sink_mu;
  int64_t delivered = 0;  // under sink_mu

  std::mutex error_mu;
  Status first_error;  // under error_mu: a schedule or prompt error that ended the run

  std::atomic<bool> interrupted{false};

  void SetError(Status s) {
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.ok()) first_error = std::move(s);
  }
  bool HasError() {
    std::lock_guard<std::mutex> lock(error_mu);
    return !first_error.ok();
  }
};

class Worker;

// One request in flight.
struct Transfer {
  Worker* worker = nullptr;
  CURL* easy = nullptr;  // the worker's; back to its pool when the transfer ends
  Http1Client::Conn* conn = nullptr;  // native: the connection carrying it
  std::list<std::unique_ptr<Transfer>>::iterator self;  // where it sits in Worker::transfers_
  std::string body;
  std::string prompt;
  RequestRecord record;
  std::optional<ResponseParser> parser;
  Clock::time_point send_time;
  int user = -1;  // closed loop: the user that sent it
  bool all_chunks_counted = true;
  int64_t chunk_tokens_total = 0;
  std::optional<int64_t> usage_prompt;
  std::optional<int64_t> usage_completion;
  std::optional<int64_t> client_prompt_tokens;
  char error_buffer[CURL_ERROR_SIZE] = {};
};

// The epoll data of the worker's timerfd (libcurl's sockets carry their descriptor, the native
// client's never this value).
constexpr uint64_t kTimerTag = ~uint64_t{0};

class Worker : public Http1Client::Handler {
 public:
  Worker(Shared& shared, int users) : shared_(shared), idle_users_(users) {}
  ~Worker() {
    http_.reset();
    for (const auto& t : transfers_) {
      if (t->easy == nullptr) continue;
      curl_multi_remove_handle(multi_, t->easy);
      curl_easy_cleanup(t->easy);
    }
    transfers_.clear();
    for (CURL* e : idle_easy_) curl_easy_cleanup(e);
    if (headers_ != nullptr) curl_slist_free_all(headers_);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    if (timer_fd_ >= 0) close(timer_fd_);
    if (epoll_fd_ >= 0) close(epoll_fd_);
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  Status Init();
  void Run();

 private:
  static int OnSocket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int OnTimer(CURLM* multi, long timeout_ms, void* userp);
  static size_t OnWrite(char* data, size_t size, size_t n, void* userp);
  static size_t OnHeader(char* data, size_t size, size_t n, void* userp);
  // Http1Client::Handler, for the native client.
  void OnHead(void* tag, const net::HttpResponseHead& head, Clock::time_point now) override;
  void OnBody(void* tag, std::string_view bytes, Clock::time_point now) override;
  void OnEnd(void* tag, ErrorClass error, std::string_view message,
             Clock::time_point now) override;

  bool OpenLoop() const { return shared_.options.users == 0; }
  void ClaimArrival();
  void StartDue(Clock::time_point now);
  bool StartRequest(int64_t index, int step, Clock::time_point scheduled,
                    const std::optional<ReplayRequest>& replay, int user);
  bool MaySendClosed(Clock::time_point now) const;
  void ApplyEvents(Transfer& t, const std::vector<ResponseEvent>& events, Clock::time_point now);
  void EnsureParser(Transfer& t);
  void ReadDone();
  void StartParser(Transfer& t, long status, std::string_view content_type);
  void FinishCurl(Transfer& t, CURLcode code);
  // `transport` kNone: the whole response arrived; else why the transport failed.
  void Finish(Transfer& t, Clock::time_point end, ErrorClass transport, std::string text);
  void Deliver(Transfer& t, Clock::time_point end);
  void AbortAll();
  void ArmTimer(Clock::time_point when);
  CURL* TakeEasy();
  void Release(Transfer& t);

  Shared& shared_;
  CURLM* multi_ = nullptr;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  std::optional<Clock::time_point> curl_deadline_;
  std::optional<Arrival> pending_;  // open loop: the next arrival this worker will send
  bool claimed_all_ = false;        // open loop: the schedule gave nothing more
  int idle_users_ = 0;              // closed loop: users waiting to send
  bool closed_exhausted_ = false;   // closed loop: the request budget is spent
  std::list<std::unique_ptr<Transfer>> transfers_;
  // Easy handles of ended transfers, ready for the next request: their options for the whole run
  // are set once, so a request sets only its own (curl_easy_init and its allocations are a large
  // part of a small request's cost).
  std::vector<CURL*> idle_easy_;
  curl_slist* headers_ = nullptr;  // the same for every request of the run
  std::unique_ptr<Http1Client> http_;  // native: the client, in place of multi_
};

Status Worker::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (epoll_fd_ < 0 || timer_fd_ < 0) {
    return Status::Unavailable(fmt::format("load: epoll/timerfd: {}", std::strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTimerTag;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, timer_fd_, &ev) != 0) {
    return Status::Unavailable(fmt::format("load: epoll_ctl: {}", std::strerror(errno)));
  }
  if (shared_.native) {
    Http1Client::Options o;
    o.connect_timeout = shared_.options.connect_timeout;
    o.request_timeout = shared_.options.request_timeout;
    for (const auto& [name, value] : shared_.builder.headers()) {
      o.headers.push_back(fmt::format("{}: {}", name, value));
    }
    if (!shared_.auth_header.empty()) o.headers.push_back(shared_.auth_header);
    http_ = std::make_unique<Http1Client>(epoll_fd_, shared_.target, std::move(o), *this);
    return Status::Ok();
  }
  for (const auto& [name, value] : shared_.builder.headers()) {
    headers_ = curl_slist_append(headers_, fmt::format("{}: {}", name, value).c_str());
  }
  if (!shared_.auth_header.empty()) headers_ = curl_slist_append(headers_, shared_.auth_header.c_str());
  headers_ = curl_slist_append(headers_, "Expect:");  // no 100-continue round trip
  if (headers_ == nullptr) return Status::Unavailable("load: libcurl: cannot build the headers");
  multi_ = curl_multi_init();
  if (multi_ == nullptr) return Status::Unavailable("load: libcurl: curl_multi_init failed");
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &Worker::OnSocket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &Worker::OnTimer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
  // Keep every idle connection for reuse: a run at N concurrent streams needs N of them.
  curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 100000L);
  curl_multi_setopt(multi_, CURLMOPT_MAX_CONCURRENT_STREAMS, 1000L);
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  return Status::Ok();
}

int Worker::OnSocket(CURL*, curl_socket_t s, int what, void* userp, void*) {
  auto* w = static_cast<Worker*>(userp);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(w->epoll_fd_, EPOLL_CTL_DEL, s, nullptr);  // may already be gone with the socket
    return 0;
  }
  epoll_event ev{};
  ev.events = ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) |
              ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
  ev.data.fd = s;
  if (epoll_ctl(w->epoll_fd_, EPOLL_CTL_MOD, s, &ev) != 0 && errno == ENOENT) {
    epoll_ctl(w->epoll_fd_, EPOLL_CTL_ADD, s, &ev);
  }
  return 0;
}

int Worker::OnTimer(CURLM*, long timeout_ms, void* userp) {
  auto* w = static_cast<Worker*>(userp);
  if (timeout_ms < 0) {
    w->curl_deadline_.reset();
  } else {
    w->curl_deadline_ = Clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  return 0;
}

void Worker::StartParser(Transfer& t, long status, std::string_view content_type) {
  t.record.http_status = static_cast<int>(status);
  t.parser.emplace(shared_.options.request, status, content_type, t.prompt);
}

void Worker::EnsureParser(Transfer& t) {
  if (t.parser) return;
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  char* content_type = nullptr;
  curl_easy_getinfo(t.easy, CURLINFO_CONTENT_TYPE, &content_type);
  StartParser(t, status,
              content_type != nullptr ? std::string_view(content_type) : std::string_view());
}

void Worker::OnHead(void* tag, const net::HttpResponseHead& head, Clock::time_point now) {
  auto* t = static_cast<Transfer*>(tag);
  t->record.headers_s = SecondsBetween(shared_.start, now);
  StartParser(*t, head.status, head.content_type);
}

void Worker::OnBody(void* tag, std::string_view bytes, Clock::time_point now) {
  auto* t = static_cast<Transfer*>(tag);
  ApplyEvents(*t, t->parser->Feed(bytes), now);
}

void Worker::OnEnd(void* tag, ErrorClass error, std::string_view message,
                   Clock::time_point now) {
  Finish(*static_cast<Transfer*>(tag), now, error, std::string(message));
}

size_t Worker::OnHeader(char*, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  if (!t->record.headers_s) t->record.headers_s = SecondsBetween(t->worker->shared_.start, Clock::now());
  return size * n;
}

size_t Worker::OnWrite(char* data, size_t size, size_t n, void* userp) {
  const Clock::time_point now = Clock::now();
  auto* t = static_cast<Transfer*>(userp);
  Worker* w = t->worker;
  w->EnsureParser(*t);
  const std::vector<ResponseEvent> events = t->parser->Feed(std::string_view(data, size * n));
  w->ApplyEvents(*t, events, now);
  return size * n;
}

void Worker::ApplyEvents(Transfer& t, const std::vector<ResponseEvent>& events,
                         Clock::time_point now) {
  for (const ResponseEvent& e : events) {
    switch (e.kind) {
      case EventKind::kContent:
        t.record.chunk_times_s.push_back(SecondsBetween(t.send_time, now));
        if (e.tokens) {
          t.chunk_tokens_total += *e.tokens;
          t.record.chunk_tokens.push_back(static_cast<int32_t>(*e.tokens));
        } else {
          t.all_chunks_counted = false;
        }
        if (e.first_content && !t.record.first_content_s) {
          t.record.first_content_s = SecondsBetween(shared_.start, now);
        }
        break;
      case EventKind::kUsage:
        if (e.prompt_tokens) t.usage_prompt = e.prompt_tokens;
        if (e.completion_tokens) t.usage_completion = e.completion_tokens;
        break;
      case EventKind::kFinish:
        t.record.finish_reason = e.text;
        break;
      case EventKind::kDone:
      case EventKind::kError:
        break;  // the parser keeps the outcome; read in Finish()
    }
  }
}

void Worker::ArmTimer(Clock::time_point when) {
  // steady_clock is CLOCK_MONOTONIC on Linux, so its time points arm the timerfd directly.
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch());
  itimerspec spec{};
  int64_t count = std::max<int64_t>(ns.count(), 1);
  spec.it_value.tv_sec = static_cast<time_t>(count / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(count % 1'000'000'000);
  timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr);
}

void Worker::ClaimArrival() {
  if (claimed_all_ || pending_) return;
  std::lock_guard<std::mutex> lock(shared_.schedule_mu);
  if (shared_.schedule_done) {
    claimed_all_ = true;
    return;
  }
  Result<std::optional<Arrival>> next = shared_.schedule->Next();
  if (!next.ok()) {
    shared_.SetError(next.status());
    shared_.schedule_done = true;
    claimed_all_ = true;
    return;
  }
  if (!next->has_value()) {
    shared_.schedule_done = true;
    claimed_all_ = true;
    return;
  }
  pending_ = std::move(**next);
}

bool Worker::MaySendClosed(Clock::time_point now) const {
  return !closed_exhausted_ && (!shared_.send_until || now < *shared_.send_until);
}

void Worker::StartDue(Clock::time_point now) {
  if (OpenLoop()) {
    ClaimArrival();
    while (pending_ && shared_.start + pending_->offset <= now) {
      const Arrival a = std::move(*pending_);
      pending_.reset();
      if (!StartRequest(a.index, a.step, shared_.start + a.offset, a.replay, -1)) return;
      ClaimArrival();
    }
    return;
  }
  while (idle_users_ > 0 && MaySendClosed(now)) {
    const int64_t index = shared_.next_closed_index.fetch_add(1);
    if (shared_.options.max_requests && index >= *shared_.options.max_requests) {
      closed_exhausted_ = true;
      break;
    }
    --idle_users_;
    if (!StartRequest(index, 0, now, std::nullopt, 0)) return;
  }
}

bool Worker::StartRequest(int64_t index, int step, Clock::time_point scheduled,
                          const std::optional<ReplayRequest>& replay, int user) {
  auto t = std::make_unique<Transfer>();
  t->worker = this;
  t->user = user;
  t->record.id = index;
  t->record.step = step;
  t->record.scheduled_s = SecondsBetween(shared_.start, scheduled);
  int64_t max_tokens = 0;
  if (replay && replay->prompt) {
    t->prompt = *replay->prompt;
    const Result<Prompt> drawn = shared_.prompts.Get(static_cast<uint64_t>(index));
    max_tokens = replay->max_tokens ? *replay->max_tokens
                                    : (drawn.ok() ? drawn->max_tokens : int64_t{64});
    t->client_prompt_tokens =
        replay->prompt_tokens ? *replay->prompt_tokens : EstimateTokens(t->prompt);
  } else {
    Result<Prompt> p = shared_.prompts.Get(static_cast<uint64_t>(index));
    if (!p.ok()) {
      shared_.SetError(p.status());
      return false;
    }
    t->prompt = std::move(p->text);
    max_tokens = replay && replay->max_tokens ? *replay->max_tokens : p->max_tokens;
    t->client_prompt_tokens = p->prompt_tokens;
  }
  t->record.max_tokens = max_tokens;
  t->body = shared_.builder.Body(t->prompt, max_tokens);
  if (http_) {
    t->send_time = Clock::now();
    t->record.send_s = SecondsBetween(shared_.start, t->send_time);
    if (!OpenLoop()) t->record.scheduled_s = t->record.send_s;
    shared_.progress.started.fetch_add(1, std::memory_order_relaxed);
    shared_.progress.in_flight.fetch_add(1, std::memory_order_relaxed);
    Transfer* raw = t.get();
    transfers_.push_back(std::move(t));
    raw->self = std::prev(transfers_.end());
    raw->conn = http_->Start(raw->body, raw);  // reports through OnHead/OnBody/OnEnd later
    return true;
  }
  t->easy = TakeEasy();
  if (t->easy == nullptr) {
    shared_.SetError(Status::Unavailable("load: libcurl: cannot create a request handle"));
    return false;
  }
  CURL* e = t->easy;
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->body.size()));
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error_buffer);
  t->send_time = Clock::now();
  t->record.send_s = SecondsBetween(shared_.start, t->send_time);
  if (!OpenLoop()) t->record.scheduled_s = t->record.send_s;
  const CURLMcode added = curl_multi_add_handle(multi_, e);
  if (added != CURLM_OK) {
    idle_easy_.push_back(e);
    shared_.SetError(Status::Unavailable(
        fmt::format("load: libcurl: cannot start a request: {}", curl_multi_strerror(added))));
    return false;
  }
  shared_.progress.started.fetch_add(1, std::memory_order_relaxed);
  shared_.progress.in_flight.fetch_add(1, std::memory_order_relaxed);
  Transfer* raw = t.get();
  transfers_.push_back(std::move(t));
  raw->self = std::prev(transfers_.end());
  return true;
}

CURL* Worker::TakeEasy() {
  if (!idle_easy_.empty()) {
    CURL* e = idle_easy_.back();
    idle_easy_.pop_back();
    return e;
  }
  CURL* e = curl_easy_init();
  if (e == nullptr) return nullptr;
  const EngineOptions& o = shared_.options;
  curl_easy_setopt(e, CURLOPT_URL, shared_.url.c_str());
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Worker::OnWrite);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Worker::OnHeader);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.request_timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   o.http_version == HttpVersion::kHttp2
                       ? (o.url.rfind("https://", 0) == 0 ? CURL_HTTP_VERSION_2TLS
                                                           : CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE)
                       : CURL_HTTP_VERSION_1_1);
  if (o.insecure_tls) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  // Wait for a connection to free up rather than open a new one only under HTTP/2 (multiplexing).
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, o.http_version == HttpVersion::kHttp2 ? 1L : 0L);
  return e;
}

// Ends the life of a transfer that is out of the multi handle: its easy handle goes back to the
// pool and the transfer is freed.
void Worker::Release(Transfer& t) {
  if (t.easy != nullptr) idle_easy_.push_back(t.easy);
  transfers_.erase(t.self);
}

void Worker::ReadDone() {
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
    const CURLcode code = msg->data.result;
    curl_multi_remove_handle(multi_, msg->easy_handle);
    FinishCurl(*t, code);
  }
}

// The class of a transfer that libcurl ended with an error before the body was complete.
ErrorClass ClassOfCurlError(CURLcode code, bool got_response) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return ErrorClass::kRefused;
    case CURLE_OPERATION_TIMEDOUT:
      return ErrorClass::kTimeout;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return ErrorClass::kClosedMidStream;
    default:
      return got_response ? ErrorClass::kClosedMidStream : ErrorClass::kOther;
  }
}

void Worker::FinishCurl(Transfer& t, CURLcode code) {
  const Clock::time_point end = Clock::now();
  if (code == CURLE_OK) {
    EnsureParser(t);
    Finish(t, end, ErrorClass::kNone, {});
    return;
  }
  const bool got_response = t.parser.has_value() || t.record.headers_s.has_value();
  Finish(t, end, ClassOfCurlError(code, got_response),
         t.error_buffer[0] != '\0' ? std::string(t.error_buffer)
                                   : std::string(curl_easy_strerror(code)));
}

void Worker::Finish(Transfer& t, Clock::time_point end, ErrorClass transport, std::string text) {
  if (transport == ErrorClass::kNone && t.parser) {
    ApplyEvents(t, t.parser->Finish(true), end);
    if (!t.parser->succeeded()) {
      t.record.error_class = t.parser->error_class();
      t.record.error = t.parser->error_text();
    }
  } else {
    if (transport == ErrorClass::kNone) {  // cannot happen: a complete response has a head
      transport = ErrorClass::kOther;
      text = "no response";
    }
    if (t.parser) {
      ApplyEvents(t, t.parser->Finish(false), end);
      if (t.parser->succeeded()) {
        // The stream had ended properly before the transport failed (e.g. reset after [DONE]).
      } else if (t.parser->error_class() != ErrorClass::kClosedMidStream &&
                 t.parser->error_class() != ErrorClass::kNone) {
        t.record.error_class = t.parser->error_class();  // the server's error came first
        t.record.error = t.parser->error_text();
      } else {
        t.record.error_class = transport;
        t.record.error = std::move(text);
      }
    } else {
      t.record.error_class = transport;
      t.record.error = std::move(text);
    }
  }
  Deliver(t, end);
  const int user = t.user;
  Release(t);
  if (user >= 0) ++idle_users_;
}

void Worker::Deliver(Transfer& t, Clock::time_point end) {
  RequestRecord& r = t.record;
  r.end_s = SecondsBetween(shared_.start, end);
  if (t.usage_completion) {
    r.output_tokens = *t.usage_completion;
    r.output_tokens_source = TokenSource::kUsage;
  } else if (!r.chunk_times_s.empty()) {
    r.output_tokens = t.all_chunks_counted ? t.chunk_tokens_total
                                           : static_cast<int64_t>(r.chunk_times_s.size());
    r.output_tokens_source = TokenSource::kChunks;
  }
  if (!t.all_chunks_counted) r.chunk_tokens.clear();
  if (t.usage_prompt) {
    r.prompt_tokens = t.usage_prompt;
    r.prompt_tokens_source = TokenSource::kUsage;
  } else if (t.client_prompt_tokens) {
    r.prompt_tokens = t.client_prompt_tokens;
    r.prompt_tokens_source = TokenSource::kClient;
  }
  shared_.progress.in_flight.fetch_sub(1, std::memory_order_relaxed);
  (r.ok() ? shared_.progress.completed : shared_.progress.failed)
      .fetch_add(1, std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(shared_.sink_mu);
  shared_.sink.Add(r);
  ++shared_.delivered;
}

void Worker::AbortAll() {
  const Clock::time_point now = Clock::now();
  while (!transfers_.empty()) {
    Transfer& t = *transfers_.front();
    if (http_) {
      http_->Cancel(t.conn);
    } else {
      curl_multi_remove_handle(multi_, t.easy);
    }
    if (t.parser) ApplyEvents(t, t.parser->Finish(false), now);
    t.record.error_class = ErrorClass::kOther;
    t.record.error = "interrupted: still in flight when the run was stopped";
    Deliver(t, now);
    Release(t);
  }
}

void Worker::Run() {
  constexpr auto kMaxSleep = std::chrono::milliseconds(50);
  std::optional<Clock::time_point> drain_deadline;
  epoll_event events[256];
  int running = 0;
  for (;;) {
    Clock::time_point now = Clock::now();
    const bool stopping = shared_.stop.load(std::memory_order_relaxed) || shared_.HasError();
    if (stopping && !drain_deadline) {
      drain_deadline = now + shared_.options.drain_timeout;
      if (shared_.stop.load()) shared_.interrupted = true;
      pending_.reset();
    }
    if (!stopping) StartDue(now);
    const bool more_to_send =
        !stopping && (OpenLoop() ? pending_.has_value()
                                 : (MaySendClosed(now) && (idle_users_ > 0 || !transfers_.empty())));
    if (transfers_.empty() && !more_to_send) break;
    if (drain_deadline && now >= *drain_deadline) {
      AbortAll();
      break;
    }
    Clock::time_point wake = now + kMaxSleep;
    if (OpenLoop() && pending_ && !stopping) wake = std::min(wake, shared_.start + pending_->offset);
    if (!OpenLoop() && shared_.send_until && !stopping) wake = std::min(wake, *shared_.send_until);
    if (curl_deadline_) wake = std::min(wake, *curl_deadline_);
    if (http_) {
      if (const std::optional<Clock::time_point> d = http_->NextDeadline()) wake = std::min(wake, *d);
    }
    if (drain_deadline) wake = std::min(wake, *drain_deadline);
    ArmTimer(wake);
    const int n = epoll_wait(epoll_fd_, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == kTimerTag) {
        uint64_t expirations = 0;
        [[maybe_unused]] const ssize_t got = read(timer_fd_, &expirations, sizeof expirations);
        continue;
      }
      // Within a busy batch, end finished transfers now (their end time is taken there) and
      // send arrivals that fell due, rather than after the whole batch.
      if (http_) {
        http_->HandleEvent(events[i]);
      } else {
        int flags = 0;
        if ((events[i].events & EPOLLIN) != 0) flags |= CURL_CSELECT_IN;
        if ((events[i].events & EPOLLOUT) != 0) flags |= CURL_CSELECT_OUT;
        if ((events[i].events & (EPOLLERR | EPOLLHUP)) != 0) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi_, events[i].data.fd, flags, &running);
        ReadDone();
      }
      if (OpenLoop() && pending_ && !drain_deadline) {
        const Clock::time_point t = Clock::now();
        if (shared_.start + pending_->offset <= t) StartDue(t);
      }
    }
    if (http_) {
      http_->OnTimer(Clock::now());
      continue;
    }
    if (curl_deadline_ && Clock::now() >= *curl_deadline_) {
      curl_deadline_.reset();
      curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    ReadDone();
  }
}

// The base URL without a trailing '/', checked for a scheme libcurl will speak.
Result<std::string> NormaliseUrl(const std::string& url) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::InvalidArgument(
        fmt::format("load: --url '{}': need an http:// or https:// URL", url));
  }
  std::string out = url;
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

bool UsesNativeHttp(const EngineOptions& options) {
  return options.http_client == HttpClient::kNative && options.http_version == HttpVersion::kHttp11 &&
         options.url.rfind("http://", 0) == 0;
}

std::string CurlVersionString() {
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  std::string out = fmt::format("libcurl {}", v->version);
  std::vector<std::string> parts;
  if (v->ssl_version != nullptr) parts.emplace_back(v->ssl_version);
  if ((v->features & CURL_VERSION_HTTP2) != 0) parts.emplace_back("HTTP2");
  if (v->nghttp2_version != nullptr) parts.push_back(fmt::format("nghttp2/{}", v->nghttp2_version));
  if (!parts.empty()) out += fmt::format(" ({})", fmt::join(parts, ", "));
  return out;
}

Result<EngineResult> RunEngine(const EngineOptions& options, ArrivalSchedule* schedule,
                               const PromptSource& prompts, RecordSink& sink,
                               EngineProgress& progress, const std::atomic<bool>& stop,
                               const std::function<void(const EngineResult&)>& on_start,
                               const std::function<void()>& on_tick,
                               std::chrono::milliseconds tick) {
  LLMRCA_ASSIGN_OR_RETURN(std::string base_url, NormaliseUrl(options.url));
  if (options.threads < 1 || options.threads > 256) {
    return Status::InvalidArgument(
        fmt::format("load: --threads {}: need 1 to 256", options.threads));
  }
  if (options.users < 0) {
    return Status::InvalidArgument(fmt::format("load: --users {}: need >= 0", options.users));
  }
  if (options.users == 0 && schedule == nullptr) {
    return Status::InvalidArgument("load: an open-loop run needs an arrival schedule");
  }
  if (options.users > 0 && !options.duration && !options.max_requests) {
    return Status::InvalidArgument(
        "load: a closed-loop run needs a bound: --duration and/or --requests");
  }
  if (options.request_timeout.count() <= 0 || options.connect_timeout.count() <= 0 ||
      options.drain_timeout.count() < 0) {
    return Status::InvalidArgument("load: timeouts must be positive");
  }
  LLMRCA_RETURN_IF_ERROR(InitCurlOnce());
  LLMRCA_ASSIGN_OR_RETURN(RequestBuilder builder, RequestBuilder::Create(options.request));

  Shared shared(options, schedule, prompts, sink, progress, stop, std::move(builder));
  shared.url = base_url + shared.builder.path();
  if (!options.api_key.empty()) shared.auth_header = "Authorization: Bearer " + options.api_key;
  shared.native = UsesNativeHttp(options);
  if (shared.native) {
    LLMRCA_ASSIGN_OR_RETURN(shared.target, ParseHttpUrl(shared.url));
  }

  // Closed-loop users are dealt to the event loops round-robin.
  const int threads = options.users > 0 ? std::min(options.threads, options.users) : options.threads;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < threads; ++i) {
    const int users = options.users > 0 ? options.users / threads + (i < options.users % threads)
                                        : 0;
    workers.push_back(std::make_unique<Worker>(shared, users));
    LLMRCA_RETURN_IF_ERROR(workers.back()->Init());
  }

  EngineResult result;
  result.start = Clock::now();
  result.start_unix_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  shared.start = result.start;
  if (options.users > 0 && options.duration) shared.send_until = shared.start + *options.duration;
  if (on_start) on_start(result);

  std::atomic<int> running{threads};
  std::vector<std::thread> pool;
  for (auto& w : workers) {
    pool.emplace_back([&running, worker = w.get()] {
      worker->Run();
      running.fetch_sub(1);
    });
  }
  Clock::time_point last_tick = result.start;
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::min(tick, std::chrono::milliseconds(20)));
    const Clock::time_point now = Clock::now();
    if (on_tick && now - last_tick >= tick) {
      last_tick = now;
      on_tick();
    }
  }
  for (std::thread& t : pool) t.join();
  workers.clear();

  result.elapsed_s = SecondsBetween(result.start, Clock::now());
  result.interrupted = shared.interrupted.load();
  {
    std::lock_guard<std::mutex> lock(shared.sink_mu);
    result.requests = shared.delivered;
  }
  {
    std::lock_guard<std::mutex> lock(shared.error_mu);
    result.error = shared.first_error;
  }
  return result;
}

}  // namespace llmrca::load
