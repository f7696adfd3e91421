// Resume: a run reuses the passes of an earlier run in its output directory when their
// fingerprints (inputs, options, version) and files match, recomputes exactly the passes a
// change affects, and survives SIGKILL at any moment with byte-identical final outputs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "descpipe/table.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::CliResult;
using testing::Contains;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::TempDir;
namespace fs = std::filesystem;

const std::vector<std::string> kFinalOutputs = {
    "pass1_stats.csv",           "pass1_columns.txt",    "pass1_variance_filtering.json",
    "pass2_spearman_matrix.npy", "pass2_columns.txt",    "pass2_spearman.json",
    "pass3_columns.txt",         "pass3_vif.json",       "pass4_hsic_matrix.npy",
    "pass4_rdc_matrix.npy",      "pass4_nonlinear.json", "final_descriptors.txt",
    "final_cluster_info.json"};

/// rows x (8 groups of 5 related columns + noise): something for every pass to do.
void MakeData(const std::string& path, int rows) {
  std::string select = "'m' || range AS id";
  for (int group = 0; group < 8; ++group) {
    const std::string g = std::to_string(group);
    const std::string base = "((hash(range, " + g + ") % 100000)::DOUBLE / 50000 - 1)";
    select += ", " + base + " AS g" + g + "_x";
    select += ", " + base + " * 3 + (hash(range, " + std::to_string(group + 100) +
              ") % 100)::DOUBLE / 1e4 AS g" + g + "_copy";
    select += ", " + base + " * " + base + " + (hash(range, " + std::to_string(group + 300) +
              ") % 100)::DOUBLE / 2e3 AS g" + g + "_square";
    select +=
        ", CASE WHEN range % 7 = 0 THEN NULL ELSE sin(3 * " + base + ") END AS g" + g + "_sin";
    select +=
        ", (hash(range, " + std::to_string(group + 200) + ") % 1000)::DOUBLE AS g" + g + "_noise";
  }
  RunSql("COPY (SELECT " + select + " FROM range(" + std::to_string(rows) + ")) TO " +
         QuoteLiteral(path) + " (FORMAT parquet)");
}

class ResumeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    input_ = dir_ / "data.parquet";
    MakeData(input_, 3000);
  }
  CliResult Run(const std::string& out, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", input_, "-o", out, "--set", "metadata_columns=[id]"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunCli(args);
  }
  /// "reused" or "computed" for each of pass1..pass4, from the log.
  static std::vector<std::string> Decisions(const CliResult& result) {
    std::vector<std::string> decisions;
    for (int pass = 1; pass <= 4; ++pass) {
      const std::string prefix = "pass" + std::to_string(pass) + ": ";
      decisions.push_back(Contains(result.err, prefix + "reused")     ? "reused"
                          : Contains(result.err, prefix + "computed") ? "computed"
                                                                      : "?");
    }
    return decisions;
  }
  void ExpectSameOutputs(const std::string& a, const std::string& b) {
    for (const auto& name : kFinalOutputs)
      EXPECT_EQ(ReadFile(a + "/" + name), ReadFile(b + "/" + name)) << name;
  }

  TempDir dir_;
  std::string input_;
};

TEST_F(ResumeTest, RecomputesExactlyWhatAChangeAffects) {
  const std::string out = dir_ / "out";
  ASSERT_EQ(Run(out).exit_code, 0);
  using Want = std::vector<std::string>;
  const std::string r = "reused", c = "computed";
  CliResult again = Run(out);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Decisions(again), (Want{r, r, r, r})) << again.err;
  const auto manifest = nlohmann::json::parse(ReadFile(out + "/run_manifest.json"));
  for (const auto& pass : manifest.at("passes")) EXPECT_EQ(pass.at("status"), "reused");

  // One option of each pass: that pass and the later ones are computed again; outputs equal a
  // fresh run with the same options.
  const std::vector<std::pair<std::string, Want>> changes = {
      {"nonlinear_threshold=0.5", {r, r, r, c}},
      {"vif_threshold=5", {r, r, c, c}},
      {"spearman_threshold=0.9", {r, c, c, c}},
      {"variance_threshold=0.01", {c, c, c, c}},
  };
  for (const auto& [assignment, want] : changes) {
    const CliResult changed = Run(out, {"--set", assignment});
    ASSERT_EQ(changed.exit_code, 0) << changed.err;
    EXPECT_EQ(Decisions(changed), want) << assignment << "\n" << changed.err;
    const std::string fresh = dir_ / ("fresh_" + assignment.substr(0, assignment.find('=')));
    ASSERT_EQ(Run(fresh, {"--set", assignment, "--no-resume"}).exit_code, 0);
    ExpectSameOutputs(out, fresh);
    ASSERT_EQ(Run(out).exit_code, 0);  // back to the defaults for the next change
  }
  // --threads changes nothing; --no-resume computes everything.
  EXPECT_EQ(Decisions(Run(out, {"--threads", "1"})), (Want{r, r, r, r}));
  EXPECT_EQ(Decisions(Run(out, {"--no-resume"})), (Want{c, c, c, c}));
}

TEST_F(ResumeTest, ChangedInputOrOutputIsNeverReused) {
  const std::string out = dir_ / "out";
  ASSERT_EQ(Run(out).exit_code, 0);
  // An output edited after the run: that pass and the later ones are computed again.
  testing::WriteFile(out + "/pass3_columns.txt", "g0_x\n");
  const CliResult edited = Run(out);
  EXPECT_TRUE(
      Contains(edited.err, "pass3: computed (pass3_columns.txt changed since it was written)"))
      << edited.err;
  EXPECT_TRUE(Contains(edited.err, "pass2: reused")) << edited.err;
  // A checkpoint removed: same.
  fs::remove(out + "/.checkpoint/pass2.json");
  const CliResult removed = Run(out);
  EXPECT_TRUE(Contains(
      removed.err, "pass2: computed (.checkpoint/pass2.json is missing (or not a regular file))"))
      << removed.err;
  // A changed input (other rows): everything is computed again.
  MakeData(input_, 2500);
  const CliResult changed = Run(out);
  EXPECT_TRUE(Contains(changed.err, "pass1: computed (its inputs or options changed)"))
      << changed.err;
  const std::string fresh = dir_ / "fresh";
  ASSERT_EQ(Run(fresh, {"--no-resume"}).exit_code, 0);
  ExpectSameOutputs(out, fresh);
}

TEST_F(ResumeTest, StoppingEarlyRemovesResultsThatNoLongerMatch) {
  const std::string out = dir_ / "out";
  ASSERT_EQ(Run(out).exit_code, 0);
  // Pass 1 changes and the run stops there: the old Passes 2-4 results must not stay behind.
  const CliResult early = Run(out, {"--set", "variance_threshold=0.01", "--until", "pass1"});
  ASSERT_EQ(early.exit_code, 0) << early.err;
  EXPECT_TRUE(fs::exists(out + "/pass1_columns.txt"));
  for (const char* stale :
       {"pass2_columns.txt", "pass3_vif.json", "pass4_nonlinear.json", "final_descriptors.txt",
        "final_cluster_info.json", ".checkpoint/pass2.json"}) {
    EXPECT_FALSE(fs::exists(out + "/" + stale)) << stale;
  }
  // Unchanged options stopping early keep what was reused and remove nothing.
  ASSERT_EQ(Run(out, {"--set", "variance_threshold=0.01"}).exit_code, 0);
  ASSERT_EQ(Run(out, {"--set", "variance_threshold=0.01", "--until", "pass2"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(out + "/final_descriptors.txt"));
}

/// Starts the CLI, kills it with SIGKILL after `delay`; returns false when it ended before.
bool RunAndKill(const std::vector<std::string>& args, std::chrono::milliseconds delay) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string program = DESCPIPE_CLI_PATH;
    argv.push_back(program.data());
    std::vector<std::string> copies = args;
    for (auto& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int null_fd = ::open("/dev/null", O_WRONLY);
    dup2(null_fd, STDERR_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + delay;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return true;
}

TEST_F(ResumeTest, KilledAtAnyMomentResumesToTheSameBytes) {
  // More rows: a run of a second or two, so that the kill moments land in every pass. Under the
  // sanitizers (~4x slower) fewer rows give runs as long, and 8 moments instead of 20 keep the
  // test to about a minute.
  const bool sanitized = testing::kSanitizerBuild;
  MakeData(input_, sanitized ? 5000 : 20000);
  const std::string reference = dir_ / "reference";
  ASSERT_EQ(Run(reference, {"-q"}).exit_code, 0);
  // The moments: a warm run's duration, cut by the pass times its manifest records (the rest,
  // before Pass 1, is start-up), with moments inside every pass.
  const std::string timing = dir_ / "timing";
  const auto start = std::chrono::steady_clock::now();
  ASSERT_EQ(Run(timing, {"-q", "--no-resume"}).exit_code, 0);
  const double total_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> pass_ms;
  const nlohmann::json timing_manifest =
      nlohmann::json::parse(ReadFile(timing + "/run_manifest.json"));
  for (const auto& pass : timing_manifest.at("passes")) {
    pass_ms.push_back(1000.0 * pass.at("seconds").get<double>());
  }
  ASSERT_EQ(pass_ms.size(), 4u);
  double begin = total_ms;
  for (double ms : pass_ms) begin -= ms;
  begin = std::max(0.0, begin);
  std::vector<double> moments_ms = {begin * 0.5};  // during start-up
  for (std::size_t pass = 0; pass < pass_ms.size(); ++pass) {
    const int count = pass == 2 ? 1 : (sanitized ? 2 : 6);  // Pass 3 takes milliseconds
    for (int k = 0; k < count; ++k) moments_ms.push_back(begin + pass_ms[pass] * (k + 0.5) / count);
    begin += pass_ms[pass];
  }
  const int kMoments = static_cast<int>(moments_ms.size());
  ASSERT_EQ(kMoments, sanitized ? 8 : 20);
  const auto total = std::chrono::milliseconds(static_cast<long long>(total_ms));
  int killed = 0;
  std::set<std::size_t> interrupted;  // passes (1-4; 5: after Pass 4) the kills interrupted
  for (int moment = 0; moment < kMoments; ++moment) {
    const std::string out = dir_ / ("killed_" + std::to_string(moment));
    const std::vector<std::string> args = {
        "run", input_, "-o", out, "-q", "--set", "metadata_columns=[id]"};
    // When the run ends first (the machine is faster now), the moment moves earlier.
    auto delay = std::chrono::milliseconds(
        static_cast<long long>(moments_ms[static_cast<std::size_t>(moment)]));
    bool was_killed = false;
    for (int attempt = 0; attempt < 4 && !was_killed; ++attempt) {
      fs::remove_all(out);
      was_killed = RunAndKill(args, delay);
      delay = delay * 6 / 10;
    }
    killed += was_killed ? 1 : 0;
    // Which pass the kill interrupted: the manifest lists the finished ones.
    std::size_t finished = 0;
    if (fs::exists(out + "/run_manifest.json")) {
      finished = nlohmann::json::parse(ReadFile(out + "/run_manifest.json")).at("passes").size();
    }
    interrupted.insert(finished + 1);
    // Nothing under a final name is ever partial: each file there equals the reference's.
    if (fs::exists(out)) {
      for (const auto& name : kFinalOutputs) {
        if (fs::exists(out + "/" + name)) {
          EXPECT_EQ(ReadFile(out + "/" + name), ReadFile(reference + "/" + name))
              << name << " at moment " << moment;
        }
      }
    }
    // The resumed run ends with the reference's bytes.
    ASSERT_EQ(Run(out, {"-q"}).exit_code, 0) << "moment " << moment;
    ExpectSameOutputs(out, reference);
  }
  EXPECT_EQ(killed, kMoments) << "runs ended before their kill moment (warm run: " << total.count()
                              << " ms)";
  std::string passes;
  for (std::size_t pass : interrupted) passes += " " + std::to_string(pass);
  std::printf("warm run %lld ms; kills interrupted passes:%s\n",
              static_cast<long long>(total.count()), passes.c_str());
  // Timing on a loaded machine shifts the moments, so only a spread is required here (the
  // printed list shows which passes were hit; typically 1, 2 and 4).
  EXPECT_GE(interrupted.size(), 2u) << passes;
}

}  // namespace
}  // namespace descpipe
