// dummy: a uniformly random order of the candidates, drawn from the run's seed. The baseline
// that every evaluation table shows beside the real methods (RCAEval's `dummy`).
// Deviation from the reference: the reference draws from NumPy's unseeded global stream, so its
// order cannot be reproduced; here the order is a pure function of the seed and the candidates.
// Scores are n - position, so the ranking is sorted like any other.
#pragma once

#include <memory>

#include "base/status.h"
#include "rca/method.h"

namespace llmrca::rca {

MethodInfo DummyInfo();
Result<std::unique_ptr<Method>> CreateDummy(const ParamMap& params);

}  // namespace llmrca::rca
