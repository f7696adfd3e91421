// Streaming per-column statistics (Pass 1) and the simple removal rules.
//
// Mean and variance: per block, a two-pass mean/M2 over the block, merged into the running state
// with Chan, Golub and LeVeque's pairwise update (Chan et al., "Updating formulae and a pairwise
// algorithm for computing sample variances", 1979). Exact to ~1e-15 relative even on 1e9 + noise.
// Finite values anywhere in the double range are handled (blocks and merges whose deviations
// would overflow or underflow when squared are recomputed scaled by a power of two, M2 carries
// its own exponent): the mean is finite and within [min, max], the variance is inf only when it
// exceeds DBL_MAX; see docs/STATISTICS.md.
//
// Distinct values: counted exactly in a small hash table up to kMaxExactDistinct values; beyond
// that only "more than kMaxExactDistinct" is known.
//
// Quantiles: exact when the column has at most kMaxExactDistinct distinct values or at most
// `quantile_sample_size` valid values (kept apart while there are that few). Otherwise they come
// from a bottom-k sample of the valid values, keyed by a bijective hash of the global row index
// (reproducible, independent of batch order and thread count; see StatsOptions::expected_rows for
// the pre-filter). The rank error of such a sample of size m is binomial with standard deviation
// sqrt(q(1-q)/m): see docs/STATISTICS.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "descpipe/enum_names.hpp"

namespace descpipe {

inline constexpr std::size_t kMaxExactDistinct = 256;

struct StatsOptions {
  double trim_low_percent = 2.5;    ///< lower trimmed percentile, in percent
  double trim_high_percent = 97.5;  ///< upper trimmed percentile, in percent
  std::size_t quantile_sample_size = 65536;
  /// Rows the column will have, when known in advance (0: unknown). Rows are then pre-filtered
  /// by key at rate min(1, 2 m / expected_rows) before the bottom-m selection, which keeps the
  /// sample's upkeep small on long columns. Columns with more than 50% missing values may then
  /// end with fewer than m sampled values. Must not be below the real row count: with
  /// expected_rows <= m no sample is kept at all (every valid value is).
  std::uint64_t expected_rows = 0;
};

/// Rows whose key is below this bound are candidates for the quantile sample (UINT64_MAX when
/// every row is, 0 when none needs to be; see StatsOptions::expected_rows).
std::uint64_t SamplePrefilterBound(const StatsOptions& options);

/// The rows of a block that pass the sample pre-filter: shared by every column of the block.
struct SampleCandidates {
  std::vector<std::uint32_t> rows;  ///< indices within the block, ascending
  std::vector<std::uint64_t> keys;  ///< RowSampleKey of each
  /// Fills rows/keys from the keys of a whole block.
  void Select(const std::uint64_t* row_keys, std::size_t n, std::uint64_t bound);
};

/// Final statistics of one column. "valid" means not null, not NaN and not +-inf.
struct ColumnStats {
  std::int64_t n_total = 0;
  std::int64_t n_null = 0;
  std::int64_t n_nan = 0;
  std::int64_t n_inf = 0;  ///< +inf and -inf together
  std::int64_t n_valid = 0;
  double missing_ratio = 0.0;  ///< (n_total - n_valid) / n_total
  double mean = 0.0;           ///< NaN when n_valid == 0
  double variance = 0.0;       ///< sample variance (ddof = 1); NaN when n_valid < 2; inf when
                               ///< it exceeds DBL_MAX (values near +-1.7e308)
  double std = 0.0;            ///< sqrt(variance); inf when it exceeds DBL_MAX
  /// std == std_scaled * 2^std_exponent, finite also where std or variance overflow or
  /// underflow (the low_variance rule uses it). std_exponent is 0 on ordinary data. Set by
  /// ColumnStatsAccumulator::Finalize; not stored in checkpoints (their decisions are).
  double std_scaled = 0.0;
  int std_exponent = 0;
  double min = 0.0;
  double max = 0.0;
  double q_low = 0.0;   ///< trim_low_percent quantile (linear interpolation, as pandas)
  double q_high = 0.0;  ///< trim_high_percent quantile
  double q25 = 0.0;
  double q75 = 0.0;
  bool quantiles_exact = true;
  std::int64_t n_distinct = 0;  ///< exact when distinct_exact, else > kMaxExactDistinct
  bool distinct_exact = true;
  double mode_value = 0.0;
  double mode_fraction = 0.0;  ///< count of the most frequent valid value / n_valid
  bool mode_exact = true;
};

/// 64-bit key of a global row for the quantile sample: a bijection of (row, seed), so distinct
/// rows never tie.
std::uint64_t RowSampleKey(std::uint64_t row, std::uint64_t seed);

/// A reproducible row sample: the `keep` rows of 0..n_rows-1 with the smallest RowSampleKey
/// under `seed`, ascending (every row when keep >= n_rows).
std::vector<std::size_t> RowsWithSmallestKeys(std::size_t n_rows, std::size_t keep,
                                              std::uint64_t seed);

/// Accumulates the statistics of one column block by block. Blocks may be added in any order
/// and accumulators covering disjoint rows may be merged in any order: counts, min, max, distinct
/// values and the quantile sample are then identical, mean and variance equal to rounding.
class ColumnStatsAccumulator {
 public:
  explicit ColumnStatsAccumulator(const StatsOptions& options = {});

  /// Adds `n` rows. `is_null` may be null (no SQL NULLs). `row_keys[i]` is RowSampleKey of row i.
  void Add(const double* values, const std::uint8_t* is_null, const std::uint64_t* row_keys,
           std::size_t n);
  /// Same, with the sample candidates of the block already selected (with
  /// SamplePrefilterBound(options)); cheaper when many columns share one block.
  void Add(const double* values, const std::uint8_t* is_null, std::size_t n,
           const SampleCandidates& candidates);
  void Merge(const ColumnStatsAccumulator& other);
  ColumnStats Finalize() const;

  /// Bytes held by the accumulator now (distinct table + quantile sample).
  std::size_t MemoryBytes() const;

 private:
  void AddDistinct(double value, std::int64_t count);
  void AddSample(std::uint64_t key, double value);
  void PruneSample();

  StatsOptions options_;
  std::int64_t n_total_ = 0, n_null_ = 0, n_nan_ = 0, n_inf_ = 0, n_valid_ = 0;
  // The mean is (mean_ + mean_lo_) * 2^mean_exponent_ (double-double), M2 = m2_ * 2^m2_exponent_;
  // both exponents are 0 unless the values are near the ends of the double range.
  double mean_ = 0.0, mean_lo_ = 0.0, m2_ = 0.0;
  int mean_exponent_ = 0, m2_exponent_ = 0;
  double min_ = 0.0, max_ = 0.0;
  bool distinct_overflow_ = false;
  // Open-addressing table of distinct valid values (-0.0 folded to 0.0) and their counts;
  // kDistinctSlots slots, released once more than kMaxExactDistinct values were seen.
  std::vector<double> distinct_values_;
  std::vector<std::int64_t> distinct_counts_;  // 0 marks an empty slot
  std::size_t distinct_size_ = 0;
  // Bottom-k sample: the valid values with the smallest row keys; threshold_ bounds the keys kept.
  std::vector<std::pair<std::uint64_t, double>> sample_;
  std::uint64_t threshold_ = UINT64_MAX;
  bool sample_pruned_ = false;
  // Every valid value while there are at most quantile_sample_size of them: sparse columns keep
  // exact quantiles even when the sample is pre-filtered. Freed once exceeded.
  std::vector<double> exact_values_;
  bool exact_overflow_ = false;
};

/// Quantile of sorted values with linear interpolation between closest ranks (pandas/numpy
/// default): position (n - 1) * q. `q` in [0, 1].
double QuantileSorted(const std::vector<double>& sorted, double q);

/// Quantile of a weighted distinct-value table (value -> count), same definition.
double QuantileCounts(const std::vector<std::pair<double, std::int64_t>>& sorted_counts,
                      std::int64_t total, double q);

// ---- Pass 1 removal rules --------------------------------------------------------------------

enum class RangeMode { kTrimmed, kMinMax, kIqr };
inline const EnumNames<RangeMode>& NamesOf(RangeMode) {
  static const EnumNames<RangeMode> names = {
      {"trimmed", RangeMode::kTrimmed}, {"minmax", RangeMode::kMinMax}, {"iqr", RangeMode::kIqr}};
  return names;
}

struct FilterOptions {
  double max_missing_ratio = 0.5;
  std::int64_t min_effective_n = 100;
  double max_mode_fraction = 1.0;  ///< 1.0 disables the quasi_constant rule
  double variance_threshold = 0.002;
  RangeMode range_mode = RangeMode::kTrimmed;
  bool remove_binary = false;
};

/// Why a column was removed; kKept when it was not. Order = order in which rules are tried.
enum class RemovalReason {
  kKept,
  kMissing,
  kTooFewValid,
  kConstant,
  kQuasiConstant,
  kLowVariance,
  kBinary
};

/// Name used in outputs: "", "missing", "too_few_valid", "constant", "quasi_constant",
/// "low_variance", "binary".
const char* ReasonName(RemovalReason reason);

struct FilterDecision {
  RemovalReason reason = RemovalReason::kKept;
  double range = 0.0;                ///< the range used for normalisation (inf beyond DBL_MAX)
  double normalized_variance = 0.0;  ///< variance / range^2 (NaN when undefined), computed
                                     ///< with scaled operands when variance or range^2 overflow
  bool kept() const { return reason == RemovalReason::kKept; }
};

/// Applies the rules in order (the first that applies wins). The range is taken from
/// `range_mode`; when that range is 0 for a non-constant column the min-max range is used.
/// A column with fewer than 2 valid values that reaches the low_variance rule is removed by it;
/// a NaN normalized variance otherwise (inconsistent statistics) throws NumericalError.
FilterDecision DecideColumn(const ColumnStats& stats, const FilterOptions& options);

}  // namespace descpipe
