#include "sim/otlp.h"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace llmrca::sim {
namespace {

using Json = nlohmann::json;

template <size_t N>
std::string Hex(const std::array<uint8_t, N>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not allowed by the specification
}

template <size_t N>
bool ParseHex(std::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  bool nonzero = false;
  for (size_t i = 0; i < N; ++i) {
    const int hi = HexDigit(text[2 * i]), lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
    nonzero = nonzero || out[i] != 0;
  }
  return nonzero;
}

template <size_t N>
std::array<uint8_t, N> RandomId(std::mt19937_64& rng) {
  std::array<uint8_t, N> id{};
  do {
    for (size_t i = 0; i < N; i += 8) {
      const uint64_t v = rng();
      for (size_t j = 0; j < 8 && i + j < N; ++j) id[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
  } while (id == std::array<uint8_t, N>{});
  return id;
}

Json Attribute(const std::string& key, const std::variant<std::string, int64_t, double>& v) {
  Json value;
  if (const auto* s = std::get_if<std::string>(&v)) {
    value["stringValue"] = *s;
  } else if (const auto* i = std::get_if<int64_t>(&v)) {
    value["intValue"] = std::to_string(*i);  // int64 is a decimal string in OTLP/JSON
  } else {
    value["doubleValue"] = std::get<double>(v);
  }
  return Json{{"key", key}, {"value", value}};
}

}  // namespace

std::optional<TraceContext> ParseTraceparent(std::string_view value) {
  // version "00": exactly 55 characters; a later version may append fields after the flags.
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') {
    return std::nullopt;
  }
  if (value.substr(0, 2) == "ff" || HexDigit(value[0]) < 0 || HexDigit(value[1]) < 0) {
    return std::nullopt;
  }
  if (value.substr(0, 2) == "00" && value.size() != 55) return std::nullopt;
  TraceContext c;
  if (!ParseHex(value.substr(3, 32), c.trace_id) || !ParseHex(value.substr(36, 16), c.span_id)) {
    return std::nullopt;
  }
  const int f1 = HexDigit(value[53]), f2 = HexDigit(value[54]);
  if (f1 < 0 || f2 < 0) return std::nullopt;
  c.sampled = (f2 & 1) != 0;
  return c;
}

std::string FormatTraceparent(const TraceContext& c) {
  return fmt::format("00-{}-{}-{}", Hex(c.trace_id), Hex(c.span_id), c.sampled ? "01" : "00");
}

TraceId NewTraceId(std::mt19937_64& rng) { return RandomId<16>(rng); }
SpanId NewSpanId(std::mt19937_64& rng) { return RandomId<8>(rng); }

uint64_t UnixNanos() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string OtlpTraceJson(std::span<const Span> spans, std::string_view service_name,
                          const std::vector<std::pair<std::string, std::string>>& resource) {
  Json attrs = Json::array({Attribute("service.name", std::string(service_name))});
  for (const auto& [k, v] : resource) attrs.push_back(Attribute(k, v));
  Json list = Json::array();
  for (const Span& s : spans) {
    Json j;
    j["traceId"] = Hex(s.trace_id);
    j["spanId"] = Hex(s.span_id);
    if (s.parent_span_id != SpanId{}) j["parentSpanId"] = Hex(s.parent_span_id);
    j["name"] = s.name;
    j["kind"] = static_cast<int>(s.kind);
    j["startTimeUnixNano"] = std::to_string(s.start_unix_ns);
    j["endTimeUnixNano"] = std::to_string(s.end_unix_ns);
    Json a = Json::array();
    for (const auto& [k, v] : s.attributes) a.push_back(Attribute(k, v));
    j["attributes"] = std::move(a);
    j["status"] = s.error ? Json{{"code", 2}, {"message", s.status_message}} : Json::object();
    list.push_back(std::move(j));
  }
  Json out;
  out["resourceSpans"] = Json::array({Json{
      {"resource", {{"attributes", attrs}}},
      {"scopeSpans",
       Json::array({Json{{"scope", {{"name", "llmrca.serve-sim"}}}, {"spans", list}}})}}});
  return out.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace llmrca::sim
