// Where a Table's columns come from: the one interface behind descpipe::Table, and its two
// implementations, files read through DuckDB (file_source.cpp) and a table the caller holds in
// memory (memory_source.cpp). The passes see only Table and ColumnReader; everything that
// depends on the kind of source (how rows are scanned, what a scan holds in memory, how SQL names
// the table, what identifies the input) is a method here. Internal to src/io.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "descpipe/table.hpp"

namespace descpipe::io {

class Connection;

/// Rows of some columns of one partition, cut into batches of a fixed row count.
class BatchStream {
 public:
  virtual ~BatchStream() = default;
  /// Fills `batch` with up to `batch_rows` next rows; false when nothing is left.
  /// @throws IoError when the source cannot be read.
  virtual bool Fill(ColumnBatch& batch) = 0;
  /// Whether Fill decodes (worth doing ahead on a background thread) or only points into memory.
  virtual bool decodes() const = 0;
};

/// A table's columns and rows, whatever holds them.
class ColumnSource {
 public:
  virtual ~ColumnSource() = default;

  /// Every column in first-seen order, with its role.
  const std::vector<ColumnInfo>& columns() const { return columns_; }
  /// Per column (as `columns()`), the DuckDB types it has in the inputs, first-seen order.
  const std::vector<std::vector<std::string>>& column_types() const { return column_types_; }

  /// "'data/x.parquet'", "3 Parquet files ('data/a.parquet', ...)", "in-memory table 'df'".
  virtual std::string Describe() const = 0;
  /// The input files, in input order; empty for a table in memory.
  virtual const std::vector<InputFile>& files() const = 0;
  /// The table in memory; nullptr for files.
  virtual const MemoryTable* memory() const = 0;
  /// The number of rows, or -1 when unknown before a scan (CSV).
  virtual std::int64_t known_row_count() const = 0;
  /// Independently scannable parts, in input order; never depends on the thread count.
  virtual std::vector<ScanPartition> Partitions() const = 0;
  /// Rows of `partition`, or -1 when unknown before a scan.
  virtual std::int64_t PartitionRows(const ScanPartition& partition) const = 0;
  /// The rows of the largest part (files' row groups are sized from it), or a row group's worth
  /// when unknown.
  virtual double LargestPartRows() const = 0;
  /// Streams `columns` (as DOUBLE; NULL as NaN with is_null 1) of `partition` in batches of
  /// `batch_rows` rows, numbered from the partition's first row.
  virtual std::unique_ptr<BatchStream> Scan(const std::vector<std::string>& columns,
                                            const ScanPartition& partition,
                                            std::size_t batch_rows) const = 0;
  /// Bytes a scan of `columns` over a part of `part_rows` rows holds besides the batches (DuckDB's
  /// buffers; nothing for memory).
  virtual double ScanBufferBytes(double columns, double part_rows, double prefetch) const = 0;
  /// Whether a column must be read as missing in part `part` (union_by_name: a file without it).
  virtual bool PartHasColumn(std::size_t part, const std::string& name) const = 0;

  /// Makes the table readable by SQL on `connection` and returns the table expression for a FROM
  /// clause (every part, union by name).
  virtual std::string Sql(const Connection& connection) const = 0;
  /// The number of parts the sampler numbers rows in (files; 1 for memory).
  virtual std::size_t SqlParts() const = 0;
  /// SQL of part `part`'s rows with the part index as `part_column` and the row number within the
  /// part as `row_column`, preceded by every column when `all_columns`. `part_rows_in_order` is
  /// set when the rows come out in row-number order without sorting.
  virtual std::string NumberedPartSql(const Connection& connection, std::size_t part,
                                      const std::string& part_column, const std::string& row_column,
                                      bool all_columns, bool& part_rows_in_order) const = 0;
  /// What a failed read is reported as.
  virtual std::string ReadErrorContext() const = 0;

 protected:
  std::vector<ColumnInfo> columns_;
  std::vector<std::vector<std::string>> column_types_;
};

/// Resolves the files of `spec` and reads their schemas (file_source.cpp). CSV files are read once
/// whole, with `ctx`'s threads and memory limit, to type their columns (na_values, non_numeric).
std::shared_ptr<ColumnSource> OpenFileSource(const InputSpec& spec, const Context& ctx);
/// Checks `table` (names, types, sizes), wraps it and gives its columns their roles from `roles`
/// (memory_source.cpp).
std::shared_ptr<ColumnSource> OpenMemorySource(MemoryTable table, const InputSpec& roles);

/// How messages about roles name the input.
struct RoleNames {
  std::vector<std::string> first_seen;  ///< per column, the input it was first seen in
  std::string not_in;                   ///< "column X named in ... is not in <not_in>"
  std::string first;                    ///< the input whose first columns n_metadata_cols counts
  std::string whole;                    ///< "<whole> has no numeric descriptor column"
};

/// Gives every column its role from `spec` (metadata_columns, n_metadata_cols,
/// descriptor_columns; otherwise numeric columns are descriptors, the others metadata).
/// @throws InvalidInput naming the column and the option, or when no descriptor is left.
void AssignRoles(std::vector<ColumnInfo>& columns, const InputSpec& spec, const RoleNames& names);

/// The path to hand DuckDB for the existing file `path`, so that it reads exactly that file.
/// DuckDB expands '*', '?' and '[' in any path as a glob ("g[1].parquet" reads "g1.parquet"), and
/// '~' at the start as the home directory: glob characters become one-character classes
/// ("[*]", "[?]", "[[]") and a leading '~' gets "./". Paths without them are returned unchanged.
/// @throws InvalidInput for a path that DuckDB cannot name exactly: a backslash (a path separator
/// in DuckDB's globbing) together with a glob character.
std::string DuckDbFilePath(const std::string& path);
/// The path to hand DuckDB's COPY ... TO for writing `path`: DuckDB does not glob it, but takes a
/// leading '~' as the home directory (a leading '~' gets "./").
std::string DuckDbWritePath(const std::string& path);
/// The options of DuckDB's COPY ... TO for `format` ("FORMAT parquet, COMPRESSION zstd", ...).
std::string CopyFormatOptions(OutputFormat format);
/// QuoteLiteral(DuckDbFilePath(path)): the SQL literal for the existing file `path`.
std::string FileLiteral(const std::string& path);

/// DuckDB type names that descpipe treats as numeric descriptors.
bool IsNumericType(const std::string& duckdb_type);

/// "CAST("a" AS DOUBLE), ..."; columns for which `present(name)` is false read as NULL.
template <typename Present>
std::string DoubleSelectList(const std::vector<std::string>& columns, Present present) {
  std::string select;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) select += ", ";
    select += present(columns[i]) ? "CAST(" + QuoteIdentifier(columns[i]) + " AS DOUBLE)"
                                  : std::string("CAST(NULL AS DOUBLE)");
  }
  return select;
}

}  // namespace descpipe::io
