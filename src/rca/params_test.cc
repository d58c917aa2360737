#include "rca/params.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llmrca::rca {
namespace {

constexpr ParamSpec kSpecs[] = {
    kCompatParam,
    {"alpha", "double", "0.05", "level"},
    {"steps", "int", "10", "count"},
    {"verbose", "bool", "false", "talk"},
    {"mode", "enum:fast|exact", "fast", "how"},
};
const MethodInfo kInfo = {"fake_method", "summary", "citation", kSpecs};

TEST(ParamsTest, FillsDefaults) {
  Result<Params> p = Params::Parse(kInfo, {});
  ASSERT_TRUE(p.ok());
  EXPECT_DOUBLE_EQ(p->Double("alpha"), 0.05);
  EXPECT_EQ(p->Int("steps"), 10);
  EXPECT_FALSE(p->Bool("verbose"));
  EXPECT_EQ(p->String("mode"), "fast");
  EXPECT_FALSE(p->RcaevalCompat());
}

TEST(ParamsTest, OverridesGivenValues) {
  Result<Params> p = Params::Parse(
      kInfo, {{"alpha", "0.2"}, {"steps", "-3"}, {"verbose", "true"}, {"mode", "exact"},
              {"compat", "rcaeval"}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_DOUBLE_EQ(p->Double("alpha"), 0.2);
  EXPECT_EQ(p->Int("steps"), -3);
  EXPECT_TRUE(p->Bool("verbose"));
  EXPECT_EQ(p->String("mode"), "exact");
  EXPECT_TRUE(p->RcaevalCompat());
}

TEST(ParamsTest, UnknownKeyNamesMethodAndSuggests) {
  Status s = Params::Parse(kInfo, {{"alpah", "0.1"}}).status();
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("fake_method: unknown parameter 'alpah'"));
  EXPECT_THAT(s.message(), ::testing::HasSubstr("did you mean 'alpha'?"));
  Status far = Params::Parse(kInfo, {{"zzzzzzzz", "1"}}).status();
  EXPECT_THAT(far.message(), ::testing::HasSubstr("parameters: compat, alpha, steps"));
}

TEST(ParamsTest, RejectsValuesOfTheWrongType) {
  EXPECT_TRUE(Params::Parse(kInfo, {{"alpha", "abc"}}).status().IsInvalidArgument());
  EXPECT_TRUE(Params::Parse(kInfo, {{"alpha", "nan"}}).status().IsInvalidArgument());
  EXPECT_TRUE(Params::Parse(kInfo, {{"steps", "1.5"}}).status().IsInvalidArgument());
  EXPECT_TRUE(Params::Parse(kInfo, {{"verbose", "yes"}}).status().IsInvalidArgument());
  Status e = Params::Parse(kInfo, {{"mode", "slow"}}).status();
  EXPECT_TRUE(e.IsInvalidArgument());
  EXPECT_THAT(e.message(), ::testing::HasSubstr("one of fast, exact"));
}

TEST(ParamsTest, CheckRangeNamesTheBounds) {
  Result<Params> p = Params::Parse(kInfo, {{"alpha", "1.5"}});
  ASSERT_TRUE(p.ok());
  Status s = p->CheckRange("alpha", 0, 1);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_THAT(s.message(), ::testing::HasSubstr("'alpha' must be in [0, 1], got 1.5"));
  EXPECT_TRUE(p->CheckRange("alpha", 0, 2).ok());
}

}  // namespace
}  // namespace llmrca::rca
