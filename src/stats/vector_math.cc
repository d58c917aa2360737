#include "stats/vector_math.h"

#include <bit>
#include <cstdint>
#include <cstring>

// The 4-lane vector type below is passed between inlined helpers only; GCC's note that its
// calling convention differs with and without AVX concerns no call that crosses this file.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace llmrca::stats {
namespace {

// GCC vector extensions: 4 doubles, one AVX2 register or two SSE2 ones.
using V = double __attribute__((vector_size(32)));
using VU = std::uint64_t __attribute__((vector_size(32)));

inline V Splat(double v) { return V{v, v, v, v}; }

// tanh x = 1 - 2 / (exp(2x) + 1), with exp by range reduction: 2x = k ln 2 + r, |r| <= ln 2 / 2,
// exp r by its Taylor series to r^12 (remainder below 2e-16 relative), 2^k by building the
// exponent bits. 2|x| is clamped to 40, beyond which tanh is +-1 in double precision.
// Near 0 that formula loses relative accuracy to cancellation, so below |x| = 0.1 the Taylor
// series of tanh to x^17 is used (first omitted term below 1e-18 relative there). Both run on
// |x|, and the sign of x is put back, so that tanh stays exactly odd.
inline V TanhV(V signed_x) {
  constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;
  const VU sign = std::bit_cast<VU>(signed_x) & kSignBit;
  const V x = std::bit_cast<V>(std::bit_cast<VU>(signed_x) & ~kSignBit);
  // Coefficients of x^(2k+1) in the series of tanh: 2^(2k+2) (2^(2k+2) - 1) B_(2k+2) / (2k+2)!.
  constexpr double c3 = -1.0 / 3, c5 = 2.0 / 15, c7 = -17.0 / 315, c9 = 62.0 / 2835,
                   c11 = -1382.0 / 155925, c13 = 21844.0 / 6081075,
                   c15 = -929569.0 / 638512875, c17 = 6404582.0 / 10854718875;
  const V x2 = x * x;
  const V series =
      x * (1.0 + x2 * (c3 + x2 * (c5 + x2 * (c7 + x2 * (c9 + x2 * (c11 + x2 * (c13 + x2 *
                                                                    (c15 + x2 * c17))))))));
  V z = 2.0 * x;
  z = z > 40.0 ? Splat(40.0) : z;
  constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  constexpr double kLog2e = 1.4426950408889634;
  constexpr double kLn2Hi = 0.693147180369123816490;  // ln 2 split so that k * kLn2Hi is exact
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  const V kr = z * kLog2e + kRound;  // k in the low mantissa bits
  const V k = kr - kRound;
  const V r = (z - k * kLn2Hi) - k * kLn2Lo;
  V p = Splat(1.0 / 479001600);  // 1 / 12!
  for (double c : {1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040,
                   1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0}) {
    p = p * r + c;
  }
  const VU two_to_k = (std::bit_cast<VU>(kr) + 1023) << 52;  // (k + 1023) in the exponent
  const V e = p * std::bit_cast<V>(two_to_k);
  const V closed = 1.0 - 2.0 / (e + 1.0);
  const V magnitude = x < 0.1 ? series : closed;
  return std::bit_cast<V>(std::bit_cast<VU>(magnitude) | sign);
}

}  // namespace

__attribute__((target_clones("arch=x86-64-v3", "default")))
void Tanh(std::span<const double> in, std::span<double> out) {
  const std::size_t n = in.size() < out.size() ? in.size() : out.size();
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    V x;
    std::memcpy(&x, in.data() + i, sizeof x);
    const V t = TanhV(x);
    std::memcpy(out.data() + i, &t, sizeof t);
  }
  if (i < n) {
    V x = Splat(0.0);
    std::memcpy(&x, in.data() + i, (n - i) * sizeof(double));
    const V t = TanhV(x);
    std::memcpy(out.data() + i, &t, (n - i) * sizeof(double));
  }
}

}  // namespace llmrca::stats
