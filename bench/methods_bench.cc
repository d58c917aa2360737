// Time per Rank() call of the built-in root-cause methods (rca/method.h), created by name through
// MethodRegistry as the CLI does: baro (default and compat=rcaeval), nsigma, e_diagnosis and
// dummy, on generated cases of 20 metrics x 72 rows (a seed-study case) and 500 metrics x 1,200
// rows, with the inject time in the middle.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "base/random.h"
#include "data/case.h"
#include "data/frame.h"
#include "rca/method.h"

namespace {

constexpr uint64_t kSeed = 20240601;
constexpr double kStartTime = 1717200000;
constexpr double kStepS = 5;
// Indicators cycled over the columns; `_mem` columns take the methods' bytes-to-MB path.
constexpr const char* kIndicators[] = {"ctn_cpu", "ctn_mem", "ctn_gpu", "latency"};

// Gaussian noise per metric around its own level on a 5 s grid; every 20th column is constant
// (an idle GPU), and column 1 shifts up by 10 standard deviations from the inject time on, so
// the methods have a root cause to find. The inject time is the time of the middle row.
llmrca::data::Case MakeCase(int cols, int rows) {
  llmrca::Rng rng(kSeed);
  std::vector<double> time(static_cast<size_t>(rows));
  for (int i = 0; i < rows; ++i) time[static_cast<size_t>(i)] = kStartTime + kStepS * i;
  std::vector<std::string> names;
  Eigen::MatrixXd values(rows, cols);
  const int split = rows / 2;
  for (int j = 0; j < cols; ++j) {
    const int kind = j % 4;
    names.push_back(fmt::format("svc-{}_{}", j / 4, kIndicators[kind]));
    const double level = kind == 1 ? 2e8 : 10 + 90 * rng.Uniform();
    const double sd = 0.05 * level;
    for (int i = 0; i < rows; ++i) {
      double v = j % 20 == 19 ? 0 : level + sd * rng.Normal();
      if (j == 1 && i >= split) v += 10 * sd;
      values(i, j) = v;
    }
  }
  llmrca::data::Case c;
  c.id = fmt::format("bench/{}x{}", cols, rows);
  c.inject_time = time[static_cast<size_t>(split)];
  c.metrics = llmrca::data::Frame(std::move(time), std::move(names), std::move(values));
  return c;
}

void BM_Rank(benchmark::State& state, const std::string& method,
             const llmrca::rca::ParamMap& params) {
  llmrca::rca::MethodRegistry registry;
  llmrca::rca::AddBuiltinMethods(registry);
  llmrca::Result<std::unique_ptr<llmrca::rca::Method>> m = registry.Create(method, params);
  if (!m.ok()) {
    state.SkipWithError(m.status().message().c_str());
    return;
  }
  const llmrca::data::Case c =
      MakeCase(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  llmrca::rca::RunContext ctx;
  ctx.seed = kSeed;
  for (auto _ : state) {
    llmrca::Result<llmrca::rca::Ranking> ranking = (*m)->Rank(c, ctx);
    if (!ranking.ok()) {
      state.SkipWithError(ranking.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(ranking->data());
  }
}

// {columns, rows}.
void CaseSizes(benchmark::internal::Benchmark* b) {
  // 20 x 72: a seed-study case; 200 x 1,000: the largest case of the Python timings in
  // docs/reference (rcaeval-methods.md section 6); 500 x 1,200: the size.
  b->Args({20, 72})->Args({200, 1000})->Args({500, 1200});
  b->ArgNames({"cols", "rows"});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK_CAPTURE(BM_Rank, baro, "baro", {})->Apply(CaseSizes);
BENCHMARK_CAPTURE(BM_Rank, baro_rcaeval, "baro", {{"compat", "rcaeval"}})->Apply(CaseSizes);
BENCHMARK_CAPTURE(BM_Rank, nsigma, "nsigma", {})->Apply(CaseSizes);
BENCHMARK_CAPTURE(BM_Rank, e_diagnosis, "e_diagnosis", {})->Apply(CaseSizes);
BENCHMARK_CAPTURE(BM_Rank, e_diagnosis_rcaeval, "e_diagnosis", {{"compat", "rcaeval"}})
    ->Apply(CaseSizes);
BENCHMARK_CAPTURE(BM_Rank, dummy, "dummy", {})->Apply(CaseSizes);

}  // namespace
