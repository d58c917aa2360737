// ErrorClass: why one load-generator request failed, one class per request, counted once each in
// the summary. Shared by the wire parsers (provider.h), the HTTP engine and the summary.
#pragma once

#include <optional>
#include <string_view>

namespace llmrca::load {

enum class ErrorClass {
  kNone = 0,         // the request succeeded
  kRefused,          // the connection was refused or could not be made (DNS, no route)
  kTimeout,          // the request's time limit passed (connect, first byte or whole request)
  kHttp4xx,          // a 4xx status other than 429
  kHttp429,          // 429 Too Many Requests (TGI and proxies when overloaded)
  kHttp5xx,          // a 5xx status
  kInStream,         // an error object inside a 2xx body or stream (vLLM, TGI, Triton)
  kMalformedStream,  // a body or SSE event that does not parse as the provider's format
  kClosedMidStream,  // the peer closed before the stream ended ([DONE] or a finish reason)
  kOther,            // anything else (TLS failure, client-side limit, interrupted run)
};

// Every class in declaration order, kNone first.
inline constexpr ErrorClass kAllErrorClasses[] = {
    ErrorClass::kNone,    ErrorClass::kRefused,  ErrorClass::kTimeout,
    ErrorClass::kHttp4xx, ErrorClass::kHttp429,  ErrorClass::kHttp5xx,
    ErrorClass::kInStream, ErrorClass::kMalformedStream, ErrorClass::kClosedMidStream,
    ErrorClass::kOther};

// The stable snake_case name written to JSONL, JSON and CSV ("none", "refused", "timeout",
// "http_4xx", "http_429", "http_5xx", "in_stream", "malformed_stream", "closed_mid_stream",
// "other").
constexpr std::string_view ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kNone: return "none";
    case ErrorClass::kRefused: return "refused";
    case ErrorClass::kTimeout: return "timeout";
    case ErrorClass::kHttp4xx: return "http_4xx";
    case ErrorClass::kHttp429: return "http_429";
    case ErrorClass::kHttp5xx: return "http_5xx";
    case ErrorClass::kInStream: return "in_stream";
    case ErrorClass::kMalformedStream: return "malformed_stream";
    case ErrorClass::kClosedMidStream: return "closed_mid_stream";
    case ErrorClass::kOther: return "other";
  }
  return "other";
}

// The inverse of ErrorClassName; nullopt for an unknown name.
constexpr std::optional<ErrorClass> ErrorClassFromName(std::string_view name) {
  for (ErrorClass c : kAllErrorClasses) {
    if (ErrorClassName(c) == name) return c;
  }
  return std::nullopt;
}

// The class of a completed HTTP exchange from its status alone: kNone for 2xx.
constexpr ErrorClass ErrorClassFromHttpStatus(long status) {
  if (status >= 200 && status < 300) return ErrorClass::kNone;
  if (status == 429) return ErrorClass::kHttp429;
  if (status >= 400 && status < 500) return ErrorClass::kHttp4xx;
  if (status >= 500 && status < 600) return ErrorClass::kHttp5xx;
  return ErrorClass::kOther;
}

}  // namespace llmrca::load
