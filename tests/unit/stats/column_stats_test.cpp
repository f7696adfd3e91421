// Tests of the streaming column statistics (ColumnStatsAccumulator, QuantileSorted,
// QuantileCounts, RowSampleKey) against a naive reference written here: obvious loops, a long
// double two-pass mean and variance, quantiles by sorting with numpy's "linear" method.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "common/numbers.hpp"
#include "descpipe/stats.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr std::uint64_t kKeySeed = 42;

// ---- Test data ------------------------------------------------------------------------------

/// One column as the reader hands it over: values plus an optional SQL NULL mask.
struct ColumnData {
  std::vector<double> values;
  std::vector<std::uint8_t> is_null;  // empty: no NULLs (Add gets a null pointer)

  std::size_t size() const { return values.size(); }
  const std::uint8_t* nulls() const { return is_null.empty() ? nullptr : is_null.data(); }
  void Push(double value, bool null = false) {
    values.push_back(value);
    is_null.push_back(null ? 1 : 0);
  }
};

enum class DataKind { kMixed, kContinuous, kInteger, kBinary, kConstant, kHugeOffset };

std::string KindName(DataKind kind) {
  switch (kind) {
    case DataKind::kMixed:
      return "Mixed";
    case DataKind::kContinuous:
      return "Continuous";
    case DataKind::kInteger:
      return "Integer";
    case DataKind::kBinary:
      return "Binary";
    case DataKind::kConstant:
      return "Constant";
    case DataKind::kHugeOffset:
      return "HugeOffset";
  }
  return "Unknown";
}

/// Random column of `kind`. Rows under a NULL hold garbage (1e300 or NaN) that must be ignored.
ColumnData MakeColumn(DataKind kind, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  // Tied values, signed zeros included: -0.0 and 0.0 are one value.
  const double ties[] = {-2.5, -0.0, 0.0, 1.0, 4.75};
  ColumnData data;
  data.values.reserve(n);
  data.is_null.reserve(n);
  for (std::size_t row = 0; row < n; ++row) {
    const double u = unit(rng);
    const double garbage = row % 2 == 0 ? 1e300 : kNaN;
    switch (kind) {
      case DataKind::kMixed:
        if (u < 0.03) {
          data.Push(garbage, true);
        } else if (u < 0.05) {
          data.Push(kNaN);
        } else if (u < 0.06) {
          data.Push(kInf);
        } else if (u < 0.07) {
          data.Push(-kInf);
        } else if (u < 0.30) {
          data.Push(ties[rng() % 5]);
        } else {
          data.Push(1.5 + 3.0 * normal(rng));
        }
        break;
      case DataKind::kContinuous:
        data.Push(normal(rng));
        break;
      case DataKind::kInteger:
        if (u < 0.02) {
          data.Push(garbage, true);
        } else if (u < 0.03) {
          data.Push(kNaN);
        } else {
          data.Push(std::round(20.0 + 8.0 * normal(rng)));
        }
        break;
      case DataKind::kBinary:
        if (u < 0.02) {
          data.Push(garbage, true);
        } else {
          data.Push(unit(rng) < 0.3 ? 1.0 : 0.0);
        }
        break;
      case DataKind::kConstant:
        if (u < 0.05) {
          data.Push(garbage, true);
        } else if (u < 0.08) {
          data.Push(kNaN);
        } else {
          data.Push(7.25);
        }
        break;
      case DataKind::kHugeOffset:
        data.Push(1e9 + normal(rng));
        break;
    }
  }
  return data;
}

// ---- Naive reference ------------------------------------------------------------------------

/// numpy.quantile(method="linear") of sorted values: virtual index (n - 1) * q, then numpy's
/// _lerp (a + (b - a) * t below t = 0.5, b - (b - a) * (1 - t) above, exact at both ends).
double RefQuantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double position = static_cast<double>(sorted.size() - 1) * q;
  const double below = std::floor(position);
  const auto lo = static_cast<std::size_t>(below);
  const std::size_t hi = lo + 1 < sorted.size() ? lo + 1 : lo;
  const double t = position - below;
  const double a = sorted[lo];
  const double b = sorted[hi];
  return t >= 0.5 ? b - (b - a) * (1.0 - t) : a + (b - a) * t;
}

struct Reference {
  std::int64_t n_total = 0, n_null = 0, n_nan = 0, n_inf = 0, n_valid = 0;
  double missing_ratio = kNaN;
  double mean = kNaN, variance = kNaN;
  double min = kNaN, max = kNaN;
  double q_low = kNaN, q_high = kNaN, q25 = kNaN, q75 = kNaN;
  std::int64_t n_distinct = 0;
  double mode_value = kNaN, mode_fraction = kNaN;
  double max_abs = 0.0;  // largest |valid value|: the scale of rounding-level absolute errors
  std::vector<double> sorted_valid;
};

Reference ComputeReference(const ColumnData& data, const StatsOptions& options) {
  Reference ref;
  std::vector<double> valid;
  for (std::size_t row = 0; row < data.size(); ++row) {
    ++ref.n_total;
    const double x = data.values[row];
    if (data.nulls() != nullptr && data.is_null[row] != 0) {
      ++ref.n_null;
    } else if (std::isnan(x)) {
      ++ref.n_nan;
    } else if (std::isinf(x)) {
      ++ref.n_inf;
    } else {
      valid.push_back(x);
    }
  }
  ref.n_valid = static_cast<std::int64_t>(valid.size());
  if (ref.n_total > 0) {
    ref.missing_ratio =
        static_cast<double>(ref.n_total - ref.n_valid) / static_cast<double>(ref.n_total);
  }
  if (valid.empty()) return ref;

  // Two-pass mean and variance in long double, the mean corrected by the mean deviation.
  const auto n = static_cast<long double>(valid.size());
  long double sum = 0.0L;
  for (double x : valid) sum += x;
  long double mean = sum / n;
  long double deviation_sum = 0.0L, deviation_squares = 0.0L;
  for (double x : valid) {
    const long double d = static_cast<long double>(x) - mean;
    deviation_sum += d;
    deviation_squares += d * d;
  }
  mean += deviation_sum / n;
  ref.mean = static_cast<double>(mean);
  if (valid.size() > 1) {
    ref.variance =
        static_cast<double>((deviation_squares - deviation_sum * deviation_sum / n) / (n - 1.0L));
  }

  ref.min = valid[0];
  ref.max = valid[0];
  for (double x : valid) {
    if (x < ref.min) ref.min = x;
    if (x > ref.max) ref.max = x;
    ref.max_abs = std::max(ref.max_abs, std::fabs(x));
  }

  std::vector<double> sorted = valid;
  std::sort(sorted.begin(), sorted.end());
  ref.q_low = RefQuantile(sorted, options.trim_low_percent / 100.0);
  ref.q_high = RefQuantile(sorted, options.trim_high_percent / 100.0);
  ref.q25 = RefQuantile(sorted, 0.25);
  ref.q75 = RefQuantile(sorted, 0.75);

  // Distinct values and mode from the runs of the sorted values (-0.0 == 0.0: one run). Ties
  // between modes go to the smallest value, as pandas' Series.mode().iloc[0].
  std::int64_t best = 0;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    ++ref.n_distinct;
    if (static_cast<std::int64_t>(j - i) > best) {
      best = static_cast<std::int64_t>(j - i);
      ref.mode_value = sorted[i];
    }
    i = j;
  }
  ref.mode_fraction = static_cast<double>(best) / static_cast<double>(sorted.size());
  ref.sorted_valid = std::move(sorted);
  return ref;
}

/// Reference for a sampled column: the `m` valid values with the smallest row keys.
std::vector<double> BottomKSample(const ColumnData& data, std::size_t m, std::uint64_t seed) {
  std::vector<std::pair<std::uint64_t, double>> keyed;
  for (std::size_t row = 0; row < data.size(); ++row) {
    if (data.nulls() != nullptr && data.is_null[row] != 0) continue;
    if (!std::isfinite(data.values[row])) continue;
    keyed.emplace_back(RowSampleKey(row, seed), data.values[row]);
  }
  std::sort(keyed.begin(), keyed.end());
  keyed.resize(std::min(m, keyed.size()));
  std::vector<double> sample;
  for (const auto& entry : keyed) sample.push_back(entry.second);
  std::sort(sample.begin(), sample.end());
  return sample;
}

/// Fraction of the valid values strictly below `estimate`.
double FractionBelow(const std::vector<double>& sorted, double estimate) {
  std::size_t below = 0;
  for (double x : sorted) below += x < estimate ? 1 : 0;
  return static_cast<double>(below) / static_cast<double>(sorted.size());
}

// ---- Feeding and comparing ------------------------------------------------------------------

/// Feeds rows [begin, end) of `data` in blocks of `block_rows` into a new accumulator.
ColumnStatsAccumulator Accumulate(const ColumnData& data, const StatsOptions& options,
                                  std::size_t block_rows, std::size_t begin, std::size_t end,
                                  std::uint64_t seed = kKeySeed) {
  ColumnStatsAccumulator accumulator(options);
  std::vector<std::uint64_t> keys;
  for (std::size_t start = begin; start < end; start += block_rows) {
    const std::size_t n = std::min(block_rows, end - start);
    keys.resize(n);
    for (std::size_t i = 0; i < n; ++i) keys[i] = RowSampleKey(start + i, seed);
    accumulator.Add(data.values.data() + start,
                    data.nulls() != nullptr ? data.nulls() + start : nullptr, keys.data(), n);
  }
  return accumulator;
}

ColumnStats Compute(const ColumnData& data, const StatsOptions& options, std::size_t block_rows) {
  return Accumulate(data, options, block_rows, 0, data.size()).Finalize();
}

using descpipe::testing::Same;

/// |actual - expected| <= rel_tol * |expected| + abs_tol, or both NaN.
::testing::AssertionResult Close(double expected, double actual, double rel_tol, double abs_tol) {
  if (std::isnan(expected) && std::isnan(actual)) return ::testing::AssertionSuccess();
  const double error = std::fabs(actual - expected);
  const double bound = rel_tol * std::fabs(expected) + abs_tol;
  if (error <= bound) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << std::setprecision(17) << "expected " << expected << ", got " << actual << ": error "
         << error << " > bound " << bound << " (relative " << error / std::fabs(expected) << ")";
}

// Absolute floors for the moments. Values of magnitude `scale` carry rounding errors of
// eps * scale, so a mean near 0 (or the variance of a constant column) is only defined to that.
double MeanFloor(double scale) { return kEps * scale; }
double VarianceFloor(double scale) { return (kEps * scale) * (kEps * scale); }

void ExpectMatchesReference(const ColumnStats& stats, const Reference& ref, double moment_tol) {
  EXPECT_EQ(stats.n_total, ref.n_total);
  EXPECT_EQ(stats.n_null, ref.n_null);
  EXPECT_EQ(stats.n_nan, ref.n_nan);
  EXPECT_EQ(stats.n_inf, ref.n_inf);
  EXPECT_EQ(stats.n_valid, ref.n_valid);
  EXPECT_TRUE(Same(ref.missing_ratio, stats.missing_ratio)) << "missing_ratio";
  EXPECT_TRUE(Close(ref.mean, stats.mean, moment_tol, MeanFloor(ref.max_abs))) << "mean";
  EXPECT_TRUE(Close(ref.variance, stats.variance, moment_tol, VarianceFloor(ref.max_abs)))
      << "variance";
  EXPECT_TRUE(Same(std::sqrt(stats.variance), stats.std)) << "std";
  EXPECT_TRUE(Same(ref.min, stats.min)) << "min";
  EXPECT_TRUE(Same(ref.max, stats.max)) << "max";
  EXPECT_TRUE(stats.quantiles_exact);
  EXPECT_TRUE(Same(ref.q_low, stats.q_low)) << "q_low";
  EXPECT_TRUE(Same(ref.q_high, stats.q_high)) << "q_high";
  EXPECT_TRUE(Same(ref.q25, stats.q25)) << "q25";
  EXPECT_TRUE(Same(ref.q75, stats.q75)) << "q75";
  if (ref.n_distinct <= static_cast<std::int64_t>(kMaxExactDistinct)) {
    EXPECT_TRUE(stats.distinct_exact);
    EXPECT_EQ(stats.n_distinct, ref.n_distinct);
  } else {
    EXPECT_FALSE(stats.distinct_exact);
    EXPECT_GT(stats.n_distinct, static_cast<std::int64_t>(kMaxExactDistinct));
  }
  EXPECT_TRUE(stats.mode_exact);
  EXPECT_TRUE(Same(ref.mode_value, stats.mode_value)) << "mode_value";
  EXPECT_TRUE(Same(ref.mode_fraction, stats.mode_fraction)) << "mode_fraction";
}

/// Everything identical except mean and variance, which agree to `moment_tol` relative.
void ExpectSameStats(const ColumnStats& expected, const ColumnStats& actual, double moment_tol,
                     double scale) {
  EXPECT_EQ(actual.n_total, expected.n_total);
  EXPECT_EQ(actual.n_null, expected.n_null);
  EXPECT_EQ(actual.n_nan, expected.n_nan);
  EXPECT_EQ(actual.n_inf, expected.n_inf);
  EXPECT_EQ(actual.n_valid, expected.n_valid);
  EXPECT_TRUE(Same(expected.missing_ratio, actual.missing_ratio)) << "missing_ratio";
  EXPECT_TRUE(Close(expected.mean, actual.mean, moment_tol, MeanFloor(scale))) << "mean";
  EXPECT_TRUE(Close(expected.variance, actual.variance, moment_tol, VarianceFloor(scale)))
      << "variance";
  EXPECT_TRUE(Same(std::sqrt(actual.variance), actual.std)) << "std";
  EXPECT_TRUE(Same(expected.min, actual.min)) << "min";
  EXPECT_TRUE(Same(expected.max, actual.max)) << "max";
  EXPECT_EQ(actual.quantiles_exact, expected.quantiles_exact);
  EXPECT_TRUE(Same(expected.q_low, actual.q_low)) << "q_low";
  EXPECT_TRUE(Same(expected.q_high, actual.q_high)) << "q_high";
  EXPECT_TRUE(Same(expected.q25, actual.q25)) << "q25";
  EXPECT_TRUE(Same(expected.q75, actual.q75)) << "q75";
  EXPECT_EQ(actual.n_distinct, expected.n_distinct);
  EXPECT_EQ(actual.distinct_exact, expected.distinct_exact);
  EXPECT_EQ(actual.mode_exact, expected.mode_exact);
  EXPECT_TRUE(Same(expected.mode_value, actual.mode_value)) << "mode_value";
  EXPECT_TRUE(Same(expected.mode_fraction, actual.mode_fraction)) << "mode_fraction";
}

double MaxAbsFinite(const ColumnData& data) {
  double scale = 0.0;
  for (std::size_t row = 0; row < data.size(); ++row) {
    if (data.nulls() != nullptr && data.is_null[row] != 0) continue;
    if (std::isfinite(data.values[row])) scale = std::max(scale, std::fabs(data.values[row]));
  }
  return scale;
}

// ---- Against the reference, every data kind and block size ----------------------------------

constexpr std::size_t kRows = 6000;
const std::size_t kBlockSizes[] = {1, 7, 256, 4096, kRows};

class ColumnStatsReferenceTest
    : public ::testing::TestWithParam<std::tuple<DataKind, std::size_t>> {};

TEST_P(ColumnStatsReferenceTest, MatchesNaiveReference) {
  const auto [kind, block_rows] = GetParam();
  const ColumnData data = MakeColumn(kind, kRows, 1000 + static_cast<int>(kind));
  const StatsOptions options;  // kRows valid values < quantile_sample_size: all exact
  const Reference ref = ComputeReference(data, options);
  ExpectMatchesReference(Compute(data, options, block_rows), ref, 1e-12);
}

TEST_P(ColumnStatsReferenceTest, MatchesNaiveReferenceWithOtherTrimPercentiles) {
  const auto [kind, block_rows] = GetParam();
  const ColumnData data = MakeColumn(kind, kRows, 2000 + static_cast<int>(kind));
  StatsOptions options;
  options.trim_low_percent = 1.0;
  options.trim_high_percent = 90.0;
  const Reference ref = ComputeReference(data, options);
  ExpectMatchesReference(Compute(data, options, block_rows), ref, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(
    ColumnStats, ColumnStatsReferenceTest,
    ::testing::Combine(::testing::Values(DataKind::kMixed, DataKind::kContinuous,
                                         DataKind::kInteger, DataKind::kBinary, DataKind::kConstant,
                                         DataKind::kHugeOffset),
                       ::testing::ValuesIn(kBlockSizes)),
    [](const auto& info) {
      return KindName(std::get<0>(info.param)) + "_block" + std::to_string(std::get<1>(info.param));
    });

// The data kinds really exercise what they are meant to (guards the generators above).
TEST(ColumnStatsReference, DataKindsCoverTheIntendedCases) {
  const StatsOptions options;
  const Reference mixed = ComputeReference(MakeColumn(DataKind::kMixed, kRows, 1000), options);
  EXPECT_GT(mixed.n_null, 0);
  EXPECT_GT(mixed.n_nan, 0);
  EXPECT_GT(mixed.n_inf, 0);
  EXPECT_GT(mixed.n_distinct, static_cast<std::int64_t>(kMaxExactDistinct));
  EXPECT_GT(mixed.mode_fraction, 0.04);  // the tied values
  const Reference integer = ComputeReference(MakeColumn(DataKind::kInteger, kRows, 1002), options);
  EXPECT_LE(integer.n_distinct, static_cast<std::int64_t>(kMaxExactDistinct));
  EXPECT_GT(integer.n_distinct, 20);
  EXPECT_EQ(ComputeReference(MakeColumn(DataKind::kBinary, kRows, 1003), options).n_distinct, 2);
  const Reference constant =
      ComputeReference(MakeColumn(DataKind::kConstant, kRows, 1004), options);
  EXPECT_EQ(constant.n_distinct, 1);
  EXPECT_EQ(constant.variance, 0.0);
  const Reference huge = ComputeReference(MakeColumn(DataKind::kHugeOffset, kRows, 1005), options);
  EXPECT_NEAR(huge.variance, 1.0, 0.1);
  EXPECT_NEAR(huge.mean, 1e9, 0.1);
}

// Huge offsets, larger: 1e9 + N(0, 1) over many blocks of every size. Storing a running mean in
// a plain double loses ~1e-7 per update at this magnitude, which shows up in the variance.
TEST(ColumnStatsReference, HugeOffsetVarianceOverManyBlocks) {
  const ColumnData data = MakeColumn(DataKind::kHugeOffset, 100000, 77);
  const StatsOptions options;
  const Reference ref = ComputeReference(data, options);
  for (std::size_t block_rows :
       {std::size_t{1}, std::size_t{7}, std::size_t{256}, std::size_t{4096}}) {
    SCOPED_TRACE("block_rows " + std::to_string(block_rows));
    const ColumnStats stats = Compute(data, options, block_rows);
    EXPECT_TRUE(Close(ref.mean, stats.mean, 1e-12, 0.0));
    EXPECT_TRUE(Close(ref.variance, stats.variance, 1e-12, 0.0));
  }
}

// ---- Block size invariance ------------------------------------------------------------------

class ColumnStatsBlockSizeTest : public ::testing::TestWithParam<DataKind> {};

TEST_P(ColumnStatsBlockSizeTest, ResultsDoNotDependOnBlockSize) {
  const DataKind kind = GetParam();
  const ColumnData data = MakeColumn(kind, 20000, 3000 + static_cast<int>(kind));
  const StatsOptions options;
  const ColumnStats whole = Compute(data, options, data.size());
  for (std::size_t block_rows :
       {std::size_t{1}, std::size_t{7}, std::size_t{256}, std::size_t{4096}}) {
    SCOPED_TRACE("block_rows " + std::to_string(block_rows));
    ExpectSameStats(whole, Compute(data, options, block_rows), 1e-13, MaxAbsFinite(data));
  }
}

TEST_P(ColumnStatsBlockSizeTest, SampledResultsDoNotDependOnBlockSize) {
  const DataKind kind = GetParam();
  const ColumnData data = MakeColumn(kind, 60000, 4000 + static_cast<int>(kind));
  StatsOptions options;
  options.quantile_sample_size = 1024;
  const ColumnStats whole = Compute(data, options, data.size());
  for (std::size_t block_rows :
       {std::size_t{1}, std::size_t{7}, std::size_t{256}, std::size_t{4096}}) {
    SCOPED_TRACE("block_rows " + std::to_string(block_rows));
    ExpectSameStats(whole, Compute(data, options, block_rows), 1e-13, MaxAbsFinite(data));
  }
}

INSTANTIATE_TEST_SUITE_P(ColumnStats, ColumnStatsBlockSizeTest,
                         ::testing::Values(DataKind::kMixed, DataKind::kContinuous,
                                           DataKind::kInteger, DataKind::kBinary,
                                           DataKind::kConstant, DataKind::kHugeOffset),
                         [](const auto& info) { return KindName(info.param); });

// Variable block sizes inside one run (the reader's last batch is short, for one).
TEST(ColumnStatsBlockSize, IrregularBlocksGiveTheSameResult) {
  const ColumnData data = MakeColumn(DataKind::kMixed, 30000, 5);
  StatsOptions options;
  options.quantile_sample_size = 2048;
  const ColumnStats whole = Compute(data, options, data.size());
  std::mt19937_64 rng(6);
  ColumnStatsAccumulator accumulator(options);
  std::vector<std::uint64_t> keys;
  for (std::size_t start = 0; start < data.size();) {
    const std::size_t n = std::min<std::size_t>(rng() % 3000, data.size() - start);  // 0 too
    keys.resize(n);
    for (std::size_t i = 0; i < n; ++i) keys[i] = RowSampleKey(start + i, kKeySeed);
    accumulator.Add(data.values.data() + start, data.nulls() + start, keys.data(), n);
    start += n;
  }
  ExpectSameStats(whole, accumulator.Finalize(), 1e-13, MaxAbsFinite(data));
}

// ---- Merge ----------------------------------------------------------------------------------

/// Accumulators over consecutive row ranges of the given sizes (the last takes the rest).
std::vector<ColumnStatsAccumulator> SplitAccumulate(const ColumnData& data,
                                                    const StatsOptions& options,
                                                    const std::vector<std::size_t>& sizes,
                                                    std::size_t block_rows) {
  std::vector<ColumnStatsAccumulator> parts;
  std::size_t begin = 0;
  for (std::size_t part = 0; part <= sizes.size(); ++part) {
    const std::size_t end = part < sizes.size() ? begin + sizes[part] : data.size();
    parts.push_back(Accumulate(data, options, block_rows, begin, end));
    begin = end;
  }
  return parts;
}

ColumnStats MergeInOrder(const std::vector<ColumnStatsAccumulator>& parts,
                         const std::vector<std::size_t>& order) {
  ColumnStatsAccumulator merged = parts[order[0]];
  for (std::size_t i = 1; i < order.size(); ++i) merged.Merge(parts[order[i]]);
  return merged.Finalize();
}

/// Pairwise reduction tree, as a parallel reduction would merge.
ColumnStats MergeAsTree(std::vector<ColumnStatsAccumulator> parts) {
  while (parts.size() > 1) {
    std::vector<ColumnStatsAccumulator> next;
    for (std::size_t i = 0; i + 1 < parts.size(); i += 2) {
      next.push_back(parts[i]);
      next.back().Merge(parts[i + 1]);
    }
    if (parts.size() % 2 == 1) next.push_back(parts.back());
    parts = std::move(next);
  }
  return parts[0].Finalize();
}

void ExpectMergeOrderIndependent(const ColumnData& data, const StatsOptions& options,
                                 const std::vector<std::size_t>& sizes) {
  const double scale = MaxAbsFinite(data);
  const ColumnStats whole = Compute(data, options, 4096);
  const auto parts = SplitAccumulate(data, options, sizes, 256);
  std::vector<std::size_t> order(parts.size());
  std::iota(order.begin(), order.end(), 0);
  {
    SCOPED_TRACE("forward");
    ExpectSameStats(whole, MergeInOrder(parts, order), 1e-13, scale);
  }
  {
    SCOPED_TRACE("reversed");
    std::vector<std::size_t> reversed(order.rbegin(), order.rend());
    ExpectSameStats(whole, MergeInOrder(parts, reversed), 1e-13, scale);
  }
  std::mt19937_64 rng(99);
  for (int shuffle = 0; shuffle < 4; ++shuffle) {
    SCOPED_TRACE("shuffle " + std::to_string(shuffle));
    std::shuffle(order.begin(), order.end(), rng);
    ExpectSameStats(whole, MergeInOrder(parts, order), 1e-13, scale);
  }
  {
    SCOPED_TRACE("tree");
    ExpectSameStats(whole, MergeAsTree(parts), 1e-13, scale);
  }
}

class ColumnStatsMergeTest : public ::testing::TestWithParam<DataKind> {};

TEST_P(ColumnStatsMergeTest, MergeOrderDoesNotMatter) {
  const DataKind kind = GetParam();
  const ColumnData data = MakeColumn(kind, 20000, 6000 + static_cast<int>(kind));
  // Uneven parts, a one-row part and an empty part among them.
  ExpectMergeOrderIndependent(data, StatsOptions{}, {3000, 1, 7000, 0, 2500, 4000});
}

TEST_P(ColumnStatsMergeTest, SampledMergeOrderDoesNotMatter) {
  const DataKind kind = GetParam();
  const ColumnData data = MakeColumn(kind, 60000, 7000 + static_cast<int>(kind));
  StatsOptions options;
  options.quantile_sample_size = 1024;
  // Tiny parts (unpruned samples) beside large ones (pruned at different thresholds).
  ExpectMergeOrderIndependent(data, options, {5, 20000, 3, 0, 15000, 900, 2});
}

INSTANTIATE_TEST_SUITE_P(ColumnStats, ColumnStatsMergeTest,
                         ::testing::Values(DataKind::kMixed, DataKind::kContinuous,
                                           DataKind::kInteger, DataKind::kBinary,
                                           DataKind::kConstant, DataKind::kHugeOffset),
                         [](const auto& info) { return KindName(info.param); });

TEST(ColumnStatsMerge, MergedMatchesReference) {
  const ColumnData data = MakeColumn(DataKind::kMixed, 20000, 8);
  const StatsOptions options;
  const auto parts = SplitAccumulate(data, options, {4000, 4000, 4000, 4000}, 7);
  ExpectMatchesReference(MergeInOrder(parts, {3, 1, 4, 0, 2}), ComputeReference(data, options),
                         1e-12);
}

// Merging into (or from) an accumulator with no sampled rows must keep the full bottom-k. With
// m + m/4 + 1 valid rows the sample is pruned on the last row and holds exactly m entries, the
// largest of them at the threshold: merging must not drop that one.
TEST(ColumnStatsMerge, MergingIntoAnEmptyAccumulatorIsIdentity) {
  constexpr std::size_t kSample = 1000;
  for (std::size_t n_rows : {kSample + kSample / 4 + 1, std::size_t{50000}}) {
    SCOPED_TRACE("n_rows " + std::to_string(n_rows));
    const ColumnData data = MakeColumn(DataKind::kContinuous, n_rows, 9);
    StatsOptions options;
    options.quantile_sample_size = kSample;
    const ColumnStatsAccumulator full = Accumulate(data, options, 4096, 0, data.size());
    const ColumnStats expected = full.Finalize();
    ASSERT_FALSE(expected.quantiles_exact);
    const std::vector<double> sample = BottomKSample(data, kSample, kKeySeed);
    ASSERT_TRUE(Same(RefQuantile(sample, 0.25), expected.q25));

    ColumnStatsAccumulator empty(options);
    empty.Merge(full);
    ExpectSameStats(expected, empty.Finalize(), 0.0, 0.0);

    ColumnStatsAccumulator full_copy = full;
    full_copy.Merge(ColumnStatsAccumulator(options));
    ExpectSameStats(expected, full_copy.Finalize(), 0.0, 0.0);

    // An accumulator that saw rows, none of them valid, has no sample either.
    ColumnData invalid;
    for (int row = 0; row < 10; ++row) invalid.Push(row % 2 == 0 ? kNaN : 0.0, row % 2 == 1);
    ColumnStatsAccumulator only_invalid = Accumulate(invalid, options, 10, 0, invalid.size());
    only_invalid.Merge(full);
    const ColumnStats merged = only_invalid.Finalize();
    EXPECT_EQ(merged.n_total, expected.n_total + 10);
    EXPECT_EQ(merged.n_nan, 5);
    EXPECT_EQ(merged.n_null, 5);
    EXPECT_TRUE(Same(expected.q_low, merged.q_low));
    EXPECT_TRUE(Same(expected.q_high, merged.q_high));
    EXPECT_TRUE(Same(expected.q25, merged.q25));
    EXPECT_TRUE(Same(expected.q75, merged.q75));
    EXPECT_TRUE(Same(expected.mode_fraction, merged.mode_fraction));
  }
}

// Two accumulators, each pruned, merged both ways round.
TEST(ColumnStatsMerge, TwoPrunedSamplesMergeSymmetrically) {
  const ColumnData data = MakeColumn(DataKind::kContinuous, 40000, 10);
  StatsOptions options;
  options.quantile_sample_size = 512;
  const ColumnStats whole = Compute(data, options, 4096);
  for (std::size_t split :
       {std::size_t{600}, std::size_t{5000}, std::size_t{20000}, std::size_t{39990}}) {
    SCOPED_TRACE("split " + std::to_string(split));
    const auto parts = SplitAccumulate(data, options, {split}, 1000);
    ExpectSameStats(whole, MergeInOrder(parts, {0, 1}), 1e-13, MaxAbsFinite(data));
    ExpectSameStats(whole, MergeInOrder(parts, {1, 0}), 1e-13, MaxAbsFinite(data));
  }
}

// ---- Quantile sample ------------------------------------------------------------------------

TEST(ColumnStatsQuantileSample, ExactWhenValidCountFitsTheSample) {
  StatsOptions options;
  options.quantile_sample_size = 1000;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0.0, 1.0);
  ColumnData data;  // exactly 1000 valid, all distinct, plus invalid rows
  for (int row = 0; row < 1000; ++row) {
    data.Push(normal(rng));
    if (row % 50 == 0) data.Push(kNaN);
    if (row % 70 == 0) data.Push(0.0, true);
  }
  const Reference ref = ComputeReference(data, options);
  ASSERT_EQ(ref.n_valid, 1000);
  for (std::size_t block_rows : {std::size_t{1}, std::size_t{7}, std::size_t{256}}) {
    ExpectMatchesReference(Compute(data, options, block_rows), ref, 1e-12);
  }
  // One more valid value than the sample holds: the flag must not claim exactness.
  data.Push(0.123);
  const ColumnStats over = Compute(data, options, 256);
  EXPECT_FALSE(over.quantiles_exact);
  EXPECT_FALSE(over.mode_exact);
  EXPECT_FALSE(over.distinct_exact);
}

TEST(ColumnStatsQuantileSample, ExactWhenFewDistinctValues) {
  // 200,000 rows with fewer than 256 distinct values: the sample never matters.
  const ColumnData data = MakeColumn(DataKind::kInteger, 200000, 12);
  StatsOptions options;
  options.quantile_sample_size = 4096;
  const Reference ref = ComputeReference(data, options);
  ASSERT_LE(ref.n_distinct, static_cast<std::int64_t>(kMaxExactDistinct));
  ExpectMatchesReference(Compute(data, options, 4096), ref, 1e-12);
  ExpectMatchesReference(Compute(data, options, 7), ref, 1e-12);
}

TEST(ColumnStatsQuantileSample, SampledQuantilesWithinBinomialRankError) {
  constexpr std::size_t kSample = 4096;
  ColumnData data = MakeColumn(DataKind::kContinuous, 200000, 13);
  for (std::size_t row = 0; row < data.size(); row += 97) data.values[row] = kNaN;
  for (std::size_t row = 5; row < data.size(); row += 101) data.is_null[row] = 1;
  StatsOptions options;
  options.quantile_sample_size = kSample;
  const Reference ref = ComputeReference(data, options);
  const ColumnStats stats = Compute(data, options, 4096);

  EXPECT_FALSE(stats.quantiles_exact);
  EXPECT_FALSE(stats.distinct_exact);
  EXPECT_FALSE(stats.mode_exact);
  EXPECT_GT(stats.n_distinct, static_cast<std::int64_t>(kMaxExactDistinct));
  // Everything but the quantiles and the mode is still exact.
  EXPECT_EQ(stats.n_valid, ref.n_valid);
  EXPECT_EQ(stats.n_nan, ref.n_nan);
  EXPECT_EQ(stats.n_null, ref.n_null);
  EXPECT_TRUE(Same(ref.min, stats.min));
  EXPECT_TRUE(Same(ref.max, stats.max));
  EXPECT_TRUE(Close(ref.mean, stats.mean, 1e-12, MeanFloor(ref.max_abs)));
  EXPECT_TRUE(Close(ref.variance, stats.variance, 1e-12, 0.0));

  // The rank of an order statistic of a random sample of size m is binomial: its error has
  // standard deviation sqrt(q (1 - q) / m). 6 sd, plus 2/m for the interpolation between ranks.
  const std::pair<double, double> estimates[] = {{options.trim_low_percent / 100.0, stats.q_low},
                                                 {options.trim_high_percent / 100.0, stats.q_high},
                                                 {0.25, stats.q25},
                                                 {0.75, stats.q75}};
  const double m = static_cast<double>(kSample);
  for (const auto& [q, estimate] : estimates) {
    SCOPED_TRACE("q " + std::to_string(q));
    const double rank_error = FractionBelow(ref.sorted_valid, estimate) - q;
    EXPECT_LE(std::fabs(rank_error), 6.0 * std::sqrt(q * (1.0 - q) / m) + 2.0 / m);
    // Sampled, not silently exact: with 196,000 continuous values the estimate differs.
    EXPECT_NE(estimate, RefQuantile(ref.sorted_valid, q));
  }

  // Precisely: the quantiles of the m valid values with the smallest row keys.
  const std::vector<double> sample = BottomKSample(data, kSample, kKeySeed);
  ASSERT_EQ(sample.size(), kSample);
  EXPECT_TRUE(Same(RefQuantile(sample, options.trim_low_percent / 100.0), stats.q_low));
  EXPECT_TRUE(Same(RefQuantile(sample, options.trim_high_percent / 100.0), stats.q_high));
  EXPECT_TRUE(Same(RefQuantile(sample, 0.25), stats.q25));
  EXPECT_TRUE(Same(RefQuantile(sample, 0.75), stats.q75));
}

TEST(ColumnStatsQuantileSample, SampleIsDeterministicAcrossBlockSizes) {
  const ColumnData data = MakeColumn(DataKind::kMixed, 200000, 14);
  StatsOptions options;
  options.quantile_sample_size = 4096;
  const ColumnStats reference = Compute(data, options, 4096);
  ASSERT_FALSE(reference.quantiles_exact);
  for (std::size_t block_rows :
       {std::size_t{1}, std::size_t{7}, std::size_t{256}, std::size_t{65536}, data.size()}) {
    SCOPED_TRACE("block_rows " + std::to_string(block_rows));
    const ColumnStats stats = Compute(data, options, block_rows);
    EXPECT_TRUE(Same(reference.q_low, stats.q_low));
    EXPECT_TRUE(Same(reference.q_high, stats.q_high));
    EXPECT_TRUE(Same(reference.q25, stats.q25));
    EXPECT_TRUE(Same(reference.q75, stats.q75));
    EXPECT_TRUE(Same(reference.mode_value, stats.mode_value));
    EXPECT_TRUE(Same(reference.mode_fraction, stats.mode_fraction));
  }
  // The same rows presented in a different physical order but with their own row keys.
  std::vector<std::size_t> permutation(data.size());
  std::iota(permutation.begin(), permutation.end(), 0);
  std::mt19937_64 rng(15);
  std::shuffle(permutation.begin(), permutation.end(), rng);
  ColumnStatsAccumulator shuffled(options);
  for (std::size_t start = 0; start < data.size(); start += 1000) {
    std::vector<double> values;
    std::vector<std::uint8_t> nulls;
    std::vector<std::uint64_t> keys;
    for (std::size_t i = start; i < std::min(start + 1000, data.size()); ++i) {
      values.push_back(data.values[permutation[i]]);
      nulls.push_back(data.is_null[permutation[i]]);
      keys.push_back(RowSampleKey(permutation[i], kKeySeed));
    }
    shuffled.Add(values.data(), nulls.data(), keys.data(), values.size());
  }
  ExpectSameStats(reference, shuffled.Finalize(), 1e-13, MaxAbsFinite(data));
}

TEST(ColumnStatsQuantileSample, SampledModeOfAHeavilyTiedColumn) {
  // Half the values are 3.0, the rest continuous: more than 256 distinct values.
  constexpr std::size_t kSample = 4096;
  std::mt19937_64 rng(16);
  std::normal_distribution<double> normal(0.0, 1.0);
  ColumnData data;
  for (int row = 0; row < 100000; ++row) data.Push(row % 2 == 0 ? 3.0 : normal(rng));
  StatsOptions options;
  options.quantile_sample_size = kSample;
  const ColumnStats stats = Compute(data, options, 4096);
  EXPECT_FALSE(stats.mode_exact);
  EXPECT_EQ(stats.mode_value, 3.0);
  EXPECT_LE(std::fabs(stats.mode_fraction - 0.5), 6.0 * std::sqrt(0.25 / kSample));
  EXPECT_NE(stats.mode_fraction, 0.5);  // estimated from the sample, not counted
}

TEST(ColumnStatsQuantileSample, MemoryStaysBoundedBySampleSize) {
  const ColumnData data = MakeColumn(DataKind::kContinuous, 200000, 17);
  StatsOptions options;
  options.quantile_sample_size = 1024;
  const ColumnStatsAccumulator accumulator = Accumulate(data, options, 4096, 0, data.size());
  // At most 1.25 m + 1 pairs before pruning; vector growth may double that capacity. The
  // distinct table is released after overflowing.
  const std::size_t pair_bytes = sizeof(std::pair<std::uint64_t, double>);
  EXPECT_LE(accumulator.MemoryBytes(), 2 * (1024 + 1024 / 4 + 1) * pair_bytes);
  EXPECT_GE(accumulator.MemoryBytes(), 1024 * pair_bytes);
}

// ---- Sample pre-filter (StatsOptions::expected_rows) ----------------------------------------

TEST(ColumnStatsPrefilter, BoundFollowsTheExpectedRowCount) {
  StatsOptions options;
  options.quantile_sample_size = 1000;
  EXPECT_EQ(SamplePrefilterBound(options), UINT64_MAX);  // expected_rows unknown
  options.expected_rows = 2000;
  EXPECT_EQ(SamplePrefilterBound(options), UINT64_MAX);  // 2 m >= rows: every row
  options.expected_rows = 1000000;
  const double rate = std::ldexp(static_cast<double>(SamplePrefilterBound(options)), -64);
  EXPECT_NEAR(rate, 2.0 * 1000 / 1e6, 1e-12);
}

// With the true row count, the pre-filter keeps far more than m candidates (2 m expected, the
// m-th smallest key sits near m / rows), so the bottom-m sample and everything else are the same
// as without it.
TEST(ColumnStatsPrefilter, SameSampleAsWithoutPrefilter) {
  const ColumnData data = MakeColumn(DataKind::kMixed, 200000, 24);
  StatsOptions plain;
  plain.quantile_sample_size = 4096;
  StatsOptions prefiltered = plain;
  prefiltered.expected_rows = data.size();
  ASSERT_NE(SamplePrefilterBound(prefiltered), UINT64_MAX);
  const ColumnStats expected = Compute(data, plain, 4096);
  ASSERT_FALSE(expected.quantiles_exact);
  for (std::size_t block_rows : {std::size_t{7}, std::size_t{4096}, data.size()}) {
    SCOPED_TRACE("block_rows " + std::to_string(block_rows));
    ExpectSameStats(expected, Compute(data, prefiltered, block_rows), 1e-13, MaxAbsFinite(data));
  }
  const auto parts = SplitAccumulate(data, prefiltered, {3, 70000, 10, 50000}, 4096);
  ExpectSameStats(expected, MergeInOrder(parts, {2, 0, 4, 1, 3}), 1e-13, MaxAbsFinite(data));
}

// The header promises exact quantiles when a column has at most quantile_sample_size valid
// values. With expected_rows set (Pass 1 sets it for every column), the pre-filtered sample of a
// sparse column holds only ~2 m n_valid / rows values: the accumulator must keep the valid
// values themselves while there are at most m.
TEST(ColumnStatsPrefilter, SparseColumnStaysExact) {
  ColumnData data = MakeColumn(DataKind::kContinuous, 100000, 26);
  for (std::size_t row = 0; row < data.size(); ++row) {
    if (row % 33 != 0) data.values[row] = kNaN;  // ~3,000 valid values
  }
  StatsOptions options;
  options.quantile_sample_size = 4096;
  options.expected_rows = data.size();
  const Reference ref = ComputeReference(data, options);
  ASSERT_LE(ref.n_valid, 4096);
  ExpectMatchesReference(Compute(data, options, 4096), ref, 1e-12);
}

TEST(ColumnStatsPrefilter, SharedCandidatesEqualRowKeys) {
  const ColumnData data = MakeColumn(DataKind::kMixed, 100000, 25);
  StatsOptions options;
  options.quantile_sample_size = 2048;
  options.expected_rows = data.size();
  const ColumnStats expected = Compute(data, options, 4096);
  ColumnStatsAccumulator accumulator(options);
  const std::uint64_t bound = SamplePrefilterBound(options);
  SampleCandidates candidates;
  std::vector<std::uint64_t> keys;
  for (std::size_t start = 0; start < data.size(); start += 4096) {
    const std::size_t n = std::min<std::size_t>(4096, data.size() - start);
    keys.resize(n);
    for (std::size_t i = 0; i < n; ++i) keys[i] = RowSampleKey(start + i, kKeySeed);
    candidates.Select(keys.data(), n, bound);
    EXPECT_LT(candidates.rows.size(), n / 4);  // rate 2 m / rows = 4%
    accumulator.Add(data.values.data() + start, data.nulls() + start, n, candidates);
  }
  ExpectSameStats(expected, accumulator.Finalize(), 0.0, 0.0);
}

// ---- Distinct values ------------------------------------------------------------------------

/// `n_rows` values cycling through `n_values` distinct values i * 0.37 - 20, in shuffled order.
ColumnData DistinctColumn(std::size_t n_values, std::size_t n_rows, std::uint64_t seed) {
  ColumnData data;
  for (std::size_t row = 0; row < n_rows; ++row) {
    data.Push(static_cast<double>(row % n_values) * 0.37 - 20.0);
  }
  std::mt19937_64 rng(seed);
  std::shuffle(data.values.begin(), data.values.end(), rng);
  return data;
}

TEST(ColumnStatsDistinct, Exactly256DistinctValuesAreCountedExactly) {
  ColumnData data = DistinctColumn(kMaxExactDistinct, 10000, 18);
  // Invalid rows are not values.
  data.Push(kNaN);
  data.Push(kInf);
  data.Push(-kInf);
  data.Push(12345.0, true);
  StatsOptions options;
  options.quantile_sample_size = 1000;  // fewer than n_valid: the counts give exact quantiles
  const Reference ref = ComputeReference(data, options);
  ASSERT_EQ(ref.n_distinct, 256);
  for (std::size_t block_rows : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
    const ColumnStats stats = Compute(data, options, block_rows);
    EXPECT_TRUE(stats.distinct_exact);
    EXPECT_EQ(stats.n_distinct, 256);
    ExpectMatchesReference(stats, ref, 1e-12);
  }
}

TEST(ColumnStatsDistinct, Value257OverflowsTheExactCount) {
  const ColumnData data = DistinctColumn(kMaxExactDistinct + 1, 10000, 19);
  const ColumnStats stats = Compute(data, StatsOptions{}, 256);
  EXPECT_FALSE(stats.distinct_exact);
  EXPECT_GT(stats.n_distinct, static_cast<std::int64_t>(kMaxExactDistinct));
  // The complete sample (10,000 valid <= 65,536) still gives exact quantiles.
  ExpectMatchesReference(stats, ComputeReference(data, StatsOptions{}), 1e-12);
}

TEST(ColumnStatsDistinct, MergedDistinctValuesAreUnited) {
  // Part A holds values 0..199, part B values 56..255 (or 56..256): union 256 (or 257).
  for (std::size_t top : {std::size_t{255}, std::size_t{256}}) {
    SCOPED_TRACE("top " + std::to_string(top));
    ColumnData data;
    for (int repeat = 0; repeat < 3; ++repeat) {
      for (std::size_t v = 0; v < 200; ++v) data.Push(static_cast<double>(v));
    }
    const std::size_t split = data.size();
    for (std::size_t v = 56; v <= top; ++v) data.Push(static_cast<double>(v));
    data.Push(100.0);  // 100 appears 3 + 1 + 1 = 5 times: the mode
    StatsOptions options;
    options.quantile_sample_size = 100;  // force the counts (or the sample) to matter
    const auto parts = SplitAccumulate(data, options, {split}, 64);
    for (const auto& order : {std::vector<std::size_t>{0, 1}, std::vector<std::size_t>{1, 0}}) {
      const ColumnStats stats = MergeInOrder(parts, order);
      if (top == 255) {
        EXPECT_TRUE(stats.distinct_exact);
        EXPECT_EQ(stats.n_distinct, 256);
        ExpectMatchesReference(stats, ComputeReference(data, options), 1e-12);
        EXPECT_EQ(stats.mode_value, 100.0);
        EXPECT_EQ(stats.mode_fraction, 5.0 / static_cast<double>(data.size()));
      } else {
        EXPECT_FALSE(stats.distinct_exact);
        EXPECT_GT(stats.n_distinct, static_cast<std::int64_t>(kMaxExactDistinct));
      }
    }
  }
}

TEST(ColumnStatsDistinct, SignedZerosAreOneValue) {
  // -0.0 and 0.0 adjacent (one run), apart within a block, and in different blocks.
  ColumnData data;
  for (double value : {-0.0, 0.0, 1.0, 0.0, -0.0, 2.0, -0.0, 1.0, 0.0}) data.Push(value);
  const Reference ref = ComputeReference(data, StatsOptions{});
  ASSERT_EQ(ref.n_distinct, 3);
  for (std::size_t block_rows : {std::size_t{1}, std::size_t{2}, std::size_t{4}, data.size()}) {
    SCOPED_TRACE("block_rows " + std::to_string(block_rows));
    const ColumnStats stats = Compute(data, StatsOptions{}, block_rows);
    EXPECT_EQ(stats.n_distinct, 3);
    EXPECT_EQ(stats.mode_value, 0.0);
    EXPECT_EQ(stats.mode_fraction, 6.0 / 9.0);
    EXPECT_EQ(stats.min, 0.0);
    EXPECT_EQ(stats.q25, 0.0);
  }
  // Only zeros of both signs: constant.
  ColumnData zeros;
  for (int row = 0; row < 50; ++row) zeros.Push(row % 3 == 0 ? -0.0 : 0.0);
  const auto parts = SplitAccumulate(zeros, StatsOptions{}, {17}, 5);
  const ColumnStats merged = MergeInOrder(parts, {1, 0});
  EXPECT_EQ(merged.n_distinct, 1);
  EXPECT_EQ(merged.mode_fraction, 1.0);
  EXPECT_EQ(merged.variance, 0.0);
}

TEST(ColumnStatsDistinct, ModeTiesGoToTheSmallestValue) {
  ColumnData data;
  for (double value : {5.0, 2.0, 5.0, 9.0, 2.0, 9.0, 1.0}) data.Push(value);
  for (std::size_t block_rows : {std::size_t{1}, std::size_t{3}, data.size()}) {
    const ColumnStats stats = Compute(data, StatsOptions{}, block_rows);
    EXPECT_EQ(stats.mode_value, 2.0);
    EXPECT_EQ(stats.mode_fraction, 2.0 / 7.0);
  }
}

// ---- Edge cases -----------------------------------------------------------------------------

void ExpectNoValidValues(const ColumnStats& stats) {
  EXPECT_EQ(stats.n_valid, 0);
  EXPECT_TRUE(std::isnan(stats.mean));
  EXPECT_TRUE(std::isnan(stats.variance));
  EXPECT_TRUE(std::isnan(stats.std));
  EXPECT_TRUE(std::isnan(stats.min));
  EXPECT_TRUE(std::isnan(stats.max));
  EXPECT_TRUE(std::isnan(stats.q_low));
  EXPECT_TRUE(std::isnan(stats.q_high));
  EXPECT_TRUE(std::isnan(stats.q25));
  EXPECT_TRUE(std::isnan(stats.q75));
  EXPECT_EQ(stats.n_distinct, 0);
  EXPECT_TRUE(std::isnan(stats.mode_value));
  EXPECT_TRUE(std::isnan(stats.mode_fraction));
}

TEST(ColumnStatsEdge, AllNullColumn) {
  ColumnData data;
  for (int row = 0; row < 300; ++row) data.Push(row % 2 == 0 ? 1.0 : kNaN, true);
  for (std::size_t block_rows : {std::size_t{1}, std::size_t{7}, data.size()}) {
    const ColumnStats stats = Compute(data, StatsOptions{}, block_rows);
    EXPECT_EQ(stats.n_total, 300);
    EXPECT_EQ(stats.n_null, 300);
    EXPECT_EQ(stats.n_nan, 0);  // NaN under a NULL is a NULL
    EXPECT_EQ(stats.missing_ratio, 1.0);
    ExpectNoValidValues(stats);
  }
}

TEST(ColumnStatsEdge, AllNaNAndAllInfColumns) {
  ColumnData nans, infs;
  for (int row = 0; row < 100; ++row) {
    nans.Push(row % 2 == 0 ? kNaN : -kNaN);
    infs.Push(row % 3 == 0 ? -kInf : kInf);
  }
  const ColumnStats nan_stats = Compute(nans, StatsOptions{}, 7);
  EXPECT_EQ(nan_stats.n_nan, 100);
  EXPECT_EQ(nan_stats.n_inf, 0);
  EXPECT_EQ(nan_stats.missing_ratio, 1.0);
  ExpectNoValidValues(nan_stats);
  const ColumnStats inf_stats = Compute(infs, StatsOptions{}, 7);
  EXPECT_EQ(inf_stats.n_inf, 100);
  EXPECT_EQ(inf_stats.n_nan, 0);
  ExpectNoValidValues(inf_stats);
}

TEST(ColumnStatsEdge, SingleValidValue) {
  ColumnData data;
  data.Push(kNaN);
  data.Push(0.0, true);
  data.Push(-3.5);
  data.Push(kInf);
  for (std::size_t block_rows : {std::size_t{1}, data.size()}) {
    const ColumnStats stats = Compute(data, StatsOptions{}, block_rows);
    EXPECT_EQ(stats.n_valid, 1);
    EXPECT_EQ(stats.missing_ratio, 0.75);
    EXPECT_EQ(stats.mean, -3.5);
    EXPECT_TRUE(std::isnan(stats.variance));  // ddof = 1
    EXPECT_TRUE(std::isnan(stats.std));
    EXPECT_EQ(stats.min, -3.5);
    EXPECT_EQ(stats.max, -3.5);
    EXPECT_EQ(stats.q_low, -3.5);
    EXPECT_EQ(stats.q_high, -3.5);
    EXPECT_EQ(stats.q25, -3.5);
    EXPECT_EQ(stats.q75, -3.5);
    EXPECT_EQ(stats.n_distinct, 1);
    EXPECT_EQ(stats.mode_value, -3.5);
    EXPECT_EQ(stats.mode_fraction, 1.0);
  }
}

TEST(ColumnStatsEdge, TwoValidValuesGiveSampleVariance) {
  ColumnData data;
  data.Push(1.0);
  data.Push(4.0);
  const ColumnStats stats = Compute(data, StatsOptions{}, 1);
  EXPECT_EQ(stats.mean, 2.5);
  EXPECT_EQ(stats.variance, 4.5);  // ((1.5)^2 + (1.5)^2) / (2 - 1)
  EXPECT_EQ(stats.std, std::sqrt(4.5));
  EXPECT_EQ(stats.q25, 1.75);
  EXPECT_EQ(stats.q75, 3.25);
}

TEST(ColumnStatsEdge, EmptyAddChangesNothing) {
  ColumnStatsAccumulator fresh;
  fresh.Add(nullptr, nullptr, nullptr, 0);
  const ColumnStats empty = fresh.Finalize();
  EXPECT_EQ(empty.n_total, 0);
  EXPECT_EQ(empty.n_null, 0);
  EXPECT_TRUE(std::isnan(empty.missing_ratio));  // 0 / 0
  ExpectNoValidValues(empty);

  const ColumnData data = MakeColumn(DataKind::kMixed, 500, 20);
  ColumnStatsAccumulator accumulator = Accumulate(data, StatsOptions{}, 100, 0, data.size());
  const ColumnStats before = accumulator.Finalize();
  accumulator.Add(data.values.data(), data.nulls(), nullptr, 0);
  ExpectSameStats(before, accumulator.Finalize(), 0.0, 0.0);
}

TEST(ColumnStatsEdge, NullMaskOfZerosEqualsNoMask) {
  ColumnData data = MakeColumn(DataKind::kContinuous, 1000, 21);
  const ColumnStats with_mask = Compute(data, StatsOptions{}, 64);
  data.is_null.clear();
  ExpectSameStats(with_mask, Compute(data, StatsOptions{}, 64), 0.0, 0.0);
}

TEST(ColumnStatsEdge, ConstantColumnHasZeroVariance) {
  for (double value : {7.25, 0.1, -1e9 - 0.5, 1e-300}) {
    ColumnData data;
    for (int row = 0; row < 5000; ++row) data.Push(value);
    for (std::size_t block_rows : {std::size_t{1}, std::size_t{7}, std::size_t{4096}}) {
      const ColumnStats stats = Compute(data, StatsOptions{}, block_rows);
      EXPECT_EQ(stats.mean, value);
      EXPECT_LE(stats.variance, VarianceFloor(std::fabs(value)));
      EXPECT_GE(stats.variance, 0.0);
      EXPECT_EQ(stats.min, value);
      EXPECT_EQ(stats.max, value);
      EXPECT_EQ(stats.q_low, value);
      EXPECT_EQ(stats.q_high, value);
      EXPECT_EQ(stats.n_distinct, 1);
      EXPECT_EQ(stats.mode_fraction, 1.0);
    }
  }
}

// ---- Row keys -------------------------------------------------------------------------------

TEST(ColumnStatsRowKey, DistinctRowsGetDistinctKeysAndSeedsMatter) {
  std::set<std::uint64_t> keys;
  std::size_t same_across_seeds = 0;
  for (std::uint64_t row = 0; row < 100000; ++row) {
    keys.insert(RowSampleKey(row, 1));
    same_across_seeds += RowSampleKey(row, 1) == RowSampleKey(row, 2) ? 1 : 0;
  }
  EXPECT_EQ(keys.size(), 100000u);
  EXPECT_EQ(same_across_seeds, 0u);
  EXPECT_EQ(RowSampleKey(12345, 7), RowSampleKey(12345, 7));
}

// ---- Values near the ends of the double range ------------------------------------------------
/// Statistics of `values` (no NULLs) added as one block.
ColumnStats ExtremeStatsOf(const std::vector<double>& values) {
  ColumnData data;
  for (double x : values) data.Push(x);
  return Compute(data, StatsOptions{}, values.size());
}

constexpr double kDoubleMax = std::numeric_limits<double>::max();

// Reference: a two-pass mean and M2 in long double, whose range (to ~1e4932) holds the squares
// of deviations near 3.4e308 and near 1e-320 alike; the statistics are compared in long double.

bool LongDoubleIsWide() {
  return std::numeric_limits<long double>::max_exponent > 2200 &&
         std::numeric_limits<long double>::min_exponent < -2300;
}

struct WideReference {
  long double mean = 0.0L, variance = 0.0L, max_abs = 0.0L;
};

WideReference ComputeWideReference(const std::vector<double>& values) {
  WideReference ref;
  const auto n = static_cast<long double>(values.size());
  long double sum = 0.0L;
  for (double x : values) sum += x;
  long double mean = sum / n;
  long double deviation_sum = 0.0L, deviation_squares = 0.0L;
  for (double x : values) {
    const long double d = static_cast<long double>(x) - mean;
    deviation_sum += d;
    deviation_squares += d * d;
    ref.max_abs = std::max(ref.max_abs, std::fabs(static_cast<long double>(x)));
  }
  ref.mean = mean + deviation_sum / n;
  ref.variance = (deviation_squares - deviation_sum * deviation_sum / n) / (n - 1.0L);
  return ref;
}

::testing::AssertionResult CloseWide(long double expected, long double actual, long double rel_tol,
                                     long double abs_tol) {
  const long double error = std::fabs(actual - expected);
  if (error <= rel_tol * std::fabs(expected) + abs_tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << std::setprecision(17) << "expected " << static_cast<double>(expected) << " got "
         << static_cast<double>(actual) << " (as long double: " << expected << " vs " << actual
         << ")";
}

/// The honest moments: mean finite, in [min, max] and within a few ulps of max |x| of the
/// reference; variance within `rel_tol` of the reference or +inf when that exceeds DBL_MAX;
/// std_scaled * 2^std_exponent within `rel_tol` of the reference std, std itself likewise (inf
/// beyond DBL_MAX; within one subnormal step when subnormal).
void ExpectHonestMoments(const std::vector<double>& values, const ColumnStats& stats,
                         long double rel_tol) {
  const WideReference ref = ComputeWideReference(values);
  const long double kMax = std::numeric_limits<double>::max();
  ASSERT_TRUE(std::isfinite(stats.mean)) << stats.mean;
  EXPECT_GE(stats.mean, stats.min);
  EXPECT_LE(stats.mean, stats.max);
  // A subnormal mean is only defined to the smallest subnormal.
  EXPECT_TRUE(CloseWide(ref.mean, stats.mean, 4.0L * kEps,
                        4.0L * kEps * ref.max_abs + std::numeric_limits<double>::denorm_min()))
      << "mean";
  if (ref.variance > kMax) {
    EXPECT_EQ(stats.variance, kInf);
  } else if (ref.variance >= std::numeric_limits<double>::min()) {
    EXPECT_TRUE(CloseWide(ref.variance, stats.variance, rel_tol, 0.0L)) << "variance";
  } else {  // below the normal range: a subnormal as rounding gives, never 0
    EXPECT_TRUE(
        CloseWide(ref.variance, stats.variance, rel_tol, std::numeric_limits<double>::denorm_min()))
        << "variance";
    EXPECT_GT(stats.variance, 0.0);
  }
  const long double ref_std = std::sqrt(ref.variance);
  ASSERT_GT(stats.std_scaled, 0.0);
  EXPECT_TRUE(CloseWide(ref_std,
                        std::ldexp(static_cast<long double>(stats.std_scaled), stats.std_exponent),
                        rel_tol, 0.0L))
      << "std_scaled * 2^std_exponent";
  if (ref_std > kMax) {
    EXPECT_EQ(stats.std, kInf);
  } else {
    EXPECT_TRUE(CloseWide(ref_std, stats.std, rel_tol, std::numeric_limits<double>::denorm_min()))
        << "std";
  }
}

/// `values` through ColumnStatsAccumulator in blocks of every size, and as two halves merged
/// (both orders): each must be honest.
void ExpectHonestInEveryFeeding(const std::vector<double>& values, long double rel_tol) {
  ColumnData data;
  for (double x : values) data.Push(x);
  const StatsOptions options;
  for (std::size_t block_rows : {std::size_t{1}, std::size_t{7}, std::size_t{256}, values.size()}) {
    SCOPED_TRACE("block_rows " + std::to_string(block_rows));
    ExpectHonestMoments(values, Compute(data, options, block_rows), rel_tol);
  }
  for (std::size_t split : {std::size_t{1}, values.size() / 3, values.size() / 2}) {
    SCOPED_TRACE("merged at " + std::to_string(split));
    ColumnStatsAccumulator first = Accumulate(data, options, 64, 0, split);
    ColumnStatsAccumulator second = Accumulate(data, options, 64, split, values.size());
    ColumnStatsAccumulator forward = first;
    forward.Merge(second);
    ExpectHonestMoments(values, forward.Finalize(), rel_tol);
    second.Merge(first);
    ExpectHonestMoments(values, second.Finalize(), rel_tol);
  }
}

TEST(ColumnStatsExtreme, AlternatingNearDoubleMax) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  for (std::size_t n : {std::size_t{1000}, std::size_t{1001}}) {
    SCOPED_TRACE("n " + std::to_string(n));
    std::vector<double> values(n);
    for (std::size_t i = 0; i < n; ++i) values[i] = i % 2 == 0 ? 1.7e308 : -1.7e308;
    ASSERT_GT(ComputeWideReference(values).variance, std::numeric_limits<double>::max());
    ExpectHonestInEveryFeeding(values, 1e-14L);
    // Two distinct values: exact quantiles, no NaN from interpolating across the whole range.
    const ColumnStats stats = ExtremeStatsOf(values);
    EXPECT_EQ(stats.q_low, -1.7e308);
    EXPECT_EQ(stats.q_high, 1.7e308);
    EXPECT_EQ(stats.min, -1.7e308);
    EXPECT_EQ(stats.max, 1.7e308);
    EXPECT_EQ(stats.n_distinct, 2);
  }
}

// 1e308 + k 1e292: deviations of up to 2e295 whose squares overflow; the variance (~3e589)
// itself exceeds DBL_MAX, the std (~6e294) does not.
TEST(ColumnStatsExtreme, StepsAboveOneE308) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  std::vector<double> values;
  for (int k = 0; k <= 2000; ++k) values.push_back(1e308 + k * 1e292);
  ASSERT_GT(ComputeWideReference(values).variance, std::numeric_limits<double>::max());
  ExpectHonestInEveryFeeding(values, 1e-13L);
}

// 1e160 + k 1e151: a representable variance (~7.5e307) whose sum of squared deviations
// (~2e311) does not fit a double.
TEST(ColumnStatsExtreme, RepresentableVarianceOfHugeValues) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  std::vector<double> values;
  for (int k = 0; k < 3000; ++k) values.push_back(1e160 + k * 1e151);
  const WideReference ref = ComputeWideReference(values);
  ASSERT_LT(ref.variance, std::numeric_limits<double>::max());
  ASSERT_GT(ref.variance * 2999.0L, std::numeric_limits<double>::max());
  ExpectHonestInEveryFeeding(values, 1e-13L);
}

TEST(ColumnStatsExtreme, TinyAndHugeValuesMixed) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  std::mt19937_64 rng(91);
  std::uniform_real_distribution<double> unit(1.0, 2.0);
  std::vector<double> values;
  for (int i = 0; i < 3000; ++i) {
    const double sign = i % 3 == 2 ? -1.0 : 1.0;
    values.push_back(sign * unit(rng) * (i % 2 == 0 ? 1e-300 : 1e300));
  }
  ExpectHonestInEveryFeeding(values, 1e-13L);
}

// +-a alternating, n = 100: variance a^2 n / (n - 1), just below DBL_MAX for a = 1.33e154 and
// just above for a = 1.35e154 (inf, not 0 or NaN).
TEST(ColumnStatsExtreme, VarianceAtTheEdgeOfDoubleMax) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  for (double a : {1.33e154, 1.35e154}) {
    std::vector<double> values(100);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = i % 2 == 0 ? a : -a;
    const ColumnStats stats = ExtremeStatsOf(values);
    const long double expected = static_cast<long double>(a) * a * 100.0L / 99.0L;
    if (a < 1.34e154) {
      ASSERT_LT(expected, std::numeric_limits<double>::max());
      EXPECT_TRUE(CloseWide(expected, stats.variance, 1e-15L, 0.0L));
    } else {
      ASSERT_GT(expected, std::numeric_limits<double>::max());
      EXPECT_EQ(stats.variance, kInf);
    }
    ExpectHonestInEveryFeeding(values, 1e-14L);
  }
}

// Values near 1e-300 and subnormal ones: the variance underflows (0 or a subnormal, as rounding
// gives), the std does not lose its digits to squares below DBL_MIN.
TEST(ColumnStatsExtreme, TinyValuesKeepTheirStd) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  std::mt19937_64 rng(92);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> near_dbl_min, subnormal, offset_tiny;
  for (int i = 0; i < 2000; ++i) {
    near_dbl_min.push_back(1e-300 * normal(rng));
    subnormal.push_back(std::ldexp(static_cast<double>(i % 1000), -1074));
    offset_tiny.push_back(1e-290 + 1e-300 * normal(rng));
  }
  {
    SCOPED_TRACE("near DBL_MIN");
    ExpectHonestInEveryFeeding(near_dbl_min, 1e-13L);
  }
  {
    SCOPED_TRACE("subnormal");
    ExpectHonestInEveryFeeding(subnormal, 1e-13L);
  }
  {
    SCOPED_TRACE("1e-290 + 1e-300 N(0, 1)");
    ExpectHonestInEveryFeeding(offset_tiny, 1e-12L);
  }
  // ~1e-600, below the subnormals: the smallest subnormal, not 0 (0 means constant).
  EXPECT_EQ(ExtremeStatsOf(near_dbl_min).variance, std::numeric_limits<double>::denorm_min());
}

// Blocks each holding one value, their means far apart (the difference overflows) or closer than
// the squares of doubles can resolve (3e-310 and 5e-310): the merge itself must scale.
TEST(ColumnStatsExtreme, ConstantBlocksWithExtremeMeans) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  for (const auto& [low, high] : {std::pair{-1.7e308, 1.7e308}, std::pair{-kDoubleMax, kDoubleMax},
                                  std::pair{3e-310, 5e-310}, std::pair{1e-300, 1e300}}) {
    SCOPED_TRACE(::testing::Message() << low << " then " << high);
    std::vector<double> values(1024, low);
    std::fill(values.begin() + 700, values.end(), high);
    ExpectHonestInEveryFeeding(values, 1e-14L);
  }
}

// Quantiles interpolated across a difference that overflows: finite, monotone, within the two
// values, equal to the long double interpolation to rounding, exact at both ends.
TEST(ColumnStatsExtreme, QuantilesAcrossTheWholeDoubleRange) {
  if (!LongDoubleIsWide()) GTEST_SKIP() << "the reference needs an 80-bit long double";
  for (const auto& [a, b] : {std::pair{-1.7e308, 1.7e308}, std::pair{-kDoubleMax, kDoubleMax},
                             std::pair{-kDoubleMax, 1e308}}) {
    const std::vector<double> sorted = {a, b};
    const std::vector<std::pair<double, std::int64_t>> counts = {{a, 1}, {b, 1}};
    double previous = a;
    for (int step = 0; step <= 64; ++step) {
      const double q = step / 64.0;
      SCOPED_TRACE(::testing::Message() << a << ", " << b << " q " << q);
      const double value = QuantileSorted(sorted, q);
      const long double expected =
          static_cast<long double>(a) + (static_cast<long double>(b) - a) * q;
      ASSERT_TRUE(std::isfinite(value));
      EXPECT_GE(value, previous);
      EXPECT_LE(value, b);
      EXPECT_TRUE(CloseWide(expected, value, 2.0L * kEps, 2.0L * kEps * b));
      EXPECT_TRUE(Same(value, QuantileCounts(counts, 2, q)));
      previous = value;
    }
    EXPECT_EQ(QuantileSorted(sorted, 0.0), a);
    EXPECT_EQ(QuantileSorted(sorted, 1.0), b);
  }
  // A column spread over the whole range (> 256 distinct values: quantiles from every value).
  std::vector<double> values;
  for (int i = 0; i < 5000; ++i) values.push_back((2.0 * i / 4999.0 - 1.0) * 1.7e308);
  const ColumnStats stats = ExtremeStatsOf(values);
  ASSERT_FALSE(stats.distinct_exact);
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [q, actual] : {std::pair{0.025, stats.q_low}, std::pair{0.975, stats.q_high},
                                  std::pair{0.25, stats.q25}, std::pair{0.75, stats.q75}}) {
    const double position = q * 4999.0;
    const auto lo = static_cast<std::size_t>(position);
    const long double expected =
        sorted[lo] + (static_cast<long double>(sorted[lo + 1]) - sorted[lo]) * (position - lo);
    EXPECT_TRUE(CloseWide(expected, actual, 4.0L * kEps, 4.0L * kEps * 1.7e308)) << "q " << q;
  }
  ExpectHonestMoments(values, stats, 1e-13L);
}

// ---- QuantileSorted and QuantileCounts ------------------------------------------------------

TEST(QuantileSorted, KnownNumpyValues) {
  // numpy.quantile(..., method="linear")
  const std::vector<double> four = {1.0, 2.0, 3.0, 4.0};
  EXPECT_EQ(QuantileSorted(four, 0.0), 1.0);
  EXPECT_EQ(QuantileSorted(four, 0.25), 1.75);
  EXPECT_EQ(QuantileSorted(four, 0.5), 2.5);
  EXPECT_EQ(QuantileSorted(four, 0.75), 3.25);
  EXPECT_EQ(QuantileSorted(four, 1.0), 4.0);
  const std::vector<double> five = {-8.0, 0.0, 0.0, 2.0, 16.0};
  EXPECT_EQ(QuantileSorted(five, 0.125), -4.0);   // position 0.5
  EXPECT_EQ(QuantileSorted(five, 0.5), 0.0);      // position 2
  EXPECT_EQ(QuantileSorted(five, 0.6875), 1.5);   // position 2.75
  EXPECT_EQ(QuantileSorted(five, 0.9375), 12.5);  // position 3.75
  EXPECT_EQ(QuantileSorted({42.0}, 0.3), 42.0);
  EXPECT_TRUE(std::isnan(QuantileSorted({}, 0.5)));
}

TEST(QuantileSorted, MatchesReferenceOnRandomData) {
  std::mt19937_64 rng(22);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{10},
                        std::size_t{101}, std::size_t{4096}}) {
    std::vector<double> sorted(n);
    for (double& x : sorted) x = unit(rng) < 0.3 ? std::round(normal(rng)) : normal(rng) * 1e3;
    std::sort(sorted.begin(), sorted.end());
    std::vector<double> qs = {0.0, 1.0, 0.025, 0.975, 0.25, 0.5, 0.75};
    for (int extra = 0; extra < 50; ++extra) qs.push_back(unit(rng));
    for (double q : qs) {
      SCOPED_TRACE("n " + std::to_string(n) + " q " + std::to_string(q));
      EXPECT_TRUE(Same(RefQuantile(sorted, q), QuantileSorted(sorted, q)));
    }
    EXPECT_EQ(QuantileSorted(sorted, 0.0), sorted.front());
    EXPECT_EQ(QuantileSorted(sorted, 1.0), sorted.back());
  }
}

TEST(QuantileSorted, MonotoneInQ) {
  const std::vector<double> sorted = {-1e300, -3.0, -3.0, 1e-300, 0.5, 7.0, 7.0, 7.0, 1e300};
  double previous = -kInf;
  for (int step = 0; step <= 1000; ++step) {
    const double value = QuantileSorted(sorted, step / 1000.0);
    EXPECT_GE(value, previous) << "q " << step / 1000.0;
    previous = value;
  }
}

TEST(QuantileCounts, MatchesReferenceOnExpandedCounts) {
  std::mt19937_64 rng(23);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t n_values : {std::size_t{1}, std::size_t{2}, std::size_t{5}, std::size_t{256}}) {
    std::vector<std::pair<double, std::int64_t>> counts;
    std::vector<double> expanded;
    std::int64_t total = 0;
    for (std::size_t v = 0; v < n_values; ++v) {
      const double value = static_cast<double>(v) * 1.5 - 3.0 + (unit(rng) < 0.5 ? 0.25 : 0.0);
      const std::int64_t count = 1 + static_cast<std::int64_t>(rng() % (v % 7 == 0 ? 400 : 5));
      counts.emplace_back(value, count);
      expanded.insert(expanded.end(), static_cast<std::size_t>(count), value);
      total += count;
    }
    std::vector<double> qs = {0.0, 1.0, 0.025, 0.975, 0.25, 0.5, 0.75};
    for (int extra = 0; extra < 50; ++extra) qs.push_back(unit(rng));
    for (double q : qs) {
      SCOPED_TRACE("n_values " + std::to_string(n_values) + " q " + std::to_string(q));
      EXPECT_TRUE(Same(RefQuantile(expanded, q), QuantileCounts(counts, total, q)));
    }
    EXPECT_EQ(QuantileCounts(counts, total, 0.0), counts.front().first);
    EXPECT_EQ(QuantileCounts(counts, total, 1.0), counts.back().first);
  }
}

TEST(QuantileCounts, KnownValuesAndEmptyInput) {
  // {1, 1, 1, 5}: position 0.75 * 3 = 2.25 lies between the last 1 and the 5.
  const std::vector<std::pair<double, std::int64_t>> counts = {{1.0, 3}, {5.0, 1}};
  EXPECT_EQ(QuantileCounts(counts, 4, 0.5), 1.0);
  EXPECT_EQ(QuantileCounts(counts, 4, 0.75), 2.0);
  EXPECT_EQ(QuantileCounts(counts, 4, 1.0), 5.0);
  EXPECT_TRUE(std::isnan(QuantileCounts({}, 0, 0.5)));
  EXPECT_TRUE(std::isnan(QuantileCounts(counts, 0, 0.5)));
}

}  // namespace
}  // namespace descpipe
