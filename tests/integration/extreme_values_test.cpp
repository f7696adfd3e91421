// Columns whose values lie near the ends of the double range, through the executable: Pass 1
// reports an honest mean and variance (finite mean in [min, max]; variance inf only when it
// exceeds DBL_MAX, never 0 or NaN) and keeps the columns; Spearman (ranks) is unaffected;
// Pearson (vif_correlation: pearson), whose sums cannot hold such values, is a clear error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "io/npy.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::CliResult;
using testing::Lines;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::TempDir;

constexpr int kExtremeRows = 3000;

/// pass1_stats.csv as column name -> (field -> cell). No cell of these tables is quoted.
std::map<std::string, std::map<std::string, std::string>> ReadExtremeStats(
    const std::string& path) {
  auto split = [](const std::string& line) {
    std::vector<std::string> cells(1);
    for (char c : line) {
      if (c == ',') {
        cells.emplace_back();
      } else {
        cells.back() += c;
      }
    }
    return cells;
  };
  const std::vector<std::string> lines = Lines(ReadFile(path));
  std::map<std::string, std::map<std::string, std::string>> stats;
  if (lines.empty()) return stats;
  const std::vector<std::string> header = split(lines[0]);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> cells = split(lines[i]);
    EXPECT_EQ(cells.size(), header.size()) << lines[i];
    for (std::size_t c = 1; c < std::min(cells.size(), header.size()); ++c) {
      stats[cells[0]][header[c]] = cells[c];
    }
  }
  return stats;
}

/// A number cell ("inf", "nan" and subnormals included: std::stod throws on those).
double CellNumber(const std::string& cell) { return std::strtod(cell.c_str(), nullptr); }

class ExtremeValuesTest : public ::testing::Test {
 protected:
  // alt: +-1.7e308 alternating (range and variance beyond DBL_MAX); steps: 1e308 + i 1e292
  // (variance ~7.5e589); mixed: 1e-300 and 1e300 alternating, scaled by 1 + (i % 97) / 97;
  // tiny: 1e-300 (u - 1), u in [0, 2) (variance ~3e-601, below the subnormals); ordinary: small
  // integers. alt and mixed are strongly rank-correlated (the sign follows i % 2).
  void SetUp() override {
    input_ = dir_ / "extreme.parquet";
    RunSql(
        "COPY (SELECT CASE WHEN i % 2 = 0 THEN 1.7e308 ELSE -1.7e308 END AS alt, "
        "1e308 + i * 1e292 AS steps, "
        "(CASE WHEN i % 2 = 0 THEN 1e-300 ELSE 1e300 END) * (1 + (i % 97) / 97.0) AS mixed, "
        "1e-300 * (((i * 7919) % 1000) / 500.0 - 1) AS tiny, "
        "((i * 37) % 101)::DOUBLE AS ordinary "
        "FROM range(" +
        std::to_string(kExtremeRows) + ") t(i)) TO '" + input_ + "' (FORMAT parquet)");
  }

  /// The values of a column as the SQL above makes them (DuckDB's double arithmetic is C's).
  static std::vector<double> Values(const std::string& column) {
    std::vector<double> values;
    for (int i = 0; i < kExtremeRows; ++i) {
      if (column == "alt") values.push_back(i % 2 == 0 ? 1.7e308 : -1.7e308);
      if (column == "steps") values.push_back(1e308 + i * 1e292);
      if (column == "mixed")
        values.push_back((i % 2 == 0 ? 1e-300 : 1e300) * (1 + (i % 97) / 97.0));
      if (column == "tiny") values.push_back(1e-300 * (((i * 7919) % 1000) / 500.0 - 1));
    }
    return values;
  }

  TempDir dir_;
  std::string input_;
};

TEST_F(ExtremeValuesTest, Pass1IsHonestAndKeepsTheColumns) {
  const std::string out = dir_ / "out";
  const CliResult result = RunCli({"run", input_, "-o", out, "-q", "-t", "2"}, 300);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto stats = ReadExtremeStats(out + "/pass1_stats.csv");
  const double kMax = std::numeric_limits<double>::max();
  for (const std::string column : {"alt", "steps", "mixed", "tiny"}) {
    SCOPED_TRACE(column);
    ASSERT_EQ(stats.count(column), 1u);
    const auto& row = stats.at(column);
    EXPECT_EQ(row.at("kept"), "true");
    EXPECT_EQ(row.at("reason"), "");
    // Reference moments in long double (its range holds the squares of these deviations).
    const std::vector<double> values = Values(column);
    long double sum = 0.0L;
    for (double x : values) sum += x;
    const long double mean = sum / values.size();
    long double squares = 0.0L, max_abs = 0.0L;
    for (double x : values) {
      squares += (x - mean) * (x - mean);
      max_abs = std::max(max_abs, std::fabs(static_cast<long double>(x)));
    }
    const long double variance = squares / (values.size() - 1);
    const double reported_mean = CellNumber(row.at("mean"));
    ASSERT_TRUE(std::isfinite(reported_mean)) << row.at("mean");
    EXPECT_GE(reported_mean, CellNumber(row.at("min")));
    EXPECT_LE(reported_mean, CellNumber(row.at("max")));
    EXPECT_LE(std::fabs(reported_mean - mean), 1e-15L * max_abs) << row.at("mean");
    if (variance > kMax) {
      EXPECT_EQ(row.at("variance"), "inf");
    } else {
      const double reported = CellNumber(row.at("variance"));
      EXPECT_GT(reported, 0.0);  // tiny: the smallest subnormal, not 0
      EXPECT_LE(std::fabs(reported - variance), 1e-12L * variance + 5e-324L);
    }
    const double std_dev = CellNumber(row.at("std"));
    ASSERT_TRUE(std::isfinite(std_dev)) << row.at("std");
    EXPECT_LE(std::fabs(std_dev - std::sqrt(variance)), 1e-12L * std::sqrt(variance));
    const double normalized = CellNumber(row.at("normalized_variance"));
    EXPECT_TRUE(std::isfinite(normalized)) << row.at("normalized_variance");
    EXPECT_GT(normalized, 0.002);
  }
  // Spearman works on ranks: finite, and alt and mixed strongly (negatively) correlated.
  const std::vector<std::string> kept = Lines(ReadFile(out + "/pass1_columns.txt"));
  std::size_t rows = 0, cols = 0;
  const std::vector<double> rho = io::ReadNpy(out + "/pass2_spearman_matrix.npy", &rows, &cols);
  ASSERT_EQ(rows, kept.size());
  ASSERT_EQ(cols, kept.size());
  for (double value : rho) EXPECT_TRUE(std::isfinite(value));
  const auto alt =
      static_cast<std::size_t>(std::find(kept.begin(), kept.end(), "alt") - kept.begin());
  const auto mixed =
      static_cast<std::size_t>(std::find(kept.begin(), kept.end(), "mixed") - kept.begin());
  ASSERT_LT(std::max(alt, mixed), kept.size());
  EXPECT_LT(rho[alt * cols + mixed], -0.8);
}

TEST_F(ExtremeValuesTest, PearsonOfSuchValuesIsAClearError) {
  const std::string out = dir_ / "pearson";
  const CliResult result =
      RunCli({"run", input_, "-o", out, "-q", "--set", "vif_correlation=pearson"}, 300);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(testing::Contains(result.err, "vif_correlation: spearman")) << result.err;
  EXPECT_EQ(result.err.find("nan"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace descpipe
