#include "sim/simulator.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llmrca::sim {
namespace {

// Collects everything a run produces, in memory.
class MemorySink final : public CaseSink {
 public:
  Status OnColumns(const std::vector<ColumnSpec>& columns) override {
    for (const ColumnSpec& c : columns) {
      if (c.kind == ColumnKind::kNumber) {
        index[c.name] = static_cast<int>(numeric.size());
        numeric.push_back(c.name);
      } else {
        text[c.name] = c.text;
      }
    }
    return Status::Ok();
  }
  Status OnRow(double time, std::span<const double> numbers) override {
    times.push_back(time);
    rows.emplace_back(numbers.begin(), numbers.end());
    return Status::Ok();
  }
  Status OnRequest(const RequestRecord& r) override {
    requests.push_back(r);
    return Status::Ok();
  }
  Status OnLog(double time, const std::string& container, const std::string& message) override {
    logs.push_back({time, container + " " + message});
    return Status::Ok();
  }
  // Mean of a column over rows with time in [from, to).
  double Mean(const std::string& column, double from, double to) const {
    const int k = index.at(column);
    double sum = 0;
    int n = 0;
    for (size_t i = 0; i < times.size(); ++i) {
      const double v = rows[i][static_cast<size_t>(k)];
      if (times[i] >= from && times[i] < to && std::isfinite(v)) {
        sum += v;
        ++n;
      }
    }
    return n ? sum / n : std::nan("");
  }

  std::vector<std::string> numeric;
  std::map<std::string, int> index;
  std::map<std::string, std::string> text;
  std::vector<double> times;
  std::vector<std::vector<double>> rows;
  std::vector<RequestRecord> requests;
  std::vector<std::pair<double, std::string>> logs;
};

CaseConfig BaseConfig(TelemetryMode mode) {
  CaseConfig c;
  c.id = "test_case/1";
  c.seed = 11;
  c.gpu = *FindGpuProfile("a100-80");
  c.model = *FindModelProfile("falcon-h1-7b");
  c.telemetry.mode = mode;
  return c;
}

FaultSpec Fault(FaultKind kind, std::string target) {
  FaultSpec f;
  f.kind = kind;
  f.target = std::move(target);
  f.params = DefaultFaultParams(kind);
  return f;
}

TEST(SimulatorTest, IsDeterministicForASeed) {
  CaseConfig c = BaseConfig(TelemetryMode::kFull);
  c.faults.push_back(Fault(FaultKind::kCpu, "ray-replicas-0"));
  MemorySink a, b;
  ASSERT_TRUE(SimulateCase(c, a).ok());
  ASSERT_TRUE(SimulateCase(c, b).ok());
  ASSERT_EQ(a.rows.size(), b.rows.size());
  for (size_t i = 0; i < a.rows.size(); ++i) {
    for (size_t k = 0; k < a.rows[i].size(); ++k) {
      const double x = a.rows[i][k], y = b.rows[i][k];
      EXPECT_TRUE((std::isnan(x) && std::isnan(y)) || x == y) << a.numeric[k] << " row " << i;
    }
  }
  ASSERT_EQ(a.requests.size(), b.requests.size());
  ASSERT_EQ(a.logs, b.logs);
  c.seed = 12;
  MemorySink other;
  ASSERT_TRUE(SimulateCase(c, other).ok());
  EXPECT_NE(other.logs, a.logs);
}

TEST(SimulatorTest, WritesTheStudyRowsAndColumns) {
  // seed-study.md A.4: 360 s at 5 s steps -> 72 rows from the load start; A.5(b) columns.
  MemorySink s;
  Result<CaseResult> r = SimulateCase(BaseConfig(TelemetryMode::kSeed), s);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(s.times.size(), 72u);
  EXPECT_DOUBLE_EQ(s.times.front(), 1764151200);
  EXPECT_DOUBLE_EQ(s.times.back(), 1764151200 + 355);
  for (const char* name :
       {"ray-head_ctn_cpu", "ray-head_ctn_network", "ray-head_ctn_memory", "ray-head_ctn_gpu",
        "ray-replicas-2_ctn_cpu", "nginx-proxy_ctn_cpu", "nginx-proxy_latency-50",
        "ray-replicas-0_latency-90", "ray-head_node_cpu"}) {
    EXPECT_TRUE(s.index.count(name)) << name;
  }
  EXPECT_TRUE(s.text.count("ray-replicas-1_pod_ip"));
  EXPECT_FALSE(s.index.count("ray-head_vllm_kv_cache_usage"));  // full telemetry only
  // nginx-proxy has no GPU: its ctn_gpu has no data, as a missing Prometheus series.
  EXPECT_TRUE(std::isnan(s.Mean("nginx-proxy_ctn_gpu", 0, 1e12)));
}

TEST(SimulatorTest, AccountsForEveryRequestWithOrderedTimes) {
  // 5 QPS (constant) x 360 s = 1800 arrivals; those still in flight at the end are not
  // recorded, so a few seconds' worth (at ~3 s per request, < 40) may be missing.
  MemorySink s;
  Result<CaseResult> r = SimulateCase(BaseConfig(TelemetryMode::kSeed), s);
  ASSERT_TRUE(r.ok());
  EXPECT_LE(s.requests.size(), 1800u);
  EXPECT_GE(s.requests.size(), 1760u);
  EXPECT_EQ(r->requests, static_cast<int64_t>(s.requests.size()));
  for (const RequestRecord& q : s.requests) {
    ASSERT_EQ(q.status, 200);
    EXPECT_LE(q.t_arrival, q.t_head);
    EXPECT_LE(q.t_head, q.t_replica);
    EXPECT_LE(q.t_replica, q.t_first_token);
    EXPECT_LE(q.t_first_token, q.t_engine_done);
    EXPECT_LE(q.t_engine_done, q.t_client_done);
    EXPECT_EQ(q.generated_tokens, q.output_tokens);
  }
}

TEST(SimulatorTest, CpuFaultOnOneReplicaRaisesItsTtftMostAndLowersItsGpuUse) {
  // The CPU quota starves the target's scheduler: its steps stretch, its queue and TTFT grow
  // (reference C.2 "Host CPU contention"), and its GPU idles between steps.
  CaseConfig c = BaseConfig(TelemetryMode::kFull);
  c.faults.push_back(Fault(FaultKind::kCpu, "ray-replicas-1"));
  MemorySink s;
  ASSERT_TRUE(SimulateCase(c, s).ok());
  const double t0 = c.start_unix, inject = t0 + 285, end = inject + 60;
  auto rise = [&](const std::string& column) {
    return s.Mean(column, inject + 15, end + 10) - s.Mean(column, t0 + 60, inject);
  };
  const double target = rise("ray-replicas-1_vllm_ttft_p90");
  EXPECT_GT(target, 0);
  for (const char* other : {"ray-head_vllm_ttft_p90", "ray-replicas-0_vllm_ttft_p90",
                            "ray-replicas-2_vllm_ttft_p90"}) {
    EXPECT_GT(target, rise(other)) << other;
  }
  EXPECT_LT(s.Mean("ray-replicas-1_gpu_util", inject + 10, end),
            s.Mean("ray-replicas-1_gpu_util", t0 + 60, inject));
  EXPECT_GT(s.Mean("ray-replicas-1_ctn_cpu", inject + 60, end + 5),
            4 * s.Mean("ray-replicas-1_ctn_cpu", t0 + 60, inject));
}

TEST(SimulatorTest, PowerCapPinsPowerLowersClockAndCountsViolations) {
  CaseConfig c = BaseConfig(TelemetryMode::kFull);
  c.faults.push_back(Fault(FaultKind::kGpu, "ray-replicas-0"));
  MemorySink s;
  ASSERT_TRUE(SimulateCase(c, s).ok());
  const double t0 = c.start_unix, inject = t0 + 285, end = inject + 60;
  EXPECT_LT(s.Mean("ray-replicas-0_gpu_sm_clock", inject + 5, end),
            0.9 * s.Mean("ray-replicas-0_gpu_sm_clock", t0 + 60, inject));
  EXPECT_LE(s.Mean("ray-replicas-0_gpu_power", inject + 5, end), 150 + 1e-9);
  EXPECT_DOUBLE_EQ(s.Mean("ray-replicas-0_gpu_power_violation", t0 + 60, inject), 0);
  EXPECT_GT(s.Mean("ray-replicas-0_gpu_power_violation", inject + 5, end), 1e5);  // us/s
  // The other replicas are untouched.
  EXPECT_DOUBLE_EQ(s.Mean("ray-replicas-1_gpu_power_violation", inject + 5, end), 0);
}

TEST(SimulatorTest, XidCrashFailsInFlightRequestsThenTheReplicaRestarts) {
  CaseConfig c = BaseConfig(TelemetryMode::kFull);
  c.faults.push_back(Fault(FaultKind::kXid, "ray-replicas-2"));
  c.faults.back().duration_s = 20;
  c.faults.back().params["recovery_s"] = 0;
  MemorySink s;
  Result<CaseResult> r = SimulateCase(c, s);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->failed_requests, 1);
  EXPECT_EQ(r->restarts, 1);
  const double inject = c.start_unix + 285;
  EXPECT_DOUBLE_EQ(s.Mean("ray-replicas-2_gpu_xid", inject, inject + 20), 79);
  EXPECT_DOUBLE_EQ(s.Mean("ray-replicas-2_ctn_restarts", inject + 5, inject + 70), 1);
  const bool logged = std::any_of(s.logs.begin(), s.logs.end(), [](const auto& l) {
    return l.second.find("NVRM: Xid (PCI:") != std::string::npos;
  });
  EXPECT_TRUE(logged);
  // After GPU recovery (t + 20 s) and a 45 s start-up it serves again (inject + 65 s).
  int served_after = 0;
  for (const RequestRecord& q : s.requests) {
    if (q.engine == "ray-replicas-2" && q.status == 200 && q.t_replica > inject + 66) ++served_after;
  }
  EXPECT_GT(served_after, 0);
}

TEST(SimulatorTest, KvCacheFaultCausesAPreemptionStorm) {
  CaseConfig c = BaseConfig(TelemetryMode::kFull);
  c.faults.push_back(Fault(FaultKind::kKvCache, "ray-head"));
  MemorySink s;
  Result<CaseResult> r = SimulateCase(c, s);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->preemptions, 10);
  const double inject = c.start_unix + 285;
  EXPECT_GT(s.Mean("ray-head_vllm_kv_cache_usage", inject + 20, inject + 60), 0.9);
  EXPECT_GT(s.Mean("ray-head_vllm_num_requests_waiting", inject + 20, inject + 60), 5);
  const bool warned = std::any_of(s.logs.begin(), s.logs.end(), [](const auto& l) {
    return l.second.find("is preempted by PreemptionMode.RECOMPUTE") != std::string::npos;
  });
  EXPECT_TRUE(warned);
}

TEST(SimulatorTest, ContentionBeyondTheSpareMemoryCrashesTheEngineWithCudaOom) {
  // An A100-80 at gpu_memory_utilization 0.9 has 8 GB spare; a co-tenant taking 10 GiB makes
  // the engine's next allocation fail, and it cannot restart until the memory is released.
  CaseConfig c = BaseConfig(TelemetryMode::kFull);
  c.faults.push_back(Fault(FaultKind::kGpuContention, "ray-replicas-1"));
  c.faults.back().params["fb_gib"] = 10;
  MemorySink s;
  Result<CaseResult> r = SimulateCase(c, s);
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->failed_requests, 1);
  EXPECT_EQ(r->restarts, 1);
  auto logged = [&](const char* text) {
    return std::any_of(s.logs.begin(), s.logs.end(),
                       [&](const auto& l) { return l.second.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(logged("torch.OutOfMemoryError: CUDA out of memory"));
  EXPECT_TRUE(logged("is less than desired GPU memory utilization"));
  // With the default 1 GiB it fits the spare memory: slower, no crash.
  CaseConfig fits = BaseConfig(TelemetryMode::kFull);
  fits.faults.push_back(Fault(FaultKind::kGpuContention, "ray-replicas-1"));
  MemorySink f;
  Result<CaseResult> ok = SimulateCase(fits, f);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->restarts, 0);
}

TEST(SimulatorTest, ArrivalPatternsSetTheRequestCount) {
  // Poisson at 5 QPS for 360 s: 1800 expected arrivals, sd sqrt(1800) = 42; requests still in
  // flight at the end (< 40) are not recorded.
  CaseConfig poisson = BaseConfig(TelemetryMode::kSeed);
  poisson.load.arrival = ArrivalPattern::kPoisson;
  MemorySink p;
  ASSERT_TRUE(SimulateCase(poisson, p).ok());
  EXPECT_GT(p.requests.size(), 1800u - 4 * 42 - 40);
  EXPECT_LT(p.requests.size(), 1800u + 4 * 42);
  // Bursts of 10 s at 3 x 5 QPS every 60 s: per minute 10 x 15 + 50 x 5 = 400 arrivals, so
  // 6 minutes give 2400 (constant spacing; the last few seconds' requests are in flight).
  CaseConfig burst = BaseConfig(TelemetryMode::kSeed);
  burst.load.burst_period_s = 60;
  burst.load.burst_length_s = 10;
  burst.load.burst_factor = 3;
  MemorySink b;
  ASSERT_TRUE(SimulateCase(burst, b).ok());
  EXPECT_GT(b.requests.size(), 2400u - 60);
  EXPECT_LE(b.requests.size(), 2400u + 3);
}

TEST(SimulatorTest, RejectsAnInvalidConfiguration) {
  CaseConfig c = BaseConfig(TelemetryMode::kSeed);
  c.topology.replicas = 0;
  MemorySink s;
  Result<CaseResult> r = SimulateCase(c, s);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("replicas must be in [1, 1000]"));
}

}  // namespace
}  // namespace llmrca::sim
