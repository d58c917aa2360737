#include "data/ground_truth.h"

#include <optional>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "data/csv.h"

namespace llmrca::data {

namespace fs = std::filesystem;

namespace {

Result<GroundTruth> FromCaseJson(const fs::path& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status().WithPrefix("data");
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view what) {
    return Status::DataError(fmt::format("data: {}: {}", path.string(), what));
  };
  if (doc.is_discarded()) return bad("not valid JSON");
  if (!doc.is_object()) return bad("expected a JSON object");
  auto rc = doc.find("root_cause");
  if (rc == doc.end() || !rc->is_object()) return bad("missing object 'root_cause'");
  auto service = rc->find("service");
  if (service == rc->end() || !service->is_string() || service->get<std::string>().empty()) {
    return bad("'root_cause.service' must be a non-empty string");
  }
  GroundTruth truth;
  truth.from_case_json = true;
  truth.service = service->get<std::string>();
  auto indicator = rc->find("indicator");
  if (indicator != rc->end() && !indicator->is_null()) {
    if (!indicator->is_string()) return bad("'root_cause.indicator' must be a string or null");
    truth.indicator = indicator->get<std::string>();
  }
  auto flagged = doc.find("flagged");
  if (flagged != doc.end() && !flagged->is_null()) {
    if (!flagged->is_boolean()) return bad("'flagged' must be true or false");
    truth.flagged = flagged->get<bool>();
  }
  auto fault = doc.find("fault");
  if (fault != doc.end() && fault->is_object()) {
    auto type = fault->find("type");
    if (type != fault->end() && !type->is_null()) {
      if (!type->is_string()) return bad("'fault.type' must be a string");
      truth.fault = type->get<std::string>();
    }
  }
  return truth;
}

}  // namespace

namespace {

// `<service>_<fault>` from the name of the case directory's parent, split on '_' into exactly two
// non-empty parts (RCAEval's rule); nullopt otherwise.
std::optional<GroundTruth> FromFolderName(const fs::path& dir, std::string* folder_out) {
  fs::path normalized = dir.lexically_normal();
  if (!normalized.has_filename()) normalized = normalized.parent_path();
  const std::string folder = normalized.parent_path().filename().string();
  if (folder_out != nullptr) *folder_out = folder;
  std::vector<std::string> parts = Split(folder, '_');
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty()) return std::nullopt;
  GroundTruth truth;
  truth.service = parts[0];
  truth.fault = parts[1];
  return truth;
}

}  // namespace

Result<GroundTruth> ReadGroundTruth(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "case.json", ec)) {
    LLMRCA_ASSIGN_OR_RETURN(GroundTruth truth, FromCaseJson(dir / "case.json"));
    if (truth.fault.empty()) {
      // case.json names the root cause but not the fault type: take it from the folder name.
      if (std::optional<GroundTruth> folder = FromFolderName(dir, nullptr)) {
        truth.fault = folder->fault;
      }
    }
    return truth;
  }
  std::string folder;
  std::optional<GroundTruth> truth = FromFolderName(dir, &folder);
  if (!truth) {
    return Status::DataError(fmt::format(
        "data: {}: cannot derive ground truth: parent folder '{}' is not '<service>_<fault>' and "
        "there is no case.json",
        dir.string(), folder));
  }
  return *truth;
}

}  // namespace llmrca::data
