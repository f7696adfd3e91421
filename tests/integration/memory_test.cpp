// The library runs the whole pipeline many times in one process without growing: resident memory
// after the 20th run is within 5% of the resident memory after the 2nd (the first run warms up
// allocator arenas, OpenBLAS and DuckDB caches). Leaks themselves are LeakSanitizer's job
// (make sanitize), where this RSS check is skipped: ASan's quarantine holds freed memory.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "descpipe/pipeline.hpp"
#include "descpipe/table.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

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
    const std::string base = "((hash(range, " + std::to_string(group) + ") % 100000)::DOUBLE / 50000 - 1)";
    select += ", " + base + " AS g" + std::to_string(group) + "_x";
    select += ", " + base + " * 3 + (hash(range, " + std::to_string(group + 100) + ") % 100)::DOUBLE / 1e4 AS g" +
              std::to_string(group) + "_copy";
    select += ", " + base + " * " + base + " AS g" + std::to_string(group) + "_square";
    select += ", CASE WHEN range % 7 = 0 THEN NULL ELSE sin(3 * " + base + ") END AS g" + std::to_string(group) +
              "_sin";
    select += ", (hash(range, " + std::to_string(group + 200) + ") % 1000)::DOUBLE AS g" + std::to_string(group) +
              "_noise";
  }
  select += ", 1.0 AS constant";
  RunSql("COPY (SELECT " + select + " FROM range(2500)) TO " + QuoteLiteral(input) + " (FORMAT parquet)");

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
  std::printf("RSS after run 2: %.1f MB, after run 20: %.1f MB\n", after_second / 1e6, after_last / 1e6);
}

}  // namespace
}  // namespace descpipe
