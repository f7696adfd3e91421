// The descpipe executable end to end: run, stats, sample, --set, --config, --threads, sampling.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/table.hpp"
#include "descpipe/version.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Contains;
using testing::Lines;
using testing::MessageOf;

namespace fs = std::filesystem;
using testing::CliResult;
using testing::ListDir;
using testing::QueryScalar;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::Succeeded;
using testing::TempDir;
using testing::WriteFile;

/// One RFC 4180 line into cells (quotes doubled inside quoted cells; no embedded newlines).
std::vector<std::string> CsvCells(const std::string& line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cells.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cells.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

/// pass1_stats.csv as rows of column name -> cell.
std::vector<std::map<std::string, std::string>> ReadStatsCsv(const std::string& path) {
  const std::vector<std::string> lines = Lines(ReadFile(path));
  std::vector<std::map<std::string, std::string>> rows;
  if (lines.empty()) return rows;
  const std::vector<std::string> header = CsvCells(lines[0]);
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const std::vector<std::string> cells = CsvCells(lines[i]);
    EXPECT_EQ(cells.size(), header.size()) << lines[i];
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < std::min(cells.size(), header.size()); ++c)
      row[header[c]] = cells[c];
    rows.push_back(row);
  }
  return rows;
}

class CliTest : public ::testing::Test {
 protected:
  // Descriptors in a deliberately unsorted order, one per removal rule that fires by default:
  //   zeta_good (kept), constant (constant), alpha_missing (75% NULL: missing),
  //   spike (one 10 among 999 zeros: normalised variance ~0.001 < 0.002: low_variance),
  //   binary (0/1: kept unless remove_binary), noisy (kept), count (INTEGER: kept).
  // zeta_good is 0..999 in order with 1 and 998 made 0 and 999 (same mean, min and max): 0..999
  // in order would be a row number (id_columns).
  void SetUp() override {
    input_ = dir_ / "descriptors.parquet";
    RunSql(
        "COPY (SELECT 'mol' || range AS id, 'C' || range AS smiles, "
        "CASE range WHEN 1 THEN 0 WHEN 998 THEN 999 ELSE range END * 1.0 AS zeta_good, "
        "5.0 AS constant, CASE WHEN range % 4 = 0 THEN range * 1.0 END AS alpha_missing, "
        "CASE WHEN range = 500 THEN 10.0 ELSE 0.0 END AS spike, (range % 2)::DOUBLE AS binary, "
        "sin(range * 0.7) AS noisy, (range % 17)::INTEGER AS count FROM range(1000)) TO " +
        QuoteLiteral(input_) + " (FORMAT parquet)");
  }
  std::string Out(const std::string& name = "out") const { return dir_ / name; }

  TempDir dir_;
  std::string input_;
  const std::vector<std::string> descriptors_ = {"zeta_good", "constant", "alpha_missing", "spike",
                                                 "binary",    "noisy",    "count"};
};

TEST_F(CliTest, RunWritesThePass1Outputs) {
  const std::string out = Out();
  const CliResult result = RunCli({"run", input_, "-o", out});
  ASSERT_TRUE(Succeeded(result));
  EXPECT_EQ(
      ListDir(out),
      (std::vector<std::string>{
          ".checkpoint", "final_cluster_info.json", "final_descriptors.txt", "lineage.csv",
          "pass1_columns.txt", "pass1_stats.csv", "pass1_variance_filtering.json",
          "pass2_columns.txt", "pass2_spearman.json", "pass2_spearman_matrix.npy",
          "pass3_columns.txt", "pass3_vif.json", "pass4_hsic_matrix.npy", "pass4_nonlinear.json",
          "pass4_rdc_matrix.npy", "report.html", "run_manifest.json"}));

  // pass1_stats.csv: fixed header, one row per descriptor in input order.
  const std::vector<std::string> lines = Lines(ReadFile(out + "/pass1_stats.csv"));
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0].rfind("column,n_total,", 0), 0u) << lines[0];
  const std::string tail = ",kept,reason";
  EXPECT_EQ(lines[0].substr(lines[0].size() - tail.size()), tail);
  const auto rows = ReadStatsCsv(out + "/pass1_stats.csv");
  ASSERT_EQ(rows.size(), descriptors_.size());
  std::map<std::string, std::string> reason;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].at("column"), descriptors_[i]);
    EXPECT_EQ(rows[i].at("n_total"), "1000");
    EXPECT_EQ(rows[i].at("kept"), rows[i].at("reason").empty() ? "true" : "false");
    reason[rows[i].at("column")] = rows[i].at("reason");
  }
  EXPECT_EQ(reason["zeta_good"], "");
  EXPECT_EQ(reason["constant"], "constant");
  EXPECT_EQ(reason["alpha_missing"], "missing");
  EXPECT_EQ(reason["spike"], "low_variance");
  EXPECT_EQ(reason["binary"], "");
  EXPECT_EQ(reason["noisy"], "");
  EXPECT_EQ(reason["count"], "");
  EXPECT_EQ(rows[2].at("n_null"), "750");
  EXPECT_NEAR(std::stod(rows[0].at("mean")), 499.5, 1e-9);
  EXPECT_EQ(rows[0].at("min"), "0");
  EXPECT_EQ(rows[0].at("max"), "999");

  EXPECT_EQ(ReadFile(out + "/pass1_columns.txt"), "zeta_good\nbinary\nnoisy\ncount\n");

  const auto json = nlohmann::json::parse(ReadFile(out + "/pass1_variance_filtering.json"));
  EXPECT_EQ(json.at("input_columns").get<int>(), 7);
  EXPECT_EQ(json.at("output_columns").get<int>(), 4);
  EXPECT_EQ(json.at("removed_columns").get<int>(), 3);
  EXPECT_EQ(json.at("n_rows").get<int>(), 1000);
  int by_reason_total = 0;
  for (const auto& [name, count] : json.at("removed_by_reason").items())
    by_reason_total += count.get<int>();
  EXPECT_EQ(by_reason_total, json.at("removed_columns").get<int>());
  EXPECT_EQ(json.at("removed_by_reason").at("constant").get<int>(), 1);
  EXPECT_EQ(json.at("removed_by_reason").at("missing").get<int>(), 1);
  EXPECT_EQ(json.at("removed_by_reason").at("low_variance").get<int>(), 1);
  ASSERT_EQ(json.at("removed").size(), 3u);
  EXPECT_EQ(json.at("removed")[0].at("column"), "constant");
  EXPECT_TRUE(
      Contains(json.at("removed")[2].at("detail").get<std::string>(), "variance_threshold"));
  EXPECT_DOUBLE_EQ(json.at("options").at("variance_threshold").get<double>(), 0.002);

  // The summary goes to stderr, nothing to stdout.
  EXPECT_TRUE(result.out.empty()) << result.out;
  EXPECT_TRUE(Contains(result.err, "pass1"));
}

TEST_F(CliTest, RunTwiceReplacesTheOutputs) {
  const std::string out = Out();
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", out, "-q"})));
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", out, "-q", "--set", "remove_binary=true"})));
  EXPECT_EQ(ReadFile(out + "/pass1_columns.txt"), "zeta_good\nnoisy\ncount\n");
  EXPECT_EQ(ListDir(out).size(), 17u);  // no temporary files left (.checkpoint is a directory)
  EXPECT_EQ(ListDir(out + "/.checkpoint"),
            (std::vector<std::string>{"pass1.json", "pass2.json", "pass2_nonlinear_rows.npy",
                                      "pass3.json"}));
}

// `descpipe config` prints the effective configuration; `run --config` of that output is the
// same run (same manifest config and pass fingerprints) as the options it was printed from.
TEST_F(CliTest, ConfigPrintsWhatRunUsesAndReadsBack) {
  const CliResult printed = RunCli({"config", input_, "-o", Out("a"), "--set", "hsic_D=128",
                                    "--set", "remove_binary=true", "-t", "1"});
  ASSERT_TRUE(Succeeded(printed)) << printed.err;
  EXPECT_TRUE(Contains(printed.out, "hsic_D: 128\n")) << printed.out;
  EXPECT_TRUE(Contains(printed.out, "threads: 1\n")) << printed.out;
  WriteFile(dir_ / "printed.yaml", printed.out);
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", Out("a"), "-q", "--set", "hsic_D=128", "--set",
                                "remove_binary=true", "-t", "1"})));
  const CliResult again = RunCli({"run", "--config", dir_ / "printed.yaml", "-q", "-o", Out("b")});
  ASSERT_TRUE(Succeeded(again)) << again.err;
  const auto a = nlohmann::json::parse(ReadFile(Out("a") + "/run_manifest.json"));
  const auto b = nlohmann::json::parse(ReadFile(Out("b") + "/run_manifest.json"));
  auto config_a = a["config"], config_b = b["config"];
  config_a.erase("output_dir");
  config_b.erase("output_dir");
  EXPECT_EQ(config_a, config_b);
  ASSERT_EQ(a["passes"].size(), b["passes"].size());
  for (std::size_t i = 0; i < a["passes"].size(); ++i)
    EXPECT_EQ(a["passes"][i]["fingerprint"], b["passes"][i]["fingerprint"]);

  const CliResult list = RunCli({"config", "--list"});
  ASSERT_TRUE(Succeeded(list));
  EXPECT_TRUE(Contains(list.out, "hsic_D")) << list.out;
  EXPECT_TRUE(Contains(list.out, "default 0.95; number (0, 1]")) << list.out;

  const CliResult bad = RunCli({"config", "--set", "hsic_D=3"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(Contains(bad.err, "error: option hsic_D must be an integer")) << bad.err;
}

TEST_F(CliTest, QuietPrintsNothingOnSuccess) {
  const CliResult result = RunCli({"run", input_, "-o", Out(), "--quiet"});
  ASSERT_TRUE(Succeeded(result));
  EXPECT_EQ(result.err, "");
  EXPECT_EQ(result.out, "");
}

TEST_F(CliTest, StatsCsvEqualsTheRunOutput) {
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", Out(), "-q"})));
  const CliResult result = RunCli({"stats", input_, "--format", "csv", "-q"});
  ASSERT_TRUE(Succeeded(result));
  EXPECT_EQ(result.out, ReadFile(Out() + "/pass1_stats.csv"));
}

TEST_F(CliTest, StatsJson) {
  const CliResult result = RunCli({"stats", input_, "-f", "json", "-q"});
  ASSERT_TRUE(Succeeded(result));
  const auto json = nlohmann::json::parse(result.out);
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), descriptors_.size());
  for (std::size_t i = 0; i < descriptors_.size(); ++i) {
    EXPECT_EQ(json[i].at("column"), descriptors_[i]);
    EXPECT_EQ(json[i].at("n_total").get<int>(), 1000);
  }
  EXPECT_EQ(json[0].at("kept"), true);
  EXPECT_EQ(json[1].at("kept"), false);
  EXPECT_EQ(json[1].at("reason"), "constant");
  EXPECT_TRUE(json[1].at("normalized_variance").is_null());  // NaN has no JSON spelling
  EXPECT_NEAR(json[0].at("mean").get<double>(), 499.5, 1e-9);
}

TEST_F(CliTest, StatsTable) {
  const CliResult result = RunCli({"stats", input_, "--format", "table", "-q"});
  ASSERT_TRUE(Succeeded(result));
  const std::vector<std::string> lines = Lines(result.out);
  ASSERT_EQ(lines.size(), descriptors_.size() + 1);
  EXPECT_EQ(lines[0].rfind("column", 0), 0u);
  EXPECT_TRUE(Contains(lines[0], "kept"));
  for (std::size_t i = 0; i < descriptors_.size(); ++i) {
    EXPECT_EQ(lines[i + 1].rfind(descriptors_[i], 0), 0u) << lines[i + 1];
  }
  EXPECT_TRUE(Contains(lines[2], "constant"));
  // The default format is the table.
  EXPECT_EQ(RunCli({"stats", input_, "-q"}).out, result.out);
}

TEST_F(CliTest, SampleCommand) {
  const std::string sample = dir_ / "sample.parquet";
  ASSERT_TRUE(Succeeded(RunCli({"sample", input_, "-n", "20", "-o", sample, "-q"})));
  const std::string source = "read_parquet(" + QuoteLiteral(sample) + ")";
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + source), "20");
  EXPECT_EQ(QueryScalar("SELECT string_agg(column_name, ',') FROM (DESCRIBE SELECT * FROM " +
                        source + ")"),
            "id,smiles,zeta_good,constant,alpha_missing,spike,binary,noisy,count");
  const std::string ids = "SELECT string_agg(id, ',') FROM " + source;
  const std::string first = QueryScalar(ids);

  ASSERT_TRUE(Succeeded(RunCli({"sample", input_, "-n", "20", "-o", sample, "-q"})));
  EXPECT_EQ(QueryScalar(ids), first);
  ASSERT_TRUE(Succeeded(RunCli({"sample", input_, "-n", "20", "--seed", "5", "-o", sample, "-q"})));
  EXPECT_NE(QueryScalar(ids), first);
  ASSERT_TRUE(Succeeded(RunCli({"sample", input_, "--per-file", "7", "-o", sample, "-q"})));
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + source), "7");
}

TEST_F(CliTest, VersionAndHelp) {
  const CliResult version = RunCli({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind(std::string("descpipe ") + Version(), 0), 0u) << version.out;

  const CliResult help = RunCli({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"run", "stats", "sample"}) EXPECT_TRUE(Contains(help.out, command));

  const CliResult run_help = RunCli({"run", "--help"});
  EXPECT_EQ(run_help.exit_code, 0);
  EXPECT_TRUE(Contains(run_help.out, "--until"));
  EXPECT_TRUE(Contains(run_help.out, "--set"));
}

TEST_F(CliTest, SetOverridesOptions) {
  const std::string out = Out();
  ASSERT_TRUE(
      Succeeded(RunCli({"run", input_, "-o", out, "-q", "--set", "remove_binary=true", "--set",
                        "filtering.max_missing_ratio=0.8", "--set", "trim_percentiles=[5, 95]"})));
  const auto json = nlohmann::json::parse(ReadFile(out + "/pass1_variance_filtering.json"));
  EXPECT_EQ(json.at("options").at("remove_binary"), true);
  EXPECT_DOUBLE_EQ(json.at("options").at("max_missing_ratio").get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(json.at("options").at("trim_percentiles")[0].get<double>(), 5.0);
  // alpha_missing (75% missing) is kept now, binary is removed.
  EXPECT_EQ(ReadFile(out + "/pass1_columns.txt"), "zeta_good\nalpha_missing\nnoisy\ncount\n");
  EXPECT_EQ(json.at("removed_by_reason").at("binary").get<int>(), 1);
}

TEST_F(CliTest, ConfigFile) {
  const std::string config = dir_ / "config.yaml";
  const std::string out = Out("from_config");
  WriteFile(config, "io:\n  parquet_glob: " + input_ + "\n  output_dir: " + out +
                        "\nfiltering:\n  variance_threshold: 0.09\n  range_mode: MINMAX\n"
                        "device:\n  gpu_precision: tf32\n  prefer_gpu: true\n");
  const CliResult result = RunCli({"run", "--config", config});
  ASSERT_TRUE(Succeeded(result));
  const auto json = nlohmann::json::parse(ReadFile(out + "/pass1_variance_filtering.json"));
  EXPECT_DOUBLE_EQ(json.at("options").at("variance_threshold").get<double>(), 0.09);
  EXPECT_EQ(json.at("options").at("range_mode"), "minmax");
  // noisy: variance 0.5 over min-max range ~2: 0.125 kept; count: 24 / 16^2 = 0.094 kept;
  // zeta_good: 1/12: removed at 0.09.
  EXPECT_EQ(ReadFile(out + "/pass1_columns.txt"), "binary\nnoisy\ncount\n");
  // Options descpipe does not use are reported, not silently dropped; the device is logged.
  EXPECT_TRUE(Contains(result.err, "prefer_gpu"));
  EXPECT_TRUE(Contains(result.err, "device: CPU (device: cpu)")) << result.err;

  // -o and --set on the command line win over the file.
  const std::string other = Out("other");
  ASSERT_TRUE(Succeeded(
      RunCli({"run", "-c", config, "-o", other, "-q", "--set", "variance_threshold=0.002"})));
  EXPECT_EQ(ReadFile(other + "/pass1_columns.txt"), "zeta_good\nbinary\nnoisy\ncount\n");
}

TEST_F(CliTest, UntilStopsAfterThatPass) {
  const std::string out = Out();
  const CliResult bad = RunCli({"run", input_, "-o", out, "--until", "pass5"});
  EXPECT_NE(bad.exit_code, 0);
  const std::vector<std::string> lines = Lines(bad.err);
  ASSERT_EQ(lines.size(), 1u) << bad.err;
  EXPECT_EQ(lines[0].rfind("error: ", 0), 0u);
  EXPECT_TRUE(Contains(lines[0], "pass5"));
  EXPECT_FALSE(fs::exists(out));

  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", out, "--until", "pass1", "-q"})));
  EXPECT_TRUE(fs::exists(out + "/pass1_stats.csv"));
  EXPECT_FALSE(fs::exists(out + "/pass2_columns.txt"));
  const std::string three = Out("three");
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", three, "--until", "pass3", "-q"})));
  EXPECT_TRUE(fs::exists(three + "/pass3_columns.txt"));
  EXPECT_FALSE(fs::exists(three + "/pass4_nonlinear.json"));
  EXPECT_FALSE(fs::exists(three + "/final_descriptors.txt"));
}

TEST_F(CliTest, ManifestRecordsInputsConfigAndPassFingerprints) {
  const std::string out = Out(), changed = Out("changed");
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", out, "-q"})));
  const auto manifest = nlohmann::json::parse(ReadFile(out + "/run_manifest.json"));
  EXPECT_FALSE(manifest.at("descpipe_version").get<std::string>().empty());
  ASSERT_EQ(manifest.at("inputs").at("files").size(), 1u);
  EXPECT_EQ(manifest.at("inputs").at("files").at(0).at("path"), input_);
  EXPECT_EQ(manifest.at("inputs").at("files").at(0).at("rows").get<int>(), 1000);
  EXPECT_EQ(manifest.at("columns").at("metadata"), nlohmann::json::array({"id", "smiles"}));
  EXPECT_DOUBLE_EQ(manifest.at("config").at("variance_threshold").get<double>(), 0.002);
  EXPECT_EQ(manifest.at("config").at("leiden_objective"), "modularity");
  EXPECT_EQ(manifest.at("config").at("gpu_precision"), "fp64");
  EXPECT_EQ(manifest.at("device"), "CPU (device: cpu)");
  const auto& passes = manifest.at("passes");
  ASSERT_EQ(passes.size(), 4u);  // no sampling
  EXPECT_EQ(passes.at(0).at("pass"), "pass1_statistics");
  EXPECT_EQ(passes.at(3).at("pass"), "pass4_nonlinear");
  for (const auto& pass : passes) EXPECT_EQ(pass.at("device"), "CPU (device: cpu)");
  // Each output is recorded with its size and hash.
  for (const auto& pass : passes) {
    for (const auto& output : pass.at("outputs")) {
      const std::string content = ReadFile(out + "/" + output.at("file").get<std::string>());
      EXPECT_EQ(output.at("size_bytes").get<std::size_t>(), content.size());
      EXPECT_EQ(output.at("xxh3_64").get<std::string>().size(), 16u);
    }
  }
  // A Pass 3 option changes the fingerprints of Passes 3 and 4 only; threads change none.
  ASSERT_TRUE(Succeeded(
      RunCli({"run", input_, "-o", changed, "-q", "--set", "vif_threshold=5", "--threads", "1"})));
  const auto other = nlohmann::json::parse(ReadFile(changed + "/run_manifest.json"));
  for (std::size_t k = 0; k < 4; ++k) {
    const bool same = passes.at(k).at("fingerprint") == other.at("passes").at(k).at("fingerprint");
    EXPECT_EQ(same, k < 2) << passes.at(k).at("pass");
  }
}

TEST_F(CliTest, ApplyWritesMetadataAndKeptDescriptors) {
  const std::string out = Out();
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", out, "-q"})));
  const std::string reduced = dir_ / "reduced.parquet";
  ASSERT_TRUE(Succeeded(RunCli({"apply", out, input_, "-o", reduced, "-q"})));
  const std::string scan = "read_parquet(" + QuoteLiteral(reduced) + ")";
  std::vector<std::string> expected = {"id", "smiles"};
  for (const auto& name : Lines(ReadFile(out + "/final_descriptors.txt"))) expected.push_back(name);
  std::string names =
      QueryScalar("SELECT string_agg(column_name, ',') FROM (DESCRIBE SELECT * FROM " + scan + ")");
  std::string joined;
  for (const auto& name : expected) joined += (joined.empty() ? "" : ",") + name;
  EXPECT_EQ(names, joined);
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + scan), "1000");
  // Same values, same row order as the input.
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + scan + " r POSITIONAL JOIN read_parquet(" +
                        QuoteLiteral(input_) + ") i WHERE r.id = i.id AND r.smiles = i.smiles"),
            "1000");
  // --after pass2 and pass3 take those lists.
  for (const std::string after : {"pass2", "pass3"}) {
    const std::string path = dir_ / (after + ".parquet");
    ASSERT_TRUE(Succeeded(RunCli({"apply", out, input_, "-o", path, "--after", after, "-q"})));
    EXPECT_EQ(QueryScalar("SELECT count(*) FROM (DESCRIBE SELECT * FROM read_parquet(" +
                          QuoteLiteral(path) + "))"),
              std::to_string(2 + Lines(ReadFile(out + "/" + after + "_columns.txt")).size()));
  }
  // A new table with the same columns (other rows) works; one without a kept descriptor is an
  // error naming the column and the file, and writes nothing.
  const std::string other = dir_ / "other.parquet";
  RunSql("COPY (SELECT * FROM read_parquet(" + QuoteLiteral(input_) + ") LIMIT 10) TO " +
         QuoteLiteral(other) + " (FORMAT parquet)");
  ASSERT_TRUE(Succeeded(RunCli({"apply", out, other, "-o", dir_ / "other_reduced.parquet", "-q"})));
  const std::string final_first = Lines(ReadFile(out + "/final_descriptors.txt")).front();
  const std::string lacking = dir_ / "lacking.parquet";
  RunSql("COPY (SELECT * EXCLUDE (" + QuoteIdentifier(final_first) + ") FROM read_parquet(" +
         QuoteLiteral(input_) + ")) TO " + QuoteLiteral(lacking) + " (FORMAT parquet)");
  const CliResult missing = RunCli({"apply", out, lacking, "-o", dir_ / "never.parquet"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Contains(missing.err, final_first)) << missing.err;
  EXPECT_TRUE(Contains(missing.err, lacking)) << missing.err;
  EXPECT_FALSE(fs::exists(dir_ / "never.parquet"));
  // The output may not be an input; a run stopped early has no final list; a directory without
  // a run is named.
  const CliResult same = RunCli({"apply", out, input_, "-o", input_});
  EXPECT_EQ(same.exit_code, 2);
  EXPECT_TRUE(Contains(same.err, "also an input")) << same.err;
  const std::string early = Out("early");
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", early, "-q", "--until", "pass3"})));
  const CliResult not_final = RunCli({"apply", early, input_, "-o", dir_ / "x.parquet"});
  EXPECT_EQ(not_final.exit_code, 2);
  EXPECT_TRUE(Contains(not_final.err, "pass4_nonlinear")) << not_final.err;
  EXPECT_TRUE(Succeeded(
      RunCli({"apply", early, input_, "-o", dir_ / "x.parquet", "--after", "pass3", "-q"})));
  const CliResult no_run = RunCli({"apply", dir_.path(), input_, "-o", dir_ / "y.parquet"});
  EXPECT_EQ(no_run.exit_code, 2);
  EXPECT_TRUE(Contains(no_run.err, "run_manifest.json")) << no_run.err;
}

TEST_F(CliTest, SummaryTableListsEveryPass) {
  const CliResult result = RunCli({"run", input_, "-o", Out()});
  ASSERT_TRUE(Succeeded(result));
  for (const char* pass :
       {"pass1_statistics", "pass2_spearman", "pass3_vif", "pass4_nonlinear", "total"}) {
    EXPECT_TRUE(Contains(result.err, pass)) << pass << "\n" << result.err;
  }
  EXPECT_TRUE(Contains(result.err, "peak RSS"));
}

TEST_F(CliTest, ExplainTellsWhyAndWhatStandsForIt) {
  const std::string out = Out();
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", out, "-q"})));
  // constant: removed in Pass 1, represented by nothing.
  const CliResult constant = RunCli({"explain", out, "constant"});
  ASSERT_TRUE(Succeeded(constant)) << constant.err;
  EXPECT_TRUE(Contains(constant.out, "removed in pass 1 (statistics)")) << constant.out;
  EXPECT_TRUE(Contains(constant.out, "constant")) << constant.out;
  EXPECT_TRUE(Contains(constant.out, "No final descriptor represents it")) << constant.out;
  // A final descriptor.
  const std::vector<std::string> finals = Lines(ReadFile(out + "/final_descriptors.txt"));
  ASSERT_FALSE(finals.empty());
  const CliResult kept = RunCli({"explain", out, finals.front()});
  ASSERT_TRUE(Succeeded(kept)) << kept.err;
  EXPECT_TRUE(Contains(kept.out, "a final descriptor")) << kept.out;
  // Unknown names and directories without a run are clear errors.
  const CliResult unknown = RunCli({"explain", out, "zeta"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(Contains(unknown.err, "'zeta' is not an input descriptor")) << unknown.err;
  EXPECT_TRUE(Contains(unknown.err, "zeta_good")) << unknown.err;  // suggestion
  const CliResult missing = RunCli({"explain", Out("nothing"), "zeta_good"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(Contains(missing.err, "final_cluster_info.json")) << missing.err;
}

TEST_F(CliTest, ThreadCountGivesByteIdenticalOutputs) {
  // Three files, 45000 rows: several batches, and quantiles from the bounded sample
  // (quantile_sample_size 1024), so that thread scheduling has something to change.
  for (int f = 0; f < 3; ++f) {
    RunSql("COPY (SELECT 'r' || range AS id, sin(range * 0.37 + " + std::to_string(f) +
           ") * 100 AS a, "
           "(hash(range + " +
           std::to_string(f * 15000) +
           ") % 1000)::DOUBLE AS b, "
           "CASE WHEN range % 11 = 0 THEN NULL ELSE range * 0.001 END AS c, (range % 300)::INTEGER "
           "AS d "
           "FROM range(15000)) TO " +
           QuoteLiteral(dir_ / ("big-" + std::to_string(f) + ".parquet")) +
           " (FORMAT parquet, ROW_GROUP_SIZE 4000)");
  }
  const std::string pattern = dir_ / "big-*.parquet";
  const std::string one = Out("threads1");
  const std::string two = Out("threads2");
  ASSERT_TRUE(Succeeded(RunCli(
      {"run", pattern, "-o", one, "--threads", "1", "-q", "--set", "quantile_sample_size=1024"})));
  ASSERT_TRUE(Succeeded(RunCli(
      {"run", pattern, "-o", two, "--threads", "2", "-q", "--set", "quantile_sample_size=1024"})));
  for (const char* name :
       {"pass1_stats.csv", "pass1_columns.txt", "pass1_variance_filtering.json"}) {
    const std::string first = ReadFile(one + "/" + name);
    EXPECT_FALSE(first.empty()) << name;
    EXPECT_EQ(first, ReadFile(two + "/" + name)) << name;
  }
  const auto rows = ReadStatsCsv(one + "/pass1_stats.csv");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0].at("n_total"), "45000");
  EXPECT_EQ(rows[0].at("quantiles_exact"), "false");
}

TEST_F(CliTest, SampleRowsInConfigFeedsPass1) {
  const std::string out = Out();
  ASSERT_TRUE(Succeeded(
      RunCli({"run", input_, "-o", out, "-q", "--set", "sample_rows=300", "--until", "pass1"})));
  EXPECT_EQ(ListDir(out),
            (std::vector<std::string>{".checkpoint", "pass1_columns.txt", "pass1_stats.csv",
                                      "pass1_variance_filtering.json", "report.html",
                                      "run_manifest.json", "sampled_data.parquet"}));
  const std::string sample = "read_parquet(" + QuoteLiteral(out + "/sampled_data.parquet") + ")";
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + sample), "300");
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM (DESCRIBE SELECT * FROM " + sample + ")"), "9");
  const auto rows = ReadStatsCsv(out + "/pass1_stats.csv");
  ASSERT_EQ(rows.size(), descriptors_.size());
  for (const auto& row : rows) EXPECT_EQ(row.at("n_total"), "300") << row.at("column");
  // Pass 1 statistics are those of the sampled rows.
  EXPECT_NEAR(std::stod(rows[0].at("mean")),
              std::stod(QueryScalar("SELECT avg(zeta_good) FROM " + sample)), 1e-9);
  EXPECT_EQ(rows[0].at("max"), QueryScalar("SELECT max(zeta_good)::INTEGER FROM " + sample));
  const auto json = nlohmann::json::parse(ReadFile(out + "/pass1_variance_filtering.json"));
  EXPECT_EQ(json.at("n_rows").get<int>(), 300);
}

TEST_F(CliTest, CsvInput) {
  const std::string csv = dir_ / "descriptors.csv";
  RunSql("COPY (SELECT * FROM read_parquet(" + QuoteLiteral(input_) + ")) TO " + QuoteLiteral(csv) +
         " (FORMAT csv, HEADER true)");
  const std::string out = Out("csv");
  ASSERT_TRUE(Succeeded(RunCli({"run", csv, "-o", out, "-q"})));
  ASSERT_TRUE(Succeeded(RunCli({"run", input_, "-o", Out("parquet"), "-q"})));
  EXPECT_EQ(ReadFile(out + "/pass1_columns.txt"), ReadFile(Out("parquet") + "/pass1_columns.txt"));
  const auto rows = ReadStatsCsv(out + "/pass1_stats.csv");
  ASSERT_EQ(rows.size(), descriptors_.size());
  EXPECT_EQ(rows[0].at("n_total"), "1000");
  EXPECT_EQ(rows[2].at("n_null"), "750");
}

TEST_F(CliTest, AwkwardColumnNamesInOutputs) {
  const std::string path = dir_ / "names.parquet";
  RunSql(
      "COPY (SELECT 'm' || range AS \"my id\", range * 0.5 AS \"a b\", (range % 7) * 1.0 AS "
      "\"q\"\"uote\", "
      "(range % 11) * 1.0 AS \"it's\", (range % 13) * 1.0 AS \"Δμ\", (range % 5) * 1.0 AS "
      "\"select\", "
      "(range % 3) * 1.0 AS \"x,y\" FROM range(200)) TO " +
      QuoteLiteral(path) + " (FORMAT parquet)");
  const std::string out = Out();
  ASSERT_TRUE(Succeeded(RunCli({"run", path, "-o", out, "-q"})));
  const std::vector<std::string> names = {"a b", "q\"uote", "it's", "Δμ", "select", "x,y"};
  const auto rows = ReadStatsCsv(out + "/pass1_stats.csv");
  ASSERT_EQ(rows.size(), names.size());
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(rows[i].at("column"), names[i]);
  EXPECT_EQ(ReadFile(out + "/pass1_columns.txt"), "a b\nq\"uote\nit's\nΔμ\nselect\nx,y\n");
  EXPECT_EQ(rows[5].at("n_distinct"), "3");

  ASSERT_TRUE(Succeeded(
      RunCli({"run", path, "-o", Out("explicit"), "-q", "--set", "metadata_columns=[\"my id\"]",
              "--set", "descriptor_columns=[\"it's\", select]"})));
  EXPECT_EQ(ReadFile(Out("explicit") + "/pass1_columns.txt"), "it's\nselect\n");
}

}  // namespace
}  // namespace descpipe
