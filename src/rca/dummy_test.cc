#include "rca/dummy.h"

#include <algorithm>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rca/testing/synthetic_case.h"

namespace llmrca::rca {
namespace {

data::Case StudyCase() {
  testing::SyntheticSpec spec;
  spec.names = testing::StudyColumnNames();
  return testing::MakeNoiseCase(spec);
}

Ranking RankWithSeed(const data::Case& c, uint64_t seed) {
  RunContext ctx;
  ctx.seed = seed;
  Result<Ranking> r = (*CreateDummy({}))->Rank(c, ctx);
  EXPECT_TRUE(r.ok());
  return *r;
}

TEST(DummyTest, RanksEveryCandidateOnceWithDescendingScores) {
  data::Case c = StudyCase();
  Ranking r = RankWithSeed(c, 7);
  ASSERT_EQ(r.size(), 20u);
  std::set<std::string> names;
  for (size_t i = 0; i < r.size(); ++i) {
    names.insert(r[i].Name());
    EXPECT_DOUBLE_EQ(r[i].score, static_cast<double>(20 - i));  // n - position
  }
  EXPECT_EQ(names.size(), 20u);
}

TEST(DummyTest, SameSeedSameOrderOtherSeedOtherOrder) {
  data::Case c = StudyCase();
  auto names = [](const Ranking& r) {
    std::vector<std::string> out;
    for (const RankedCause& x : r) out.push_back(x.Name());
    return out;
  };
  EXPECT_EQ(names(RankWithSeed(c, 3)), names(RankWithSeed(c, 3)));
  // 20! orders: two seeds agreeing everywhere would be a broken generator.
  EXPECT_NE(names(RankWithSeed(c, 3)), names(RankWithSeed(c, 4)));
}

TEST(DummyTest, FirstPlaceIsUniformOverSeeds) {
  // Over 4000 seeds each of the 20 columns should come first about 200 times. With a binomial
  // sd of sqrt(4000 * 0.05 * 0.95) = 13.8, a count outside [130, 270] (5 sd) means bias.
  data::Case c = StudyCase();
  std::map<std::string, int> first;
  for (uint64_t seed = 0; seed < 4000; ++seed) ++first[RankWithSeed(c, seed)[0].Name()];
  ASSERT_EQ(first.size(), 20u);
  for (const auto& [name, count] : first) {
    EXPECT_GT(count, 130) << name;
    EXPECT_LT(count, 270) << name;
  }
}

TEST(DummyTest, TakesNoParameters) {
  Status s = CreateDummy({{"seed", "1"}}).status();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("takes no parameters"));
}

}  // namespace
}  // namespace llmrca::rca
