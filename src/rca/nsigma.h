// nsigma: N-Sigma scoring. For each metric, fit the mean and population standard deviation on
// the rows before the inject time; the score is the largest z-score, (x - mean) / std, after it.
//
// The classic three-sigma rule as used for root-cause ranking in the RCAEval benchmark:
// L. Pham, H. Ha, H. Zhang (2025), "RCAEval: A Benchmark for Root Cause Analysis of
// Microservice Systems with Telemetry Data", WWW 2025 companion (the N-Sigma baseline).
// Reference implementation: RCAEval `e2e/__init__.py` (nsigma), as run by the seed study.
//
// Deviations from the reference (default mode; `compat=rcaeval` restores each):
//  - The reference preprocesses the normal and anomalous parts separately and keeps only columns
//    non-constant in both; here every candidate is scored (a zero std falls back to 1 as
//    scikit-learn's StandardScaler does).
//  - An empty normal or anomalous part is a kDataError naming the case.
//  - Non-finite values are ignored when fitting and scoring.
// Options beyond the reference: `direction=both` scores max |z| instead of the signed max.
#pragma once

#include <memory>

#include "base/status.h"
#include "rca/method.h"

namespace llmrca::rca {

MethodInfo NsigmaInfo();
Result<std::unique_ptr<Method>> CreateNsigma(const ParamMap& params);

}  // namespace llmrca::rca
