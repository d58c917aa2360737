// SimulateCase: one case of the simulated LLM serving stack, run in virtual time. Requests
// arrive open-loop at nginx-proxy, pass the Serve proxy on ray-head, are routed (power of two
// choices) to a continuous-batching engine (sim/engine.h) and stream their tokens back; faults
// change causes (CPU quota, memory, network, GPU power, ...) and every symptom follows from the
// model. The outputs go to a CaseSink as they are produced: telemetry rows every step (the
// study's columns and quirks, plus more in full telemetry), one record per request, and log
// lines. Memory stays bounded by the number of components, not by the number of requests.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "sim/config.h"

namespace llmrca::sim {

// One request as the telemetry saw it. Times are unix seconds; a time that never happened is
// NaN (e.g. no first token for a request that failed in the queue).
struct RequestRecord {
  uint64_t id = 0;
  std::string engine;        // component that served it (ray-head or ray-replicas-*)
  bool flood = false;        // traffic of the kv-cache fault
  int prompt_tokens = 0;
  int output_tokens = 0;     // requested
  int generated_tokens = 0;
  int status = 200;          // 200; 500 engine failure; 503 no healthy replica; 400 too long
  double t_arrival = 0;      // at nginx-proxy
  double t_head = 0;         // at the Serve proxy on ray-head
  double t_replica = 0;      // queued at the engine
  double t_first_token = 0;  // engine-side first token
  double t_engine_done = 0;  // engine-side end (last token or failure)
  double t_head_done = 0;    // the head relayed the last chunk
  double t_nginx_done = 0;   // nginx received the last chunk
  double t_client_first = 0;  // the client received the first chunk
  double t_client_done = 0;   // the client received the last chunk or the error
};

enum class ColumnKind { kNumber, kText };

struct ColumnSpec {
  std::string name;
  ColumnKind kind = ColumnKind::kNumber;
  std::string text;  // the constant value of a text column (the study's pod and node names)
};

// Receives a case's outputs in time order of their production.
class CaseSink {
 public:
  virtual ~CaseSink() = default;
  // Once, before any row: the data.csv columns after `time`.
  virtual Status OnColumns(const std::vector<ColumnSpec>& columns) = 0;
  // One telemetry row: a value per numeric column, in column order (NaN = no data).
  virtual Status OnRow(double time, std::span<const double> numbers) = 0;
  virtual Status OnRequest(const RequestRecord& request) = 0;
  virtual Status OnLog(double time, const std::string& container, const std::string& message) = 0;
};

// Counts of what happened in a run.
struct CaseResult {
  int64_t rows = 0;
  int64_t requests = 0;
  int64_t failed_requests = 0;
  int64_t preemptions = 0;
  int64_t restarts = 0;
};

// Runs `config` (which must pass Validate()) and streams its outputs to `sink`; a sink error
// stops the run and is returned.
Result<CaseResult> SimulateCase(const CaseConfig& config, CaseSink& sink);

}  // namespace llmrca::sim
