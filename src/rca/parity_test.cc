// Parity with the reference Python implementations: testdata/parity holds six cases and the
// rankings RCAEval (exalsius/rca-llm fork, commit 9d0afee; see testdata/parity/README.md)
// produced for them. Deterministic methods must reproduce the top-10 exactly.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/case.h"
#include "rca/method.h"

namespace llmrca::rca {
namespace {

namespace fs = std::filesystem;

const fs::path kParity = fs::path(LLMRCA_TESTDATA_DIR) / "parity";

std::vector<std::string> CaseDirs() {
  return {"ray-head_cpu/1",          "ray-head_delay/1",       "ray-replicas-0_gpu/1",
          "ray-replicas-0_memory/1", "ray-replicas-1_delay/1", "ray-replicas-2_cpu/1"};
}

std::vector<std::string> Reference(const std::string& case_dir, const std::string& method) {
  std::ifstream in(kParity / case_dir / "reference.json");
  nlohmann::json doc = nlohmann::json::parse(in);
  return doc.at(method).get<std::vector<std::string>>();
}

std::vector<std::string> Ours(const std::string& case_dir, const std::string& method,
                              const ParamMap& params) {
  MethodRegistry registry;
  AddBuiltinMethods(registry);
  Result<data::Case> c = data::LoadCase(kParity / case_dir, data::PreprocessOptions{}, case_dir);
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (!c.ok()) return {};
  Result<Ranking> r = (*registry.Create(method, params))->Rank(*c, RunContext{});
  EXPECT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> names;
  if (r.ok()) {
    for (const RankedCause& x : *r) names.push_back(x.Name());
  }
  return names;
}

void ExpectTopMatches(const std::string& method, const ParamMap& params) {
  for (const std::string& dir : CaseDirs()) {
    std::vector<std::string> want = Reference(dir, method);
    std::vector<std::string> got = Ours(dir, method, params);
    ASSERT_GE(got.size(), want.size()) << dir;
    got.resize(want.size());
    EXPECT_EQ(got, want) << method << " on " << dir;
  }
}

TEST(ParityTest, BaroCompatMatchesReferenceExactly) {
  ExpectTopMatches("baro", {{"compat", "rcaeval"}});
}
TEST(ParityTest, BaroDefaultMatchesReferenceHere) { ExpectTopMatches("baro", {}); }
TEST(ParityTest, NsigmaCompatMatchesReferenceExactly) {
  ExpectTopMatches("nsigma", {{"compat", "rcaeval"}});
}
TEST(ParityTest, NsigmaDefaultMatchesReferenceHere) { ExpectTopMatches("nsigma", {}); }

TEST(ParityTest, PcPagerankCompatMatchesReferenceExactly) {
  // Includes the reference's pairing of PageRank scores with the first column names when some
  // columns have no edge (testdata/parity/README.md).
  ExpectTopMatches("pc_pagerank", {{"compat", "rcaeval"}});
}
TEST(ParityTest, FciPagerankCompatMatchesReferenceExactly) {
  ExpectTopMatches("fci_pagerank", {{"compat", "rcaeval"}});
}
TEST(ParityTest, GesPagerankCompatMatchesReferenceExactly) {
  ExpectTopMatches("ges_pagerank", {{"compat", "rcaeval"}});
}
TEST(ParityTest, GrangerPagerankCompatMatchesReferenceExactly) {
  ExpectTopMatches("granger_pagerank", {{"compat", "rcaeval"}});
}
TEST(ParityTest, PcRandomwalkCompatMatchesReferenceExactly) {
  // Randomized in name only: the reference's walk draws from numpy's default_rng(0) with
  // uniform transitions, which compat=rcaeval reproduces bit for bit.
  ExpectTopMatches("pc_randomwalk", {{"compat", "rcaeval"}});
}

TEST(ParityTest, EDiagnosisCompatUsuallyReturnsWhatTheReferenceReturned) {
  // Randomized in the reference (NumPy's unseeded bootstrap stream), so only the outcome is
  // compared, over 40 of our seeds: the reference returned nothing in four cases and one wrong
  // metric in two. Scores sit near thresholds that vary with the stream, so an exact match is not
  // guaranteed per seed; the reference's answer must be our most frequent one (measured: 75-100 %
  // of seeds per case; at least half is required).
  MethodRegistry registry;
  AddBuiltinMethods(registry);
  std::unique_ptr<Method> method =
      std::move(registry.Create("e_diagnosis", {{"compat", "rcaeval"}})).value();
  for (const std::string& dir : CaseDirs()) {
    Result<data::Case> c = data::LoadCase(kParity / dir, data::PreprocessOptions{}, dir);
    ASSERT_TRUE(c.ok());
    const std::vector<std::string> want = Reference(dir, "e_diagnosis");
    int same = 0;
    for (uint64_t seed = 0; seed < 40; ++seed) {
      RunContext ctx;
      ctx.seed = seed;
      Result<Ranking> r = method->Rank(*c, ctx);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_LE(r->size(), 3u);
      std::vector<std::string> got;
      for (const RankedCause& x : *r) got.push_back(x.Name());
      same += got == want ? 1 : 0;
    }
    EXPECT_GE(same, 20) << dir;
  }
}

}  // namespace
}  // namespace llmrca::rca
