#include "rca/baro.h"

#include <cmath>
#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rca/testing/synthetic_case.h"

namespace llmrca::rca {
namespace {

using testing::MakeCase;

std::vector<std::string> Names(const Ranking& r) { return testing::RankingNames(r); }

Ranking RankWith(const data::Case& c, const ParamMap& params) {
  return testing::RankOrFail(CreateBaro, c, params);
}

// Normal rows t = 0..4, anomalous t = 5, 6 (testing::DeviationHandCase):
//   a: 1 2 3 4 5 | 7 3     b: 10 10 10 10 12 | 11 9
//   c: 0 1 2 3 4 | -10 2   d: 5 5 5 5 5 | 5 9
data::Case HandCase() { return testing::DeviationHandCase(); }

TEST(BaroTest, ScoresHandComputedCase) {
  // numpy linear quantiles of n = 5 sorted values sit on order statistics: index q*(n-1).
  // a: z = (7-3)/2 = 2, (3-3)/2 = 0 -> 2.   b: (11-10)/1 = 1, (9-10)/1 = -1 -> 1.
  // c: (-10-2)/2 = -6, (2-2)/2 = 0 -> 0.    d: (5-5)/1 = 0, (9-5)/1 = 4 -> 4.
  Ranking r = RankWith(HandCase(), {});
  ASSERT_EQ(r.size(), 4u);
  EXPECT_THAT(Names(r), ::testing::ElementsAre("d_x", "a_x", "b_x", "c_x"));
  EXPECT_DOUBLE_EQ(r[0].score, 4);
  EXPECT_DOUBLE_EQ(r[1].score, 2);
  EXPECT_DOUBLE_EQ(r[2].score, 1);
  EXPECT_DOUBLE_EQ(r[3].score, 0);
}

TEST(BaroTest, DirectionBothRanksDrops) {
  // |z|: c: max(6, 0) = 6; d: 4; a: 2; b: max(1, 1) = 1.
  Ranking r = RankWith(HandCase(), {{"direction", "both"}});
  EXPECT_THAT(Names(r), ::testing::ElementsAre("c_x", "d_x", "a_x", "b_x"));
  EXPECT_DOUBLE_EQ(r[0].score, 6);
}

TEST(BaroTest, CompatDropsColumnsConstantInEitherPart) {
  // RCAEval preprocesses each part separately: d is constant before the inject time, so only
  // a, b, c survive, with the same scores as above.
  Ranking r = RankWith(HandCase(), {{"compat", "rcaeval"}});
  EXPECT_THAT(Names(r), ::testing::ElementsAre("a_x", "b_x", "c_x"));
  EXPECT_DOUBLE_EQ(r[0].score, 2);
}

TEST(BaroTest, EqualScoresKeepColumnOrder) {
  // Both columns score (4-2)/2 = 1: Python's stable sort keeps data.csv order.
  data::Case c = MakeCase({0, 1, 2, 3, 4, 5}, {"z_x", "a_x"},
                          {{0, 1, 2, 3, 4, 4}, {0, 1, 2, 3, 4, 4}}, 5);
  EXPECT_THAT(Names(RankWith(c, {})), ::testing::ElementsAre("z_x", "a_x"));
}

TEST(BaroTest, MemColumnsAreConvertedToMegabytes) {
  // RCAEval divides *_mem by 1e6: a flat 5e6 before (IQR 0 -> 1) and 7e6 after scores 2, not 2e6.
  data::Case c = MakeCase({0, 1, 2, 3}, {"svc_mem"}, {{5e6, 5e6, 5e6, 7e6}}, 3);
  Ranking r = RankWith(c, {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_DOUBLE_EQ(r[0].score, 2);
}

TEST(BaroTest, RootCauseRanksFirstOnSeededSyntheticCases) {
  // 20 metrics of N(100, 5^2) noise; the root cause steps up by 8 sd after the inject time.
  // The largest robust z of the other 19 x 15 anomalous noise draws stays far below 8 sd / IQR
  // (IQR of N(0, 5^2) ~ 6.7), which the 50 seeds confirm.
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    testing::SyntheticSpec spec;
    spec.names = testing::StudyColumnNames();
    spec.seed = seed;
    data::Case c = testing::MakeNoiseCase(spec);
    const Eigen::Index root = static_cast<Eigen::Index>(seed % spec.names.size());
    testing::ShiftAfterInject(c, root, 8 * spec.sd);
    Ranking r = RankWith(c, {});
    ASSERT_EQ(r.size(), spec.names.size());
    EXPECT_EQ(r[0].Name(), spec.names[static_cast<size_t>(root)]) << "seed " << seed;
  }
}

TEST(BaroTest, RejectsBadParameters) {
  EXPECT_TRUE(CreateBaro({{"direction", "sideways"}}).status().IsInvalidArgument());
  EXPECT_TRUE(CreateBaro({{"compat", "pyrca"}}).status().IsInvalidArgument());
  Status typo = CreateBaro({{"directon", "up"}}).status();
  EXPECT_TRUE(typo.IsInvalidArgument());
  EXPECT_THAT(typo.message(), ::testing::HasSubstr("did you mean 'direction'"));
}

TEST(BaroTest, EmptyAnomalousPartIsADataError) {
  data::Case c = MakeCase({0, 1, 2}, {"a_x"}, {{1, 2, 3}}, 10);
  Result<Ranking> r = (*CreateBaro({}))->Rank(c, RunContext{});
  EXPECT_TRUE(r.status().IsDataError());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("no row at or after the inject time"));
}

TEST(BaroTest, EmptyNormalPartIsADataError) {
  data::Case c = MakeCase({5, 6, 7}, {"a_x"}, {{1, 2, 3}}, 5);
  Result<Ranking> r = (*CreateBaro({}))->Rank(c, RunContext{});
  EXPECT_TRUE(r.status().IsDataError());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("no row before the inject time"));
}

TEST(BaroTest, ConstantAndMissingValuesGiveFiniteScores) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // A constant column scores 0; NaN is ignored (median of {1, 3} = 2, IQR = 1 -> z = (4-2)/1 = 2);
  // an all-NaN column scores 0 rather than NaN.
  data::Case c = MakeCase({0, 1, 2, 3, 4}, {"k_x", "n_x", "e_x"},
                          {{3, 3, 3, 3, 3}, {1, nan, 3, 4, nan}, {nan, nan, nan, nan, nan}}, 3);
  Ranking r = RankWith(c, {});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].Name(), "n_x");
  EXPECT_DOUBLE_EQ(r[0].score, 2);
  EXPECT_DOUBLE_EQ(r[1].score, 0);
  EXPECT_DOUBLE_EQ(r[2].score, 0);
}

}  // namespace
}  // namespace llmrca::rca
