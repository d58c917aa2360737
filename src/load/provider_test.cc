#include "load/provider.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/random.h"

namespace llmrca::load {

// For readable gtest failures (found by ADL, so outside the anonymous namespace).
void PrintTo(const ResponseEvent& e, std::ostream* os) {
  static constexpr const char* kKinds[] = {"content", "usage", "finish", "done", "error"};
  *os << "{" << kKinds[static_cast<int>(e.kind)] << " '" << e.text << "'";
  if (e.tokens) *os << " tokens=" << *e.tokens;
  if (e.first_content) *os << " first";
  if (e.prompt_tokens) *os << " prompt=" << *e.prompt_tokens;
  if (e.completion_tokens) *os << " completion=" << *e.completion_tokens;
  if (e.error != ErrorClass::kNone) *os << " " << ErrorClassName(e.error);
  *os << "}";
}

namespace {

// The fixtures in testdata/load/wire/ were written by hand from reference/load-testing.md §1.3
// and §3 and the public specs it cites (testdata/README.md, "load/wire"); every expected value
// below is read off those files, not produced by the code under test.

std::string ReadWire(const std::string& name) {
  std::ifstream in(std::string(LLMRCA_TESTDATA_DIR) + "/load/wire/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

ResponseEvent Content(std::string text, std::optional<int64_t> tokens = std::nullopt,
                      bool first = false) {
  ResponseEvent e;
  e.kind = EventKind::kContent;
  e.text = std::move(text);
  e.tokens = tokens;
  e.first_content = first;
  return e;
}

ResponseEvent Finish(std::string reason) {
  ResponseEvent e;
  e.kind = EventKind::kFinish;
  e.text = std::move(reason);
  return e;
}

ResponseEvent Usage(std::optional<int64_t> prompt, std::optional<int64_t> completion) {
  ResponseEvent e;
  e.kind = EventKind::kUsage;
  e.prompt_tokens = prompt;
  e.completion_tokens = completion;
  return e;
}

ResponseEvent Done() {
  ResponseEvent e;
  e.kind = EventKind::kDone;
  return e;
}

ResponseEvent Error(ErrorClass error, std::string text) {
  ResponseEvent e;
  e.kind = EventKind::kError;
  e.error = error;
  e.text = std::move(text);
  return e;
}

RequestOptions Options(Provider provider, bool chat, bool stream) {
  RequestOptions o;
  o.provider = provider;
  o.model.assign(1, 'm');  // not = "m": GCC 12 -O2 raises a false -Wrestrict there
  o.chat = chat;
  o.stream = stream;
  return o;
}

struct Parsed {
  std::vector<ResponseEvent> events;
  bool succeeded = false;
  ErrorClass error = ErrorClass::kNone;
  std::string error_text;
};

// Feeds `body` in slices of `step` bytes (0: whole), then Finish(body_complete).
Parsed Parse(const RequestOptions& request, long status, std::string_view content_type,
             std::string_view body, size_t step = 0, std::string_view prompt = {},
             bool body_complete = true) {
  ResponseParser parser(request, status, content_type, prompt);
  Parsed p;
  const auto take = [&](std::vector<ResponseEvent> events) {
    for (ResponseEvent& e : events) p.events.push_back(std::move(e));
  };
  if (step == 0) {
    take(parser.Feed(body));
  } else {
    for (size_t i = 0; i < body.size(); i += step) take(parser.Feed(body.substr(i, step)));
  }
  take(parser.Finish(body_complete));
  p.succeeded = parser.succeeded();
  p.error = parser.error_class();
  p.error_text = parser.error_text();
  return p;
}

constexpr std::string_view kSse = "text/event-stream; charset=utf-8";
constexpr std::string_view kJson = "application/json";

// ----- Names -------------------------------------------------------------------------------------

TEST(ProviderTest, NamesRoundTrip) {
  EXPECT_EQ(ProviderNames(),
            (std::vector<std::string>{"openai", "vllm", "fireworks", "together", "anyscale", "tgi",
                                      "triton-infer", "triton-generate"}));
  for (Provider p : kAllProviders) {
    Result<Provider> back = ProviderFromName(ProviderName(p));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, p);
  }
  Result<Provider> bad = ProviderFromName("vlm");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("did you mean 'vllm'"), std::string::npos);
  EXPECT_FALSE(ProviderFromName("triton_infer").ok());  // the seed's keys use hyphens
}

// ----- Requests ----------------------------------------------------------------------------------

struct RequestCase {
  std::string fixture;
  RequestOptions options;
  std::string prompt;
  int64_t max_tokens;
  std::string path;
  bool accept_sse;
};

std::vector<RequestCase> RequestCases() {
  std::vector<RequestCase> cases;
  cases.push_back({"request_openai_chat_stream.json", Options(Provider::kOpenAi, true, true),
                   "Hello", 16, "/v1/chat/completions", true});
  cases.push_back({"request_anyscale_completions.json", Options(Provider::kAnyscale, false, false),
                   "Hello", 16, "/v1/completions", false});
  {
    // The seed's own run (§1.8): vllm, chat, stream, --logprobs true, 256 tokens.
    RequestOptions o = Options(Provider::kVllm, true, true);
    o.model = "llama-3-8b";
    o.logprobs = 1;
    cases.push_back({"request_vllm_chat_seed.json", o, "Hello", 256, "/v1/chat/completions", true});
  }
  {
    RequestOptions o = Options(Provider::kVllm, false, true);
    o.temperature = 0.5;
    o.logprobs = 1;
    o.min_tokens = true;
    o.include_usage = true;
    cases.push_back(
        {"request_vllm_completions_extras.json", o, "Hello", 16, "/v1/completions", true});
  }
  cases.push_back({"request_fireworks_completions.json",
                   Options(Provider::kFireworks, false, false), "Hello", 16, "/v1/completions",
                   false});
  cases.push_back({"request_together_stream.json", Options(Provider::kTogether, false, true),
                   "Hello", 16, "/", true});
  cases.push_back({"request_tgi_stream.json", Options(Provider::kTgi, false, true), "Hello", 16,
                   "/generate_stream", true});
  {
    RequestOptions o = Options(Provider::kTgi, false, false);
    o.logprobs = 2;
    cases.push_back({"request_tgi_logprobs.json", o, "Hello", 16, "/generate", false});
  }
  {
    RequestOptions o = Options(Provider::kTritonGenerate, false, true);
    o.model.clear();  // the seed's default model, "ensemble"
    cases.push_back({"request_triton_generate_stream.json", o, "Hello", 16,
                     "/v2/models/ensemble/generate_stream", true});
  }
  {
    RequestOptions o = Options(Provider::kTritonInfer, false, false);
    o.model.clear();
    cases.push_back(
        {"request_triton_infer.json", o, "Hello", 16, "/v2/models/ensemble/infer", false});
  }
  return cases;
}

TEST(RequestBuilderTest, BodiesMatchTheRecordedWireFormat) {
  for (const RequestCase& c : RequestCases()) {
    SCOPED_TRACE(c.fixture);
    Result<RequestBuilder> builder = RequestBuilder::Create(c.options);
    ASSERT_TRUE(builder.ok()) << builder.status().ToString();
    const HttpRequest req = builder->Build(c.prompt, c.max_tokens);
    EXPECT_EQ(req.path, c.path);
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"}};
    if (c.accept_sse) headers.emplace_back("Accept", "text/event-stream");
    EXPECT_EQ(req.headers, headers);
    const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded()) << req.body;
    const nlohmann::json expected = nlohmann::json::parse(ReadWire(c.fixture));
    EXPECT_EQ(body, expected) << req.body;
  }
}

TEST(RequestBuilderTest, ExplicitOptionsOverrideProviderDefaults) {
  RequestOptions o = Options(Provider::kVllm, false, false);
  o.ignore_eos = false;
  o.include_usage = true;  // ignored without streaming
  Result<RequestBuilder> builder = RequestBuilder::Create(o);
  ASSERT_TRUE(builder.ok());
  EXPECT_EQ(nlohmann::json::parse(builder->Build("Hi", 3).body),
            nlohmann::json::parse(R"({"model": "m", "max_tokens": 3, "stream": false,
                                      "temperature": 1.0, "prompt": "Hi"})"));
}

TEST(RequestBuilderTest, ExtraBodyIsMergedAtTopLevelAndWins) {
  RequestOptions o = Options(Provider::kOpenAi, true, false);
  o.extra_body = R"({"temperature": 0, "top_p": 0.9, "stream_options": null})";
  Result<RequestBuilder> builder = RequestBuilder::Create(o);
  ASSERT_TRUE(builder.ok());
  EXPECT_EQ(nlohmann::json::parse(builder->Build("Hi", 3).body),
            nlohmann::json::parse(R"({"model": "m", "max_tokens": 3, "stream": false,
                                      "temperature": 0, "top_p": 0.9, "stream_options": null,
                                      "messages": [{"role": "user", "content": "Hi"}]})"));
}

TEST(RequestBuilderTest, TritonModelNameIsPercentEncoded) {
  RequestOptions o = Options(Provider::kTritonGenerate, false, false);
  o.model = "my model/v1";
  Result<RequestBuilder> builder = RequestBuilder::Create(o);
  ASSERT_TRUE(builder.ok());
  EXPECT_EQ(builder->Build("x", 1).path, "/v2/models/my%20model%2Fv1/generate");
}

TEST(RequestBuilderTest, InvalidUtf8InThePromptIsReplaced) {
  Result<RequestBuilder> builder = RequestBuilder::Create(Options(Provider::kOpenAi, false, false));
  ASSERT_TRUE(builder.ok());
  const std::string bad = std::string("a\xFF") + "b";
  const nlohmann::json body = nlohmann::json::parse(builder->Build(bad, 1).body);
  EXPECT_EQ(body["prompt"], std::string("a\xEF\xBF\xBD") + "b");  // U+FFFD
}

// The template path against the JSON-document path (nlohmann::json's serializer, an independent
// implementation of the escaping), byte for byte, on every recorded provider setting and on
// prompts with every kind of escape, multi-byte UTF-8 (2, 3 and 4 bytes, including the edges of
// table 3-7) and invalid sequences (lone continuation, overlong, surrogate, truncated, > U+10FFFF).
TEST(RequestBuilderTest, TemplateBodiesEqualJsonDocumentBodies) {
  const std::vector<std::string> prompts = {
      "",
      "Hello",
      "quote \" backslash \\ slash / tab \t nl \n cr \r bs \b ff \f",
      std::string("nul \0 and \x01 \x1f \x7f", 15),
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80 \xf4\x8f\xbf\xbf",
      "\xc3\xa9\"\n",
      "lone \x80 continuation",
      "overlong \xc0\xaf and \xe0\x80\xaf",
      "surrogate \xed\xa0\x80",
      "truncated at the end \xe2\x82",
      "too big \xf4\x90\x80\x80 and \xf5\x80\x80\x80",
      "stray \xff\xfe",
  };
  std::vector<RequestOptions> options;
  for (const RequestCase& c : RequestCases()) options.push_back(c.options);
  RequestOptions extra = Options(Provider::kVllm, true, true);
  extra.extra_body = R"({"temperature": 0, "note": "llmrca-prompt-slot-5c1e", "n": 7319046285113})";
  options.push_back(extra);
  for (const RequestOptions& o : options) {
    Result<RequestBuilder> builder = RequestBuilder::Create(o);
    ASSERT_TRUE(builder.ok()) << builder.status().ToString();
    // The markers inside extra_body spoil the template; every other setting gets one.
    EXPECT_EQ(builder->templated(), o.extra_body.empty()) << ProviderName(o.provider);
    for (const std::string& prompt : prompts) {
      for (int64_t max_tokens : {1, 16, 4096}) {
        EXPECT_EQ(builder->Body(prompt, max_tokens), builder->BodyFromJson(prompt, max_tokens))
            << ProviderName(o.provider) << " prompt "
            << nlohmann::json(prompt).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      }
    }
  }
}

TEST(AppendJsonStringTest, EscapesLikeTheJsonSpecSays) {
  // Expected strings written by hand from RFC 8259 section 7.
  std::string out = "x=";
  AppendJsonString(out, std::string("a\"b\\c\n\x01\xc3\xa9", 9));
  EXPECT_EQ(out, "x=\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
  out.clear();
  AppendJsonString(out, "a\xff" "b");
  EXPECT_EQ(out, "\"a\xef\xbf\xbd" "b\"");  // U+FFFD in UTF-8
}

TEST(RequestBuilderTest, RejectsWhatTheProviderCannotDo) {
  const auto rejected = [](RequestOptions o) {
    Result<RequestBuilder> b = RequestBuilder::Create(o);
    return !b.ok() && b.status().IsInvalidArgument();
  };
  EXPECT_TRUE(rejected(Options(Provider::kTgi, /*chat=*/true, false)));
  EXPECT_TRUE(rejected(Options(Provider::kTogether, /*chat=*/true, false)));
  EXPECT_TRUE(rejected(Options(Provider::kTritonInfer, false, /*stream=*/true)));
  RequestOptions o = Options(Provider::kTritonGenerate, false, false);
  o.logprobs = 1;
  EXPECT_TRUE(rejected(o));
  o = Options(Provider::kTgi, false, false);
  o.ignore_eos = true;  // not supported by TGI (reference §3.2)
  EXPECT_TRUE(rejected(o));
  o = Options(Provider::kOpenAi, false, false);
  o.extra_body = "[1, 2]";
  EXPECT_TRUE(rejected(o));
  o.extra_body = "{broken";
  EXPECT_TRUE(rejected(o));
  o = Options(Provider::kOpenAi, false, false);
  o.logprobs = -1;
  EXPECT_TRUE(rejected(o));
  o = Options(Provider::kOpenAi, false, false);
  o.temperature = -0.5;
  EXPECT_TRUE(rejected(o));
}

// ----- Streams -----------------------------------------------------------------------------------

TEST(ResponseParserTest, OpenAiChatStreamWithUsage) {
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse,
                         ReadWire("openai_chat_stream_usage.sse"));
  // The role-only first chunk ("content": "") is not content; logprobs count the tokens.
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{Content("Hel", 1, true), Content("lo w\xC3\xB6rld", 2),
                                        Content("!", 1), Finish("length"), Usage(12, 4), Done()}));
  EXPECT_TRUE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kNone);
}

TEST(ResponseParserTest, OpenAiCompletionsStreamWithUsageAndCrlf) {
  const Parsed p = Parse(Options(Provider::kVllm, false, true), 200, kSse,
                         ReadWire("openai_completions_stream_usage.sse"));
  // The third chunk has "text": "" and only a finish reason.
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{Content(" Paris", std::nullopt, true), Content(" is"),
                                        Finish("stop"), Usage(5, 2), Done()}));
  EXPECT_TRUE(p.succeeded);
}

TEST(ResponseParserTest, VllmFlatErrorInA200StreamFailsTheRequest) {
  const Parsed p = Parse(Options(Provider::kVllm, true, true), 200, kSse,
                         ReadWire("vllm_flat_error_stream.sse"));
  const std::string message = "InternalServerError: The engine is dead (code 500)";
  EXPECT_EQ(p.events, (std::vector<ResponseEvent>{Content("Hi", std::nullopt, true),
                                                  Error(ErrorClass::kInStream, message), Done()}));
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kInStream);
  EXPECT_EQ(p.error_text, message);
}

TEST(ResponseParserTest, NestedErrorMidStreamFailsTheRequest) {
  // The example of reference §3.1 (GuideLLM issue 743).
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse,
                         ReadWire("openai_nested_error_stream.sse"));
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{
                Content("Once", std::nullopt, true),
                Error(ErrorClass::kInStream, "GatewayTimeout: TimeoutError (code 504)"), Done()}));
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kInStream);
}

TEST(ResponseParserTest, TgiStreamCountsOneTokenPerEventAndReadsFinalDetails) {
  const Parsed p =
      Parse(Options(Provider::kTgi, false, true), 200, kSse, ReadWire("tgi_stream.sse"));
  // The special </s> token carries a token but no text.
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{Content("Hello", 1, true), Content(",", 1), Content("", 1),
                                        Finish("eos_token"), Usage(7, 3), Done()}));
  EXPECT_TRUE(p.succeeded);
}

TEST(ResponseParserTest, TgiErrorEventFailsTheRequest) {
  const Parsed p =
      Parse(Options(Provider::kTgi, false, true), 200, kSse, ReadWire("tgi_error_stream.sse"));
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{
                Content("Hi", 1, true),
                Error(ErrorClass::kInStream,
                      "generation: Request failed during generation: Server error: CUDA out of "
                      "memory")}));
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kInStream);
}

TEST(ResponseParserTest, TritonGenerateStreamWithAnErrorEvent) {
  const Parsed p = Parse(Options(Provider::kTritonGenerate, false, true), 200, kSse,
                         ReadWire("triton_generate_stream_error.sse"));
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{Content("The", std::nullopt, true), Content(" sky"),
                                        Error(ErrorClass::kInStream,
                                              "in ensemble 'ensemble', Executor failed to process "
                                              "request 5: out of KV cache blocks")}));
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kInStream);
}

TEST(ResponseParserTest, TritonGenerateStreamEndsWithTheBody) {
  const RequestOptions o = Options(Provider::kTritonGenerate, false, true);
  const std::string body = ReadWire("triton_generate_stream.sse");
  const Parsed p = Parse(o, 200, kSse, body);
  EXPECT_EQ(p.events, (std::vector<ResponseEvent>{Content("The", std::nullopt, true),
                                                  Content(" sky"), Content(" is blue"), Done()}));
  EXPECT_TRUE(p.succeeded);
  // Triton has no end marker: when the transport says the body was cut, the stream was cut.
  const Parsed cut = Parse(o, 200, kSse, body, 0, {}, /*body_complete=*/false);
  EXPECT_FALSE(cut.succeeded);
  EXPECT_EQ(cut.error, ErrorClass::kClosedMidStream);
  EXPECT_EQ(cut.error_text, "stream cut between events");
}

TEST(ResponseParserTest, OneByteAtATimeGivesTheSameEventsAsWhole) {
  struct Case {
    RequestOptions options;
    std::string fixture;
    std::string_view type;
  };
  const std::vector<Case> cases = {
      {Options(Provider::kOpenAi, true, true), "openai_chat_stream_usage.sse", kSse},
      {Options(Provider::kOpenAi, false, true), "openai_completions_stream_usage.sse", kSse},
      {Options(Provider::kVllm, true, true), "vllm_flat_error_stream.sse", kSse},
      {Options(Provider::kOpenAi, true, true), "openai_nested_error_stream.sse", kSse},
      {Options(Provider::kTgi, false, true), "tgi_stream.sse", kSse},
      {Options(Provider::kTgi, false, true), "tgi_error_stream.sse", kSse},
      {Options(Provider::kTritonGenerate, false, true), "triton_generate_stream_error.sse", kSse},
      {Options(Provider::kTritonGenerate, false, true), "triton_generate_stream.sse", kSse},
      {Options(Provider::kOpenAi, true, false), "openai_chat.json", kJson},
      {Options(Provider::kTgi, false, false), "tgi_generate.json", kJson},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fixture);
    const std::string body = ReadWire(c.fixture);
    const Parsed whole = Parse(c.options, 200, c.type, body);
    ASSERT_FALSE(whole.events.empty());
    for (size_t step : {1, 2, 7}) {
      const Parsed split = Parse(c.options, 200, c.type, body, step);
      EXPECT_EQ(split.events, whole.events) << "step " << step;
      EXPECT_EQ(split.succeeded, whole.succeeded);
      EXPECT_EQ(split.error, whole.error);
    }
  }
}

TEST(ResponseParserTest, StreamCutMidEventIsClosedMidStream) {
  const std::string body = ReadWire("openai_chat_stream_usage.sse");
  const size_t cut = body.find("{\"content\":\"!\"}");  // inside the fourth event
  ASSERT_NE(cut, std::string::npos);
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse, body.substr(0, cut), 1);
  EXPECT_EQ(p.events, (std::vector<ResponseEvent>{
                          Content("Hel", 1, true), Content("lo w\xC3\xB6rld", 2),
                          Error(ErrorClass::kClosedMidStream, "stream cut inside an event")}));
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kClosedMidStream);
}

TEST(ResponseParserTest, StreamEndingBetweenEventsWithoutDoneIsClosedMidStream) {
  const std::string body = ReadWire("openai_chat_stream_usage.sse");
  const size_t cut = body.find("data: {", body.find("lo w"));  // just before the fourth event
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse, body.substr(0, cut));
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kClosedMidStream);
  EXPECT_EQ(p.error_text, "stream ended without [DONE] or a finish reason");
}

TEST(ResponseParserTest, FinishReasonWithoutDoneIsAProperEnd) {
  // Cut after the finish_reason chunk: the usage chunk and [DONE] never come (§3.1 rule).
  const std::string body = ReadWire("openai_chat_stream_usage.sse");
  const size_t cut = body.find("data: {", body.find("\"length\""));
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse, body.substr(0, cut), 0,
                         {}, /*body_complete=*/false);
  EXPECT_TRUE(p.succeeded);
  EXPECT_EQ(p.events.back(), Finish("length"));
}

TEST(ResponseParserTest, LastEventWithoutTheFinalBlankLineIsStillRead) {
  const std::string body =
      "data: {\"choices\":[{\"index\":0,\"text\":\"ok\",\"finish_reason\":null}]}\n\n"
      "data: [DONE]\n";
  const Parsed p = Parse(Options(Provider::kOpenAi, false, true), 200, kSse, body);
  EXPECT_EQ(p.events, (std::vector<ResponseEvent>{Content("ok", std::nullopt, true), Done()}));
  EXPECT_TRUE(p.succeeded);
}

TEST(ResponseParserTest, StreamWithoutContentFails) {
  const std::string body =
      "data: "
      "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}"
      "\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":null},\"finish_reason\":\"stop\"}]}"
      "\n\n"
      "data: [DONE]\n\n";
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse, body);
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{Finish("stop"), Done(),
                                        Error(ErrorClass::kOther, "no content in the response")}));
  EXPECT_FALSE(p.succeeded);
}

TEST(ResponseParserTest, MalformedEventsAreMalformedStream) {
  const std::string body =
      "data: {not json\n\n"
      "data: {\"id\":1}\n\n"
      "data: {\"choices\":{\"text\":\"x\"}}\n\n"
      "data: [DONE]\n\n";
  const Parsed p = Parse(Options(Provider::kOpenAi, false, true), 200, kSse, body);
  EXPECT_EQ(p.events,
            (std::vector<ResponseEvent>{
                Error(ErrorClass::kMalformedStream, "malformed event: not JSON: {not json"),
                Error(ErrorClass::kMalformedStream, "malformed event: no 'choices': {\"id\":1}"),
                Error(ErrorClass::kMalformedStream,
                      "malformed event: 'choices' is not an array: {\"choices\":{\"text\":\"x\"}}"),
                Done()}));
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kMalformedStream);
  EXPECT_EQ(p.error_text, "malformed event: not JSON: {not json");
}

TEST(ResponseParserTest, SseErrorEventTypeIsAnError) {
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse,
                         "event: error\ndata: {\"message\": \"boom\"}\n\n");
  EXPECT_EQ(p.events, (std::vector<ResponseEvent>{Error(ErrorClass::kInStream, "boom")}));
  EXPECT_EQ(p.error, ErrorClass::kInStream);
}

TEST(ResponseParserTest, OversizedEventIsAClientLimit) {
  const std::string body = "data: " + std::string(SseParser::kDefaultMaxEventBytes, 'x');
  const Parsed p = Parse(Options(Provider::kOpenAi, false, true), 200, kSse, body);
  EXPECT_FALSE(p.succeeded);
  EXPECT_EQ(p.error, ErrorClass::kOther);
  EXPECT_EQ(p.events.size(), 1u);
}

TEST(ResponseParserTest, DeeplyNestedJsonDoesNotCrash) {
  // 100 000 nested lists as an error "message": written out, it would recurse 100 000 deep.
  const std::string nested = std::string(100000, '[') + std::string(100000, ']');
  const Parsed p = Parse(Options(Provider::kOpenAi, true, true), 200, kSse,
                         "data: {\"error\": {\"message\": " + nested + "}}\n\n");
  EXPECT_EQ(p.error, ErrorClass::kInStream);
  EXPECT_EQ(p.error_text, "(deeply nested JSON)");
  const std::string small = std::string(20000, '[') + std::string(20000, ']');
  EXPECT_EQ(SummarizeErrorBody("{\"detail\": " + small + "}"), "(deeply nested JSON)");
  const Parsed wrapped = Parse(Options(Provider::kTgi, false, false), 200, kJson,
                               "[{\"generated_text\": \"x\", \"details\": " + nested + "}]");
  EXPECT_TRUE(wrapped.succeeded);
}

TEST(ResponseParserTest, MutatedStreamsNeverCrashAndEndConsistently) {
  // Seeded corruption of every fixture (bytes replaced by framing characters, ranges deleted,
  // the body cut), fed in random slices to every provider's parser. Whatever happens, the
  // parser must end with succeeded() exactly when no error was recorded, and a bounded text.
  const std::vector<std::string> fixtures = {"openai_chat_stream_usage.sse",
                                             "openai_completions_stream_usage.sse",
                                             "vllm_flat_error_stream.sse",
                                             "openai_nested_error_stream.sse",
                                             "tgi_stream.sse",
                                             "tgi_error_stream.sse",
                                             "triton_generate_stream.sse",
                                             "triton_generate_stream_error.sse",
                                             "openai_chat.json",
                                             "tgi_generate.json",
                                             "together_output.json",
                                             "triton_infer.json",
                                             "error_nginx_502.html"};
  std::vector<std::string> bodies;
  for (const std::string& f : fixtures) bodies.push_back(ReadWire(f));
  constexpr std::string_view kNoise =
      "\r\n:{}[]\",\\ \xC3\xFF"
      "0a";
  Rng rng(20240611);
  for (int iter = 0; iter < 2000; ++iter) {
    std::string body = bodies[rng.UniformInt(bodies.size())];
    const int edits = static_cast<int>(rng.UniformInt(4));
    for (int k = 0; k < edits && !body.empty(); ++k) {
      const size_t at = rng.UniformInt(body.size());
      switch (rng.UniformInt(3)) {
        case 0:
          body[at] = kNoise[rng.UniformInt(kNoise.size())];
          break;
        case 1:
          body.erase(at, rng.UniformInt(16) + 1);
          break;
        default:
          body.resize(at);
          break;
      }
    }
    const Provider provider = kAllProviders[rng.UniformInt(std::size(kAllProviders))];
    RequestOptions o = Options(provider, false, rng.UniformInt(2) == 1);
    const long status = rng.UniformInt(5) == 0 ? 503 : 200;
    const std::string_view type = rng.UniformInt(2) == 1 ? kSse : kJson;
    ResponseParser parser(o, status, type, "Hello world,");
    for (size_t i = 0; i < body.size();) {
      const size_t n = rng.UniformInt(64) + 1;
      (void)parser.Feed(std::string_view(body).substr(i, n));
      i += n;
    }
    (void)parser.Finish(rng.UniformInt(2) == 1);
    ASSERT_EQ(parser.succeeded(), parser.error_class() == ErrorClass::kNone) << body;
    if (!parser.succeeded()) {
      EXPECT_FALSE(parser.error_text().empty());
      EXPECT_LE(parser.error_text().size(), kMaxErrorTextBytes);
    }
  }
}

// ----- Whole bodies ------------------------------------------------------------------------------

TEST(ResponseParserTest, NonStreamingBodies) {
  struct Case {
    RequestOptions options;
    std::string fixture;
    std::string prompt;
    std::vector<ResponseEvent> expected;
  };
  const std::vector<Case> cases = {
      {Options(Provider::kOpenAi, true, false),
       "openai_chat.json",
       "",
       {Content("Paris.", std::nullopt, true), Finish("stop"), Usage(9, 2), Done()}},
      {Options(Provider::kOpenAi, false, false),
       "openai_completions_logprobs.json",
       "",
       {Content(" Paris", 2, true), Finish("length"), Usage(5, 2), Done()}},
      {Options(Provider::kTogether, false, false),
       "together_output.json",
       "",
       {Content(" world", std::nullopt, true), Finish("length"), Usage(1, 2), Done()}},
      {Options(Provider::kTgi, false, false),
       "tgi_generate.json",
       "",
       {Content(" world!", 2, true), Finish("length"), Usage(std::nullopt, 2), Done()}},
      // Triton echoes the prompt: "<s> Hello world, it is nice" less "<s> ", the prompt, " ".
      {Options(Provider::kTritonGenerate, false, false),
       "triton_generate.json",
       "Hello world,",
       {Content("it is nice", std::nullopt, true), Done()}},
      {Options(Provider::kTritonGenerate, false, false),
       "triton_generate.json",
       "Bye",
       {Content("Hello world, it is nice", std::nullopt, true), Done()}},
      {Options(Provider::kTritonInfer, false, false),
       "triton_infer.json",
       "Hello world,",
       {Content("it is nice", std::nullopt, true), Done()}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fixture + " / " + c.prompt);
    const Parsed p = Parse(c.options, 200, kJson, ReadWire(c.fixture), 0, c.prompt);
    EXPECT_EQ(p.events, c.expected);
    EXPECT_TRUE(p.succeeded);
  }
}

TEST(ResponseParserTest, NonStreamingBodyCutByTheTransport) {
  const std::string body = ReadWire("openai_chat.json");
  const Parsed p = Parse(Options(Provider::kOpenAi, true, false), 200, kJson, body.substr(0, 50), 0,
                         {}, /*body_complete=*/false);
  EXPECT_EQ(p.error, ErrorClass::kClosedMidStream);
  EXPECT_EQ(p.error_text, "body cut after 50 bytes");
  const Parsed garbage =
      Parse(Options(Provider::kOpenAi, true, false), 200, kJson, body.substr(0, 50));
  EXPECT_EQ(garbage.error, ErrorClass::kMalformedStream);
}

TEST(ResponseParserTest, ContentTypeDecidesTheFraming) {
  // A stream was asked for, but the server answered 200 with one JSON error object.
  const Parsed error = Parse(Options(Provider::kVllm, true, true), 200, "application/json",
                             ReadWire("error_vllm_flat_400.json"));
  EXPECT_EQ(error.error, ErrorClass::kInStream);
  // ... or with a whole chat completion: it is read as one.
  const Parsed whole = Parse(Options(Provider::kOpenAi, true, true), 200, "Application/JSON",
                             ReadWire("openai_chat.json"));
  EXPECT_TRUE(whole.succeeded);
  // No stream was asked for, but the server streamed.
  const Parsed stream = Parse(Options(Provider::kOpenAi, true, false), 200, kSse,
                              ReadWire("openai_chat_stream_usage.sse"));
  EXPECT_TRUE(stream.succeeded);
  EXPECT_EQ(stream.events.size(), 6u);
}

TEST(ResponseParserTest, HttpErrorsCarryTheStatusClassAndAShortText) {
  struct Case {
    long status;
    std::string fixture;
    ErrorClass error;
    std::string text;
  };
  const std::vector<Case> cases = {
      {400, "error_vllm_flat_400.json", ErrorClass::kHttp4xx,
       "BadRequestError: This model's maximum context length is 4096 tokens. However, you "
       "requested 5000 tokens. (code 400)"},
      {404, "error_openai_nested_404.json", ErrorClass::kHttp4xx,
       "NotFoundError: The model `gpt-5` does not exist (code 404)"},
      {429, "error_tgi_429.json", ErrorClass::kHttp429, "overloaded: Model is overloaded"},
      {502, "error_nginx_502.html", ErrorClass::kHttp5xx, "502 Bad Gateway"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fixture);
    const Parsed p = Parse(Options(Provider::kOpenAi, true, true), c.status, "text/html",
                           ReadWire(c.fixture), 3);
    EXPECT_EQ(p.events, std::vector<ResponseEvent>{Error(c.error, c.text)});
    EXPECT_FALSE(p.succeeded);
    EXPECT_EQ(p.error, c.error);
  }
}

TEST(ResponseParserTest, NothingAfterFinish) {
  ResponseParser parser(Options(Provider::kOpenAi, false, true), 200, kSse);
  // Only the first end-of-body failure is reported: closed mid-stream (not also "no content").
  EXPECT_EQ(parser.Finish().size(), 1u);
  EXPECT_TRUE(parser.Feed("data: [DONE]\n\n").empty());
  EXPECT_TRUE(parser.Finish().empty());
  EXPECT_EQ(parser.error_class(), ErrorClass::kClosedMidStream);
}

// ----- Error texts -------------------------------------------------------------------------------

TEST(SummarizeErrorBodyTest, JsonShapes) {
  EXPECT_EQ(SummarizeErrorBody(R"({"detail":"Not Found"})"), "Not Found");
  EXPECT_EQ(SummarizeErrorBody(R"({"message":"rate limited"})"), "rate limited");
  EXPECT_EQ(SummarizeErrorBody(R"({"error":"model not ready"})"), "model not ready");
  EXPECT_EQ(SummarizeErrorBody(R"({"error":{"message":"bad","code":"invalid_key"}})"),
            "bad (code invalid_key)");
  EXPECT_EQ(SummarizeErrorBody(R"({"detail":[{"loc":["body"],"msg":"field required"}]})"),
            R"([{"loc":["body"],"msg":"field required"}])");
  EXPECT_EQ(SummarizeErrorBody(R"([1, 2])"), "[1,2]");
}

TEST(SummarizeErrorBodyTest, TextAndMarkup) {
  EXPECT_EQ(SummarizeErrorBody(""), "empty body");
  EXPECT_EQ(SummarizeErrorBody(" \r\n\t"), "empty body");
  EXPECT_EQ(SummarizeErrorBody("upstream connect error\r\n  or disconnect/reset before headers\n"),
            "upstream connect error or disconnect/reset before headers");
  EXPECT_EQ(SummarizeErrorBody("<html><body><h1>503 Service Unavailable</h1>\nNo server is "
                               "available.</body></html>"),
            "503 Service Unavailable No server is available.");
  EXPECT_EQ(SummarizeErrorBody("{not json at all"), "{not json at all");
  EXPECT_EQ(SummarizeErrorBody("bad \xFF\xC3 bytes\x01"), "bad ?? bytes");
}

TEST(SummarizeErrorBodyTest, HugeBodiesAreCutAtACharacterBoundary) {
  // 100 000 copies of "é" (2 bytes): the cut keeps whole characters and ends in "...".
  std::string huge;
  for (int i = 0; i < 100000; ++i) huge += "\xC3\xA9";
  const std::string text = SummarizeErrorBody(huge);
  ASSERT_LE(text.size(), kMaxErrorTextBytes);
  // (240 - 3) bytes of room hold 118 whole characters (236 bytes).
  std::string expected;
  for (int i = 0; i < 118; ++i) expected += "\xC3\xA9";
  EXPECT_EQ(text, expected + "...");
  EXPECT_EQ(SummarizeErrorBody("abcdefghijklmnop", 10), "abcdefg...");
}

}  // namespace
}  // namespace llmrca::load
