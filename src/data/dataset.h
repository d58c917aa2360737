// Dataset discovery: a dataset is a tree `<dataset>/<service>_<fault>/<repetition>/` of case
// directories (FORMATS.md); any directory holding a metrics file (data.csv, simple_metrics.csv
// or metrics.csv) is a case, as RCAEval's recursive glob finds them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"

namespace llmrca::data {

struct CaseRef {
  std::filesystem::path dir;
  std::string id;  // `dir` relative to the dataset root, with '/' separators
};

// Every case under `root`, in natural order of id ("x/2" before "x/10"). kNotFound when `root`
// is not a directory or holds no case; unreadable subdirectories are kIoError naming them.
Result<std::vector<CaseRef>> DiscoverCases(const std::filesystem::path& root);

// Orders strings with digit runs compared as numbers ("case2" < "case10").
bool NaturalLess(const std::string& a, const std::string& b);

}  // namespace llmrca::data
