// Traces of the simulated stack in OpenTelemetry's wire format: spans with W3C trace-context
// propagation (the `traceparent` header, https://www.w3.org/TR/trace-context/) and their
// encoding as an OTLP/JSON ExportTraceServiceRequest (opentelemetry-proto; ids as hex strings,
// times as decimal strings of Unix nanoseconds, enums as integers), which an OpenTelemetry
// collector accepts on POST /v1/traces. The router and every engine post their spans, so a
// request shows as proxy -> router -> engine in one trace.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace llmrca::sim {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct TraceContext {
  TraceId trace_id{};
  SpanId span_id{};  // the caller's span: the parent of the callee's
  bool sampled = true;
};

// A `traceparent` value: "00-<32 hex trace id>-<16 hex span id>-<2 hex flags>". nullopt when
// malformed, or when an id is all zeros (invalid per the specification).
std::optional<TraceContext> ParseTraceparent(std::string_view value);
std::string FormatTraceparent(const TraceContext& context);

// Random non-zero ids.
TraceId NewTraceId(std::mt19937_64& rng);
SpanId NewSpanId(std::mt19937_64& rng);

enum class SpanKind { kInternal = 1, kServer = 2, kClient = 3 };

struct Span {
  TraceId trace_id{};
  SpanId span_id{};
  SpanId parent_span_id{};  // all zeros: a root span
  std::string name;
  SpanKind kind = SpanKind::kInternal;
  uint64_t start_unix_ns = 0;
  uint64_t end_unix_ns = 0;
  std::vector<std::pair<std::string, std::variant<std::string, int64_t, double>>> attributes;
  bool error = false;  // status ERROR with `status_message`; else UNSET
  std::string status_message;
};

// One ExportTraceServiceRequest holding `spans` under one resource (service.name =
// `service_name`, plus `resource_attributes`) and one scope ("llmrca.serve-sim").
std::string OtlpTraceJson(std::span<const Span> spans, std::string_view service_name,
                          const std::vector<std::pair<std::string, std::string>>&
                              resource_attributes = {});

// Nanoseconds since the Unix epoch now.
uint64_t UnixNanos();

}  // namespace llmrca::sim
