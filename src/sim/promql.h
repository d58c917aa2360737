// The two PromQL functions the study's collector applied, emulated exactly so that simulated
// telemetry carries the same quirks (seed-study.md A.5(b), A.9): rate() over a range window
// (Prometheus' extrapolatedRate, including its counter-reset rule, which turns a gauge that dips
// into large spikes) and histogram_quantile() over cumulative buckets.
#pragma once

#include <span>
#include <vector>

namespace llmrca::sim {

struct Sample {
  double t = 0;  // seconds
  double v = 0;
};

// rate(x[range]) evaluated at `at` over the samples with t in (at - range, at], oldest first:
// the increase (a decrease counts as a counter reset that adds the previous value), extrapolated
// to the window edges when the first/last sample lies within 1.1 average intervals of them
// (else by half an interval), never before the counter's zero point; divided by `range`.
// NaN with fewer than two samples in the window.
double PromRate(std::span<const Sample> samples, double at, double range);

// histogram_quantile(q, buckets): `upper` holds the finite upper bounds (ascending) and `counts`
// the cumulative counts for them followed by the +Inf count (so counts.size() = upper.size() + 1).
// Linear interpolation inside the bucket holding rank q * total, with 0 as the lower bound of the
// first bucket; a rank in the +Inf bucket returns the largest finite bound. NaN when empty.
double HistogramQuantile(double q, std::span<const double> upper, std::span<const double> counts);

// Istio's default buckets of istio_request_duration_milliseconds, in ms.
std::span<const double> IstioDurationBucketsMs();

}  // namespace llmrca::sim
