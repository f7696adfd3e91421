// Pass 1 removal rules.
#include <cmath>
#include <limits>

#include "descpipe/stats.hpp"

namespace descpipe {

const char* ReasonName(RemovalReason reason) {
  switch (reason) {
    case RemovalReason::kKept: return "";
    case RemovalReason::kMissing: return "missing";
    case RemovalReason::kTooFewValid: return "too_few_valid";
    case RemovalReason::kConstant: return "constant";
    case RemovalReason::kQuasiConstant: return "quasi_constant";
    case RemovalReason::kLowVariance: return "low_variance";
    case RemovalReason::kBinary: return "binary";
  }
  return "unknown";
}

FilterDecision DecideColumn(const ColumnStats& stats, const FilterOptions& options) {
  FilterDecision decision;
  double range = std::numeric_limits<double>::quiet_NaN();
  switch (options.range_mode) {
    case RangeMode::kTrimmed: range = stats.q_high - stats.q_low; break;
    case RangeMode::kMinMax: range = stats.max - stats.min; break;
    case RangeMode::kIqr: range = stats.q75 - stats.q25; break;
  }
  // A column whose central range is 0 but which is not constant (mostly one value plus a few
  // others) is normalised by its full range instead of being divided by zero.
  if (!(range > 0.0)) range = stats.max - stats.min;
  decision.range = range;
  decision.normalized_variance =
      range > 0.0 ? stats.variance / (range * range) : std::numeric_limits<double>::quiet_NaN();

  if (stats.n_total == 0 || stats.missing_ratio > options.max_missing_ratio) {
    decision.reason = RemovalReason::kMissing;
  } else if (stats.n_valid < options.min_effective_n) {
    decision.reason = RemovalReason::kTooFewValid;
  } else if (stats.distinct_exact && stats.n_distinct <= 1) {
    decision.reason = RemovalReason::kConstant;
  } else if (options.max_mode_fraction < 1.0 &&
             stats.mode_fraction >= options.max_mode_fraction) {
    // 1.0 turns the rule off: a mode fraction estimated from the quantile sample can reach 1.0
    // on a column that is not constant (all rows outside the sample differ from the mode).
    decision.reason = RemovalReason::kQuasiConstant;
  } else if (!(decision.normalized_variance >= options.variance_threshold)) {
    decision.reason = RemovalReason::kLowVariance;
  } else if (options.remove_binary && stats.distinct_exact && stats.n_distinct == 2) {
    decision.reason = RemovalReason::kBinary;
  }
  return decision;
}

}  // namespace descpipe
