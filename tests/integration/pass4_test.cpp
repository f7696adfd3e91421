// Pass 4 through the executable, on planted data: nonlinear partners of x (x^2, |x|, sin(3x), a
// step, exp(x), each with independent noise) are clustered with x, independent columns stay
// apart; the weights, top-k, CPM, the row sample and the few-rows path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

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

const std::vector<std::string> kPlanted = {"x", "x_squared", "x_abs", "x_sin3", "x_step", "x_exp"};
const std::vector<std::string> kNoise = {"noise_a", "noise_b", "noise_c",
                                         "noise_d", "noise_e", "noise_f"};

/// x uniform on [-1, 1]; n1..n5 standard normal (Box-Muller on hashes): reproducible, no RNG state.
std::string PlantedSql(int rows, const std::string& path) {
  auto uniform = [](int salt) {
    return "((hash(i * 7 + " + std::to_string(salt) + ") % 1000003)::DOUBLE / 1000003)";
  };
  auto normal = [&](int a, int b, const char* trig) {
    return "sqrt(-2 * ln((" + uniform(a) + " * 1000003 + 1) / 1000004)) * " + trig +
           "(2 * pi() * " + uniform(b) + ")";
  };
  return "COPY (WITH base AS (SELECT i, " + uniform(1) + " * 2 - 1 AS x, " + normal(2, 3, "cos") +
         " AS n1, " + normal(4, 5, "cos") + " AS n2, " + normal(6, 3, "sin") + " AS n3, " +
         normal(2, 5, "sin") + " AS n4, " + normal(4, 6, "sin") + " AS n5 FROM range(" +
         std::to_string(rows) +
         ") t(i)) SELECT 'm' || i AS mol_id, x, x * x + 0.05 * n1 AS x_squared, abs(x) + 0.05 * n2 "
         "AS x_abs, "
         "sin(3 * x) + 0.05 * n3 AS x_sin3, (x > 0.3)::DOUBLE + 0.1 * n4 AS x_step, exp(x) + 0.1 * "
         "n5 AS x_exp, "
         "(hash(i * 13 + 100) % 1000003)::DOUBLE AS noise_a, (hash(i * 13 + 101) % "
         "1000003)::DOUBLE AS noise_b, "
         "(hash(i * 13 + 102) % 1000003)::DOUBLE AS noise_c, (hash(i * 13 + 103) % "
         "1000003)::DOUBLE AS noise_d, "
         "(hash(i * 13 + 104) % 97)::DOUBLE AS noise_e, ln(((hash(i * 13 + 105) % 1000003) + "
         "1)::DOUBLE) AS noise_f "
         "FROM base) TO " +
         QuoteLiteral(path) + " (FORMAT parquet)";
}

class Pass4Test : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = dir_ / "planted.parquet";
    RunSql(PlantedSql(5000, input_));
  }
  /// Passes 2 and 3 removing nothing, so that Pass 4 sees every planted column.
  CliResult RunPass4Only(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run",
                                     input_,
                                     "-o",
                                     out,
                                     "-q",
                                     "--set",
                                     "spearman_threshold=1.0",
                                     "--set",
                                     "vif_threshold=1e12"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  std::string Out(const std::string& name) const { return dir_ / name; }
  static nlohmann::json Report(const std::string& out) {
    return nlohmann::json::parse(ReadFile(out + "/pass4_nonlinear.json"));
  }
  /// Column -> representative of its Pass 4 cluster (itself for singletons).
  static std::map<std::string, std::string> Clusters(const std::string& out) {
    std::map<std::string, std::string> cluster_of;
    for (const auto& column : Lines(ReadFile(out + "/pass3_columns.txt")))
      cluster_of[column] = column;
    const nlohmann::json report = Report(out);  // named: a temporary would die before the loop body
    for (const auto& cluster : report.at("clusters")) {
      for (const auto& member : cluster.at("members")) {
        cluster_of[member.at("column").get<std::string>()] =
            cluster.at("representative").get<std::string>();
      }
    }
    return cluster_of;
  }

  TempDir dir_;
  std::string input_;
};

TEST_F(Pass4Test, PlantedPartnersJoinXAndNoiseStaysApart) {
  const std::string out = Out("out");
  const CliResult result = RunPass4Only(out);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::vector<std::string> columns = Lines(ReadFile(out + "/pass3_columns.txt"));
  ASSERT_EQ(columns.size(), 12u);
  std::size_t rows = 0, cols = 0;
  const std::vector<double> hsic = io::ReadNpy(out + "/pass4_hsic_matrix.npy", &rows, &cols);
  ASSERT_EQ(rows, 12u);
  ASSERT_EQ(cols, 12u);
  const std::vector<double> rdc = io::ReadNpy(out + "/pass4_rdc_matrix.npy", &rows, &cols);
  auto index = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(columns.begin(), columns.end(), name) -
                                    columns.begin());
  };
  auto s = [&](const std::string& a, const std::string& b) {
    const std::size_t i = index(a), j = index(b);
    return 0.5 * hsic[i * 12 + j] + 0.5 * rdc[i * 12 + j];
  };
  for (const auto& partner : kPlanted) {
    EXPECT_DOUBLE_EQ(s(partner, partner), 1.0) << partner;
    if (partner != "x") EXPECT_GE(s("x", partner), 0.6) << partner;
  }
  // Noise: S below 0.1, or screened (nonlinear_screening: nHSIC and so S NaN, because its RDC
  // is below 0.2 and even nHSIC = 1 would leave S below the threshold 0.6).
  auto weak = [&](const std::string& a, const std::string& b) {
    const double value = s(a, b), r = rdc[index(a) * 12 + index(b)];
    return std::isnan(value) ? std::isnan(hsic[index(a) * 12 + index(b)]) && r < 0.2 : value < 0.1;
  };
  std::size_t screened = 0;
  for (const auto& a : kNoise) {
    EXPECT_TRUE(weak("x", a)) << a;
    screened += std::isnan(s("x", a)) ? 1 : 0;
    for (const auto& b : kNoise) {
      if (a != b) EXPECT_TRUE(weak(a, b)) << a << " " << b;
    }
  }
  EXPECT_GT(screened, 0u);
  // One cluster: the planted group, represented by its hub x; every noise column alone.
  const auto cluster_of = Clusters(out);
  for (const auto& partner : kPlanted) EXPECT_EQ(cluster_of.at(partner), "x") << partner;
  for (const auto& noise : kNoise) EXPECT_EQ(cluster_of.at(noise), noise) << noise;
  std::vector<std::string> expected = {"x"};
  expected.insert(expected.end(), kNoise.begin(), kNoise.end());
  EXPECT_EQ(Lines(ReadFile(out + "/final_descriptors.txt")), expected);
  const auto report = Report(out);
  EXPECT_EQ(report.at("removed").size(), 5u);
  EXPECT_EQ(report.at("parameters").at("rows_used").get<int>(), 5000);
  EXPECT_EQ(report.at("clusters").at(0).at("decided_by"), "mean_similarity");
}

TEST_F(Pass4Test, WholePipelineLineageLeadsToOneRepresentativeOfTheGroup) {
  const std::string out = Out("out");
  ASSERT_EQ(RunCli({"run", input_, "-o", out, "-q"}).exit_code, 0);
  const std::vector<std::string> finals = Lines(ReadFile(out + "/final_descriptors.txt"));
  for (const auto& noise : kNoise)
    EXPECT_NE(std::find(finals.begin(), finals.end(), noise), finals.end()) << noise;
  EXPECT_EQ(finals.size(), kNoise.size() + 1);  // the planted group collapses to one column
  const std::string representative = finals.front();
  EXPECT_NE(std::find(kPlanted.begin(), kPlanted.end(), representative), kPlanted.end());
  const auto lineage = nlohmann::json::parse(ReadFile(out + "/final_cluster_info.json"));
  for (const auto& partner : kPlanted) {
    if (partner == representative) continue;
    const auto& link = lineage.at("removed").at(partner);
    EXPECT_EQ(link.at("represented_by"), representative) << partner;
    EXPECT_GE(link.at("pass").get<int>(), 2) << partner;
  }
  const CliResult story = RunCli({"explain", out, "x_exp"});
  ASSERT_EQ(story.exit_code, 0) << story.err;
  EXPECT_TRUE(Contains(story.out, "Now represented by: " + representative)) << story.out;
}

TEST_F(Pass4Test, SameBytesAcrossThreadsAndReruns) {
  const std::string one = Out("one"), two = Out("two"), again = Out("again");
  ASSERT_EQ(RunPass4Only(one, {"--threads", "1"}).exit_code, 0);
  ASSERT_EQ(RunPass4Only(two, {"--threads", "2"}).exit_code, 0);
  ASSERT_EQ(RunPass4Only(again, {"--threads", "2"}).exit_code, 0);
  for (const char* name : {"pass4_hsic_matrix.npy", "pass4_rdc_matrix.npy", "pass4_nonlinear.json",
                           "final_descriptors.txt", "final_cluster_info.json"}) {
    EXPECT_EQ(ReadFile(one + "/" + name), ReadFile(two + "/" + name)) << name;
    EXPECT_EQ(ReadFile(two + "/" + name), ReadFile(again + "/" + name)) << name;
  }
}

TEST_F(Pass4Test, ZeroWeightSkipsThatMeasure) {
  const std::string out = Out("out");
  ASSERT_EQ(RunPass4Only(out).exit_code, 0);
  ASSERT_TRUE(fs::exists(out + "/pass4_hsic_matrix.npy"));
  // Rerun into the same directory with w_hsic = 0: no HSIC matrix, not even a stale one.
  ASSERT_EQ(RunPass4Only(out, {"--set", "w_hsic=0"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(out + "/pass4_hsic_matrix.npy"));
  EXPECT_TRUE(fs::exists(out + "/pass4_rdc_matrix.npy"));
  const auto report = Report(out);
  EXPECT_EQ(report.at("parameters").at("w_hsic").get<double>(), 0.0);
  for (const auto& cluster : report.at("clusters")) {
    for (const auto& member : cluster.at("members")) {
      EXPECT_TRUE(member.at("hsic_to_representative").is_null());
      EXPECT_EQ(member.at("s_to_representative"), member.at("rdc_to_representative"));
    }
  }
  const std::string rdc_free = Out("rdc_free");
  ASSERT_EQ(RunPass4Only(rdc_free, {"--set", "w_rdc=0"}).exit_code, 0);
  EXPECT_FALSE(fs::exists(rdc_free + "/pass4_rdc_matrix.npy"));
  EXPECT_TRUE(fs::exists(rdc_free + "/pass4_hsic_matrix.npy"));
}

TEST_F(Pass4Test, TopKAndCpmShapeTheGraph) {
  const std::string all = Out("all"), top1 = Out("top1"), cpm = Out("cpm");
  ASSERT_EQ(RunPass4Only(all).exit_code, 0);
  ASSERT_EQ(RunPass4Only(top1, {"--set", "nonlinear_topk=1"}).exit_code, 0);
  const std::size_t edges_all = Report(all).at("edges").get<std::size_t>();
  const std::size_t edges_top1 = Report(top1).at("edges").get<std::size_t>();
  EXPECT_GE(edges_all, 5u);  // x to each partner at least
  EXPECT_LT(edges_top1, edges_all);
  EXPECT_LE(edges_top1, 12u);  // each column keeps at most one edge of its own
  EXPECT_EQ(Report(top1).at("parameters").at("nonlinear_topk").get<int>(), 1);

  // CPM at resolution 0.9: a cluster needs internal edge density above 0.9, and the partners
  // are not all linked to each other, so the group splits.
  ASSERT_EQ(RunPass4Only(cpm, {"--set", "leiden_objective=cpm", "--set", "leiden_resolution=0.9"})
                .exit_code,
            0);
  EXPECT_EQ(Report(cpm).at("parameters").at("leiden_objective"), "cpm");
  EXPECT_GT(Lines(ReadFile(cpm + "/final_descriptors.txt")).size(), 7u);
}

TEST_F(Pass4Test, RowSampleIsReproducible) {
  const std::string a = Out("a"), b = Out("b");
  ASSERT_EQ(RunPass4Only(a, {"--set", "nonlinear_max_rows=1000"}).exit_code, 0);
  ASSERT_EQ(RunPass4Only(b, {"--set", "nonlinear_max_rows=1000", "--threads", "1"}).exit_code, 0);
  const auto report = Report(a);
  EXPECT_EQ(report.at("parameters").at("rows_used").get<int>(), 1000);
  EXPECT_EQ(report.at("parameters").at("rows_available").get<int>(), 5000);
  EXPECT_EQ(ReadFile(a + "/pass4_rdc_matrix.npy"), ReadFile(b + "/pass4_rdc_matrix.npy"));
  // A different seed draws other rows (and other features): different values.
  const std::string c = Out("c");
  ASSERT_EQ(
      RunPass4Only(c, {"--set", "nonlinear_max_rows=1000", "--set", "random_seed=7"}).exit_code, 0);
  EXPECT_NE(ReadFile(a + "/pass4_rdc_matrix.npy"), ReadFile(c + "/pass4_rdc_matrix.npy"));
  // 1,000 rows still find the planted group.
  for (const auto& partner : kPlanted) EXPECT_EQ(Clusters(a).at(partner), "x") << partner;
}

TEST(Pass4Memory, MemoryLimitUsesFewerRowsOrFailsWithExact) {
  // 100 independent columns x 20,000 rows: the features of every row (20,000 x 100 x 16 basis
  // directions) and the rest need about 350 MB; 200 MB holds about 9,000 rows. The rows do not
  // depend on the thread count.
  TempDir dir;
  const std::string input = dir / "wide.parquet";
  std::string select;
  for (int col = 0; col < 100; ++col) {
    select += (col > 0 ? ", " : "") + std::string("(hash(range, ") + std::to_string(col) +
              ") % 100003)::DOUBLE AS c" + std::to_string(col);
  }
  RunSql("COPY (SELECT " + select + " FROM range(20000)) TO " + QuoteLiteral(input) +
         " (FORMAT parquet)");
  const std::string one = dir / "one", two = dir / "two";
  ASSERT_EQ(RunCli({"run", input, "-o", one, "-q", "--set", "memory_limit=200MB", "--threads", "1"})
                .exit_code,
            0);
  ASSERT_EQ(RunCli({"run", input, "-o", two, "-q", "--set", "memory_limit=200MB", "--threads", "2"})
                .exit_code,
            0);
  const auto parameters =
      nlohmann::json::parse(ReadFile(one + "/pass4_nonlinear.json")).at("parameters");
  EXPECT_EQ(parameters.at("rows_available").get<int>(), 20000);
  EXPECT_GE(parameters.at("rows_used").get<int>(), 1000);
  EXPECT_LT(parameters.at("rows_used").get<int>(), 20000);
  EXPECT_TRUE(Contains(parameters.at("rows_reason").get<std::string>(), "memory_limit"));
  EXPECT_EQ(nlohmann::json::parse(ReadFile(two + "/pass4_nonlinear.json")).at("parameters"),
            parameters);
  EXPECT_EQ(ReadFile(one + "/pass4_rdc_matrix.npy"), ReadFile(two + "/pass4_rdc_matrix.npy"));
  const CliResult exact =
      RunCli({"run", input, "-o", dir / "exact", "-q", "--set", "memory_limit=200MB", "--exact"});
  EXPECT_EQ(exact.exit_code, 2);
  EXPECT_TRUE(Contains(exact.err, "error: pass 4 needs")) << exact.err;
  EXPECT_TRUE(Contains(exact.err, "nonlinear_max_rows")) << exact.err;
  EXPECT_TRUE(Contains(exact.err, "raise memory_limit to at least")) << exact.err;
}

/// The files run_manifest.json lists for Pass 4, and whether each exists in `out`.
void ExpectManifestMatchesFiles(const std::string& out) {
  const auto manifest = nlohmann::json::parse(ReadFile(out + "/run_manifest.json"));
  bool found = false;
  for (const auto& pass : manifest.at("passes")) {
    if (pass.at("stage").get<int>() != 4) continue;
    found = true;
    for (const auto& file : pass.at("outputs")) {
      EXPECT_TRUE(fs::exists(out + "/" + file.at("file").get<std::string>())) << file;
    }
  }
  EXPECT_TRUE(found) << "no pass 4 in the manifest";
}

// One descriptor left for Pass 4 (and Pass 3): nothing to compare; the run finishes, its outputs
// are consistent (1 x 1 matrices, the manifest lists what exists), and explain works.
TEST(Pass4OneColumn, AllColumnsCopiesOfOneRunToTheEnd) {
  TempDir dir;
  const std::string input = dir / "copies.parquet", out = dir / "out";
  RunSql(
      "COPY (SELECT 'm' || range AS id, (hash(range) % 1000)::DOUBLE AS a, (hash(range) % "
      "1000)::DOUBLE AS b, "
      "(hash(range) % 1000)::DOUBLE * 2 + 1 AS c FROM range(500)) TO " +
      QuoteLiteral(input) + " (FORMAT parquet)");
  const CliResult run = RunCli({"run", input, "-o", out, "--set", "metadata_columns=[id]"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "pass3: 1 descriptor (a) left by pass 2")) << run.err;
  EXPECT_TRUE(Contains(run.err, "pass4: 1 descriptor left by pass 3 (a): nothing to compare; kept"))
      << run.err;
  EXPECT_EQ(Lines(ReadFile(out + "/pass2_columns.txt")), std::vector<std::string>{"a"});
  EXPECT_EQ(Lines(ReadFile(out + "/final_descriptors.txt")), std::vector<std::string>{"a"});
  for (const char* name : {"pass4_hsic_matrix.npy", "pass4_rdc_matrix.npy"}) {
    std::size_t rows = 0, cols = 0;
    io::ReadNpy(out + "/" + name, &rows, &cols);
    EXPECT_EQ(rows, 1u) << name;
    EXPECT_EQ(cols, 1u) << name;
  }
  EXPECT_TRUE(Contains(nlohmann::json::parse(ReadFile(out + "/pass4_nonlinear.json"))
                           .at("skipped")
                           .get<std::string>(),
                       "nothing to compare"));
  ExpectManifestMatchesFiles(out);
  const auto lineage = nlohmann::json::parse(ReadFile(out + "/final_cluster_info.json"));
  EXPECT_TRUE(Contains(lineage.dump(), "\"b\"")) << lineage.dump();
  const CliResult explain = RunCli({"explain", out, "c"});
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  EXPECT_TRUE(Contains(explain.out, "removed in pass 2")) << explain.out;
  EXPECT_TRUE(Contains(explain.out,
                       "Now represented by: a (rho = 1.0000 directly), the column it "
                       "was removed in favour of."))
      << explain.out;
  // A second run reuses every pass.
  const CliResult again = RunCli({"run", input, "-o", out, "--set", "metadata_columns=[id]"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(Contains(again.err, "pass4: reused")) << again.err;
}

TEST(Pass4OneColumn, PassThreeLeavingOneRunsToTheEnd) {
  // rho(a, b) ~ 0.97: kept apart by spearman_threshold 0.99, but VIF ~ 17 > 10 removes b.
  TempDir dir;
  const std::string input = dir / "pair.parquet", out = dir / "out";
  RunSql(
      "COPY (SELECT 'm' || range AS id, (hash(range) % 1000)::DOUBLE AS a, "
      "(hash(range) % 1000)::DOUBLE + (hash(range, 7) % 250)::DOUBLE AS b FROM range(500)) TO " +
      QuoteLiteral(input) + " (FORMAT parquet)");
  const CliResult run = RunCli({"run", input, "-o", out, "--set", "metadata_columns=[id]", "--set",
                                "spearman_threshold=0.99"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(Lines(ReadFile(out + "/pass2_columns.txt")).size(), 2u);
  EXPECT_EQ(Lines(ReadFile(out + "/pass3_columns.txt")), std::vector<std::string>{"a"});
  EXPECT_EQ(Lines(ReadFile(out + "/final_descriptors.txt")), std::vector<std::string>{"a"});
  ExpectManifestMatchesFiles(out);
  const CliResult explain = RunCli({"explain", out, "b"});
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  EXPECT_TRUE(Contains(explain.out, "removed in pass 3 (vif)")) << explain.out;
  // A VIF link is no similarity: a represents b as the final descriptor closest to it.
  EXPECT_TRUE(Contains(explain.out, "Now represented by: a (rho = 0.9")) << explain.out;
  EXPECT_TRUE(Contains(explain.out, "the final descriptor closest to it.")) << explain.out;
  EXPECT_TRUE(Contains(explain.out, "The final descriptors together explain R^2 = 0.9"))
      << explain.out;
}

TEST_F(Pass4Test, TooFewRowsKeepsEveryColumnAndSaysWhy) {
  const std::string small = dir_ / "small.parquet";
  RunSql(PlantedSql(15, small));
  const std::string out = Out("small_out");
  const CliResult result = RunCli({"run", small, "-o", out, "--set", "min_effective_n=5", "--set",
                                   "spearman_threshold=1.0", "--set", "vif_threshold=1e12"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.err, "only 15 rows")) << result.err;
  const auto report = Report(out);
  EXPECT_TRUE(Contains(report.at("skipped").get<std::string>(), "only 15 rows"));
  EXPECT_EQ(Lines(ReadFile(out + "/final_descriptors.txt")),
            Lines(ReadFile(out + "/pass3_columns.txt")));
}

// nonlinear_screening on the real table: every output the same bytes as the run without it,
// except the nHSIC of the pairs that could not reach the threshold (NaN), the JSON that reports
// the screening, and what echoes the option (manifest, checkpoints). Explain's text and the
// report's lineage are the same.
TEST(Pass4Screening, RealTableSameOutputsExceptScreenedHsic) {
  TempDir dir;
  const std::string on = dir / "on", off = dir / "off";
  for (const auto& [out, value] : {std::pair{on, "true"}, std::pair{off, "false"}}) {
    const CliResult result = RunCli({"run", testing::SharedTablePath(), "-o", out, "--no-report",
                                     "--set", std::string("nonlinear_screening=") + value});
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  std::set<std::string> differ;
  for (const auto& entry : fs::recursive_directory_iterator(off)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), off).string();
    if (ReadFile(entry.path().string()) != ReadFile(on + "/" + name)) differ.insert(name);
  }
  // The checkpoints and the manifest carry the options (and the manifest the files' hashes).
  for (const char* echo : {"run_manifest.json", ".checkpoint/pass1.json", ".checkpoint/pass2.json",
                           ".checkpoint/pass3.json"})
    differ.erase(echo);
  EXPECT_EQ(differ, (std::set<std::string>{"pass4_hsic_matrix.npy", "pass4_nonlinear.json"}));

  std::size_t n = 0, cols = 0;
  const std::vector<double> h_on = io::ReadNpy(on + "/pass4_hsic_matrix.npy", &n, &cols);
  const std::vector<double> h_off = io::ReadNpy(off + "/pass4_hsic_matrix.npy", &n, &cols);
  const std::vector<double> rdc = io::ReadNpy(on + "/pass4_rdc_matrix.npy", &n, &cols);
  std::size_t screened = 0;
  for (std::size_t e = 0; e < n * n; ++e) {
    ASSERT_FALSE(std::isnan(h_off[e]));
    if (std::isnan(h_on[e])) {
      ++screened;
      ASSERT_LT(0.5 + 0.5 * rdc[e], 0.6);
      ASSERT_LT(0.5 * h_off[e] + 0.5 * rdc[e], 0.6) << "an edge was screened";
    } else {
      ASSERT_EQ(std::memcmp(&h_on[e], &h_off[e], sizeof(double)), 0) << e;
    }
  }
  EXPECT_GT(screened, n * n / 2) << "most pairs of the real table are screened";
  const auto json_on = nlohmann::json::parse(ReadFile(on + "/pass4_nonlinear.json"));
  const auto json_off = nlohmann::json::parse(ReadFile(off + "/pass4_nonlinear.json"));
  EXPECT_EQ(json_on.at("hsic_screening").at("pairs_screened").get<std::size_t>() * 2, screened);
  EXPECT_EQ(json_off.at("hsic_screening").get<std::string>(), "off (nonlinear_screening: false)");
  EXPECT_EQ(json_on.at("clusters"), json_off.at("clusters"));
  EXPECT_EQ(json_on.at("edge_list"), json_off.at("edge_list"));
  std::size_t explained = 0;
  for (const auto& [name, representative] : json_on.at("removed").items()) {
    if (++explained > 10) break;
    const CliResult explain_on = RunCli({"explain", on, name});
    const CliResult explain_off = RunCli({"explain", off, name});
    ASSERT_EQ(explain_on.exit_code, 0) << explain_on.err;
    EXPECT_TRUE(Contains(explain_on.out, "removed in pass 4")) << explain_on.out;
    EXPECT_EQ(explain_on.out, explain_off.out);
  }
  EXPECT_GT(explained, 10u);
}

}  // namespace
}  // namespace descpipe
