// Writing a column subset of the input table (descpipe apply), and the output formats of apply
// and sample.
#include <filesystem>

#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "descpipe/table.hpp"
#include "io/atomic_file.hpp"
#include "io/column_source.hpp"
#include "io/duckdb_handles.hpp"

namespace descpipe {

OutputFormat OutputFormatOf(const std::string& path) {
  const std::string name = AsciiLower(std::filesystem::path(path).filename().string());
  auto ends_with = [&](const std::string& suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".parquet") || ends_with(".pq") || ends_with(".parq"))
    return OutputFormat::kParquet;
  if (ends_with(".csv")) return OutputFormat::kCsv;
  if (ends_with(".csv.gz")) return OutputFormat::kCsvGzip;
  throw InvalidInput(fmt::format(
      "cannot write '{}': the output's format follows its extension, one of .parquet (Parquet, "
      "zstd; also .pq, .parq), .csv (CSV) or .csv.gz (gzip-compressed CSV)",
      path));
}

namespace io {

std::string CopyFormatOptions(OutputFormat format) {
  switch (format) {
    case OutputFormat::kParquet:
      return "FORMAT parquet, COMPRESSION zstd";
    case OutputFormat::kCsv:
      return "FORMAT csv, HEADER true";
    case OutputFormat::kCsvGzip:
      return "FORMAT csv, HEADER true, COMPRESSION gzip";
  }
  DESCPIPE_ASSERT(false);
  return "";
}

}  // namespace io

std::int64_t WriteColumns(const Table& table, const std::vector<std::string>& columns,
                          const std::string& out_path, const Context& ctx) {
  const OutputFormat format = OutputFormatOf(out_path);
  for (const auto& file : table.files()) {
    std::error_code ec;
    DESCPIPE_EXPECTS(!std::filesystem::equivalent(file.path, out_path, ec),
                     "the output '{}' is also an input: choose another path", out_path);
  }
  DESCPIPE_EXPECTS(!columns.empty(), "no column to write to '{}'", out_path);
  std::string select;
  for (const auto& column : columns) {
    if (!select.empty()) select += ", ";
    select += QuoteIdentifier(column);
  }
  io::AtomicPath target(out_path);
  // One scan of every file in order: DuckDB preserves insertion order (its default), so rows come
  // out in input order.
  // USE_TMP_FILE false: the temporary is ours already (AtomicPath, created O_EXCL); DuckDB would
  // otherwise write "tmp_<name>" beside it, a name it opens without O_EXCL.
  io::Database database(ctx.threads());
  io::Connection connection(database);
  const std::string sql = fmt::format("COPY (SELECT {} FROM {}) TO {} ({}, USE_TMP_FILE false)",
                                      select, table.source().Sql(connection),
                                      QuoteLiteral(io::DuckDbWritePath(target.temp_path())),
                                      io::CopyFormatOptions(format));
  io::Result copied;
  io::Query(connection, sql, copied, fmt::format("writing {} from {}", out_path, table.Describe()));
  const std::int64_t rows = copied.rows() > 0 ? copied.Int(0, 0) : 0;
  target.Commit();
  return rows;
}

}  // namespace descpipe
