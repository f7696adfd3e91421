// A table in memory against the same table read from Parquet, in one process:
//   descpipe_memory_source_bench FILE OUTDIR [THREADS]
// Loads FILE's numeric columns as float64 and its text columns as strings, then runs the whole
// pipeline (Passes 1-4, defaults) from the file into OUTDIR/file and from the table in memory into
// OUTDIR/memory, and prints each run's seconds per pass and in all, and whether the final
// descriptors agree. The first run also warms the page cache for the second.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/context.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/table.hpp"

namespace {

struct Buffers {
  std::vector<std::vector<double>> numbers;
  std::vector<std::vector<std::uint8_t>> nulls;
};

/// FILE's numeric columns in memory (float64, NULL flags); its text columns are left out (a
/// DataFrame's metadata is not read by the passes).
descpipe::MemoryTable Load(const std::string& path, const descpipe::Context& ctx) {
  descpipe::InputSpec spec;
  spec.patterns = {path};
  const descpipe::Table file = descpipe::Table::Open(spec, ctx);
  std::vector<std::string> numeric;
  for (const auto& column : file.columns()) {
    if (column.numeric) numeric.push_back(column.name);
  }
  auto buffers = std::make_shared<Buffers>();
  buffers->numbers.resize(numeric.size());
  buffers->nulls.resize(numeric.size());
  for (auto& v : buffers->numbers) v.reserve(static_cast<std::size_t>(file.known_row_count()));
  descpipe::ColumnReader reader(file, numeric, descpipe::DefaultBatchRows(numeric.size()));
  descpipe::ColumnBatch batch;
  while (reader.Next(batch)) {
    for (std::size_t k = 0; k < numeric.size(); ++k) {
      buffers->numbers[k].insert(buffers->numbers[k].end(), batch.column(k),
                                 batch.column(k) + batch.n_rows);
      buffers->nulls[k].insert(buffers->nulls[k].end(), batch.nulls(k),
                               batch.nulls(k) + batch.n_rows);
    }
  }
  descpipe::MemoryTable table;
  table.name = path;
  table.n_rows = buffers->numbers.empty() ? 0 : buffers->numbers[0].size();
  for (std::size_t k = 0; k < numeric.size(); ++k) {
    bool any_null = false;
    for (const std::uint8_t flag : buffers->nulls[k]) any_null = any_null || flag != 0;
    table.columns.push_back({numeric[k], descpipe::MemoryType::kFloat64, buffers->numbers[k].data(),
                             any_null ? buffers->nulls[k].data() : nullptr});
  }
  table.owner = buffers;
  return table;
}

double Print(const char* what, const descpipe::RunResult& result, double seconds) {
  std::printf("%-7s", what);
  for (const auto& pass : result.passes)
    std::printf("  %s %.2f s", pass.name.c_str(), pass.seconds);
  std::printf("  | whole run %.2f s, %zu final\n", seconds, result.final_columns.size());
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s FILE OUTDIR [THREADS]\n", argv[0]);
    return 2;
  }
  try {
    descpipe::Config config;
    config.threads = argc > 3 ? std::atoi(argv[3]) : 0;
    const descpipe::Context ctx = descpipe::MakeContext(config);
    descpipe::RunOptions options;
    options.until = descpipe::Stage::kPass4;
    options.resume = false;
    options.quiet = true;
    auto timed = [](auto&& run) {
      const auto start = std::chrono::steady_clock::now();
      auto result = run();
      return std::make_pair(
          std::move(result),
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    };
    config.inputs = {argv[1]};
    config.output_dir = std::string(argv[2]) + "/file";
    const auto [from_file, file_seconds] =
        timed([&] { return descpipe::RunPipeline(config, options, ctx); });
    const auto load_start = std::chrono::steady_clock::now();
    descpipe::MemoryTable memory = Load(argv[1], ctx);
    const double load_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    config.inputs.clear();
    config.output_dir = std::string(argv[2]) + "/memory";
    const descpipe::Table table =
        descpipe::Table::FromMemory(std::move(memory), config.ToInputSpec(), ctx);
    const auto [from_memory, memory_seconds] =
        timed([&] { return descpipe::RunPipeline(table, config, options, ctx); });
    Print("file", from_file, file_seconds);
    Print("memory", from_memory, memory_seconds);
    std::printf("loading the table into memory (not counted): %.2f s\n", load_seconds);
    std::printf("memory / file: %.2fx the time; final descriptors %s\n",
                memory_seconds / file_seconds,
                from_file.final_columns == from_memory.final_columns ? "agree" : "DIFFER");
    return from_file.final_columns == from_memory.final_columns ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
