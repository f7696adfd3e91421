// Fuzz.OptionsAndTables: random option values and random small tables through the executable, for
// a wall-clock budget. Every run must end in one of two ways: exit code 0 with the complete
// outputs of the passes it was asked for (each listed in run_manifest.json, each present and
// non-empty, no temporary file left), or descpipe's clean error (exit code 2, exactly one
// "error: " line on stderr, the other lines log lines). Never a signal, a hang or exit code 3
// (an unexpected std::exception).
//
// Each case is a pure function of (seed, case number): a table written by DuckDB from one SQL text
// (Parquet, sometimes CSV or two files; 0-400 rows, 1-30 columns of DOUBLE, FLOAT, integer,
// UBIGINT, DECIMAL, BOOLEAN, text and other types; NaN, NULL, +-inf, constants, binary columns,
// ties, values near the ends of the double range; odd and duplicate-ish column names), options
// drawn from each option's kind in OptionSpecs() (in range, at and just beyond the bounds, inf,
// nan, huge, negative, empty, lists, strings, booleans, null; column names present or missing)
// given through `--set` and sometimes a YAML --config file, random CLI flags, a second run into
// the same OUTDIR, and sometimes `explain`, `apply`, `stats` and `sample`.
//
// Environment:
//   DESCPIPE_FUZZ_SECONDS  budget (default 40; 30 in a sanitizer build); no case starts after it
//   DESCPIPE_FUZZ_SEED     seed of the case stream (default kDefaultSeed; printed)
//   DESCPIPE_FUZZ_CASE     run only this case number (a failure prints it), verbosely
//   DESCPIPE_FUZZ_KEEP     1: keep the case directories (printed) to rerun the printed commands
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::Contains;
using testing::IsLogLine;
using testing::Lines;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::WriteFile;

constexpr std::uint64_t kDefaultSeed = 20250101;
/// A run that takes longer has hung: every case is small (at most 400 rows, 30 columns, capped
/// Pass 4 sizes) and takes well under a few seconds.
constexpr int kRunTimeoutSeconds = testing::kSanitizerBuild ? 120 : 40;
/// Failures printed in full; the rest are counted.
constexpr int kMaxReported = 12;

// ---- settings ---------------------------------------------------------------------------------

struct FuzzSettings {
  double seconds = testing::kSanitizerBuild ? 30.0 : 40.0;
  std::uint64_t seed = kDefaultSeed;
  std::int64_t only_case = -1;
  bool keep = false;
};

FuzzSettings ReadSettings() {
  FuzzSettings settings;
  if (const char* text = std::getenv("DESCPIPE_FUZZ_SECONDS"); text != nullptr && *text != '\0') {
    settings.seconds = std::strtod(text, nullptr);
  }
  if (const char* text = std::getenv("DESCPIPE_FUZZ_SEED"); text != nullptr && *text != '\0') {
    settings.seed = std::strtoull(text, nullptr, 10);
  }
  if (const char* text = std::getenv("DESCPIPE_FUZZ_CASE"); text != nullptr && *text != '\0') {
    settings.only_case = std::strtoll(text, nullptr, 10);
  }
  if (const char* text = std::getenv("DESCPIPE_FUZZ_KEEP"); text != nullptr && *text != '\0') {
    settings.keep = std::string(text) != "0";
  }
  return settings;
}

// ---- random numbers: SplitMix64, identical on every platform -----------------------------------

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n) (n > 0).
  std::uint64_t Below(std::uint64_t n) { return Next() % n; }
  /// Uniform in [lo, hi].
  std::int64_t Between(std::int64_t lo, std::int64_t hi) {
    return lo + static_cast<std::int64_t>(Below(static_cast<std::uint64_t>(hi - lo) + 1));
  }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }
  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[Below(items.size())];
  }

 private:
  std::uint64_t state_;
};

// ---- quoting -----------------------------------------------------------------------------------

std::string SqlIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string SqlLiteral(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

/// A YAML double-quoted scalar: parses back to exactly `text`.
std::string YamlString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20) {
      static const char* kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string ShellWord(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789_-./=:,+@%") == std::string::npos) {
    return word;
  }
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ShellLine(const std::vector<std::string>& args) {
  std::string line = "descpipe";
  for (const std::string& arg : args) line += " " + ShellWord(arg);
  return line;
}

std::string Number(double value) {
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

/// A DOUBLE literal for SQL (DuckDB reads 1.25 as a DECIMAL, whose products can overflow).
std::string SqlDouble(double value) { return "(" + Number(value) + "::DOUBLE)"; }

// ---- random tables -----------------------------------------------------------------------------

struct GeneratedTable {
  std::string sql;                   ///< the statements that wrote it (to replay a failure)
  std::string input;                 ///< what the run is given: a file, a directory or a glob
  std::string first_file;            ///< one file of the table (for apply)
  std::vector<std::string> names;    ///< every column name, in order
  std::vector<std::string> numeric;  ///< names of the numeric columns
  std::vector<std::string> text;     ///< names of the other columns
  int rows = 0;
  bool csv = false;
};

/// A column name: mostly plain, sometimes odd (quotes, spaces, unicode, DuckDB's virtual column
/// names, YAML words, case variants of another name).
std::string ColumnName(Rng& rng, int index, const std::vector<std::string>& taken) {
  static const std::vector<std::string> kOdd = {"MolWt",
                                                "a b",
                                                "x\"y",
                                                "it's",
                                                "\xc3\xbc"
                                                "n\xc3\xaf"
                                                "c\xc3\xb6"
                                                "d\xc3\xa9",
                                                "\xe6\x97\xa5\xe6\x9c\xac",
                                                "with,comma",
                                                "semi;colon",
                                                " lead",
                                                "trail ",
                                                "#hash",
                                                "--dash",
                                                "=eq",
                                                "key: v",
                                                "[br]",
                                                "*star",
                                                "?q",
                                                "%p",
                                                "back\\slash",
                                                "NULL",
                                                "null",
                                                "true",
                                                "1",
                                                "1e5",
                                                "nan",
                                                "inf",
                                                "id",
                                                "ID",
                                                "filename",
                                                "file_row_number",
                                                "rowid",
                                                "__descpipe_file",
                                                "__descpipe_row",
                                                "tab\there",
                                                "new\nline",
                                                "{brace}",
                                                "a.b",
                                                "$dollar",
                                                "~tilde",
                                                "-",
                                                "y",
                                                "no",
                                                "\xf0\x9f\xa7\xaa"};
  std::string name;
  const double roll = rng.Unit();
  if (roll < 0.6) {
    name = "d" + std::to_string(index);
  } else if (roll < 0.9) {
    name = rng.Pick(kOdd);
    if (rng.Chance(0.5)) name += std::to_string(index);
  } else if (roll < 0.97 && !taken.empty()) {
    // A case variant of an earlier name ("ID" beside "id").
    name = rng.Pick(taken);
    for (char& c : name) {
      if (c >= 'a' && c <= 'z')
        c = static_cast<char>(c - 'a' + 'A');
      else if (c >= 'A' && c <= 'Z')
        c = static_cast<char>(c - 'A' + 'a');
    }
  } else {
    // A blank name, or an exact duplicate (DuckDB refuses "" as an identifier).
    name = rng.Chance(0.5) || taken.empty() ? std::string(rng.Chance(0.5) ? " " : "  ")
                                            : rng.Pick(taken);
  }
  return name;
}

/// A DOUBLE expression of row `i` whose magnitude stays below ~2e3 (scaled afterwards).
std::string BoundedExpression(Rng& rng) {
  const std::string a = SqlDouble(0.05 + rng.Unit() * 2.0);
  const std::string b = SqlDouble(rng.Unit() * 10.0 - 5.0);
  switch (rng.Below(9)) {
    case 0:
      return "sin(i * " + a + " + " + b + ")";
    case 1:
      return "(i * " + a + " + " + b + ")";
    case 2:
      return "((i % " + std::to_string(rng.Between(1, 9)) + ") * " + a + ")";
    case 3:
      return "(" + b + ")";
    case 4:
      return "((i % 2) * 1.0)";
    case 5:
      return "((hash(i * 7 + " + std::to_string(rng.Below(1000)) + ") % 1000) / 1000.0)";
    case 6:
      return "pow(sin(i * " + a + "), 2)";
    case 7:
      return "ln(i + 1.5)";
    default:
      return "(-(i * " + a + "))";
  }
}

/// One column: its expression (in `i`, the row number) and whether it is numeric.
std::pair<std::string, bool> ColumnExpression(Rng& rng, const std::vector<std::string>& earlier) {
  const double roll = rng.Unit();
  std::string expression;
  bool floating = false;
  if (roll < 0.45) {
    static const std::vector<std::string> kScales = {"1",     "1",      "1",      "1000", "0.001",
                                                     "1e300", "1e-300", "1e-320", "1e150"};
    const std::string& scale = rng.Pick(kScales);
    expression =
        scale == "1" ? BoundedExpression(rng) : "(" + BoundedExpression(rng) + " * " + scale + ")";
    floating = true;
  } else if (roll < 0.55 && !earlier.empty()) {
    // A duplicate or monotone transform of an earlier numeric column: Spearman clusters.
    const std::string& other = rng.Pick(earlier);
    static const std::vector<std::string> kForms = {"({}) * 1.0", "({}) * 2.0 + 1", "-({}) * 1.0",
                                                    "({}) * 1.0 + sin(i) * 0.001"};
    std::string form = rng.Pick(kForms);
    form.replace(form.find("{}"), 2, "(" + other + ")::DOUBLE");
    expression = "(" + form + ")";
    floating = true;
  } else if (roll < 0.6) {
    static const std::vector<std::string> kHuge = {
        "(CASE WHEN i % 2 = 0 THEN 1.7e308 ELSE -1.7e308 END)", "(1e308 * sin(i * 0.3))",
        "(CASE WHEN i % 3 = 0 THEN 1.7976931348623157e308 ELSE 4.9e-324 END)", "(1e-310 * (i % 5))",
        "(CASE WHEN i = 0 THEN 1e308 ELSE 0.0 END)"};
    expression = rng.Pick(kHuge);
    floating = true;
  } else if (roll < 0.62) {
    expression = rng.Chance(0.5) ? "NULL::DOUBLE" : "'NaN'::DOUBLE";
    floating = true;
  } else if (roll < 0.8) {
    static const std::vector<std::string> kIntegers = {
        "(i % {k})::INTEGER",
        "(i * 3 - 100)::BIGINT",
        "(i % {k})::SMALLINT",
        "(i % {k})::TINYINT",
        "(i % {k})::UBIGINT",
        "(18446744073709551615::UBIGINT - i::UBIGINT)",
        "(9223372036854775807 - i)::BIGINT",
        "(i * 1000000007)::HUGEINT",
        "(i % {k})::UINTEGER",
        "(sin(i) * 100)::DECIMAL(10,3)",
        "(i * 12345.678)::DECIMAL(38,10)",
        "(i % {k} = 0)",
        "(9007199254740993 + i % {k})::BIGINT",
        "({k})::INTEGER"};
    expression = rng.Pick(kIntegers);
    const std::string k = std::to_string(rng.Between(1, 7));
    for (std::size_t at; (at = expression.find("{k}")) != std::string::npos;)
      expression.replace(at, 3, k);
  } else if (roll < 0.85) {
    expression = "(" + BoundedExpression(rng) + ")::FLOAT";
    if (rng.Chance(0.3))
      expression = "(CASE WHEN i % 4 = 1 THEN 'inf'::FLOAT ELSE " + expression + " END)";
  } else {
    static const std::vector<std::string> kText = {
        "('mol' || i)",
        "('C' || (i % 5))",
        "(CASE WHEN i % 3 = 0 THEN NULL ELSE 'x' || i END)",
        "NULL::VARCHAR",
        "(DATE '2020-01-01' + (i % 30)::INTEGER)",
        "[i, i + 1]",
        "{'a': i}",
        "('1.5')",
        "(i::VARCHAR)",
        "(TIMESTAMP '2020-01-01 00:00:00' + INTERVAL (i) SECOND)",
        "('\xc3\xbc' || i)"};
    return {rng.Pick(kText), false};
  }
  // Missing and non-finite values, every m rows from row r.
  if (rng.Chance(0.35)) {
    const std::string m = std::to_string(rng.Between(2, 11));
    const std::string r = std::to_string(rng.Between(0, 3));
    std::vector<std::string> kinds = {"NULL"};
    if (floating) {
      kinds.insert(kinds.end(), {"'NaN'::DOUBLE", "'inf'::DOUBLE", "'-inf'::DOUBLE"});
    }
    expression = "(CASE WHEN i % " + m + " = " + r + " THEN " + rng.Pick(kinds) + " ELSE " +
                 expression + " END)";
  }
  return {expression, true};
}

GeneratedTable MakeTable(Rng& rng, const std::string& dir) {
  GeneratedTable table;
  static const std::vector<int> kRows = {0, 1, 2, 3, 5, 8, 20, 21, 50, 100, 150, 400};
  table.rows = rng.Chance(0.6) ? rng.Pick(kRows) : static_cast<int>(rng.Between(0, 400));
  int columns =
      rng.Chance(0.3) ? static_cast<int>(rng.Between(1, 4)) : static_cast<int>(rng.Between(1, 30));
  if (rng.Chance(0.05)) {  // sometimes more rows than one batch or row group holds, few columns
    table.rows = static_cast<int>(rng.Between(1000, 6000));
    columns = static_cast<int>(rng.Between(1, 8));
  }
  std::vector<std::string> select;
  std::vector<std::string> numeric_expressions;
  if (rng.Chance(0.4)) {  // metadata first, as descriptor tables have them
    const std::string name = rng.Chance(0.7) ? "id" : ColumnName(rng, 0, {});
    table.names.push_back(name);
    table.text.push_back(name);
    select.push_back("('mol' || i) AS " + SqlIdentifier(name));
    if (rng.Chance(0.4)) {
      table.names.push_back("smiles");
      table.text.push_back("smiles");
      select.push_back("(repeat('C', (i % 7)::INTEGER + 1)) AS smiles");
    }
  }
  for (int c = 0; c < columns; ++c) {
    const std::string name = ColumnName(rng, c, table.names);
    const auto [expression, numeric] = ColumnExpression(rng, numeric_expressions);
    select.push_back(expression + " AS " + SqlIdentifier(name));
    table.names.push_back(name);
    (numeric ? table.numeric : table.text).push_back(name);
    if (numeric) numeric_expressions.push_back(expression);
  }
  std::string columns_sql;
  for (const std::string& each : select) columns_sql += (columns_sql.empty() ? "" : ", ") + each;
  const std::string query =
      "SELECT " + columns_sql + " FROM range(" + std::to_string(table.rows) + ") t(i)";

  table.csv = rng.Chance(0.2);
  const std::string extension = table.csv ? ".csv" : ".parquet";
  auto format = [&]() -> std::string {
    if (table.csv)
      return rng.Chance(0.8) ? "(FORMAT csv, HEADER)" : "(FORMAT csv, HEADER, DELIMITER ';')";
    static const std::vector<std::string> kParquet = {
        "(FORMAT parquet)", "(FORMAT parquet, ROW_GROUP_SIZE 7)",
        "(FORMAT parquet, COMPRESSION uncompressed)",
        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 64)"};
    return rng.Pick(kParquet);
  };
  const double layout = rng.Unit();
  if (layout < 0.8) {
    static const std::vector<std::string> kFileNames = {"in", "in",  "in",       "in put", "it's",
                                                        "~t", "[x]", "\xc3\xbc", "a,b",    "-dash"};
    const std::string path = dir + "/" + rng.Pick(kFileNames) + extension;
    table.sql = "COPY (" + query + ") TO " + SqlLiteral(path) + " " + format() + ";";
    table.input = path;
    table.first_file = path;
  } else {
    // Two files in a folder, split by row parity; sometimes the second lacks the last column.
    const std::string folder = dir + "/parts";
    fs::create_directories(folder);
    const std::string first = folder + "/part-0" + extension;
    const std::string second = folder + "/part-1" + extension;
    const std::string with_row =
        "SELECT " + columns_sql + ", i AS i_ FROM range(" + std::to_string(table.rows) + ") t(i)";
    table.sql = "COPY (SELECT * EXCLUDE (i_) FROM (" + with_row + ") WHERE i_ % 2 = 0) TO " +
                SqlLiteral(first) + " " + format() + ";\n";
    std::string exclude = "i_";
    if (rng.Chance(0.2) && table.names.size() > 1)
      exclude += ", " + SqlIdentifier(table.names.back());
    table.sql += "COPY (SELECT * EXCLUDE (" + exclude + ") FROM (" + with_row +
                 ") WHERE i_ % 2 = 1) TO " + SqlLiteral(second) + " " + format() + ";";
    table.input = rng.Chance(0.5) ? folder : folder + "/*" + extension;
    table.first_file = first;
  }
  return table;
}

// ---- random option values ----------------------------------------------------------------------

/// Values that every option must refuse cleanly or accept (YAML text).
const std::vector<std::string>& SpecialValues() {
  static const std::vector<std::string> values = {".inf",
                                                  "-.inf",
                                                  ".nan",
                                                  "inf",
                                                  "-inf",
                                                  "nan",
                                                  "NaN",
                                                  "1e308",
                                                  "-1e308",
                                                  "1e309",
                                                  "9223372036854775807",
                                                  "9223372036854775808",
                                                  "-9223372036854775808",
                                                  "-9223372036854775809",
                                                  "18446744073709551615",
                                                  "18446744073709551616",
                                                  "18446744073709551617",
                                                  "4294967297",
                                                  "4294967296",
                                                  "2147483648",
                                                  "-2147483649",
                                                  "-1",
                                                  "-4294967295",
                                                  "0",
                                                  "-0",
                                                  "-0.0",
                                                  "",
                                                  "''",
                                                  "\"\"",
                                                  "[1, 2]",
                                                  "[]",
                                                  "{a: 1}",
                                                  "{}",
                                                  "abc",
                                                  "true",
                                                  "false",
                                                  "null",
                                                  "~",
                                                  "0x10",
                                                  "0o17",
                                                  "1_000",
                                                  "+5",
                                                  "1e6",
                                                  "2.0",
                                                  "2.5",
                                                  "1e-320",
                                                  "5e-324",
                                                  "0.1",
                                                  "1e",
                                                  ".",
                                                  "\"5\"",
                                                  "!!str 5",
                                                  "!!int 5",
                                                  "!!float 1e400",
                                                  "&a 5",
                                                  "*a",
                                                  "5 # comment",
                                                  " 5 ",
                                                  "- 1",
                                                  "? x",
                                                  "[",
                                                  "]",
                                                  "{",
                                                  "'unterminated",
                                                  "1.7976931348623157e308",
                                                  "0.5",
                                                  "1",
                                                  "3",
                                                  "20",
                                                  "100",
                                                  "1e15",
                                                  "1e16",
                                                  "-1e-300",
                                                  "2e9",
                                                  "65536",
                                                  "65538",
                                                  "[.nan]",
                                                  "[1e308, -1e308]"};
  return values;
}

/// Upper end used for draws inside the range of options whose cost grows with the value: a case
/// must stay small. Values beyond the real maximum are still drawn (and must be refused).
/// (hsic_D = 65536 is a 69 GB basis and a 65536 x 65536 eigendecomposition; rdc_k = 1000, a
/// 1000 x 1000 canonical correlation per pair and seed.)
long double FuzzMax(const OptionSpec& spec) {
  const std::string name = spec.name;
  if (name == "hsic_D") return 512;
  if (name == "rdc_k") return 60;
  return spec.max;
}

std::string IntegerText(long double value) {
  std::ostringstream out;
  out << std::fixed;
  out.precision(0);
  out << value;
  return out.str();
}

std::string NumberValue(const OptionSpec& spec, Rng& rng, bool valid) {
  const bool integer = spec.kind == OptionKind::kInteger;
  const long double lo = spec.min;
  const long double hi = FuzzMax(spec);
  auto text = [&](long double value) {
    if (integer) return IntegerText(value);
    return Number(static_cast<double>(value));
  };
  const double roll = valid ? rng.Unit() * 0.75 : rng.Unit();
  if (roll < 0.5) {
    // Inside the range: uniform, log-uniform or a round value.
    long double value;
    const double how = rng.Unit();
    if (how < 0.3) {
      value = lo + (hi - lo) * static_cast<long double>(rng.Unit());
    } else if (how < 0.5 && hi > 0) {
      // Log-uniform over the positive part of the range: 1e-300 .. max.
      const long double bottom = std::max<long double>(lo, 1e-300L);
      value = std::exp(std::log(bottom) +
                       (std::log(hi) - std::log(bottom)) * static_cast<long double>(rng.Unit()));
    } else if (how < 0.8) {
      const long double top = std::min<long double>(hi, lo + 1000.0L);
      value = lo + (top - lo) * static_cast<long double>(rng.Unit() * rng.Unit());
    } else {
      static const std::vector<double> kRound = {0.0,   0.001, 0.01, 0.1, 0.25, 0.5,  0.9,  0.95,
                                                 0.999, 1.0,   2.0,  4.0, 10.0, 16.0, 64.0, 100.0};
      value = rng.Pick(kRound);
      if (value < lo || value > hi) value = lo + (hi - lo) * static_cast<long double>(rng.Unit());
    }
    if (integer) value = std::floor(value);
    if (spec.min_open && value <= lo) value = integer ? lo + 1 : (lo + hi) / 2;
    if (std::string(spec.name) == "hsic_D")
      value = std::max<long double>(2, std::floor(value / 2) * 2);
    if (std::string(spec.name) == "leiden_iterations" && value == 0) value = -1;
    return text(value);
  }
  if (roll < 0.75) {
    // At the bounds (the capped upper bound for costly options).
    if (rng.Chance(0.5)) {
      if (!spec.min_open) return text(lo);
      return integer ? text(lo + 1) : Number(std::nextafter(static_cast<double>(lo), 1e300));
    }
    return text(hi);
  }
  if (roll < 0.88) {
    // Just beyond the bounds.
    if (rng.Chance(0.5)) {
      if (spec.min_open) return text(lo);
      return integer ? text(lo - 1) : Number(std::nextafter(static_cast<double>(lo), -1e300));
    }
    return integer ? text(spec.max + 1)
                   : Number(std::nextafter(static_cast<double>(spec.max), 1e300));
  }
  return rng.Pick(SpecialValues());
}

/// The words of a choice note: "trimmed, minmax or iqr" -> {trimmed, minmax, iqr}.
std::vector<std::string> ChoiceWords(const std::string& note) {
  std::vector<std::string> words;
  std::string word;
  std::istringstream in(note);
  while (in >> word) {
    if (word == "or") continue;
    if (!word.empty() && word.back() == ',') word.pop_back();
    words.push_back(word);
  }
  return words;
}

std::string UpperCase(std::string text) {
  for (char& c : text) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return text;
}

/// A name option's value: a list of present and missing names, or something else.
std::string NamesValue(Rng& rng, const std::vector<std::string>& pool, bool valid) {
  const double roll = valid ? rng.Unit() * 0.7 : rng.Unit();
  auto one = [&]() {
    if (!pool.empty() && rng.Chance(0.85)) return YamlString(rng.Pick(pool));
    static const std::vector<std::string> kMissing = {"missing", "", " ", "MOLWT", "*", "d999"};
    return YamlString(rng.Pick(kMissing));
  };
  if (roll < 0.55) {
    std::string list = "[";
    const int count = static_cast<int>(rng.Between(1, 4));
    for (int k = 0; k < count; ++k) list += (k ? ", " : "") + one();
    return list + "]";
  }
  if (roll < 0.7) return one();
  static const std::vector<std::string> kOther = {
      "[]", "null", "~", "5", "[[a]]", "{a: 1}", "[null]", "true", "[1, 2]", "\"\"", ""};
  return rng.Pick(kOther);
}

const std::vector<std::string>& CriterionNames() {
  static const std::vector<std::string> names = {
      "pinned", "target", "missing", "variance", "not_binary", "mean_similarity", "input_order"};
  return names;
}

std::string CriteriaValue(Rng& rng, bool valid) {
  const double roll = valid ? rng.Unit() * 0.8 : rng.Unit();
  if (roll < 0.8) {
    std::string list = "[";
    const int count = static_cast<int>(rng.Between(1, 8));
    for (int k = 0; k < count; ++k) {
      std::string name = rng.Pick(CriterionNames());
      if (rng.Chance(0.1)) name = UpperCase(name);
      if (!valid && rng.Chance(0.1)) name = "fastest";
      list += (k ? ", " : "") + name;
    }
    return list + "]";
  }
  static const std::vector<std::string> kOther = {
      "[]", "null", "pinned", "nonsense", "[[pinned]]", "{a: 1}", "5", "", "[null]"};
  return rng.Pick(kOther);
}

std::string PercentilesValue(Rng& rng, bool valid) {
  if (valid || rng.Chance(0.4)) {
    const double low = rng.Chance(0.3) ? 0.0 : rng.Unit() * 49.0;
    const double high = rng.Chance(0.3) ? 100.0 : 51.0 + rng.Unit() * 49.0;
    return "[" + Number(low) + ", " + Number(high) + "]";
  }
  static const std::vector<std::string> kOther = {"[0, 100]",
                                                  "[50, 50]",
                                                  "[90, 10]",
                                                  "[-1, 50]",
                                                  "[0, 101]",
                                                  "[.nan, 50]",
                                                  "[.inf, 1]",
                                                  "[1]",
                                                  "[1, 2, 3]",
                                                  "5",
                                                  "[]",
                                                  "null",
                                                  "[a, b]",
                                                  "[0, 1e-300]",
                                                  "[99.9999, 100]",
                                                  "[0, 5e-324]",
                                                  "[1e308, 1e308]",
                                                  "[\"1\", \"2\"]",
                                                  "[[1], 2]"};
  return rng.Pick(kOther);
}

std::string SizeValue(Rng& rng, bool valid) {
  static const std::vector<std::string> kValid = {
      "64MiB", "256MB", "1GB", "8GB", "50%", "100%", "1e9", "2GiB", "512M", "1152921504606846976"};
  static const std::vector<std::string> kSmall = {"1MiB", "1048576", "2MB",
                                                  "4MiB", "16MB",    "1.5MiB"};
  static const std::vector<std::string> kBad = {"1048575",
                                                "1152921504606846977",
                                                "0",
                                                "-1",
                                                "0%",
                                                "101%",
                                                "-5%",
                                                "1e30",
                                                "inf",
                                                ".nan",
                                                "nan",
                                                "8XB",
                                                "GB",
                                                "",
                                                "0.5B",
                                                "%",
                                                "1e-300GB",
                                                "18446744073709551615",
                                                "18446744073709551616",
                                                "[1GB]",
                                                "null",
                                                "1 GB",
                                                "1e308%",
                                                "0x10",
                                                "1,5GB",
                                                "-0",
                                                "5e-324"};
  const double roll = rng.Unit();
  if (valid) return roll < 0.8 ? rng.Pick(kValid) : rng.Pick(kSmall);
  if (roll < 0.3) return rng.Pick(kValid);
  if (roll < 0.5) return rng.Pick(kSmall);
  return rng.Chance(0.8) ? rng.Pick(kBad) : rng.Pick(SpecialValues());
}

std::string BoolValue(Rng& rng, bool valid) {
  static const std::vector<std::string> kValid = {"true", "false", "True", "FALSE",
                                                  "yes",  "no",    "on",   "off"};
  static const std::vector<std::string> kOther = {"y", "n",    "1",      "0", "maybe",
                                                  "",  "null", "[true]", "2"};
  return valid || rng.Chance(0.5) ? rng.Pick(kValid) : rng.Pick(kOther);
}

struct Option {
  std::string key;
  std::string value;  ///< YAML text
};

/// A value for option `spec` (YAML text); `valid`: mostly values the option accepts.
std::string OptionValue(const OptionSpec& spec, Rng& rng, const GeneratedTable& table, bool valid) {
  const std::string name = spec.name;
  switch (spec.kind) {
    case OptionKind::kInteger:
    case OptionKind::kReal:
      return NumberValue(spec, rng, valid);
    case OptionKind::kSize:
      return SizeValue(rng, valid);
    case OptionKind::kBool:
      return BoolValue(rng, valid);
    case OptionKind::kChoice: {
      const std::vector<std::string> words = ChoiceWords(spec.note);
      if (valid || rng.Chance(0.5)) {
        const std::string& word = rng.Pick(words);
        return rng.Chance(0.15) ? UpperCase(word) : word;
      }
      static const std::vector<std::string> kBad = {
          "foo", "", "null", "[pairwise]", "1", "\"star \"", "pair wise", "{a: b}", "true"};
      return rng.Pick(kBad);
    }
    case OptionKind::kText: {
      if (name == "device") {
        static const std::vector<std::string> kValid = {"cpu", "CPU", "auto"};
        static const std::vector<std::string> kBad = {
            "cuda", "cuda:0", "cuda:99999", "cuda:", "cuda:x",
            "gpu",  "",       "null",       "[cpu]", "cuda:12345678901"};
        return valid || rng.Chance(0.4) ? rng.Pick(kValid) : rng.Pick(kBad);
      }
      if (name == "target_column") {
        std::vector<std::string> pool = table.numeric;
        if (!valid) pool.insert(pool.end(), table.text.begin(), table.text.end());
        if (!pool.empty() && (valid || rng.Chance(0.6))) return YamlString(rng.Pick(pool));
        static const std::vector<std::string> kOther = {"missing", "\"\"", "null",
                                                        "[a]",     "5",    "{a: 1}"};
        return rng.Pick(kOther);
      }
      // output_dir (-o wins over it).
      static const std::vector<std::string> kOther = {"elsewhere", "\"\"", "null", "[a]", "5"};
      return rng.Pick(kOther);
    }
    case OptionKind::kNames: {
      if (name == "keep_columns") return NamesValue(rng, table.numeric, valid);
      if (name == "id_columns") {
        if (rng.Chance(0.5)) return rng.Chance(0.5) ? "auto" : "none";
        return NamesValue(rng, valid ? table.numeric : table.names, valid);
      }
      if (name == "descriptor_columns") {
        return NamesValue(rng, valid ? table.numeric : table.names, valid);
      }
      if (name == "metadata_columns")
        return NamesValue(rng, valid ? table.text : table.names, valid);
      return YamlString(table.input);  // inputs
    }
    case OptionKind::kPercentiles:
      return PercentilesValue(rng, valid);
    case OptionKind::kCriteria:
      return CriteriaValue(rng, valid);
  }
  return "null";
}

std::vector<Option> RandomOptions(Rng& rng, const GeneratedTable& table, bool valid) {
  const std::vector<OptionSpec>& specs = OptionSpecs();
  std::vector<Option> options;
  const int count = static_cast<int>(rng.Chance(0.2) ? rng.Between(0, 1) : rng.Between(1, 8));
  for (int k = 0; k < count; ++k) {
    const OptionSpec& spec = rng.Pick(specs);
    const std::string name = spec.name;
    if (name == "inputs" && rng.Chance(0.7)) continue;
    // Valid cases keep Pass 4 affordable and read the table given on the command line.
    if (valid && (name == "output_dir" || name == "inputs" || name == "device")) continue;
    options.push_back({name, OptionValue(spec, rng, table, valid && rng.Chance(0.9))});
  }
  if (!valid && rng.Chance(0.08)) {
    static const std::vector<Option> kKeys = {
        {"prefer_gpu", "true"}, {"variance_treshold", "0.1"},
        {"topk", "3"},          {"parquet_glob", YamlString(table.input)},
        {"hsic_d", "64"},       {"", "1"},
        {"filtering", "5"},     {"filtering", "null"},
        {"weights", "[1, 2]"}};
    options.push_back(rng.Pick(kKeys));
  }
  return options;
}

// ---- the contract ------------------------------------------------------------------------------

/// The outputs every complete pass writes (a pass's own list in the manifest may add more).
const std::vector<std::string>& RequiredOutputs(int stage) {
  static const std::vector<std::vector<std::string>> outputs = {
      {"sampled_data.parquet"},
      {"pass1_stats.csv", "pass1_columns.txt", "pass1_variance_filtering.json"},
      {"pass2_spearman_matrix.npy", "pass2_columns.txt", "pass2_spearman.json"},
      {"pass3_columns.txt", "pass3_vif.json"},
      {"pass4_nonlinear.json", "final_descriptors.txt", "final_cluster_info.json"}};
  return outputs[static_cast<std::size_t>(stage)];
}

/// Problems with OUTDIR ("" when none): temporaries left; a pass the manifest lists whose outputs
/// are missing or empty; with `until` >= 1 (a run that succeeded), a pass up to `until` missing.
std::string CheckOutdir(const std::string& out, int until) {
  std::string problems;
  for (const std::string& folder : {out, out + "/.checkpoint"}) {
    for (const std::string& name : ListDir(folder)) {
      if (name.find(".tmp") != std::string::npos)
        problems += " temporary file " + folder + "/" + name + " left;";
    }
  }
  const std::string manifest_path = out + "/run_manifest.json";
  if (!fs::exists(manifest_path)) {
    if (until >= 1) problems += " no run_manifest.json;";
    return problems;
  }
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(ReadFile(manifest_path));
  } catch (const std::exception& e) {
    return problems + " run_manifest.json does not parse: " + e.what();
  }
  if (!manifest.is_object() || !manifest.contains("passes") || !manifest["passes"].is_array()) {
    return problems + " run_manifest.json has no list of passes;";
  }
  std::set<int> listed;
  for (const auto& pass : manifest["passes"]) {
    if (!pass.contains("stage") || !pass["stage"].is_number_integer()) {
      problems += " a manifest entry without a stage;";
      continue;
    }
    const int stage = pass["stage"].get<int>();
    listed.insert(stage);
    if (stage < 0 || stage > 4) {
      problems += " stage " + std::to_string(stage) + " in the manifest;";
      continue;
    }
    std::set<std::string> files;
    for (const auto& output : pass.value("outputs", nlohmann::json::array())) {
      files.insert(output.value("file", std::string()));
    }
    for (const std::string& name : RequiredOutputs(stage)) {
      if (!files.count(name))
        problems += " pass" + std::to_string(stage) + " does not list " + name + ";";
    }
    for (const std::string& name : files) {
      std::error_code ec;
      const auto size = fs::file_size(out + "/" + name, ec);
      if (ec) {
        problems += " pass" + std::to_string(stage) + " output " + name + " is missing;";
      } else if (size == 0 && name.size() > 4 && name.substr(name.size() - 4) != ".txt") {
        // A column list may be empty (no column survived); every other output has content.
        problems += " pass" + std::to_string(stage) + " output " + name + " is empty;";
      }
    }
  }
  for (int stage = 1; stage <= until; ++stage) {
    if (!listed.count(stage))
      problems += " the manifest does not list pass" + std::to_string(stage) + ";";
  }
  return problems;
}

/// "" when `result` is a complete run (exit 0, `complete()` says "" too) or the clean error;
/// otherwise what broke the contract.
std::string CheckResult(const CliResult& result, const std::function<std::string()>& complete) {
  if (result.timed_out) return "hung: killed after " + std::to_string(kRunTimeoutSeconds) + " s";
  if (result.exit_code == 0) {
    for (const std::string& line : Lines(result.err)) {
      if (line.rfind("error: ", 0) == 0) return "exit code 0 with an error line";
    }
    return complete();
  }
  if (result.exit_code >= 128) return "killed by signal " + std::to_string(result.exit_code - 128);
  if (result.exit_code != 2)
    return "exit code " + std::to_string(result.exit_code) + " (not the clean error, 2)";
  int errors = 0;
  for (const std::string& line : Lines(result.err)) {
    if (line.rfind("error: ", 0) == 0) {
      ++errors;
    } else if (!IsLogLine(line)) {
      return "stray stderr line \"" + line.substr(0, 300) + "\"";
    }
  }
  if (errors != 1) return std::to_string(errors) + " error lines (one expected)";
  if (result.err.back() != '\n') return "stderr does not end with a newline";
  return "";
}

// ---- one case ----------------------------------------------------------------------------------

struct CaseReport {
  std::vector<std::string> commands;
  std::vector<std::string> results;  ///< "exit N" per command
  std::string problem;               ///< "" when every run kept the contract
  std::string failed_stderr;
  int runs = 0;
  int clean_errors = 0;
  int successes = 0;
  int pass4_runs = 0;                      ///< complete runs whose manifest lists Pass 4
  std::map<std::string, int> first_words;  ///< error lines without paths, cut short (statistics)
};

class CaseRunner {
 public:
  CaseRunner(std::uint64_t seed, std::int64_t number, const std::string& dir)
      : rng_(seed ^ (0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(number + 1))), dir_(dir) {}

  const GeneratedTable& table() const { return table_; }
  const std::string& config_text() const { return config_text_; }

  CaseReport Run() {
    table_ = MakeTable(rng_, dir_);
    try {
      RunSql(table_.sql);
    } catch (const std::exception& e) {
      // The generator wrote SQL DuckDB refuses (e.g. a cast out of range): not descpipe's problem,
      // but the generator should not do it.
      report_.problem = std::string("the table's SQL failed (fix the generator): ") + e.what();
      return report_;
    }
    const std::string out = dir_ + "/out";
    const bool valid = rng_.Chance(0.5);
    std::vector<std::string> args = RunArguments(out, valid);
    int until = Until(args);
    const bool succeeded = Execute(
        args, [&] { return CheckOutdir(out, until); }, out);
    if (!report_.problem.empty()) return report_;

    if (rng_.Chance(0.3)) {
      // A second run into the same OUTDIR: resume, or other options, or after the input changed
      // (half its rows, written over it by rename: resume must see the new content).
      if (rng_.Chance(0.5))
        args = RunArguments(out, rng_.Chance(0.7));
      else if (rng_.Chance(0.3))
        args.push_back("--no-resume");
      if (rng_.Chance(0.25) && table_.rows > 0) {
        const std::string reader = table_.csv ? "read_csv" : "read_parquet";
        const std::string temporary = dir_ + "/rewrite" + (table_.csv ? ".csv" : ".parquet");
        const std::string sql = "COPY (SELECT * FROM " + reader + "(" +
                                SqlLiteral(table_.first_file) + ") LIMIT " +
                                std::to_string(table_.rows / 2) + ") TO " + SqlLiteral(temporary) +
                                (table_.csv ? " (FORMAT csv, HEADER)" : " (FORMAT parquet)") + ";";
        try {
          RunSql(sql);
          fs::rename(temporary, table_.first_file);
          table_.sql +=
              "\n-- before the second run, then renamed over " + table_.first_file + ":\n" + sql;
        } catch (const std::exception& e) {
          table_.sql += "\n-- rewriting the input failed (" + std::string(e.what()) + "): " + sql;
        }
      }
      until = Until(args);
      Execute(
          args, [&] { return CheckOutdir(out, until); }, out);
      if (!report_.problem.empty()) return report_;
    }
    if (succeeded && rng_.Chance(0.3)) Explain(out);
    if (!report_.problem.empty()) return report_;
    if (succeeded ? rng_.Chance(0.25) : rng_.Chance(0.03)) Apply(out);
    if (!report_.problem.empty()) return report_;
    if (rng_.Chance(0.12)) Stats();
    if (!report_.problem.empty()) return report_;
    if (rng_.Chance(0.1)) Sample();
    return report_;
  }

 private:
  static int Until(const std::vector<std::string>& args) {
    for (std::size_t k = 0; k + 1 < args.size(); ++k) {
      if (args[k] == "--until" && args[k + 1].size() == 5 && args[k + 1].rfind("pass", 0) == 0) {
        return args[k + 1][4] - '0';
      }
    }
    return 4;
  }

  /// The options as `--set` arguments and, sometimes, a YAML file (some keys in sections).
  void AddOptions(std::vector<std::string>& args, bool valid) {
    const std::vector<Option> options = RandomOptions(rng_, table_, valid);
    const bool use_file = rng_.Chance(0.3);
    std::string yaml;
    static const std::vector<std::string> kSections = {
        "io",         "filtering", "system", "device",    "sampling",
        "statistics", "spearman",  "vif",    "nonlinear", "graph"};
    for (const Option& option : options) {
      if (use_file && rng_.Chance(0.7)) {
        const std::string key = option.key.empty() ? "\"\"" : option.key;
        if (rng_.Chance(0.3)) {
          yaml += rng_.Pick(kSections) + ":\n  " + key + ": " + option.value + "\n";
        } else {
          yaml += key + ": " + option.value + "\n";
        }
      } else {
        const std::string prefix = rng_.Chance(0.1) ? rng_.Pick(kSections) + "." : "";
        args.push_back("--set");
        args.push_back(prefix + option.key + "=" + option.value);
      }
    }
    if (!valid && rng_.Chance(0.05)) {
      static const std::vector<std::string> kOdd = {"novalue", "=5", "threads==2", "",
                                                    "filtering.=1"};
      args.push_back("--set");
      args.push_back(rng_.Pick(kOdd));
    }
    if (use_file) {
      if (!valid && rng_.Chance(0.1)) {
        static const std::vector<std::string> kBroken = {
            "- a\n- b\n",       "a: [\n",       "5\n",          "\"x\": {a: 1}\n",
            "filtering: [1]\n", "? [a]\n: 1\n", "\xff\xfe: 1\n"};
        yaml += rng_.Pick(kBroken);
      }
      std::string path = dir_ + "/config" + std::to_string(++configs_) + ".yaml";
      WriteFile(path, yaml);
      config_text_ += "--- " + path + "\n" + yaml;
      if (!valid && rng_.Chance(0.05)) {
        // Not a readable file: a directory, an absent file, the input table.
        path =
            rng_.Pick(std::vector<std::string>{dir_, dir_ + "/absent.yaml", table_.first_file, ""});
      }
      args.push_back("--config");
      args.push_back(path);
    }
  }

  std::vector<std::string> RunArguments(const std::string& out, bool valid) {
    std::vector<std::string> args = {"run"};
    if (!valid && rng_.Chance(0.05)) {
      args.push_back("--set");
      args.push_back("inputs=" + YamlString(table_.input));
    } else {
      args.push_back(table_.input);
    }
    args.push_back("-o");
    // Rarely an OUTDIR that cannot be one: the input file, the input's folder, nothing.
    if (!valid && rng_.Chance(0.04)) {
      args.push_back(rng_.Pick(std::vector<std::string>{table_.first_file, dir_, "", dir_ + "/"}));
    } else {
      args.push_back(out);
    }
    const double verbosity = rng_.Unit();
    if (verbosity < 0.7)
      args.push_back("-q");
    else if (verbosity < 0.8)
      args.push_back("-v");
    if (rng_.Chance(0.5)) {
      args.push_back("--threads");
      static const std::vector<std::string> kBad = {"-1", "4097", "abc", "1e3", ""};
      args.push_back(valid || rng_.Chance(0.7) ? std::to_string(rng_.Between(0, 8))
                                               : rng_.Pick(kBad));
    }
    if (rng_.Chance(0.4)) {
      args.push_back("--until");
      static const std::vector<std::string> kBad = {"pass0", "pass5", "4", ""};
      args.push_back(valid || rng_.Chance(0.8) ? "pass" + std::to_string(rng_.Between(1, 4))
                                               : rng_.Pick(kBad));
    }
    if (rng_.Chance(0.15)) args.push_back("--no-resume");
    if (rng_.Chance(0.15)) args.push_back("--exact");
    if (rng_.Chance(0.05)) args.push_back("--wait");
    if (rng_.Chance(0.05)) {
      args.push_back("--device");
      args.push_back(valid ? "cpu" : rng_.Chance(0.5) ? "cuda" : "tpu");
    }
    if (valid && rng_.Chance(0.7)) {
      // Small tables: the default min_effective_n (100) would end most runs in Pass 1.
      args.push_back("--set");
      args.push_back("min_effective_n=" + std::to_string(rng_.Between(0, table_.rows / 2 + 1)));
    }
    AddOptions(args, valid);
    return args;
  }

  /// Runs descpipe with `args` and checks the contract; true when it succeeded.
  bool Execute(const std::vector<std::string>& args, const std::function<std::string()>& complete,
               const std::string& out = "") {
    report_.commands.push_back(ShellLine(args));
    const CliResult result = RunCli(args, kRunTimeoutSeconds);
    ++report_.runs;
    report_.results.push_back("exit " + std::to_string(result.exit_code));
    std::string problem = CheckResult(result, complete);
    if (problem.empty() && result.exit_code == 2 && !out.empty()) {
      // A failed run leaves no temporary, and every pass its manifest lists is complete.
      const std::string left = CheckOutdir(out, 0);
      if (!left.empty()) problem = "after the clean error:" + left;
    }
    if (problem.empty()) {
      // Nor does any command beside OUTDIR (apply's and sample's outputs are written there).
      for (const std::string& name : ListDir(dir_)) {
        if (name.find(".tmp") != std::string::npos)
          problem = "temporary file " + dir_ + "/" + name + " left";
      }
    }
    if (!problem.empty()) {
      report_.problem = problem;
      report_.failed_stderr =
          result.err.size() > 6000 ? result.err.substr(result.err.size() - 6000) : result.err;
      return false;
    }
    if (result.exit_code == 0) {
      ++report_.successes;
      if (!out.empty() && Contains(ReadFile(out + "/run_manifest.json"), "\"pass4_nonlinear\"")) {
        ++report_.pass4_runs;
      }
      return true;
    }
    ++report_.clean_errors;
    for (const std::string& line : Lines(result.err)) {
      if (line.rfind("error: ", 0) != 0) continue;
      // The message without the case's paths, cut short: which errors the fuzz reaches.
      std::string key = line.substr(7);
      for (std::size_t at; (at = key.find(dir_)) != std::string::npos;)
        key.replace(at, dir_.size(), "DIR");
      ++report_.first_words[key.substr(0, 60)];
    }
    return false;
  }

  void Explain(const std::string& out) {
    std::vector<std::string> pool = table_.names;
    pool.insert(pool.end(), {"missing", "", "../x", "final_descriptors.txt"});
    Execute({"explain", out, rng_.Pick(pool)}, [] { return std::string(); });
  }

  void Apply(const std::string& out) {
    const std::string output = rng_.Chance(0.9)
                                   ? dir_ + "/applied" + std::to_string(report_.runs) + ".parquet"
                                   : out + "/applied.parquet";
    std::vector<std::string> args = {
        "apply", out,    rng_.Chance(0.9) ? table_.input : dir_ + "/absent.parquet",
        "-o",    output, "-q"};
    if (rng_.Chance(0.5)) {
      static const std::vector<std::string> kAfter = {"pass2", "pass3", "final"};
      args.push_back("--after");
      args.push_back(rng_.Pick(kAfter));
    }
    if (rng_.Chance(0.3)) {
      args.push_back("--threads");
      args.push_back(std::to_string(rng_.Between(0, 8)));
    }
    Execute(args, [output] {
      std::error_code ec;
      const auto size = fs::file_size(output, ec);
      return ec || size == 0 ? std::string("apply succeeded without writing ") + output
                             : std::string();
    });
  }

  void Stats() {
    std::vector<std::string> args = {"stats", table_.input, "-q"};
    if (rng_.Chance(0.5)) {
      static const std::vector<std::string> kFormats = {"table", "csv", "json"};
      args.push_back("-f");
      args.push_back(rng_.Pick(kFormats));
    }
    AddOptions(args, rng_.Chance(0.6));
    Execute(args, [] { return std::string(); });
  }

  void Sample() {
    const std::string output = dir_ + "/sample" + std::to_string(report_.runs) + ".parquet";
    std::vector<std::string> args = {"sample", table_.input, "-o", output, "-q"};
    static const std::vector<std::string> kCounts = {
        "1", "5", "100", "1000", "0", "-3", "1e308", "9223372036854775807", "abc"};
    if (rng_.Chance(0.5)) {
      args.push_back("-n");
      args.push_back(rng_.Pick(kCounts));
    } else if (rng_.Chance(0.5)) {
      args.push_back("--per-file");
      args.push_back(rng_.Pick(kCounts));
    }
    if (rng_.Chance(0.3)) {
      args.push_back("--seed");
      args.push_back(rng_.Chance(0.7) ? std::to_string(rng_.Below(1000)) : "-5");
    }
    if (rng_.Chance(0.3)) AddOptions(args, rng_.Chance(0.6));
    Execute(args, [output] {
      std::error_code ec;
      const auto size = fs::file_size(output, ec);
      return ec || size == 0 ? std::string("sample succeeded without writing ") + output
                             : std::string();
    });
  }

  Rng rng_;
  std::string dir_;
  GeneratedTable table_;
  std::string config_text_;
  int configs_ = 0;
  CaseReport report_;
};

std::string Describe(std::uint64_t seed, std::int64_t number, const CaseRunner& runner,
                     const CaseReport& report) {
  std::ostringstream text;
  text << "case " << number << " (replay: DESCPIPE_FUZZ_SEED=" << seed
       << " DESCPIPE_FUZZ_CASE=" << number << " DESCPIPE_FUZZ_KEEP=1 "
       << "descpipe_fuzz_tests)\n"
       << "problem: " << report.problem << "\n"
       << "table (" << runner.table().rows << " rows), SQL:\n"
       << runner.table().sql << "\n";
  if (!runner.config_text().empty()) text << "config files:\n" << runner.config_text();
  for (std::size_t k = 0; k < report.commands.size(); ++k) {
    text << "$ " << report.commands[k] << "\n  -> "
         << (k < report.results.size() ? report.results[k] : "") << "\n";
  }
  if (!report.failed_stderr.empty())
    text << "stderr of the failing run:\n" << report.failed_stderr << "\n";
  return text.str();
}

TEST(Fuzz, OptionsAndTables) {
  const FuzzSettings settings = ReadSettings();
  std::cout << "fuzz: seed " << settings.seed << ", budget " << settings.seconds << " s"
            << (settings.only_case >= 0 ? ", case " + std::to_string(settings.only_case)
                                        : std::string())
            << " (DESCPIPE_FUZZ_SEED, DESCPIPE_FUZZ_SECONDS, DESCPIPE_FUZZ_CASE)" << std::endl;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  int cases = 0;
  int failures = 0;
  int runs = 0;
  int successes = 0;
  int clean_errors = 0;
  int pass4_runs = 0;
  std::map<std::string, int> errors;
  for (std::int64_t number = settings.only_case >= 0 ? settings.only_case : 0;; ++number) {
    if (settings.only_case >= 0 ? number > settings.only_case : elapsed() >= settings.seconds)
      break;
    // Not a TempDir: DESCPIPE_FUZZ_KEEP keeps it.
    std::string dir = fs::temp_directory_path().string() + "/descpipe-fuzz-XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    CaseReport report;
    {
      CaseRunner runner(settings.seed, number, dir);
      report = runner.Run();
      ++cases;
      runs += report.runs;
      successes += report.successes;
      pass4_runs += report.pass4_runs;
      clean_errors += report.clean_errors;
      for (const auto& [words, count] : report.first_words) errors[words] += count;
      if (!report.problem.empty()) {
        ++failures;
        if (failures <= kMaxReported)
          ADD_FAILURE() << Describe(settings.seed, number, runner, report);
      } else if (settings.only_case >= 0) {
        std::cout << Describe(settings.seed, number, runner, report);
      }
    }
    if (settings.keep) {
      std::cout << "case " << number << " kept in " << dir << std::endl;
    } else {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }
  std::cout << "fuzz: " << cases << " cases, " << runs << " runs (" << successes << " complete ("
            << pass4_runs << " through Pass 4), " << clean_errors << " clean errors) in "
            << elapsed() << " s; " << failures << " broke the contract" << std::endl;
  if (std::getenv("DESCPIPE_FUZZ_STATS") != nullptr) {
    for (const auto& [words, count] : errors)
      std::cout << "  " << count << "  error: " << words << " ..." << std::endl;
  }
  EXPECT_GT(cases, 0);
  EXPECT_EQ(failures, 0) << "seed " << settings.seed;
}

}  // namespace
}  // namespace descpipe
