// e_diagnosis: epsilon-Diagnosis as RCAEval runs it through Salesforce PyRCA. The last m normal
// rows and the first m anomalous rows of each metric (m = the shorter part) are paired row by row;
// the metric's score is their squared correlation, and it is a root cause when that exceeds a
// threshold bootstrapped from the normal rows at significance `alpha`.
//
// Paper: H. Shan, Y. Chen, H. Liu, Y. Zhang, X. Xiao, X. He, M. Li, W. Ding (2019),
// "epsilon-Diagnosis: Unsupervised and Real-time Diagnosis of Small-window Long-tail Latency in
// Large-scale Microservice Platforms", WWW 2019.
// Reference implementation: RCAEval `e2e/__init__.py` (e_diagnosis, alpha from E_ALPHA = 0.01)
// over PyRCA `analyzers/epsilon_diagnosis.py` (bootstrap_time 200, root_cause_top_k 3).
//
// Deviations from the reference (default mode; `compat=rcaeval` restores each):
//  - Thresholds are per metric: the (1 - alpha) quantile of the squared correlation between two
//    independent bootstrap resamples of that metric's normal rows (the null of "no alignment").
//    The reference computes one quantile per bootstrap replicate over all metric pairs and hands
//    replicate i's value to metric i, so a metric's threshold depends on its position, and a
//    case with more metrics than replicates fails.
//  - The squared correlation uses one divisor (n - 1) throughout; the reference mixes a ddof-1
//    covariance with ddof-0 variances, inflating every score by (m / (m - 1))^2.
//  - Every candidate is ranked, by score minus its threshold (positive = a root cause at level
//    alpha); the reference returns only the metrics above threshold, at most 3 of them, so AC@5
//    can never exceed AC@3 and an empty answer is common.
//  - Every candidate is scored; the reference preprocesses the normal and anomalous parts
//    separately and drops columns constant in either.
//  - Randomness comes from the run's seed (the reference uses NumPy's unseeded global stream).
// Fewer than 3 paired rows is a kDataError naming the case.
#pragma once

#include <memory>

#include "base/status.h"
#include "rca/method.h"

namespace llmrca::rca {

MethodInfo EDiagnosisInfo();
Result<std::unique_ptr<Method>> CreateEDiagnosis(const ParamMap& params);

}  // namespace llmrca::rca
