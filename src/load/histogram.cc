#include "load/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace llmrca::load {
namespace {

// Number of bits needed to hold `value` (0 for 0): the position of its highest set bit plus one.
int BitWidth(int64_t value) {
  return static_cast<int>(std::bit_width(static_cast<uint64_t>(value)));
}

}  // namespace

Result<HdrHistogram> HdrHistogram::Create(const HdrHistogramOptions& options) {
  if (options.significant_digits < 1 || options.significant_digits > 5) {
    return Status::InvalidArgument(fmt::format("histogram: significant_digits is {}, need 1 to 5",
                                               options.significant_digits));
  }
  if (options.lowest_discernible_value < 1) {
    return Status::InvalidArgument(fmt::format(
        "histogram: lowest_discernible_value is {}, need >= 1", options.lowest_discernible_value));
  }
  if (options.highest_trackable_value / 2 < options.lowest_discernible_value) {
    return Status::InvalidArgument(fmt::format(
        "histogram: highest_trackable_value {} is below 2 * lowest_discernible_value ({})",
        options.highest_trackable_value, options.lowest_discernible_value));
  }
  HdrHistogram h;
  h.options_ = options;
  // Values below 2 * 10^digits are all kept with unit resolution; the first bucket therefore
  // needs that many counters, rounded up to a power of two so that indices are bit operations.
  int64_t single_unit_limit = 2;
  for (int i = 0; i < options.significant_digits; ++i) single_unit_limit *= 10;
  const int sub_bucket_count_magnitude = BitWidth(single_unit_limit - 1);  // ceil(log2(limit))
  h.sub_bucket_half_count_magnitude_ = std::max(sub_bucket_count_magnitude, 1) - 1;
  h.unit_magnitude_ = BitWidth(options.lowest_discernible_value) - 1;
  if (h.unit_magnitude_ + h.sub_bucket_half_count_magnitude_ > 61) {
    return Status::InvalidArgument(
        fmt::format("histogram: lowest_discernible_value {} is too large for {} significant digits",
                    options.lowest_discernible_value, options.significant_digits));
  }
  h.sub_bucket_count_ = int64_t{1} << (h.sub_bucket_half_count_magnitude_ + 1);
  h.sub_bucket_half_count_ = h.sub_bucket_count_ / 2;
  h.sub_bucket_mask_ = (h.sub_bucket_count_ - 1) << h.unit_magnitude_;
  // Each further bucket doubles the range covered; count how many reach the highest value.
  int64_t smallest_untrackable = h.sub_bucket_count_ << h.unit_magnitude_;
  int buckets = 1;
  while (smallest_untrackable <= options.highest_trackable_value) {
    if (smallest_untrackable > std::numeric_limits<int64_t>::max() / 2) {
      ++buckets;
      break;
    }
    smallest_untrackable <<= 1;
    ++buckets;
  }
  h.bucket_count_ = buckets;
  // Bucket 0 uses all sub_bucket_count counters; every later one only its upper half (its lower
  // half would repeat the previous bucket's range at coarser resolution).
  h.counts_.assign(static_cast<size_t>((buckets + 1) * h.sub_bucket_half_count_), 0);
  return h;
}

int HdrHistogram::BucketIndex(int64_t value) const {
  // The smallest power of two above value, but at least the first bucket's span.
  const int pow2_ceiling = BitWidth(value | sub_bucket_mask_);
  return pow2_ceiling - unit_magnitude_ - (sub_bucket_half_count_magnitude_ + 1);
}

int HdrHistogram::SubBucketIndex(int64_t value, int bucket_index) const {
  return static_cast<int>(value >> (bucket_index + unit_magnitude_));
}

size_t HdrHistogram::CountsIndex(int64_t value) const {
  const int bucket = BucketIndex(value);
  const int sub_bucket = SubBucketIndex(value, bucket);
  const int64_t base = int64_t{bucket + 1} << sub_bucket_half_count_magnitude_;
  return static_cast<size_t>(base + (sub_bucket - sub_bucket_half_count_));
}

int64_t HdrHistogram::ValueFromIndex(size_t index) const {
  int bucket = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  int64_t sub_bucket =
      static_cast<int64_t>(index & static_cast<size_t>(sub_bucket_half_count_ - 1)) +
      sub_bucket_half_count_;
  if (bucket < 0) {
    sub_bucket -= sub_bucket_half_count_;
    bucket = 0;
  }
  return sub_bucket << (bucket + unit_magnitude_);
}

Status HdrHistogram::Record(int64_t value, int64_t count) {
  if (value < 0 || value > options_.highest_trackable_value) {
    return Status::InvalidArgument(fmt::format("histogram: value {} is outside [0, {}]", value,
                                               options_.highest_trackable_value));
  }
  if (count < 0) {
    return Status::InvalidArgument(fmt::format("histogram: count {} is negative", count));
  }
  if (count == 0) return Status::Ok();
  counts_[CountsIndex(value)] += count;
  if (total_count_ == 0) {
    min_ = value;
    max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  total_count_ += count;
  return Status::Ok();
}

bool HdrHistogram::SameLayout(const HdrHistogram& other) const {
  return unit_magnitude_ == other.unit_magnitude_ &&
         sub_bucket_half_count_magnitude_ == other.sub_bucket_half_count_magnitude_ &&
         counts_.size() == other.counts_.size();
}

Status HdrHistogram::Add(const HdrHistogram& other) {
  if (other.total_count_ == 0) return Status::Ok();
  if (other.max_ > options_.highest_trackable_value) {
    return Status::InvalidArgument(
        fmt::format("histogram: cannot add a histogram holding {}, above the highest trackable {}",
                    other.max_, options_.highest_trackable_value));
  }
  if (SameLayout(other)) {
    for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  } else {
    for (size_t i = 0; i < other.counts_.size(); ++i) {
      if (other.counts_[i] != 0) counts_[CountsIndex(other.ValueFromIndex(i))] += other.counts_[i];
    }
  }
  if (total_count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  total_count_ += other.total_count_;
  return Status::Ok();
}

void HdrHistogram::Reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_count_ = 0;
  min_ = 0;
  max_ = 0;
}

double HdrHistogram::Mean() const {
  if (total_count_ == 0) return 0;
  double total = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      total += static_cast<double>(MedianEquivalentValue(ValueFromIndex(i))) *
               static_cast<double>(counts_[i]);
    }
  }
  return total / static_cast<double>(total_count_);
}

double HdrHistogram::StdDev() const {
  if (total_count_ == 0) return 0;
  const double mean = Mean();
  double sum_sq = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) {
      const double deviation = static_cast<double>(MedianEquivalentValue(ValueFromIndex(i))) - mean;
      sum_sq += deviation * deviation * static_cast<double>(counts_[i]);
    }
  }
  return std::sqrt(sum_sq / static_cast<double>(total_count_));
}

int64_t HdrHistogram::ValueAtPercentile(double percentile) const {
  if (total_count_ == 0) return 0;
  if (!(percentile >= 0)) percentile = 0;  // also catches NaN
  // One ulp less, so that rounding in p / 100 * count cannot push the rank into the next value.
  double requested = std::nextafter(percentile, -std::numeric_limits<double>::infinity());
  requested = std::clamp(requested, 0.0, 100.0);
  const double fp_rank = requested * static_cast<double>(total_count_) / 100.0;
  const int64_t rank = std::max<int64_t>(static_cast<int64_t>(std::ceil(fp_rank)), 1);
  int64_t running = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    running += counts_[i];
    if (running >= rank) {
      const int64_t value = ValueFromIndex(i);
      return percentile == 0 ? LowestEquivalentValue(value) : HighestEquivalentValue(value);
    }
  }
  return 0;  // unreachable: running reaches total_count_ >= rank
}

int64_t HdrHistogram::CountAtValue(int64_t value) const {
  if (value < 0 || value > options_.highest_trackable_value) return 0;
  return counts_[CountsIndex(value)];
}

int64_t HdrHistogram::LowestEquivalentValue(int64_t value) const {
  const int bucket = BucketIndex(value);
  const int64_t sub_bucket = SubBucketIndex(value, bucket);
  return sub_bucket << (bucket + unit_magnitude_);
}

int64_t HdrHistogram::SizeOfEquivalentValueRange(int64_t value) const {
  const int bucket = BucketIndex(value);
  const int64_t sub_bucket = SubBucketIndex(value, bucket);
  const int adjusted_bucket = sub_bucket >= sub_bucket_count_ ? bucket + 1 : bucket;
  return int64_t{1} << (unit_magnitude_ + adjusted_bucket);
}

int64_t HdrHistogram::HighestEquivalentValue(int64_t value) const {
  return LowestEquivalentValue(value) + SizeOfEquivalentValueRange(value) - 1;
}

int64_t HdrHistogram::MedianEquivalentValue(int64_t value) const {
  return LowestEquivalentValue(value) + (SizeOfEquivalentValueRange(value) >> 1);
}

bool HdrHistogram::ValuesAreEquivalent(int64_t a, int64_t b) const {
  return LowestEquivalentValue(a) == LowestEquivalentValue(b);
}

}  // namespace llmrca::load
