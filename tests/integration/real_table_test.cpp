// The whole pipeline on the shared real table (../shared/data/nci5k_rdkit.parquet): 4,994 RDKit
// molecules x 609 descriptors with constant columns, an Ipc column with infinite values, integer
// and binary columns. Skipped when the shared folder is not beside the repository.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Lines;
using testing::ReadFile;
using testing::RunCli;
using testing::TempDir;

class RealTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(testing::SharedTablePath())) {
      GTEST_SKIP() << testing::SharedTablePath() << " not found";
    }
  }
  TempDir dir_;
};

TEST_F(RealTableTest, WholePipelineExplainsEveryDescriptor) {
  const std::string out = dir_ / "out";
  const auto result = RunCli({"run", testing::SharedTablePath(), "-o", out, "-q"});
  ASSERT_EQ(result.exit_code, 0) << result.err;

  const std::vector<std::string> stats = Lines(ReadFile(out + "/pass1_stats.csv"));
  ASSERT_EQ(stats.size(), 610u);  // header + 609 descriptors
  EXPECT_EQ(stats[0].rfind("column,n_total,n_null,n_nan,n_inf,n_valid,", 0), 0u);

  // Ipc holds no finite value (NaN/inf in this file): all missing, removed as "missing".
  bool ipc_seen = false;
  for (const auto& line : stats) {
    if (line.rfind("Ipc,", 0) == 0) {
      ipc_seen = true;
      // column,n_total,n_null,n_nan,n_inf,n_valid: NaN and inf together cover every row.
      const bool all_nan = line.rfind("Ipc,4994,0,4994,0,0,", 0) == 0;
      const bool all_inf = line.rfind("Ipc,4994,0,0,4994,0,", 0) == 0;
      EXPECT_TRUE(all_nan || all_inf) << line;
      EXPECT_EQ(line.substr(line.size() - 13), "false,missing") << line;
    }
  }
  EXPECT_TRUE(ipc_seen);

  const auto pass1 = nlohmann::json::parse(ReadFile(out + "/pass1_variance_filtering.json"));
  const auto pass2 = nlohmann::json::parse(ReadFile(out + "/pass2_spearman.json"));
  const std::vector<std::string> survivors1 = Lines(ReadFile(out + "/pass1_columns.txt"));
  const std::vector<std::string> survivors2 = Lines(ReadFile(out + "/pass2_columns.txt"));
  EXPECT_EQ(pass1.at("input_columns").get<std::size_t>(), 609u);
  EXPECT_EQ(pass1.at("output_columns").get<std::size_t>(), survivors1.size());
  EXPECT_EQ(pass2.at("input_columns").get<std::size_t>(), survivors1.size());
  EXPECT_LT(survivors2.size(), survivors1.size());  // the table has redundant descriptors

  // Every descriptor is accounted for exactly once: removed by Pass 1, removed by Pass 2 (with a
  // surviving representative), or kept.
  std::set<std::string> accounted;
  std::size_t total = 0;
  for (const auto& entry : pass1.at("removed")) {
    accounted.insert(entry.at("column").get<std::string>());
    ++total;
  }
  const std::set<std::string> kept(survivors2.begin(), survivors2.end());
  for (const auto& [column, representative] : pass2.at("removed").items()) {
    accounted.insert(column);
    ++total;
    EXPECT_TRUE(kept.count(representative.get<std::string>())) << column << " -> " << representative;
  }
  for (const auto& column : survivors2) {
    accounted.insert(column);
    ++total;
  }
  EXPECT_EQ(total, 609u);
  EXPECT_EQ(accounted.size(), 609u);

  // Pass 3 splits the Pass 2 survivors into removed (in order) and kept, all VIFs <= threshold.
  const auto pass3 = nlohmann::json::parse(ReadFile(out + "/pass3_vif.json"));
  const std::vector<std::string> survivors3 = Lines(ReadFile(out + "/pass3_columns.txt"));
  std::set<std::string> pass3_columns(survivors3.begin(), survivors3.end());
  for (const auto& removal : pass3.at("removal_order")) {
    EXPECT_TRUE(pass3_columns.insert(removal.at("column").get<std::string>()).second);
  }
  EXPECT_EQ(pass3_columns, kept);
  EXPECT_EQ(pass3.at("final_vif").size(), survivors3.size());
  for (const auto& [column, vif] : pass3.at("final_vif").items()) {
    EXPECT_LE(vif.get<double>(), pass3.at("threshold").get<double>()) << column;
  }
}

TEST_F(RealTableTest, SameBytesWithOneAndTwoThreads) {
  const std::string one = dir_ / "one", two = dir_ / "two";
  ASSERT_EQ(RunCli({"run", testing::SharedTablePath(), "-o", one, "-q", "--threads", "1"}).exit_code, 0);
  ASSERT_EQ(RunCli({"run", testing::SharedTablePath(), "-o", two, "-q", "--threads", "2"}).exit_code, 0);
  for (const char* name : {"pass1_stats.csv", "pass1_columns.txt", "pass1_variance_filtering.json",
                           "pass2_spearman_matrix.npy", "pass2_columns.txt", "pass2_spearman.json",
                           "pass3_columns.txt", "pass3_vif.json"}) {
    EXPECT_EQ(ReadFile(one + "/" + name), ReadFile(two + "/" + name)) << name;
  }
}

}  // namespace
}  // namespace descpipe
