// Pass 2 through the executable: determinism across thread counts, memory_limit (float ranks in
// column blocks, the row sample, --exact), pinned columns and the target-aware representative.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "descpipe/table.hpp"
#include "io/npy.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::CliResult;
using testing::Contains;
using testing::Lines;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::TempDir;
namespace fs = std::filesystem;

class Pass2Test : public ::testing::Test {
 protected:
  // Groups: {base, base_copy (noisy, 3% NULL), base_log (monotone)}, {ties, ties_x2 (exact
  // multiple)}, {target_a, target_b} (near copies; target_b follows `activity` more closely),
  // independent noise; `activity` is a numeric column that is not a descriptor.
  void SetUp() override {
    input_ = dir_ / "data.parquet";
    RunSql(
        "COPY (SELECT 'mol' || range AS id, "
        "(hash(range, 1) % 100000)::DOUBLE AS base, "
        "CASE WHEN range % 33 = 0 THEN NULL ELSE (hash(range, 1) % 100000)::DOUBLE + "
        "(hash(range, 2) % 900)::DOUBLE END AS base_copy, "
        "ln(1 + (hash(range, 1) % 100000)::DOUBLE) AS base_log, "
        "(hash(range, 3) % 6)::INTEGER AS ties, (hash(range, 3) % 6)::INTEGER * 2 AS ties_x2, "
        "(hash(range, 4) % 100000)::DOUBLE + (hash(range, 5) % 4000)::DOUBLE AS target_a, "
        "(hash(range, 4) % 100000)::DOUBLE + (hash(range, 6) % 1000)::DOUBLE AS target_b, "
        "(hash(range, 7) % 1000)::DOUBLE AS noise, "
        "(hash(range, 4) % 100000)::DOUBLE + (hash(range, 6) % 1000)::DOUBLE * 0.5 AS activity "
        "FROM range(6000)) TO " +
        QuoteLiteral(input_) + " (FORMAT parquet)");
  }
  CliResult Run(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "run", input_, "-o", out, "-q", "--set", "metadata_columns=[id, activity]"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  nlohmann::json Report(const std::string& out) {
    return nlohmann::json::parse(ReadFile(out + "/pass2_spearman.json"));
  }
  std::string Out(const std::string& name) const { return dir_ / name; }

  TempDir dir_;
  std::string input_;
};

TEST_F(Pass2Test, ClustersTheRedundantGroups) {
  const std::string out = Out("out");
  ASSERT_EQ(Run(out).exit_code, 0);
  const auto report = Report(out);
  const auto removed = report.at("removed");
  EXPECT_EQ(removed.size(), 4u) << removed.dump();
  // base has no missing values and the highest normalised variance in its group.
  EXPECT_EQ(removed.at("base_copy"), "base");
  EXPECT_EQ(removed.at("base_log"), "base");
  EXPECT_EQ(removed.at("ties_x2"), "ties");  // identical ranks: input order decides
  EXPECT_FALSE(removed.contains("noise"));
  EXPECT_EQ(ReadFile(out + "/pass2_columns.txt").find("noise") != std::string::npos, true);
  for (const auto& cluster : report.at("clusters")) {
    for (const auto& member : cluster.at("members")) {
      if (!member.at("kept").get<bool>()) {
        EXPECT_GE(std::fabs(member.at("rho_to_representative").get<double>()), 0.95)
            << cluster.dump();
      }
    }
  }
  // The matrix is square over pass1_columns.txt, symmetric, with a unit diagonal.
  std::size_t rows = 0, cols = 0;
  const std::vector<double> matrix = io::ReadNpy(out + "/pass2_spearman_matrix.npy", &rows, &cols);
  ASSERT_EQ(rows, cols);
  ASSERT_EQ(rows, testing::Lines(ReadFile(out + "/pass1_columns.txt")).size());
  for (std::size_t i = 0; i < rows; ++i) {
    EXPECT_DOUBLE_EQ(matrix[i * cols + i], 1.0);
    for (std::size_t j = 0; j < cols; ++j) EXPECT_EQ(matrix[i * cols + j], matrix[j * cols + i]);
  }
}

TEST_F(Pass2Test, ByteIdenticalAcrossThreadCounts) {
  const std::string one = Out("one"), two = Out("two");
  ASSERT_EQ(Run(one, {"--threads", "1"}).exit_code, 0);
  ASSERT_EQ(Run(two, {"--threads", "2"}).exit_code, 0);
  for (const char* name :
       {"pass2_spearman_matrix.npy", "pass2_spearman.json", "pass2_columns.txt"}) {
    EXPECT_EQ(ReadFile(one + "/" + name), ReadFile(two + "/" + name)) << name;
  }
}

// ---- memory_limit: float ranks in column blocks, a row sample, --exact ------------------------
//
// 1,000,000 rows x 10 columns: 80 MB as doubles, 40 MB as float ranks. With the process and the
// reader, every row needs about 168 MB as doubles and 138 MB as float ranks (docs/SPEARMAN.md,
// "Memory"): 150 MB holds the float ranks, 110 MB only a sample.
class Pass2MemoryTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    input_ = *dir_ / "tall.parquet";
    RunSql(
        "COPY (SELECT (hash(range, 1) % 100000)::DOUBLE AS a, "
        "(hash(range, 1) % 100000)::DOUBLE * 2 + (hash(range, 2) % 50)::DOUBLE AS a_copy, "
        "CASE WHEN range % 29 = 0 THEN NULL ELSE (hash(range, 3) % 1000)::DOUBLE END AS b, "
        "(hash(range, 3) % 1000)::DOUBLE + (hash(range, 4) % 10)::DOUBLE AS b_copy, "
        "(hash(range, 5) % 7)::DOUBLE AS ties, (hash(range, 6) % 100000)::DOUBLE AS c, "
        "(hash(range, 7) % 100000)::DOUBLE AS d, (hash(range, 8) % 100000)::DOUBLE AS e, "
        "(hash(range, 9) % 100000)::DOUBLE + (hash(range, 6) % 100000)::DOUBLE AS cf, "
        "(hash(range, 10) % 100000)::DOUBLE AS g FROM range(1000000)) TO " +
        QuoteLiteral(input_) + " (FORMAT parquet)");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  CliResult Run(const std::string& name, std::vector<std::string> extra) {
    std::vector<std::string> args = {"run", input_, "-o", *dir_ / name, "--until", "pass3"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  static std::string Out(const std::string& name) { return *dir_ / name; }
  static nlohmann::json Report(const std::string& name) {
    return nlohmann::json::parse(ReadFile(Out(name) + "/pass2_spearman.json"));
  }

  static TempDir* dir_;
  static std::string input_;
};
TempDir* Pass2MemoryTest::dir_ = nullptr;
std::string Pass2MemoryTest::input_;

TEST_F(Pass2MemoryTest, FloatRanksInColumnBlocksGiveTheSameResults) {
  // Every row, as float ranks read one column block at a time: the same matrix and clusters bit
  // for bit as the doubles held at once (the ranks are the same numbers).
  ASSERT_EQ(Run("held", {"-q", "--set", "memory_limit=1GB"}).exit_code, 0);
  const CliResult run = Run("blocks", {"--set", "memory_limit=150MB", "--exact"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "ranks stored as floats")) << run.err;
  EXPECT_FALSE(Contains(Report("held").dump(), "sampled\":true"));
  const auto rows = Report("blocks").at("rows");
  EXPECT_FALSE(rows.at("sampled").get<bool>());
  EXPECT_EQ(rows.at("used").get<int>(), 1000000);
  for (const char* name : {"pass2_spearman_matrix.npy", "pass2_spearman.json", "pass2_columns.txt",
                           "pass3_vif.json", "pass3_columns.txt"}) {
    EXPECT_EQ(ReadFile(Out("held") + "/" + name), ReadFile(Out("blocks") + "/" + name)) << name;
  }
  EXPECT_LT(Lines(ReadFile(Out("blocks") + "/pass2_columns.txt")).size(), 10u);  // the copies went

  // Pearson for Pass 3 by a streaming read: equal to the in-memory matrix up to rounding.
  ASSERT_EQ(
      Run("pearson_held", {"-q", "--set", "vif_correlation=pearson", "--set", "memory_limit=1GB"})
          .exit_code,
      0);
  const CliResult streamed =
      Run("pearson_blocks", {"--set", "vif_correlation=pearson", "--set", "memory_limit=150MB"});
  ASSERT_EQ(streamed.exit_code, 0) << streamed.err;
  EXPECT_TRUE(Contains(streamed.err, "ranks stored as floats")) << streamed.err;
  std::size_t r1 = 0, c1 = 0, r2 = 0, c2 = 0;
  const std::vector<double> a =
      io::ReadNpy(Out("pearson_held") + "/.checkpoint/pass2_pearson.npy", &r1, &c1);
  const std::vector<double> b =
      io::ReadNpy(Out("pearson_blocks") + "/.checkpoint/pass2_pearson.npy", &r2, &c2);
  ASSERT_EQ(r1, r2);
  ASSERT_EQ(c1, c2);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::isnan(a[i])) {
      EXPECT_TRUE(std::isnan(b[i])) << i;
    } else {
      EXPECT_NEAR(a[i], b[i], 1e-12) << i;
    }
  }
  EXPECT_EQ(ReadFile(Out("pearson_held") + "/pass3_columns.txt"),
            ReadFile(Out("pearson_blocks") + "/pass3_columns.txt"));
}

TEST_F(Pass2MemoryTest, MemoryLimitSamplesRowsReproducibly) {
  ASSERT_EQ(Run("a", {"-q", "--set", "memory_limit=110MB"}).exit_code, 0);
  ASSERT_EQ(Run("b", {"-q", "--set", "memory_limit=110MB", "--threads", "1"}).exit_code, 0);
  const auto rows = Report("a").at("rows");
  EXPECT_TRUE(rows.at("sampled").get<bool>());
  EXPECT_EQ(rows.at("total").get<int>(), 1000000);
  EXPECT_GE(rows.at("used").get<int>(), 100000);
  EXPECT_LT(rows.at("used").get<int>(), 1000000);
  EXPECT_TRUE(Contains(rows.at("reason").get<std::string>(), "memory_limit"));
  // The sample does not depend on the thread count (it is planned for one thread).
  EXPECT_EQ(Report("b").at("rows"), rows);
  EXPECT_EQ(ReadFile(Out("a") + "/pass2_spearman_matrix.npy"),
            ReadFile(Out("b") + "/pass2_spearman_matrix.npy"));
  std::size_t n = 0, m = 0;
  const std::vector<double> rho = io::ReadNpy(Out("a") + "/pass2_spearman_matrix.npy", &n, &m);
  for (double value : rho) EXPECT_FALSE(std::isnan(value));
  // The sample still finds the planted copies (b_copy, complete, stands for b, which has NULLs).
  EXPECT_EQ(ReadFile(Out("a") + "/pass2_columns.txt"), ReadFile(Out("b") + "/pass2_columns.txt"));
  EXPECT_EQ(Report("a").at("removed"), nlohmann::json::parse(R"({"a_copy": "a", "b": "b_copy"})"));
  // A different seed picks other rows.
  ASSERT_EQ(Run("c", {"-q", "--set", "memory_limit=110MB", "--set", "random_seed=7"}).exit_code, 0);
  EXPECT_NE(ReadFile(Out("a") + "/pass2_spearman_matrix.npy"),
            ReadFile(Out("c") + "/pass2_spearman_matrix.npy"));
}

TEST_F(Pass2MemoryTest, ExactRefusesToSample) {
  const CliResult result = Run("exact", {"-q", "--set", "memory_limit=110MB", "--exact"});
  EXPECT_EQ(result.exit_code, 2);
  const std::vector<std::string> lines = Lines(result.err);
  ASSERT_EQ(lines.size(), 1u) << result.err;
  EXPECT_TRUE(Contains(lines[0], "error: pass 2 needs")) << result.err;
  EXPECT_TRUE(Contains(lines[0], "raise memory_limit to at least")) << result.err;
  EXPECT_TRUE(Contains(lines[0], "drop --exact")) << result.err;
  EXPECT_FALSE(fs::exists(Out("exact") + "/pass2_spearman.json"));
}

TEST_F(Pass2Test, PinnedColumnsSurvive) {
  const std::string out = Out("pinned");
  ASSERT_EQ(Run(out, {"--set", "keep_columns=[base_copy, base_log]"}).exit_code, 0);
  const auto report = Report(out);
  const auto removed = report.at("removed");
  EXPECT_FALSE(removed.contains("base_copy"));
  EXPECT_FALSE(removed.contains("base_log"));
  const std::string kept = ReadFile(out + "/pass2_columns.txt");
  EXPECT_TRUE(Contains(kept, "base_copy\n"));
  EXPECT_TRUE(Contains(kept, "base_log\n"));
  // base is absorbed by the first pinned representative instead.
  EXPECT_TRUE(removed.contains("base"));
}

TEST_F(Pass2Test, TargetDecidesTheRepresentative) {
  const std::string plain = Out("plain"), target = Out("target");
  ASSERT_EQ(Run(plain).exit_code, 0);
  ASSERT_EQ(Run(target, {"--set", "target_column=activity"}).exit_code, 0);
  // Without a target, target_a (higher variance) represents the pair; with it, target_b (closer
  // to activity) does, and the cluster says why.
  EXPECT_EQ(Report(plain).at("removed").at("target_b"), "target_a");
  const auto report = Report(target);
  EXPECT_EQ(report.at("removed").at("target_a"), "target_b");
  bool found = false;
  for (const auto& cluster : report.at("clusters")) {
    if (cluster.at("representative") == "target_b") {
      EXPECT_EQ(cluster.at("decided_by"), "target");
      found = true;
    }
  }
  EXPECT_TRUE(found);
  const CliResult missing = Run(Out("missing_target"), {"--set", "target_column=nope"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(Contains(missing.err, "target_column \"nope\""));
}

TEST_F(Pass2Test, ComponentsAndLeidenMethods) {
  for (const char* method : {"components", "leiden"}) {
    const std::string out = Out(method);
    ASSERT_EQ(Run(out, {"--set", std::string("spearman_cluster_method=") + method}).exit_code, 0)
        << method;
    const auto report = Report(out);
    EXPECT_EQ(report.at("method"), method);
    EXPECT_EQ(report.at("removed").at("base_log"), "base") << method;
    EXPECT_FALSE(report.at("removed").contains("noise")) << method;
  }
}

}  // namespace
}  // namespace descpipe
