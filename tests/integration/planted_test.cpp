// The planted benchmark table (bench/make_data.cpp) and its recovery check
// (bench/check_recovery.cpp): the generator is reproducible, the whole pipeline recovers every
// planted structure on a small instance, and the check reports misses when a rule is loosened.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "support/test_support.hpp"

namespace descpipe::testing {
namespace {

nlohmann::json RecoveryLine(const std::string& out) {
  const std::string marker = "recovery: ";
  const auto at = out.rfind(marker);
  if (at == std::string::npos) return nullptr;
  return nlohmann::json::parse(out.substr(at + marker.size()));
}

TEST(PlantedData, GeneratorIsReproducibleAndMatchesItsTruth) {
  TempDir dir;
  const CliResult one = RunProgram(DESCPIPE_MAKE_DATA_PATH,
                                   {"3000", "120", dir / "a.parquet", "--threads", "1"}, 120);
  const CliResult two = RunProgram(DESCPIPE_MAKE_DATA_PATH,
                                   {"3000", "120", dir / "b.parquet", "--threads", "2"}, 120);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_EQ(ReadFile(dir / "a.parquet"), ReadFile(dir / "b.parquet"));
  EXPECT_EQ(ReadFile(dir / "a.truth.json"), ReadFile(dir / "b.truth.json"));

  const auto truth = nlohmann::json::parse(ReadFile(dir / "a.truth.json"));
  ASSERT_EQ(truth["columns"].size(), 120u);
  std::string names = "mol_id,smiles";
  std::set<std::string> kinds;
  for (const auto& column : truth["columns"]) {
    names += "," + column["name"].get<std::string>();
    kinds.insert(column["kind"].get<std::string>());
  }
  EXPECT_EQ(kinds, (std::set<std::string>{"constant", "high_missing", "near_duplicate", "linear",
                                          "nonlinear", "independent"}));
  EXPECT_EQ(QueryScalar("SELECT string_agg(name, ',' ORDER BY rowid) FROM (SELECT name, "
                        "row_number() OVER () AS rowid "
                        "FROM parquet_schema('" +
                        dir / "a.parquet" + "') WHERE num_children IS NULL)"),
            names);
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM '" + dir / "a.parquet" + "'"), "3000");
  // Near-duplicates are within |rho| >= 0.97; linear sums are below Pass 2's threshold.
  EXPECT_GT(
      std::stod(QueryScalar("SELECT corr(dup0000_a, dup0000_b) FROM '" + dir / "a.parquet" + "'")),
      0.97);
  EXPECT_LT(std::stod(QueryScalar("SELECT corr(lin0000_x1, lin0000_sum) FROM '" +
                                  dir / "a.parquet" + "'")),
            0.9);

  EXPECT_NE(RunProgram(DESCPIPE_MAKE_DATA_PATH, {"10", "5", dir / "c.parquet"}).exit_code, 0)
      << "too few columns for the planted kinds";
}

TEST(PlantedData, PipelineRecoversEveryPlantedStructure) {
  TempDir dir;
  ASSERT_EQ(RunProgram(DESCPIPE_MAKE_DATA_PATH, {"5000", "250", dir / "p.parquet"}, 120).exit_code,
            0);
  const CliResult run = RunCli(
      {"run", dir / "p.parquet", "-o", dir / "out", "--set", "metadata_columns=[mol_id, smiles]"},
      300);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const CliResult check =
      RunProgram(DESCPIPE_CHECK_RECOVERY_PATH, {dir / "p.truth.json", dir / "out", "--strict"});
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  const nlohmann::json recovery = RecoveryLine(check.out);
  ASSERT_TRUE(recovery.is_object()) << check.out;
  EXPECT_EQ(recovery["misses"], 0) << check.out;

  // Expected final set: the independent columns, one per near-duplicate and nonlinear group, two
  // per linear triple.
  const auto truth = nlohmann::json::parse(ReadFile(dir / "p.truth.json"));
  std::size_t expected = 0;
  for (const auto& column : truth["columns"]) expected += column["kind"] == "independent";
  for (const auto& group : truth["groups"]) expected += group["survivors"].get<std::size_t>();
  EXPECT_EQ(recovery["final_descriptors"], expected);
  EXPECT_EQ(recovery["nonlinear"]["removed_by_other_pass"], 0) << check.out;
  EXPECT_EQ(recovery["near_duplicate"]["removed_by_other_pass"], 0) << check.out;
}

TEST(PlantedData, CheckReportsMissesWhenARuleIsLoosened) {
  TempDir dir;
  ASSERT_EQ(RunProgram(DESCPIPE_MAKE_DATA_PATH, {"2000", "100", dir / "p.parquet"}, 120).exit_code,
            0);
  // 70% missing passes a 0.8 limit: the high-missing columns are kept, and counted as misses.
  const CliResult run =
      RunCli({"run", dir / "p.parquet", "-o", dir / "out", "--set",
              "metadata_columns=[mol_id, smiles]", "--set", "max_missing_ratio=0.8"},
             300);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const CliResult check =
      RunProgram(DESCPIPE_CHECK_RECOVERY_PATH, {dir / "p.truth.json", dir / "out", "--strict"});
  EXPECT_EQ(check.exit_code, 1) << check.out;
  const nlohmann::json recovery = RecoveryLine(check.out);
  ASSERT_TRUE(recovery.is_object()) << check.out;
  EXPECT_EQ(recovery["high_missing"]["misses"], recovery["high_missing"]["planted"]) << check.out;
  EXPECT_GT(recovery["high_missing"]["planted"], 0);
}

}  // namespace
}  // namespace descpipe::testing
