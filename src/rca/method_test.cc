#include "rca/method.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "rca/testing/synthetic_case.h"

namespace llmrca::rca {
namespace {

// A fake method for a private registry: ranks columns in reverse order.
class ReverseMethod final : public Method {
 public:
  Result<Ranking> Rank(const data::Case& c, const RunContext&) const override {
    Ranking r;
    for (Eigen::Index j = c.metrics.NumCols() - 1; j >= 0; --j) {
      data::ColumnName n = data::SplitColumnName(c.metrics.Name(j));
      r.push_back({n.service, n.indicator, static_cast<double>(j)});
    }
    return r;
  }
};

MethodInfo FakeInfo(std::string_view name) { return {name, "fake", "none", {}}; }

MethodFactory FakeFactory() {
  return [](const ParamMap&) -> Result<std::unique_ptr<Method>> {
    return std::unique_ptr<Method>(std::make_unique<ReverseMethod>());
  };
}

TEST(MethodRegistryTest, ListsNamesSorted) {
  MethodRegistry registry;
  ASSERT_TRUE(registry.Add(FakeInfo("zeta"), FakeFactory()).ok());
  ASSERT_TRUE(registry.Add(FakeInfo("alpha"), FakeFactory()).ok());
  ASSERT_TRUE(registry.Add(FakeInfo("mid"), FakeFactory()).ok());
  std::vector<std::string> names;
  for (const MethodInfo* info : registry.List()) names.emplace_back(info->name);
  EXPECT_THAT(names, ::testing::ElementsAre("alpha", "mid", "zeta"));
}

TEST(MethodRegistryTest, DuplicateNameIsAlreadyExists) {
  MethodRegistry registry;
  ASSERT_TRUE(registry.Add(FakeInfo("x"), FakeFactory()).ok());
  EXPECT_EQ(registry.Add(FakeInfo("x"), FakeFactory()).code(), StatusCode::kAlreadyExists);
}

TEST(MethodRegistryTest, UnknownNameSuggestsTheClosest) {
  MethodRegistry registry;
  AddBuiltinMethods(registry);
  Result<std::unique_ptr<Method>> m = registry.Create("barro", {});
  EXPECT_TRUE(m.status().IsNotFound());
  EXPECT_THAT(m.status().message(), ::testing::HasSubstr("did you mean 'baro'?"));
  Result<std::unique_ptr<Method>> far = registry.Create("pagerank_of_everything", {});
  EXPECT_TRUE(far.status().IsNotFound());
  EXPECT_THAT(far.status().message(), ::testing::Not(::testing::HasSubstr("did you mean")));
}

TEST(MethodRegistryTest, CreatesAFakeFromAPrivateRegistry) {
  MethodRegistry registry;
  ASSERT_TRUE(registry.Add(FakeInfo("reverse"), FakeFactory()).ok());
  Result<std::unique_ptr<Method>> m = registry.Create("reverse", {});
  ASSERT_TRUE(m.ok());
  data::Case c = testing::MakeCase({0, 1}, {"a_x", "b_y"}, {{1, 2}, {3, 4}}, 1);
  Result<Ranking> r = (*m)->Rank(c, RunContext{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].Name(), "b_y");
}

TEST(MethodRegistryTest, BuiltinsAreTheIssueMethodsInOrder) {
  MethodRegistry registry;
  AddBuiltinMethods(registry);
  std::vector<std::string> names;
  for (const MethodInfo* info : registry.List()) {
    names.emplace_back(info->name);
    EXPECT_FALSE(info->summary.empty()) << info->name;
    EXPECT_FALSE(info->citation.empty()) << info->name;
  }
  EXPECT_THAT(names, ::testing::ElementsAre(
                         "baro", "dummy", "e_diagnosis", "fci_pagerank", "fci_randomwalk",
                         "ges_pagerank", "ges_randomwalk", "granger_pagerank",
                         "granger_randomwalk", "lingam_pagerank", "lingam_randomwalk", "nsigma",
                         "ntlr_pagerank", "ntlr_randomwalk", "pc_pagerank", "pc_randomwalk"));
}

TEST(RankedCauseTest, NameJoinsServiceAndIndicator) {
  EXPECT_EQ((RankedCause{"ray-head", "ctn_cpu", 1}).Name(), "ray-head_ctn_cpu");
  EXPECT_EQ((RankedCause{"nginx-proxy", "", 1}).Name(), "nginx-proxy");
}

}  // namespace
}  // namespace llmrca::rca
