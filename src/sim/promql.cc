#include "sim/promql.h"

#include <cmath>
#include <limits>

namespace llmrca::sim {

double PromRate(std::span<const Sample> samples, double at, double range) {
  const double start = at - range;
  size_t first = 0;
  while (first < samples.size() && samples[first].t <= start) ++first;
  size_t end = first;
  while (end < samples.size() && samples[end].t <= at) ++end;
  if (end - first < 2) return std::numeric_limits<double>::quiet_NaN();
  std::span<const Sample> s = samples.subspan(first, end - first);
  double increase = s.back().v - s.front().v;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i].v < s[i - 1].v) increase += s[i - 1].v;  // a counter reset
  }
  const double sampled = s.back().t - s.front().t;
  const double average = sampled / static_cast<double>(s.size() - 1);
  const double threshold = average * 1.1;
  double to_start = s.front().t - start;
  double to_end = at - s.back().t;
  if (to_start >= threshold) to_start = average / 2;
  if (increase > 0 && s.front().v >= 0) {
    // A counter cannot be negative: do not extrapolate past its zero point.
    const double to_zero = sampled * (s.front().v / increase);
    if (to_zero < to_start) to_start = to_zero;
  }
  if (to_end >= threshold) to_end = average / 2;
  const double factor = sampled > 0 ? (sampled + to_start + to_end) / sampled : 1.0;
  return increase * factor / range;
}

double HistogramQuantile(double q, std::span<const double> upper, std::span<const double> counts) {
  // Fewer than two buckets (only +Inf) give NaN, as in Prometheus' bucketQuantile.
  if (upper.empty() || counts.size() != upper.size() + 1) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double total = counts.back();
  if (!(total > 0)) return std::numeric_limits<double>::quiet_NaN();
  const double rank = q * total;
  size_t b = 0;
  while (b < upper.size() && counts[b] < rank) ++b;
  if (b == upper.size()) return upper.back();  // in the +Inf bucket
  const double lower_bound = b == 0 ? 0 : upper[b - 1];
  const double below = b == 0 ? 0 : counts[b - 1];
  const double in_bucket = counts[b] - below;
  if (!(in_bucket > 0)) return upper[b];
  return lower_bound + (upper[b] - lower_bound) * (rank - below) / in_bucket;
}

std::span<const double> IstioDurationBucketsMs() {
  static constexpr double kBuckets[] = {0.5,   1,     5,      10,     25,      50,     100,
                                        250,   500,   1000,   2500,   5000,    10000,  30000,
                                        60000, 300000, 600000, 1800000, 3600000};
  return kBuckets;
}

}  // namespace llmrca::sim
