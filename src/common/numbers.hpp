// Numeric constants shared by several modules (and their tests).
#pragma once

#include <limits>

namespace descpipe {

/// Quiet NaN: the value of a missing entry in every matrix and statistic.
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace descpipe
