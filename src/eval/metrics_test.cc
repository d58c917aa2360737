#include "eval/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llmrca::eval {
namespace {

rca::Ranking MakeRanking(const std::vector<std::pair<std::string, std::string>>& items) {
  rca::Ranking r;
  double score = static_cast<double>(items.size());
  for (const auto& [service, indicator] : items) r.push_back({service, indicator, score--});
  return r;
}

data::GroundTruth Truth(std::string service, std::string fault,
                        std::optional<std::string> indicator = std::nullopt) {
  data::GroundTruth t;
  t.service = std::move(service);
  t.fault = std::move(fault);
  t.indicator = std::move(indicator);
  return t;
}

TEST(MetricsTest, NormalizeServiceRemovesEveryDbLikeRcaeval) {
  EXPECT_EQ(NormalizeService("carts-db"), "carts");
  EXPECT_EQ(NormalizeService("ts-dbx-db"), "tsx");  // a substring replace, not a suffix strip
  EXPECT_EQ(NormalizeService("ray-head"), "ray-head");
}

TEST(MetricsTest, ServiceRankingKeepsFirstOccurrence) {
  rca::Ranking r = MakeRanking({{"a", "cpu"}, {"b", "cpu"}, {"a", "mem"}, {"carts-db", "cpu"},
                                {"carts", "mem"}, {"c", "x"}});
  EXPECT_THAT(ServiceRanking(r), ::testing::ElementsAre("a", "b", "carts", "c"));
}

TEST(MetricsTest, ServiceHitsCountFromTheFirstMatch) {
  // Services in order a, b, c, d, e: b is second, so it is a hit from k = 2 on.
  rca::Ranking r = MakeRanking({{"a", "cpu"}, {"a", "mem"}, {"b", "cpu"}, {"c", "x"}, {"d", "x"},
                                {"e", "x"}});
  EXPECT_THAT(ServiceHits(r, Truth("b", "cpu")), ::testing::ElementsAre(0, 1, 1, 1, 1));
  EXPECT_THAT(ServiceHits(r, Truth("e", "cpu")), ::testing::ElementsAre(0, 0, 0, 0, 1));
  EXPECT_THAT(ServiceHits(r, Truth("zz", "cpu")), ::testing::ElementsAre(0, 0, 0, 0, 0));
  EXPECT_THAT(ServiceHits({}, Truth("a", "cpu")), ::testing::ElementsAre(0, 0, 0, 0, 0));
  // The answer is normalized too: a fault on carts-db matches a ranked carts metric.
  EXPECT_THAT(ServiceHits(MakeRanking({{"carts", "cpu"}}), Truth("carts-db", "cpu")),
              ::testing::ElementsAre(1, 1, 1, 1, 1));
}

TEST(MetricsTest, FineGrainedAnswerFollowsRcaevalFaultMapping) {
  EXPECT_EQ(FineGrainedAnswer(Truth("s", "cpu"))->indicator, "cpu");
  EXPECT_EQ(FineGrainedAnswer(Truth("s", "mem"))->indicator, "mem");
  EXPECT_EQ(FineGrainedAnswer(Truth("s", "delay"))->indicator, "latency");
  EXPECT_EQ(FineGrainedAnswer(Truth("s", "loss"))->indicator, "latency");
  EXPECT_EQ(FineGrainedAnswer(Truth("s", "disk"))->indicator, "diskio");
  EXPECT_EQ(FineGrainedAnswer(Truth("s", "socket"))->indicator, "socket");
  EXPECT_TRUE(FineGrainedAnswer(Truth("s", "cpu"))->token_only);
  EXPECT_FALSE(FineGrainedAnswer(Truth("s", "gpu")).has_value());
  // case.json's indicator wins and is compared whole.
  std::optional<FineAnswer> a = FineGrainedAnswer(Truth("s", "gpu", "ctn_gpu"));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->indicator, "ctn_gpu");
  EXPECT_FALSE(a->token_only);
}

TEST(MetricsTest, FineHitsCompareTheSecondToken) {
  FineAnswer delay = *FineGrainedAnswer(Truth("cart", "delay"));
  // cart_latency-90 has token "latency-90": no match (why RCAEval renames it); cart_latency does.
  rca::Ranking r = MakeRanking({{"cart", "latency-90"}, {"cart", "cpu"}, {"cart", "latency"}});
  EXPECT_THAT(FineHits(r, delay), ::testing::ElementsAre(0, 0, 1, 1, 1));
  // Token comparison: "ctn_cpu" has second token "ctn", so RCAEval's cpu mapping misses it.
  FineAnswer cpu = *FineGrainedAnswer(Truth("ray-head", "cpu"));
  EXPECT_THAT(FineHits(MakeRanking({{"ray-head", "ctn_cpu"}}), cpu),
              ::testing::ElementsAre(0, 0, 0, 0, 0));
  EXPECT_THAT(FineHits(MakeRanking({{"ray-head", "cpu_total"}}), cpu),
              ::testing::ElementsAre(1, 1, 1, 1, 1));
  // A whole indicator from case.json.
  FineAnswer exact = *FineGrainedAnswer(Truth("ray-head", "cpu", "ctn_cpu"));
  EXPECT_THAT(FineHits(MakeRanking({{"ray-head", "ctn_memory"}, {"ray-head", "ctn_cpu"}}), exact),
              ::testing::ElementsAre(0, 1, 1, 1, 1));
}

TEST(MetricsTest, RandomHitProbabilityIsHypergeometric) {
  EXPECT_DOUBLE_EQ(RandomHitProbability(5, 1, 1), 0.2);
  EXPECT_DOUBLE_EQ(RandomHitProbability(5, 1, 3), 0.6);
  EXPECT_DOUBLE_EQ(RandomHitProbability(20, 1, 5), 0.25);
  EXPECT_DOUBLE_EQ(RandomHitProbability(20, 2, 1), 0.1);
  // 1 - C(18,2)/C(20,2) = 1 - 153/190 = 37/190.
  EXPECT_NEAR(RandomHitProbability(20, 2, 2), 37.0 / 190.0, 1e-15);
  EXPECT_DOUBLE_EQ(RandomHitProbability(4, 1, 5), 1.0);  // k beyond the candidates
  EXPECT_DOUBLE_EQ(RandomHitProbability(3, 2, 2), 1.0);  // k > n - h
  EXPECT_DOUBLE_EQ(RandomHitProbability(10, 0, 3), 0.0);
  EXPECT_DOUBLE_EQ(RandomHitProbability(0, 0, 1), 0.0);
}

TEST(MetricsTest, ChanceOfAFiveServiceCase) {
  // 5 services x 2 indicators: a random service order finds the answer at k with p = k/5;
  // the fine-grained answer is 1 of 10 columns: k/10.
  std::vector<std::string> cols;
  for (const char* s : {"a", "b", "c", "d", "e"}) {
    cols.push_back(std::string(s) + "_cpu");
    cols.push_back(std::string(s) + "_latency");
  }
  EXPECT_THAT(ServiceChance(cols, Truth("c", "cpu")),
              ::testing::ElementsAre(::testing::DoubleEq(0.2), ::testing::DoubleEq(0.4),
                                     ::testing::DoubleEq(0.6), ::testing::DoubleEq(0.8),
                                     ::testing::DoubleEq(1.0)));
  EXPECT_THAT(ServiceChance(cols, Truth("zz", "cpu")), ::testing::ElementsAre(0, 0, 0, 0, 0));
  EXPECT_THAT(FineChance(cols, *FineGrainedAnswer(Truth("c", "cpu"))),
              ::testing::ElementsAre(::testing::DoubleEq(0.1), ::testing::DoubleEq(0.2),
                                     ::testing::DoubleEq(0.3), ::testing::DoubleEq(0.4),
                                     ::testing::DoubleEq(0.5)));
}

TEST(MetricsTest, AvgAtKIsTheMeanOfTheFirstK) {
  EXPECT_DOUBLE_EQ(AvgAtK({0, 1, 1, 1, 1}, 5), 0.8);
  EXPECT_DOUBLE_EQ(AvgAtK({0.5, 0.5, 1, 1, 1}, 5), 0.8);
  EXPECT_DOUBLE_EQ(AvgAtK({0.5, 0.5, 1, 1, 1}, 3), 2.0 / 3.0);
}

}  // namespace
}  // namespace llmrca::eval
