#include "load/testing/fake_llm_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace llmrca::load::testing {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;
using Ms = std::chrono::milliseconds;

// Slack on every "not later than" timing bound: the test machine is shared, so only the lower
// bounds (the server never sends before its schedule) are tight.
constexpr Ms kLateSlack{40};

double MsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// One HTTP response as a plain client sees it.
struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // de-chunked
  std::vector<std::string> chunks;             // chunked bodies: each chunk's payload
  std::vector<Clock::time_point> chunk_times;  // when each chunk was wholly received
  Clock::time_point head_time;                 // when the head was wholly received
  bool complete = false;                       // the body ended as its framing says
  bool eof = false;                            // the server closed the connection
  bool timed_out = false;                      // nothing more came within the receive timeout
};

// A blocking client socket with a receive timeout, so that a broken server fails a test rather
// than hanging it.
class Client {
 public:
  explicit Client(int port, Ms timeout = Ms(10'000)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    SetTimeout(timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      connect_errno_ = errno;
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~Client() { Close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0; }
  int connect_errno() const { return connect_errno_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void SetTimeout(Ms timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response (a 100 Continue counts as one).
  HttpResponse Read() {
    HttpResponse r;
    size_t head_end;
    while ((head_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(r)) return r;
    }
    r.head_time = last_fill_;
    std::string head = buf_.substr(0, head_end);
    buf_.erase(0, head_end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.1 ", 0) == 0) r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(pos, end - pos);
      pos = end + 2;
      size_t colon = line.find(':');
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](char ch) { return static_cast<char>(std::tolower(ch)); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    if (r.status == 100) {
      r.complete = true;
      return r;
    }
    if (r.headers.count("content-length")) {
      size_t length = std::stoul(r.headers["content-length"]);
      while (buf_.size() < length) {
        if (!Fill(r)) {
          r.body = buf_;
          buf_.clear();
          return r;
        }
      }
      r.body = buf_.substr(0, length);
      buf_.erase(0, length);
      r.complete = true;
      return r;
    }
    if (r.headers["transfer-encoding"] == "chunked") {
      while (true) {
        size_t line = buf_.find("\r\n");
        if (line == std::string::npos) {
          if (!Fill(r)) return r;
          continue;
        }
        size_t size = std::stoul(buf_.substr(0, line), nullptr, 16);
        if (buf_.size() < line + 2 + size + 2) {
          if (!Fill(r)) return r;
          continue;
        }
        std::string payload = buf_.substr(line + 2, size);
        buf_.erase(0, line + 2 + size + 2);
        if (size == 0) {
          r.complete = true;
          return r;
        }
        r.body += payload;
        r.chunks.push_back(payload);
        r.chunk_times.push_back(last_fill_);
      }
    }
    while (Fill(r)) {
    }
    r.body = buf_;
    buf_.clear();
    r.complete = r.eof;
    return r;
  }

  // One recv: whatever bytes are there (empty on a close or a timeout).
  std::string RecvOnce() {
    HttpResponse r;
    if (!Fill(r)) return "";
    std::string out;
    out.swap(buf_);
    return out;
  }

  // True when the server closes the connection (or resets it) within the receive timeout.
  bool SeesClose() {
    HttpResponse r;
    while (Fill(r)) {
    }
    return r.eof;
  }

 private:
  bool Fill(HttpResponse& r) {
    char data[65536];
    while (true) {
      ssize_t n = ::recv(fd_, data, sizeof(data), 0);
      if (n > 0) {
        last_fill_ = Clock::now();
        buf_.append(data, static_cast<size_t>(n));
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        r.timed_out = true;
      } else {
        r.eof = true;
      }
      return false;
    }
  }

  int fd_ = -1;
  int connect_errno_ = 0;
  std::string buf_;
  Clock::time_point last_fill_;
};

std::string Post(std::string_view path, std::string_view body, std::string_view extra = "") {
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\n{}\r\n{}",
      path, body.size(), extra, body);
}

std::string Get(std::string_view path, std::string_view extra = "") {
  return fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}\r\n", path, extra);
}

// The payloads of the SSE events in `body`: the text after "data:" (and one space), per event.
std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    std::string event = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos = end == std::string::npos ? body.size() : end + 2;
    if (event.rfind("data:", 0) != 0) continue;
    std::string data = event.substr(5);
    if (!data.empty() && data[0] == ' ') data.erase(0, 1);
    out.push_back(data);
  }
  return out;
}

std::unique_ptr<FakeLlmServer> StartServer(FakeServerOptions options = {}) {
  Result<std::unique_ptr<FakeLlmServer>> server = FakeLlmServer::Start(options);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(server).value() : nullptr;
}

// One request on a fresh connection.
HttpResponse Exchange(const FakeLlmServer& server, const std::string& request) {
  Client client(server.port());
  EXPECT_TRUE(client.connected());
  EXPECT_TRUE(client.Send(request));
  return client.Read();
}

// ---------------------------------------------------------------------------------------------

TEST(FakeDirectiveTest, ParsesEveryKey) {
  Result<FakeDirective> d = ParseFakeDirective(
      R"({"prompt":"hi [fake ttft_ms=20 itl_ms=5.5 tokens=8 mode=in_stream_error )"
      R"(error_after=3 headers_ms=7] there"})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->ttft_ms, 20.0);
  EXPECT_EQ(d->itl_ms, 5.5);
  EXPECT_EQ(d->tokens, 8);
  EXPECT_EQ(d->error_after, 3);
  EXPECT_EQ(d->headers_ms, 7.0);
  EXPECT_EQ(d->mode, FakeMode::kInStreamError);
  EXPECT_FALSE(d->status.has_value());
}

TEST(FakeDirectiveTest, AbsentDirectiveIsEmpty) {
  for (std::string_view body : {"", "{\"prompt\":\"plain\"}", "[faker tokens=2]", "[fake"}) {
    if (body == "[fake") continue;  // covered below: an unclosed directive is an error
    Result<FakeDirective> d = ParseFakeDirective(body);
    ASSERT_TRUE(d.ok()) << body;
    EXPECT_FALSE(d->tokens || d->mode || d->ttft_ms || d->itl_ms || d->status) << body;
  }
}

TEST(FakeDirectiveTest, StatusImpliesStatusMode) {
  Result<FakeDirective> d = ParseFakeDirective("[fake status=503]");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mode, FakeMode::kStatus);
  EXPECT_EQ(d->status, 503);
  d = ParseFakeDirective("[fake mode=status=429]");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->mode, FakeMode::kStatus);
  EXPECT_EQ(d->status, 429);
  d = ParseFakeDirective("[fake mode=html_error status=504]");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mode, FakeMode::kHtmlError);
  EXPECT_EQ(d->status, 504);
}

TEST(FakeDirectiveTest, RejectsBadDirectives) {
  for (std::string_view body :
       {"[fake tokns=3]", "[fake tokens=0]", "[fake tokens=1000001]", "[fake ttft_ms=-1]",
        "[fake ttft_ms=abc]", "[fake itl_ms=nan]", "[fake mode=explode]", "[fake tokens=3",
        "[fake status=200]", "[fake mode=stream status=500]", "[fake tokens]"}) {
    Result<FakeDirective> d = ParseFakeDirective(body);
    ASSERT_FALSE(d.ok()) << body;
    EXPECT_TRUE(d.status().IsInvalidArgument()) << body;
    EXPECT_EQ(d.status().message().rfind("fake_llm_server: directive: ", 0), 0u)
        << d.status().message();
  }
  Result<FakeDirective> d = ParseFakeDirective("[fake tokns=3]");
  EXPECT_NE(d.status().message().find("did you mean 'tokens'"), std::string::npos)
      << d.status().message();
}

TEST(FakeDirectiveTest, ModeNamesRoundTrip) {
  const std::pair<FakeMode, std::string_view> kNames[] = {
      {FakeMode::kStream, "stream"},
      {FakeMode::kStatus, "status"},
      {FakeMode::kHtmlError, "html_error"},
      {FakeMode::kInStreamError, "in_stream_error"},
      {FakeMode::kMalformed, "malformed"},
      {FakeMode::kCloseMidStream, "close_mid_stream"},
      {FakeMode::kHang, "hang"},
      {FakeMode::kSlowHeaders, "slow_headers"}};
  for (const auto& [mode, name] : kNames) {
    EXPECT_EQ(FakeModeName(mode), name);
    EXPECT_EQ(FakeModeFromName(name), mode);
  }
  EXPECT_FALSE(FakeModeFromName("Stream").has_value());
}

// ---------------------------------------------------------------------------------------------

TEST(FakeLlmServerTest, StartRejectsBadOptions) {
  FakeServerOptions o;
  o.ttft_ms = -1;
  EXPECT_TRUE(FakeLlmServer::Start(o).status().IsInvalidArgument());
  o = {};
  o.itl_ms = std::numeric_limits<double>::infinity();
  EXPECT_TRUE(FakeLlmServer::Start(o).status().IsInvalidArgument());
  o = {};
  o.default_tokens = 0;
  EXPECT_TRUE(FakeLlmServer::Start(o).status().IsInvalidArgument());
  o = {};
  o.port = 70000;
  EXPECT_TRUE(FakeLlmServer::Start(o).status().IsInvalidArgument());
  o = {};
  o.model = "";
  EXPECT_TRUE(FakeLlmServer::Start(o).status().IsInvalidArgument());
}

TEST(FakeLlmServerTest, TakenPortIsUnavailable) {
  auto first = StartServer();
  ASSERT_NE(first, nullptr);
  FakeServerOptions o;
  o.port = first->port();
  Result<std::unique_ptr<FakeLlmServer>> second = FakeLlmServer::Start(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find(fmt::format("127.0.0.1:{}", o.port)), std::string::npos);
  EXPECT_EQ(first->BaseUrl(), fmt::format("http://127.0.0.1:{}", first->port()));
}

TEST(FakeLlmServerTest, StreamsChatLikeVllm) {
  FakeServerOptions o;
  o.ttft_ms = 5;
  o.itl_ms = 2;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  const std::string body =
      R"({"model":"m","messages":[{"role":"system","content":"Be brief."},)"
      R"({"role":"user","content":"Say hello to the world"}],"max_tokens":4,"stream":true,)"
      R"("stream_options":{"include_usage":true}})";
  HttpResponse r = Exchange(*server, Post("/v1/chat/completions", body));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"].rfind("text/event-stream", 0), 0u);
  EXPECT_EQ(r.headers["transfer-encoding"], "chunked");

  // Role chunk, 4 token chunks, the usage chunk, [DONE] (reference §3.1).
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 7u) << r.body;
  std::vector<Json> chunks;
  for (size_t i = 0; i < 6; ++i) chunks.push_back(Json::parse(data[i]));
  EXPECT_EQ(data[6], "[DONE]");
  const std::string id = chunks[0]["id"];
  const int64_t created = chunks[0]["created"];
  EXPECT_EQ(id.rfind("chatcmpl-", 0), 0u);
  for (const Json& c : chunks) {
    EXPECT_EQ(c["id"], id);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_EQ(c["model"], "m");
  }
  EXPECT_EQ(chunks[0]["choices"][0]["delta"], Json::parse(R"({"role":"assistant","content":""})"));
  EXPECT_TRUE(chunks[0]["choices"][0]["finish_reason"].is_null());
  const char* kWords[] = {"The", " quick", " brown", " fox"};
  for (int i = 0; i < 4; ++i) {
    const Json& choice = chunks[static_cast<size_t>(i + 1)]["choices"][0];
    EXPECT_EQ(choice["delta"]["content"], kWords[i]);
    if (i < 3) {
      EXPECT_TRUE(choice["finish_reason"].is_null());
    } else {
      EXPECT_EQ(choice["finish_reason"], "length");
    }
  }
  // The byte shape of a vLLM chat chunk, as in testdata/load/wire/openai_chat_stream_usage.sse
  // (recorded shape, logprobs off): key order and nulls included.
  EXPECT_EQ(data[2], fmt::format(R"({{"id":"{}","object":"chat.completion.chunk","created":{},)"
                                 R"("model":"m","choices":[{{"index":0,"delta":{{"content":)"
                                 R"(" quick"}},"logprobs":null,"finish_reason":null}}]}})",
                                 id, created));
  EXPECT_EQ(data[4], fmt::format(R"({{"id":"{}","object":"chat.completion.chunk","created":{},)"
                                 R"("model":"m","choices":[{{"index":0,"delta":{{"content":)"
                                 R"(" fox"}},"logprobs":null,"finish_reason":"length",)"
                                 R"("stop_reason":null}}]}})",
                                 id, created));
  // Prompt: "Be brief." (2 words) + "Say hello to the world" (5 words).
  EXPECT_TRUE(chunks[5]["choices"].empty());
  EXPECT_EQ(chunks[5]["usage"],
            Json::parse(R"({"prompt_tokens":7,"completion_tokens":4,"total_tokens":11})"));

  ASSERT_TRUE(server->WaitForServed(1, Ms(5000)));
  std::vector<ServedRequest> served = server->Served();
  ASSERT_EQ(served.size(), 1u);
  const ServedRequest& s = served[0];
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.path, "/v1/chat/completions");
  EXPECT_EQ(s.body, body);
  EXPECT_EQ(s.status, 200);
  EXPECT_EQ(s.mode, FakeMode::kStream);
  EXPECT_TRUE(s.stream);
  EXPECT_EQ(s.tokens, 4);
  EXPECT_TRUE(s.completed);
  EXPECT_FALSE(s.client_closed);
  ASSERT_TRUE(s.headers_sent.has_value());
  ASSERT_EQ(s.chunk_sent.size(), 4u);
  // Token i is due at received + ttft + i * itl and never goes out before that.
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_GE(MsBetween(s.received, s.chunk_sent[i]), 5.0 + 2.0 * static_cast<double>(i));
  }
  EXPECT_GE(s.finished, s.chunk_sent.back());
  FakeServerStats st = server->stats();
  EXPECT_EQ(st.tokens_sent, 4);
  EXPECT_EQ(st.streams_open, 0);
  EXPECT_EQ(st.requests_completed, 1);
}

TEST(FakeLlmServerTest, StreamsCompletionsWithoutUsageUnlessAsked) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 0;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  HttpResponse r = Exchange(
      *server, Post("/v1/completions", R"({"prompt":"a b c","max_tokens":3,"stream":true})"));
  ASSERT_TRUE(r.complete);
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 4u) << r.body;
  EXPECT_EQ(data[3], "[DONE]");
  const char* kWords[] = {"The", " quick", " brown"};
  for (size_t i = 0; i < 3; ++i) {
    Json c = Json::parse(data[i]);
    EXPECT_EQ(c["object"], "text_completion");
    EXPECT_EQ(c["model"], "fake-model");  // the body names none
    EXPECT_EQ(c["choices"][0]["text"], kWords[i]);
    EXPECT_TRUE(c["usage"].is_null());
    EXPECT_TRUE(c["choices"][0]["stop_reason"].is_null());
    if (i < 2) {
      EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
    }
  }
  EXPECT_EQ(Json::parse(data[2])["choices"][0]["finish_reason"], "length");
}

TEST(FakeLlmServerTest, AnswersWithoutStreaming) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 1;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  // max_completion_tokens wins over max_tokens (vLLM).
  HttpResponse r = Exchange(
      *server, Post("/v1/chat/completions",
                    R"({"model":"m","messages":[{"role":"user","content":"one two three"}],)"
                    R"("max_tokens":9,"max_completion_tokens":5})"));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "The quick brown fox jumps");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["usage"],
            Json::parse(R"({"prompt_tokens":3,"completion_tokens":5,"total_tokens":8})"));

  r = Exchange(*server,
               Post("/v1/completions", R"({"prompt":["one two","three"],"max_tokens":2})"));
  j = Json::parse(r.body);
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "The quick");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 3);

  ASSERT_TRUE(server->WaitForServed(2, Ms(5000)));
  std::vector<ServedRequest> served = server->Served();
  ASSERT_EQ(served.size(), 2u);
  EXPECT_FALSE(served[0].stream);
  EXPECT_EQ(served[0].tokens, 5);
  ASSERT_EQ(served[0].chunk_sent.size(), 1u);  // the whole body, at the last token's time
  EXPECT_GE(MsBetween(served[0].received, served[0].chunk_sent[0]), 4.0);  // ttft + 4 * itl
}

TEST(FakeLlmServerTest, TokenCountComesFromDirectiveThenBodyThenDefault) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 0;
  o.default_tokens = 3;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  HttpResponse r = Exchange(*server, Post("/v1/completions", R"({"prompt":"x"})"));
  EXPECT_EQ(Json::parse(r.body)["usage"]["completion_tokens"], 3);
  r = Exchange(*server,
               Post("/v1/completions", R"({"prompt":"x [fake tokens=2]","max_tokens":10})"));
  EXPECT_EQ(Json::parse(r.body)["usage"]["completion_tokens"], 2);
  EXPECT_EQ(Json::parse(r.body)["usage"]["prompt_tokens"], 3);  // "x", "[fake", "tokens=2]"
}

TEST(FakeLlmServerTest, SpeaksTgi) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 0;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  HttpResponse r = Exchange(
      *server,
      Post("/generate_stream", R"({"inputs":"hi there","parameters":{"max_new_tokens":3}})"));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.body.rfind("data:{", 0), 0u) << r.body;  // TGI writes no space after "data:"
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 3u);
  const char* kWords[] = {"The", " quick", " brown"};
  for (size_t i = 0; i < 3; ++i) {
    Json e = Json::parse(data[i]);
    EXPECT_EQ(e["index"], i + 1);
    EXPECT_EQ(e["token"]["text"], kWords[i]);
    EXPECT_EQ(e["token"]["special"], false);
    if (i < 2) {
      EXPECT_TRUE(e["generated_text"].is_null());
      EXPECT_TRUE(e["details"].is_null());
    }
  }
  Json last = Json::parse(data[2]);
  EXPECT_EQ(last["generated_text"], "The quick brown");
  EXPECT_EQ(last["details"]["finish_reason"], "length");
  EXPECT_EQ(last["details"]["generated_tokens"], 3);
  EXPECT_EQ(last["details"]["input_length"], 2);

  r = Exchange(*server, Post("/generate",
                             R"({"inputs":"x","parameters":{"max_new_tokens":2,"details":true}})"));
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["generated_text"], "The quick");
  EXPECT_EQ(j["details"]["generated_tokens"], 2);
  ASSERT_EQ(j["details"]["tokens"].size(), 2u);
  EXPECT_EQ(j["details"]["tokens"][1]["text"], " quick");
  r = Exchange(*server, Post("/generate", R"({"inputs":"x","parameters":{"max_new_tokens":1}})"));
  EXPECT_EQ(Json::parse(r.body), Json::parse(R"({"generated_text":"The"})"));
}

TEST(FakeLlmServerTest, SpeaksTriton) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 0;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  HttpResponse r = Exchange(*server, Post("/v2/models/ensemble/generate_stream",
                                          R"({"text_input":"hi","max_tokens":2,"stream":true})"));
  ASSERT_TRUE(r.complete);
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 2u);  // no [DONE] in Triton's stream
  EXPECT_EQ(Json::parse(data[0]),
            Json::parse(R"({"model_name":"ensemble","model_version":"1","text_output":"The"})"));
  EXPECT_EQ(Json::parse(data[1])["text_output"], " quick");

  r = Exchange(*server, Post("/v2/models/ensemble/versions/1/generate",
                             R"({"text_input":"hi","max_tokens":3})"));
  EXPECT_EQ(Json::parse(r.body)["text_output"], "The quick brown");

  r = Exchange(
      *server,
      Post("/v2/models/llm/infer",
           R"({"inputs":[{"name":"text_input","datatype":"BYTES","shape":[1,1],"data":[["a b"]]},)"
           R"({"name":"max_tokens","datatype":"UINT32","shape":[1,1],"data":[[2]]}]})"));
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["model_name"], "llm");
  EXPECT_EQ(j["outputs"][0]["name"], "text_output");
  EXPECT_EQ(j["outputs"][0]["data"][0], "The quick");
}

TEST(FakeLlmServerTest, ChunkSpacingFollowsTheSchedule) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.connected());
  Clock::time_point sent = Clock::now();
  ASSERT_TRUE(client.Send(Post(
      "/v1/completions", R"({"prompt":"[fake ttft_ms=30 itl_ms=25 tokens=5]","stream":true})")));
  HttpResponse r = client.Read();
  ASSERT_TRUE(r.complete);
  ASSERT_GE(r.chunk_times.size(), 5u);
  // The client sees token i no earlier than 30 + 25 i ms after it sent the request, and (on a
  // quiet enough machine) not much later.
  for (size_t i = 0; i < 5; ++i) {
    double at = MsBetween(sent, r.chunk_times[i]);
    double due = 30.0 + 25.0 * static_cast<double>(i);
    EXPECT_GE(at, due) << "token " << i;
    EXPECT_LE(at, due + static_cast<double>(kLateSlack.count())) << "token " << i;
  }
  ASSERT_TRUE(server->WaitForServed(1, Ms(5000)));
  ServedRequest s = server->Served()[0];
  ASSERT_EQ(s.chunk_sent.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    double at = MsBetween(s.received, s.chunk_sent[i]);
    double due = 30.0 + 25.0 * static_cast<double>(i);
    EXPECT_GE(at, due);
    EXPECT_LE(at, due + static_cast<double>(kLateSlack.count()));
  }
}

TEST(FakeLlmServerTest, StatusModeUsesEachApisErrorShape) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  HttpResponse r =
      Exchange(*server, Post("/v1/chat/completions",
                             R"({"messages":[{"role":"user","content":"[fake status=503]"}]})"));
  EXPECT_EQ(r.status, 503);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["error"]["code"], 503);
  EXPECT_EQ(j["error"]["type"], "ServiceUnavailableError");
  EXPECT_TRUE(j["error"]["message"].is_string());

  r = Exchange(*server, Post("/generate_stream", R"({"inputs":"[fake status=429]"})"));
  EXPECT_EQ(r.status, 429);
  j = Json::parse(r.body);
  EXPECT_EQ(j["error_type"], "overloaded");
  EXPECT_TRUE(j["error"].is_string());

  r = Exchange(*server, Post("/v2/models/m/generate", R"({"text_input":"[fake mode=status]"})"));
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(Json::parse(r.body)["error"].is_string());

  ASSERT_TRUE(server->WaitForServed(3, Ms(5000)));
  std::vector<ServedRequest> served = server->Served();
  EXPECT_EQ(served[0].status, 503);
  EXPECT_EQ(served[0].mode, FakeMode::kStatus);
  EXPECT_TRUE(served[0].chunk_sent.empty());
  EXPECT_EQ(server->stats().streams_open, 0);
}

TEST(FakeLlmServerTest, HtmlErrorModeSendsAnHtmlPage) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  HttpResponse r =
      Exchange(*server, Post("/v1/completions", R"({"prompt":"[fake mode=html_error]"})"));
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.headers["content-type"], "text/html");
  EXPECT_NE(r.body.find("<h1>502 Bad Gateway</h1>"), std::string::npos) << r.body;
  r = Exchange(*server,
               Post("/v1/completions", R"({"prompt":"[fake mode=html_error status=504]"})"));
  EXPECT_EQ(r.status, 504);
  EXPECT_NE(r.body.find("504 Gateway Timeout"), std::string::npos);
}

TEST(FakeLlmServerTest, InStreamErrorAfterKTokens) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 1;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  // error_after defaults to 2.
  HttpResponse r = Exchange(
      *server, Post("/v1/chat/completions",
                    R"({"messages":[{"role":"user","content":"[fake mode=in_stream_error]"}],)"
                    R"("max_tokens":5,"stream":true})"));
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 5u) << r.body;  // role, 2 tokens, error, [DONE]
  EXPECT_EQ(Json::parse(data[1])["choices"][0]["delta"]["content"], "The");
  EXPECT_EQ(Json::parse(data[2])["choices"][0]["delta"]["content"], " quick");
  EXPECT_TRUE(Json::parse(data[2])["choices"][0]["finish_reason"].is_null());
  Json error = Json::parse(data[3]);
  EXPECT_EQ(error["error"]["code"], 500);
  EXPECT_EQ(error["error"]["type"], "InternalServerError");
  EXPECT_TRUE(error["error"]["message"].is_string());
  EXPECT_EQ(data[4], "[DONE]");

  // TGI: the error event, and no [DONE]; error_after=0: nothing before it.
  r = Exchange(*server, Post("/generate_stream",
                             R"({"inputs":"[fake mode=in_stream_error error_after=0]"})"));
  data = SseData(r.body);
  ASSERT_EQ(data.size(), 1u) << r.body;
  EXPECT_EQ(Json::parse(data[0])["error_type"], "incomplete_generation");

  // Not streamed: a 200 whose body is only the error object.
  r = Exchange(*server, Post("/v1/completions",
                             R"({"prompt":"[fake mode=in_stream_error]","max_tokens":4})"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], 500);
}

TEST(FakeLlmServerTest, MalformedModeSendsABadLineThenEnds) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 1;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send(Post(
      "/v1/completions", R"({"prompt":"[fake mode=malformed error_after=3]","stream":true})")));
  HttpResponse r = client.Read();
  ASSERT_TRUE(r.complete);
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 4u) << r.body;
  EXPECT_EQ(Json::parse(data[2])["choices"][0]["text"], " brown");
  EXPECT_EQ(data[3], "{not json");
  // The connection stays usable.
  ASSERT_TRUE(client.Send(Get("/health")));
  EXPECT_EQ(client.Read().status, 200);

  HttpResponse plain =
      Exchange(*server, Post("/v1/completions", R"({"prompt":"[fake mode=malformed]"})"));
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "{not json");
}

TEST(FakeLlmServerTest, CloseMidStreamClosesWithoutEnd) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 1;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  HttpResponse r = Exchange(
      *server, Post("/v1/completions",
                    R"({"prompt":"[fake mode=close_mid_stream]","stream":true,"max_tokens":9})"));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.eof);
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 2u) << r.body;
  EXPECT_EQ(Json::parse(data[1])["choices"][0]["text"], " quick");

  r = Exchange(*server, Post("/v1/completions", R"({"prompt":"[fake mode=close_mid_stream]"})"));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(r.eof);
  EXPECT_LT(r.body.size(), std::stoul(r.headers["content-length"]));

  ASSERT_TRUE(server->WaitForServed(2, Ms(5000)));
  std::vector<ServedRequest> served = server->Served();
  EXPECT_FALSE(served[0].completed);
  EXPECT_EQ(served[0].chunk_sent.size(), 2u);
  EXPECT_EQ(served[0].mode, FakeMode::kCloseMidStream);
  EXPECT_EQ(server->stats().streams_open, 0);
}

TEST(FakeLlmServerTest, HangModeNeverAnswersAndStopClosesIt) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client client(server->port(), Ms(300));
  ASSERT_TRUE(client.Send(Post("/v1/completions", R"({"prompt":"[fake mode=hang]"})")));
  HttpResponse r = client.Read();
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(server->stats().streams_open, 1);
  client.SetTimeout(Ms(10'000));
  Clock::time_point before = Clock::now();
  server->Stop();
  EXPECT_LT(MsBetween(before, Clock::now()), 5000.0);
  EXPECT_TRUE(client.SeesClose());
  std::vector<ServedRequest> served = server->Served();
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].status, 0);
  EXPECT_EQ(served[0].mode, FakeMode::kHang);
  EXPECT_FALSE(served[0].completed);
  EXPECT_FALSE(served[0].headers_sent.has_value());
}

TEST(FakeLlmServerTest, SlowHeadersHoldTheAnswerBack) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  Clock::time_point sent = Clock::now();
  ASSERT_TRUE(client.Send(
      Post("/v1/completions",
           R"({"prompt":"[fake mode=slow_headers headers_ms=150 ttft_ms=0 itl_ms=0 tokens=2]",)"
           R"("stream":true})")));
  HttpResponse r = client.Read();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(r.status, 200);
  EXPECT_GE(MsBetween(sent, r.head_time), 150.0);
  EXPECT_EQ(SseData(r.body).size(), 3u);
  ASSERT_TRUE(server->WaitForServed(1, Ms(5000)));
  ServedRequest s = server->Served()[0];
  ASSERT_TRUE(s.headers_sent.has_value());
  EXPECT_GE(MsBetween(s.received, *s.headers_sent), 150.0);
  EXPECT_LE(MsBetween(s.received, *s.headers_sent),
            150.0 + static_cast<double>(kLateSlack.count()));
}

TEST(FakeLlmServerTest, BadRequestsGetErrorsNotCrashes) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  HttpResponse r = Exchange(*server, Post("/v1/completions", "not json"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(Json::parse(r.body)["error"]["message"].get<std::string>().find("not a JSON object"),
            std::string::npos);
  r = Exchange(*server, Post("/v1/completions", R"({"prompt":"[fake tokens=0]"})"));
  EXPECT_EQ(r.status, 400);
  r = Exchange(*server, Post("/v1/completions", R"({"prompt":"x","max_tokens":"many"})"));
  EXPECT_EQ(r.status, 400);
  r = Exchange(*server, Post("/v1/completions", R"({"prompt":"x","stream":"yes"})"));
  EXPECT_EQ(r.status, 400);
  r = Exchange(*server, Post("/v1/embeddings", "{}"));
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(Json::parse(r.body)["error"].is_object());
  r = Exchange(*server, Get("/v1/completions"));
  EXPECT_EQ(r.status, 405);

  Client garbage(server->port());
  ASSERT_TRUE(garbage.Send("HELLO\r\n\r\n"));
  r = garbage.Read();
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(garbage.SeesClose());

  Client chunked(server->port());
  ASSERT_TRUE(chunked.Send("POST /v1/completions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"));
  EXPECT_EQ(chunked.Read().status, 501);

  Client huge(server->port());
  ASSERT_TRUE(huge.Send("POST /v1/completions HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n"));
  EXPECT_EQ(huge.Read().status, 413);

  EXPECT_EQ(server->stats().bad_requests, 9);
  EXPECT_EQ(server->stats().streams_open, 0);
}

// A minimal Prometheus text-format reader: every line is a comment (# HELP / # TYPE) or
// `name{labels} value`. Returns name{labels} -> value, and fails the test on any other line.
std::map<std::string, double> ParsePrometheus(const std::string& text) {
  static const std::regex kSample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$)");
  static const std::regex kType(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (gauge|counter)$)");
  std::map<std::string, double> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    std::smatch m;
    if (line.rfind("# HELP ", 0) == 0) continue;
    if (line.rfind("# TYPE ", 0) == 0) {
      EXPECT_TRUE(std::regex_match(line, m, kType)) << line;
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      ADD_FAILURE() << "not a Prometheus sample line: " << line;
      continue;
    }
    out[m[1].str() + m[2].str()] = std::stod(m[3].str());
  }
  return out;
}

TEST(FakeLlmServerTest, MetricsMoveWithTheTraffic) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 0;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  const std::string running = R"(vllm:num_requests_running{engine="0",model_name="fake-model"})";
  const std::string waiting = R"(vllm:num_requests_waiting{engine="0",model_name="fake-model"})";
  const std::string prompt = R"(vllm:prompt_tokens_total{engine="0",model_name="fake-model"})";
  const std::string generation =
      R"(vllm:generation_tokens_total{engine="0",model_name="fake-model"})";
  const std::string success =
      R"(vllm:request_success_total{engine="0",finished_reason="length",model_name="fake-model"})";

  HttpResponse r = Exchange(*server, Get("/metrics"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  std::map<std::string, double> before = ParsePrometheus(r.body);
  for (const std::string& name : {running, waiting, prompt, generation, success}) {
    ASSERT_TRUE(before.count(name)) << name << "\n" << r.body;
    EXPECT_EQ(before[name], 0.0) << name;
  }

  // One streamed request: 5 prompt words, 4 tokens; one in a long wait (a hang) while sampling.
  r = Exchange(*server, Post("/v1/chat/completions",
                             R"({"messages":[{"role":"user","content":"one two three four five"}],)"
                             R"("max_tokens":4,"stream":true})"));
  ASSERT_TRUE(r.complete);
  Client hanging(server->port());
  ASSERT_TRUE(hanging.Send(Post("/v1/completions", R"({"prompt":"[fake mode=hang]"})")));
  ASSERT_TRUE(server->WaitForServed(2, Ms(5000)));  // the /metrics call and the stream
  for (int i = 0; i < 500 && server->stats().streams_open != 1; ++i) {
    std::this_thread::sleep_for(Ms(2));
  }
  std::map<std::string, double> after = ParsePrometheus(Exchange(*server, Get("/metrics")).body);
  EXPECT_EQ(after[running], 1.0);
  EXPECT_EQ(after[waiting], 0.0);
  // 5 words, plus the 2 of "[fake mode=hang]" (received; the hang answers nothing).
  EXPECT_EQ(after[prompt], 5.0 + 2.0);
  EXPECT_EQ(after[generation], 4.0);
  EXPECT_EQ(after[success], 1.0);
}

TEST(FakeLlmServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 0;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        client.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":2,"stream":true})")));
    HttpResponse r = client.Read();
    ASSERT_TRUE(r.complete) << i;
    EXPECT_EQ(r.headers["connection"], "keep-alive");
    EXPECT_EQ(SseData(r.body).size(), 3u);
  }
  // Two requests in one write (pipelining) are answered in order.
  ASSERT_TRUE(client.Send(Get("/health") + Get("/v1/models")));
  HttpResponse health = client.Read();
  HttpResponse models = client.Read();
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "");
  EXPECT_EQ(Json::parse(models.body)["data"][0]["id"], "fake-model");
  EXPECT_EQ(Json::parse(models.body)["data"][0]["owned_by"], "vllm");
  EXPECT_EQ(server->stats().connections_accepted, 1);
  ASSERT_TRUE(server->WaitForServed(4, Ms(5000)));
  EXPECT_EQ(server->stats().requests_completed, 4);
}

TEST(FakeLlmServerTest, ConnectionCloseEndsTheConnection) {
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  ASSERT_TRUE(client.Send(Get("/health", "Connection: close\r\n")));
  HttpResponse r = client.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(client.SeesClose());

  FakeServerOptions o;
  o.keep_alive = false;
  auto closing = StartServer(o);
  ASSERT_NE(closing, nullptr);
  Client other(closing->port());
  ASSERT_TRUE(other.Send(Get("/health")));
  EXPECT_EQ(other.Read().headers["connection"], "close");
  EXPECT_TRUE(other.SeesClose());
}

TEST(FakeLlmServerTest, ExpectContinueGetsA100First) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  Client client(server->port());
  const std::string body = R"({"prompt":"x","max_tokens":1})";
  ASSERT_TRUE(client.Send(fmt::format(
      "POST /v1/completions HTTP/1.1\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
      body.size())));
  EXPECT_EQ(client.Read().status, 100);
  ASSERT_TRUE(client.Send(body));
  HttpResponse r = client.Read();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["choices"][0]["text"], "The");
}

TEST(FakeLlmServerTest, ClientDisconnectEndsTheStream) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 20;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  {
    Client client(server->port());
    ASSERT_TRUE(
        client.Send(Post("/v1/completions", R"({"prompt":"x","max_tokens":1000,"stream":true})")));
    EXPECT_FALSE(client.RecvOnce().empty());  // the head and the first tokens
  }                                           // closes the client mid-stream
  ASSERT_TRUE(server->WaitForServed(1, Ms(5000)));
  ServedRequest s = server->Served()[0];
  EXPECT_FALSE(s.completed);
  EXPECT_TRUE(s.client_closed);
  EXPECT_LT(s.chunk_sent.size(), 1000u);
  EXPECT_EQ(server->stats().streams_open, 0);
  EXPECT_EQ(server->stats().connections_open, 0);
}

TEST(FakeLlmServerTest, LargeAnswerWithZeroItlDrains) {
  FakeServerOptions o;
  o.ttft_ms = 0;
  o.itl_ms = 0;
  o.record = false;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  HttpResponse r = Exchange(
      *server, Post("/v1/completions", R"({"prompt":"x","max_tokens":20000,"stream":true})"));
  ASSERT_TRUE(r.complete);
  std::vector<std::string> data = SseData(r.body);
  ASSERT_EQ(data.size(), 20001u);
  EXPECT_EQ(Json::parse(data[19998])["choices"][0]["text"], " dog");  // 19998 % 10 == 8
  EXPECT_EQ(Json::parse(data[19999])["choices"][0]["text"], ".");
  EXPECT_EQ(Json::parse(data[19999])["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(server->stats().tokens_sent, 20000);
  EXPECT_TRUE(server->WaitForServed(1, Ms(5000)));
  EXPECT_TRUE(server->Served().empty());  // record = false
}

TEST(FakeLlmServerTest, ServesFiveHundredConcurrentConnections) {
  constexpr int kClients = 500;
  // The test holds both ends of every connection in this process.
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  const rlim_t need = 2 * kClients + 64;
  if (limit.rlim_cur < need) {
    limit.rlim_cur = std::min<rlim_t>(need, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < need) GTEST_SKIP() << "RLIMIT_NOFILE " << limit.rlim_cur << " < " << need;

  FakeServerOptions o;
  o.ttft_ms = 1000;  // long enough that every request is in flight at once
  o.itl_ms = 1;
  auto server = StartServer(o);
  ASSERT_NE(server, nullptr);
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    ASSERT_TRUE(clients.back()->connected()) << i;
    ASSERT_TRUE(clients.back()->Send(
        Post("/v1/completions", R"({"prompt":"x","max_tokens":4,"stream":true})")));
  }
  int complete = 0;
  for (auto& client : clients) {
    HttpResponse r = client->Read();
    if (r.complete && SseData(r.body).size() == 5) ++complete;
  }
  EXPECT_EQ(complete, kClients);
  ASSERT_TRUE(server->WaitForServed(kClients, Ms(10'000)));
  FakeServerStats s = server->stats();
  EXPECT_EQ(s.connections_accepted, kClients);
  EXPECT_EQ(s.requests_completed, kClients);
  EXPECT_EQ(s.streams_peak, kClients);
  EXPECT_EQ(s.streams_open, 0);
  EXPECT_EQ(s.tokens_sent, 4 * kClients);
}

size_t ThreadCount() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& entry :
       std::filesystem::directory_iterator("/proc/self/task")) {
    ++n;
  }
  return n;
}

TEST(FakeLlmServerTest, StopJoinsTheThreadAndThePortRefuses) {
  size_t threads_before = ThreadCount();
  auto server = StartServer();
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(ThreadCount(), threads_before + 1);
  int port = server->port();
  Client open_client(port);
  ASSERT_TRUE(open_client.connected());
  server->Stop();
  server->Stop();  // idempotent
  EXPECT_EQ(ThreadCount(), threads_before);
  EXPECT_TRUE(open_client.SeesClose());
  Client refused(port);
  EXPECT_FALSE(refused.connected());
  EXPECT_EQ(refused.connect_errno(), ECONNREFUSED);
  server.reset();  // the destructor after Stop is fine too
}

}  // namespace
}  // namespace llmrca::load::testing
