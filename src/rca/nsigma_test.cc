#include "rca/nsigma.h"

#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rca/testing/synthetic_case.h"

namespace llmrca::rca {
namespace {

using testing::MakeCase;

std::vector<std::string> Names(const Ranking& r) { return testing::RankingNames(r); }

Ranking RankWith(const data::Case& c, const ParamMap& params) {
  return testing::RankOrFail(CreateNsigma, c, params);
}

// Normal rows t = 0..4, anomalous t = 5, 6 (testing::DeviationHandCase):
//   a: 1 2 3 4 5 | 7 3     b: 10 10 10 10 12 | 11 9
//   c: 0 1 2 3 4 | -10 2   d: 5 5 5 5 5 | 5 9
data::Case HandCase() { return testing::DeviationHandCase(); }

TEST(NsigmaTest, ScoresHandComputedCase) {
  // a: mean 3, population var (4+1+0+1+4)/5 = 2 -> z = (7-3)/sqrt(2) = 2*sqrt(2).
  // b: mean 10.4, var (4*0.16 + 2.56)/5 = 0.64, sd 0.8 -> (11-10.4)/0.8 = 0.75, (9-10.4)/0.8 < 0.
  // c: mean 2, sd sqrt(2) -> max(-12/sqrt(2), 0) = 0.
  // d: constant -> sd 1 (scikit-learn) -> max(0, 4) = 4.
  Ranking r = RankWith(HandCase(), {});
  EXPECT_THAT(Names(r), ::testing::ElementsAre("d_x", "a_x", "b_x", "c_x"));
  EXPECT_DOUBLE_EQ(r[0].score, 4);
  EXPECT_NEAR(r[1].score, 2 * std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(r[2].score, 0.75, 1e-12);
  EXPECT_DOUBLE_EQ(r[3].score, 0);
}

TEST(NsigmaTest, DirectionBothRanksDrops) {
  // |z|: c: 12/sqrt(2) = 8.485; d: 4; a: 2.828; b: 1.4/0.8 = 1.75.
  Ranking r = RankWith(HandCase(), {{"direction", "both"}});
  EXPECT_THAT(Names(r), ::testing::ElementsAre("c_x", "d_x", "a_x", "b_x"));
  EXPECT_NEAR(r[0].score, 12 / std::sqrt(2.0), 1e-12);
  EXPECT_NEAR(r[3].score, 1.75, 1e-12);
}

TEST(NsigmaTest, CompatDropsColumnsConstantInEitherPart) {
  Ranking r = RankWith(HandCase(), {{"compat", "rcaeval"}});
  EXPECT_THAT(Names(r), ::testing::ElementsAre("a_x", "b_x", "c_x"));
}

TEST(NsigmaTest, RootCauseRanksFirstOnSeededSyntheticCases) {
  // As BaroTest: a step of 8 sd on one of 20 noise metrics; z of noise over 19 x 15 draws stays
  // well below 8 (P(|z| > 5) per draw ~ 6e-7).
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    testing::SyntheticSpec spec;
    spec.names = testing::StudyColumnNames();
    spec.seed = seed;
    data::Case c = testing::MakeNoiseCase(spec);
    const Eigen::Index root = static_cast<Eigen::Index>((seed * 7) % spec.names.size());
    testing::ShiftAfterInject(c, root, 8 * spec.sd);
    Ranking r = RankWith(c, {});
    ASSERT_EQ(r.size(), spec.names.size());
    EXPECT_EQ(r[0].Name(), spec.names[static_cast<size_t>(root)]) << "seed " << seed;
  }
}

TEST(NsigmaTest, RejectsBadParameters) {
  EXPECT_TRUE(CreateNsigma({{"direction", "down"}}).status().IsInvalidArgument());
  EXPECT_TRUE(CreateNsigma({{"alpha", "0.1"}}).status().IsInvalidArgument());
}

TEST(NsigmaTest, TooFewRowsIsADataError) {
  data::Case c = MakeCase({0, 1}, {"a_x"}, {{1, 2}}, 0);
  EXPECT_TRUE((*CreateNsigma({}))->Rank(c, RunContext{}).status().IsDataError());
}

}  // namespace
}  // namespace llmrca::rca
