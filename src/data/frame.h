// Frame: a columnar table of time series on a shared time axis, the in-memory form of data.csv.
// Values live in one column-major Eigen matrix (rows = samples, columns = series), so a column is
// a contiguous block of doubles; names are `<service>_<indicator>` as in FORMATS.md. Copyable
// value type; thread-compatible.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

namespace llmrca::data {

// The service of a column is the text before its first '_' and the indicator the rest
// (FORMATS.md); a name without '_' is all service with an empty indicator.
struct ColumnName {
  std::string service;
  std::string indicator;
};
ColumnName SplitColumnName(std::string_view name);

class Frame {
 public:
  Frame() = default;
  // `values` must have time.size() rows and names.size() columns (checked).
  Frame(std::vector<double> time, std::vector<std::string> names, Eigen::MatrixXd values);

  Eigen::Index NumRows() const { return values_.rows(); }
  Eigen::Index NumCols() const { return values_.cols(); }

  std::span<const double> Time() const { return time_; }
  const std::vector<std::string>& Names() const { return names_; }
  const std::string& Name(Eigen::Index col) const { return names_[static_cast<size_t>(col)]; }
  const Eigen::MatrixXd& Values() const { return values_; }
  Eigen::MatrixXd& MutableValues() { return values_; }

  // Column `col` as a contiguous span.
  std::span<const double> Column(Eigen::Index col) const {
    return {values_.data() + col * values_.rows(), static_cast<size_t>(values_.rows())};
  }
  std::span<double> MutableColumn(Eigen::Index col) {
    return {values_.data() + col * values_.rows(), static_cast<size_t>(values_.rows())};
  }

  // Index of the column named `name`, if any (linear search).
  std::optional<Eigen::Index> FindColumn(std::string_view name) const;

  // A new frame with the given columns, in the given order.
  Frame SelectColumns(std::span<const Eigen::Index> cols) const;
  // A new frame with rows [begin, end).
  Frame SliceRows(Eigen::Index begin, Eigen::Index end) const;

  void RenameColumn(Eigen::Index col, std::string name) {
    names_[static_cast<size_t>(col)] = std::move(name);
  }

 private:
  std::vector<double> time_;
  std::vector<std::string> names_;
  Eigen::MatrixXd values_;
};

}  // namespace llmrca::data
