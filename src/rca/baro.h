// baro: the RobustScorer of BARO. For each metric, fit the median and interquartile range on the
// rows before the inject time; the score is the largest robust z-score, (x - median) / IQR, after
// it. The inject time stands in for BARO's multivariate Bayesian online change-point detector.
//
// Paper: L. Pham, H. Ha, H. Zhang (2024), "BARO: Robust Root Cause Analysis for Microservices
// via Multivariate Bayesian Online Change Point Detection", FSE 2024.
// Reference implementation: RCAEval `e2e/baro.py` (baro), as run by the seed study.
//
// Deviations from the reference (default mode; `compat=rcaeval` restores each):
//  - The reference preprocesses the normal and anomalous parts separately and keeps only columns
//    non-constant in both, so a metric flat before the fault and moving after it is never
//    ranked. Here every candidate is scored; a zero IQR falls back to 1 as scikit-learn does.
//  - An empty normal or anomalous part is a kDataError naming the case (the reference raises).
//  - Non-finite values are ignored when fitting and scoring (the harness fills them by default).
// Options beyond the reference: `direction=both` scores max |z| instead of the signed max, so a
// metric that drops (throughput, GPU utilisation) can rank high too. Default `up`, as in the
// paper's and the reference's code.
#pragma once

#include <memory>

#include "base/status.h"
#include "rca/method.h"

namespace llmrca::rca {

MethodInfo BaroInfo();
Result<std::unique_ptr<Method>> CreateBaro(const ParamMap& params);

}  // namespace llmrca::rca
