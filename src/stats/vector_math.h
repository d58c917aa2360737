// Elementwise math over arrays of doubles, vectorised: compiled twice (AVX2+FMA and the x86-64
// baseline) and picked for the CPU at load time, as the rest of the build targets the baseline.
// Use it where a transcendental function over a large array dominates a loop (FastICA's tanh).
#pragma once

#include <span>

namespace llmrca::stats {

// out[i] = tanh(in[i]) for every i, within 3e-15 relative of the correctly rounded value; +-inf
// give +-1, NaN gives NaN. `in` and `out` must have the same size and may be the same array.
// The two builds may differ in the last bit (FMA contraction). Thread-safe.
void Tanh(std::span<const double> in, std::span<double> out);

}  // namespace llmrca::stats
