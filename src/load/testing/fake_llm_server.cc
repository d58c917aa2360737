#include "load/testing/fake_llm_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <functional>
#include <iterator>
#include <mutex>
#include <queue>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "net/http.h"

namespace llmrca::load::testing {
namespace {

using net::HttpHead;
using net::ReasonPhrase;

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Json = nlohmann::json;

constexpr std::string_view kArea = "fake_llm_server";
// Request heads beyond this are answered 431; nginx's default large_client_header_buffers is
// 4 x 8 KiB, so 64 KiB leaves room for any real client.
constexpr size_t kMaxHeadBytes = 64 * 1024;
// Bodies beyond this are answered 413: 16 MiB holds a 1M-token prompt of short words.
constexpr size_t kMaxBodyBytes = 16 * 1024 * 1024;
// Unanswered input a client may pile up while its response streams (then it is disconnected).
constexpr size_t kMaxPendingInput = kMaxHeadBytes + kMaxBodyBytes;
// Output queued but not yet accepted by the kernel before the server stops producing tokens
// for that connection until it drains; bounds memory when itl_ms = 0 and tokens is large.
constexpr size_t kMaxPendingOutput = 256 * 1024;
constexpr int kMaxTokens = 1'000'000;
constexpr double kMaxDelayMs = 3'600'000;  // one hour: longer is a mistake, not a test
constexpr int kMaxEvents = 512;
constexpr int kMaxAcceptsPerWake = 512;  // keep the loop fair to open streams under a flood
constexpr int kMaxReadsPerWake = 16;     // likewise for one chatty client
constexpr size_t kReadBytes = 16 * 1024;

// epoll user data: fixed ids for the server's own descriptors, connections from kFirstConnId.
constexpr uint64_t kListenId = 1;
constexpr uint64_t kTimerId = 2;
constexpr uint64_t kWakeId = 3;
constexpr uint64_t kFirstConnId = 16;

// The text of token i is kWords[i % 10] (documented in the header).
constexpr std::array<std::string_view, 10> kWords = {"The",   " quick", " brown", " fox", " jumps",
                                                     " over", " the",   " lazy",  " dog", "."};
constexpr int kFirstTokenId = 1000;  // TGI token ids: kFirstTokenId + i % 10

constexpr std::array<std::string_view, 8> kModeNames = {
    "stream",    "status",           "html_error", "in_stream_error",
    "malformed", "close_mid_stream", "hang",       "slow_headers"};

constexpr std::array<std::string_view, 7> kDirectiveKeys = {
    "ttft_ms", "itl_ms", "headers_ms", "tokens", "error_after", "mode", "status"};

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// At most 60 bytes of user text in an error message (a directive may run into a long prompt).
std::string Clip(std::string_view text) {
  constexpr size_t kMax = 60;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

Status DirectiveError(const std::string& detail) {
  return Status::InvalidArgument(fmt::format("{}: directive: {}", kArea, detail));
}

bool IsFailingMode(FakeMode mode) {
  return mode == FakeMode::kInStreamError || mode == FakeMode::kMalformed ||
         mode == FakeMode::kCloseMidStream;
}



// The OpenAI/vLLM error "type" for a status: its reason phrase without spaces plus "Error"
// ("Bad Request" -> "BadRequestError"), as vLLM names them.
std::string OpenAiErrorType(int status) {
  std::string type;
  for (char ch : ReasonPhrase(status)) {
    if (ch != ' ' && ch != '-') type.push_back(ch);
  }
  if (type.size() < 5 || type.compare(type.size() - 5, 5, "Error") != 0) type += "Error";
  return type;
}

// The TGI "error_type" for a status (huggingface/text-generation-inference router/src/server.rs:
// 429 overloaded, 422 validation, 424 generation, 500 incomplete_generation).
std::string_view TgiErrorType(int status) {
  switch (status) {
    case 422:
      return "validation";
    case 424:
      return "generation";
    case 429:
      return "overloaded";
    case 500:
      return "incomplete_generation";
    default:
      return "error";
  }
}

// A JSON string literal for `text`, quotes included; invalid UTF-8 becomes U+FFFD.
std::string Quote(std::string_view text) {
  return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Prometheus label-value escaping: backslash, double quote and newline.
std::string PromLabel(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '\\') {
      out += "\\\\";
    } else if (ch == '"') {
      out += "\\\"";
    } else if (ch == '\n') {
      out += "\\n";
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

int CountWords(std::string_view text) {
  int words = 0;
  bool in_word = false;
  for (char ch : text) {
    bool space = ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::chrono::nanoseconds MsToNs(double ms) {
  return std::chrono::nanoseconds(std::llround(ms * 1e6));
}

// ---------------------------------------------------------------------------------------------
// LLM requests: which API, and the answer's plan.

enum class Api { kChat, kCompletions, kTgi, kTriton, kTritonInfer };

struct Route {
  Api api = Api::kChat;
  bool stream_path = false;  // TGI and Triton choose streaming by path
  std::string model;         // Triton: the model named in the path
};

// The LLM route of a POST path, or nullopt.
std::optional<Route> LlmRoute(std::string_view path) {
  if (path == "/v1/chat/completions") return Route{Api::kChat, false, ""};
  if (path == "/v1/completions") return Route{Api::kCompletions, false, ""};
  if (path == "/generate") return Route{Api::kTgi, false, ""};
  if (path == "/generate_stream") return Route{Api::kTgi, true, ""};
  constexpr std::string_view kPrefix = "/v2/models/";
  if (path.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  std::vector<std::string> parts = Split(path.substr(kPrefix.size()), '/');
  if (parts.size() != 2 && !(parts.size() == 4 && parts[1] == "versions" && !parts[2].empty())) {
    return std::nullopt;
  }
  if (parts[0].empty()) return std::nullopt;
  const std::string& op = parts.back();
  if (op == "generate") return Route{Api::kTriton, false, parts[0]};
  if (op == "generate_stream") return Route{Api::kTriton, true, parts[0]};
  if (op == "infer") return Route{Api::kTritonInfer, false, parts[0]};
  return std::nullopt;
}

struct Plan {
  Api api = Api::kChat;
  bool stream = false;
  FakeMode mode = FakeMode::kStream;
  int tokens = 0;
  int fail_at = 0;  // failing modes: tokens sent before the failure
  int status = 200;
  bool include_usage = false;
  bool tgi_details = false;
  int prompt_tokens = 0;
  std::string model_json;  // the model name as a JSON string literal
  std::chrono::nanoseconds ttft{0};
  std::chrono::nanoseconds itl{0};
  std::chrono::nanoseconds headers_delay{0};
};

// A token count from a JSON field: nullopt when absent or null; an error unless an integer in
// 1..kMaxTokens.
Result<std::optional<int>> TokenField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int>();
  double value = 0;
  if (it->is_number_integer() || it->is_number_unsigned()) {
    value = it->is_number_unsigned() ? static_cast<double>(it->get<uint64_t>())
                                     : static_cast<double>(it->get<int64_t>());
  } else if (it->is_number_float() && std::floor(it->get<double>()) == it->get<double>()) {
    value = it->get<double>();
  } else {
    return Status::InvalidArgument(fmt::format("{}: '{}' must be an integer", kArea, key));
  }
  if (value < 1 || value > kMaxTokens) {
    return Status::InvalidArgument(
        fmt::format("{}: '{}' must be in 1..{}, got {}", kArea, key, kMaxTokens, value));
  }
  return std::optional<int>(static_cast<int>(value));
}

Result<bool> BoolField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) {
    return Status::InvalidArgument(fmt::format("{}: '{}' must be true or false", kArea, key));
  }
  return it->get<bool>();
}

std::string StringField(const Json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Words in an OpenAI message content: a string, or a list of parts with "text".
int ContentWords(const Json& content) {
  if (content.is_string()) return CountWords(content.get_ref<const std::string&>());
  int words = 0;
  if (content.is_array()) {
    for (const Json& part : content) {
      if (part.is_object()) words += CountWords(StringField(part, "text"));
      if (part.is_string()) words += CountWords(part.get_ref<const std::string&>());
    }
  }
  return words;
}

Result<Plan> MakePlan(const Route& route, std::string_view body, const FakeServerOptions& options) {
  LLMRCA_ASSIGN_OR_RETURN(FakeDirective directive, ParseFakeDirective(body));
  Json json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Status::InvalidArgument(fmt::format("{}: the body is not a JSON object", kArea));
  }
  Plan plan;
  plan.api = route.api;
  std::optional<int> body_tokens;
  std::string model;
  switch (route.api) {
    case Api::kChat:
    case Api::kCompletions: {
      LLMRCA_ASSIGN_OR_RETURN(plan.stream, BoolField(json, "stream"));
      // vLLM: max_completion_tokens, when given, wins over max_tokens.
      LLMRCA_ASSIGN_OR_RETURN(std::optional<int> max_completion,
                              TokenField(json, "max_completion_tokens"));
      LLMRCA_ASSIGN_OR_RETURN(std::optional<int> max_tokens, TokenField(json, "max_tokens"));
      body_tokens = max_completion ? max_completion : max_tokens;
      auto so = json.find("stream_options");
      if (so != json.end() && so->is_object()) {
        LLMRCA_ASSIGN_OR_RETURN(plan.include_usage, BoolField(*so, "include_usage"));
      }
      model = StringField(json, "model");
      if (route.api == Api::kChat) {
        auto messages = json.find("messages");
        if (messages != json.end() && messages->is_array()) {
          for (const Json& m : *messages) {
            if (!m.is_object()) continue;
            auto content = m.find("content");
            if (content != m.end()) plan.prompt_tokens += ContentWords(*content);
          }
        }
      } else {
        auto prompt = json.find("prompt");
        if (prompt != json.end()) plan.prompt_tokens = ContentWords(*prompt);
      }
      break;
    }
    case Api::kTgi: {
      plan.stream = route.stream_path;
      auto params = json.find("parameters");
      if (params != json.end() && params->is_object()) {
        LLMRCA_ASSIGN_OR_RETURN(body_tokens, TokenField(*params, "max_new_tokens"));
        LLMRCA_ASSIGN_OR_RETURN(plan.tgi_details, BoolField(*params, "details"));
      }
      plan.prompt_tokens = CountWords(StringField(json, "inputs"));
      break;
    }
    case Api::kTriton: {
      plan.stream = route.stream_path;
      LLMRCA_ASSIGN_OR_RETURN(body_tokens, TokenField(json, "max_tokens"));
      plan.prompt_tokens = CountWords(StringField(json, "text_input"));
      model = route.model;
      break;
    }
    case Api::kTritonInfer: {
      auto inputs = json.find("inputs");
      if (inputs != json.end() && inputs->is_array()) {
        for (const Json& input : *inputs) {
          if (!input.is_object()) continue;
          auto data = input.find("data");
          if (data == input.end() || !data->is_array() || data->empty()) continue;
          std::string name = StringField(input, "name");
          Json first = (*data)[0];
          while (first.is_array() && !first.empty()) first = Json(first[0]);
          Json holder = Json::object({{"value", first}});
          if (name == "max_tokens") {
            LLMRCA_ASSIGN_OR_RETURN(body_tokens, TokenField(holder, "value"));
          } else if (name == "text_input" && first.is_string()) {
            plan.prompt_tokens = CountWords(first.get_ref<const std::string&>());
          }
        }
      }
      model = route.model;
      break;
    }
  }
  plan.model_json = Quote(model.empty() ? options.model : model);
  plan.tokens =
      directive.tokens ? *directive.tokens : (body_tokens ? *body_tokens : options.default_tokens);
  plan.mode = directive.mode.value_or(FakeMode::kStream);
  if (plan.mode == FakeMode::kStatus) plan.status = directive.status.value_or(500);
  if (plan.mode == FakeMode::kHtmlError) plan.status = directive.status.value_or(502);
  int error_after = directive.error_after.value_or(options.error_after);
  plan.fail_at = std::clamp(error_after, 0, plan.tokens);
  plan.ttft = MsToNs(directive.ttft_ms.value_or(options.ttft_ms));
  plan.itl = MsToNs(directive.itl_ms.value_or(options.itl_ms));
  plan.headers_delay = MsToNs(directive.headers_ms.value_or(options.headers_delay_ms));
  return plan;
}

// ---------------------------------------------------------------------------------------------
// Bodies in each API's shape.

std::string ErrorBody(Api api, int status, std::string_view message) {
  switch (api) {
    case Api::kTgi:
      return fmt::format(R"({{"error":{},"error_type":"{}"}})", Quote(message),
                         TgiErrorType(status));
    case Api::kTriton:
    case Api::kTritonInfer:
      return fmt::format(R"({{"error":{}}})", Quote(message));
    case Api::kChat:
    case Api::kCompletions:
      break;
  }
  return fmt::format(R"({{"error":{{"message":{},"type":"{}","param":null,"code":{}}}}})",
                     Quote(message), OpenAiErrorType(status), status);
}

std::string HtmlErrorBody(int status) {
  return fmt::format(
      "<html>\r\n<head><title>{0} {1}</title></head>\r\n<body>\r\n<center><h1>{0} {1}</h1>"
      "</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
      status, ReasonPhrase(status));
}

std::string FullText(int tokens) {
  std::string text;
  for (int i = 0; i < tokens; ++i) text += kWords[static_cast<size_t>(i) % kWords.size()];
  return text;
}

// ---------------------------------------------------------------------------------------------
// Connections.

enum class ConnState {
  kReading,     // waiting for (the rest of) a request
  kResponding,  // answering an LLM request on timers, or flushing a simple answer
  kHanging,     // kHang: never answering
  kClosing,     // a protocol error was answered; closing once it is written
};

struct Conn {
  uint64_t id = 0;
  int fd = -1;
  uint32_t events = 0;  // the epoll interest now registered
  bool closed = false;
  ConnState state = ConnState::kReading;

  std::string in;  // bytes read and not yet consumed
  net::RequestReader reader{{kMaxHeadBytes, kMaxBodyBytes}};

  std::string out;  // bytes not yet accepted by the kernel start at out_off
  size_t out_off = 0;
  uint64_t appended = 0;  // total bytes ever queued
  uint64_t written = 0;   // total bytes ever accepted by the kernel
  struct Mark {
    uint64_t end;
    bool headers;  // the end of the headers; otherwise the end of a token chunk
  };
  std::deque<Mark> marks;
  bool ending = false;              // the whole response is queued: end the request when flushed
  bool close_when_flushed = false;  // close (without ending the request) when flushed

  // The request being answered.
  bool active = false;
  bool llm = false;
  bool keep_alive = true;
  ServedRequest record;
  Plan plan;
  TimePoint origin;  // the answer's time zero: received, plus headers_delay for kSlowHeaders
  bool headers_done = false;
  int next_token = 0;
  std::string id_text;  // "chatcmpl-fake<n>" / "cmpl-fake<n>"
  int64_t created = 0;
  uint64_t timer_seq = 0;
};

struct TimerEntry {
  TimePoint when;
  uint64_t conn;
  uint64_t seq;
  bool operator>(const TimerEntry& other) const { return when > other.when; }
};

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view FakeModeName(FakeMode mode) {
  size_t index = static_cast<size_t>(mode);
  return index < kModeNames.size() ? kModeNames[index] : "stream";
}

std::optional<FakeMode> FakeModeFromName(std::string_view name) {
  for (size_t i = 0; i < kModeNames.size(); ++i) {
    if (kModeNames[i] == name) return static_cast<FakeMode>(i);
  }
  return std::nullopt;
}

Result<FakeDirective> ParseFakeDirective(std::string_view body) {
  constexpr std::string_view kOpen = "[fake";
  size_t at = body.find(kOpen);
  while (at != std::string_view::npos) {
    size_t next = at + kOpen.size();
    if (next < body.size() && (body[next] == ' ' || body[next] == ']')) break;
    at = body.find(kOpen, at + 1);
  }
  FakeDirective directive;
  if (at == std::string_view::npos) return directive;
  size_t close = body.find(']', at);
  if (close == std::string_view::npos) {
    return DirectiveError(fmt::format("no ']' closes the '[fake' at byte {}", at));
  }
  std::string_view inner = body.substr(at + kOpen.size(), close - at - kOpen.size());
  std::vector<std::string> keys(kDirectiveKeys.begin(), kDirectiveKeys.end());
  std::vector<std::string> modes(kModeNames.begin(), kModeNames.end());
  for (const std::string& item : Split(inner, ' ')) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos) {
      return DirectiveError(fmt::format("'{}' is not key=value", Clip(item)));
    }
    std::string key = item.substr(0, eq);
    std::string value = item.substr(eq + 1);
    auto parse_ms = [&](std::optional<double>* field) -> Status {
      std::optional<double> v = ParseDouble(value);
      if (!v || !std::isfinite(*v) || *v < 0 || *v > kMaxDelayMs) {
        return DirectiveError(
            fmt::format("{}={}: want milliseconds in 0..{}", Clip(key), Clip(value), kMaxDelayMs));
      }
      *field = *v;
      return Status::Ok();
    };
    auto parse_int = [&](std::optional<int>* field, int64_t lo, int64_t hi) -> Status {
      std::optional<int64_t> v = ParseInt(value);
      if (!v || *v < lo || *v > hi) {
        return DirectiveError(
            fmt::format("{}={}: want an integer in {}..{}", Clip(key), Clip(value), lo, hi));
      }
      *field = static_cast<int>(*v);
      return Status::Ok();
    };
    if (key == "ttft_ms") {
      LLMRCA_RETURN_IF_ERROR(parse_ms(&directive.ttft_ms));
    } else if (key == "itl_ms") {
      LLMRCA_RETURN_IF_ERROR(parse_ms(&directive.itl_ms));
    } else if (key == "headers_ms") {
      LLMRCA_RETURN_IF_ERROR(parse_ms(&directive.headers_ms));
    } else if (key == "tokens") {
      LLMRCA_RETURN_IF_ERROR(parse_int(&directive.tokens, 1, kMaxTokens));
    } else if (key == "error_after") {
      LLMRCA_RETURN_IF_ERROR(parse_int(&directive.error_after, 0, kMaxTokens));
    } else if (key == "status") {
      LLMRCA_RETURN_IF_ERROR(parse_int(&directive.status, 400, 599));
    } else if (key == "mode") {
      // "mode=status=503" is accepted as "mode=status status=503".
      std::string name = value.substr(0, value.find('='));
      std::optional<FakeMode> mode = FakeModeFromName(name);
      if (!mode) {
        return DirectiveError(
            fmt::format("unknown mode '{}'{}", Clip(name), DidYouMean(name, modes)));
      }
      directive.mode = mode;
      if (name.size() < value.size()) {
        key = "status";
        value = value.substr(name.size() + 1);
        LLMRCA_RETURN_IF_ERROR(parse_int(&directive.status, 400, 599));
      }
    } else {
      return DirectiveError(fmt::format("unknown key '{}'{}", Clip(key), DidYouMean(key, keys)));
    }
  }
  if (directive.status && !directive.mode) directive.mode = FakeMode::kStatus;
  if (directive.status && *directive.mode != FakeMode::kStatus &&
      *directive.mode != FakeMode::kHtmlError) {
    return DirectiveError(fmt::format("status={} needs mode=status or mode=html_error, not {}",
                                      *directive.status, FakeModeName(*directive.mode)));
  }
  return directive;
}

// ---------------------------------------------------------------------------------------------

class FakeLlmServer::Impl {
 public:
  explicit Impl(FakeServerOptions options) : options_(std::move(options)) {}
  ~Impl() { CloseServerFds(); }

  Status Open();
  void Stop();
  int port() const { return port_; }
  std::vector<ServedRequest> Served() const {
    std::lock_guard<std::mutex> lock(served_mu_);
    return served_;
  }
  bool WaitForServed(size_t count, std::chrono::milliseconds timeout) const {
    std::unique_lock<std::mutex> lock(served_mu_);
    return served_cv_.wait_for(lock, timeout, [&] { return ended_ >= count; });
  }
  FakeServerStats stats() const {
    FakeServerStats s;
    s.connections_accepted = connections_accepted_.load();
    s.connections_open = connections_open_.load();
    s.requests_received = requests_received_.load();
    s.requests_completed = requests_completed_.load();
    s.streams_open = streams_open_.load();
    s.streams_peak = streams_peak_.load();
    s.tokens_sent = tokens_sent_.load();
    s.bad_requests = bad_requests_.load();
    return s;
  }

 private:
  void Run();
  void CloseServerFds();
  void AcceptAll();
  void OnConnEvent(Conn& c, uint32_t events);
  void OnReadable(Conn& c);
  void ProcessInput(Conn& c);
  bool ParseOne(Conn& c);
  void Dispatch(Conn& c, const HttpHead& head, std::string body);
  void StartLlm(Conn& c, Plan plan);
  void Advance(Conn& c);
  TimePoint NextDue(const Conn& c) const;
  void Step(Conn& c);
  void StepNonStream(Conn& c);
  void AppendToken(Conn& c, int index, bool last);
  void AppendStreamEnd(Conn& c);
  void AppendFailure(Conn& c);
  void AppendHead(Conn& c, int status, std::string_view content_type,
                  std::optional<size_t> content_length);
  void AppendEvent(Conn& c, std::string_view event);
  void AppendMark(Conn& c, bool headers) { c.marks.push_back({c.appended, headers}); }
  void Queue(Conn& c, std::string_view bytes) {
    c.out.append(bytes);
    c.appended += bytes.size();
  }
  void SendSimple(Conn& c, int status, std::string_view content_type, std::string_view body);
  void SendProtocolError(Conn& c, int status, const std::string& message);
  void Flush(Conn& c);
  void UpdateInterest(Conn& c);
  void EndRequest(Conn& c);
  void CloseConn(Conn& c);
  void Publish(ServedRequest record);
  void Schedule(Conn& c, TimePoint when);
  void RunDueTimers();
  void ArmTimer();
  std::string MetricsText() const;
  std::string ModelsBody() const;

  const FakeServerOptions options_;
  int port_ = 0;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int timer_fd_ = -1;
  int wake_fd_ = -1;
  int reserve_fd_ = -1;  // given up to accept-and-close a connection when out of descriptors
  std::thread thread_;
  std::mutex stop_mu_;
  std::atomic<bool> stop_{false};

  // Server-thread state.
  std::unordered_map<uint64_t, std::unique_ptr<Conn>> conns_;
  std::vector<uint64_t> graveyard_;  // closed connections, freed at the end of a loop turn
  std::vector<uint64_t> ready_;      // connections back in kReading with input to look at
  std::priority_queue<TimerEntry, std::vector<TimerEntry>, std::greater<>> timers_;
  std::optional<TimePoint> armed_;
  uint64_t next_conn_id_ = kFirstConnId;
  uint64_t next_response_id_ = 1;
  int64_t prompt_tokens_total_ = 0;
  int64_t generation_tokens_total_ = 0;
  int64_t success_total_ = 0;

  // Shared with other threads.
  mutable std::mutex served_mu_;
  mutable std::condition_variable served_cv_;
  std::vector<ServedRequest> served_;
  size_t ended_ = 0;
  std::atomic<int64_t> connections_accepted_{0};
  std::atomic<int64_t> connections_open_{0};
  std::atomic<int64_t> requests_received_{0};
  std::atomic<int64_t> requests_completed_{0};
  std::atomic<int64_t> streams_open_{0};
  std::atomic<int64_t> streams_peak_{0};
  std::atomic<int64_t> tokens_sent_{0};
  std::atomic<int64_t> bad_requests_{0};
};

Status FakeLlmServer::Impl::Open() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    return Status::IoError(fmt::format("{}: socket: {}", kArea, ErrnoText(errno)));
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    return Status::Unavailable(
        fmt::format("{}: bind 127.0.0.1:{}: {}", kArea, options_.port, ErrnoText(errno)));
  }
  // The kernel caps the backlog at net.core.somaxconn; ask for the most so that a burst of
  // thousands of connects is not dropped (and retried a second later) by a short queue.
  if (::listen(listen_fd_, 65535) != 0) {
    return Status::Unavailable(fmt::format("{}: listen: {}", kArea, ErrnoText(errno)));
  }
  socklen_t len = sizeof(addr);
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return Status::IoError(fmt::format("{}: getsockname: {}", kArea, ErrnoText(errno)));
  }
  port_ = ntohs(addr.sin_port);

  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0)
    return Status::IoError(fmt::format("{}: epoll_create1: {}", kArea, ErrnoText(errno)));
  // A timerfd on CLOCK_MONOTONIC (the clock behind std::chrono::steady_clock on Linux) fires at
  // an absolute time with nanosecond resolution; epoll_wait's own timeout is whole milliseconds.
  timer_fd_ = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0)
    return Status::IoError(fmt::format("{}: timerfd_create: {}", kArea, ErrnoText(errno)));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::IoError(fmt::format("{}: eventfd: {}", kArea, ErrnoText(errno)));
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  const std::pair<int, uint64_t> fds[] = {
      {listen_fd_, kListenId}, {timer_fd_, kTimerId}, {wake_fd_, kWakeId}};
  for (const auto& [fd, id] : fds) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      return Status::IoError(fmt::format("{}: epoll_ctl: {}", kArea, ErrnoText(errno)));
    }
  }
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error& e) {
    return Status::IoError(fmt::format("{}: cannot start the server thread: {}", kArea, e.what()));
  }
  return Status::Ok();
}

void FakeLlmServer::Impl::CloseServerFds() {
  for (int* fd : {&listen_fd_, &epoll_fd_, &timer_fd_, &wake_fd_, &reserve_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void FakeLlmServer::Impl::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (thread_.joinable()) {
    stop_.store(true);
    uint64_t one = 1;
    // The eventfd cannot be full (its counter would need 2^64 - 1 writes), so this succeeds.
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
    thread_.join();
  }
  CloseServerFds();
}

void FakeLlmServer::Impl::Run() {
  std::vector<epoll_event> events(kMaxEvents);
  while (!stop_.load()) {
    int n = ::epoll_wait(epoll_fd_, events.data(), kMaxEvents, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EBADF/EINVAL: nothing sensible is left to do but end the thread
    }
    for (int i = 0; i < n; ++i) {
      uint64_t id = events[static_cast<size_t>(i)].data.u64;
      uint32_t ev = events[static_cast<size_t>(i)].events;
      if (id == kListenId) {
        AcceptAll();
      } else if (id == kTimerId) {
        uint64_t expirations = 0;
        [[maybe_unused]] ssize_t r = ::read(timer_fd_, &expirations, sizeof(expirations));
        armed_.reset();
      } else if (id == kWakeId) {
        uint64_t value = 0;
        [[maybe_unused]] ssize_t r = ::read(wake_fd_, &value, sizeof(value));
      } else {
        auto it = conns_.find(id);
        if (it != conns_.end() && !it->second->closed) OnConnEvent(*it->second, ev);
      }
    }
    RunDueTimers();
    // Connections whose response ended go on with input they already hold (pipelining). A
    // simple answer can put a connection straight back, so this drains iteratively.
    while (!ready_.empty()) {
      std::vector<uint64_t> ready;
      ready.swap(ready_);
      for (uint64_t id : ready) {
        auto it = conns_.find(id);
        if (it != conns_.end() && !it->second->closed) ProcessInput(*it->second);
      }
    }
    for (uint64_t id : graveyard_) conns_.erase(id);
    graveyard_.clear();
    ArmTimer();
  }
  for (auto& [id, conn] : conns_) CloseConn(*conn);
  conns_.clear();
  graveyard_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void FakeLlmServer::Impl::AcceptAll() {
  for (int i = 0; i < kMaxAcceptsPerWake; ++i) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && reserve_fd_ >= 0) {
        // Out of descriptors: the pending connection would keep the level-triggered listen
        // socket readable forever. Free the reserve, accept it, close it at once (the client
        // sees a reset), and take the reserve back.
        ::close(reserve_fd_);
        int victim = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (victim >= 0) ::close(victim);
        reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      }
      return;  // EAGAIN, or an error that the next readiness report will show again
    }
    int one = 1;
    // Nagle would hold a token chunk back until the previous one is acknowledged.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto conn = std::make_unique<Conn>();
    conn->id = next_conn_id_++;
    conn->fd = fd;
    conn->events = EPOLLIN | EPOLLRDHUP;
    epoll_event ev{};
    ev.events = conn->events;
    ev.data.u64 = conn->id;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(fd);
      continue;
    }
    connections_accepted_.fetch_add(1);
    connections_open_.fetch_add(1);
    conns_.emplace(conn->id, std::move(conn));
  }
}

void FakeLlmServer::Impl::OnConnEvent(Conn& c, uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) OnReadable(c);
  if (c.closed || !(events & EPOLLOUT)) return;
  Flush(c);
  // A response paused because too much output was queued goes on once it drains.
  if (!c.closed && c.state == ConnState::kResponding && c.llm && !c.ending &&
      !c.close_when_flushed) {
    Advance(c);
  }
}

void FakeLlmServer::Impl::OnReadable(Conn& c) {
  char buf[kReadBytes];
  bool eof = false;
  for (int i = 0; i < kMaxReadsPerWake; ++i) {
    ssize_t n = ::recv(c.fd, buf, sizeof(buf), 0);
    if (n > 0) {
      c.in.append(buf, static_cast<size_t>(n));
      if (static_cast<size_t>(n) < sizeof(buf)) break;
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    c.record.client_closed = true;  // ECONNRESET and friends
    CloseConn(c);
    return;
  }
  if (c.in.size() > kMaxPendingInput) {
    CloseConn(c);
    return;
  }
  if (c.state == ConnState::kReading) ProcessInput(c);
  if (eof && !c.closed) {
    if (c.active) c.record.client_closed = true;
    CloseConn(c);
  }
}

void FakeLlmServer::Impl::ProcessInput(Conn& c) {
  while (!c.closed && c.state == ConnState::kReading && ParseOne(c)) {
  }
}

bool FakeLlmServer::Impl::ParseOne(Conn& c) {
  net::RequestReader::Step step = c.reader.Next(c.in);
  if (step.outcome == net::RequestReader::Outcome::kError) {
    SendProtocolError(c, step.status, fmt::format("{}: {}", kArea, step.message));
    return false;
  }
  if (step.outcome == net::RequestReader::Outcome::kNeedMore) {
    if (step.send_continue) {
      Queue(c, "HTTP/1.1 100 Continue\r\n\r\n");
      Flush(c);
    }
    return false;
  }
  Dispatch(c, step.head, std::move(step.body));
  return true;
}

void FakeLlmServer::Impl::Dispatch(Conn& c, const HttpHead& head, std::string body) {
  requests_received_.fetch_add(1);
  c.state = ConnState::kResponding;
  c.active = true;
  c.llm = false;
  c.ending = false;
  c.keep_alive = options_.keep_alive && head.keep_alive;
  c.record = ServedRequest();
  c.record.received = Clock::now();
  c.record.method = head.method;
  c.record.path = head.path;
  if (options_.record) c.record.body = body;

  if (head.method == "POST") {
    if (std::optional<Route> route = LlmRoute(head.path)) {
      Result<Plan> plan = MakePlan(*route, body, options_);
      if (!plan.ok()) {
        bad_requests_.fetch_add(1);
        SendSimple(c, 400, "application/json", ErrorBody(route->api, 400, plan.status().message()));
        return;
      }
      StartLlm(c, std::move(plan).value());
      return;
    }
  } else if (head.method == "GET") {
    if (head.path == "/metrics") {
      SendSimple(c, 200, "text/plain; version=0.0.4; charset=utf-8", MetricsText());
      return;
    }
    if (head.path == "/health") {
      SendSimple(c, 200, "application/json", "");
      return;
    }
    if (head.path == "/v1/models") {
      SendSimple(c, 200, "application/json", ModelsBody());
      return;
    }
  }
  bool known = head.path == "/metrics" || head.path == "/health" || head.path == "/v1/models" ||
               LlmRoute(head.path).has_value();
  int status = known ? 405 : 404;
  bad_requests_.fetch_add(1);
  SendSimple(c, status, "application/json",
             ErrorBody(Api::kChat, status,
                       fmt::format("{}: no route for {} {}", kArea, head.method, head.path)));
}

void FakeLlmServer::Impl::StartLlm(Conn& c, Plan plan) {
  c.llm = true;
  c.plan = std::move(plan);
  c.record.mode = c.plan.mode;
  c.record.stream = c.plan.stream;
  c.record.tokens = c.plan.tokens;
  int64_t open = streams_open_.fetch_add(1) + 1;
  int64_t peak = streams_peak_.load();
  while (open > peak && !streams_peak_.compare_exchange_weak(peak, open)) {
  }
  prompt_tokens_total_ += c.plan.prompt_tokens;
  uint64_t n = next_response_id_++;
  c.id_text = fmt::format("{}-fake{:x}", c.plan.api == Api::kChat ? "chatcmpl" : "cmpl", n);
  c.created = static_cast<int64_t>(std::time(nullptr));
  switch (c.plan.mode) {
    case FakeMode::kStatus:
      SendSimple(
          c, c.plan.status, "application/json",
          ErrorBody(c.plan.api, c.plan.status,
                    fmt::format("{}: status {} requested by directive", kArea, c.plan.status)));
      return;
    case FakeMode::kHtmlError:
      SendSimple(c, c.plan.status, "text/html", HtmlErrorBody(c.plan.status));
      return;
    case FakeMode::kHang:
      c.state = ConnState::kHanging;
      return;
    default:
      break;
  }
  c.origin = c.record.received;
  if (c.plan.mode == FakeMode::kSlowHeaders) c.origin += c.plan.headers_delay;
  c.headers_done = false;
  c.next_token = 0;
  Advance(c);
}

TimePoint FakeLlmServer::Impl::NextDue(const Conn& c) const {
  const Plan& p = c.plan;
  auto token_time = [&](int i) { return c.origin + p.ttft + p.itl * i; };
  if (p.stream && !c.headers_done) return c.origin;
  if (IsFailingMode(p.mode)) {
    if (!p.stream || c.next_token >= p.fail_at) return token_time(p.fail_at);
    return token_time(c.next_token);
  }
  if (!p.stream) return token_time(p.tokens - 1);
  return token_time(c.next_token);
}

// Everything due by now, in order; then one timer for the next step and one write.
void FakeLlmServer::Impl::Advance(Conn& c) {
  TimePoint now = Clock::now();
  while (!c.closed && c.state == ConnState::kResponding && !c.ending && !c.close_when_flushed) {
    if (c.out.size() - c.out_off > kMaxPendingOutput) {
      Flush(c);
      // Still too much queued: EPOLLOUT (OnConnEvent) resumes the answer once it drains.
      if (c.closed || c.out.size() - c.out_off > kMaxPendingOutput) return;
      continue;
    }
    TimePoint due = NextDue(c);
    if (due > now) {
      Schedule(c, due);
      break;
    }
    Step(c);
  }
  if (!c.closed) Flush(c);
}

void FakeLlmServer::Impl::Step(Conn& c) {
  const Plan& p = c.plan;
  if (!p.stream) {
    StepNonStream(c);
    return;
  }
  if (!c.headers_done) {
    AppendHead(c, 200, "text/event-stream; charset=utf-8", std::nullopt);
    c.headers_done = true;
    return;
  }
  if (IsFailingMode(p.mode) && c.next_token >= p.fail_at) {
    AppendFailure(c);
    return;
  }
  bool normal = !IsFailingMode(p.mode);
  bool last = normal && c.next_token == p.tokens - 1;
  AppendToken(c, c.next_token, last);
  ++c.next_token;
  if (last) AppendStreamEnd(c);
}

void FakeLlmServer::Impl::StepNonStream(Conn& c) {
  const Plan& p = c.plan;
  std::string body;
  int tokens = p.tokens;
  if (p.mode == FakeMode::kInStreamError) {
    body =
        ErrorBody(p.api, 500, fmt::format("{}: in-stream error after {} tokens", kArea, p.fail_at));
    tokens = 0;
  } else if (p.mode == FakeMode::kMalformed) {
    body = "{not json";
    tokens = 0;
  } else {
    std::string text = Quote(FullText(p.tokens));
    std::string usage =
        fmt::format(R"({{"prompt_tokens":{},"total_tokens":{},"completion_tokens":{}}})",
                    p.prompt_tokens, p.prompt_tokens + p.tokens, p.tokens);
    switch (p.api) {
      case Api::kChat:
        body = fmt::format(
            R"({{"id":"{}","object":"chat.completion","created":{},"model":{},)"
            R"("choices":[{{"index":0,"message":{{"role":"assistant","content":{},)"
            R"("tool_calls":[]}},"logprobs":null,"finish_reason":"length","stop_reason":null}}],)"
            R"("usage":{}}})",
            c.id_text, c.created, p.model_json, text, usage);
        break;
      case Api::kCompletions:
        body = fmt::format(
            R"({{"id":"{}","object":"text_completion","created":{},"model":{},)"
            R"("choices":[{{"index":0,"text":{},"logprobs":null,"finish_reason":"length",)"
            R"("stop_reason":null}}],"usage":{}}})",
            c.id_text, c.created, p.model_json, text, usage);
        break;
      case Api::kTgi:
        if (p.tgi_details) {
          std::string tokens_json;
          for (int i = 0; i < p.tokens; ++i) {
            size_t w = static_cast<size_t>(i) % kWords.size();
            fmt::format_to(std::back_inserter(tokens_json),
                           R"({}{{"id":{},"text":"{}","logprob":-0.1,"special":false}})",
                           i == 0 ? "" : ",", kFirstTokenId + static_cast<int>(w), kWords[w]);
          }
          body = fmt::format(R"({{"generated_text":{},"details":{{"finish_reason":"length",)"
                             R"("generated_tokens":{},"seed":null,"prefill":[],"tokens":[{}]}}}})",
                             text, p.tokens, tokens_json);
        } else {
          body = fmt::format(R"({{"generated_text":{}}})", text);
        }
        break;
      case Api::kTriton:
        body = fmt::format(R"({{"model_name":{},"model_version":"1","text_output":{}}})",
                           p.model_json, text);
        break;
      case Api::kTritonInfer:
        body = fmt::format(
            R"({{"model_name":{},"model_version":"1","outputs":[{{"name":"text_output",)"
            R"("datatype":"BYTES","shape":[1],"data":[{}]}}]}})",
            p.model_json, text);
        break;
    }
  }
  size_t length = body.size();
  if (p.mode == FakeMode::kCloseMidStream) {
    body.resize(body.size() / 2);
    tokens = 0;
  }
  AppendHead(c, 200, "application/json", length);
  Queue(c, body);
  if (tokens > 0) AppendMark(c, /*headers=*/false);
  tokens_sent_.fetch_add(tokens);
  generation_tokens_total_ += tokens;
  if (p.mode == FakeMode::kCloseMidStream) {
    c.close_when_flushed = true;
  } else {
    c.ending = true;
  }
}

void FakeLlmServer::Impl::AppendEvent(Conn& c, std::string_view event) {
  // One HTTP chunk per SSE event, as uvicorn writes each piece vLLM yields.
  std::string size = fmt::format("{:x}\r\n", event.size());
  Queue(c, size);
  Queue(c, event);
  Queue(c, "\r\n");
}

void FakeLlmServer::Impl::AppendToken(Conn& c, int index, bool last) {
  const Plan& p = c.plan;
  size_t w = static_cast<size_t>(index) % kWords.size();
  std::string_view word = kWords[w];
  std::string event;
  switch (p.api) {
    case Api::kChat:
      if (index == 0) {
        AppendEvent(
            c, fmt::format(
                   R"(data: {{"id":"{}","object":"chat.completion.chunk","created":{},"model":{},)"
                   R"("choices":[{{"index":0,"delta":{{"role":"assistant","content":""}},)"
                   R"("logprobs":null,"finish_reason":null}}]}})"
                   "\n\n",
                   c.id_text, c.created, p.model_json));
      }
      event = fmt::format(
          R"(data: {{"id":"{}","object":"chat.completion.chunk","created":{},"model":{},)"
          R"("choices":[{{"index":0,"delta":{{"content":"{}"}},"logprobs":null,)"
          R"("finish_reason":{}}}]}})"
          "\n\n",
          c.id_text, c.created, p.model_json, word,
          last ? R"("length","stop_reason":null)" : "null");
      break;
    case Api::kCompletions:
      event =
          fmt::format(R"(data: {{"id":"{}","object":"text_completion","created":{},"model":{},)"
                      R"("choices":[{{"index":0,"text":"{}","logprobs":null,"finish_reason":{},)"
                      R"("stop_reason":null}}],"usage":null}})"
                      "\n\n",
                      c.id_text, c.created, p.model_json, word, last ? R"("length")" : "null");
      break;
    case Api::kTgi:
      if (last) {
        event = fmt::format(
            R"(data:{{"index":{},"token":{{"id":{},"text":"{}","logprob":-0.1,"special":false}},)"
            R"("generated_text":{},"details":{{"finish_reason":"length","generated_tokens":{},)"
            R"("input_length":{},"seed":null}}}})"
            "\n\n",
            index + 1, kFirstTokenId + static_cast<int>(w), word, Quote(FullText(p.tokens)),
            p.tokens, p.prompt_tokens);
      } else {
        event = fmt::format(
            R"(data:{{"index":{},"token":{{"id":{},"text":"{}","logprob":-0.1,"special":false}},)"
            R"("generated_text":null,"details":null}})"
            "\n\n",
            index + 1, kFirstTokenId + static_cast<int>(w), word);
      }
      break;
    case Api::kTriton:
    case Api::kTritonInfer:
      event = fmt::format(R"(data: {{"model_name":{},"model_version":"1","text_output":"{}"}})"
                          "\n\n",
                          p.model_json, word);
      break;
  }
  AppendEvent(c, event);
  AppendMark(c, /*headers=*/false);
  tokens_sent_.fetch_add(1);
  ++generation_tokens_total_;
}

void FakeLlmServer::Impl::AppendStreamEnd(Conn& c) {
  const Plan& p = c.plan;
  if (p.api == Api::kChat || p.api == Api::kCompletions) {
    if (p.include_usage) {
      AppendEvent(
          c, fmt::format(
                 R"(data: {{"id":"{}","object":"{}","created":{},"model":{},"choices":[],)"
                 R"("usage":{{"prompt_tokens":{},"total_tokens":{},"completion_tokens":{}}}}})"
                 "\n\n",
                 c.id_text, p.api == Api::kChat ? "chat.completion.chunk" : "text_completion",
                 c.created, p.model_json, p.prompt_tokens, p.prompt_tokens + p.tokens, p.tokens));
    }
    AppendEvent(c, "data: [DONE]\n\n");
  }
  Queue(c, "0\r\n\r\n");
  c.ending = true;
}

void FakeLlmServer::Impl::AppendFailure(Conn& c) {
  const Plan& p = c.plan;
  if (p.mode == FakeMode::kCloseMidStream) {
    c.close_when_flushed = true;
    return;
  }
  if (p.mode == FakeMode::kMalformed) {
    AppendEvent(c, "data: {not json\n\n");
  } else {
    std::string message = fmt::format("{}: in-stream error after {} tokens", kArea, p.fail_at);
    switch (p.api) {
      case Api::kTgi:
        AppendEvent(c, fmt::format("data:{}\n\n", ErrorBody(p.api, 500, message)));
        break;
      case Api::kTriton:
      case Api::kTritonInfer:
        AppendEvent(c, fmt::format("data: {}\n\n", ErrorBody(p.api, 500, message)));
        break;
      case Api::kChat:
      case Api::kCompletions:
        // vLLM's shape for an error after the 200 went out (reference §3.1), then [DONE].
        AppendEvent(c, fmt::format("data: {}\n\n", ErrorBody(p.api, 500, message)));
        AppendEvent(c, "data: [DONE]\n\n");
        break;
    }
  }
  Queue(c, "0\r\n\r\n");
  c.ending = true;
}

void FakeLlmServer::Impl::AppendHead(Conn& c, int status, std::string_view content_type,
                                     std::optional<size_t> content_length) {
  c.record.status = status;
  std::string head = fmt::format("HTTP/1.1 {} {}\r\nServer: llmrca-fake\r\nContent-Type: {}\r\n",
                                 status, ReasonPhrase(status), content_type);
  if (content_length) {
    fmt::format_to(std::back_inserter(head), "Content-Length: {}\r\n", *content_length);
  } else {
    head += "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n";
  }
  head += c.keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  Queue(c, head);
  AppendMark(c, /*headers=*/true);
}

void FakeLlmServer::Impl::SendSimple(Conn& c, int status, std::string_view content_type,
                                     std::string_view body) {
  AppendHead(c, status, content_type, body.size());
  Queue(c, body);
  c.ending = true;
  Flush(c);
}

void FakeLlmServer::Impl::SendProtocolError(Conn& c, int status, const std::string& message) {
  bad_requests_.fetch_add(1);
  c.state = ConnState::kClosing;
  c.keep_alive = false;
  std::string body = ErrorBody(Api::kChat, status, message);
  std::string head = fmt::format(
      "HTTP/1.1 {} {}\r\nServer: llmrca-fake\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n",
      status, ReasonPhrase(status), body.size());
  Queue(c, head);
  Queue(c, body);
  c.close_when_flushed = true;
  Flush(c);
}

void FakeLlmServer::Impl::Flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = ::send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off, MSG_NOSIGNAL);
    if (n > 0) {
      c.out_off += static_cast<size_t>(n);
      c.written += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (c.active) c.record.client_closed = true;  // EPIPE, ECONNRESET: the client is gone
    CloseConn(c);
    return;
  }
  if (!c.marks.empty() && c.marks.front().end <= c.written) {
    TimePoint now = Clock::now();
    while (!c.marks.empty() && c.marks.front().end <= c.written) {
      if (c.marks.front().headers) {
        c.record.headers_sent = now;
      } else if (options_.record) {
        c.record.chunk_sent.push_back(now);
      }
      c.marks.pop_front();
    }
  }
  bool pending = c.out_off < c.out.size();
  if (!pending) {
    c.out.clear();
    c.out_off = 0;
  } else if (c.out_off > (1 << 20) && c.out_off * 2 > c.out.size()) {
    c.out.erase(0, c.out_off);  // keep the buffer from growing without bound
    c.out_off = 0;
  }
  UpdateInterest(c);
  if (pending) return;
  if (c.close_when_flushed) {
    CloseConn(c);
  } else if (c.ending) {
    EndRequest(c);
  }
}

void FakeLlmServer::Impl::UpdateInterest(Conn& c) {
  uint32_t want = EPOLLIN | EPOLLRDHUP;
  if (c.out_off < c.out.size()) want |= EPOLLOUT;
  if (want == c.events) return;
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = c.id;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.events = want;
}

// Every counter moves before the record is published, so that a client woken by
// WaitForServed reads stats() that already include the request.
void FakeLlmServer::Impl::EndRequest(Conn& c) {
  c.ending = false;
  c.state = ConnState::kReading;
  ++c.timer_seq;  // any timer still queued for this request is stale now
  std::optional<ServedRequest> done;
  if (c.active) {
    c.record.finished = Clock::now();
    c.record.completed = true;
    requests_completed_.fetch_add(1);
    if (c.llm) {
      streams_open_.fetch_sub(1);
      if ((c.plan.mode == FakeMode::kStream || c.plan.mode == FakeMode::kSlowHeaders) &&
          c.record.status == 200) {
        ++success_total_;
      }
    }
    c.active = false;
    c.llm = false;
    done = std::move(c.record);
    c.record = ServedRequest();
  }
  if (!c.keep_alive) {
    CloseConn(c);
  } else if (!c.in.empty()) {
    ready_.push_back(c.id);
  }
  if (done) Publish(std::move(*done));
}

void FakeLlmServer::Impl::CloseConn(Conn& c) {
  if (c.closed) return;
  c.closed = true;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c.fd, nullptr);
  ::close(c.fd);
  c.fd = -1;
  connections_open_.fetch_sub(1);
  graveyard_.push_back(c.id);
  if (c.active) {
    c.record.finished = Clock::now();
    c.record.completed = false;
    if (c.llm) streams_open_.fetch_sub(1);
    c.active = false;
    c.llm = false;
    Publish(std::move(c.record));
    c.record = ServedRequest();
  }
}

void FakeLlmServer::Impl::Publish(ServedRequest record) {
  std::lock_guard<std::mutex> lock(served_mu_);
  if (options_.record) served_.push_back(std::move(record));
  ++ended_;
  served_cv_.notify_all();
}

void FakeLlmServer::Impl::Schedule(Conn& c, TimePoint when) {
  timers_.push(TimerEntry{when, c.id, ++c.timer_seq});
}

void FakeLlmServer::Impl::RunDueTimers() {
  TimePoint now = Clock::now();
  while (!timers_.empty() && timers_.top().when <= now) {
    TimerEntry t = timers_.top();
    timers_.pop();
    auto it = conns_.find(t.conn);
    if (it == conns_.end()) continue;
    Conn& c = *it->second;
    if (c.closed || t.seq != c.timer_seq || c.state != ConnState::kResponding) continue;
    Advance(c);
  }
}

void FakeLlmServer::Impl::ArmTimer() {
  // Stale entries (closed connections, superseded timers) at the top would wake the loop for
  // nothing; drop them first.
  while (!timers_.empty()) {
    const TimerEntry& t = timers_.top();
    auto it = conns_.find(t.conn);
    if (it != conns_.end() && !it->second->closed && it->second->timer_seq == t.seq) break;
    timers_.pop();
  }
  if (timers_.empty()) {
    if (armed_) {
      itimerspec spec{};
      ::timerfd_settime(timer_fd_, 0, &spec, nullptr);
      armed_.reset();
    }
    return;
  }
  TimePoint when = timers_.top().when;
  if (armed_ && *armed_ == when) return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(when.time_since_epoch()).count();
  if (ns <= 0) ns = 1;  // an all-zero it_value would disarm the timer
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (::timerfd_settime(timer_fd_, TFD_TIMER_ABSTIME, &spec, nullptr) == 0) armed_ = when;
}

std::string FakeLlmServer::Impl::MetricsText() const {
  std::string labels = fmt::format(R"(engine="0",model_name="{}")", PromLabel(options_.model));
  int64_t running = streams_open_.load();
  std::string text;
  auto out = std::back_inserter(text);
  fmt::format_to(out,
                 "# HELP vllm:num_requests_running Number of requests in model execution "
                 "batches.\n# TYPE vllm:num_requests_running gauge\n"
                 "vllm:num_requests_running{{{}}} {}.0\n",
                 labels, running);
  fmt::format_to(out,
                 "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
                 "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{{{}}} 0.0\n",
                 labels);
  fmt::format_to(out,
                 "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.\n"
                 "# TYPE vllm:prompt_tokens_total counter\nvllm:prompt_tokens_total{{{}}} {}.0\n",
                 labels, prompt_tokens_total_);
  fmt::format_to(out,
                 "# HELP vllm:generation_tokens_total Number of generation tokens processed.\n"
                 "# TYPE vllm:generation_tokens_total counter\n"
                 "vllm:generation_tokens_total{{{}}} {}.0\n",
                 labels, generation_tokens_total_);
  fmt::format_to(out,
                 "# HELP vllm:request_success_total Count of successfully processed requests.\n"
                 "# TYPE vllm:request_success_total counter\n"
                 "vllm:request_success_total{{engine=\"0\",finished_reason=\"length\","
                 "model_name=\"{}\"}} {}.0\n",
                 PromLabel(options_.model), success_total_);
  return text;
}

std::string FakeLlmServer::Impl::ModelsBody() const {
  std::string model = Quote(options_.model);
  return fmt::format(
      R"({{"object":"list","data":[{{"id":{},"object":"model","created":{},"owned_by":"vllm",)"
      R"("root":{},"parent":null}}]}})",
      model, static_cast<int64_t>(std::time(nullptr)), model);
}

// ---------------------------------------------------------------------------------------------

FakeLlmServer::FakeLlmServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FakeLlmServer::~FakeLlmServer() { Stop(); }

Result<std::unique_ptr<FakeLlmServer>> FakeLlmServer::Start(const FakeServerOptions& options) {
  auto bad_ms = [](double v) { return !std::isfinite(v) || v < 0 || v > kMaxDelayMs; };
  if (bad_ms(options.ttft_ms) || bad_ms(options.itl_ms) || bad_ms(options.headers_delay_ms)) {
    return Status::InvalidArgument(
        fmt::format("{}: ttft_ms, itl_ms and headers_delay_ms must be in 0..{}, got {}, {}, {}",
                    kArea, kMaxDelayMs, options.ttft_ms, options.itl_ms, options.headers_delay_ms));
  }
  if (options.default_tokens < 1 || options.default_tokens > kMaxTokens) {
    return Status::InvalidArgument(fmt::format("{}: default_tokens must be in 1..{}, got {}", kArea,
                                               kMaxTokens, options.default_tokens));
  }
  if (options.error_after < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: error_after must be >= 0, got {}", kArea, options.error_after));
  }
  if (options.port < 0 || options.port > 65535) {
    return Status::InvalidArgument(
        fmt::format("{}: port must be in 0..65535, got {}", kArea, options.port));
  }
  if (options.model.empty()) {
    return Status::InvalidArgument(fmt::format("{}: model must not be empty", kArea));
  }
  auto impl = std::make_unique<Impl>(options);
  LLMRCA_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<FakeLlmServer>(new FakeLlmServer(std::move(impl)));
}

int FakeLlmServer::port() const { return impl_->port(); }

std::string FakeLlmServer::BaseUrl() const { return fmt::format("http://127.0.0.1:{}", port()); }

std::vector<ServedRequest> FakeLlmServer::Served() const { return impl_->Served(); }

bool FakeLlmServer::WaitForServed(size_t count, std::chrono::milliseconds timeout) const {
  return impl_->WaitForServed(count, timeout);
}

FakeServerStats FakeLlmServer::stats() const { return impl_->stats(); }

void FakeLlmServer::Stop() { impl_->Stop(); }

}  // namespace llmrca::load::testing
