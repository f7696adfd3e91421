// Tests of the Pass 1 removal rules (DecideColumn, ReasonName): each rule, the order in which
// they are tried, the range modes and the min-max fallback, on hand-made statistics and on
// statistics computed by ColumnStatsAccumulator from small random columns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/numbers.hpp"
#include "descpipe/error.hpp"
#include "descpipe/stats.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

/// A column every rule keeps under the default options: 1000 valid values, variance 1, trimmed
/// range 4 (normalized variance 1/16), min-max range 8 (1/64), IQR 1 (1).
ColumnStats KeptColumn() {
  ColumnStats s;
  s.n_total = 1000;
  s.n_valid = 1000;
  s.missing_ratio = 0.0;
  s.mean = 0.0;
  s.variance = 1.0;
  s.std = 1.0;
  s.min = -4.0;
  s.max = 4.0;
  s.q_low = -2.0;
  s.q_high = 2.0;
  s.q25 = -0.5;
  s.q75 = 0.5;
  s.quantiles_exact = false;
  s.n_distinct = static_cast<std::int64_t>(kMaxExactDistinct) + 1;
  s.distinct_exact = false;
  s.mode_value = 0.0;
  s.mode_fraction = 0.01;
  s.mode_exact = false;
  return s;
}

/// A column of 1000 valid values holding only `value`.
ColumnStats ConstantColumn(double value) {
  ColumnStats s = KeptColumn();
  s.variance = 0.0;
  s.std = 0.0;
  s.mean = s.min = s.max = s.q_low = s.q_high = s.q25 = s.q75 = s.mode_value = value;
  s.quantiles_exact = true;
  s.n_distinct = 1;
  s.distinct_exact = true;
  s.mode_fraction = 1.0;
  s.mode_exact = true;
  return s;
}

/// 0/1 column with a fraction p of ones (p < 0.5), n = 1000 valid values.
ColumnStats BinaryColumn(double p) {
  ColumnStats s = KeptColumn();
  s.mean = p;
  s.variance = p * (1.0 - p) * 1000.0 / 999.0;
  s.std = std::sqrt(s.variance);
  s.min = 0.0;
  s.max = 1.0;
  s.q_low = 0.0;
  s.q_high = 1.0;
  s.q25 = 0.0;
  s.q75 = p >= 0.25 ? 1.0 : 0.0;
  s.quantiles_exact = true;
  s.n_distinct = 2;
  s.distinct_exact = true;
  s.mode_value = 0.0;
  s.mode_fraction = 1.0 - p;
  s.mode_exact = true;
  return s;
}

RemovalReason Decide(const ColumnStats& stats, const FilterOptions& options = {}) {
  return DecideColumn(stats, options).reason;
}

// ---- Names ----------------------------------------------------------------------------------

TEST(FiltersReasonName, NamesUsedInOutputs) {
  EXPECT_STREQ(ReasonName(RemovalReason::kKept), "");
  EXPECT_STREQ(ReasonName(RemovalReason::kMissing), "missing");
  EXPECT_STREQ(ReasonName(RemovalReason::kTooFewValid), "too_few_valid");
  EXPECT_STREQ(ReasonName(RemovalReason::kConstant), "constant");
  EXPECT_STREQ(ReasonName(RemovalReason::kQuasiConstant), "quasi_constant");
  EXPECT_STREQ(ReasonName(RemovalReason::kLowVariance), "low_variance");
  EXPECT_STREQ(ReasonName(RemovalReason::kBinary), "binary");
}

// ---- Each rule on its own -------------------------------------------------------------------

TEST(Filters, OrdinaryColumnIsKept) {
  const FilterDecision decision = DecideColumn(KeptColumn(), FilterOptions{});
  EXPECT_TRUE(decision.kept());
  EXPECT_EQ(decision.reason, RemovalReason::kKept);
  EXPECT_EQ(decision.range, 4.0);
  EXPECT_EQ(decision.normalized_variance, 1.0 / 16.0);
}

TEST(Filters, Missing) {
  ColumnStats s = KeptColumn();
  s.n_valid = 400;
  s.n_null = 350;
  s.n_nan = 250;
  s.missing_ratio = 0.6;
  EXPECT_EQ(Decide(s), RemovalReason::kMissing);
  const FilterDecision decision = DecideColumn(s, FilterOptions{});
  EXPECT_FALSE(decision.kept());
  // The threshold is a maximum: a ratio equal to it is allowed.
  s.missing_ratio = 0.5;
  s.n_valid = 500;
  EXPECT_EQ(Decide(s), RemovalReason::kKept);
  FilterOptions strict;
  strict.max_missing_ratio = 0.0;
  s.missing_ratio = 0.001;
  s.n_valid = 999;
  EXPECT_EQ(Decide(s, strict), RemovalReason::kMissing);
}

TEST(Filters, ColumnOfAnEmptyTableIsMissing) {
  ColumnStats s;  // n_total = 0; missing_ratio is 0/0
  s.missing_ratio = kNaN;
  s.mean = s.variance = s.min = s.max = kNaN;
  FilterOptions lenient;
  lenient.max_missing_ratio = 1.0;
  lenient.min_effective_n = 0;
  EXPECT_EQ(Decide(s, lenient), RemovalReason::kMissing);
}

TEST(Filters, TooFewValid) {
  ColumnStats s = KeptColumn();
  s.n_total = 99;
  s.n_valid = 99;
  EXPECT_EQ(Decide(s), RemovalReason::kTooFewValid);
  // min_effective_n is a minimum: exactly that many valid values are enough.
  s.n_total = 100;
  s.n_valid = 100;
  EXPECT_EQ(Decide(s), RemovalReason::kKept);
  FilterOptions options;
  options.min_effective_n = 101;
  EXPECT_EQ(Decide(s, options), RemovalReason::kTooFewValid);
}

TEST(Filters, Constant) {
  EXPECT_EQ(Decide(ConstantColumn(3.0)), RemovalReason::kConstant);
  const FilterDecision decision = DecideColumn(ConstantColumn(3.0), FilterOptions{});
  EXPECT_EQ(decision.range, 0.0);
  EXPECT_TRUE(std::isnan(decision.normalized_variance));
  // No valid value at all, where the missing and too_few_valid rules are off.
  ColumnStats empty = ConstantColumn(kNaN);
  empty.n_valid = 0;
  empty.n_distinct = 0;
  empty.missing_ratio = 1.0;
  empty.variance = kNaN;
  empty.mode_fraction = kNaN;
  FilterOptions lenient;
  lenient.max_missing_ratio = 1.0;
  lenient.min_effective_n = 0;
  EXPECT_EQ(Decide(empty, lenient), RemovalReason::kConstant);
  // An inexact distinct count (> 256 values) is never constant, whatever the variance.
  ColumnStats many = KeptColumn();
  many.variance = 0.0;
  EXPECT_NE(Decide(many), RemovalReason::kConstant);
}

TEST(Filters, QuasiConstant) {
  ColumnStats s = KeptColumn();
  s.mode_fraction = 0.96;
  FilterOptions options;
  options.max_mode_fraction = 0.95;
  EXPECT_EQ(Decide(s, options), RemovalReason::kQuasiConstant);
  s.mode_fraction = 0.95;  // "mode covers 0.95 of valid values >= max_mode_fraction 0.95"
  EXPECT_EQ(Decide(s, options), RemovalReason::kQuasiConstant);
  s.mode_fraction = 0.94;
  EXPECT_EQ(Decide(s, options), RemovalReason::kKept);
  // NaN mode fraction (no valid values) does not trigger the rule.
  s.mode_fraction = kNaN;
  EXPECT_EQ(Decide(s, options), RemovalReason::kKept);
}

TEST(Filters, MaxModeFractionOneDisablesQuasiConstant) {
  FilterOptions options;
  ASSERT_EQ(options.max_mode_fraction, 1.0);  // the default: rule off
  ColumnStats s = KeptColumn();
  s.mode_fraction = 0.9999;
  s.mode_exact = true;
  EXPECT_EQ(Decide(s, options), RemovalReason::kKept);
  // A sampled mode fraction can reach 1.0 when the sample saw only the mode, although the column
  // has more than 256 distinct values: with the rule off the column must still be kept.
  s.mode_fraction = 1.0;
  s.mode_exact = false;
  s.distinct_exact = false;
  EXPECT_EQ(Decide(s, options), RemovalReason::kKept);
  // The same statistics with the rule on.
  options.max_mode_fraction = 0.99;
  EXPECT_EQ(Decide(s, options), RemovalReason::kQuasiConstant);
}

TEST(Filters, LowVariance) {
  ColumnStats s = KeptColumn();
  s.variance = 0.0016;  // / trimmed range^2 = 16: 1e-4
  const FilterDecision low = DecideColumn(s, FilterOptions{});
  EXPECT_EQ(low.reason, RemovalReason::kLowVariance);
  EXPECT_DOUBLE_EQ(low.normalized_variance, 1e-4);
  // The threshold itself is kept ("< variance_threshold" removes).
  FilterOptions options;
  options.variance_threshold = 1e-4;
  s.variance = 16.0 * 1e-4;
  ASSERT_EQ(DecideColumn(s, options).normalized_variance, 1e-4);
  EXPECT_EQ(Decide(s, options), RemovalReason::kKept);
  options.variance_threshold = std::nextafter(1e-4, 1.0);
  EXPECT_EQ(Decide(s, options), RemovalReason::kLowVariance);
  // Undefined variance (one valid value) is not "enough" variance.
  ColumnStats single = KeptColumn();
  single.n_valid = 1;
  single.variance = kNaN;
  FilterOptions lenient;
  lenient.min_effective_n = 1;
  lenient.max_missing_ratio = 1.0;
  EXPECT_EQ(Decide(single, lenient), RemovalReason::kLowVariance);
  // variance_threshold 0 keeps any non-constant column.
  s.variance = 1e-30;
  options.variance_threshold = 0.0;
  EXPECT_EQ(Decide(s, options), RemovalReason::kKept);
}

TEST(Filters, BinaryOnlyWhenAsked) {
  const ColumnStats binary = BinaryColumn(0.3);
  EXPECT_EQ(Decide(binary), RemovalReason::kKept);  // remove_binary is off by default
  FilterOptions options;
  options.remove_binary = true;
  EXPECT_EQ(Decide(binary, options), RemovalReason::kBinary);
  // Three distinct values are not binary; neither is an inexact count.
  ColumnStats three = binary;
  three.n_distinct = 3;
  EXPECT_EQ(Decide(three, options), RemovalReason::kKept);
  EXPECT_EQ(Decide(KeptColumn(), options), RemovalReason::kKept);
}

// ---- Range modes ----------------------------------------------------------------------------

TEST(Filters, RangeModes) {
  const ColumnStats s = KeptColumn();
  FilterOptions options;
  options.range_mode = RangeMode::kTrimmed;
  FilterDecision decision = DecideColumn(s, options);
  EXPECT_EQ(decision.range, 4.0);
  EXPECT_EQ(decision.normalized_variance, 1.0 / 16.0);
  options.range_mode = RangeMode::kMinMax;
  decision = DecideColumn(s, options);
  EXPECT_EQ(decision.range, 8.0);
  EXPECT_EQ(decision.normalized_variance, 1.0 / 64.0);
  options.range_mode = RangeMode::kIqr;
  decision = DecideColumn(s, options);
  EXPECT_EQ(decision.range, 1.0);
  EXPECT_EQ(decision.normalized_variance, 1.0);
}

TEST(Filters, RangeModeDecidesLowVariance) {
  // Normalized variance 1/16 trimmed, 1/64 min-max, 1 IQR: a threshold of 0.03 separates them.
  FilterOptions options;
  options.variance_threshold = 0.03;
  options.range_mode = RangeMode::kTrimmed;
  EXPECT_EQ(Decide(KeptColumn(), options), RemovalReason::kKept);
  options.range_mode = RangeMode::kMinMax;
  EXPECT_EQ(Decide(KeptColumn(), options), RemovalReason::kLowVariance);
  options.range_mode = RangeMode::kIqr;
  options.variance_threshold = 0.9;
  EXPECT_EQ(Decide(KeptColumn(), options), RemovalReason::kKept);
  options.range_mode = RangeMode::kTrimmed;
  EXPECT_EQ(Decide(KeptColumn(), options), RemovalReason::kLowVariance);
}

TEST(Filters, ZeroRangeFallsBackToMinMax) {
  // Mostly zeros: trimmed range and IQR are 0, the column is not constant.
  ColumnStats s = KeptColumn();
  s.q_low = s.q_high = s.q25 = s.q75 = 0.0;
  s.min = -1.0;
  s.max = 3.0;
  s.variance = 0.08;
  for (RangeMode mode : {RangeMode::kTrimmed, RangeMode::kIqr, RangeMode::kMinMax}) {
    FilterOptions options;
    options.range_mode = mode;
    const FilterDecision decision = DecideColumn(s, options);
    EXPECT_EQ(decision.range, 4.0);
    EXPECT_EQ(decision.normalized_variance, 0.08 / 16.0);
    EXPECT_EQ(decision.reason, RemovalReason::kKept);  // 0.005 >= 0.002
  }
  // Undefined quantiles fall back too.
  s.q_low = s.q_high = s.q25 = s.q75 = kNaN;
  FilterOptions options;
  EXPECT_EQ(DecideColumn(s, options).range, 4.0);
  options.range_mode = RangeMode::kIqr;
  EXPECT_EQ(DecideColumn(s, options).range, 4.0);
}

// ---- Precedence: the first rule that applies wins -------------------------------------------

TEST(Filters, RulesAreTriedInOrder) {
  FilterOptions options;
  options.max_mode_fraction = 0.9;
  options.remove_binary = true;

  // missing + too_few_valid + constant -> missing
  ColumnStats s = ConstantColumn(1.0);
  s.n_valid = 50;
  s.missing_ratio = 0.95;
  EXPECT_EQ(Decide(s, options), RemovalReason::kMissing);
  // too_few_valid + constant -> too_few_valid
  s.missing_ratio = 0.0;
  s.n_total = 50;
  EXPECT_EQ(Decide(s, options), RemovalReason::kTooFewValid);
  // constant + quasi_constant + low_variance -> constant
  EXPECT_EQ(Decide(ConstantColumn(1.0), options), RemovalReason::kConstant);
  // quasi_constant + low_variance + binary -> quasi_constant
  ColumnStats binary = BinaryColumn(0.001);  // variance ~ 1e-3 < 0.002 with min-max range 1
  ASSERT_LT(DecideColumn(binary, options).normalized_variance, options.variance_threshold);
  EXPECT_EQ(Decide(binary, options), RemovalReason::kQuasiConstant);
  // low_variance + binary -> low_variance
  options.max_mode_fraction = 1.0;
  EXPECT_EQ(Decide(binary, options), RemovalReason::kLowVariance);
  // binary alone
  EXPECT_EQ(Decide(BinaryColumn(0.3), options), RemovalReason::kBinary);
  // missing wins over a column that would otherwise be kept, too_few_valid likewise
  ColumnStats kept = KeptColumn();
  kept.missing_ratio = 0.51;
  EXPECT_EQ(Decide(kept, options), RemovalReason::kMissing);
  kept.missing_ratio = 0.0;
  kept.n_valid = 10;
  EXPECT_EQ(Decide(kept, options), RemovalReason::kTooFewValid);
}

// ---- On statistics computed from data -------------------------------------------------------

ColumnStats StatsOf(const std::vector<double>& values, const StatsOptions& options = {}) {
  std::vector<std::uint64_t> keys(values.size());
  for (std::size_t row = 0; row < values.size(); ++row) keys[row] = RowSampleKey(row, 42);
  ColumnStatsAccumulator accumulator(options);
  accumulator.Add(values.data(), nullptr, keys.data(), values.size());
  return accumulator.Finalize();
}

TEST(Filters, DecisionsOnComputedStatistics) {
  std::mt19937_64 rng(31);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  constexpr int kRows = 5000;
  std::vector<double> continuous, mostly_nan, constant, binary, rare_ones, outliers;
  for (int row = 0; row < kRows; ++row) {
    continuous.push_back(normal(rng));
    mostly_nan.push_back(row % 5 < 3 ? std::nan("") : normal(rng));
    constant.push_back(2.5);
    binary.push_back(unit(rng) < 0.3 ? 1.0 : 0.0);
    rare_ones.push_back(row % 50 == 0 ? 1.0 : 0.0);  // 2% ones: trimmed range 0
    outliers.push_back(row == 0 ? -1e4 : row == 1 ? 1e4 : normal(rng));
  }
  FilterOptions options;
  EXPECT_EQ(Decide(StatsOf(continuous), options), RemovalReason::kKept);
  EXPECT_EQ(Decide(StatsOf(mostly_nan), options), RemovalReason::kMissing);
  EXPECT_EQ(Decide(StatsOf(constant), options), RemovalReason::kConstant);
  EXPECT_EQ(Decide(StatsOf(binary), options), RemovalReason::kKept);
  // Trimmed range of the rare ones is 0: normalised by max - min = 1 instead.
  const FilterDecision rare = DecideColumn(StatsOf(rare_ones), options);
  EXPECT_EQ(rare.reason, RemovalReason::kKept);
  EXPECT_EQ(rare.range, 1.0);
  // Two outliers dominate the min-max range but not the trimmed one.
  EXPECT_EQ(Decide(StatsOf(outliers), options), RemovalReason::kKept);
  options.range_mode = RangeMode::kMinMax;
  EXPECT_EQ(Decide(StatsOf(outliers), options), RemovalReason::kLowVariance);

  options.range_mode = RangeMode::kTrimmed;
  options.remove_binary = true;
  EXPECT_EQ(Decide(StatsOf(binary), options), RemovalReason::kBinary);
  EXPECT_EQ(Decide(StatsOf(rare_ones), options), RemovalReason::kBinary);
  options.max_mode_fraction = 0.97;
  EXPECT_EQ(Decide(StatsOf(rare_ones), options), RemovalReason::kQuasiConstant);
  options.min_effective_n = kRows + 1;
  EXPECT_EQ(Decide(StatsOf(rare_ones), options), RemovalReason::kTooFewValid);
}

// ---- Values near the ends of the double range -----------------------------------------------

/// variance / (high - low)^2 from the column's values (two-pass, long double, whose range holds
/// (3.4e308)^2 and 1e-640) and the statistics' own range ends.
long double ReferenceNormalizedVariance(const std::vector<double>& values, double high,
                                        double low) {
  const auto n = static_cast<long double>(values.size());
  long double sum = 0.0L;
  for (double x : values) sum += x;
  const long double mean = sum / n;
  long double squares = 0.0L;
  for (double x : values) squares += (x - mean) * (x - mean);
  const long double range = static_cast<long double>(high) - low;
  return squares / (n - 1.0L) / (range * range);
}

// +-1.7e308 (range and variance beyond DBL_MAX), 1e308 + k 1e292 (variance beyond DBL_MAX),
// values spread over the whole range, values near 1e-300 and subnormal ones (variance below
// the subnormals): never low_variance, normalized variance as the long double reference, range
// inf exactly where high - low exceeds DBL_MAX.
TEST(Filters, ExtremeValuesAreJudgedByTheirRealSpread) {
  if (std::numeric_limits<long double>::max_exponent < 2200) {
    GTEST_SKIP() << "the reference needs an 80-bit long double";
  }
  std::mt19937_64 rng(93);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<std::pair<std::string, std::vector<double>>> columns(5);
  columns[0].first = "alternating +-1.7e308";
  columns[1].first = "1e308 + k 1e292";
  columns[2].first = "spread over the double range";
  columns[3].first = "1e-300 N(0, 1)";
  columns[4].first = "subnormal";
  for (int i = 0; i < 3000; ++i) {
    columns[0].second.push_back(i % 2 == 0 ? 1.7e308 : -1.7e308);
    columns[1].second.push_back(1e308 + i * 1e292);
    columns[2].second.push_back((2.0 * i / 2999.0 - 1.0) * 1.7e308);
    columns[3].second.push_back(1e-300 * normal(rng));
    columns[4].second.push_back(std::ldexp(static_cast<double>(i % 1000), -1074));
  }
  for (const auto& [name, values] : columns) {
    const ColumnStats stats = StatsOf(values);
    for (RangeMode mode : {RangeMode::kTrimmed, RangeMode::kMinMax, RangeMode::kIqr}) {
      SCOPED_TRACE(name + " range mode " + std::to_string(static_cast<int>(mode)));
      FilterOptions options;
      options.range_mode = mode;
      const FilterDecision decision = DecideColumn(stats, options);
      EXPECT_EQ(decision.reason, RemovalReason::kKept);
      const double high = mode == RangeMode::kTrimmed  ? stats.q_high
                          : mode == RangeMode::kMinMax ? stats.max
                                                       : stats.q75;
      const double low = mode == RangeMode::kTrimmed  ? stats.q_low
                         : mode == RangeMode::kMinMax ? stats.min
                                                      : stats.q25;
      const long double range = static_cast<long double>(high) - low;
      ASSERT_GT(range, 0.0L);
      if (range > std::numeric_limits<double>::max()) {
        EXPECT_EQ(decision.range, kInf);
      } else {
        EXPECT_EQ(decision.range, high - low);
      }
      const long double expected = ReferenceNormalizedVariance(values, high, low);
      EXPECT_GT(expected, 0.01L);  // well above the default threshold 0.002
      EXPECT_LE(std::fabs(decision.normalized_variance - expected), 1e-12L * expected)
          << decision.normalized_variance << " vs " << static_cast<double>(expected);
    }
  }
}

// Hand-made: a variance beyond DBL_MAX with its std as std_scaled * 2^std_exponent, and a range
// beyond DBL_MAX with a representable variance.
TEST(Filters, NormalizedVarianceBeyondTheDoubleRange) {
  ColumnStats s = KeptColumn();
  s.min = s.q_low = s.q25 = -1.5e308;
  s.max = s.q_high = s.q75 = 1.5e308;
  s.variance = kInf;
  s.std = 1.2e308;
  s.std_scaled = 1.2e308 / 0x1p1000;
  s.std_exponent = 1000;
  FilterDecision decision = DecideColumn(s, FilterOptions{});
  EXPECT_EQ(decision.range, kInf);
  EXPECT_NEAR(decision.normalized_variance, 0.16, 1e-15);  // (1.2 / 3)^2
  EXPECT_EQ(decision.reason, RemovalReason::kKept);
  // The std itself beyond DBL_MAX (only std_scaled holds it): 2.4e308 / 3e308 -> 0.64.
  s.std = kInf;
  s.std_scaled = 1.2e308 / 0x1p999;  // 2.4e308 / 2^1000
  EXPECT_NEAR(DecideColumn(s, FilterOptions{}).normalized_variance, 0.64, 1e-15);
  // A representable variance over an overflowing range: 1e300 / 9e616 ~ 1.1e-317, low.
  s.variance = 1e300;
  s.std = 1e150;
  s.std_scaled = 1e150;
  s.std_exponent = 0;
  decision = DecideColumn(s, FilterOptions{});
  EXPECT_NEAR(decision.normalized_variance / (1.0 / 9.0 * 1e-316), 1.0, 1e-5);  // subnormal
  EXPECT_EQ(decision.reason, RemovalReason::kLowVariance);
}

// A NaN normalized variance on a column with two or more valid values can only come from
// inconsistent statistics: an error, never a silent removal (or a silent keep).
TEST(Filters, NaNNormalizedVarianceIsAnError) {
  ColumnStats s = KeptColumn();
  s.variance = kNaN;
  s.std = kNaN;
  s.std_scaled = kNaN;
  const std::string message =
      testing::MessageOf<NumericalError>([&] { DecideColumn(s, FilterOptions{}); });
  EXPECT_NE(message.find("normalized variance is NaN"), std::string::npos) << message;
  // Rules decided before the variance one still apply.
  s.missing_ratio = 0.9;
  EXPECT_EQ(Decide(s), RemovalReason::kMissing);
}

// A long column that is all zeros but for 300 distinct values in rows outside the quantile
// sample: the sampled mode fraction is 1.0, the true one is below 1. The default
// max_mode_fraction (1.0, rule off) must keep it.
TEST(Filters, SampledModeFractionOfOneWithRuleOff) {
  StatsOptions stats_options;
  stats_options.quantile_sample_size = 1024;
  constexpr std::size_t kRows = 100000;
  // Rows with the largest keys are never in the bottom-1024 sample.
  std::vector<std::pair<std::uint64_t, std::size_t>> keyed;
  for (std::size_t row = 0; row < kRows; ++row) keyed.emplace_back(RowSampleKey(row, 42), row);
  std::sort(keyed.begin(), keyed.end());
  std::vector<double> values(kRows, 0.0);
  for (std::size_t i = 0; i < 300; ++i) {
    values[keyed[kRows - 1 - i].second] = 1.0 + static_cast<double>(i);
  }
  const ColumnStats stats = StatsOf(values, stats_options);
  ASSERT_FALSE(stats.distinct_exact);
  ASSERT_EQ(stats.mode_fraction, 1.0);  // the sample saw only zeros
  ASSERT_GT(stats.variance, 0.0);
  FilterOptions options;
  options.variance_threshold = 0.0;  // isolate the quasi_constant rule
  EXPECT_EQ(Decide(stats, options), RemovalReason::kKept);
  options.max_mode_fraction = 0.999;
  EXPECT_EQ(Decide(stats, options), RemovalReason::kQuasiConstant);
}

}  // namespace
}  // namespace descpipe
