#include "rca/testing/synthetic_case.h"

#include <gtest/gtest.h>

#include "base/check.h"
#include "base/random.h"

namespace llmrca::rca::testing {

data::Case MakeNoiseCase(const SyntheticSpec& spec) {
  const int rows = spec.normal_rows + spec.anomalous_rows;
  std::vector<double> time(static_cast<size_t>(rows));
  for (int r = 0; r < rows; ++r) time[static_cast<size_t>(r)] = 1700000000.0 + 5.0 * r;
  Eigen::MatrixXd values(rows, static_cast<Eigen::Index>(spec.names.size()));
  Rng rng(spec.seed);
  for (Eigen::Index j = 0; j < values.cols(); ++j) {
    for (Eigen::Index r = 0; r < rows; ++r) values(r, j) = spec.mean + spec.sd * rng.Normal();
  }
  data::Case c;
  c.id = "synthetic/" + std::to_string(spec.seed);
  c.inject_time = time[static_cast<size_t>(spec.normal_rows)];
  c.metrics = data::Frame(std::move(time), spec.names, std::move(values));
  return c;
}

void ShiftAfterInject(data::Case& c, Eigen::Index col, double shift) {
  const Eigen::Index split = c.FirstAnomalousRow();
  std::span<double> values = c.metrics.MutableColumn(col);
  for (size_t r = static_cast<size_t>(split); r < values.size(); ++r) values[r] += shift;
}

std::vector<std::string> StudyColumnNames() {
  std::vector<std::string> names;
  for (const char* service : {"nginx-proxy", "ray-head", "ray-replicas-0", "ray-replicas-1",
                              "ray-replicas-2"}) {
    for (const char* indicator : {"ctn_cpu", "ctn_memory", "ctn_gpu", "latency"}) {
      names.push_back(std::string(service) + "_" + indicator);
    }
  }
  return names;
}

data::Case MakeCase(std::vector<double> time, std::vector<std::string> names,
                    const std::vector<std::vector<double>>& columns, double inject_time) {
  LLMRCA_CHECK(names.size() == columns.size()) << "one name per column";
  Eigen::MatrixXd values(static_cast<Eigen::Index>(time.size()),
                         static_cast<Eigen::Index>(columns.size()));
  for (size_t j = 0; j < columns.size(); ++j) {
    LLMRCA_CHECK(columns[j].size() == time.size()) << "column " << names[j] << " length";
    for (size_t r = 0; r < time.size(); ++r) {
      values(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(j)) = columns[j][r];
    }
  }
  data::Case c;
  c.id = "literal/1";
  c.inject_time = inject_time;
  c.metrics = data::Frame(std::move(time), std::move(names), std::move(values));
  return c;
}

std::vector<std::string> RankingNames(const Ranking& ranking) {
  std::vector<std::string> out;
  for (const RankedCause& r : ranking) out.push_back(r.Name());
  return out;
}

Ranking RankOrFail(const MethodFactory& factory, const data::Case& c, const ParamMap& params) {
  Result<std::unique_ptr<Method>> m = factory(params);
  EXPECT_TRUE(m.ok()) << m.status().message();
  if (!m.ok()) return {};
  Result<Ranking> r = (*m)->Rank(c, RunContext{});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Ranking{};
}

data::Case DeviationHandCase() {
  return MakeCase({0, 1, 2, 3, 4, 5, 6}, {"a_x", "b_x", "c_x", "d_x"},
                  {
                      {1, 2, 3, 4, 5, 7, 3},
                      {10, 10, 10, 10, 12, 11, 9},
                      {0, 1, 2, 3, 4, -10, 2},
                      {5, 5, 5, 5, 5, 5, 9},
                  },
                  5);
}

}  // namespace llmrca::rca::testing
