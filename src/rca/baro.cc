#include "rca/baro.h"

#include "rca/scaled_deviation.h"

namespace llmrca::rca {

MethodInfo BaroInfo() {
  return {"baro",
          "BARO RobustScorer: largest (x - median) / IQR after the inject time, fitted before it",
          "Pham, Ha, Zhang (2024), BARO: Robust Root Cause Analysis for Microservices via "
          "Multivariate Bayesian Online Change Point Detection, FSE",
          kDeviationParams};
}

Result<std::unique_ptr<Method>> CreateBaro(const ParamMap& params) {
  return CreateDeviationMethod(BaroInfo(), Scaler::kRobust, params);
}

}  // namespace llmrca::rca
