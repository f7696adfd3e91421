// Pass 2 through the executable: determinism across thread counts, the memory-limit row sample
// and --exact, pinned columns and the target-aware representative.
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
        "FROM range(6000)) TO " + QuoteLiteral(input_) + " (FORMAT parquet)");
  }
  CliResult Run(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", input_, "-o", out, "-q", "--set",
                                     "metadata_columns=[id, activity]"};
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
        EXPECT_GE(std::fabs(member.at("rho_to_representative").get<double>()), 0.95) << cluster.dump();
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
  for (const char* name : {"pass2_spearman_matrix.npy", "pass2_spearman.json", "pass2_columns.txt"}) {
    EXPECT_EQ(ReadFile(one + "/" + name), ReadFile(two + "/" + name)) << name;
  }
}

TEST_F(Pass2Test, MemoryLimitSamplesRowsReproducibly) {
  // 6,000 rows x 8 columns x 8 bytes = 384 kB; a 160 kB limit fits about 2,500 rows.
  const std::string a = Out("a"), b = Out("b");
  ASSERT_EQ(Run(a, {"--set", "memory_limit=160000"}).exit_code, 0);
  ASSERT_EQ(Run(b, {"--set", "memory_limit=160000", "--threads", "1"}).exit_code, 0);
  const auto rows = Report(a).at("rows");
  EXPECT_TRUE(rows.at("sampled").get<bool>());
  EXPECT_EQ(rows.at("total").get<int>(), 6000);
  EXPECT_LE(rows.at("used").get<int>(), 2500);
  EXPECT_GE(rows.at("used").get<int>(), 2000);
  EXPECT_TRUE(Contains(rows.at("reason").get<std::string>(), "memory_limit"));
  EXPECT_EQ(ReadFile(a + "/pass2_spearman_matrix.npy"), ReadFile(b + "/pass2_spearman_matrix.npy"));
  // A different seed picks other rows.
  const std::string c = Out("c");
  ASSERT_EQ(Run(c, {"--set", "memory_limit=160000", "--set", "random_seed=7"}).exit_code, 0);
  EXPECT_NE(ReadFile(a + "/pass2_spearman_matrix.npy"), ReadFile(c + "/pass2_spearman_matrix.npy"));
}

TEST_F(Pass2Test, FloatRanksInColumnBlocksGiveTheSameResults) {
  // 6,000 rows x 8 columns: 384 kB as doubles, 192 kB as float ranks. A 300 kB limit holds the
  // float ranks and one column of values at a time: eight reads, every row, and the same matrix
  // and clusters bit for bit (the ranks are the same numbers).
  const std::string held = Out("held"), blocks = Out("blocks");
  ASSERT_EQ(Run(held, {"--until", "pass3"}).exit_code, 0);
  const CliResult run = RunCli({"run", input_, "-o", blocks, "--until", "pass3", "--set", "metadata_columns=[id, activity]",
                                "--set", "memory_limit=300000", "--exact"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "ranks stored as floats")) << run.err;
  EXPECT_TRUE(Contains(run.err, "8 blocks")) << run.err;
  const auto rows = Report(blocks).at("rows");
  EXPECT_FALSE(rows.at("sampled").get<bool>());
  EXPECT_EQ(rows.at("used").get<int>(), 6000);
  for (const char* name : {"pass2_spearman_matrix.npy", "pass2_spearman.json", "pass2_columns.txt",
                           "pass3_vif.json", "pass3_columns.txt"}) {
    EXPECT_EQ(ReadFile(held + "/" + name), ReadFile(blocks + "/" + name)) << name;
  }

  // Pearson for Pass 3 by a streaming read: equal to the in-memory matrix up to rounding.
  const std::string pearson_held = Out("pearson_held"), pearson_blocks = Out("pearson_blocks");
  ASSERT_EQ(Run(pearson_held, {"--until", "pass3", "--set", "vif_correlation=pearson"}).exit_code, 0);
  ASSERT_EQ(Run(pearson_blocks, {"--until", "pass3", "--set", "vif_correlation=pearson", "--set",
                                 "memory_limit=300000"})
                .exit_code,
            0);
  std::size_t r1 = 0, c1 = 0, r2 = 0, c2 = 0;
  const std::vector<double> a = io::ReadNpy(pearson_held + "/.checkpoint/pass2_pearson.npy", &r1, &c1);
  const std::vector<double> b = io::ReadNpy(pearson_blocks + "/.checkpoint/pass2_pearson.npy", &r2, &c2);
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
  EXPECT_EQ(ReadFile(pearson_held + "/pass3_columns.txt"), ReadFile(pearson_blocks + "/pass3_columns.txt"));
}

TEST_F(Pass2Test, ExactRefusesToSample) {
  const std::string out = Out("exact");
  const CliResult result = Run(out, {"--set", "memory_limit=160000", "--exact"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Contains(result.err, "error: "));
  EXPECT_TRUE(Contains(result.err, "memory_limit"));
  EXPECT_FALSE(fs::exists(out + "/pass2_spearman.json"));
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
    ASSERT_EQ(Run(out, {"--set", std::string("spearman_cluster_method=") + method}).exit_code, 0) << method;
    const auto report = Report(out);
    EXPECT_EQ(report.at("method"), method);
    EXPECT_EQ(report.at("removed").at("base_log"), "base") << method;
    EXPECT_FALSE(report.at("removed").contains("noise")) << method;
  }
}

}  // namespace
}  // namespace descpipe
