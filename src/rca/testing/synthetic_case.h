// Seeded synthetic cases for method tests: independent Gaussian noise per metric on a 5 s grid,
// with an optional step change on chosen columns from the inject time on. The root cause is
// whatever column the test shifts, so a test knows the answer without any method's help.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/case.h"
#include "rca/method.h"

namespace llmrca::rca::testing {

struct SyntheticSpec {
  std::vector<std::string> names;  // column names, `<service>_<indicator>`
  int normal_rows = 60;
  int anomalous_rows = 15;
  uint64_t seed = 1;
  double mean = 100;
  double sd = 5;
};

// Noise only; the inject time is the time of row `normal_rows`.
data::Case MakeNoiseCase(const SyntheticSpec& spec);

// Adds `shift` to column `col` for every anomalous row.
void ShiftAfterInject(data::Case& c, Eigen::Index col, double shift);

// The study's candidate layout: 5 services (nginx-proxy, ray-head, ray-replicas-0..2) x 4
// indicators (ctn_cpu, ctn_memory, ctn_gpu, latency) = 20 columns.
std::vector<std::string> StudyColumnNames();

// A case built from literal columns: `time` and each column's values (all the same length).
data::Case MakeCase(std::vector<double> time, std::vector<std::string> names,
                    const std::vector<std::vector<double>>& columns, double inject_time);

// The names of a ranking, best first (`<service>_<indicator>`).
std::vector<std::string> RankingNames(const Ranking& ranking);

// Creates a method with `factory` and `params` and ranks `c` with the default RunContext; a
// failure is reported through GoogleTest and gives an empty ranking.
Ranking RankOrFail(const MethodFactory& factory, const data::Case& c, const ParamMap& params);

// The hand-computed case shared by the baro and nsigma tests: rows t = 0..6, inject at t = 5
// (normal t = 0..4, anomalous t = 5, 6); columns a_x, b_x, c_x, d_x (see those tests for the
// arithmetic).
data::Case DeviationHandCase();

}  // namespace llmrca::rca::testing
