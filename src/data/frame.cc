#include "data/frame.h"

#include "base/check.h"

namespace llmrca::data {

ColumnName SplitColumnName(std::string_view name) {
  size_t pos = name.find('_');
  if (pos == std::string_view::npos) return {std::string(name), ""};
  return {std::string(name.substr(0, pos)), std::string(name.substr(pos + 1))};
}

Frame::Frame(std::vector<double> time, std::vector<std::string> names, Eigen::MatrixXd values)
    : time_(std::move(time)), names_(std::move(names)), values_(std::move(values)) {
  LLMRCA_CHECK(static_cast<Eigen::Index>(time_.size()) == values_.rows())
      << time_.size() << " timestamps for " << values_.rows() << " rows";
  LLMRCA_CHECK(static_cast<Eigen::Index>(names_.size()) == values_.cols())
      << names_.size() << " names for " << values_.cols() << " columns";
}

std::optional<Eigen::Index> Frame::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<Eigen::Index>(i);
  }
  return std::nullopt;
}

Frame Frame::SelectColumns(std::span<const Eigen::Index> cols) const {
  Eigen::MatrixXd values(NumRows(), static_cast<Eigen::Index>(cols.size()));
  std::vector<std::string> names;
  names.reserve(cols.size());
  for (size_t j = 0; j < cols.size(); ++j) {
    values.col(static_cast<Eigen::Index>(j)) = values_.col(cols[j]);
    names.push_back(names_[static_cast<size_t>(cols[j])]);
  }
  return Frame(time_, std::move(names), std::move(values));
}

Frame Frame::SliceRows(Eigen::Index begin, Eigen::Index end) const {
  LLMRCA_CHECK(0 <= begin && begin <= end && end <= NumRows()) << begin << ".." << end;
  std::vector<double> time(time_.begin() + begin, time_.begin() + end);
  Eigen::MatrixXd values = values_.middleRows(begin, end - begin);
  return Frame(std::move(time), names_, std::move(values));
}

}  // namespace llmrca::data
