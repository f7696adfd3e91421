// Memory: the library runs the whole pipeline many times in one process without growing, and
// the executable keeps its peak resident memory within memory_limit, or stops with one error
// line that says which memory_limit would do (docs/SPEARMAN.md, "Memory").
//
// The first test: resident memory after the 20th run is within 5% of the resident memory after
// the 2nd (the first run warms up allocator arenas, OpenBLAS and DuckDB caches). Leaks themselves
// are LeakSanitizer's job (make sanitize), where the RSS checks are skipped: ASan's shadow memory
// and quarantine are not descpipe's.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "descpipe/pipeline.hpp"
#include "descpipe/table.hpp"
#include "io/npy.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Contains;
using testing::ReadFile;
using testing::RunSql;
using testing::TempDir;

/// Current resident set size (VmRSS) in bytes.
std::uint64_t CurrentRssBytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024ULL;
  }
  return 0;
}

TEST(MemoryTest, TwentyRunsInOneProcessDoNotGrow) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's quarantine keeps freed memory; LeakSanitizer checks leaks in this build";
#endif
  TempDir dir;
  const std::string input = dir / "data.parquet";
  // 2,500 rows x 40 descriptors: groups of near-copies, nonlinear partners, NULLs, a constant.
  std::string select = "'m' || range AS id";
  for (int group = 0; group < 8; ++group) {
    const std::string base =
        "((hash(range, " + std::to_string(group) + ") % 100000)::DOUBLE / 50000 - 1)";
    select += ", " + base + " AS g" + std::to_string(group) + "_x";
    select += ", " + base + " * 3 + (hash(range, " + std::to_string(group + 100) +
              ") % 100)::DOUBLE / 1e4 AS g" + std::to_string(group) + "_copy";
    select += ", " + base + " * " + base + " AS g" + std::to_string(group) + "_square";
    select += ", CASE WHEN range % 7 = 0 THEN NULL ELSE sin(3 * " + base + ") END AS g" +
              std::to_string(group) + "_sin";
    select += ", (hash(range, " + std::to_string(group + 200) + ") % 1000)::DOUBLE AS g" +
              std::to_string(group) + "_noise";
  }
  select += ", 1.0 AS constant";
  RunSql("COPY (SELECT " + select + " FROM range(2500)) TO " + QuoteLiteral(input) +
         " (FORMAT parquet)");

  Config config;
  config.inputs = {input};
  config.metadata_columns = {"id"};
  config.output_dir = dir / "out";
  RunOptions options;
  options.until = LastImplementedStage();
  options.quiet = true;
  const Context ctx(2, config.random_seed);
  std::uint64_t after_second = 0;
  std::size_t final_count = 0;
  for (int run = 1; run <= 20; ++run) {
    const RunResult result = RunPipeline(config, options, ctx);
    if (run == 1) final_count = result.final_columns.size();
    EXPECT_EQ(result.final_columns.size(), final_count);
    if (run == 2) after_second = CurrentRssBytes();
  }
  const std::uint64_t after_last = CurrentRssBytes();
  ASSERT_GT(after_second, 0u);
  EXPECT_LE(static_cast<double>(after_last), 1.05 * static_cast<double>(after_second))
      << "RSS after run 2: " << after_second << " bytes, after run 20: " << after_last << " bytes";
  std::printf("RSS after run 2: %.1f MB, after run 20: %.1f MB\n", after_second / 1e6,
              after_last / 1e6);
}

// ---- The executable within memory_limit -------------------------------------------------------

struct MeasuredRun {
  int exit_code = -1;
  std::string err;
  /// The largest of the child's ru_maxrss (VmHWM at exit) and every pass's peak_rss_bytes in
  /// run_manifest.json: descpipe resets VmHWM at each pass, so ru_maxrss alone covers the last.
  std::uint64_t peak_bytes = 0;
};

/// Runs the descpipe executable with `args` (stdout and stderr into files of `dir`) and measures
/// its peak resident memory; `out_dir` is the run's OUTDIR (for the manifest's per-pass peaks).
MeasuredRun RunMeasured(const std::vector<std::string>& args, const TempDir& dir,
                        const std::string& out_dir) {
  const std::string err_path = dir / "stderr.txt";
  std::vector<std::string> argv_strings = {testing::CliPath()};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = ::open("/dev/null", O_WRONLY);
    if (err < 0 || null < 0) ::_exit(126);
    ::dup2(null, 1);
    ::dup2(err, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  MeasuredRun run;
  int status = 0;
  struct rusage usage {};
  EXPECT_EQ(::wait4(pid, &status, 0, &usage), pid);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  run.err = ReadFile(err_path);
  run.peak_bytes = static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;  // kB
  std::ifstream manifest(out_dir + "/run_manifest.json");
  if (manifest) {
    const nlohmann::json json = nlohmann::json::parse(manifest);
    for (const auto& pass : json.at("passes")) {
      if (pass.contains("peak_rss_bytes")) {
        run.peak_bytes = std::max(run.peak_bytes, pass.at("peak_rss_bytes").get<std::uint64_t>());
      }
    }
  }
  return run;
}

/// `columns` columns of `rows` rows of reproducible pseudo-random integers (0..99,999), as Parquet.
void WriteRandomTable(const std::string& path, int columns, int rows) {
  std::string select;
  for (int col = 0; col < columns; ++col) {
    select += (col > 0 ? ", " : "") + std::string("(hash(range, ") + std::to_string(col) +
              ") % 100000)::DOUBLE AS c" + std::to_string(col);
  }
  RunSql("COPY (SELECT " + select + " FROM range(" + std::to_string(rows) + ")) TO " +
         QuoteLiteral(path) + " (FORMAT parquet)");
}

/// The one "error: ..." line of a failed run (and no other non-log line).
std::string ErrorLine(const std::string& err) {
  std::string found;
  int count = 0;
  for (const auto& line : testing::Lines(err)) {
    if (line.rfind("error: ", 0) == 0) {
      found = line;
      ++count;
    }
  }
  EXPECT_EQ(count, 1) << err;
  return found;
}

void ExpectPeakWithin(const MeasuredRun& run, double limit) {
  if (testing::kSanitizerBuild) return;  // ASan's shadow memory and quarantine are not descpipe's
  EXPECT_GT(run.peak_bytes, 0u);
  EXPECT_LE(static_cast<double>(run.peak_bytes), limit)
      << "peak RSS " << run.peak_bytes / 1e6 << " MB against memory_limit " << limit / 1e6 << " MB";
}

// The case: 3,000 columns x 2,000 rows under 300 MB gave an all-NaN matrix from 0 rows
// (the sample bound overflowed) and a peak of 786 MB. Now every row is used, in column blocks.
TEST(MemoryLimit, WideTableUsesEveryRowWithinTheLimit) {
  TempDir dir;
  const std::string input = dir / "wide.parquet", out = dir / "out";
  WriteRandomTable(input, 3000, 2000);
  const MeasuredRun run = RunMeasured(
      {"run", input, "-o", out, "-q", "--until", "pass2", "--set", "memory_limit=300MB"}, dir, out);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto report = nlohmann::json::parse(ReadFile(out + "/pass2_spearman.json"));
  EXPECT_EQ(report.at("rows").at("used").get<int>(), 2000);
  EXPECT_FALSE(report.at("rows").at("sampled").get<bool>());
  std::size_t rows = 0, cols = 0;
  const std::vector<double> rho = io::ReadNpy(out + "/pass2_spearman_matrix.npy", &rows, &cols);
  ASSERT_EQ(rows, 3000u);
  ASSERT_EQ(cols, 3000u);
  EXPECT_EQ(std::count_if(rho.begin(), rho.end(), [](double x) { return std::isnan(x); }), 0);
  for (std::size_t i = 0; i < rows; ++i) EXPECT_EQ(rho[i * cols + i], 1.0) << i;
  ExpectPeakWithin(run, 300e6);
}

// Every row does not fit, but a real sample does: rows used between 0 and all, no NaN.
TEST(MemoryLimit, RowSampleWhenOnlyTheRowsDoNotFit) {
  TempDir dir;
  const std::string input = dir / "tall.parquet", out = dir / "out";
  WriteRandomTable(input, 10, 1000000);  // 80 MB as doubles, 40 MB as float ranks
  const MeasuredRun run = RunMeasured(
      {"run", input, "-o", out, "-q", "--until", "pass2", "--set", "memory_limit=110MB"}, dir, out);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(Contains(run.err, "reproducible sample")) << run.err;
  const auto rows = nlohmann::json::parse(ReadFile(out + "/pass2_spearman.json")).at("rows");
  EXPECT_TRUE(rows.at("sampled").get<bool>());
  EXPECT_GE(rows.at("used").get<int>(), 100000);
  EXPECT_LT(rows.at("used").get<int>(), 1000000);
  std::size_t n = 0, m = 0;
  const std::vector<double> rho = io::ReadNpy(out + "/pass2_spearman_matrix.npy", &n, &m);
  ASSERT_EQ(rho.size(), 100u);
  EXPECT_EQ(std::count_if(rho.begin(), rho.end(), [](double x) { return std::isnan(x); }), 0);
  ExpectPeakWithin(run, 110e6);
}

// Not even the 3,000 x 3,000 correlation matrices fit: exit 2, one error line naming
// memory_limit and a size that would do; no Pass 2 output.
TEST(MemoryLimit, MatricesThatDoNotFitAreAClearError) {
  TempDir dir;
  const std::string input = dir / "wide.parquet", out = dir / "out";
  WriteRandomTable(input, 3000, 100);
  const MeasuredRun run = RunMeasured(
      {"run", input, "-o", out, "-q", "--until", "pass2", "--set", "memory_limit=150MB"}, dir, out);
  EXPECT_EQ(run.exit_code, 2) << run.err;
  const std::string error = ErrorLine(run.err);
  EXPECT_TRUE(Contains(error, "pass 2 needs")) << error;
  EXPECT_TRUE(Contains(error, "3000 x 3000 correlation matrices")) << error;
  EXPECT_TRUE(Contains(error, "memory_limit is 150 MB: raise memory_limit to at least ")) << error;
  EXPECT_FALSE(std::ifstream(out + "/pass2_spearman_matrix.npy").good());
  ExpectPeakWithin(run, 150e6);
}

// hsic_D drives the HSIC basis (hsic_D x hsic_D Gram matrix and eigenvectors): 8,192 needs 1.1 GB.
TEST(MemoryLimit, LargeHsicDIsAClearErrorNamingIt) {
  TempDir dir;
  const std::string input = dir / "small.parquet", out = dir / "out";
  WriteRandomTable(input, 4, 500);
  const MeasuredRun run = RunMeasured(
      {"run", input, "-o", out, "-q", "--set", "memory_limit=500MB", "--set", "hsic_D=8192"}, dir,
      out);
  EXPECT_EQ(run.exit_code, 2) << run.err;
  const std::string error = ErrorLine(run.err);
  EXPECT_TRUE(Contains(error, "hsic_D = 8192")) << error;
  EXPECT_TRUE(Contains(error, "lower hsic_D")) << error;
  EXPECT_TRUE(Contains(error, "raise memory_limit to at least")) << error;
  EXPECT_FALSE(Contains(run.err, "bad_alloc")) << run.err;
  ExpectPeakWithin(run, 500e6);
}

// Found by Fuzz.OptionsAndTables: memory_limit at its maximum (2^60 bytes) let hsic_D = 65536
// (a 69 GB basis) past the memory model, and the allocation ended in std::bad_alloc (exit code 3;
// on a machine with more memory the kernel would kill it). The limit is lowered to the physical
// memory, with a warning, and the error says the machine is too small, not "raise memory_limit".
TEST(MemoryLimit, LimitAbovePhysicalMemoryIsLoweredToIt) {
  TempDir dir;
  const std::string input = dir / "small.parquet", out = dir / "out";
  WriteRandomTable(input, 4, 500);
  const MeasuredRun run = RunMeasured({"run", input, "-o", out, "-q", "--set",
                                       "memory_limit=1152921504606846976", "--set", "hsic_D=65536"},
                                      dir, out);
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_TRUE(Contains(run.err, "is more than this machine's physical memory")) << run.err;
  const std::string error = ErrorLine(run.err);
  EXPECT_TRUE(Contains(error, "hsic_D = 65536")) << error;
  EXPECT_TRUE(Contains(error, "of physical memory: lower hsic_D")) << error;
  EXPECT_FALSE(Contains(error, "raise memory_limit")) << error;
  EXPECT_FALSE(Contains(run.err, "bad_alloc")) << run.err;
}

// Many columns of 3 rows kept by min_effective_n = 0 ended in std::bad_alloc (20,000 columns:
// 3.2 GB per p x p matrix). 4,000 columns show the same path at a cost a test can afford: Pass 1
// reads them in blocks, Pass 2 refuses its 4,000 x 4,000 matrices before allocating them.
TEST(MemoryLimit, ManyColumnsOfThreeRowsAreAClearErrorNotBadAlloc) {
  TempDir dir;
  const std::string input = dir / "wide.parquet", out = dir / "out";
  WriteRandomTable(input, 4000, 3);
  const MeasuredRun run = RunMeasured(
      {"run", input, "-o", out, "-q", "--set", "memory_limit=150MB", "--set", "min_effective_n=0"},
      dir, out);
  EXPECT_EQ(run.exit_code, 2) << run.err;
  const std::string error = ErrorLine(run.err);
  EXPECT_TRUE(Contains(error, "4000 x 4000 correlation matrices")) << error;
  EXPECT_TRUE(Contains(error, "raise memory_limit to at least")) << error;
  EXPECT_TRUE(Contains(error, "remove columns")) << error;
  EXPECT_FALSE(Contains(run.err, "bad_alloc")) << run.err;
  ExpectPeakWithin(run, 150e6);
}

}  // namespace
}  // namespace descpipe
