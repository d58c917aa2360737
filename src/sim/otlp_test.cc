#include "sim/otlp.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace llmrca::sim {
namespace {

using Json = nlohmann::json;

TEST(OtlpTest, ParsesAndFormatsTheW3cTraceparentExample) {
  // The example of the W3C Trace Context specification, section 3.2.
  const std::string example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto c = ParseTraceparent(example);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->trace_id[0], 0x4b);
  EXPECT_EQ(c->trace_id[15], 0x36);
  EXPECT_EQ(c->span_id[0], 0x00);
  EXPECT_EQ(c->span_id[1], 0xf0);
  EXPECT_EQ(c->span_id[7], 0xb7);
  EXPECT_TRUE(c->sampled);
  EXPECT_EQ(FormatTraceparent(*c), example);
  EXPECT_FALSE(ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")->sampled);
}

TEST(OtlpTest, RejectsMalformedTraceparents) {
  for (const char* bad : {
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero span id
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // v00 has no more fields
           "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",   // short
           "",
       }) {
    EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
  }
  // A later version may append fields.
  EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ab").has_value());
}

TEST(OtlpTest, NewIdsAreNonZeroAndDiffer) {
  std::mt19937_64 rng(3);
  const TraceId a = NewTraceId(rng), b = NewTraceId(rng);
  EXPECT_NE(a, TraceId{});
  EXPECT_NE(a, b);
  EXPECT_NE(NewSpanId(rng), SpanId{});
}

TEST(OtlpTest, EncodesAnExportTraceServiceRequestAsOtlpJson) {
  Span s;
  s.trace_id = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")->trace_id;
  s.span_id = {1, 2, 3, 4, 5, 6, 7, 8};
  s.parent_span_id = {0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
  s.name = "llm_request";
  s.kind = SpanKind::kServer;
  s.start_unix_ns = 1700000000123456789ULL;
  s.end_unix_ns = 1700000001000000000ULL;
  s.attributes = {{"gen_ai.usage.completion_tokens", int64_t{42}},
                  {"gen_ai.response.model", std::string("llama-3-8b")},
                  {"gen_ai.latency.e2e", 0.5}};
  s.error = true;
  s.status_message = "boom";
  Span root;
  root.trace_id = s.trace_id;
  root.span_id = {9, 9, 9, 9, 9, 9, 9, 9};
  root.name = "POST /v1/completions";
  const Span spans[] = {s, root};
  const Json j = Json::parse(OtlpTraceJson(spans, "ray-replicas-0", {{"host.name", "sim"}}));
  const Json& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0],
            Json::parse(R"({"key":"service.name","value":{"stringValue":"ray-replicas-0"}})"));
  EXPECT_EQ(rs["resource"]["attributes"][1]["key"], "host.name");
  EXPECT_EQ(rs["scopeSpans"][0]["scope"]["name"], "llmrca.serve-sim");
  const Json& a = rs["scopeSpans"][0]["spans"][0];
  EXPECT_EQ(a["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(a["spanId"], "0102030405060708");
  EXPECT_EQ(a["parentSpanId"], "00f067aa0ba902b7");
  EXPECT_EQ(a["kind"], 2);
  EXPECT_EQ(a["startTimeUnixNano"], "1700000000123456789");
  EXPECT_EQ(a["endTimeUnixNano"], "1700000001000000000");
  EXPECT_EQ(a["attributes"][0], Json::parse(R"({"key":"gen_ai.usage.completion_tokens","value":{"intValue":"42"}})"));
  EXPECT_EQ(a["attributes"][1]["value"]["stringValue"], "llama-3-8b");
  EXPECT_EQ(a["attributes"][2]["value"]["doubleValue"], 0.5);
  EXPECT_EQ(a["status"], Json::parse(R"({"code":2,"message":"boom"})"));
  const Json& b = rs["scopeSpans"][0]["spans"][1];
  EXPECT_FALSE(b.contains("parentSpanId"));  // a root span
  EXPECT_EQ(b["kind"], 1);
  EXPECT_EQ(b["status"], Json::object());
}

}  // namespace
}  // namespace llmrca::sim
