// Golden outputs: every file `descpipe run` writes (outputs, checkpoints, manifest) for a fixed set
// of inputs and options must keep its results across refactorings. The expected values are in
// tests/golden/run_outputs.json; a deliberate change of the results (a new rule, a new field, a
// version bump) regenerates them:
//   DESCPIPE_GOLDEN_UPDATE=1 build/tests/descpipe_integration_tests --gtest_filter='Golden.*'
// and the commit says why the results changed.
//
// Two kinds of entry:
// - Exact (a hash of the normalised bytes): Passes 0-2, the column lists, the final descriptors
//   and the manifest. Their bytes are the same on every CPU.
// - Within rounding: the files holding Pass 3-4 numbers (VIF, HSIC, RDC and what is derived from
//   them: lineage.csv, final_cluster_info.json). OpenBLAS picks its kernels and glibc its libm
//   variant by CPU, so their last bits differ between machines (DEVELOPERS.md, "Lessons
//   recorded"); on one machine they are byte-identical whatever the thread count (other tests).
//   Their entry is the hash of everything but the numbers (names, decisions, order, text), which
//   must match exactly, plus the count of those numbers and eight
//   random projections of asinh(x), which must match within 1e-9 * sqrt(count): about 1,000 times
//   the spread seen between CPUs, and far below any change of a result (a self-test checks both).
//
// What is not compared, because it is not a result: run times and peak memory (`seconds`,
// `peak_rss_bytes`, wherever they occur), input modification times (`mtime_ns`), the thread
// count the manifest records and its "resources" (threads, memory budget, physical memory, cgroup
// limit: the machine's, outside every fingerprint). Everything else is: the inputs are given by
// relative paths from the run's directory, so the input and pass fingerprints are the same on every
// machine.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/fingerprint.hpp"
#include "support/test_support.hpp"

namespace descpipe::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// Whether a file holds numbers from Passes 3-4, which round differently on other CPUs.
bool HoldsCpuDependentNumbers(const std::string& name) {
  if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".txt") == 0) return false;
  for (const char* prefix : {"pass3_", "pass4_", ".checkpoint/pass3", ".checkpoint/pass4",
                             "lineage.csv", "final_cluster_info.json"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Removes what varies from run to run though the results do not.
void DropVolatile(Json& value) {
  if (value.is_object()) {
    for (const char* key : {"seconds", "peak_rss_bytes", "mtime_ns"}) value.erase(key);
    for (auto& [key, child] : value.items()) DropVolatile(child);
  } else if (value.is_array()) {
    for (auto& child : value) DropVolatile(child);
  }
}

// The manifest records each output's hash and size: checkpoints record their pass's time, and
// Pass 3-4 files round by CPU, so those are compared through their own entries instead.
void DropHashesComparedElsewhere(Json& manifest) {
  if (!manifest.contains("passes")) return;
  for (auto& pass : manifest["passes"]) {
    if (!pass.contains("outputs")) continue;
    for (auto& output : pass["outputs"]) {
      const std::string file = output.value("file", "");
      if (file.rfind(".checkpoint/", 0) == 0 || HoldsCpuDependentNumbers(file)) {
        output.erase("xxh3_64");
        output.erase("size_bytes");
      }
    }
  }
}

// A file split into its numbers and everything else (`shape`).
struct Split {
  std::string shape;
  std::vector<double> numbers;
};

// Keeps a finite number aside, leaving a mark in the shape; other values stay in the shape.
void TakeNumber(double x, const std::string& text, Split& split) {
  if (std::isfinite(x)) {
    split.numbers.push_back(x);
    split.shape += '#';
  } else {
    split.shape += text;
  }
}

void SplitJson(Json& value, Split& split) {
  if (value.is_object() || value.is_array()) {
    for (auto& child : value) SplitJson(child, split);
  } else if (value.is_number()) {  // integers too, as in SplitCsv
    const double x = value.get<double>();
    if (std::isfinite(x)) {
      split.numbers.push_back(x);
      value = "#";
    }
  }
}

// A field is a number to set aside when it is a plain decimal (names and quoted text stay in the
// shape). Integers too: a double that is exactly 1 on one CPU is written "1", and
// "0.9999999999999999" on another.
bool IsNumberField(const std::string& field, double& x) {
  if (field.empty() || field.find_first_not_of("0123456789.eE+-") != std::string::npos) {
    return false;
  }
  char* end = nullptr;
  x = std::strtod(field.c_str(), &end);
  return end == field.c_str() + field.size();
}

void SplitCsv(const std::string& text, Split& split) {
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : '\n';
    if (quoted) {
      field += c;
      if (c == '"') quoted = false;  // a doubled quote reopens at once: same bytes either way
    } else if (c == '"') {
      field += c;
      quoted = true;
    } else if (c == ',' || c == '\n') {
      double x = 0;
      if (IsNumberField(field, x)) {
        TakeNumber(x, field, split);
      } else {
        split.shape += field;
      }
      if (i < text.size()) split.shape += c;
      field.clear();
    } else {
      field += c;
    }
  }
}

// A float64 .npy file: its header stays in the shape, its values are set aside.
void SplitNpy(const std::string& bytes, const std::string& name, Split& split) {
  ASSERT_GE(bytes.size(), 10u) << name;
  ASSERT_EQ(bytes.compare(0, 6, "\x93NUMPY"), 0) << name << " is not a .npy file";
  const bool version1 = bytes[6] == 1;
  const std::size_t length_at = 8;
  std::size_t header_length = static_cast<unsigned char>(bytes[length_at]) |
                              static_cast<unsigned char>(bytes[length_at + 1]) << 8;
  std::size_t data_at = length_at + 2 + header_length;
  if (!version1) {
    header_length |=
        static_cast<std::size_t>(static_cast<unsigned char>(bytes[length_at + 2])) << 16 |
        static_cast<std::size_t>(static_cast<unsigned char>(bytes[length_at + 3])) << 24;
    data_at = length_at + 4 + header_length;
  }
  split.shape = bytes.substr(0, data_at);
  ASSERT_NE(split.shape.find("'<f8'"), std::string::npos) << name << ": not float64";
  ASSERT_EQ((bytes.size() - data_at) % sizeof(double), 0u) << name;
  for (std::size_t at = data_at; at < bytes.size(); at += sizeof(double)) {
    double x = 0;
    std::memcpy(&x, bytes.data() + at, sizeof x);
    TakeNumber(x, std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf"), split);
  }
}

// splitmix64: the projection weights, in [-1, 1], the same on every machine.
double Weight(std::uint64_t index) {
  std::uint64_t z = index + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-52 - 1.0;
}

constexpr int kProjections = 8;

std::vector<double> Project(const std::vector<double>& numbers) {
  std::vector<double> projections(kProjections, 0.0);
  for (std::size_t i = 0; i < numbers.size(); ++i) {
    for (int k = 0; k < kProjections; ++k) {
      projections[k] += Weight(i * kProjections + k) * std::asinh(numbers[i]);
    }
  }
  return projections;
}

double Tolerance(std::size_t count) { return 1e-9 * std::sqrt(static_cast<double>(count) + 1); }

// The golden entry of one file: a hash (exact), or {shape, numbers, projections} (within rounding).
nlohmann::json Entry(const std::string& name, const std::string& bytes) {
  const bool json_file = name.size() >= 5 && name.compare(name.size() - 5, 5, ".json") == 0;
  if (!HoldsCpuDependentNumbers(name)) {
    if (!json_file) return io::HashText(bytes);
    Json json = Json::parse(bytes);
    DropVolatile(json);
    if (name == "run_manifest.json") {
      DropHashesComparedElsewhere(json);
      json["config"].erase("threads");
      json.erase("resources");
    }
    return io::HashText(json.dump());
  }
  Split split;
  if (json_file) {
    Json json = Json::parse(bytes);
    DropVolatile(json);
    SplitJson(json, split);
    split.shape = json.dump();
  } else if (name.size() >= 4 && name.compare(name.size() - 4, 4, ".csv") == 0) {
    SplitCsv(bytes, split);
  } else {
    SplitNpy(bytes, name, split);
  }
  return {{"shape", io::HashText(split.shape)},
          {"numbers", split.numbers.size()},
          {"projections", Project(split.numbers)}};
}

// Every regular file under `out`, by relative name, with its golden entry.
std::map<std::string, nlohmann::json> Entries(const std::string& out) {
  std::map<std::string, nlohmann::json> entries;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), out).string();
    // The report is a view of these files with the run's times in it (its own tests: ReportTest,
    // tests/report/).
    if (name == "report.html") continue;
    entries[name] = Entry(name, ReadFile(entry.path().string()));
  }
  return entries;
}

// Why `got` is not `expected`, or "" when it matches (within rounding where the entry allows).
std::string Mismatch(const nlohmann::json& expected, const nlohmann::json& got) {
  if (expected.is_string() || got.is_string()) {
    return expected == got ? "" : "hash " + got.dump() + ", golden " + expected.dump();
  }
  if (expected["shape"] != got["shape"]) return "names, decisions or text changed";
  if (expected["numbers"] != got["numbers"]) {
    return "holds " + got["numbers"].dump() + " numbers, golden " + expected["numbers"].dump();
  }
  const double tolerance = Tolerance(got["numbers"].get<std::size_t>());
  for (int k = 0; k < kProjections; ++k) {
    const double a = got["projections"][k].get<double>();
    const double b = expected["projections"][k].get<double>();
    if (!(std::fabs(a - b) <= tolerance)) {
      return "numbers changed: projection " + std::to_string(k) + " is " + std::to_string(a) +
             ", golden " + std::to_string(b) + " (tolerance " + std::to_string(tolerance) + ")";
    }
  }
  return "";
}

// Runs `descpipe run ARGS -o out` inside `dir`, so that inputs are named relative to it, with
// `environment` ("NAME=value ...") before it.
void RunIn(const std::string& dir, const std::vector<std::string>& args,
           const std::string& environment = "") {
  std::string command = "cd '" + dir + "' && exec env " + environment + " '" + CliPath() + "' run";
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " -o out -q --set device=cpu";
  const CliResult run = RunProgram("/bin/sh", {"-c", command}, 600);
  ASSERT_EQ(run.exit_code, 0) << command << "\n" << run.err;
}

void CheckGolden(const std::string& name, const std::string& dir) {
  const std::map<std::string, nlohmann::json> got = Entries(dir + "/out");
  ASSERT_FALSE(got.empty());
  const std::string golden_path = DESCPIPE_GOLDEN_FILE;
  nlohmann::json golden = nlohmann::json::object();
  if (fs::exists(golden_path)) golden = nlohmann::json::parse(ReadFile(golden_path));
  if (const char* update = std::getenv("DESCPIPE_GOLDEN_UPDATE");
      update != nullptr && *update == '1') {
    golden[name] = got;
    WriteFile(golden_path, golden.dump(2) + "\n");
    GTEST_SKIP() << "wrote the golden entries of '" << name << "' to " << golden_path;
  }
  ASSERT_TRUE(golden.contains(name)) << "no golden entries for '" << name << "' in " << golden_path;
  const auto& expected = golden[name];
  for (const auto& [file, entry] : expected.items()) {
    const auto it = got.find(file);
    if (it == got.end()) {
      ADD_FAILURE() << name << ": " << file << " is no longer written";
      continue;
    }
    const std::string why = Mismatch(entry, it->second);
    EXPECT_EQ(why, "") << name << ": " << file << " changed (tests/golden/run_outputs.json)";
  }
  for (const auto& [file, entry] : got) {
    EXPECT_TRUE(expected.contains(file)) << name << ": " << file << " is new";
  }
}

// The within-rounding comparison can fail: a change of one number by 1e-6 is caught, noise of
// 1e-13 on every number is not.
TEST(Golden, RoundingToleranceCatchesRealChanges) {
  std::vector<double> numbers(70000);
  for (std::size_t i = 0; i < numbers.size(); ++i) numbers[i] = std::sin(0.37 * i) * 0.9;
  numbers[100] = 1972.28537649101;
  auto entry = [](const std::vector<double>& values) {
    return nlohmann::json{
        {"shape", "s"}, {"numbers", values.size()}, {"projections", Project(values)}};
  };
  const nlohmann::json golden = entry(numbers);
  std::vector<double> noisy = numbers;
  for (std::size_t i = 0; i < noisy.size(); ++i) noisy[i] *= 1 + (i % 2 == 0 ? 1e-13 : -1e-13);
  EXPECT_EQ(Mismatch(golden, entry(noisy)), "");
  for (std::size_t i : {0u, 1234u, 69999u}) {
    std::vector<double> changed = numbers;
    changed[i] += 1e-6;
    EXPECT_NE(Mismatch(golden, entry(changed)), "") << "a change of number " << i;
  }
  std::vector<double> shifted = numbers;
  for (double& x : shifted) x *= 1 + 1e-8;
  EXPECT_NE(Mismatch(golden, entry(shifted)), "") << "a relative change of 1e-8 everywhere";
}

// A planted table of 3,000 rows x 200 descriptors (bench/make_data.cpp) in `dir`/planted.parquet.
void MakePlanted(const std::string& dir) {
  const CliResult made = RunProgram(MakeDataPath(), {"3000", "200", dir + "/planted.parquet"}, 120);
  ASSERT_EQ(made.exit_code, 0) << made.err;
}

TEST(Golden, RealTableDefaults) {
  TempDir dir;
  fs::copy_file(SharedTablePath(), dir / "nci5k.parquet");
  RunIn(dir.path(), {"nci5k.parquet"});
  CheckGolden("nci5k_defaults", dir.path());
}

// The same goldens with other BLAS kernels and another libm variant, as on another CPU: Haswell's
// OpenBLAS kernels (needs AVX2) and glibc's functions without FMA, AVX2 or AVX-512.
TEST(Golden, RealTableDefaultsWithOtherKernels) {
  if (ReadFile("/proc/cpuinfo").find(" avx2") == std::string::npos) {
    GTEST_SKIP() << "this CPU has no AVX2 for OpenBLAS's Haswell kernels";
  }
  TempDir dir;
  fs::copy_file(SharedTablePath(), dir / "nci5k.parquet");
  RunIn(dir.path(), {"nci5k.parquet"},
        "OPENBLAS_CORETYPE=Haswell GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA,-AVX512F");
  if (std::getenv("DESCPIPE_GOLDEN_UPDATE") != nullptr) GTEST_SKIP() << "compares only";
  CheckGolden("nci5k_defaults", dir.path());
}

TEST(Golden, PlantedTableDefaults) {
  TempDir dir;
  MakePlanted(dir.path());
  RunIn(dir.path(), {"planted.parquet", "--set", "metadata_columns=[mol_id, smiles]"});
  CheckGolden("planted_defaults", dir.path());
}

// Options away from their defaults in every pass: Pass 0's sample, Pass 1's IQR range and binary
// rule, median imputation and Leiden clusters in Pass 2 with a target and a pinned column,
// Pearson VIF, CPM Leiden with top-k edges and fewer features in Pass 4.
TEST(Golden, PlantedTableOptions) {
  TempDir dir;
  MakePlanted(dir.path());
  RunIn(dir.path(), {"planted.parquet",
                     "--set",
                     "metadata_columns=[mol_id, smiles]",
                     "--set",
                     "sample_rows=2500",
                     "--set",
                     "range_mode=iqr",
                     "--set",
                     "remove_binary=true",
                     "--set",
                     "spearman_missing=impute_median",
                     "--set",
                     "spearman_cluster_method=leiden",
                     "--set",
                     "spearman_threshold=0.9",
                     "--set",
                     "target_column=ind0000_normal",
                     "--set",
                     "keep_columns=[dup0001_b]",
                     "--set",
                     "vif_correlation=pearson",
                     "--set",
                     "vif_threshold=5",
                     "--set",
                     "leiden_objective=cpm",
                     "--set",
                     "leiden_resolution=0.2",
                     "--set",
                     "nonlinear_topk=3",
                     "--set",
                     "nonlinear_threshold=0.4",
                     "--set",
                     "hsic_D=128",
                     "--set",
                     "w_rdc=0.7",
                     "--set",
                     "rdc_seeds=3",
                     "--set",
                     "nonlinear_max_rows=1500",
                     "--set",
                     "random_seed=7"});
  CheckGolden("planted_options", dir.path());
}

// CSV input in two files (the CSV reader, multi-file reading and CSV type detection).
TEST(Golden, PlantedTableAsTwoCsvFiles) {
  TempDir dir;
  MakePlanted(dir.path());
  const std::string parquet = dir / "planted.parquet";
  RunSql("COPY (SELECT * FROM '" + parquet + "' LIMIT 1500) TO '" + (dir / "a.csv") + "' (HEADER)");
  RunSql("COPY (SELECT * FROM '" + parquet + "' OFFSET 1500) TO '" + (dir / "b.csv") +
         "' (HEADER)");
  fs::remove(parquet);
  RunIn(dir.path(), {"a.csv", "b.csv", "--set", "metadata_columns=[mol_id, smiles]"});
  CheckGolden("planted_csv", dir.path());
}

}  // namespace
}  // namespace descpipe::testing
