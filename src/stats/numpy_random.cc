#include "stats/numpy_random.h"

#include <algorithm>
#include <cmath>

#include "base/check.h"

namespace llmrca::stats {
namespace {

// SeedSequence's hash and mix constants (numpy/random/bit_generator.pyx).
constexpr uint32_t kInitA = 0x43b0d7e5;
constexpr uint32_t kMultA = 0x931e8875;
constexpr uint32_t kInitB = 0x8b51f9dd;
constexpr uint32_t kMultB = 0x58f38ded;
constexpr uint32_t kMixMultL = 0xca01f9dd;
constexpr uint32_t kMixMultR = 0x4973f715;
constexpr int kXShift = 16;    // half the bits of a 32-bit word
constexpr size_t kPoolSize = 4;  // SeedSequence's default pool_size

// PCG's default 128-bit LCG multiplier, PCG_DEFAULT_MULTIPLIER_128, as (high, low).
constexpr uint64_t kMultHigh = 2549297995355413924ULL;
constexpr uint64_t kMultLow = 4865540595714422341ULL;

// 2^-53: Random() keeps the top 53 bits of a 64-bit output.
constexpr double kTwoPowMinus53 = 1.0 / 9007199254740992.0;

// hashmix() of SeedSequence: all arithmetic modulo 2^32, which uint32_t gives for free.
uint32_t HashMix(uint32_t value, uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= kMultA;
  value *= hash_const;
  value ^= value >> kXShift;
  return value;
}

uint32_t Mix(uint32_t x, uint32_t y) {
  uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

// Full 64 x 64 -> 128-bit product as (high, low), from 32-bit halves (portable, no __int128).
void Mul64(uint64_t a, uint64_t b, uint64_t& hi, uint64_t& lo) {
  const uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32;
  const uint64_t b_lo = b & 0xffffffffULL, b_hi = b >> 32;
  const uint64_t ll = a_lo * b_lo;
  const uint64_t lh = a_lo * b_hi;
  const uint64_t hl = a_hi * b_lo;
  const uint64_t hh = a_hi * b_hi;
  const uint64_t mid = (ll >> 32) + (lh & 0xffffffffULL) + (hl & 0xffffffffULL);
  lo = (mid << 32) | (ll & 0xffffffffULL);
  hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

// (a_hi:a_lo) += (b_hi:b_lo) modulo 2^128.
void Add128(uint64_t& a_hi, uint64_t& a_lo, uint64_t b_hi, uint64_t b_lo) {
  const uint64_t lo = a_lo + b_lo;
  a_hi += b_hi + (lo < a_lo ? 1 : 0);
  a_lo = lo;
}

uint64_t RotateRight(uint64_t x, unsigned rot) { return (x >> rot) | (x << ((64 - rot) & 63)); }

}  // namespace

std::vector<uint32_t> NumpySeedSequenceState(uint64_t entropy, int n_words) {
  // _int_to_uint32_array: little-endian 32-bit words, [0] for 0.
  std::vector<uint32_t> words;
  if (entropy == 0) words.push_back(0);
  for (uint64_t e = entropy; e > 0; e >>= 32) words.push_back(static_cast<uint32_t>(e));

  // mix_entropy: hash the words into the pool, then mix every pool word into every other one.
  uint32_t hash_const = kInitA;
  uint32_t pool[kPoolSize];
  for (size_t i = 0; i < kPoolSize; ++i) {
    pool[i] = HashMix(i < words.size() ? words[i] : 0, hash_const);
  }
  for (size_t src = 0; src < kPoolSize; ++src) {
    for (size_t dst = 0; dst < kPoolSize; ++dst) {
      if (src != dst) pool[dst] = Mix(pool[dst], HashMix(pool[src], hash_const));
    }
  }
  for (size_t src = kPoolSize; src < words.size(); ++src) {
    for (size_t dst = 0; dst < kPoolSize; ++dst) {
      pool[dst] = Mix(pool[dst], HashMix(words[src], hash_const));
    }
  }

  // generate_state: cycle through the pool, hashing each word with a running constant.
  std::vector<uint32_t> state(static_cast<size_t>(std::max(n_words, 0)));
  uint32_t hash_b = kInitB;
  for (size_t i = 0; i < state.size(); ++i) {
    uint32_t v = pool[i % kPoolSize];
    v ^= hash_b;
    hash_b *= kMultB;
    v *= hash_b;
    v ^= v >> kXShift;
    state[i] = v;
  }
  return state;
}

NumpyPcg64 NumpyPcg64::FromSeed(uint64_t seed) {
  // PCG64.__init__: four uint64 words (pairs of uint32, low word first) from the SeedSequence;
  // words 0-1 are the initial state and 2-3 the stream, each as (high, low).
  const std::vector<uint32_t> w = NumpySeedSequenceState(seed, 8);
  uint64_t u[4];
  for (size_t i = 0; i < 4; ++i) u[i] = w[2 * i] | (static_cast<uint64_t>(w[2 * i + 1]) << 32);
  NumpyPcg64 g;
  // pcg_setseq_128_srandom_r: inc = (initseq << 1) | 1; state = 0; step; state += initstate; step.
  g.inc_hi_ = (u[2] << 1) | (u[3] >> 63);
  g.inc_lo_ = (u[3] << 1) | 1;
  g.state_hi_ = 0;
  g.state_lo_ = 0;
  g.Step();
  Add128(g.state_hi_, g.state_lo_, u[0], u[1]);
  g.Step();
  return g;
}

void NumpyPcg64::Step() {
  // (s_hi:s_lo) * (m_hi:m_lo) mod 2^128 = s_lo*m_lo + ((s_hi*m_lo + s_lo*m_hi) << 64).
  uint64_t hi = 0, lo = 0;
  Mul64(state_lo_, kMultLow, hi, lo);
  hi += state_hi_ * kMultLow + state_lo_ * kMultHigh;
  Add128(hi, lo, inc_hi_, inc_lo_);
  state_hi_ = hi;
  state_lo_ = lo;
}

uint64_t NumpyPcg64::NextUint64() {
  Step();
  // XSL-RR: xor the halves, rotate right by the top 6 bits of the state.
  return RotateRight(state_hi_ ^ state_lo_, static_cast<unsigned>(state_hi_ >> 58));
}

double NumpyPcg64::Random() {
  return static_cast<double>(NextUint64() >> 11) * kTwoPowMinus53;
}

std::vector<double> NumpyPcg64::ChoiceCdf(std::span<const double> p) {
  LLMRCA_CHECK(!p.empty()) << "ChoiceCdf: empty distribution";
  std::vector<double> cdf(p.size());
  double running = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    running += p[i];
    cdf[i] = running;
  }
  const double last = cdf.back();
  LLMRCA_CHECK(last > 0 && std::isfinite(last)) << "ChoiceCdf: the probabilities sum to " << last;
  for (double& c : cdf) c /= last;
  return cdf;
}

size_t NumpyPcg64::ChoiceIndex(std::span<const double> cdf) {
  LLMRCA_CHECK(!cdf.empty()) << "ChoiceIndex: empty distribution";
  const double u = Random();
  const size_t i = static_cast<size_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  return std::min(i, cdf.size() - 1);
}

}  // namespace llmrca::stats
