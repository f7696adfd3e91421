// The whole pipeline on the shared real table (../shared/data/nci5k_rdkit.parquet): 4,994 RDKit
// molecules x 609 descriptors with constant columns, an Ipc column with infinite values, integer
// and binary columns. Skipped when the shared folder is not beside the repository.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
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

  // The lineage covers every input descriptor exactly once. Every record after Pass 1 carries the
  // direct measures to its representative; a representative is final and either the column it
  // was removed in favour of (within that pass's threshold) or the final descriptor closest to
  // it (|rho| >= lineage_min_rho 0.5). Every Pass 4 removal has S >= nonlinear_threshold (0.6)
  // to its representative (star assignment).
  const auto lineage = nlohmann::json::parse(ReadFile(out + "/final_cluster_info.json"));
  EXPECT_EQ(lineage.at("input_descriptors").get<std::size_t>(), 609u);
  std::set<std::string> seen;
  std::size_t entries = 0;
  for (const auto& entry : lineage.at("final")) {
    const std::string column = entry.at("column").get<std::string>();
    EXPECT_TRUE(final_set.count(column)) << column;
    seen.insert(column);
    ++entries;
    for (const auto& link : entry.at("stands_for")) EXPECT_EQ(link.at("represented_by"), column);
  }
  EXPECT_EQ(entries, finals.size());
  std::size_t stood_for = 0;
  for (const auto& entry : lineage.at("final")) stood_for += entry.at("stands_for").size();
  std::size_t represented = 0, pass4_removals = 0;
  std::map<std::string, int> pass_of;
  for (const auto& [column, link] : lineage.at("removed").items()) {
    seen.insert(column);
    ++entries;
    const int pass = link.at("pass").get<int>();
    pass_of[column] = pass;
    EXPECT_GE(pass, 1);
    EXPECT_LE(pass, 4);
    EXPECT_FALSE(link.at("reason").get<std::string>().empty()) << column;
    EXPECT_EQ(link.at("path").front(), column);
    for (const char* key :
         {"represented_by", "representative_rule", "rho_to_representative", "s_to_representative",
          "r2_on_final", "closest_final", "rho_to_closest_final"}) {
      EXPECT_TRUE(link.contains(key)) << column << " has no " << key;
    }
    if (pass == 1) {
      EXPECT_TRUE(link.at("represented_by").is_null()) << column;
      EXPECT_TRUE(link.at("r2_on_final").is_null()) << column;
      continue;
    }
    const double r2 = link.at("r2_on_final").get<double>();
    EXPECT_GE(r2, 0.0) << column;
    EXPECT_LE(r2, 1.0) << column;
    EXPECT_TRUE(final_set.count(link.at("closest_final").get<std::string>())) << column;
    if (pass == 4) {
      ++pass4_removals;
      ASSERT_FALSE(link.at("represented_by").is_null()) << column;
      EXPECT_EQ(link.at("represented_by"), link.at("linked_to")) << column;
      EXPECT_GE(link.at("s_to_representative").get<double>(), 0.6) << column;
      EXPECT_EQ(link.at("representative_rule"), "removal_link") << column;
    }
    if (link.at("represented_by").is_null()) {
      EXPECT_LT(std::fabs(link.at("rho_to_closest_final").get<double>()), 0.5) << column;
      continue;
    }
    ++represented;
    const std::string rep = link.at("represented_by").get<std::string>();
    EXPECT_TRUE(final_set.count(rep)) << column;
    const double rho = link.at("rho_to_representative").get<double>();
    const std::string rule = link.at("representative_rule").get<std::string>();
    if (rule == "closest_final") {
      EXPECT_EQ(rep, link.at("closest_final")) << column;
      EXPECT_GE(std::fabs(rho), 0.5) << column;
    } else if (rule == "removal_link") {
      EXPECT_EQ(rep, link.at("linked_to")) << column;
      EXPECT_EQ(link.at("path").size(), 2u) << column;
      if (pass == 2) EXPECT_GE(std::fabs(rho), 0.95) << column;
    } else {
      // A Pass 2 link within spearman_threshold, then a Pass 4 link within nonlinear_threshold.
      ASSERT_EQ(rule, "similarity_chain") << column;
      EXPECT_EQ(pass, 2) << column;
      EXPECT_GE(std::fabs(link.at("value").get<double>()), 0.95) << column;
      ASSERT_EQ(link.at("path").size(), 3u) << column;
      const auto& next = lineage.at("removed").at(link.at("path")[1].get<std::string>());
      EXPECT_EQ(next.at("pass"), 4) << column;
      EXPECT_GE(next.at("value").get<double>(), 0.6) << column;
      EXPECT_EQ(rep, link.at("path").back()) << column;
    }
  }
  EXPECT_GT(pass4_removals, 0u);
  EXPECT_EQ(entries, 609u);
  EXPECT_EQ(seen.size(), 609u);
  EXPECT_EQ(stood_for, represented);

  // pass4_nonlinear.json agrees: every removed member within the threshold of its representative.
  for (const auto& cluster : pass4.at("clusters")) {
    for (const auto& member : cluster.at("members")) {
      if (!member.at("kept").get<bool>())
        EXPECT_GE(member.at("s_to_representative").get<double>(), 0.6) << member.at("column");
    }
  }

  // lineage.csv: a header and one row per input descriptor, in input order, fate as above.
  const std::vector<std::string> csv = Lines(ReadFile(out + "/lineage.csv"));
  ASSERT_EQ(csv.size(), 610u);
  EXPECT_EQ(csv[0].rfind("descriptor,fate,pass,pass_name,reason,", 0), 0u) << csv[0];
  for (std::size_t k = 1; k < csv.size(); ++k) {
    const std::string column = csv[k].substr(0, csv[k].find(','));
    const std::string fate =
        csv[k].substr(column.size() + 1, csv[k].find(',', column.size() + 1) - column.size() - 1);
    EXPECT_EQ(fate, final_set.count(column) ? "final" : "removed") << csv[k];
    if (fate == "removed") {
      EXPECT_EQ(csv[k].rfind(column + ",removed," + std::to_string(pass_of.at(column)) + ",", 0),
                0u)
          << csv[k];
    }
  }

  // explain reads the lineage back for a person.
  const std::string removed_in_pass2 = pass2.at("removed").begin().key();
  const auto explained = RunCli({"explain", out, removed_in_pass2});
  ASSERT_EQ(explained.exit_code, 0) << explained.err;
  EXPECT_NE(explained.out.find("removed in pass 2 (spearman)"), std::string::npos) << explained.out;
  // The first Pass 2 removal: represented by the final descriptor closest to it, or by none.
  const auto& first = lineage.at("removed").at(removed_in_pass2);
  if (first.at("represented_by").is_null()) {
    EXPECT_NE(explained.out.find("No final descriptor represents it: the closest is "),
              std::string::npos)
        << explained.out;
  } else {
    EXPECT_NE(explained.out.find("Now represented by: " +
                                 first.at("represented_by").get<std::string>() + " (rho = "),
              std::string::npos)
        << explained.out;
  }
  EXPECT_NE(explained.out.find("The final descriptors together explain R^2 = "), std::string::npos)
      << explained.out;
  // A removal no final descriptor represents says which is closest and how close.
  for (const auto& [column, link] : lineage.at("removed").items()) {
    if (link.at("pass").get<int>() < 2 || !link.at("represented_by").is_null()) continue;
    const auto story = RunCli({"explain", out, column});
    ASSERT_EQ(story.exit_code, 0) << story.err;
    EXPECT_NE(story.out.find("No final descriptor represents it: the closest is " +
                             link.at("closest_final").get<std::string>() + " (|rho| = "),
              std::string::npos)
        << story.out;
    EXPECT_NE(story.out.find("< lineage_min_rho 0.5"), std::string::npos) << story.out;
    break;
  }
}

TEST_F(RealTableTest, SameBytesWithOneAndTwoThreads) {
  const std::string one = dir_ / "one", two = dir_ / "two";
  ASSERT_EQ(
      RunCli({"run", testing::SharedTablePath(), "-o", one, "-q", "--threads", "1"}).exit_code, 0);
  ASSERT_EQ(
      RunCli({"run", testing::SharedTablePath(), "-o", two, "-q", "--threads", "2"}).exit_code, 0);
  for (const char* name : {"pass1_stats.csv", "pass1_columns.txt", "pass1_variance_filtering.json",
                           "pass2_spearman_matrix.npy", "pass2_columns.txt", "pass2_spearman.json",
                           "pass3_columns.txt", "pass3_vif.json", "pass4_hsic_matrix.npy",
                           "pass4_rdc_matrix.npy", "pass4_nonlinear.json", "final_descriptors.txt",
                           "final_cluster_info.json", "lineage.csv"}) {
    EXPECT_EQ(ReadFile(one + "/" + name), ReadFile(two + "/" + name)) << name;
  }
}

}  // namespace
}  // namespace descpipe
