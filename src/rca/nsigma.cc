#include "rca/nsigma.h"

#include "rca/scaled_deviation.h"

namespace llmrca::rca {

MethodInfo NsigmaInfo() {
  return {"nsigma", "N-Sigma: largest (x - mean) / std after the inject time, fitted before it",
          "Pham, Ha, Zhang (2025), RCAEval: A Benchmark for Root Cause Analysis of Microservice "
          "Systems with Telemetry Data, WWW companion (N-Sigma baseline)",
          kDeviationParams};
}

Result<std::unique_ptr<Method>> CreateNsigma(const ParamMap& params) {
  return CreateDeviationMethod(NsigmaInfo(), Scaler::kStandard, params);
}

}  // namespace llmrca::rca
