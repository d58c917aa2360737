// Throughput of the metrics CSV reader (data/csv.h): ParseMetricsCsv on in-memory text, so no
// disk time is measured, and ReadMetricsCsv on a file in a temporary directory (served from the
// page cache after the first read). The CSV text is generated with a fixed seed and reported as
// bytes/second; the sizes are a seed-study case, a wide case and a long wide case.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <system_error>
#include <utility>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "base/random.h"
#include "data/csv.h"

namespace {

constexpr uint64_t kSeed = 20240601;
// Unix seconds of the first row; rows are 5 s apart like the study's scrape interval.
constexpr int64_t kStartTime = 1717200000;
constexpr int64_t kStepS = 5;

// A wide metrics CSV as pandas writes a Prometheus export: `time` in unix seconds, then `cols`
// columns `svc-<i>_ctn_cpu`. Each column has its own level (log-uniform over 0.01..1000) with
// 10% noise; three columns in four are printed "%.6f", the fourth with the shortest round-trip
// digits (up to 17 significant), as pandas does for floats that are not rounded at the source.
std::string MakeMetricsCsv(int cols, int rows) {
  llmrca::Rng rng(kSeed);
  std::vector<double> level(static_cast<size_t>(cols));
  for (double& l : level) l = std::pow(10.0, -2.0 + 5.0 * rng.Uniform());
  std::string out = "time";
  for (int j = 0; j < cols; ++j) fmt::format_to(std::back_inserter(out), ",svc-{}_ctn_cpu", j);
  out += '\n';
  for (int i = 0; i < rows; ++i) {
    fmt::format_to(std::back_inserter(out), "{}", kStartTime + kStepS * i);
    for (int j = 0; j < cols; ++j) {
      const double v = std::fabs(level[static_cast<size_t>(j)] * (1.0 + 0.1 * rng.Normal()));
      if (j % 4 == 3) {
        fmt::format_to(std::back_inserter(out), ",{}", v);
      } else {
        fmt::format_to(std::back_inserter(out), ",{:.6f}", v);
      }
    }
    out += '\n';
  }
  return out;
}

// Google Benchmark calls a benchmark function several times (to size the iteration count, and
// once per repetition); generating the largest text takes longer than parsing it, so each size
// is generated once per process. The benchmarks run on one thread.
const std::string& CachedMetricsCsv(int cols, int rows) {
  static std::map<std::pair<int, int>, std::string> cache;
  auto [it, inserted] = cache.try_emplace({cols, rows});
  if (inserted) it->second = MakeMetricsCsv(cols, rows);
  return it->second;
}

void SetCounters(benchmark::State& state, const std::string& text) {
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["MB"] = static_cast<double>(text.size()) / 1e6;
}

void BM_ParseMetricsCsv(benchmark::State& state) {
  const int cols = static_cast<int>(state.range(0));
  const int rows = static_cast<int>(state.range(1));
  const std::string& text = CachedMetricsCsv(cols, rows);
  for (auto _ : state) {
    llmrca::Result<llmrca::data::Frame> frame = llmrca::data::ParseMetricsCsv(text, "bench.csv");
    if (!frame.ok()) {
      state.SkipWithError(frame.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(frame->Values().data());
  }
  SetCounters(state, text);
}

void BM_ReadMetricsCsv(benchmark::State& state) {
  const int cols = static_cast<int>(state.range(0));
  const int rows = static_cast<int>(state.range(1));
  const std::string& text = CachedMetricsCsv(cols, rows);
  // One directory per process and call, removed before returning.
  std::error_code ec;
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path(ec) / fmt::format("llmrca_csv_bench_{}", ::getpid());
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path path = dir / "data.csv";
  {
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    file.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!file) {
      state.SkipWithError(fmt::format("cannot write {}", path.string()).c_str());
      std::filesystem::remove_all(dir, ec);
      return;
    }
  }
  for (auto _ : state) {
    llmrca::Result<llmrca::data::Frame> frame = llmrca::data::ReadMetricsCsv(path);
    if (!frame.ok()) {
      state.SkipWithError(frame.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(frame->Values().data());
  }
  SetCounters(state, text);
  std::filesystem::remove_all(dir, ec);
}

// {columns, rows}: a seed-study case (20 metrics, 6 minutes at 5 s), a wide case (500 metrics,
// 100 minutes), and a long wide one (500 metrics, ~14 hours; ~60 MB of text).
void CsvSizes(benchmark::internal::Benchmark* b) {
  b->Args({20, 72})->Args({500, 1200})->Args({500, 10000});
  b->ArgNames({"cols", "rows"});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_ParseMetricsCsv)->Apply(CsvSizes);
BENCHMARK(BM_ReadMetricsCsv)->Apply(CsvSizes);

}  // namespace
