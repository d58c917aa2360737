// GroundTruth: the answer for one case, kept apart from data::Case so that methods never see it.
// Derived exactly as FORMATS.md says: case.json's root_cause and fault when present, otherwise the
// name of the case directory's parent, `<service>_<fault>` split on '_' into exactly two parts
// (as RCAEval and the seed study do).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "base/status.h"

namespace llmrca::data {

struct GroundTruth {
  std::string service;                   // e.g. "ray-replicas-0"
  std::string fault;                     // fault type, e.g. "cpu"; empty when unknown
  std::optional<std::string> indicator;  // e.g. "ctn_cpu"; only case.json gives it
  bool from_case_json = false;
  // case.json's "flagged": the generator measured no effect of the fault (llmrca sim).
  bool flagged = false;
};

// Reads the ground truth of the case in `dir`. kDataError when case.json is malformed or absent
// and the parent folder's name is not `<service>_<fault>`.
Result<GroundTruth> ReadGroundTruth(const std::filesystem::path& dir);

}  // namespace llmrca::data
