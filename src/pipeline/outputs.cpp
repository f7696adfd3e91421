#include "pipeline/outputs.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"

namespace descpipe {

std::string FormatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return fmt::format("{}", value);
}

nlohmann::ordered_json JsonNumber(double value, NonFinite as) {
  if (std::isfinite(value)) return value;
  if (as == NonFinite::kNull || (as == NonFinite::kNanNullInfText && std::isnan(value)))
    return nullptr;
  if (std::isnan(value)) return "nan";
  return value > 0 ? "inf" : "-inf";
}

std::string CsvCell(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string RemovalDetail(const ColumnStats& s, const FilterDecision& d, const Config& c) {
  switch (d.reason) {
    case RemovalReason::kKept:
      return "";
    case RemovalReason::kMissing:
      return fmt::format(
          "missing_ratio {} > max_missing_ratio {} ({} null, {} NaN, {} inf of {} rows)",
          FormatNumber(s.missing_ratio), FormatNumber(c.max_missing_ratio), s.n_null, s.n_nan,
          s.n_inf, s.n_total);
    case RemovalReason::kTooFewValid:
      return fmt::format("n_valid {} < min_effective_n {}", s.n_valid, c.min_effective_n);
    case RemovalReason::kConstant:
      return s.n_valid > 0 ? fmt::format("every valid value is {}", FormatNumber(s.mode_value))
                           : "no valid value";
    case RemovalReason::kQuasiConstant:
      return fmt::format("mode {} covers {} of valid values >= max_mode_fraction {}",
                         FormatNumber(s.mode_value), FormatNumber(s.mode_fraction),
                         FormatNumber(c.max_mode_fraction));
    case RemovalReason::kLowVariance:
      return fmt::format("variance / {} range^2 = {} < variance_threshold {}",
                         EnumName(c.range_mode), FormatNumber(d.normalized_variance),
                         FormatNumber(c.variance_threshold));
    case RemovalReason::kBinary:
      return "two distinct values and remove_binary is true";
  }
  return "";
}

namespace {

struct Field {
  const char* name;
  std::string (*text)(const ColumnStats&, const FilterDecision&);
};

std::string Int(std::int64_t value) { return std::to_string(value); }

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields = {
      {"n_total", [](const ColumnStats& s, const FilterDecision&) { return Int(s.n_total); }},
      {"n_null", [](const ColumnStats& s, const FilterDecision&) { return Int(s.n_null); }},
      {"n_nan", [](const ColumnStats& s, const FilterDecision&) { return Int(s.n_nan); }},
      {"n_inf", [](const ColumnStats& s, const FilterDecision&) { return Int(s.n_inf); }},
      {"n_valid", [](const ColumnStats& s, const FilterDecision&) { return Int(s.n_valid); }},
      {"missing_ratio",
       [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.missing_ratio); }},
      {"mean", [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.mean); }},
      {"variance",
       [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.variance); }},
      {"std", [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.std); }},
      {"min", [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.min); }},
      {"max", [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.max); }},
      {"trim_low",
       [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.q_low); }},
      {"trim_high",
       [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.q_high); }},
      {"q25", [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.q25); }},
      {"q75", [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.q75); }},
      {"quantiles_exact",
       [](const ColumnStats& s, const FilterDecision&) {
         return std::string(s.quantiles_exact ? "true" : "false");
       }},
      {"n_distinct",
       [](const ColumnStats& s, const FilterDecision&) {
         return s.distinct_exact ? Int(s.n_distinct) : fmt::format(">{}", kMaxExactDistinct);
       }},
      {"mode",
       [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.mode_value); }},
      {"mode_fraction",
       [](const ColumnStats& s, const FilterDecision&) { return FormatNumber(s.mode_fraction); }},
      {"mode_exact",
       [](const ColumnStats& s, const FilterDecision&) {
         return std::string(s.mode_exact ? "true" : "false");
       }},
      {"range", [](const ColumnStats&, const FilterDecision& d) { return FormatNumber(d.range); }},
      {"normalized_variance",
       [](const ColumnStats&, const FilterDecision& d) {
         return FormatNumber(d.normalized_variance);
       }},
      {"kept", [](const ColumnStats&,
                  const FilterDecision& d) { return std::string(d.kept() ? "true" : "false"); }},
      {"reason", [](const ColumnStats&,
                    const FilterDecision& d) { return std::string(ReasonName(d.reason)); }},
  };
  return fields;
}

}  // namespace

std::string FormatPass1(const Pass1Result& result, const std::string& format) {
  const auto& fields = Fields();
  if (format == "csv") {
    std::string out = "column";
    for (const auto& field : fields) out += std::string(",") + field.name;
    out += "\n";
    for (std::size_t i = 0; i < result.columns.size(); ++i) {
      out += CsvCell(result.columns[i]);
      for (const auto& field : fields)
        out += "," + CsvCell(field.text(result.stats[i], result.decisions[i]));
      out += "\n";
    }
    return out;
  }
  if (format == "json") {
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < result.columns.size(); ++i) {
      nlohmann::ordered_json row;
      row["column"] = result.columns[i];
      const ColumnStats& s = result.stats[i];
      const FilterDecision& d = result.decisions[i];
      for (const auto& field : fields) {
        const std::string name = field.name;
        const std::string text = field.text(s, d);
        if (name == "kept" || name == "quantiles_exact" || name == "mode_exact") {
          row[name] = text == "true";
        } else if (name == "reason" || (name == "n_distinct" && !s.distinct_exact)) {
          row[name] = text;
        } else if (text == "nan" || text == "inf" || text == "-inf") {
          row[name] = nullptr;  // JSON has no NaN or infinity
        } else {
          row[name] = nlohmann::ordered_json::parse(text);
        }
      }
      rows.push_back(row);
    }
    return rows.dump(2) + "\n";
  }
  DESCPIPE_EXPECTS(format == "table", "unknown format '{}': use table, csv or json", format);
  // Aligned text for people: the most useful columns only.
  const std::vector<std::string> header = {"column", "n_valid",  "missing",  "mean", "std",   "min",
                                           "max",    "distinct", "norm_var", "kept", "reason"};
  std::vector<std::vector<std::string>> rows;
  for (std::size_t i = 0; i < result.columns.size(); ++i) {
    const ColumnStats& s = result.stats[i];
    const FilterDecision& d = result.decisions[i];
    rows.push_back({result.columns[i], Int(s.n_valid), fmt::format("{:.3f}", s.missing_ratio),
                    fmt::format("{:.6g}", s.mean), fmt::format("{:.6g}", s.std),
                    fmt::format("{:.6g}", s.min), fmt::format("{:.6g}", s.max),
                    s.distinct_exact ? Int(s.n_distinct) : fmt::format(">{}", kMaxExactDistinct),
                    fmt::format("{:.4g}", d.normalized_variance), d.kept() ? "yes" : "no",
                    ReasonName(d.reason)});
  }
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const bool left = c == 0 || c >= cells.size() - 2;
      out += left ? fmt::format("{:<{}}", cells[c], width[c])
                  : fmt::format("{:>{}}", cells[c], width[c]);
      if (c + 1 < cells.size()) out += "  ";
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

}  // namespace descpipe
