// Conformance of every registered method (STYLE.md section 5): on the same cases, each default
// method must rank every candidate exactly once, with non-increasing scores, no NaN, and the
// same result twice for the same seed. New methods join by being registered.
#include <cmath>
#include <limits>
#include <set>

#include <gtest/gtest.h>

#include "rca/method.h"
#include "rca/testing/synthetic_case.h"

namespace llmrca::rca {
namespace {

std::vector<std::string> RegisteredNames() {
  MethodRegistry registry;
  AddBuiltinMethods(registry);
  std::vector<std::string> out;
  for (const MethodInfo* info : registry.List()) out.emplace_back(info->name);
  return out;
}

class ConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { AddBuiltinMethods(registry_); }

  void CheckOn(const data::Case& c) {
    Result<std::unique_ptr<Method>> method = registry_.Create(GetParam(), {});
    ASSERT_TRUE(method.ok()) << method.status().message();
    RunContext ctx;
    ctx.seed = 42;
    Result<Ranking> first = (*method)->Rank(c, ctx);
    ASSERT_TRUE(first.ok()) << first.status().message();
    ASSERT_EQ(first->size(), static_cast<size_t>(c.metrics.NumCols()));
    std::set<std::string> seen;
    for (size_t i = 0; i < first->size(); ++i) {
      const RankedCause& r = (*first)[i];
      EXPECT_FALSE(std::isnan(r.score)) << r.Name();
      EXPECT_TRUE(c.metrics.FindColumn(r.Name()).has_value()) << r.Name() << " is not a candidate";
      EXPECT_TRUE(seen.insert(r.Name()).second) << r.Name() << " ranked twice";
      if (i > 0) {
        EXPECT_LE(r.score, (*first)[i - 1].score) << "not sorted at " << i;
      }
    }
    Result<Ranking> second = (*method)->Rank(c, ctx);
    ASSERT_TRUE(second.ok());
    ASSERT_EQ(second->size(), first->size());
    for (size_t i = 0; i < first->size(); ++i) {
      EXPECT_EQ((*second)[i].Name(), (*first)[i].Name());
      EXPECT_EQ((*second)[i].score, (*first)[i].score);
    }
  }

  MethodRegistry registry_;
};

TEST_P(ConformanceTest, RanksEveryCandidateOnNoiseWithAFault) {
  testing::SyntheticSpec spec;
  spec.names = testing::StudyColumnNames();
  data::Case c = testing::MakeNoiseCase(spec);
  testing::ShiftAfterInject(c, 5, 40);
  CheckOn(c);
}

TEST_P(ConformanceTest, RanksEveryCandidateWithConstantAndMissingValues) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> time;
  std::vector<std::vector<double>> cols(4);
  for (int r = 0; r < 12; ++r) {
    time.push_back(r);
    cols[0].push_back(7);                              // constant
    cols[1].push_back(r % 3 == 0 ? nan : r * 0.5);     // gaps
    cols[2].push_back(r < 6 ? 1 : 1 + r);              // constant before, moving after
    cols[3].push_back((r * 37 % 11) - 5.0);            // arbitrary
  }
  CheckOn(testing::MakeCase(time, {"k_x", "g_x", "s_x", "n_x"}, cols, 6));
}

INSTANTIATE_TEST_SUITE_P(AllMethods, ConformanceTest, ::testing::ValuesIn(RegisteredNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           return param.param;
                         });

}  // namespace
}  // namespace llmrca::rca
