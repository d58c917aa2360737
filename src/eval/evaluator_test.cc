#include "eval/evaluator.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "eval/report.h"

namespace llmrca::eval {
namespace {

namespace fs = std::filesystem;
using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            fmt::format("llmrca_eval_test_{}_{}", ::getpid(), counter_++);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// A case with services a, b, c (one indicator each); `root` steps from 1 to 50 at t = 6.
void WriteCase(const fs::path& dir, const std::string& root) {
  std::string csv = "time,a_cpu,b_cpu,c_cpu\n";
  for (int t = 0; t < 10; ++t) {
    auto v = [&](const std::string& s, int base) {
      return (s == root && t >= 6) ? 50 : base + (t % 3);
    };
    csv += fmt::format("{},{},{},{}\n", t, v("a", 1), v("b", 2), v("c", 3));
  }
  WriteFile(dir / "data.csv", csv);
  WriteFile(dir / "inject_time.txt", "6\n");
}

MethodSpec Spec(std::string name) { return MethodSpec{name, name, {}}; }

rca::MethodRegistry Builtins() {
  rca::MethodRegistry r;
  rca::AddBuiltinMethods(r);
  return r;
}

TEST(SummarizeTest, AggregatesHandMadeOutcomes) {
  // Two cpu cases (hits from k=1 and from k=3) and one failed delay case, one method "m".
  auto outcome = [](std::string id, std::string svc, std::string fault, AtK hits, bool failed) {
    CaseOutcome o;
    o.case_id = std::move(id);
    o.method = "m";
    o.truth.service = std::move(svc);
    o.truth.fault = std::move(fault);
    o.service_hits = hits;
    o.failed = failed;
    o.seconds = 0.5;
    return o;
  };
  std::vector<CaseOutcome> outcomes = {
      outcome("a_cpu/1", "a", "cpu", {1, 1, 1, 1, 1}, false),
      outcome("b_cpu/1", "b", "cpu", {0, 0, 1, 1, 1}, false),
      outcome("c_delay/1", "c", "delay", {0, 0, 0, 0, 0}, true),
  };
  std::vector<CaseChance> chances = {
      {"a_cpu/1", outcomes[0].truth, AtK{0.2, 0.4, 0.6, 0.8, 1.0}, std::nullopt},
      {"b_cpu/1", outcomes[1].truth, AtK{0.5, 1, 1, 1, 1}, std::nullopt},
  };
  std::vector<SummaryRow> rows = Summarize({Spec("m")}, outcomes, chances);
  auto find = [&](const std::string& method, const std::string& group) -> const SummaryRow* {
    for (const SummaryRow& r : rows) {
      if (r.method == method && r.group == group && r.level == Level::kService) return &r;
    }
    return nullptr;
  };
  const SummaryRow* cpu = find("m", "cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->cases, 2);
  EXPECT_EQ(cpu->failed, 0);
  EXPECT_THAT(cpu->ac, ElementsAre(0.5, 0.5, 1, 1, 1));
  EXPECT_DOUBLE_EQ(cpu->avg5, 0.8);  // (0.5 + 0.5 + 1 + 1 + 1) / 5
  EXPECT_DOUBLE_EQ(cpu->seconds_per_case, 0.5);
  // Chance: the mean of the two cases' chance vectors.
  EXPECT_THAT(cpu->chance_ac, ElementsAre(DoubleEq(0.35), DoubleEq(0.7), DoubleEq(0.8),
                                          DoubleEq(0.9), DoubleEq(1.0)));
  const SummaryRow* overall = find("m", "overall");
  ASSERT_NE(overall, nullptr);
  EXPECT_EQ(overall->cases, 3);
  EXPECT_EQ(overall->failed, 1);
  EXPECT_DOUBLE_EQ(overall->ac[0], 1.0 / 3);
  EXPECT_DOUBLE_EQ(overall->ac[2], 2.0 / 3);
  EXPECT_DOUBLE_EQ(overall->avg5, 8.0 / 15);  // (1/3 + 1/3 + 2/3 + 2/3 + 2/3) / 5
  const SummaryRow* delay = find("m", "delay");
  ASSERT_NE(delay, nullptr);
  EXPECT_EQ(delay->failed, 1);
  EXPECT_DOUBLE_EQ(delay->avg5, 0);
  ASSERT_NE(find("m", "b_cpu"), nullptr);  // service x fault cells
  ASSERT_NE(find("(random)", "cpu"), nullptr);
  EXPECT_DOUBLE_EQ(find("(random)", "cpu")->ac[0], 0.35);
  // Rows come fault types first, then overall, then the cells.
  EXPECT_EQ(rows[0].group, "cpu");
}

TEST(ParseMethodSpecsTest, AcceptsAllListsAndParameters) {
  rca::MethodRegistry registry = Builtins();
  Result<std::vector<MethodSpec>> all = ParseMethodSpecs("all", registry);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 16u);  // 4 single-metric methods, 6 builders x 2 rankers
  EXPECT_EQ((*all)[0].label, "baro");
  Result<std::vector<MethodSpec>> two =
      ParseMethodSpecs("baro, baro:direction=both:compat=rcaeval", registry);
  ASSERT_TRUE(two.ok()) << two.status().message();
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[1].label, "baro:direction=both:compat=rcaeval");
  EXPECT_EQ((*two)[1].params.at("direction"), "both");
  EXPECT_EQ((*two)[1].params.at("compat"), "rcaeval");
}

TEST(ParseMethodSpecsTest, CommonParametersGoToMethodsThatDeclareThem) {
  Result<std::vector<MethodSpec>> specs =
      ParseMethodSpecs("dummy,nsigma", Builtins(), {{"compat", "rcaeval"}});
  ASSERT_TRUE(specs.ok()) << specs.status().message();
  EXPECT_TRUE((*specs)[0].params.empty());  // dummy declares no compat
  EXPECT_EQ((*specs)[0].label, "dummy");
  EXPECT_EQ((*specs)[1].params.at("compat"), "rcaeval");
  EXPECT_EQ((*specs)[1].label, "nsigma:compat=rcaeval");
  Status unused = ParseMethodSpecs("dummy,nsigma", Builtins(), {{"alpah", "0.1"}}).status();
  EXPECT_TRUE(unused.IsInvalidArgument());
  EXPECT_THAT(unused.message(), HasSubstr("'alpah' is declared by none"));
}

TEST(ParseMethodSpecsTest, RejectsBadLists) {
  rca::MethodRegistry registry = Builtins();
  Status unknown = ParseMethodSpecs("baro,barro", registry).status();
  EXPECT_TRUE(unknown.IsNotFound());
  EXPECT_THAT(unknown.message(), HasSubstr("did you mean 'baro'?"));
  EXPECT_TRUE(ParseMethodSpecs("baro:direction", registry).status().IsInvalidArgument());
  EXPECT_TRUE(ParseMethodSpecs("baro:direction=left", registry).status().IsInvalidArgument());
  EXPECT_TRUE(ParseMethodSpecs("baro,baro", registry).status().IsInvalidArgument());
  EXPECT_TRUE(ParseMethodSpecs("baro,,nsigma", registry).status().IsInvalidArgument());
}

TEST(RunEvaluationTest, ScoresCasesRecordsFailuresAndSkipsUnlabelled) {
  TempDir tmp;
  const fs::path ds = tmp.path() / "ds";
  WriteCase(ds / "a_cpu" / "1", "a");
  WriteCase(ds / "b_cpu" / "1", "b");
  WriteCase(ds / "c_delay" / "1", "c");
  WriteCase(ds / "c_delay" / "2", "c");
  WriteFile(ds / "c_delay" / "2" / "data.csv", "time,a_cpu\n0,1\n1,2,3\n");  // ragged: fails
  WriteCase(ds / "nolabel" / "1", "a");  // parent is not <service>_<fault>: skipped
  EvalOptions options;
  options.out_dir = tmp.path() / "out";
  Result<EvalResult> result =
      RunEvaluation(ds, {Spec("baro"), Spec("dummy")}, Builtins(), options);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE(result->output_status.ok()) << result->output_status.message();
  EXPECT_EQ(result->total_cases, 5);
  ASSERT_EQ(result->skipped.size(), 1u);
  EXPECT_THAT(result->skipped[0], HasSubstr("nolabel/1"));
  ASSERT_EQ(result->outcomes.size(), 8u);  // 4 labelled cases x 2 methods
  const SummaryRow* overall = nullptr;
  for (const SummaryRow& r : result->rows) {
    if (r.method == "baro" && r.group == "overall" && r.level == Level::kService) overall = &r;
  }
  ASSERT_NE(overall, nullptr);
  EXPECT_EQ(overall->cases, 4);
  EXPECT_EQ(overall->failed, 1);
  EXPECT_DOUBLE_EQ(overall->ac[0], 0.75);  // the step ranks first in the 3 readable cases
  // Per-case rankings are written as the cases finish, failures with their error.
  EXPECT_TRUE(fs::exists(tmp.path() / "out" / "cases" / "baro" / "a_cpu" / "1.json"));
  std::ifstream failed(tmp.path() / "out" / "cases" / "baro" / "c_delay" / "2.json");
  std::string text((std::istreambuf_iterator<char>(failed)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("ragged row"));
}

TEST(RunEvaluationTest, ResultsDoNotDependOnTheNumberOfJobs) {
  TempDir tmp;
  for (int i = 1; i <= 6; ++i) WriteCase(tmp.path() / "b_cpu" / std::to_string(i), "b");
  EvalOptions one, four;
  four.jobs = 4;
  Result<EvalResult> a = RunEvaluation(tmp.path(), {Spec("dummy")}, Builtins(), one);
  Result<EvalResult> b = RunEvaluation(tmp.path(), {Spec("dummy")}, Builtins(), four);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->outcomes.size(), b->outcomes.size());
  for (size_t i = 0; i < a->outcomes.size(); ++i) {
    EXPECT_EQ(a->outcomes[i].case_id, b->outcomes[i].case_id);
    ASSERT_EQ(a->outcomes[i].ranking.size(), b->outcomes[i].ranking.size());
    for (size_t k = 0; k < a->outcomes[i].ranking.size(); ++k) {
      EXPECT_EQ(a->outcomes[i].ranking[k].Name(), b->outcomes[i].ranking[k].Name());
    }
  }
}

TEST(RunEvaluationTest, SkipFlaggedLeavesOutFlaggedCasesAndCountsThem) {
  TempDir tmp;
  WriteCase(tmp.path() / "a_cpu" / "1", "a");
  WriteCase(tmp.path() / "b_cpu" / "1", "b");
  WriteFile(tmp.path() / "b_cpu" / "1" / "case.json",
            R"({"root_cause": {"service": "b", "indicator": "cpu"}, "flagged": true})");
  EvalOptions skip;
  skip.skip_flagged = true;
  Result<EvalResult> with_skip = RunEvaluation(tmp.path(), {Spec("baro")}, Builtins(), skip);
  ASSERT_TRUE(with_skip.ok());
  EXPECT_EQ(with_skip->outcomes.size(), 1u);
  EXPECT_THAT(with_skip->flagged_skipped, ElementsAre("b_cpu/1"));
  Result<EvalResult> all = RunEvaluation(tmp.path(), {Spec("baro")}, Builtins(), EvalOptions{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->outcomes.size(), 2u);
  EXPECT_TRUE(all->flagged_skipped.empty());
}

TEST(RunEvaluationTest, MissingDatasetIsNotFound) {
  Result<EvalResult> r =
      RunEvaluation("/nonexistent/llmrca-dataset", {Spec("baro")}, Builtins(), EvalOptions{});
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_THAT(r.status().message(), HasSubstr("/nonexistent/llmrca-dataset"));
}

}  // namespace
}  // namespace llmrca::eval
