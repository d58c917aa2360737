// Plain numeric tables for `llmrca graph --csv`: a header line of names, then rows of numbers,
// separated by commas, tabs or runs of spaces (detected from the header line). No time column is
// required. Strict like the metrics reader: a ragged row or a non-numeric cell is a kDataError
// naming the file, line and column.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

#include "base/status.h"

namespace llmrca::data {

struct PlainTable {
  std::vector<std::string> names;
  Eigen::MatrixXd values;  // rows x names.size()
};

Result<PlainTable> ParsePlainTable(std::string_view text, std::string_view source);
Result<PlainTable> ReadPlainTable(const std::filesystem::path& path);

}  // namespace llmrca::data
