#include "data/case.h"

#include <cmath>
#include <system_error>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/strings.h"
#include "data/csv.h"

namespace llmrca::data {

namespace fs = std::filesystem;

Result<fs::path> FindMetricsFile(const fs::path& dir) {
  for (const char* name : {"data.csv", "simple_metrics.csv", "metrics.csv"}) {
    std::error_code ec;
    fs::path candidate = dir / name;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return Status::NotFound(fmt::format(
      "data: no data.csv (or simple_metrics.csv, metrics.csv) in {}", dir.string()));
}

Result<double> ReadInjectTime(const fs::path& path) {
  Result<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status().WithPrefix("data");
  std::string_view body = *text;
  if (body.size() >= 3 && body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  std::string_view first_line = body.substr(0, body.find('\n'));
  std::string_view value = Trim(first_line);
  const size_t column = value.empty() ? 1 : static_cast<size_t>(value.data() - first_line.data()) + 1;
  if (value.empty()) {
    return Status::DataError(fmt::format("data: {}:1:1: empty inject time", path.string()));
  }
  std::optional<double> t = ParseDouble(value);
  if (!t || !std::isfinite(*t)) {
    return Status::DataError(fmt::format("data: {}:1:{}: inject time '{}' is not a number",
                                         path.string(), column, value));
  }
  return *t;
}

namespace {

// The "sli" string of case.json, or empty; errors name the file.
Result<std::string> ReadSli(const fs::path& path) {
  LLMRCA_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return Status::DataError(fmt::format("data: {}: not valid JSON", path.string()));
  }
  if (!doc.is_object()) {
    return Status::DataError(fmt::format("data: {}: expected a JSON object", path.string()));
  }
  auto it = doc.find("sli");
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) {
    return Status::DataError(fmt::format("data: {}: 'sli' must be a string", path.string()));
  }
  return it->get<std::string>();
}

}  // namespace

Result<Case> LoadCase(const fs::path& dir, const PreprocessOptions& options, std::string id) {
  LLMRCA_ASSIGN_OR_RETURN(fs::path metrics_path, FindMetricsFile(dir));
  Case c;
  c.id = id.empty() ? dir.filename().string() : std::move(id);
  if (c.id.empty()) c.id = dir.parent_path().filename().string();  // "dir/" has an empty filename
  LLMRCA_ASSIGN_OR_RETURN(c.inject_time, ReadInjectTime(dir / "inject_time.txt"));
  LLMRCA_ASSIGN_OR_RETURN(Frame raw, ReadMetricsCsv(metrics_path, ReadOptionsFor(options)));
  Result<Frame> metrics = ApplyPreprocessing(std::move(raw), c.inject_time, options);
  if (!metrics.ok()) return metrics.status().WithPrefix("data: " + metrics_path.string());
  c.metrics = std::move(metrics).value();
  if (c.metrics.NumCols() == 0) {
    return Status::DataError(fmt::format("data: {}: no metric column left after preprocessing",
                                         metrics_path.string()));
  }
  std::error_code ec;
  if (fs::exists(dir / "case.json", ec)) {
    Result<std::string> sli = ReadSli(dir / "case.json");
    if (!sli.ok()) return sli.status().code() == StatusCode::kIoError
                              ? sli.status().WithPrefix("data")
                              : sli.status();
    c.sli = std::move(sli).value();
  }
  return c;
}

}  // namespace llmrca::data
