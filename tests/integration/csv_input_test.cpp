// CSV input through the executable: missing-value tokens (na_values), text among numbers
// (non_numeric: error | missing | metadata) decided over every row rather than DuckDB's first
// rows, columns without any value; and the output formats of `apply` and `sample`.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/table.hpp"
#include "support/test_support.hpp"

namespace descpipe::csv_input {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::Contains;
using testing::Lines;
using testing::QueryScalar;
using testing::ReadFile;
using testing::RunCli;
using testing::RunProgram;
using testing::RunSql;
using testing::Succeeded;
using testing::TempDir;
using testing::WriteFile;

/// The "error: " line of stderr ("" when none).
std::string ErrorLine(const CliResult& result) {
  for (const std::string& line : Lines(result.err)) {
    if (line.rfind("error: ", 0) == 0) return line;
  }
  return "";
}

/// `text` as a CSV field: quoted when it holds a delimiter, a quote or a '#'.
std::string Field(const std::string& text) {
  if (text.find_first_of(",\"") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

class CsvInputTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ / name; }

  /// A cell of `out`/pass1_stats.csv: `field` of descriptor `column` ("" when it is absent).
  std::string Stat(const std::string& out, const std::string& column,
                   const std::string& field) const {
    return QueryScalar(
        "SELECT " + QuoteIdentifier(field) + " FROM read_csv(" +
        QuoteLiteral(out + "/pass1_stats.csv") +
        ", all_varchar = true, header = true) WHERE \"column\" = " + QuoteLiteral(column));
  }

  /// run --until pass1 on `inputs` with `args`; the result (outputs in `out`).
  CliResult RunPass1(const std::vector<std::string>& inputs, const std::string& out,
                     const std::vector<std::string>& args = {}) const {
    std::vector<std::string> all = {"run"};
    all.insert(all.end(), inputs.begin(), inputs.end());
    all.insert(all.end(), {"-o", out, "--until", "pass1"});
    all.insert(all.end(), args.begin(), args.end());
    return RunCli(all);
  }

  /// 60,000 rows: id, a (DOUBLE), n (integers; "-0.25" on row 55,000, after DuckDB's sniffed
  /// rows), t (numbers; `token` on row 55,000, line 55,002 of the file).
  std::string LateToken(const std::string& token) const {
    const std::string path = Path("late.csv");
    RunSql(
        "COPY (SELECT 'm' || range AS id, sin(range) AS a, CASE WHEN range = 55000 THEN "
        "'-0.25' ELSE range::VARCHAR END AS n, CASE WHEN range = 55000 THEN " +
        QuoteLiteral(token) + " ELSE (range % 101)::VARCHAR END AS t FROM range(60000)) TO " +
        QuoteLiteral(path) + " (FORMAT csv, HEADER true)");
    return path;
  }

  TempDir dir_;
};

// ---- na_values -------------------------------------------------------------------------------

TEST_F(CsvInputTest, EveryDefaultNaValueIsMissing) {
  // One descriptor column per token: the token on rows 3 and 10 (quoted on row 10), numbers
  // elsewhere. Each column is a descriptor with exactly two missing values.
  const std::vector<std::string>& tokens = DefaultNaValues();
  ASSERT_GE(tokens.size(), 14u);
  std::string csv = "id";
  for (std::size_t t = 0; t < tokens.size(); ++t) csv += ",t" + std::to_string(t);
  csv += "\n";
  for (int row = 0; row < 200; ++row) {
    csv += "m" + std::to_string(row);
    for (const std::string& token : tokens) {
      csv += ",";
      if (row == 3) {
        csv += Field(token);
      } else if (row == 10) {
        csv += "\"" + token + "\"";
      } else {
        csv += std::to_string(row * 0.5 + static_cast<double>(token.size()));
      }
    }
    csv += "\n";
  }
  const std::string path = Path("tokens.csv");
  WriteFile(path, csv);
  const std::string out = Path("out");
  ASSERT_TRUE(Succeeded(RunPass1({path}, out)));
  for (std::size_t t = 0; t < tokens.size(); ++t) {
    SCOPED_TRACE("token \"" + tokens[t] + "\"");
    EXPECT_EQ(Stat(out, "t" + std::to_string(t), "n_null"), "2");
    EXPECT_EQ(Stat(out, "t" + std::to_string(t), "n_valid"), "198");
  }
}

TEST_F(CsvInputTest, NaValuesReplacesTheDefaultList) {
  // -999 is a missing-value code; with na_values given, "NA" is text again.
  std::string csv = "id,a,b\n";
  for (int row = 0; row < 200; ++row) {
    csv += "m" + std::to_string(row) + "," + (row % 10 == 0 ? "-999" : std::to_string(row)) + "," +
           (row == 150 ? "NA" : std::to_string(row % 13)) + "\n";
  }
  const std::string path = Path("codes.csv");
  WriteFile(path, csv);
  const std::string out = Path("out");
  const CliResult refused = RunPass1({path}, out, {"--set", "na_values=[-999, \"\"]"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(Contains(ErrorLine(refused), "\"b\"")) << refused.err;
  EXPECT_TRUE(Contains(ErrorLine(refused), "\"NA\" on line 152")) << refused.err;
  ASSERT_TRUE(Succeeded(RunPass1({path}, out, {"--set", "na_values=[-999, NA]"})));
  EXPECT_EQ(Stat(out, "a", "n_null"), "20");
  EXPECT_EQ(Stat(out, "a", "min"), "1");
  EXPECT_EQ(Stat(out, "b", "n_null"), "1");
  // By default -999 is a number.
  ASSERT_TRUE(Succeeded(RunPass1({path}, Path("default"))));
  EXPECT_EQ(Stat(Path("default"), "a", "min"), "-999");
  // YAML's null is no text: refused rather than read as the empty field.
  const CliResult null_item = RunPass1({path}, Path("null"), {"--set", "na_values=[NA, null]"});
  EXPECT_EQ(null_item.exit_code, 2);
  EXPECT_TRUE(Contains(ErrorLine(null_item), "quote")) << null_item.err;
}

// ---- text among numbers ----------------------------------------------------------------------

TEST_F(CsvInputTest, TextAfterTheSniffedRowsIsAnErrorNamingLineAndValue) {
  const std::string path = LateToken("oops");
  const CliResult result = RunPass1({path}, Path("out"));
  EXPECT_EQ(result.exit_code, 2);
  const std::string error = ErrorLine(result);
  for (const std::string part :
       {std::string("\"t\""), path, std::string("line 55002"), std::string("\"oops\""),
        std::string("non_numeric"), std::string("na_values"), std::string("1 of its 60000")}) {
    EXPECT_TRUE(Contains(error, part)) << part << " not in: " << error;
  }
  EXPECT_FALSE(Contains(result.err, "CSV Error")) << result.err;
}

TEST_F(CsvInputTest, MissingPolicyReadsTextAsMissing) {
  const std::string path = LateToken("oops");
  const std::string out = Path("out");
  const CliResult result = RunPass1({path}, out, {"--set", "non_numeric=missing"});
  ASSERT_TRUE(Succeeded(result));
  EXPECT_EQ(Stat(out, "t", "n_null"), "1");
  EXPECT_EQ(Stat(out, "t", "n_valid"), "59999");
  // One warning for the column, with the count and the first value.
  std::size_t warnings = 0;
  for (const std::string& line : Lines(result.err)) {
    if (Contains(line, "\"t\"") && Contains(line, "\"oops\" on line 55002")) ++warnings;
  }
  EXPECT_EQ(warnings, 1u) << result.err;
  // An integer column with a decimal after the sniffed rows is read exactly (DuckDB's BIGINT
  // reading would round -0.25 to 0).
  EXPECT_EQ(Stat(out, "n", "min"), "-0.25");
  EXPECT_EQ(Stat(out, "n", "n_null"), "0");
}

TEST_F(CsvInputTest, MetadataPolicyKeepsTheColumnAsMetadata) {
  const std::string path = LateToken("oops");
  const std::string out = Path("out");
  const CliResult result = RunPass1({path}, out, {"--set", "non_numeric=metadata"});
  ASSERT_TRUE(Succeeded(result));
  EXPECT_TRUE(Contains(result.err, "non_numeric: metadata")) << result.err;
  EXPECT_EQ(Stat(out, "t", "n_total"), "");  // not a descriptor
  const auto manifest = nlohmann::json::parse(ReadFile(out + "/run_manifest.json"));
  EXPECT_EQ(manifest["columns"]["metadata"], nlohmann::json::parse(R"(["id", "t"])"));
}

TEST_F(CsvInputTest, EveryRowDecidesNotTheFirstOnes) {
  // Text early (in DuckDB's sniffed rows) is found the same way, and a column whose every
  // value before row 30,000 is missing is typed by the values after.
  const std::string path = Path("early.csv");
  RunSql(
      "COPY (SELECT 'm' || range AS id, CASE WHEN range = 5 THEN '#VALUE?' ELSE "
      "range::VARCHAR END AS t, CASE WHEN range < 30000 THEN NULL ELSE range * 0.5 END AS late, "
      "range % 7 AS c FROM range(40000)) TO " +
      QuoteLiteral(path) + " (FORMAT csv, HEADER true)");
  const CliResult refused = RunPass1({path}, Path("out"));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(Contains(ErrorLine(refused), "\"#VALUE?\" on line 7")) << refused.err;
  const std::string out = Path("out2");
  ASSERT_TRUE(Succeeded(RunPass1({path}, out, {"--set", "na_values=[\"\", \"#VALUE?\"]"})));
  EXPECT_EQ(Stat(out, "t", "n_null"), "1");
  EXPECT_EQ(Stat(out, "late", "n_valid"), "10000");
  EXPECT_EQ(Stat(out, "late", "max"), "19999.5");
}

TEST_F(CsvInputTest, TextColumnsAndNamedMetadataAreNeverChecked) {
  // smiles is text (metadata as before); code is mostly numbers but named in metadata_columns;
  // with descriptor_columns, a column not named is not read.
  std::string csv = "id,smiles,code,a,other\n";
  for (int row = 0; row < 200; ++row) {
    csv += std::to_string(row) + ",C" + std::to_string(row) + "O," +
           (row == 7 ? "X-17" : std::to_string(1000 + row)) + "," + std::to_string(row * 0.25) +
           "," + (row == 9 ? "bad" : std::to_string(row % 3)) + "\n";
  }
  const std::string path = Path("text.csv");
  WriteFile(path, csv);
  const std::string out = Path("out");
  ASSERT_TRUE(Succeeded(RunPass1(
      {path}, out,
      {"--set", "metadata_columns=[id, smiles, code]", "--set", "descriptor_columns=[a]"})));
  const auto manifest = nlohmann::json::parse(ReadFile(out + "/run_manifest.json"));
  EXPECT_EQ(manifest["columns"]["metadata"], nlohmann::json::parse(R"(["id", "smiles", "code"])"));
  EXPECT_EQ(Stat(out, "a", "n_valid"), "200");
  // Without descriptor_columns, "other" (one text value among numbers) is refused.
  const CliResult refused =
      RunPass1({path}, Path("out2"), {"--set", "metadata_columns=[id, smiles, code]"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(Contains(ErrorLine(refused), "\"other\"")) << refused.err;
  EXPECT_TRUE(Contains(ErrorLine(refused), "\"bad\" on line 11")) << refused.err;
}

TEST_F(CsvInputTest, ErrorNamesTheFileAmongSeveral) {
  // Two files: the column is decided over both; the error names the file holding the text.
  WriteFile(Path("a.csv"), "id,x\nm0,1\nm1,2\n");
  WriteFile(Path("b.csv"), "id,x\nm2,3\nm3,n.d.\nm4,5\n");
  const CliResult refused = RunPass1({Path("a.csv"), Path("b.csv")}, Path("out"));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(Contains(ErrorLine(refused), "\"n.d.\" on line 3 of '" + Path("b.csv") + "'"))
      << refused.err;
  const std::string out = Path("out2");
  ASSERT_TRUE(Succeeded(RunPass1({Path("a.csv"), Path("b.csv")}, out,
                                 {"--set", "non_numeric=missing", "--set", "min_effective_n=1"})));
  EXPECT_EQ(Stat(out, "x", "n_valid"), "4");
  EXPECT_EQ(Stat(out, "x", "n_null"), "1");
}

// ---- a column without any value ------------------------------------------------------------

TEST_F(CsvInputTest, EmptyColumnIsRemovedAsMissing) {
  std::string csv = "id,a,empty,b\n";
  for (int row = 0; row < 300; ++row) {
    csv += "m" + std::to_string(row) + "," + std::to_string(row * 0.5) + ",," +
           std::to_string((row * 37) % 101) + "\n";
  }
  const std::string path = Path("empty.csv");
  WriteFile(path, csv);
  const std::string out = Path("out");
  const CliResult result = RunCli({"run", path, "-o", out});
  ASSERT_TRUE(Succeeded(result));
  EXPECT_TRUE(Contains(result.err, "\"empty\"")) << result.err;  // said at open
  EXPECT_EQ(Stat(out, "empty", "n_null"), "300");
  EXPECT_EQ(Stat(out, "empty", "reason"), "missing");
  const auto pass1 = nlohmann::json::parse(ReadFile(out + "/pass1_variance_filtering.json"));
  bool removed = false;
  for (const auto& entry : pass1["removed"]) {
    removed = removed || (entry["column"] == "empty" && entry["reason"] == "missing");
  }
  EXPECT_TRUE(removed) << pass1["removed"].dump();
  const auto lineage = nlohmann::json::parse(ReadFile(out + "/final_cluster_info.json"));
  EXPECT_TRUE(lineage["removed"].contains("empty")) << lineage["removed"].dump();
}

// ---- output formats of apply and sample ------------------------------------------------------

class OutputFormatTest : public CsvInputTest {
 protected:
  void SetUp() override {
    // Doubles that need 17 digits, extremes, NaN, infinities, -0, NULL and awkward text.
    input_ = Path("in.parquet");
    RunSql(
        "COPY (SELECT 'm' || range AS id, CASE WHEN range = 3 THEN 'a,\"b\"' ELSE 'C' || range END "
        "AS smiles, CASE WHEN range % 50 = 0 THEN NULL WHEN range = 7 THEN 'nan'::DOUBLE WHEN "
        "range = 8 THEN 'inf'::DOUBLE WHEN range = 9 THEN '-inf'::DOUBLE WHEN range = 11 THEN "
        "5e-324 WHEN range = 12 THEN 1.7976931348623157e308 WHEN range = 13 THEN -0.0 ELSE "
        "exp(sin(range) * 700) * cos(range * 3) END AS x, sqrt(range) / 3 AS y, (range % 17) AS "
        "k FROM range(2000)) TO " +
        QuoteLiteral(input_) + " (FORMAT parquet)");
    out_ = Path("run");
    ASSERT_TRUE(
        Succeeded(RunCli({"run", input_, "-o", out_, "-q", "--set", "metadata_columns=[id, smiles]",
                          "--set", "keep_columns=[x, y, k]"})));
    ASSERT_EQ(Lines(ReadFile(out_ + "/final_descriptors.txt")),
              (std::vector<std::string>{"x", "y", "k"}));
  }
  /// Every value of `path` (read by DuckDB as `reader`) equals the input's, NULL for NULL, NaN
  /// for NaN.
  void ExpectSameValues(const std::string& reader, const std::vector<std::string>& columns) {
    std::string same;
    for (const std::string& column : columns) {
      const std::string c = QuoteIdentifier(column);
      same += " AND (o." + c + " IS NOT DISTINCT FROM i." + c + ")";
    }
    EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + reader + " o POSITIONAL JOIN read_parquet(" +
                          QuoteLiteral(input_) + ") i WHERE true" + same),
              "2000");
  }
  std::string input_;
  std::string out_;
};

TEST_F(OutputFormatTest, ApplyWritesTheFormatOfTheExtension) {
  const std::vector<std::string> kept = Lines(ReadFile(out_ + "/final_descriptors.txt"));
  ASSERT_FALSE(kept.empty());
  std::vector<std::string> columns = {"id", "smiles"};
  columns.insert(columns.end(), kept.begin(), kept.end());
  for (const std::string name : {"r.parquet", "r.csv", "r.csv.gz", "R.CSV"}) {
    SCOPED_TRACE(name);
    const std::string path = Path(name);
    ASSERT_TRUE(Succeeded(RunCli({"apply", out_, input_, "-o", path, "-q"})));
    const std::string bytes = ReadFile(path);
    const bool parquet = name == "r.parquet";
    const bool gzip = name == "r.csv.gz";
    EXPECT_EQ(bytes.substr(0, 4) == "PAR1", parquet);
    EXPECT_EQ(bytes.size() > 2 && bytes[0] == '\x1f' && bytes[1] == '\x8b', gzip);
    if (!parquet && !gzip) EXPECT_EQ(bytes.substr(0, 10), "id,smiles,");
    std::string types;
    for (const std::string& column : columns)
      types += (types.empty() ? "" : ", ") + QuoteLiteral(column) + ": " +
               (column == "id" || column == "smiles" ? "'VARCHAR'" : "'DOUBLE'");
    const std::string reader =
        parquet ? "read_parquet(" + QuoteLiteral(path) + ")"
                : "read_csv(" + QuoteLiteral(path) + ", header = true, columns = {" + types + "})";
    ExpectSameValues(reader, columns);
  }
}

TEST_F(OutputFormatTest, ApplyCsvReadsBackInPandasWithTheSameDoubles) {
  const CliResult pandas = RunProgram("/usr/bin/python3", {"-c", "import pandas"}, 60);
  if (pandas.exit_code != 0) GTEST_SKIP() << "/usr/bin/python3 with pandas is not available";
  const std::string csv = Path("r.csv");
  ASSERT_TRUE(Succeeded(RunCli({"apply", out_, input_, "-o", csv, "-q"})));
  // pandas reads the CSV (float_precision="round_trip": its default parser is not correctly
  // rounded) and writes every double with repr(), the shortest text that reads back exactly;
  // DuckDB compares those with the input.
  const std::string back = Path("back.csv");
  const std::string script =
      "import sys, pandas as pd\n"
      "df = pd.read_csv(sys.argv[1], float_precision='round_trip', keep_default_na=False, "
      "na_values=[''])\n"
      "with open(sys.argv[2], 'w') as out:\n"
      "    out.write(','.join(df.columns) + '\\n')\n"
      "    for row in df.itertuples(index=False):\n"
      "        out.write(','.join(repr(v) if isinstance(v, float) else '\"' + str(v).replace('\"', "
      "'\"\"') + '\"' for v in row) + '\\n')\n";
  const CliResult written = RunProgram("/usr/bin/python3", {"-c", script, csv, back}, 120);
  ASSERT_EQ(written.exit_code, 0) << written.err;
  const std::vector<std::string> kept = Lines(ReadFile(out_ + "/final_descriptors.txt"));
  std::vector<std::string> columns = {"id", "smiles"};
  columns.insert(columns.end(), kept.begin(), kept.end());
  std::string types;
  for (const std::string& column : columns)
    types += (types.empty() ? "" : ", ") + QuoteLiteral(column) + ": " +
             (column == "id" || column == "smiles" ? "'VARCHAR'" : "'DOUBLE'");
  const std::string back_reader =
      "read_csv(" + QuoteLiteral(back) + ", header = true, columns = {" + types + "})";
  ExpectSameValues(back_reader, {"id", "smiles"});
  // Doubles: pandas writes a missing value (NULL or NaN) as nan; the others must be the same
  // doubles, sign of zero included.
  for (const std::string& column : kept) {
    SCOPED_TRACE(column);
    const std::string o = "o." + QuoteIdentifier(column);
    const std::string i = "i." + QuoteIdentifier(column) + "::DOUBLE";
    EXPECT_EQ(
        QueryScalar("SELECT count(*) FROM " + back_reader + " o POSITIONAL JOIN read_parquet(" +
                    QuoteLiteral(input_) + ") i WHERE (" + i + " IS NULL OR isnan(" + i +
                    ")) = isnan(" + o + ") AND (isnan(" + o + ") OR (" + o + " = " + i +
                    " AND signbit(" + o + ") = signbit(" + i + ")))"),
        "2000");
  }
}

TEST_F(OutputFormatTest, SampleWritesTheFormatOfTheExtension) {
  for (const std::string name : {"s.parquet", "s.csv", "s.csv.gz"}) {
    SCOPED_TRACE(name);
    const std::string path = Path(name);
    ASSERT_TRUE(Succeeded(RunCli({"sample", input_, "-n", "25", "-o", path, "-q"})));
    const std::string reader = name == "s.parquet"
                                   ? "read_parquet(" + QuoteLiteral(path) + ")"
                                   : "read_csv(" + QuoteLiteral(path) + ", header = true)";
    EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + reader), "25");
    EXPECT_EQ(QueryScalar("SELECT string_agg(id, ',') FROM " + reader),
              QueryScalar("SELECT string_agg(id, ',') FROM read_parquet(" +
                          QuoteLiteral(Path("s.parquet")) + ")"));
  }
}

TEST_F(OutputFormatTest, UnknownExtensionFailsBeforeAnyWork) {
  // The input does not exist: the format is refused first, and nothing is written.
  const std::string absent = Path("absent.csv");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"apply", out_, absent, "-o", Path("r.txt")},
        std::vector<std::string>{"apply", out_, absent, "-o", Path("r.tsv")},
        std::vector<std::string>{"sample", absent, "-n", "5", "-o", Path("s.txt")},
        std::vector<std::string>{"sample", absent, "-n", "5", "-o", Path("csv")}}) {
    SCOPED_TRACE(args.back());
    const CliResult result = RunCli(args);
    EXPECT_EQ(result.exit_code, 2);
    const std::string error = ErrorLine(result);
    for (const std::string part :
         {args.back(), std::string(".parquet"), std::string(".csv"), std::string(".csv.gz")}) {
      EXPECT_TRUE(Contains(error, part)) << part << " not in: " << error;
    }
    EXPECT_FALSE(Contains(error, "does not exist")) << error;
    EXPECT_FALSE(fs::exists(args.back()));
  }
}

TEST_F(OutputFormatTest, ApplyReadsCsvInputsWithTheRunsOptions) {
  // The run read its CSV with na_values [-1] and non_numeric: missing; apply reads a new CSV
  // the same way (-1 and text are missing, not errors).
  std::string csv = "id,a,b\n";
  for (int row = 0; row < 300; ++row) {
    csv += "m" + std::to_string(row) + "," + (row % 10 == 0 ? "-1" : std::to_string(row)) + "," +
           (row == 100 ? "n.d." : std::to_string(row % 7)) + "\n";
  }
  const std::string path = Path("in.csv");
  WriteFile(path, csv);
  const std::string out = Path("run_csv");
  ASSERT_TRUE(Succeeded(RunCli({"run", path, "-o", out, "-q", "--set", "na_values=[-1]", "--set",
                                "non_numeric=missing", "--set", "keep_columns=[a, b]"})));
  const std::string reduced = Path("reduced.csv");
  ASSERT_TRUE(Succeeded(RunCli({"apply", out, path, "-o", reduced, "-q"})));
  const std::string reader = "read_csv(" + QuoteLiteral(reduced) + ", header = true)";
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + reader), "300");
  EXPECT_EQ(QueryScalar("SELECT count(a) FROM " + reader), "270");
  EXPECT_EQ(QueryScalar("SELECT count(b) FROM " + reader), "299");
}

}  // namespace
}  // namespace descpipe::csv_input
