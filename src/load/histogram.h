// HdrHistogram: a High Dynamic Range histogram of non-negative integers (latencies in ns or us)
// after Gil Tene's design: log-linear buckets keep a fixed number of significant decimal digits
// over a range fixed at construction, recording is O(1) and memory does not grow with the count.
// Written from the published design (no third-party code). Use one per metric; merge with Add().
// Not thread-safe: give each thread its own histogram and merge them at the end.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"

namespace llmrca::load {

struct HdrHistogramOptions {
  // Smallest value that must be told apart from 0; values below it share bucket 0. >= 1.
  int64_t lowest_discernible_value = 1;
  // Largest value Record() accepts; >= 2 * lowest_discernible_value.
  int64_t highest_trackable_value = int64_t{3'600'000'000};  // 1 hour in microseconds
  // Decimal digits of precision kept at every magnitude, 1 to 5: a recorded value v is known to
  // within v / 10^significant_digits.
  int significant_digits = 3;
};

class HdrHistogram {
 public:
  // Builds an empty histogram. kInvalidArgument when the options are out of range (digits not in
  // 1..5, lowest < 1, highest < 2 * lowest).
  static Result<HdrHistogram> Create(const HdrHistogramOptions& options);

  // Adds `count` occurrences of `value`. kInvalidArgument when value < 0, value >
  // highest_trackable_value or count < 0 (the histogram is then unchanged).
  Status Record(int64_t value, int64_t count = 1);

  // Adds every value recorded in `other` (as if each had been recorded here). With the same options
  // the counts are summed exactly; otherwise each of other's buckets is re-recorded at its lowest
  // equivalent value, as HdrHistogram does. kInvalidArgument when other's max exceeds this
  // histogram's highest_trackable_value (the histogram is then unchanged).
  Status Add(const HdrHistogram& other);

  // Forgets every recorded value; the options stay.
  void Reset();

  // Number of values recorded.
  int64_t count() const { return total_count_; }
  // The smallest and largest values recorded, exactly (HdrHistogram itself reports the bounds of
  // their equivalence ranges); 0 when empty.
  int64_t min() const { return total_count_ == 0 ? 0 : min_; }
  int64_t max() const { return total_count_ == 0 ? 0 : max_; }
  // Mean and population standard deviation with every value taken at the middle of its
  // equivalence range (HdrHistogram's getMean / getStdDeviation); 0 when empty.
  double Mean() const;
  double StdDev() const;

  // HdrHistogram's getValueAtPercentile: p (clamped to [0, 100]) less one ulp gives the rank
  // ceil(p / 100 * count), at least 1; the answer is the highest value equivalent to the
  // rank-th smallest recorded value (the lowest equivalent one for p == 0). It is therefore >= the
  // exact nearest-rank percentile and exceeds it by less than one equivalence range
  // (< value / 10^digits). 0 when empty.
  int64_t ValueAtPercentile(double percentile) const;

  // Number of recorded values equivalent to `value` (in its bucket).
  int64_t CountAtValue(int64_t value) const;

  // Equivalence ranges: all values in [LowestEquivalentValue(v), HighestEquivalentValue(v)] share
  // one counter. `value` must be in [0, highest_trackable_value].
  int64_t LowestEquivalentValue(int64_t value) const;
  int64_t HighestEquivalentValue(int64_t value) const;
  int64_t MedianEquivalentValue(int64_t value) const;
  int64_t SizeOfEquivalentValueRange(int64_t value) const;
  bool ValuesAreEquivalent(int64_t a, int64_t b) const;

  const HdrHistogramOptions& options() const { return options_; }
  // Number of counters held (memory is 8 bytes each).
  size_t counts_length() const { return counts_.size(); }

 private:
  HdrHistogram() = default;

  int BucketIndex(int64_t value) const;
  int SubBucketIndex(int64_t value, int bucket_index) const;
  size_t CountsIndex(int64_t value) const;
  int64_t ValueFromIndex(size_t index) const;
  bool SameLayout(const HdrHistogram& other) const;

  HdrHistogramOptions options_;
  int unit_magnitude_ = 0;  // log2 of lowest_discernible_value, rounded down
  int sub_bucket_half_count_magnitude_ = 0;
  int64_t sub_bucket_count_ = 0;  // counters in the first bucket (a power of 2)
  int64_t sub_bucket_half_count_ = 0;
  int64_t sub_bucket_mask_ = 0;
  int bucket_count_ = 0;
  std::vector<int64_t> counts_;
  int64_t total_count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace llmrca::load
