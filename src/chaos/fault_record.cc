#include "chaos/fault_record.h"

#include <chrono>

#include <nlohmann/json.hpp>

namespace llmrca::chaos {

std::string FaultRecordJson(const FaultRecord& r) {
  nlohmann::json j;
  j["type"] = r.type;
  j["target"] = r.target;
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [key, value] : r.params) {
    std::visit([&](const auto& v) { params[key] = v; }, value);
  }
  j["params"] = params;
  j["start"] = r.start;
  j["end"] = r.end;
  j["outcome"] = r.outcome;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void SetParam(FaultRecord& record, const std::string& name,
              std::variant<std::string, double, bool> value) {
  for (auto& [key, old] : record.params) {
    if (key == name) {
      old = std::move(value);
      return;
    }
  }
  record.params.emplace_back(name, std::move(value));
}

double UnixSecondsNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace llmrca::chaos
