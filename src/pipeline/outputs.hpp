// Formatting helpers shared by the pass outputs (CSV cells, numbers, human-readable details).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "descpipe/config.hpp"
#include "descpipe/stats.hpp"

namespace descpipe {

/// Shortest text that reads back to the same double; "nan", "inf", "-inf" otherwise.
std::string FormatNumber(double value);
/// What a non-finite double becomes in JSON, which has no NaN or infinity.
enum class NonFinite {
  kNull,  ///< null (what other programs read: pass outputs, the lineage)
  kText,  ///< "nan", "inf", "-inf" (read back exactly: checkpoints, the manifest's config)
  kNanNullInfText,  ///< NaN null, infinities "inf" / "-inf" (pass3_vif.json: an infinite VIF is a
                    ///< result)
};
/// The one way a double enters descpipe's JSON.
nlohmann::ordered_json JsonNumber(double value, NonFinite as = NonFinite::kNull);
/// RFC 4180 cell: quoted when it holds a comma, quote, CR or LF.
std::string CsvCell(const std::string& text);
/// Why a column was removed, with the values and option involved:
/// "missing_ratio 0.73 > max_missing_ratio 0.5".
std::string RemovalDetail(const ColumnStats& stats, const FilterDecision& decision,
                          const Config& config);

}  // namespace descpipe
