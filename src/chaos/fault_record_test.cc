#include "chaos/fault_record.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace llmrca::chaos {
namespace {

TEST(FaultRecordTest, WritesTheCaseJsonFaultFieldsWithTargetAndOutcome) {
  FaultRecord r;
  r.type = "delay";
  r.target = "proxy 127.0.0.1:9000 -> 127.0.0.1:8001";
  r.params = {{"latency_ms", 1000.0}, {"jitter_ms", 100.0}, {"stream", std::string("downstream")},
              {"reset", false}};
  r.start = 1732500000;
  r.end = 1732500060.5;
  r.outcome = "completed";
  EXPECT_EQ(FaultRecordJson(r),
            R"({"end":1732500060.5,"outcome":"completed","params":{"jitter_ms":100.0,)"
            R"("latency_ms":1000.0,"reset":false,"stream":"downstream"},"start":1732500000.0,)"
            R"("target":"proxy 127.0.0.1:9000 -> 127.0.0.1:8001","type":"delay"})");
  EXPECT_GT(UnixSecondsNow(), 1.7e9);
}

}  // namespace
}  // namespace llmrca::chaos
