// Column roles a run adds through the executable: the target is never a descriptor (nor the
// representative of one), identifier columns (id_columns) are metadata, named in the log and the
// manifest, and `descpipe apply` exports both as metadata. Includes a 77-row Mordred-like table
// (the size of the original tool's own example) run with defaults but min_effective_n.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/table.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::CliResult;
using testing::Contains;
using testing::Lines;
using testing::QueryScalar;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::TempDir;

bool Has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

/// Every value of `key` anywhere in `json`.
void Collect(const nlohmann::json& json, const std::string& key, std::vector<std::string>& out) {
  if (json.is_object()) {
    for (const auto& [name, value] : json.items()) {
      if (name == key && value.is_string()) out.push_back(value.get<std::string>());
      Collect(value, key, out);
    }
  } else if (json.is_array()) {
    for (const auto& value : json) Collect(value, key, out);
  }
}

/// The first column of pass1_stats.csv: every descriptor Pass 1 saw.
std::vector<std::string> Pass1Descriptors(const std::string& out) {
  std::vector<std::string> names;
  const std::vector<std::string> lines = Lines(ReadFile(out + "/pass1_stats.csv"));
  for (std::size_t i = 1; i < lines.size(); ++i)
    names.push_back(lines[i].substr(0, lines[i].find(',')));
  return names;
}

class RolesTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ / name; }
  CliResult Run(const std::string& input, const std::string& out,
                const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"run", input, "-o", out, "--set", "device=cpu"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args, 600);
  }
  nlohmann::json Manifest(const std::string& out) {
    return nlohmann::json::parse(ReadFile(out + "/run_manifest.json"));
  }
  TempDir dir_;
};

// y = a + small noise, with a a descriptor: y guides the representatives but is never one, and
// never absorbs a (Pass 4 used to remove a "represented by" y).
TEST_F(RolesTest, TargetIsNeverADescriptor) {
  const std::string input = Path("t.parquet");
  RunSql(
      "COPY (SELECT 'm' || range AS name, "
      "(hash(range, 1) % 100000)::DOUBLE AS a, "
      "(hash(range, 1) % 100000)::DOUBLE + (hash(range, 2) % 100)::DOUBLE AS y, "
      "(hash(range, 3) % 1000)::DOUBLE AS b, "
      "(hash(range, 3) % 1000)::DOUBLE * 2 + (hash(range, 4) % 10)::DOUBLE AS b2, "
      "sqrt((hash(range, 5) % 1000)::DOUBLE) AS c, "
      "(hash(range, 6) % 777)::DOUBLE AS d FROM range(3000)) TO " +
      QuoteLiteral(input) + " (FORMAT parquet)");
  const std::string out = Path("out");
  const CliResult run = Run(input, out, {"--set", "target_column=y"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::vector<std::string> final = Lines(ReadFile(out + "/final_descriptors.txt"));
  EXPECT_FALSE(Has(final, "y"));
  EXPECT_TRUE(Has(final, "a"));
  EXPECT_FALSE(Has(Pass1Descriptors(out), "y"));
  const auto lineage = nlohmann::json::parse(ReadFile(out + "/final_cluster_info.json"));
  std::vector<std::string> named;
  Collect(lineage, "linked_to", named);
  Collect(lineage, "represented_by", named);
  EXPECT_FALSE(named.empty());  // b2 goes, linked to b: the test can see a link
  EXPECT_FALSE(Has(named, "y")) << lineage.dump();
  const auto manifest = Manifest(out);
  EXPECT_EQ(manifest.at("columns").at("target_column"), "y");
  EXPECT_TRUE(Has(manifest.at("columns").at("metadata").get<std::vector<std::string>>(), "y"));
  EXPECT_EQ(manifest.at("columns").at("descriptors"), 5);
  // Pass 2 still reads y: the representative of a cluster is the member closest to it.
  const auto pass2 = nlohmann::json::parse(ReadFile(out + "/pass2_spearman.json"));
  EXPECT_EQ(pass2.at("target_column"), "y");

  // descpipe stats (Pass 1 alone) gives the target no statistics either.
  const CliResult stats =
      RunCli({"stats", input, "--set", "target_column=y", "--format", "json", "-q"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  std::vector<std::string> stats_columns;
  Collect(nlohmann::json::parse(stats.out), "column", stats_columns);
  EXPECT_EQ(stats_columns, (std::vector<std::string>{"a", "b", "b2", "c", "d"}));

  // The target named as a descriptor is an error, before anything is written.
  const CliResult listed = Run(input, Path("listed"),
                               {"--set", "target_column=y", "--set", "descriptor_columns=[a, y]"});
  EXPECT_EQ(listed.exit_code, 2);
  EXPECT_TRUE(Contains(listed.err, "target_column \"y\" is also in descriptor_columns"));
  const CliResult pinned =
      Run(input, Path("pinned"), {"--set", "target_column=y", "--set", "keep_columns=[y]"});
  EXPECT_EQ(pinned.exit_code, 2);
  EXPECT_TRUE(Contains(pinned.err, "target_column \"y\" is also in keep_columns"));
  const CliResult text = Run(input, Path("text"), {"--set", "target_column=name"});
  EXPECT_EQ(text.exit_code, 2);
  EXPECT_TRUE(Contains(text.err, "target_column \"name\""));
  EXPECT_TRUE(Contains(text.err, "must be numeric"));
}

/// A Mordred-like table of 77 molecules, as in the original tool's example: CID (sorted, with
/// gaps), original_index (0..76), SMILES, and 40 descriptors: integer counts, floats, constants.
void WriteMordredLike(const std::string& path, bool with_target) {
  std::string select =
      "SELECT (2244 + range * 37 + range * range)::BIGINT AS CID, "
      "range::BIGINT AS original_index, 'C' || repeat('C', range::INTEGER % 9) "
      "AS SMILES";
  for (int k = 0; k < 14; ++k)  // counts: nC, nO, ... (small integers, repeated)
    select += ", (hash(range, " + std::to_string(k) + ") % " + std::to_string(3 + k) +
              ")::INTEGER AS nCount" + std::to_string(k);
  for (int k = 0; k < 20; ++k)  // real-valued descriptors, some pairs correlated
    select += ", ((hash(range, " + std::to_string(100 + k / 2) +
              ") % 10000) / 100.0 + (hash(range, " + std::to_string(200 + k) + ") % 100) / " +
              std::to_string(k % 2 == 0 ? 1000.0 : 10.0) + ")::DOUBLE AS Real" + std::to_string(k);
  for (int k = 0; k < 4; ++k)  // constants
    select += ", " + std::to_string(k) + "::INTEGER AS Const" + std::to_string(k);
  select += ", 0.5::DOUBLE AS Lipinski, 1::INTEGER AS GhoseFilter";
  if (with_target) select += ", (hash(range, 100) % 10000)::DOUBLE / 100.0 AS pIC50";
  RunSql("COPY (" + select + " FROM range(77)) TO " + QuoteLiteral(path) + " (FORMAT parquet)");
}

TEST_F(RolesTest, SeventySevenMoleculesWithOnlyMinEffectiveNRelaxed) {
  const std::string input = Path("mordred77.parquet");
  WriteMordredLike(input, /*with_target=*/false);
  const std::string out = Path("out");
  const CliResult run = Run(input, out, {"--set", "min_effective_n=50"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err,
                       "column \"CID\" looks like an identifier (named like an identifier, with "
                       "integer values; all 77 values distinct and increasing); treated as "
                       "metadata. Set id_columns: none, or list the identifiers, to change this"))
      << run.err;
  EXPECT_TRUE(Contains(run.err,
                       "column \"original_index\" looks like an identifier (named like an "
                       "identifier, with integer values; all 77 values distinct and "
                       "consecutive)"));
  const std::vector<std::string> final = Lines(ReadFile(out + "/final_descriptors.txt"));
  EXPECT_FALSE(final.empty());
  EXPECT_FALSE(Has(final, "CID"));
  EXPECT_FALSE(Has(final, "original_index"));
  EXPECT_FALSE(Has(Pass1Descriptors(out), "CID"));
  const auto manifest = Manifest(out);
  const auto& ids = manifest.at("columns").at("id_columns");
  ASSERT_EQ(ids.size(), 2u) << ids.dump();
  EXPECT_EQ(ids[0].at("name"), "CID");
  EXPECT_TRUE(Contains(ids[0].at("reason").get<std::string>(), "distinct and increasing"));
  EXPECT_EQ(ids[1].at("name"), "original_index");
  EXPECT_EQ(manifest.at("columns").at("metadata"),
            nlohmann::json({"CID", "original_index", "SMILES"}));
  EXPECT_EQ(manifest.at("columns").at("descriptors"), 40);
  EXPECT_EQ(manifest.at("config").at("id_columns"), "auto");

  // id_columns: none keeps both as descriptors; a list takes exactly those.
  const std::string none = Path("none");
  ASSERT_EQ(Run(input, none, {"--set", "min_effective_n=50", "--set", "id_columns=none"}).exit_code,
            0);
  EXPECT_TRUE(Has(Pass1Descriptors(none), "CID"));
  EXPECT_TRUE(Has(Pass1Descriptors(none), "original_index"));
  EXPECT_TRUE(Manifest(none).at("columns").at("id_columns").empty());
  const std::string listed = Path("listed");
  const CliResult listed_run =
      Run(input, listed, {"--set", "min_effective_n=50", "--set", "id_columns=[CID]"});
  ASSERT_EQ(listed_run.exit_code, 0) << listed_run.err;
  EXPECT_FALSE(Contains(listed_run.err, "looks like an identifier"));
  EXPECT_FALSE(Has(Pass1Descriptors(listed), "CID"));
  EXPECT_TRUE(Has(Pass1Descriptors(listed), "original_index"));
  EXPECT_EQ(Manifest(listed).at("columns").at("id_columns"),
            nlohmann::json::parse(R"([{"name": "CID", "reason": "listed in id_columns"}])"));
  const CliResult missing = Run(input, Path("missing"), {"--set", "id_columns=[CID, nope]"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Contains(missing.err, "column \"nope\" named in id_columns is not a column of"));
  // Nothing left but identifiers: the error says which option decides.
  const std::string only_ids = Path("only_ids.parquet");
  RunSql(
      "COPY (SELECT 'm' || range AS name, range AS row_no, range * 3 AS serial FROM range(40)) "
      "TO " +
      QuoteLiteral(only_ids) + " (FORMAT parquet)");
  const CliResult nothing_left = Run(only_ids, Path("only_ids"));
  EXPECT_EQ(nothing_left.exit_code, 2);
  EXPECT_TRUE(Contains(nothing_left.err, "has no descriptor column besides \"row_no\", \"serial\""))
      << nothing_left.err;
  EXPECT_TRUE(Contains(nothing_left.err, "set id_columns: none"));
  // A column the user names as a descriptor stays one, with a warning.
  const std::string explicit_out = Path("explicit");
  const CliResult explicit_run = Run(
      input, explicit_out,
      {"--set", "min_effective_n=50", "--set", "descriptor_columns=[CID, Real0, Real1, Real2]"});
  ASSERT_EQ(explicit_run.exit_code, 0) << explicit_run.err;
  EXPECT_TRUE(
      Contains(explicit_run.err, "but is listed in descriptor_columns: kept as a descriptor"));
  EXPECT_TRUE(Has(Pass1Descriptors(explicit_out), "CID"));
}

// apply exports the run's metadata as it decided it (identifiers and target included; nothing is
// detected again), and new molecules may lack the target.
TEST_F(RolesTest, ApplyExportsTargetAndIdentifiersAsMetadata) {
  const std::string input = Path("train.parquet");
  WriteMordredLike(input, /*with_target=*/true);
  const std::string out = Path("out");
  const CliResult run =
      Run(input, out, {"--set", "min_effective_n=50", "--set", "target_column=pIC50"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_FALSE(Has(Lines(ReadFile(out + "/final_descriptors.txt")), "pIC50"));
  const std::vector<std::string> final = Lines(ReadFile(out + "/final_descriptors.txt"));

  auto columns_of = [](const std::string& path) {
    return QueryScalar(
        "SELECT string_agg(name, ',' ORDER BY rowid) FROM (SELECT name, "
        "row_number() OVER () AS rowid FROM parquet_schema(" +
        QuoteLiteral(path) + ") WHERE name <> 'duckdb_schema')");
  };
  std::string expected = "CID,original_index,SMILES,pIC50";
  for (const std::string& name : final) expected += "," + name;
  const std::string exported = Path("exported.parquet");
  const CliResult apply = RunCli({"apply", out, input, "-o", exported});
  ASSERT_EQ(apply.exit_code, 0) << apply.err;
  EXPECT_EQ(columns_of(exported), expected);

  // New molecules without the target (and with a shuffled CID: not detected again).
  const std::string fresh = Path("new.parquet");
  RunSql("COPY (SELECT * EXCLUDE (pIC50) REPLACE ((CID * 7919) % 1000 AS CID) FROM " +
         QuoteLiteral(input) + ") TO " + QuoteLiteral(fresh) + " (FORMAT parquet)");
  const std::string exported_new = Path("exported_new.parquet");
  const CliResult apply_new = RunCli({"apply", out, fresh, "-o", exported_new});
  ASSERT_EQ(apply_new.exit_code, 0) << apply_new.err;
  expected.replace(expected.find(",pIC50"), 6, "");
  EXPECT_EQ(columns_of(exported_new), expected);
  EXPECT_TRUE(Contains(apply_new.err, "target_column \"pIC50\" is not in"));
}

}  // namespace
}  // namespace descpipe
