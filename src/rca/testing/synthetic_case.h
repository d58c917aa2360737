// Seeded synthetic cases for method tests: independent Gaussian noise per metric on a 5 s grid,
// with an optional step change on chosen columns from the inject time on. The root cause is
// whatever column the test shifts, so a test knows the answer without any method's help.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/case.h"

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

}  // namespace llmrca::rca::testing
