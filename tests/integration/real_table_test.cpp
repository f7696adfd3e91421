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
    EXPECT_TRUE(kept.count(representative.get<std::string>()))
        << column << " -> " << representative;
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

  // Pass 4 splits the Pass 3 survivors into clusters; each removed member is in a cluster whose
  // representative is final.
  const auto pass4 = nlohmann::json::parse(ReadFile(out + "/pass4_nonlinear.json"));
  const std::vector<std::string> finals = Lines(ReadFile(out + "/final_descriptors.txt"));
  const std::set<std::string> final_set(finals.begin(), finals.end());
  EXPECT_EQ(pass4.at("input_columns").get<std::size_t>(), survivors3.size());
  EXPECT_EQ(pass4.at("output_columns").get<std::size_t>(), finals.size());
  EXPECT_LE(finals.size(), survivors3.size());
  for (const auto& [column, representative] : pass4.at("removed").items()) {
    EXPECT_TRUE(final_set.count(representative.get<std::string>())) << column;
    EXPECT_FALSE(final_set.count(column)) << column;
  }
  for (const auto& column : finals) EXPECT_TRUE(pass3_columns.count(column)) << column;

  // The lineage covers every input descriptor exactly once, and every link leads to a final
  // descriptor or (Pass 1, unexplained Pass 3) to none.
  const auto lineage = nlohmann::json::parse(ReadFile(out + "/final_cluster_info.json"));
  EXPECT_EQ(lineage.at("input_descriptors").get<std::size_t>(), 609u);
  std::set<std::string> seen;
  std::size_t entries = 0;
  for (const auto& entry : lineage.at("final")) {
    const std::string column = entry.at("column").get<std::string>();
    EXPECT_TRUE(final_set.count(column)) << column;
    seen.insert(column);
    ++entries;
    for (const auto& link : entry.at("stands_for")) {
      EXPECT_EQ(link.at("represented_by"), column);
      EXPECT_EQ(link.at("path").back(), column);
    }
  }
  EXPECT_EQ(entries, finals.size());
  std::size_t stood_for = 0;
  for (const auto& entry : lineage.at("final")) stood_for += entry.at("stands_for").size();
  std::size_t represented = 0;
  for (const auto& [column, link] : lineage.at("removed").items()) {
    seen.insert(column);
    ++entries;
    const int pass = link.at("pass").get<int>();
    EXPECT_GE(pass, 1);
    EXPECT_LE(pass, 4);
    EXPECT_FALSE(link.at("reason").get<std::string>().empty()) << column;
    if (pass == 1) {
      EXPECT_TRUE(link.at("represented_by").is_null()) << column;
    }
    if (pass == 2 || pass == 4) {
      EXPECT_FALSE(link.at("represented_by").is_null()) << column;
    }
    if (!link.at("represented_by").is_null()) {
      ++represented;
      EXPECT_TRUE(final_set.count(link.at("represented_by").get<std::string>())) << column;
      EXPECT_EQ(link.at("path").front(), column);
      EXPECT_EQ(link.at("path").back(), link.at("represented_by"));
    }
  }
  EXPECT_EQ(entries, 609u);
  EXPECT_EQ(seen.size(), 609u);
  EXPECT_EQ(stood_for, represented);

  // explain reads the lineage back for a person.
  const std::string removed_in_pass2 = pass2.at("removed").begin().key();
  const auto explained = RunCli({"explain", out, removed_in_pass2});
  ASSERT_EQ(explained.exit_code, 0) << explained.err;
  EXPECT_NE(explained.out.find("removed in pass 2 (spearman)"), std::string::npos) << explained.out;
  EXPECT_NE(explained.out.find("Now represented by: "), std::string::npos) << explained.out;
}

TEST_F(RealTableTest, SameBytesWithOneAndTwoThreads) {
  const std::string one = dir_ / "one", two = dir_ / "two";
  ASSERT_EQ(
      RunCli({"run", testing::SharedTablePath(), "-o", one, "-q", "--threads", "1"}).exit_code, 0);
  ASSERT_EQ(
      RunCli({"run", testing::SharedTablePath(), "-o", two, "-q", "--threads", "2"}).exit_code, 0);
  for (const char* name :
       {"pass1_stats.csv", "pass1_columns.txt", "pass1_variance_filtering.json",
        "pass2_spearman_matrix.npy", "pass2_columns.txt", "pass2_spearman.json",
        "pass3_columns.txt", "pass3_vif.json", "pass4_hsic_matrix.npy", "pass4_rdc_matrix.npy",
        "pass4_nonlinear.json", "final_descriptors.txt", "final_cluster_info.json"}) {
    EXPECT_EQ(ReadFile(one + "/" + name), ReadFile(two + "/" + name)) << name;
  }
}

}  // namespace
}  // namespace descpipe
