// Golden outputs: every file `descpipe run` writes (outputs, checkpoints, manifest) for a fixed set
// of inputs and options must keep its exact bytes across refactorings. The expected hashes are in
// tests/golden/run_outputs.json; a deliberate change of the results (a new rule, a new field, a
// version bump) regenerates them:
//   DESCPIPE_GOLDEN_UPDATE=1 build/tests/descpipe_integration_tests --gtest_filter='Golden.*'
// and the commit says why the bytes changed.
//
// What is not compared, because it is not a result: run times and peak memory (`seconds`,
// `peak_rss_bytes`, wherever they occur), input modification times (`mtime_ns`), the thread
// count the manifest records and its "resources" (threads, memory budget, physical memory, cgroup
// limit: the machine's, outside every fingerprint). Everything else is: the inputs are given by
// relative paths from the run's directory, so the input and pass fingerprints are the same on every
// machine.
#include <gtest/gtest.h>

#include <cstdlib>
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

// Removes what varies from run to run though the results do not.
void DropVolatile(Json& value) {
  if (value.is_object()) {
    for (const char* key : {"seconds", "peak_rss_bytes", "mtime_ns"}) value.erase(key);
    for (auto& [key, child] : value.items()) DropVolatile(child);
  } else if (value.is_array()) {
    for (auto& child : value) DropVolatile(child);
  }
}

// The manifest records each checkpoint's hash, and checkpoints record their pass's time: those
// hashes are compared through the checkpoints' own normalised hashes instead.
void DropCheckpointHashes(Json& manifest) {
  if (!manifest.contains("passes")) return;
  for (auto& pass : manifest["passes"]) {
    if (!pass.contains("outputs")) continue;
    for (auto& output : pass["outputs"]) {
      if (output.value("file", "").rfind(".checkpoint/", 0) == 0) {
        output.erase("xxh3_64");
        output.erase("size_bytes");
      }
    }
  }
}

std::string NormalisedHash(const std::string& root, const std::string& name) {
  const std::string bytes = ReadFile(root + "/" + name);
  if (name.size() < 5 || name.compare(name.size() - 5, 5, ".json") != 0) return io::HashText(bytes);
  Json json = Json::parse(bytes);
  DropVolatile(json);
  if (name == "run_manifest.json") {
    DropCheckpointHashes(json);
    json["config"].erase("threads");
    json.erase("resources");
  }
  return io::HashText(json.dump());
}

// Every regular file under `out`, by relative name, with its normalised hash.
std::map<std::string, std::string> HashOutputs(const std::string& out) {
  std::map<std::string, std::string> hashes;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = fs::relative(entry.path(), out).string();
    hashes[name] = NormalisedHash(out, name);
  }
  return hashes;
}

// Runs `descpipe run ARGS -o out` inside `dir`, so that inputs are named relative to it.
void RunIn(const std::string& dir, const std::vector<std::string>& args) {
  std::string command = "cd '" + dir + "' && exec '" + CliPath() + "' run";
  for (const std::string& arg : args) command += " '" + arg + "'";
  command += " -o out -q --set device=cpu";
  const CliResult run = RunProgram("/bin/sh", {"-c", command}, 600);
  ASSERT_EQ(run.exit_code, 0) << command << "\n" << run.err;
}

void CheckGolden(const std::string& name, const std::string& dir) {
  const std::map<std::string, std::string> got = HashOutputs(dir + "/out");
  ASSERT_FALSE(got.empty());
  const std::string golden_path = DESCPIPE_GOLDEN_FILE;
  nlohmann::json golden = nlohmann::json::object();
  if (fs::exists(golden_path)) golden = nlohmann::json::parse(ReadFile(golden_path));
  if (const char* update = std::getenv("DESCPIPE_GOLDEN_UPDATE");
      update != nullptr && *update == '1') {
    golden[name] = got;
    WriteFile(golden_path, golden.dump(2) + "\n");
    GTEST_SKIP() << "wrote the golden hashes of '" << name << "' to " << golden_path;
  }
  ASSERT_TRUE(golden.contains(name)) << "no golden hashes for '" << name << "' in " << golden_path;
  const auto expected = golden[name].get<std::map<std::string, std::string>>();
  bool changed = false;
  for (const auto& [file, hash] : expected) {
    const auto it = got.find(file);
    if (it == got.end()) {
      ADD_FAILURE() << name << ": " << file << " is no longer written";
    } else {
      EXPECT_EQ(it->second, hash) << name << ": " << file
                                  << " changed (tests/golden/run_outputs.json)";
      changed = changed || it->second != hash;
    }
  }
  if (changed) {
    // Passes 3-4 round differently on other CPUs (DEVELOPERS.md, "Lessons recorded"): say which.
    const std::string cpuinfo = ReadFile("/proc/cpuinfo");
    auto field = [&](const std::string& key) -> std::string {
      const auto at = cpuinfo.find("\n" + key);
      if (at == std::string::npos) return "?";
      const auto colon = cpuinfo.find(':', at);
      return cpuinfo.substr(colon + 2, cpuinfo.find('\n', colon) - colon - 2);
    };
    const std::string cpu =
        field("model name") + ", family " + field("cpu family") + " model " + field("model\t");
    const char* core = std::getenv("OPENBLAS_CORETYPE");
    std::cerr << name << ": outputs differ from the goldens on CPU '" << cpu
              << "' (OPENBLAS_CORETYPE " << (core != nullptr ? core : "unset")
              << "); if only Pass 3-4 files differ and the code did not change, suspect the "
                 "machine (DEVELOPERS.md, \"Lessons recorded\")\n";
  }
  for (const auto& [file, hash] : got) {
    EXPECT_TRUE(expected.count(file) != 0) << name << ": " << file << " is new";
  }
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
