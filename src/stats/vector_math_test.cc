#include "stats/vector_math.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace llmrca::stats {
namespace {

// Relative error against glibc's std::tanh (an independent, nearly correctly rounded libm).
double MaxRelativeError(const std::vector<double>& x) {
  std::vector<double> y(x.size());
  Tanh(x, y);
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = std::tanh(x[i]);
    const double err = want == 0 ? std::abs(y[i]) : std::abs(y[i] - want) / std::abs(want);
    worst = std::max(worst, err);
  }
  return worst;
}

TEST(TanhTest, DenseScanAcrossTheSwitchPointsIsAccurate) {
  // Every 1e-5 over [-0.5, 0.5] (the series / closed-form switch at 0.1) and every 1e-3 over
  // [-25, 25] (the clamp at |2x| = 40 sits at 20).
  std::vector<double> x;
  for (int i = -50000; i <= 50000; ++i) x.push_back(i * 1e-5);
  for (int i = -25000; i <= 25000; ++i) x.push_back(i * 1e-3);
  EXPECT_LT(MaxRelativeError(x), 3e-15);
}

TEST(TanhTest, SpecialValues) {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> x = {0.0, -0.0, 1e-300, -1e-300, 1e-9, 800, -800, inf, -inf,
                                 std::numeric_limits<double>::quiet_NaN(), 0.1, -0.1};
  std::vector<double> y(x.size());
  Tanh(x, y);
  EXPECT_EQ(y[0], 0.0);
  EXPECT_EQ(y[1], 0.0);
  EXPECT_EQ(y[2], 1e-300);   // tanh x = x to double precision for tiny x
  EXPECT_EQ(y[3], -1e-300);
  EXPECT_DOUBLE_EQ(y[4], 1e-9);
  EXPECT_EQ(y[5], 1.0);
  EXPECT_EQ(y[6], -1.0);
  EXPECT_EQ(y[7], 1.0);
  EXPECT_EQ(y[8], -1.0);
  EXPECT_TRUE(std::isnan(y[9]));
  // tanh 0.1 = 0.0996679946249558... (its series, summed by hand), within the promised 3e-15.
  EXPECT_NEAR(y[10], 0.09966799462495582, 3e-15 * 0.0997);
  EXPECT_EQ(y[11], -y[10]);
}

TEST(TanhTest, InPlaceAndOddLengths) {
  for (size_t n : {0u, 1u, 3u, 4u, 5u, 7u, 9u}) {
    std::vector<double> x(n), want(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = 0.37 * static_cast<double>(i) - 1.0;
      want[i] = std::tanh(x[i]);
    }
    Tanh(x, x);
    for (size_t i = 0; i < n; ++i) EXPECT_NEAR(x[i], want[i], 3e-15 * std::abs(want[i])) << n;
  }
}

}  // namespace
}  // namespace llmrca::stats
