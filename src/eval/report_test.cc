#include "eval/report.h"

#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "eval/evaluator.h"

namespace llmrca::eval {
namespace {

using ::testing::HasSubstr;

TEST(ReportTest, RankingJsonFollowsFormatsMd) {
  rca::Ranking r = {{"ray-head", "ctn_cpu", 41.5}, {"nginx-proxy", "", 2}};
  nlohmann::json doc = nlohmann::json::parse(RankingJson("baro", "ray-head_cpu/3", 0.25, r));
  EXPECT_EQ(doc["method"], "baro");
  EXPECT_EQ(doc["case"], "ray-head_cpu/3");
  EXPECT_DOUBLE_EQ(doc["seconds"].get<double>(), 0.25);
  ASSERT_EQ(doc["ranking"].size(), 2u);
  EXPECT_EQ(doc["ranking"][0]["service"], "ray-head");
  EXPECT_EQ(doc["ranking"][0]["indicator"], "ctn_cpu");
  EXPECT_DOUBLE_EQ(doc["ranking"][0]["score"].get<double>(), 41.5);
  EXPECT_TRUE(doc["ranking"][1]["indicator"].is_null());
  EXPECT_FALSE(doc.contains("error"));
}

TEST(ReportTest, RankingJsonCarriesErrorsAndStaysValidWithInfiniteScores) {
  rca::Ranking r = {{"a", "x", std::numeric_limits<double>::infinity()}};
  nlohmann::json doc = nlohmann::json::parse(RankingJson("m", "c/1", 0, r, "boom"));
  EXPECT_EQ(doc["error"], "boom");
  EXPECT_DOUBLE_EQ(doc["ranking"][0]["score"].get<double>(), std::numeric_limits<double>::max());
}

TEST(ReportTest, RankingTableListsTopRows) {
  rca::Ranking r = {{"a", "x", 3}, {"b", "y", 2}, {"c", "z", 1}};
  std::string table = RankingTable(r, 2);
  EXPECT_THAT(table, HasSubstr("rank"));
  EXPECT_THAT(table, HasSubstr("b  "));
  EXPECT_EQ(table.find("c  "), std::string::npos);
}

SummaryRow Row() {
  SummaryRow r;
  r.method = "baro";
  r.group = "cpu";
  r.cases = 4;
  r.failed = 1;
  r.ac = {0.25, 0.5, 0.75, 1, 1};
  r.avg5 = 0.7;
  r.chance_ac = {0.2, 0.4, 0.6, 0.8, 1};
  r.chance_avg5 = 0.6;
  r.seconds_per_case = 0.001;
  return r;
}

TEST(ReportTest, SummaryCsvHasOneLinePerRow) {
  std::string csv = SummaryCsv({Row()});
  EXPECT_EQ(csv,
            "method,level,group,cases,failed,ac1,ac2,ac3,ac4,ac5,avg5,chance_ac1,chance_ac2,"
            "chance_ac3,chance_ac4,chance_ac5,chance_avg5,seconds_per_case\n"
            "baro,service,cpu,4,1,0.25,0.5,0.75,1,1,0.7,0.2,0.4,0.6,0.8,1,0.6,0.001\n");
}

TEST(ReportTest, SummaryTableAndJsonShowTheRows) {
  EvalResult result;
  result.dataset = "ds";
  result.total_cases = 4;
  result.methods = {MethodSpec{"baro", "baro", {}}};
  result.rows = {Row()};
  std::string table = SummaryTable(result);
  EXPECT_THAT(table, HasSubstr("Service level"));
  EXPECT_THAT(table, HasSubstr("baro"));
  EXPECT_THAT(table, HasSubstr("0.25"));
  EXPECT_THAT(table, HasSubstr("4 case(s) in ds"));
  nlohmann::json doc = nlohmann::json::parse(SummaryJson(result));
  EXPECT_EQ(doc["cases"], 4);
  EXPECT_EQ(doc["rows"][0]["group"], "cpu");
  EXPECT_DOUBLE_EQ(doc["rows"][0]["ac3"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(doc["rows"][0]["chance_avg5"].get<double>(), 0.6);
}

}  // namespace
}  // namespace llmrca::eval
