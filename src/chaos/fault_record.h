// The record of one injected fault: what `llmrca chaos` writes when a fault ends, and what an
// experiment copies into case.json's "fault" object as ground truth (docs FORMATS.md: type,
// start, end and params, plus the target and how the fault ended).
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace llmrca::chaos {

struct FaultRecord {
  std::string type;    // cpu, memory, delay, loss, bandwidth, timeout, reset, down, ...
  std::string target;  // what it acted on: "proxy 127.0.0.1:9000 -> 127.0.0.1:8001", a pid ...
  std::vector<std::pair<std::string, std::variant<std::string, double, bool>>> params;
  double start = 0;  // Unix seconds
  double end = 0;
  std::string outcome;  // "completed", "stopped by signal", "failed: <why>"
};

// Sets param `name` to `value`, replacing an earlier value of that name (a fault adds what it
// measured when it ends).
void SetParam(FaultRecord& record, const std::string& name,
              std::variant<std::string, double, bool> value);

// One JSON object: {"type":..,"target":..,"params":{..},"start":..,"end":..,"outcome":..}.
std::string FaultRecordJson(const FaultRecord& record);

// Unix seconds now, with microseconds.
double UnixSecondsNow();

}  // namespace llmrca::chaos
