// Bad input through the executable: every case exits non-zero with exactly one "error: " line on
// stderr that names the file and/or column and the problem, and leaves no output behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/table.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Contains;
using testing::Lines;
using testing::MessageOf;

namespace fs = std::filesystem;
using testing::CliResult;
using testing::IsLogLine;
using testing::ListDir;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::TempDir;
using testing::WriteFile;

class BadInputTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ / name; }
  std::string Out() const { return dir_ / "out"; }

  /// A valid input: id (VARCHAR), a, b, c (DOUBLE), 200 rows (a in halves: whole numbers in order
  /// would be a row number, an identifier).
  std::string GoodParquet(const std::string& name = "good.parquet") const {
    const std::string path = Path(name);
    RunSql(
        "COPY (SELECT 'm' || range AS id, range * 0.5 AS a, sin(range) AS b, (range % 7) * 1.0 AS "
        "c "
        "FROM range(200)) TO " +
        QuoteLiteral(path) + " (FORMAT parquet)");
    return path;
  }

  /// Runs `descpipe run ARGS... -o OUT` and checks the failure contract; returns the error line.
  std::string RunFails(std::vector<std::string> args,
                       const std::vector<std::string>& expected) const {
    args.push_back("-o");
    args.push_back(Out());
    return Fails(args, expected);
  }

  std::string Fails(const std::vector<std::string>& args,
                    const std::vector<std::string>& expected) const {
    const CliResult result = RunCli(args);
    EXPECT_NE(result.exit_code, 0);
    // Exactly one line starting with "error: "; anything else on stderr is a log line.
    std::string error_line;
    int error_lines = 0;
    for (const std::string& line : Lines(result.err)) {
      if (line.rfind("error: ", 0) == 0) {
        ++error_lines;
        error_line = line;
      } else {
        EXPECT_TRUE(IsLogLine(line)) << "unexpected stderr line: " << line << "\nstderr:\n"
                                     << result.err;
      }
    }
    EXPECT_EQ(error_lines, 1) << "stderr:\n" << result.err;
    EXPECT_TRUE(!result.err.empty() && result.err.back() == '\n');
    for (const std::string& part : expected) {
      EXPECT_NE(error_line.find(part), std::string::npos)
          << "error line \"" << error_line << "\" does not contain \"" << part << "\"";
    }
    // No output: the directory is absent, or holds no pass output nor temporary file.
    for (const std::string& name : ListDir(Out())) {
      EXPECT_NE(name.rfind("pass1_", 0), 0u) << name;
      EXPECT_EQ(name.find(".tmp"), std::string::npos) << name;
      EXPECT_NE(name, "sampled_data.parquet");
    }
    return error_line;
  }

  TempDir dir_;
};

// ---- files -----------------------------------------------------------------------------------

TEST_F(BadInputTest, NoFileMatchesTheGlob) {
  GoodParquet();
  const std::string pattern = Path("*.nothing.parquet");
  RunFails({"run", pattern}, {pattern, "no file matches"});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, PathDoesNotExist) {
  const std::string path = Path("absent.parquet");
  RunFails({"run", path}, {path, "does not exist"});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, GarbageFileNamedParquet) {
  const std::string path = Path("garbage.parquet");
  WriteFile(path, std::string(3000, 'x') + "not parquet");
  RunFails({"run", path}, {path, "Parquet"});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, UnreadableFile) {
  const std::string path = GoodParquet();
  fs::permissions(path, fs::perms::none);
  if (ReadFile(path).size() > 0) GTEST_SKIP() << "running as a user who can read any file (root)";
  RunFails({"run", path}, {path});
}

TEST_F(BadInputTest, TruncatedParquet) {
  const std::string full = GoodParquet("full.parquet");
  const std::string bytes = ReadFile(full);
  const std::string path = Path("half.parquet");
  WriteFile(path, bytes.substr(0, bytes.size() / 2));
  RunFails({"run", path}, {path});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, GarbageCsvIsOneLine) {
  // DuckDB's sniffer error spans many lines of candidates and fixes.
  const std::string path = Path("binary.csv");
  std::string bytes;
  for (int i = 0; i < 4000; ++i) bytes += static_cast<char>((i * 7919 + 13) % 256);
  WriteFile(path, bytes);
  RunFails({"run", path}, {path});
}

TEST_F(BadInputTest, NonNumericValueAfterTheSniffedRows) {
  // The CSV sniffer types "a" as BIGINT from the first rows; row 25000 holds text. descpipe
  // types columns over every row: the error comes at open, one line naming the file, the
  // column, the line and the value (more in csv_input_test.cpp).
  const std::string path = Path("late_text.csv");
  RunSql(
      "COPY (SELECT 'm' || range AS id, CASE WHEN range = 25000 THEN 'abc' ELSE range::VARCHAR END "
      "AS a, "
      "range % 7 AS b FROM range(30000)) TO " +
      QuoteLiteral(path) + " (FORMAT csv, HEADER true)");
  RunFails({"run", path}, {path, "\"a\"", "\"abc\" on line 25002"});
}

TEST_F(BadInputTest, MixedFormats) {
  const std::string parquet = GoodParquet();
  const std::string csv = Path("good.csv");
  WriteFile(csv, "id,a\nx,1\n");
  RunFails({"run", parquet, csv}, {parquet, csv, "mix"});
}

TEST_F(BadInputTest, OutputDirectoryIsAFile) {
  const std::string input = GoodParquet();
  WriteFile(Out(), "a file");
  RunFails({"run", input}, {Out(), "not a directory"});
  EXPECT_EQ(ReadFile(Out()), "a file");
}

TEST_F(BadInputTest, NotARegularFileIsNamed) {
  if (fs::exists("/dev/zero")) {
    RunFails({"run", "/dev/zero"}, {"'/dev/zero' is not a regular file (a character device)"});
  }
  const std::string dangling = Path("dangling.parquet");
  fs::create_symlink(Path("gone.parquet"), dangling);
  RunFails({"run", dangling}, {dangling, "dangling symlink", Path("gone.parquet")});
  const std::string loop = Path("loop.parquet");
  fs::create_symlink(loop, loop);
  RunFails({"run", loop}, {loop, "symlink loop"});
  EXPECT_FALSE(fs::exists(Out()));
}

/// Runs `descpipe run ARGS... -o OUT` expecting success; returns stderr.
std::string RunCliSucceeds(std::vector<std::string> args, const std::string& out) {
  args.insert(args.end(), {"-o", out});
  const CliResult result = RunCli(args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  return result.err;
}

/// Rows Pass 1 saw (n_total of the first descriptor in pass1_stats.csv).
std::string Pass1RowCount(const std::string& out) {
  const std::vector<std::string> lines = Lines(ReadFile(out + "/pass1_stats.csv"));
  if (lines.size() < 2) return "";
  const std::string& row = lines[1];
  const std::size_t first = row.find(',');
  return row.substr(first + 1, row.find(',', first + 1) - first - 1);
}

TEST_F(BadInputTest, FileNamesWithGlobCharactersAreReadAsThemselves) {
  // DuckDB expands '[...]' and '*' in any path: "g[1].parquet" used to read g1.parquet, and a
  // file named "s*.parquet" every s... file.
  GoodParquet("g[1].parquet");
  RunSql(
      "COPY (SELECT 'n' || range AS id, range * 1.0 AS a, cos(range) AS b, (range % 5) * 1.0 AS c "
      "FROM range(300)) TO " +
      QuoteLiteral(Path("g1.parquet")) + " (FORMAT parquet)");
  RunCliSucceeds({"run", Path("g[1].parquet"), "--until", "pass1", "-q"}, Path("out_g"));
  EXPECT_EQ(Pass1RowCount(Path("out_g")), "200");
  // With Pass 0 too, and as CSV.
  RunCliSucceeds(
      {"run", Path("g[1].parquet"), "--until", "pass1", "--set", "sample_rows=150", "-q"},
      Path("out_gs"));
  EXPECT_EQ(Pass1RowCount(Path("out_gs")), "150");
  for (const std::string name : {"s*.csv", "s1.csv", "s2.csv"}) {
    RunSql("COPY (SELECT 'm' || range AS id, range * 1.0 AS a, sin(range) AS b FROM range(" +
           std::string(name == "s*.csv" ? "150" : "90") + ")) TO " + QuoteLiteral(Path(name)) +
           " (FORMAT csv, HEADER true)");
  }
  RunCliSucceeds({"run", Path("s*.csv"), "--until", "pass1", "-q"}, Path("out_s"));
  EXPECT_EQ(Pass1RowCount(Path("out_s")), "150");
}

TEST_F(BadInputTest, OneFileUnderTwoNamesIsReadOnce) {
  fs::create_directories(Path("in"));
  const std::string input = GoodParquet("in/a.parquet");
  const std::string other = Path("in/./a.parquet");
  const std::string err =
      RunCliSucceeds({"run", input, other, "--until", "pass1"}, Path("out_twice"));
  EXPECT_EQ(Pass1RowCount(Path("out_twice")), "200");
  EXPECT_TRUE(
      Contains(err, "input '" + other + "' is the same file as '" + input + "': read once"));
}

TEST_F(BadInputTest, ConversionToDoubleMergingValuesIsWarnedAboutOnce) {
  // Seven distinct UBIGINT values around 2^63 are one DOUBLE: the column looks constant.
  const std::string input = Path("ubigint.parquet");
  RunSql(
      "COPY (SELECT 'm' || range AS id, range * 1.0 AS a, sin(range) AS b, (range % 7)::BIGINT AS "
      "n, "
      "(9223372036854775808::UBIGINT + (range % 7)::UBIGINT) AS big FROM range(200)) TO " +
      QuoteLiteral(input) + " (FORMAT parquet)");
  const std::string err = RunCliSucceeds({"run", input, "--until", "pass1", "-q"}, Path("out_big"));
  std::size_t warnings = 0;
  for (const std::string& line : Lines(err)) {
    if (!Contains(line, "distinct DOUBLE")) continue;
    ++warnings;
    EXPECT_TRUE(Contains(line, "warn")) << line;
    EXPECT_TRUE(Contains(line, "column \"big\"")) << line;
    EXPECT_TRUE(Contains(line, "7 distinct UBIGINT values become 1 distinct DOUBLE value")) << line;
  }
  EXPECT_EQ(warnings, 1u) << err;
  EXPECT_FALSE(Contains(err, "\"n\"")) << err;
}

TEST_F(BadInputTest, SampleHasTheRowsAskedWhateverTheColumnNames) {
  // Columns named like the sampler's helper columns used to give 299 or 310 rows for 300.
  const std::string input = Path("helper_names.parquet");
  RunSql(
      "COPY (SELECT 'm' || range AS id, range % 3 AS __descpipe_file, range AS __descpipe_row, "
      "sin(range) AS a, cos(range) AS b FROM range(1000)) TO " +
      QuoteLiteral(input) + " (FORMAT parquet)");
  RunCliSucceeds({"run", input, "--until", "pass1", "--set", "sample_rows=300", "-q"},
                 Path("out_sample"));
  EXPECT_EQ(Pass1RowCount(Path("out_sample")), "300");
}

TEST_F(BadInputTest, ColumnNamesThatDuckDbWouldChange) {
  const std::string csv = Path("case.csv");
  WriteFile(csv, "id,Mass,mass\nx,1,2\ny,4,5\n");
  RunFails({"run", csv}, {csv, "\"Mass\" and \"mass\"", "differ only by case"});
  const std::string first = GoodParquet("a.parquet");
  const std::string second = Path("b.parquet");
  RunSql(
      "COPY (SELECT 'n' || range AS id, range * 1.0 AS A, sin(range) AS b, (range % 7) * 1.0 AS c "
      "FROM range(200)) TO " +
      QuoteLiteral(second) + " (FORMAT parquet)");
  RunFails({"run", first, second}, {first, second, "\"a\"", "\"A\"", "differ only by case"});
  const std::string empty = Path("empty_name.csv");
  WriteFile(empty, "id,a,,c\nx,1,2,3\ny,4,5,6\n");
  RunFails({"run", empty}, {empty, "empty name (column 3 of 4)"});
  EXPECT_FALSE(fs::exists(Out()));
}

// ---- columns -----------------------------------------------------------------------------------

TEST_F(BadInputTest, MetadataColumnDoesNotExist) {
  const std::string input = GoodParquet();
  RunFails({"run", input, "--set", "metadata_columns=[id, batch]"},
           {input, "\"batch\"", "metadata_columns"});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, DescriptorColumnDoesNotExist) {
  const std::string input = GoodParquet();
  RunFails({"run", input, "--set", "descriptor_columns=[a, MolWt]"},
           {input, "\"MolWt\"", "descriptor_columns"});
}

TEST_F(BadInputTest, DescriptorIsVarchar) {
  const std::string input = GoodParquet();
  RunFails({"run", input, "--set", "descriptor_columns=[a, id]"},
           {input, "\"id\"", "VARCHAR", "numeric"});
}

TEST_F(BadInputTest, ColumnMissingFromOneFile) {
  const std::string first = GoodParquet("part-1.parquet");
  const std::string second = Path("part-2.parquet");
  RunSql("COPY (SELECT 'n' || range AS id, range * 1.0 AS a, cos(range) AS b FROM range(200)) TO " +
         QuoteLiteral(second) + " (FORMAT parquet)");
  RunFails({"run", Path("part-*.parquet")}, {second, "\"c\"", "union_by_name"});
}

TEST_F(BadInputTest, ZeroRows) {
  const std::string parquet = Path("empty.parquet");
  RunSql("COPY (SELECT 'x' AS id, 1.0 AS a FROM range(0)) TO " + QuoteLiteral(parquet) +
         " (FORMAT parquet)");
  RunFails({"run", parquet}, {parquet, "zero rows"});
  EXPECT_FALSE(fs::exists(Out()));

  const std::string csv = Path("header_only.csv");
  WriteFile(csv, "id,a,b\n");
  RunFails({"run", csv}, {csv, "zero rows"});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, DuplicateColumnNamesInParquet) {
  // DuckDB never writes duplicate names (SELECT 1 AS a, 2 AS a gives "a" and "a_1"), so write two
  // distinct names of equal length and rename one in the file's footer.
  const std::string path = Path("dup.parquet");
  RunSql(
      "COPY (SELECT 'm' || range AS id, range * 1.0 AS dupcolX1, sin(range) AS dupcolX2 FROM "
      "range(200)) TO " +
      QuoteLiteral(path) + " (FORMAT parquet)");
  std::string bytes = ReadFile(path);
  std::size_t renamed = 0;
  for (std::size_t pos = bytes.find("dupcolX2"); pos != std::string::npos;
       pos = bytes.find("dupcolX2", pos)) {
    bytes.replace(pos, 8, "dupcolX1");
    ++renamed;
  }
  ASSERT_GT(renamed, 0u);
  WriteFile(path, bytes);
  RunFails({"run", path}, {path, "\"dupcolX1\"", "more than one column"});
}

TEST_F(BadInputTest, DuplicateColumnNamesInCsv) {
  const std::string path = Path("dup.csv");
  std::string csv = "id,a,b,a\n";
  for (int row = 0; row < 200; ++row) {
    csv += "m" + std::to_string(row) + "," + std::to_string(row) + "," + std::to_string(row % 7) +
           "," + std::to_string(row * 2) + "\n";
  }
  WriteFile(path, csv);
  RunFails({"run", path}, {path, "\"a\"", "more than one column"});
}

// ---- Pass 1 removes everything -----------------------------------------------------------------

TEST_F(BadInputTest, EveryColumnRemovedNamesTheRulesAndOptions) {
  const std::string input = GoodParquet();
  RunFails({"run", input, "--set", "variance_threshold=5"},
           {input, "remove all 3 descriptors", "low_variance", "variance_threshold"});

  const std::string constant = Path("constant.parquet");
  RunSql(
      "COPY (SELECT 'm' || range AS id, 1.0 AS a, 2.0 AS b, CASE WHEN range < 150 THEN NULL ELSE "
      "range END AS c "
      "FROM range(200)) TO " +
      QuoteLiteral(constant) + " (FORMAT parquet)");
  RunFails({"run", constant}, {constant, "2 constant", "1 missing", "max_missing_ratio"});
}

TEST_F(BadInputTest, EveryColumnRemovedWithSamplingLeavesNoOutput) {
  const std::string input = GoodParquet();
  RunFails({"run", input, "--set", "sample_rows=150", "--set", "variance_threshold=5"},
           {"variance_threshold"});
  // The sample is removed, and so is its manifest entry (found by Fuzz.OptionsAndTables: the
  // manifest listed pass0 with a sampled_data.parquet that was gone).
  const nlohmann::json manifest = nlohmann::json::parse(ReadFile(Out() + "/run_manifest.json"));
  EXPECT_TRUE(manifest.at("passes").empty()) << manifest.dump(2);
}

// ---- configuration and command line
// --------------------------------------------------------------

TEST_F(BadInputTest, InvalidOptionValues) {
  const std::string input = GoodParquet();
  RunFails({"run", input, "--set", "max_missing_ratio=2"}, {"max_missing_ratio", "[0, 1]", "2"});
  RunFails({"run", input, "--set", "variance_threshold=abc"},
           {"variance_threshold", "number", "abc"});
  RunFails({"run", input, "--set", "range_mode=linear"}, {"range_mode", "linear"});
  RunFails({"run", input, "--set", "trim_percentiles=[90, 10]"}, {"trim_percentiles", "90", "10"});
  RunFails({"run", input, "--set", "sample_rows=10", "--set", "sample_per_file=10"},
           {"sample_rows", "exclusive"});
  RunFails({"run", input, "--set", "device=cuda"}, {"cuda", "CUDA"});
  RunFails({"run", input, "--set", "variance_treshold=0.1"},
           {"variance_treshold", "did you mean variance_threshold"});
  RunFails({"run", input, "--set", "memory_limit=12XB"}, {"memory_limit", "12XB"});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, InvalidConfigFile) {
  const std::string input = GoodParquet();
  const std::string config = Path("config.yaml");
  WriteFile(config, "filtering:\n  variance_treshold: 0.1\n");
  RunFails({"run", input, "-c", config}, {config, "filtering", "did you mean variance_threshold"});
  WriteFile(config, "max_missing_ratio: -1\n");
  RunFails({"run", input, "-c", config}, {"max_missing_ratio"});
  WriteFile(config, "filtering: [1\n");
  RunFails({"run", input, "-c", config}, {config, "YAML"});
  const std::string absent = Path("absent.yaml");
  RunFails({"run", input, "-c", absent}, {absent});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, UnknownCommandLineOption) {
  const std::string input = GoodParquet();
  RunFails({"run", input, "--bogus"}, {"--bogus"});
  Fails({"frobnicate"}, {"frobnicate"});
  Fails({"stats", input, "--format", "xml"}, {"xml"});
  RunFails({"run", input, "--until", "pass9"}, {"pass9"});
  RunFails({"run", input, "--threads", "-2"}, {"--threads", "-2"});
  EXPECT_FALSE(fs::exists(Out()));
}

TEST_F(BadInputTest, MissingArguments) {
  Fails({"stats"}, {"inputs"});
  Fails({"run", GoodParquet()}, {"output"});
  Fails({"run", "-o", Out()}, {"no input"});
}

}  // namespace
}  // namespace descpipe
