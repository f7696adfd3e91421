// Pass 1 removal rules.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "descpipe/error.hpp"
#include "descpipe/stats.hpp"

namespace descpipe {

const char* ReasonName(RemovalReason reason) {
  switch (reason) {
    case RemovalReason::kKept:
      return "";
    case RemovalReason::kMissing:
      return "missing";
    case RemovalReason::kTooFewValid:
      return "too_few_valid";
    case RemovalReason::kConstant:
      return "constant";
    case RemovalReason::kQuasiConstant:
      return "quasi_constant";
    case RemovalReason::kLowVariance:
      return "low_variance";
    case RemovalReason::kBinary:
      return "binary";
  }
  return "unknown";
}

namespace {

/// A non-negative quantity as mantissa * 2^exponent (std::frexp: mantissa in [0.5, 1) or 0).
struct FilterMagnitude {
  double mantissa = 0.0;
  int exponent = 0;
};

/// high - low, also when it exceeds DBL_MAX (ends near -+1.7e308): high / 2 - low / 2 is then
/// exact, both ends being at least 2^969 in magnitude.
FilterMagnitude RangeBetween(double high, double low) {
  FilterMagnitude range;
  const double difference = high - low;
  if (!std::isinf(difference)) {
    range.mantissa = std::frexp(difference, &range.exponent);
    return range;
  }
  range.mantissa = std::frexp(std::ldexp(high, -1) - std::ldexp(low, -1), &range.exponent);
  ++range.exponent;
  return range;
}

/// variance / range^2. Ordinary data: exactly that double expression. Where the variance or
/// range^2 is not a normal double (values near the ends of the double range: the variance is
/// inf or subnormal, the range inf), the same ratio from mantissas and exponents, the variance
/// taken as std_scaled^2 * 4^std_exponent.
double NormalizedVariance(const ColumnStats& stats, const FilterMagnitude& range) {
  if (!(range.mantissa > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double plain_range = std::ldexp(range.mantissa, range.exponent);
  if (std::isnormal(stats.variance) && std::isnormal(plain_range * plain_range)) {
    return stats.variance / (plain_range * plain_range);
  }
  FilterMagnitude variance;
  if (std::isnormal(stats.variance)) {
    variance.mantissa = std::frexp(stats.variance, &variance.exponent);
  } else {
    FilterMagnitude std_dev;
    if (stats.std_scaled > 0.0 && std::isfinite(stats.std_scaled)) {
      std_dev.mantissa = std::frexp(stats.std_scaled, &std_dev.exponent);
      std_dev.exponent += stats.std_exponent;
    } else if (std::isfinite(stats.std) && stats.std >= 0.0) {
      std_dev.mantissa = std::frexp(stats.std, &std_dev.exponent);
    } else {
      return std::numeric_limits<double>::quiet_NaN();  // no variance (fewer than 2 values)
    }
    variance.mantissa = std_dev.mantissa * std_dev.mantissa;
    variance.exponent = 2 * std_dev.exponent;
  }
  return std::ldexp(variance.mantissa / (range.mantissa * range.mantissa),
                    variance.exponent - 2 * range.exponent);
}

}  // namespace

FilterDecision DecideColumn(const ColumnStats& stats, const FilterOptions& options) {
  FilterDecision decision;
  FilterMagnitude range;
  switch (options.range_mode) {
    case RangeMode::kTrimmed:
      range = RangeBetween(stats.q_high, stats.q_low);
      break;
    case RangeMode::kMinMax:
      range = RangeBetween(stats.max, stats.min);
      break;
    case RangeMode::kIqr:
      range = RangeBetween(stats.q75, stats.q25);
      break;
  }
  // A column whose central range is 0 but which is not constant (mostly one value plus a few
  // others) is normalised by its full range instead of being divided by zero.
  if (!(range.mantissa > 0.0)) range = RangeBetween(stats.max, stats.min);
  decision.range = std::ldexp(range.mantissa, range.exponent);  // inf beyond DBL_MAX
  decision.normalized_variance = NormalizedVariance(stats, range);

  if (stats.n_total == 0 || stats.missing_ratio > options.max_missing_ratio) {
    decision.reason = RemovalReason::kMissing;
  } else if (stats.n_valid < options.min_effective_n) {
    decision.reason = RemovalReason::kTooFewValid;
  } else if (stats.distinct_exact && stats.n_distinct <= 1) {
    decision.reason = RemovalReason::kConstant;
  } else if (options.max_mode_fraction < 1.0 && stats.mode_fraction >= options.max_mode_fraction) {
    // 1.0 turns the rule off: a mode fraction estimated from the quantile sample can reach 1.0
    // on a column that is not constant (all rows outside the sample differ from the mode).
    decision.reason = RemovalReason::kQuasiConstant;
  } else if (stats.n_valid < 2) {
    // No variance at all (reachable with min_effective_n < 2 only): not enough variance.
    decision.reason = RemovalReason::kLowVariance;
  } else if (std::isnan(decision.normalized_variance)) {
    // Unreachable with statistics from ColumnStatsAccumulator; a NaN must not decide silently.
    throw NumericalError(fmt::format(
        "normalized variance is NaN (n_valid {}, variance {}, std {}, range {}): inconsistent "
        "Pass 1 statistics",
        stats.n_valid, stats.variance, stats.std, decision.range));
  } else if (decision.normalized_variance < options.variance_threshold) {
    decision.reason = RemovalReason::kLowVariance;
  } else if (options.remove_binary && stats.distinct_exact && stats.n_distinct == 2) {
    decision.reason = RemovalReason::kBinary;
  }
  return decision;
}

}  // namespace descpipe
