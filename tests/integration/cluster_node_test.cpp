// descpipe on a cluster node: threads from taskset/OMP_NUM_THREADS/--threads, the memory budget
// from the cgroup limit (a fake cgroup root), both recorded in the manifest's "resources";
// progress lines in a redirected log; `make install`'s tree copied elsewhere still runs.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/table.hpp"
#include "descpipe/version.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

namespace fs = std::filesystem;
using testing::CliPath;
using testing::CliResult;
using testing::Contains;
using testing::ReadFile;
using testing::RunProgram;
using testing::RunSql;
using testing::TempDir;
using testing::WriteFile;

constexpr const char* kEnv = "/usr/bin/env";

::testing::AssertionResult Ran(const CliResult& result) {
  if (result.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "exit code " << result.exit_code << "\nstderr:\n"
                                       << result.err;
}

/// The first CPU of this process's affinity mask ("0" on most machines).
std::string FirstCpu() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (sched_getaffinity(0, sizeof(mask), &mask) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &mask)) return std::to_string(cpu);
    }
  }
  return "0";
}

/// The taskset program, or "" when util-linux's taskset is not installed.
std::string Taskset() {
  for (const char* path : {"/usr/bin/taskset", "/bin/taskset"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

class ClusterNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = dir_ / "descriptors.parquet";
    RunSql(
        "COPY (SELECT 'mol' || range AS id, range * 1.0 AS a, sin(range * 0.7) AS b, "
        "cos(range * 0.3) + range * 0.001 AS c, (range % 17)::DOUBLE AS d FROM range(600)) TO " +
        QuoteLiteral(input_) + " (FORMAT parquet)");
  }
  /// `env ARGS... descpipe run INPUT -o OUTDIR EXTRA...`: OMP_NUM_THREADS, DESCPIPE_CGROUP_ROOT
  /// and DESCPIPE_PROGRESS_INTERVAL unset unless `env` sets them; `prefix` runs before descpipe
  /// (taskset).
  CliResult Run(const std::string& out, const std::vector<std::string>& env,
                const std::vector<std::string>& prefix = {},
                const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> args = {
        "-u", "OMP_NUM_THREADS", "-u", "DESCPIPE_CGROUP_ROOT", "-u", "DESCPIPE_PROGRESS_INTERVAL"};
    args.insert(args.end(), env.begin(), env.end());
    args.insert(args.end(), prefix.begin(), prefix.end());
    for (const std::string& arg : {CliPath(), std::string("run"), input_, std::string("-o"), out})
      args.push_back(arg);
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProgram(kEnv, args, 300);
  }
  static nlohmann::json Manifest(const std::string& out) {
    return nlohmann::json::parse(ReadFile(out + "/run_manifest.json"));
  }

  TempDir dir_;
  std::string input_;
};

TEST_F(ClusterNodeTest, TasksetOneCpuRunsOneThreadAndTheManifestSaysSo) {
  const std::string taskset = Taskset();
  if (taskset.empty()) GTEST_SKIP() << "taskset (util-linux) is not installed";
  const std::string out = dir_ / "out";
  const CliResult result = Run(out, {}, {taskset, "-c", FirstCpu()});
  ASSERT_TRUE(Ran(result));
  const nlohmann::json manifest = Manifest(out);
  EXPECT_EQ(manifest["config"]["threads"], 0);  // as given: automatic
  EXPECT_EQ(manifest["resources"]["threads"], 1) << manifest["resources"].dump();
  const std::string from = manifest["resources"]["threads_from"];
  EXPECT_TRUE(Contains(from, "CPU affinity mask (1 of ")) << from;
  EXPECT_TRUE(Contains(result.err, "1 thread (CPU affinity mask (1 of ")) << result.err;

  // OMP_NUM_THREADS overrides the mask, --threads overrides both; the fingerprints ignore them
  // all (every pass of the earlier run is reused).
  const CliResult omp = Run(out, {"OMP_NUM_THREADS=3"}, {taskset, "-c", FirstCpu()});
  ASSERT_TRUE(Ran(omp));
  EXPECT_EQ(Manifest(out)["resources"]["threads"], 3);
  EXPECT_EQ(Manifest(out)["resources"]["threads_from"], "OMP_NUM_THREADS");
  EXPECT_TRUE(Contains(omp.err, "pass4: reused from the earlier run")) << omp.err;
  const CliResult option = Run(out, {"OMP_NUM_THREADS=3"}, {}, {"--threads", "2"});
  ASSERT_TRUE(Ran(option));
  EXPECT_EQ(Manifest(out)["resources"]["threads"], 2);
  EXPECT_EQ(Manifest(out)["resources"]["threads_from"], "--threads / threads option");
  EXPECT_EQ(Manifest(out)["config"]["threads"], 2);
}

TEST_F(ClusterNodeTest, OmpNumThreadsWithoutTaskset) {
  const std::string out = dir_ / "out";
  ASSERT_TRUE(Ran(Run(out, {"OMP_NUM_THREADS=1"})));
  EXPECT_EQ(Manifest(out)["resources"]["threads"], 1);
  EXPECT_EQ(Manifest(out)["resources"]["threads_from"], "OMP_NUM_THREADS");
  ASSERT_TRUE(Ran(Run(out, {})));
  EXPECT_EQ(Manifest(out)["resources"]["threads"], AvailableCpus());
}

TEST_F(ClusterNodeTest, CgroupLimitLowersTheDefaultMemoryLimitWithoutRecomputing) {
  const std::uint64_t limit = 2000000000;  // a 2 GB Slurm job
  if (PhysicalMemoryBytes() <= limit) GTEST_SKIP() << "this machine has no more than 2 GB";
  TempDir root;
  // At the top of both hierarchies: every cgroup path of this process walks up to it.
  fs::create_directories(root / "memory");
  WriteFile(root / "memory.max", std::to_string(limit) + "\n");
  WriteFile(root / "memory/memory.limit_in_bytes", std::to_string(limit) + "\n");
  const std::string out = dir_ / "out";
  const CliResult result = Run(out, {"DESCPIPE_CGROUP_ROOT=" + root.path()});
  ASSERT_TRUE(Ran(result));
  const nlohmann::json resources = Manifest(out)["resources"];
  if (resources["cgroup_memory_limit_bytes"].is_null())
    GTEST_SKIP() << "/proc/self/cgroup names no memory cgroup here";
  EXPECT_EQ(resources["cgroup_memory_limit_bytes"], limit);
  EXPECT_EQ(resources["memory_limit_bytes"], limit / 2) << resources.dump();
  EXPECT_EQ(resources["physical_memory_bytes"], PhysicalMemoryBytes());
  const std::string from = resources["memory_limit_from"];
  EXPECT_TRUE(Contains(from, "half of the cgroup memory limit (" + root.path())) << from;
  EXPECT_EQ(Manifest(out)["config"]["memory_limit"], 0);  // as given: automatic
  EXPECT_TRUE(Contains(result.err, "memory_limit 1.0 GB (half of the cgroup")) << result.err;

  // The same run on a node without the limit: a larger automatic budget, every pass reused (the
  // fingerprints hold memory_limit as given).
  const CliResult again = Run(out, {});
  ASSERT_TRUE(Ran(again));
  EXPECT_TRUE(Manifest(out)["resources"]["cgroup_memory_limit_bytes"].is_null() ||
              Manifest(out)["resources"]["cgroup_memory_limit_bytes"] != limit);
  for (const char* pass : {"pass1", "pass2", "pass3", "pass4"})
    EXPECT_TRUE(Contains(again.err, std::string(pass) + ": reused from the earlier run"))
        << again.err;
  // A memory_limit beyond the cgroup's is lowered to it, with a warning.
  const CliResult above = Run(dir_ / "above", {"DESCPIPE_CGROUP_ROOT=" + root.path()}, {},
                              {"--set", "memory_limit=3GB"});
  ASSERT_TRUE(Ran(above));
  EXPECT_EQ(Manifest(dir_ / "above")["resources"]["memory_limit_bytes"], limit);
  EXPECT_TRUE(Contains(above.err, "is more than this process's cgroup memory limit")) << above.err;
}

TEST_F(ClusterNodeTest, RedirectedStderrGetsProgressLogLines) {
  // stderr is a pipe here, as in a batch job's log. Every update is logged with a 0 s interval;
  // with the default 30 s a run this short logs none.
  const std::string out = dir_ / "out";
  const CliResult logged = Run(out, {"DESCPIPE_PROGRESS_INTERVAL=0"}, {}, {"--no-resume"});
  ASSERT_TRUE(Ran(logged));
  bool pass1_line = false;
  for (const std::string& line : testing::Lines(logged.err)) {
    EXPECT_EQ(line.find('\r'), std::string::npos) << line;  // no live-line drawing in a log
    if (testing::IsLogLine(line) && Contains(line, "pass1: ") && Contains(line, " rows") &&
        Contains(line, "/s"))
      pass1_line = true;
  }
  EXPECT_TRUE(pass1_line) << logged.err;
  const CliResult default_interval = Run(out, {}, {}, {"--no-resume"});
  ASSERT_TRUE(Ran(default_interval));
  EXPECT_FALSE(Contains(default_interval.err, " rows/s")) << default_interval.err;
  const CliResult quiet =
      Run(out, {"DESCPIPE_PROGRESS_INTERVAL=0"}, {}, {"--no-resume", "--quiet"});
  ASSERT_TRUE(Ran(quiet));
  EXPECT_FALSE(Contains(quiet.err, " rows/s")) << quiet.err;
}

/// `make install`'s step (cmake --install) into `prefix`.
CliResult Install(const std::string& prefix) {
  return RunProgram(DESCPIPE_CMAKE_COMMAND, {"--install", DESCPIPE_BUILD_DIR, "--prefix", prefix},
                    300);
}

TEST_F(ClusterNodeTest, InstalledTreeRunsWhereverItIsCopied) {
  const std::string prefix = dir_ / "prefix";
  ASSERT_TRUE(Ran(Install(prefix)));
  ASSERT_TRUE(Ran(Install(prefix)));  // idempotent
  for (const char* file : {"bin/descpipe", "lib/libduckdb.so", "lib/libdescpipe.a",
                           "include/descpipe/context.hpp", "include/descpipe/pipeline.hpp"})
    EXPECT_TRUE(fs::is_regular_file(fs::path(prefix) / file)) << file;

  // Copied elsewhere (a cluster's shared software folder); the build tree stays as it is.
  const std::string copy = dir_ / "elsewhere/descpipe-" + std::string(Version());
  fs::create_directories(fs::path(copy).parent_path());
  fs::copy(prefix, copy, fs::copy_options::recursive);
  fs::remove_all(prefix);
  const std::string binary = copy + "/bin/descpipe";

  const CliResult dynamic = RunProgram("/usr/bin/readelf", {"-d", binary});
  ASSERT_TRUE(Ran(dynamic));
  EXPECT_TRUE(Contains(dynamic.out, "(RUNPATH)") && Contains(dynamic.out, "[$ORIGIN/../lib]"))
      << dynamic.out;
  EXPECT_FALSE(Contains(dynamic.out, DESCPIPE_BUILD_DIR)) << dynamic.out;

  // The loader takes libduckdb.so from the copy, not from the build or source tree.
  const CliResult libraries =
      RunProgram(kEnv, {"-u", "LD_LIBRARY_PATH", "LD_TRACE_LOADED_OBJECTS=1", binary});
  ASSERT_TRUE(Ran(libraries));
  EXPECT_TRUE(Contains(libraries.out, "libduckdb.so => " + copy + "/bin/../lib/libduckdb.so"))
      << libraries.out;
  EXPECT_FALSE(Contains(libraries.out, "not found")) << libraries.out;

  const CliResult version = RunProgram(kEnv, {"-u", "LD_LIBRARY_PATH", binary, "--version"});
  ASSERT_TRUE(Ran(version));
  EXPECT_TRUE(Contains(version.out, Version())) << version.out;
  const std::string out = dir_ / "installed_out";
  const CliResult run = RunProgram(
      kEnv, {"-u", "LD_LIBRARY_PATH", binary, "run", input_, "-o", out, "--threads", "1"}, 300);
  ASSERT_TRUE(Ran(run));
  EXPECT_TRUE(fs::is_regular_file(out + "/final_descriptors.txt"));
}

}  // namespace
}  // namespace descpipe
