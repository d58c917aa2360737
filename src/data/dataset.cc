#include "data/dataset.h"

#include <algorithm>
#include <cctype>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace llmrca::data {

namespace fs = std::filesystem;

bool NaturalLess(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const bool da = std::isdigit(static_cast<unsigned char>(a[i])) != 0;
    const bool db = std::isdigit(static_cast<unsigned char>(b[j])) != 0;
    if (da && db) {
      size_t ei = i, ej = j;
      while (ei < a.size() && std::isdigit(static_cast<unsigned char>(a[ei]))) ++ei;
      while (ej < b.size() && std::isdigit(static_cast<unsigned char>(b[ej]))) ++ej;
      // Compare numerically without overflow: strip leading zeros, then length, then digits.
      size_t si = i, sj = j;
      while (si + 1 < ei && a[si] == '0') ++si;
      while (sj + 1 < ej && b[sj] == '0') ++sj;
      if (ei - si != ej - sj) return ei - si < ej - sj;
      int cmp = a.compare(si, ei - si, b, sj, ej - sj);
      if (cmp != 0) return cmp < 0;
      i = ei;
      j = ej;
      continue;
    }
    if (a[i] != b[j]) return a[i] < b[j];
    ++i;
    ++j;
  }
  if (a.size() - i != b.size() - j) return a.size() - i < b.size() - j;
  return a < b;  // equal in natural order ("x/01" vs "x/1"): fall back to bytes, a total order
}

Result<std::vector<CaseRef>> DiscoverCases(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Status::NotFound(fmt::format("data: dataset {} is not a directory", root.string()));
  }
  std::vector<CaseRef> cases;
  auto consider = [&](const fs::path& dir) {
    for (const char* name : {"data.csv", "simple_metrics.csv", "metrics.csv"}) {
      std::error_code e;
      if (fs::is_regular_file(dir / name, e)) {
        std::string id = dir.lexically_relative(root).generic_string();
        if (id == ".") {  // the root itself is a case: its own name ("dir/" has an empty filename)
          id = dir.filename().string();
          if (id.empty()) id = dir.parent_path().filename().string();
        }
        cases.push_back({dir, std::move(id)});
        return;
      }
    }
  };
  consider(root);
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return Status::IoError(fmt::format("data: cannot list {}: {}", root.string(), ec.message()));
  fs::path last = root;
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    last = it->path();
    std::error_code e;
    if (it->is_directory(e)) consider(last);
  }
  if (ec) {
    return Status::IoError(
        fmt::format("data: cannot list the dataset below {}: {}", last.string(), ec.message()));
  }
  if (cases.empty()) {
    return Status::NotFound(fmt::format("data: no case (a directory with data.csv) under {}",
                                        root.string()));
  }
  std::sort(cases.begin(), cases.end(),
            [](const CaseRef& a, const CaseRef& b) { return NaturalLess(a.id, b.id); });
  return cases;
}

}  // namespace llmrca::data
