// NumpyPcg64: a bit-exact emulation of the random stream of NumPy's `np.random.default_rng(seed)`
// (NumPy 1.17 to at least 1.26; checked against 1.24.2, the study's version): SeedSequence
// entropy mixing, PCG64 seeding, the 128-bit LCG with XSL-RR output, `Generator.random()` and the
// `p=` branch of `Generator.choice`. Use it only where a reference result depends on NumPy's exact
// draws (RCAEval's random walk); everywhere else use llmrca::Rng (base/random.h).
// Algorithms: M. E. O'Neill (2014), "PCG: A Family of Simple Fast Space-Efficient Statistically
// Good Algorithms for Random Number Generation"; NumPy's SeedSequence (NEP 19, after M. E.
// O'Neill's seed_seq design). Deviation: only non-negative integer seeds below 2^64 and no
// spawn keys (NumPy also takes bigger integers, arrays and spawned children).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace llmrca::stats {

// The first `n_words` 32-bit words of NumPy's `SeedSequence(entropy).generate_state(n_words)`
// (pool size 4, no spawn key).
std::vector<uint32_t> NumpySeedSequenceState(uint64_t entropy, int n_words);

// NumPy's PCG64 bit generator and the few Generator methods RCAEval relies on. Value type; not
// thread-safe (one per thread).
class NumpyPcg64 {
 public:
  // The state of `np.random.default_rng(seed)` (= Generator(PCG64(SeedSequence(seed)))).
  static NumpyPcg64 FromSeed(uint64_t seed);

  // The next raw output, as `PCG64.random_raw()`: the LCG steps, then XSL-RR of the new state.
  uint64_t NextUint64();
  // `Generator.random()`: (NextUint64() >> 11) * 2^-53, in [0, 1).
  double Random();

  // The cumulative distribution `Generator.choice(..., p=p)` searches: p.cumsum() (sequential
  // double sums), then every entry divided by the last. `p` must be non-empty with a positive
  // finite sum (NumPy raises otherwise; here the caller guarantees it).
  static std::vector<double> ChoiceCdf(std::span<const double> p);
  // One draw of `Generator.choice(a, p=p)` as an index into `a`, given ChoiceCdf(p): the first i
  // with cdf[i] > Random() (searchsorted, side='right'), clamped to the last index. Consumes one
  // Random().
  size_t ChoiceIndex(std::span<const double> cdf);

  // The 128-bit state and increment as (high, low) words, for tests against
  // `PCG64(seed).state` (printed there as Python integers).
  uint64_t state_high() const { return state_hi_; }
  uint64_t state_low() const { return state_lo_; }
  uint64_t increment_high() const { return inc_hi_; }
  uint64_t increment_low() const { return inc_lo_; }

 private:
  NumpyPcg64() = default;
  void Step();  // state = state * multiplier + increment (mod 2^128)

  uint64_t state_hi_ = 0, state_lo_ = 0;
  uint64_t inc_hi_ = 0, inc_lo_ = 0;
};

}  // namespace llmrca::stats
