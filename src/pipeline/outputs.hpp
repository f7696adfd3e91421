// Formatting helpers shared by the pass outputs (CSV cells, numbers, human-readable details).
#pragma once

#include <string>

#include "descpipe/config.hpp"
#include "descpipe/stats.hpp"

namespace descpipe {

/// Shortest text that reads back to the same double; "nan", "inf", "-inf" otherwise.
std::string FormatNumber(double value);
/// RFC 4180 cell: quoted when it holds a comma, quote, CR or LF.
std::string CsvCell(const std::string& text);
const char* RangeModeName(RangeMode mode);
/// Why a column was removed, with the values and option involved:
/// "missing_ratio 0.73 > max_missing_ratio 0.5".
std::string RemovalDetail(const ColumnStats& stats, const FilterDecision& decision,
                          const Config& config);

}  // namespace descpipe
