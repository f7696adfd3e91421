// Reader throughput against DuckDB's own scan of the same columns (bench/scan_rate.sh).
//   descpipe_scan_bench FILE FIRST COUNT
// Streams descriptor columns FIRST .. FIRST + COUNT - 1 of FILE (metadata: mol_id, smiles) through
// descpipe's ColumnReader, as Passes 1 and 2 do, and sums every column (so each value is read),
// then prints "reader: ROWS rows x COUNT columns, S s, V M values/s" and the checksum.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/table.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s FILE FIRST COUNT\n", argv[0]);
    return 2;
  }
  try {
    const descpipe::Context ctx;
    descpipe::InputSpec spec;
    spec.patterns = {argv[1]};
    spec.metadata_columns = {"mol_id", "smiles"};
    const descpipe::Table table = descpipe::Table::Open(spec, ctx);
    const std::vector<std::string> all = table.descriptor_names();
    const std::size_t first = std::strtoull(argv[2], nullptr, 10);
    const std::size_t count = std::strtoull(argv[3], nullptr, 10);
    if (first + count > all.size()) {
      std::fprintf(stderr, "%s has %zu descriptors\n", argv[1], all.size());
      return 2;
    }
    const std::vector<std::string> names(all.begin() + static_cast<std::ptrdiff_t>(first),
                                         all.begin() + static_cast<std::ptrdiff_t>(first + count));
    const auto start = std::chrono::steady_clock::now();
    descpipe::ColumnReader reader(table, names, descpipe::DefaultBatchRows(count));
    descpipe::ColumnBatch batch;
    std::vector<double> sums(count, 0.0);
    while (reader.Next(batch)) {
      for (std::size_t col = 0; col < count; ++col) {
        const double* values = batch.column(col);
        const std::uint8_t* nulls = batch.nulls(col);
        double sum = 0.0;
        for (std::size_t row = 0; row < batch.n_rows; ++row) sum += nulls[row] ? 0.0 : values[row];
        sums[col] += sum;
      }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double checksum = 0.0;
    for (double s : sums) checksum += s;
    const double values = static_cast<double>(reader.rows_read()) * static_cast<double>(count);
    std::printf("reader: %llu rows x %zu columns, %.2f s, %.1f M values/s (checksum %.6g)\n",
                static_cast<unsigned long long>(reader.rows_read()), count, seconds,
                values / seconds / 1e6, checksum);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
