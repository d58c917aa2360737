// Benchmarks of causal discovery: PC, Granger and LiNGAM at 20, 50 and 200 metrics x 1,000 rows
// of a seeded sparse linear SEM (the sizes of the Python timings in docs/reference,
// rcaeval-methods.md section 6), and every graph-based RCA method on one 50-metric case.
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include "base/random.h"
#include "base/thread_pool.h"
#include "causal/learn.h"
#include "data/case.h"
#include "rca/method.h"

namespace {

// x_j = sum of 0.5..1.0-weighted earlier parents (each earlier node a parent with
// probability degree/n, so `degree` edges per node on average) + noise; the last quarter of the
// rows shifts node 0 (a fault).
Eigen::MatrixXd SemData(int metrics, int rows, uint64_t seed, bool laplace_noise,
                        double degree = 2) {
  llmrca::Rng rng(seed);
  Eigen::MatrixXd w = Eigen::MatrixXd::Zero(metrics, metrics);
  for (int j = 1; j < metrics; ++j) {
    for (int i = 0; i < j; ++i) {
      if (rng.Uniform() < degree / metrics) w(i, j) = (0.5 + 0.5 * rng.Uniform()) * (rng.Uniform() < 0.5 ? -1 : 1);
    }
  }
  Eigen::MatrixXd x(rows, metrics);
  for (int r = 0; r < rows; ++r) {
    for (int j = 0; j < metrics; ++j) {
      double noise = laplace_noise ? (rng.Uniform() < 0.5 ? 1 : -1) * std::log(1 - rng.Uniform())
                                   : rng.Normal();
      double v = noise;
      for (int i = 0; i < j; ++i) v += w(i, j) * x(r, i);
      if (j == 0 && r >= rows * 3 / 4) v += 6;
      x(r, j) = v;
    }
  }
  return x;
}

// Learns the graph of x once per benchmark iteration.
void RunLearnGraph(benchmark::State& state, const Eigen::MatrixXd& x,
                   const llmrca::causal::LearnOptions& o) {
  for (auto _ : state) {
    auto g = llmrca::causal::LearnGraph(x, o);
    if (!g.ok()) {
      state.SkipWithError(g.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(g->graph.NumEdges());
  }
  state.counters["threads"] = static_cast<double>(o.threads);
}

// range(0) metrics, range(1) rows, range(2) threads (0: all hardware threads), range(3) edges
// per node.
void BM_Learn(benchmark::State& state, const char* algo) {
  const int metrics = static_cast<int>(state.range(0));
  const int rows = static_cast<int>(state.range(1));
  const double degree = static_cast<double>(state.range(3));
  const Eigen::MatrixXd x = SemData(metrics, rows, 7, std::string(algo) == "lingam", degree);
  llmrca::causal::LearnOptions o;
  o.algo = algo;
  o.threads = state.range(2) > 0 ? static_cast<size_t>(state.range(2)) : llmrca::HardwareThreads();
  RunLearnGraph(state, x, o);
}

// The sizes (20, 50, 200 metrics x 1,000 rows) on all threads and on one, then the
// growth with rows at 50 metrics.
void Sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"metrics", "rows", "threads", "degree"})
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  for (int threads : {0, 1}) {
    for (int metrics : {20, 50, 200}) b->Args({metrics, 1000, threads, 2});
  }
  for (int rows : {250, 4000}) b->Args({50, rows, 0, 2});
  b->Args({200, 1000, 0, 6});  // a denser graph: 6 edges per node
}

BENCHMARK_CAPTURE(BM_Learn, pc, "pc")->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Learn, granger, "granger")->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Learn, lingam, "lingam")->Apply(Sizes);
BENCHMARK_CAPTURE(BM_Learn, fci, "fci")->Args({50, 1000, 0, 2})->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Learn, ges, "ges")->Args({50, 1000, 0, 2})->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK_CAPTURE(BM_Learn, ntlr, "ntlr")->Args({50, 1000, 0, 2})->Unit(benchmark::kMillisecond)->Iterations(1);

// LiNGAM on metrics in mixed units: the benchmark's SEM with every tenth column in units 1e9 times
// smaller (bytes beside gigabytes). Real cases mix percent, bytes and seconds like this.
void BM_LingamMixedUnits(benchmark::State& state) {
  const int metrics = static_cast<int>(state.range(0));
  Eigen::MatrixXd x = SemData(metrics, 1000, 7, true);
  for (int j = 0; j < metrics; j += 10) x.col(j) *= 1e9;
  llmrca::causal::LearnOptions o;
  o.algo = "lingam";
  o.threads = llmrca::HardwareThreads();
  RunLearnGraph(state, x, o);
}
BENCHMARK(BM_LingamMixedUnits)->ArgName("metrics")->Arg(50)->Arg(200)->Unit(benchmark::kMillisecond)->Iterations(1);

// One case of 50 metrics (12 services x 4 + 2) x 1,000 rows through each registered method.
llmrca::data::Case MakeCase(int metrics, int rows) {
  const Eigen::MatrixXd x = SemData(metrics, rows, 11, true);
  std::vector<double> time(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) time[static_cast<size_t>(r)] = 1700000000.0 + 5.0 * r;
  std::vector<std::string> names;
  for (int j = 0; j < metrics; ++j) names.push_back(fmt::format("svc-{}_m{}", j / 4, j % 4));
  llmrca::data::Case c;
  c.id = "bench/1";
  c.inject_time = time[static_cast<size_t>(rows * 3 / 4)];
  c.metrics = llmrca::data::Frame(std::move(time), std::move(names), x);
  return c;
}

// range(0) != 0: compat=rcaeval (the reference's arithmetic, the figure to set beside Python's).
void BM_GraphMethod(benchmark::State& state, const char* method) {
  static const llmrca::data::Case kCase = MakeCase(50, 1000);
  llmrca::rca::MethodRegistry registry;
  llmrca::rca::AddBuiltinMethods(registry);
  llmrca::rca::ParamMap params;
  if (state.range(0) != 0) params["compat"] = "rcaeval";
  auto m = registry.Create(method, params);
  if (!m.ok()) {
    state.SkipWithError(m.status().message().c_str());
    return;
  }
  llmrca::rca::RunContext ctx;
  ctx.threads = llmrca::HardwareThreads();
  for (auto _ : state) {
    auto r = (*m)->Rank(kCase, ctx);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(r->size());
  }
}

#define LLMRCA_GRAPH_METHOD_BENCH(name) \
  BENCHMARK_CAPTURE(BM_GraphMethod, name, #name)                                         \
      ->ArgName("compat")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1)

LLMRCA_GRAPH_METHOD_BENCH(pc_pagerank);
LLMRCA_GRAPH_METHOD_BENCH(pc_randomwalk);
LLMRCA_GRAPH_METHOD_BENCH(fci_pagerank);
LLMRCA_GRAPH_METHOD_BENCH(fci_randomwalk);
LLMRCA_GRAPH_METHOD_BENCH(ges_pagerank);
LLMRCA_GRAPH_METHOD_BENCH(ges_randomwalk);
LLMRCA_GRAPH_METHOD_BENCH(granger_pagerank);
LLMRCA_GRAPH_METHOD_BENCH(granger_randomwalk);
LLMRCA_GRAPH_METHOD_BENCH(lingam_pagerank);
LLMRCA_GRAPH_METHOD_BENCH(lingam_randomwalk);
LLMRCA_GRAPH_METHOD_BENCH(ntlr_pagerank);
LLMRCA_GRAPH_METHOD_BENCH(ntlr_randomwalk);

}  // namespace
