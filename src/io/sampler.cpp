// Pass 0: reproducible row sampling through DuckDB.
//
// Each row gets the key hash(seed, file_index, row_number_in_file); the sample is the N rows with
// the smallest keys (ties broken by file and row), written in input order. The key depends only on
// the row's position, so the sample is the same whatever the thread count or the order in which
// DuckDB scans the files. DuckDB's top-N operator keeps only N rows in memory.
#include <filesystem>

#include "descpipe/error.hpp"
#include "descpipe/table.hpp"
#include "io/atomic_file.hpp"
#include "io/duckdb_handles.hpp"
#include "io/table_impl.hpp"

namespace descpipe {
namespace {

constexpr const char* kFileColumn = "__descpipe_file";
constexpr const char* kRowColumn = "__descpipe_row";

/// Every column of one file plus its index and the row number within the file.
std::string KeyedFileSql(const InputFile& file, std::size_t file_idx) {
  if (file.format == FileFormat::kParquet) {
    return fmt::format(
        "SELECT * EXCLUDE (file_row_number), {} AS {}, file_row_number AS {} "
        "FROM read_parquet({}, file_row_number = true)",
        file_idx, kFileColumn, kRowColumn, QuoteLiteral(file.path));
  }
  // read_csv has no file_row_number: number rows in scan order (insertion order is preserved).
  return fmt::format(
      "SELECT *, {} AS {}, row_number() OVER () - 1 AS {} FROM read_csv({}, header = true)",
      file_idx, kFileColumn, kRowColumn, QuoteLiteral(file.path));
}

std::string KeyExpr(std::uint64_t seed) {
  return fmt::format("hash({}::UBIGINT, {}, {})", seed, kFileColumn, kRowColumn);
}

}  // namespace

std::int64_t WriteSample(const Table& table, const SampleSpec& spec, const std::string& out_path,
                         const Context& ctx) {
  DESCPIPE_EXPECTS(spec.rows > 0 || spec.per_file > 0,
                   "sampling needs sample_rows > 0 or sample_per_file > 0");
  DESCPIPE_EXPECTS(!(spec.rows > 0 && spec.per_file > 0),
                   "sample_rows ({}) and sample_per_file ({}) are exclusive: set only one", spec.rows,
                   spec.per_file);
  const auto& files = table.files();
  for (const auto& file : files) {
    std::error_code ec;
    DESCPIPE_EXPECTS(!std::filesystem::equivalent(file.path, out_path, ec),
                     "the sample output '{}' is also an input", out_path);
  }
  std::string body;
  const std::string key = KeyExpr(spec.seed);
  if (spec.rows > 0) {
    std::string unioned;
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (i > 0) unioned += " UNION ALL BY NAME ";
      unioned += KeyedFileSql(files[i], i);
    }
    body = fmt::format("SELECT * FROM ({}) ORDER BY {}, {}, {} LIMIT {}", unioned, key, kFileColumn,
                       kRowColumn, spec.rows);
  } else {
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (i > 0) body += " UNION ALL BY NAME ";
      body += fmt::format("(SELECT * FROM ({}) ORDER BY {}, {} LIMIT {})", KeyedFileSql(files[i], i),
                          key, kRowColumn, spec.per_file);
    }
  }
  // Restore the input column order (UNION BY NAME may append columns of later files).
  std::string columns;
  for (const auto& column : table.columns()) {
    if (!columns.empty()) columns += ", ";
    columns += QuoteIdentifier(column.name);
  }
  io::AtomicPath target(out_path);
  const std::string sql = fmt::format(
      "COPY (SELECT {} FROM ({}) ORDER BY {}, {}) TO {} (FORMAT parquet, COMPRESSION zstd)",
      columns, body, kFileColumn, kRowColumn, QuoteLiteral(target.temp_path()));
  io::Database database(ctx.threads());
  io::Connection connection(database);
  io::Result copied;
  io::Query(connection, sql, copied, fmt::format("sampling {}", table.Describe()));
  const std::int64_t rows = copied.rows() > 0 ? copied.Int(0, 0) : 0;
  target.Commit();
  return rows;
}

}  // namespace descpipe
