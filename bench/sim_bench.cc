// Benchmarks of the LLM-serving simulator: one seed-parity case (360 s at 5 QPS, 4 engines)
// into a sink that discards everything, and the same load per engine at 64 and 256 engines, to
// show cost per case and that memory follows the components, not the requests (peak RSS).
#include <sys/resource.h>

#include <benchmark/benchmark.h>

#include "sim/config.h"
#include "sim/faults.h"
#include "sim/simulator.h"

namespace {

class NullSink final : public llmrca::sim::CaseSink {
 public:
  llmrca::Status OnColumns(const std::vector<llmrca::sim::ColumnSpec>&) override {
    return llmrca::Status::Ok();
  }
  llmrca::Status OnRow(double, std::span<const double> numbers) override {
    values += numbers.size();
    return llmrca::Status::Ok();
  }
  llmrca::Status OnRequest(const llmrca::sim::RequestRecord&) override {
    ++requests;
    return llmrca::Status::Ok();
  }
  llmrca::Status OnLog(double, const std::string&, const std::string& m) override {
    bytes += m.size();
    return llmrca::Status::Ok();
  }
  size_t values = 0, requests = 0, bytes = 0;
};

void BM_SimulateCase(benchmark::State& state) {
  llmrca::sim::CaseConfig c;
  c.id = "bench/1";
  c.seed = 1;
  c.gpu = *llmrca::sim::FindGpuProfile("a100-80");
  c.model = *llmrca::sim::FindModelProfile("falcon-h1-7b");
  c.topology.replicas = static_cast<int>(state.range(0));
  c.load.qps = 1.25 * c.topology.replicas;  // the study's 5 QPS over 4 engines, per engine
  c.telemetry.mode = state.range(1) ? llmrca::sim::TelemetryMode::kFull
                                    : llmrca::sim::TelemetryMode::kSeed;
  llmrca::sim::FaultSpec f;
  f.kind = llmrca::sim::FaultKind::kCpu;
  f.target = "ray-head";
  f.params = llmrca::sim::DefaultFaultParams(f.kind);
  c.faults.push_back(f);
  size_t requests = 0;
  for (auto _ : state) {
    NullSink sink;
    auto r = llmrca::sim::SimulateCase(c, sink);
    if (!r.ok()) state.SkipWithError(r.status().message().c_str());
    requests = sink.requests;
    benchmark::DoNotOptimize(sink.values);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["requests"] = static_cast<double>(requests);
  state.counters["requests/s"] =
      benchmark::Counter(static_cast<double>(requests), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MB"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

BENCHMARK(BM_SimulateCase)
    ->Args({4, 0})
    ->Args({4, 1})
    ->Args({64, 1})
    ->Args({256, 1})
    ->ArgNames({"engines", "full"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
