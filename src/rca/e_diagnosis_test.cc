#include "rca/e_diagnosis.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rca/testing/synthetic_case.h"

namespace llmrca::rca {
namespace {

using testing::MakeCase;

Result<Ranking> RankWith(const data::Case& c, const ParamMap& params, uint64_t seed = 1) {
  Result<std::unique_ptr<Method>> m = CreateEDiagnosis(params);
  EXPECT_TRUE(m.ok()) << m.status().message();
  RunContext ctx;
  ctx.seed = seed;
  return (*m)->Rank(c, ctx);
}

// Normal rows t = 0..4, anomalous t = 5..9 (m = 5 pairs).
//  lin: after = 2 * before + 1 (perfect positional correlation).
//  flat: constant throughout.
//  wig: 2,1,2,1,2 then 1,2,2,1,1 (weak correlation).
data::Case HandCase() {
  return MakeCase({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {"lin_x", "flat_x", "wig_x"},
                  {
                      {1, 2, 3, 4, 5, 3, 5, 7, 9, 11},
                      {4, 4, 4, 4, 4, 4, 4, 4, 4, 4},
                      {2, 1, 2, 1, 2, 1, 2, 2, 1, 1},
                  },
                  5);
}

TEST(EDiagnosisTest, CompatReproducesPyrcaMixedDdofScore) {
  // PyRCA: cov (ddof 1)^2 / (var ddof 0 * var ddof 0). For after = 2*before + 1 with m = 5:
  // sum of squared deviations of before = 10, so cov1 = 2*10/4 = 5, var0(before) = 10/5 = 2,
  // var0(after) = 4*2 = 8: score = 25 / 16 = 1.5625 = (m/(m-1))^2, above any threshold (<= 1).
  // flat is constant in both parts and dropped; wig's score is below 1.5625.
  Result<Ranking> r = RankWith(HandCase(), {{"compat", "rcaeval"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_GE(r->size(), 1u);
  EXPECT_EQ((*r)[0].Name(), "lin_x");
  EXPECT_DOUBLE_EQ((*r)[0].score, 1.5625);
  for (const RankedCause& c : *r) EXPECT_NE(c.Name(), "flat_x");
}

TEST(EDiagnosisTest, DefaultScoreIsSquaredCorrelationMinusThreshold) {
  // Consistent ddof: lin's squared correlation is exactly 1, and its threshold (a quantile of
  // squared correlations) lies in [0, 1), so its score is in (0, 1]. flat: squared correlation
  // 0, and every bootstrap draw of a constant is constant, so its threshold is 0: score 0.
  Result<Ranking> r = RankWith(HandCase(), {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].Name(), "lin_x");
  EXPECT_GT((*r)[0].score, 0);
  EXPECT_LE((*r)[0].score, 1);
  for (const RankedCause& c : *r) {
    if (c.Name() == "flat_x") {
      EXPECT_DOUBLE_EQ(c.score, 0);
    }
  }
}

TEST(EDiagnosisTest, SmallerAlphaNeverRaisesAScore) {
  // Same seed, same bootstrap draws: a higher quantile (alpha 0.01 vs 0.2) is a higher threshold.
  testing::SyntheticSpec spec;
  spec.names = testing::StudyColumnNames();
  spec.normal_rows = 40;
  spec.anomalous_rows = 40;
  data::Case c = testing::MakeNoiseCase(spec);
  Result<Ranking> strict = RankWith(c, {{"alpha", "0.01"}});
  Result<Ranking> loose = RankWith(c, {{"alpha", "0.2"}});
  ASSERT_TRUE(strict.ok() && loose.ok());
  std::map<std::string, double> loose_score;
  for (const RankedCause& x : *loose) loose_score[x.Name()] = x.score;
  for (const RankedCause& x : *strict) EXPECT_LE(x.score, loose_score[x.Name()]) << x.Name();
}

TEST(EDiagnosisTest, PerMetricThresholdsHoldTheSignificanceLevel) {
  // 400 metrics of pure noise: the normal and anomalous windows are independent, so a metric
  // passes its (1 - alpha) threshold with probability ~alpha = 0.05: about 20 of 400
  // (binomial sd 4.4, plus the noise of a 200-draw quantile). Outside [6, 40] means the
  // thresholds are miscalibrated (the reference's positional thresholds are not per metric).
  testing::SyntheticSpec spec;
  for (int i = 0; i < 400; ++i) spec.names.push_back(fmt::format("s{}_x", i));
  spec.normal_rows = 30;
  spec.anomalous_rows = 30;
  spec.seed = 11;
  data::Case c = testing::MakeNoiseCase(spec);
  Result<Ranking> r = RankWith(c, {{"alpha", "0.05"}});
  ASSERT_TRUE(r.ok());
  int positive = 0;
  for (const RankedCause& x : *r) positive += x.score > 0 ? 1 : 0;
  EXPECT_GE(positive, 6);
  EXPECT_LE(positive, 40);
}

TEST(EDiagnosisTest, CompatReturnsAtMostTopK) {
  // Five copies of a perfectly correlated metric all pass; PyRCA keeps the first top_k = 3.
  std::vector<std::vector<double>> cols;
  std::vector<std::string> names;
  for (int i = 0; i < 5; ++i) {
    names.push_back(fmt::format("s{}_x", i));
    cols.push_back({1, 2, 3, 4, 5 + i * 0.1, 3, 5, 7, 9, 11 + i * 0.2});
  }
  data::Case c = MakeCase({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, names, cols, 5);
  Result<Ranking> r = RankWith(c, {{"compat", "rcaeval"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 3u);
  Result<Ranking> all = RankWith(c, {});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);  // the default ranks every candidate
}

TEST(EDiagnosisTest, CompatFailsLikeTheReferenceWithMoreColumnsThanReplicates) {
  // Column number 3 has no threshold when only 2 bootstrap replicates are drawn.
  data::Case c = MakeCase({0, 1, 2, 3, 4, 5, 6, 7}, {"a_x", "b_x", "c_x"},
                          {{1, 3, 2, 4, 2, 1, 3, 4}, {2, 1, 4, 3, 1, 2, 2, 3}, {5, 1, 2, 2, 3, 1, 4, 4}},
                          4);
  Result<Ranking> r = RankWith(c, {{"compat", "rcaeval"}, {"bootstrap", "2"}});
  EXPECT_TRUE(r.status().IsDataError());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("'c_x'"));
  EXPECT_TRUE(RankWith(c, {{"bootstrap", "2"}}).ok());
}

TEST(EDiagnosisTest, TooFewPairedRowsIsADataError) {
  data::Case c = MakeCase({0, 1, 2, 3, 4}, {"a_x"}, {{1, 2, 3, 4, 5}}, 3);  // m = min(3, 2) = 2
  Result<Ranking> r = RankWith(c, {});
  EXPECT_TRUE(r.status().IsDataError());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("need >= 3"));
}

TEST(EDiagnosisTest, RejectsBadParameters) {
  EXPECT_TRUE(CreateEDiagnosis({{"alpha", "1.5"}}).status().IsInvalidArgument());
  EXPECT_TRUE(CreateEDiagnosis({{"alpha", "x"}}).status().IsInvalidArgument());
  EXPECT_TRUE(CreateEDiagnosis({{"bootstrap", "0"}}).status().IsInvalidArgument());
  EXPECT_TRUE(CreateEDiagnosis({{"bootstrap", "2.5"}}).status().IsInvalidArgument());
  EXPECT_TRUE(CreateEDiagnosis({{"top_k", "0"}}).status().IsInvalidArgument());
}

}  // namespace
}  // namespace llmrca::rca
