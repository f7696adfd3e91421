// Writing a column subset of the input table as Parquet (descpipe apply).
#include <filesystem>

#include "descpipe/error.hpp"
#include "descpipe/table.hpp"
#include "io/atomic_file.hpp"
#include "io/column_source.hpp"
#include "io/duckdb_handles.hpp"

namespace descpipe {

std::int64_t WriteColumns(const Table& table, const std::vector<std::string>& columns,
                          const std::string& out_path, const Context& ctx) {
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
  const std::string sql = fmt::format(
      "COPY (SELECT {} FROM {}) TO {} (FORMAT parquet, COMPRESSION zstd, USE_TMP_FILE false)",
      select, table.source().Sql(connection),
      QuoteLiteral(io::DuckDbWritePath(target.temp_path())));
  io::Result copied;
  io::Query(connection, sql, copied, fmt::format("writing {} from {}", out_path, table.Describe()));
  const std::int64_t rows = copied.rows() > 0 ? copied.Int(0, 0) : 0;
  target.Commit();
  return rows;
}

}  // namespace descpipe
