// The wire formats of the LLM serving APIs that `llmrca load` drives, under the seed's provider
// names (reference/load-testing.md §1.3, §3): building the HTTP request for one prompt, parsing
// the response body incrementally into content / usage / finish / done / error events, the
// success rule of §3.1, and one-line error texts for failed responses. Pure functions of bytes:
// no sockets, no clocks (the HTTP engine times the events it gets back).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "load/error_class.h"
#include "load/sse.h"

namespace llmrca::load {

// The seed's providers (reference §1.3). kOpenAi and kAnyscale share one format; kVllm,
// kFireworks and kTogether are OpenAI plus a few fields.
enum class Provider {
  kOpenAi,
  kVllm,
  kFireworks,
  kTogether,
  kAnyscale,
  kTgi,
  kTritonInfer,
  kTritonGenerate,
};

inline constexpr Provider kAllProviders[] = {
    Provider::kOpenAi,   Provider::kVllm, Provider::kFireworks,   Provider::kTogether,
    Provider::kAnyscale, Provider::kTgi,  Provider::kTritonInfer, Provider::kTritonGenerate};

// The seed's name: "openai", "vllm", "fireworks", "together", "anyscale", "tgi", "triton-infer",
// "triton-generate".
std::string_view ProviderName(Provider provider);

// The inverse of ProviderName. kInvalidArgument for an unknown name, with a "did you mean".
Result<Provider> ProviderFromName(std::string_view name);

// Every provider name, in kAllProviders order (for --help).
std::vector<std::string> ProviderNames();

// What a provider supports, and the seed's defaults for the optional body fields.
struct ProviderTraits {
  bool chat = false;               // has a chat endpoint (--chat)
  bool stream = false;             // has a streaming endpoint (--stream)
  bool logprobs = false;           // accepts --logprobs
  bool ignore_eos = false;         // sends "ignore_eos": true by default (vllm, together)
  bool min_tokens = false;         // sends "min_tokens": max_tokens by default (fireworks)
  bool include_usage = false;      // sends stream_options.include_usage by default (none do)
  std::string_view default_model;  // used when RequestOptions::model is empty ("" = not sent)
};
ProviderTraits TraitsOf(Provider provider);

// How to build every request of a run.
struct RequestOptions {
  Provider provider = Provider::kOpenAi;
  // Model name for the body (OpenAI family) or the URL (Triton). Empty: the OpenAI family and TGI
  // omit it (the server's default model); Triton uses "ensemble", as the seed does.
  std::string model;
  bool chat = false;    // OpenAI family only: /v1/chat/completions instead of /v1/completions
  bool stream = false;  // the streaming endpoint or "stream": true
  double temperature = 1.0;
  // OpenAI completions: "logprobs": N. OpenAI chat: "logprobs": true (as the seed's
  // "--logprobs true"). TGI: "top_n_tokens": N and "details": true. Triton: not supported.
  std::optional<int> logprobs;
  // OpenAI family extras; nullopt takes the provider's default from TraitsOf().
  std::optional<bool> ignore_eos;     // "ignore_eos": true (a vLLM extra parameter)
  std::optional<bool> min_tokens;     // "min_tokens": <the request's max_tokens> (vLLM, Fireworks)
  std::optional<bool> include_usage;  // "stream_options": {"include_usage": true}, streams only
  // A JSON object whose members are set at the top level of the body after ours (they win), as
  // vLLM bench's --extra-body. Empty: none.
  std::string extra_body;
};

// One HTTP request, less the base URL and the Authorization header (the engine adds both).
struct HttpRequest {
  std::string path;  // starts with '/', appended to the base URL, e.g. "/v1/chat/completions"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // JSON
};

// Builds requests for one run's options. Immutable after Create(): Build() is const and
// thread-safe.
class RequestBuilder {
 public:
  // Checks the options against the provider: chat, streaming or logprobs where the provider has
  // none, a negative logprobs, a negative or non-finite temperature, an OpenAI-only field
  // (ignore_eos, min_tokens, include_usage) set for TGI or Triton, or extra_body that is not a
  // JSON object give kInvalidArgument.
  static Result<RequestBuilder> Create(const RequestOptions& options);

  // The request for one prompt. The body follows §1.3 exactly, field for field; a prompt that
  // is not valid UTF-8 has its bad bytes replaced by U+FFFD. max_tokens should be >= 1.
  HttpRequest Build(std::string_view prompt, int64_t max_tokens) const;

  // The parts of Build() for the engine's hot path. Body() splices the escaped prompt and
  // max_tokens into a body template made once by Create(), so a request costs one JSON escape
  // of the prompt instead of a JSON document; path() and headers() are the same for every
  // request of a run.
  std::string Body(std::string_view prompt, int64_t max_tokens) const;
  const std::string& path() const { return path_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

  // Body() the slow way, through a JSON document. Body() equals it byte for byte (tested on
  // every provider and on prompts with escapes and invalid UTF-8); Create() falls back to it
  // when a template cannot be made.
  std::string BodyFromJson(std::string_view prompt, int64_t max_tokens) const;
  bool templated() const { return !template_.empty(); }  // Body() takes the fast path

  const RequestOptions& options() const { return options_; }

 private:
  explicit RequestBuilder(RequestOptions options);
  void MakeTemplate();

  // One piece of the body template: literal text, then what goes after it.
  enum class Slot { kEnd, kPrompt, kMaxTokens };
  struct Piece {
    std::string literal;
    Slot slot = Slot::kEnd;
  };

  RequestOptions options_;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> headers_;
  bool ignore_eos_ = false;
  bool min_tokens_ = false;
  bool include_usage_ = false;
  std::vector<Piece> template_;  // empty: use BodyFromJson()
};

// Appends `s` to `out` as a JSON string literal, quotes included, exactly as nlohmann::json's
// dump(-1, ' ', false, replace) writes it: raw UTF-8, short escapes for " \ \b \f \n \r \t,
// \u00xx for other control characters, each invalid UTF-8 sequence replaced by U+FFFD.
void AppendJsonString(std::string& out, std::string_view s);

// What one piece of a response means.
enum class EventKind {
  kContent,  // generated text (and/or tokens)
  kUsage,    // token counts reported by the server
  kFinish,   // a finish reason ("length", "stop", "eos_token", ...)
  kDone,     // the response ended properly (see ResponseParser)
  kError,    // the request failed; `error` says how
};

// One event found in the response. Fields not listed for a kind keep their defaults.
struct ResponseEvent {
  EventKind kind = EventKind::kContent;
  // kContent: the text (empty only when `tokens` is set: a token that prints nothing, e.g. a
  // TGI special token). kFinish: the finish reason. kError: a one-line message.
  std::string text;
  // kContent: the number of tokens the chunk carries when the wire says so (logprobs entries,
  // or 1 per TGI event); nullopt when it does not.
  std::optional<int64_t> tokens;
  bool first_content = false;  // kContent: the first chunk of the response with non-empty text
  std::optional<int64_t> prompt_tokens;      // kUsage
  std::optional<int64_t> completion_tokens;  // kUsage
  ErrorClass error = ErrorClass::kNone;      // kError

  bool operator==(const ResponseEvent&) const = default;
};

// Turns one response body into events as its bytes arrive. The engine creates it once the
// status line and headers are in, calls Feed() with each slice of the body and Finish() once at
// its end; every call returns the events completed by it (the engine stamps them with its
// clock). Not thread-safe; one parser per response.
//
// Framing: a Content-Type of text/event-stream is parsed as SSE whatever was asked; a JSON
// Content-Type as one JSON document; anything else (or none) as the request asked (`stream`).
// A non-2xx body is kept (its first 64 KiB) and Finish() reports one kError with the class of
// the status (ErrorClassFromHttpStatus) and SummarizeErrorBody() of it.
//
// Errors: an error object in a 2xx body or stream is kInStream: OpenAI's nested
// {"error":{"message",...}}, vLLM's flat {"object":"error","message",...}, TGI's and Triton's
// {"error":"...", "error_type"?} and an SSE event of type "error". A body or event that is not
// the provider's format is kMalformedStream. A stream that ends without a proper end is
// kClosedMidStream. An event or body over the size limits is kOther (a client-side limit).
// A response that ends properly without any non-empty content is kOther ("no content").
//
// Proper end ("done"): OpenAI family streams: "data: [DONE]" or a finish_reason. TGI streams:
// the final event (generated_text set) or [DONE]. Triton generate_stream has no end marker: the
// body ending cleanly after the last complete event. Non-streaming: the whole body parsed.
class ResponseParser {
 public:
  // Bodies over this size (non-streaming JSON) are refused as a client-side limit.
  static constexpr size_t kMaxBodyBytes = size_t{64} << 20;

  // `prompt` is only needed to strip the prompt that Triton echoes in non-streamed output.
  ResponseParser(const RequestOptions& request, long http_status, std::string_view content_type,
                 std::string_view prompt = {});

  std::vector<ResponseEvent> Feed(std::string_view bytes);

  // Ends the body. `body_complete` is false when the transport says the body was cut (reset
  // connection, short chunked body); a stream that had already ended properly still succeeds.
  // Call once; later Feed() and Finish() calls return nothing.
  std::vector<ResponseEvent> Finish(bool body_complete = true);

  // The §3.1 success rule, valid after Finish(): 2xx status, no error object, at least one
  // chunk with non-empty content, and a proper end.
  bool succeeded() const { return finished_ && error_ == ErrorClass::kNone; }
  // The class of the first error (kNone while none was seen) and its message.
  ErrorClass error_class() const { return error_; }
  const std::string& error_text() const { return error_text_; }
  bool saw_content() const { return saw_content_; }
  bool saw_done() const { return saw_done_; }
  // The last finish reason the server gave ("" when none).
  const std::string& finish_reason() const { return finish_reason_; }

 private:
  void HandleSseEvent(const SseEvent& event, std::vector<ResponseEvent>& out);
  void HandleBody(std::string_view body, std::vector<ResponseEvent>& out);
  void AddError(ErrorClass error, std::string text, std::vector<ResponseEvent>& out);
  void AddContent(std::string text, std::optional<int64_t> tokens, std::vector<ResponseEvent>& out);
  void AddFinish(std::string reason, std::vector<ResponseEvent>& out);
  void AddDone(std::vector<ResponseEvent>& out);
  // Interprets one JSON document (an SSE event's data or a whole body).
  void HandleJson(std::string_view text, bool in_stream, std::vector<ResponseEvent>& out);

  Provider provider_;
  long http_status_;
  bool http_ok_;
  bool sse_;
  std::string prompt_;  // kept for Triton's echo only
  SseParser sse_parser_;
  std::string body_;  // non-SSE body, or the head of an error body
  bool body_overflow_ = false;
  bool finished_ = false;
  bool saw_content_ = false;
  bool saw_done_ = false;
  bool saw_finish_ = false;
  std::string finish_reason_;
  ErrorClass error_ = ErrorClass::kNone;
  std::string error_text_;
};

// Longest error text that SummarizeErrorBody and the parser produce, in bytes, "..." included.
inline constexpr size_t kMaxErrorTextBytes = 240;

// A short one-line description of an error body: the message (with its type and code) from any
// of the JSON error shapes above or FastAPI's {"detail": ...}; the <title> of an HTML page (a
// proxy's 502/503/504); else the text itself. Whitespace and control characters collapse to
// single spaces, invalid UTF-8 bytes become '?', and the result is cut at a character boundary
// to at most max_bytes (>= 8), ending in "..." when cut. Only the first 64 KiB of a huge body
// are looked at. "empty body" for an empty one.
std::string SummarizeErrorBody(std::string_view body, size_t max_bytes = kMaxErrorTextBytes);

}  // namespace llmrca::load
