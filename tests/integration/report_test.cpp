// The HTML report (descpipe/report.hpp, docs/REPORT.md) from the command line: written by `run`
// and `report`, its embedded data against the run's files (heatmap codes against the Spearman
// matrix, scatter against the nHSIC and RDC matrices, the explorer's texts against `explain`),
// stale and changed files, partial runs, sizes. What a browser shows is tests/report/'s.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/lineage.hpp"
#include "io/npy.hpp"
#include "support/test_support.hpp"

namespace descpipe::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

std::vector<std::uint8_t> FromBase64(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::vector<std::uint8_t> out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) continue;  // '=' padding
    bits = bits << 6 | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<std::uint8_t>(bits >> count & 0xFF));
    }
  }
  return out;
}

// The JSON the page reads, from the report's <script id="descpipe-data">.
Json EmbeddedData(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"descpipe-data\">";
  const std::size_t begin = html.find(open);
  EXPECT_NE(begin, std::string::npos);
  const std::size_t end = html.find("</script>", begin);
  return Json::parse(html.substr(begin + open.size(), end - begin - open.size()));
}

std::vector<std::string> Lines(const std::string& path) {
  std::vector<std::string> lines;
  std::string text = ReadFile(path);
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    lines.push_back(text.substr(at, end - at));
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return lines;
}

class ReportTest : public ::testing::Test {
 protected:
  std::string Out(const std::string& name = "out") const { return dir_ / name; }
  TempDir dir_;
};

TEST_F(ReportTest, RunWritesItAndItsDataIsTheRunsFiles) {
  const std::string out = Out();
  ASSERT_EQ(RunCli({"run", SharedTablePath(), "-o", out, "-q"}).exit_code, 0);
  const std::string html = ReadFile(out + "/report.html");
  EXPECT_LE(html.size(), 3'000'000u) << "the shared table's report is over 3 MB";
  EXPECT_NE(html.find("Apache License"), std::string::npos);
  EXPECT_EQ(html.find("{{"), std::string::npos) << "a placeholder left in the page";
  // `descpipe report` writes the same bytes elsewhere.
  const CliResult again = RunCli({"report", out, "-o", Out("again.html")});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(ReadFile(Out("again.html")) == html);

  const Json data = EmbeddedData(html);
  EXPECT_EQ(data["manifest"], Json::parse(ReadFile(out + "/run_manifest.json")));
  EXPECT_EQ(data["changed_options"], Json::array());
  EXPECT_EQ(data["lineage_csv"].get<std::string>(), ReadFile(out + "/lineage.csv"));
  EXPECT_EQ(data["stats_csv"].get<std::string>(), ReadFile(out + "/pass1_stats.csv"));

  // The explorer's texts: explain's, for every input descriptor.
  const auto& explain = data["explain"];
  EXPECT_EQ(explain.size(), data["manifest"]["columns"]["descriptors"].get<std::size_t>());
  for (const auto& [name, text] : explain.items()) {
    ASSERT_EQ(text.get<std::string>(), ExplainDescriptor(out, name)) << name;
  }

  // The heatmap's codes: round(127 rho) of Pass 2's matrix, in the order the report names.
  const std::vector<std::string> pass1 = Lines(out + "/pass1_columns.txt");
  std::size_t rows = 0, cols = 0;
  const std::vector<double> rho = io::ReadNpy(out + "/pass2_spearman_matrix.npy", &rows, &cols);
  ASSERT_EQ(rows, pass1.size());
  std::map<std::string, std::size_t> at;
  for (std::size_t k = 0; k < pass1.size(); ++k) at[pass1[k]] = k;
  const auto& heatmap = data["heatmap"];
  const auto names = heatmap["columns"].get<std::vector<std::string>>();
  EXPECT_EQ(names.size(), pass1.size()) << "560 columns: all drawn";
  EXPECT_EQ(heatmap["note"], "");
  const std::vector<std::uint8_t> codes = FromBase64(heatmap["rho"].get<std::string>());
  ASSERT_EQ(codes.size(), names.size() * (names.size() + 1) / 2);
  std::size_t k = 0;
  for (std::size_t a = 0; a < names.size(); ++a) {
    for (std::size_t b = a; b < names.size(); ++b, ++k) {
      const double value = rho[at.at(names[a]) * rows + at.at(names[b])];
      const int expected = std::isfinite(value) ? static_cast<int>(std::lround(127 * value)) : -128;
      ASSERT_EQ(static_cast<std::int8_t>(codes[k]), expected) << names[a] << " " << names[b];
    }
  }
  // Representatives lead their clusters, largest cluster first.
  const Json pass2 = Json::parse(ReadFile(out + "/pass2_spearman.json"));
  std::size_t largest = 0;
  for (const auto& cluster : pass2["clusters"])
    largest = std::max(largest, cluster["members"].size());
  EXPECT_EQ(heatmap["blocks"][0][1].get<std::size_t>(), largest);

  // The scatter: every pair of Pass 3 survivors with max(nHSIC, RDC) >= 0.1, to 1/65535.
  const std::vector<std::string> pass3 = Lines(out + "/pass3_columns.txt");
  const std::vector<double> hsic = io::ReadNpy(out + "/pass4_hsic_matrix.npy", &rows, &cols);
  const std::vector<double> rdc = io::ReadNpy(out + "/pass4_rdc_matrix.npy", &rows, &cols);
  ASSERT_EQ(rows, pass3.size());
  std::size_t above = 0, screened = 0;
  std::vector<double> strengths;  // S = (nHSIC + RDC) / 2 of the pairs above the floor
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::size_t j = i + 1; j < rows; ++j) {
      if (std::isnan(hsic[i * rows + j])) {  // nonlinear_screening: not shown, counted
        ++screened;
        continue;
      }
      if (std::max(hsic[i * rows + j], rdc[i * rows + j]) < 0.1) continue;
      ++above;
      strengths.push_back((hsic[i * rows + j] + rdc[i * rows + j]) / 2);
    }
  }
  std::sort(strengths.begin(), strengths.end(), std::greater<>());
  const double weakest_shown = strengths[std::min<std::size_t>(above, 20000) - 1];
  const auto& scatter = data["scatter"];
  EXPECT_EQ(scatter["pairs_above_floor"].get<std::size_t>(), above);
  EXPECT_EQ(scatter["pairs_screened"].get<std::size_t>(), screened);
  EXPECT_GT(screened, above) << "the shared table's pairs are mostly screened";
  const std::vector<std::uint8_t> pairs = FromBase64(scatter["pairs"].get<std::string>());
  ASSERT_EQ(pairs.size(), 8 * std::min<std::size_t>(above, 20000));
  auto u16 = [&](std::size_t at) { return pairs[at] | pairs[at + 1] << 8; };
  for (std::size_t p = 0; p < pairs.size(); p += 8) {
    const std::size_t i = u16(p), j = u16(p + 2);
    ASSERT_LT(i, j);
    ASSERT_LT(j, rows);
    EXPECT_NEAR(u16(p + 4) / 65535.0, hsic[i * rows + j], 0.5 / 65535 + 1e-12);
    EXPECT_NEAR(u16(p + 6) / 65535.0, rdc[i * rows + j], 0.5 / 65535 + 1e-12);
    // Only the strongest pairs are shown.
    ASSERT_GE((hsic[i * rows + j] + rdc[i * rows + j]) / 2, weakest_shown - 1e-15) << i << " " << j;
  }

  // The graph: Pass 4's edges, as many as it counted, each at S >= the threshold.
  const auto& pass4 = data["pass4"];
  EXPECT_EQ(pass4["edge_list"].size(), pass4["edges"].get<std::size_t>());
  for (const auto& edge : pass4["edge_list"]) {
    EXPECT_GE(edge[2].get<double>(), pass4["parameters"]["nonlinear_threshold"].get<double>());
  }
}

// An earlier run's report never outlives the results it shows: a run with --no-report removes it;
// a failing `report` writes nothing.
TEST_F(ReportTest, NoReportRemovesAnEarlierOne) {
  const std::string out = Out();
  ASSERT_EQ(RunCli({"run", SharedTablePath(), "-o", out, "-q", "--until", "pass2"}).exit_code, 0);
  ASSERT_TRUE(fs::exists(out + "/report.html"));
  const CliResult second = RunCli({"run", SharedTablePath(), "-o", out, "-q", "--until", "pass2",
                                   "--no-report", "--set", "spearman_threshold=0.9"});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_FALSE(fs::exists(out + "/report.html"));
}

TEST_F(ReportTest, AFileChangedSinceTheRunIsAnError) {
  const std::string out = Out();
  ASSERT_EQ(RunCli({"run", SharedTablePath(), "-o", out, "-q", "--no-report"}).exit_code, 0);
  const std::string vif = ReadFile(out + "/pass3_vif.json");
  WriteFile(out + "/pass3_vif.json", vif + " ");
  const CliResult report = RunCli({"report", out});
  EXPECT_EQ(report.exit_code, 2);
  EXPECT_NE(report.err.find("pass3_vif.json' changed since the run wrote it"), std::string::npos)
      << report.err;
  EXPECT_FALSE(fs::exists(out + "/report.html"));

  WriteFile(out + "/pass3_vif.json", vif);

  // A manifest whose counts are not the pass files' (the funnel would show them).
  const std::string manifest_text = ReadFile(out + "/run_manifest.json");
  Json manifest = Json::parse(manifest_text);
  manifest["passes"][1]["columns_out"] = 1;
  WriteFile(out + "/run_manifest.json", manifest.dump(2));
  const CliResult counts = RunCli({"report", out, "-o", Out("r.html")});
  EXPECT_EQ(counts.exit_code, 2);
  EXPECT_NE(counts.err.find("says pass2_spearman went from 560 to 1 columns, its own file 560 -> "
                            "449"),
            std::string::npos)
      << counts.err;
  WriteFile(out + "/run_manifest.json", manifest_text);

  fs::remove(out + "/pass3_vif.json");
  const CliResult gone = RunCli({"report", out});
  EXPECT_EQ(gone.exit_code, 2);
  EXPECT_NE(gone.err.find("pass3_vif.json' is missing"), std::string::npos) << gone.err;

  const CliResult none = RunCli({"report", Out("nothing")});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("is not the output directory of a descpipe run"), std::string::npos)
      << none.err;
}

// A run stopped early gets the report of the passes it completed; options away from their
// defaults are listed.
TEST_F(ReportTest, PartialRunsAndChangedOptions) {
  const std::string out = Out();
  ASSERT_EQ(RunCli({"run", SharedTablePath(), "-o", out, "-q", "--until", "pass2", "--set",
                    "sample_rows=3000", "--set", "spearman_threshold=0.9"})
                .exit_code,
            0);
  const Json data = EmbeddedData(ReadFile(out + "/report.html"));
  EXPECT_TRUE(data.contains("pass1") && data.contains("pass2") && data.contains("heatmap"));
  EXPECT_FALSE(data.contains("pass3") || data.contains("pass4") || data.contains("explain"));
  std::map<std::string, Json> changed;
  for (const auto& option : data["changed_options"]) changed[option["name"]] = option;
  EXPECT_EQ(changed.size(), 2u) << data["changed_options"].dump();
  EXPECT_EQ(changed["sample_rows"]["value"], 3000);
  EXPECT_EQ(changed["sample_rows"]["default"], 0);
  EXPECT_EQ(changed["spearman_threshold"]["value"], 0.9);
}

// A column name is data, never markup: one that would close the script element stays inside it.
TEST_F(ReportTest, ColumnNamesCannotBreakOutOfThePage) {
  const std::string input = Out("odd.parquet");
  RunSql(
      "COPY (SELECT range::VARCHAR AS id, sin(range * 0.1) AS \"</script><script>x()</script>\", "
      "cos(range * 0.37) AS \"a<b & 'c'\", sqrt(range) AS plain, (range % 7) * 1.0 AS seven "
      "FROM range(500)) TO '" +
      input + "' (FORMAT parquet)");
  const std::string out = Out();
  const CliResult run = RunCli({"run", input, "-o", out, "-q", "--set", "min_effective_n=10"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string html = ReadFile(out + "/report.html");
  std::size_t scripts = 0;
  for (std::size_t at = html.find("</script>"); at != std::string::npos;
       at = html.find("</script>", at + 1)) {
    ++scripts;
  }
  EXPECT_EQ(scripts, 3u) << "only the page's own three script elements end";
  const Json data = EmbeddedData(html);
  EXPECT_TRUE(data["explain"].contains("</script><script>x()</script>"));
  EXPECT_TRUE(data["explain"].contains("a<b & 'c'"));
}

// Without nHSIC (w_hsic = 0) there is no scatter, and the report says why.
TEST_F(ReportTest, OneMeasureOnlyHasNoScatter) {
  const std::string out = Out();
  ASSERT_EQ(RunCli({"run", SharedTablePath(), "-o", out, "-q", "--set", "w_hsic=0"}).exit_code, 0);
  const Json data = EmbeddedData(ReadFile(out + "/report.html"));
  EXPECT_FALSE(data.contains("scatter"));
  EXPECT_NE(data["scatter_missing"].get<std::string>().find("w_hsic"), std::string::npos);
}

// 2,000 descriptors: at most 15 MB, and a heatmap of at most 600 columns that says what it shows.
TEST_F(ReportTest, SizeAt2000Descriptors) {
  const CliResult made = RunProgram(MakeDataPath(), {"5000", "2000", Out("wide.parquet")}, 300);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string out = Out();
  const CliResult run = RunCli(
      {"run", Out("wide.parquet"), "-o", out, "-q", "--set", "metadata_columns=[mol_id, smiles]"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string html = ReadFile(out + "/report.html");
  EXPECT_LE(html.size(), 15'000'000u);
  const Json data = EmbeddedData(html);
  const auto& heatmap = data["heatmap"];
  EXPECT_GT(heatmap["total_columns"].get<std::size_t>(), 600u);
  EXPECT_LE(heatmap["columns"].size(), 600u);
  EXPECT_NE(heatmap["note"].get<std::string>().find("too many to draw each pair"),
            std::string::npos);
  std::cout << "report of 2,000 descriptors: " << html.size() << " bytes, heatmap of "
            << heatmap["columns"].size() << " of " << heatmap["total_columns"] << " columns\n";
}

}  // namespace
}  // namespace descpipe::testing
