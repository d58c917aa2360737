// A seeded pseudo-random generator whose streams are identical on every platform and standard
// library: xoshiro256** seeded through SplitMix64, with its own bounded-integer, uniform and
// normal draws (std::*_distribution output differs between library versions, so we avoid them).
// Not thread-safe: give each thread or task its own Rng, derived with Rng::Derive().
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

namespace llmrca {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // Next raw 64-bit output.
  uint64_t Next();
  // Uniform integer in [0, bound); bound must be > 0 (Lemire's nearly-divisionless method).
  uint64_t UniformInt(uint64_t bound);
  // Uniform double in [0, 1) with 53 random bits.
  double Uniform();
  // Standard normal draw (Marsaglia's polar method).
  double Normal();

  // Fisher-Yates shuffle of `items`.
  template <typename T>
  void Shuffle(std::span<T> items) {
    for (size_t i = items.size(); i > 1; --i) {
      size_t j = static_cast<size_t>(UniformInt(i));
      std::swap(items[i - 1], items[j]);
    }
  }

  // A seed for an independent stream keyed by `key` (e.g. a case id), stable across runs.
  static uint64_t Derive(uint64_t seed, std::string_view key);

 private:
  uint64_t s_[4];
  bool has_spare_normal_ = false;
  double spare_normal_ = 0;
};

}  // namespace llmrca
