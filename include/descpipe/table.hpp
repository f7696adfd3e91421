// Tabular input: a table of named columns from files (Parquet, CSV; read through DuckDB) or from
// memory the caller holds, its columns classified into metadata and descriptors, and descriptor
// columns streamed in fixed-size batches. duckdb.h never appears in this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/enum_names.hpp"

namespace descpipe {

enum class FileFormat { kParquet, kCsv };

/// What a CSV descriptor column does with a value that is neither a number nor one of `na_values`
/// (a text token such as "error" among numbers): docs/CONFIG.md, "CSV input".
enum class NonNumericPolicy {
  kError,     ///< refuse the input, naming the file, column, line and value
  kMissing,   ///< read such values as missing (one warning per column, with the count)
  kMetadata,  ///< make the whole column metadata (one warning per column)
};
inline const EnumNames<NonNumericPolicy>& NamesOf(NonNumericPolicy) {
  static const EnumNames<NonNumericPolicy> names = {{"error", NonNumericPolicy::kError},
                                                    {"missing", NonNumericPolicy::kMissing},
                                                    {"metadata", NonNumericPolicy::kMetadata}};
  return names;
}

/// The CSV field values read as missing unless `na_values` is set: the empty field, R's and
/// pandas' spellings (NA, NaN, nan, N/A, null, NULL) and the spreadsheet error markers
/// (#N/A, #DIV/0!, #VALUE!, #REF!, #NAME?, #NUM!, #NULL!).
const std::vector<std::string>& DefaultNaValues();

/// What the user asked to read.
struct InputSpec {
  /// Files, directories (every *.parquet / *.csv inside, recursively) and glob patterns.
  std::vector<std::string> patterns;
  /// Read a column missing from some files as missing values instead of failing.
  bool union_by_name = false;
  /// Explicit metadata columns; when empty, `n_metadata_cols` or non-numeric columns decide.
  std::vector<std::string> metadata_columns;
  /// The first N columns are metadata (the original tool's option).
  std::optional<int> n_metadata_cols;
  /// Explicit descriptor columns; when empty, every numeric non-metadata column.
  std::vector<std::string> descriptor_columns;
  /// CSV only: field values read as missing (matched exactly, quoted or not).
  std::vector<std::string> na_values = DefaultNaValues();
  /// CSV only: what a mostly numeric column does with its other values (NonNumericPolicy).
  NonNumericPolicy non_numeric = NonNumericPolicy::kError;
};

struct InputFile {
  std::string path;
  FileFormat format = FileFormat::kParquet;
  std::uint64_t size_bytes = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t row_count = -1;  ///< from Parquet metadata; -1 when unknown (CSV)
};

/// A part of the table that can be scanned on its own: one Parquet file, or (`file_idx` < 0)
/// the whole table in one stream (CSV inputs, whose row counts are unknown in advance).
struct ScanPartition {
  std::int64_t file_idx = -1;
  std::uint64_t first_global_row = 0;  ///< index of the partition's first row over all files
};

enum class ColumnRole { kMetadata, kDescriptor, kIgnored };

struct ColumnInfo {
  std::string name;
  std::string type;  ///< DuckDB type name, e.g. "DOUBLE", "DECIMAL(18,3)", "VARCHAR"
  bool numeric = false;
  ColumnRole role = ColumnRole::kIgnored;
};

/// The element type of a column held in memory.
enum class MemoryType {
  kFloat64,
  kFloat32,
  kInt64,
  kInt32,
  kInt16,
  kInt8,
  kUInt64,
  kUInt32,
  kUInt16,
  kUInt8,
  kBool,  ///< one byte per value, 0 or 1
  kText,  ///< `const std::string*`: metadata only
};

/// A column held in memory by the caller: `n_rows` contiguous values of `type` at `data`.
struct MemoryColumn {
  std::string name;
  MemoryType type = MemoryType::kFloat64;
  const void* data = nullptr;
  /// Optional: 1 marks a missing value (SQL NULL); nullptr when none is missing. A NaN in a
  /// float column is a NaN, as in Parquet.
  const std::uint8_t* is_null = nullptr;
  /// Bytes from one value to the next (a column of a row-major NumPy matrix is strided);
  /// 0: packed (MemoryTypeBytes). A strided float64 column is copied batch by batch, not read in
  /// place. Text columns are always packed.
  std::size_t stride = 0;
};

/// A table held in memory (a Python caller's DataFrame): named columns of equal length. Float64
/// columns are read where they lie, never copied; other numeric types are converted batch by batch.
/// The buffers must stay unchanged while any Table made from it lives: `owner` keeps them alive.
struct MemoryTable {
  std::string name = "in-memory table";  ///< for messages: "in-memory table 'df'"
  std::size_t n_rows = 0;
  std::vector<MemoryColumn> columns;
  std::shared_ptr<const void> owner;
};

const char* MemoryTypeName(MemoryType type);   ///< DuckDB's name for it: "DOUBLE", "VARCHAR", ...
std::size_t MemoryTypeBytes(MemoryType type);  ///< bytes per value (sizeof(std::string) for text)

namespace io {
class ColumnSource;
}

/// A table, from files or from memory, with its columns' roles. Cheap to copy (shared state).
class Table {
 public:
  /// Resolves `spec`, reads every file's schema and classifies columns.
  /// @throws InvalidInput / IoError naming the file and column on any problem.
  static Table Open(const InputSpec& spec, const Context& ctx);
  /// Wraps a table held in memory; `roles` classifies its columns as for files (its `patterns`
  /// must be empty). Text columns can only be metadata.
  /// @throws InvalidInput naming the column on any problem (duplicate names, lengths, types).
  static Table FromMemory(MemoryTable table, const InputSpec& roles, const Context& ctx);

  /// The input files in input order; empty for a table in memory.
  const std::vector<InputFile>& files() const;
  /// The table in memory; nullptr for files.
  const MemoryTable* memory() const;
  /// Every column in first-seen order (first file first).
  const std::vector<ColumnInfo>& columns() const;
  std::vector<std::string> descriptor_names() const;
  std::vector<std::string> metadata_names() const;
  /// Sum of the files' row counts, or -1 when some count is unknown (CSV).
  std::int64_t known_row_count() const;
  /// "'data/x.parquet'", "3 Parquet files ('data/a.parquet', ...)" or "in-memory table 'df'",
  /// for messages.
  std::string Describe() const;
  /// Splits the table into independently scannable partitions, in input order: one per Parquet
  /// file, a single one for CSV inputs or a table in memory. The split depends only on the input,
  /// never on the thread count.
  std::vector<ScanPartition> Partitions() const;
  /// Rows of `partition`, or -1 when unknown before a scan (CSV).
  std::int64_t PartitionRows(const ScanPartition& partition) const;
  /// Rows of the largest partition, or a row group's worth when unknown (memory models).
  double LargestPartitionRows() const;
  /// Bytes a scan of `columns` columns over a partition of `partition_rows` rows holds besides
  /// its batches (DuckDB's buffers for files, nothing for memory).
  double ScanBufferBytes(double columns, double partition_rows, double prefetch) const;

  /// This table with `names` (descriptor or ignored columns) made metadata: the same columns and
  /// rows, other roles (the target and the identifier columns of a run). Cheap: no data is read.
  /// @throws InvalidInput when a name is not a column, or when no descriptor would be left.
  Table WithMetadata(const std::vector<std::string>& names) const;

  const io::ColumnSource& source() const { return *source_; }

 private:
  std::shared_ptr<const io::ColumnSource> source_;
};

/// A block of rows of some columns: `column(c)[r]` is the value of column `c` at row `r` and
/// `nulls(c)[r]` is 1 for SQL NULL (the value is then NaN). The columns point into the batch's own
/// buffers (decoded values, column-major with stride `capacity`) or, for float64 columns of a
/// table in memory, into the caller's memory.
struct ColumnBatch {
  std::size_t n_rows = 0;
  std::size_t n_columns = 0;
  std::size_t capacity = 0;
  std::uint64_t first_row = 0;  ///< global index (over all files) of row 0 of this batch
  std::vector<double> values;
  std::vector<std::uint8_t> is_null;
  std::vector<const double*> column_data;
  std::vector<const std::uint8_t*> null_data;

  const double* column(std::size_t column_idx) const { return column_data[column_idx]; }
  const std::uint8_t* nulls(std::size_t column_idx) const { return null_data[column_idx]; }
  /// Sizes the buffers for `n_cols` columns of `rows` rows (kept when they fit) and points every
  /// column at them.
  void Reset(std::size_t n_cols, std::size_t rows);
};

/// Streams columns of a Table as DOUBLE in batches of exactly `batch_rows` rows (the last may be
/// shorter), in input order. Batch boundaries depend only on the row count, never on threads, so
/// anything computed per batch is reproducible. A background thread decodes the next batches
/// (DuckDB with one thread: DuckDB's multi-threaded streaming results are several times slower
/// than one thread, see docs/PERFORMANCE.md) while the caller works on the current one.
/// Memory: `prefetch + 1` batches plus DuckDB's scan buffers.
class ColumnReader {
 public:
  /// Reads every row of the table.
  ColumnReader(const Table& table, const std::vector<std::string>& columns, std::size_t batch_rows,
               std::size_t prefetch = 2);
  /// Reads one partition only; batch boundaries count from the partition's first row.
  ColumnReader(const Table& table, const std::vector<std::string>& columns,
               const ScanPartition& partition, std::size_t batch_rows, std::size_t prefetch = 2);
  ~ColumnReader();
  ColumnReader(const ColumnReader&) = delete;
  ColumnReader& operator=(const ColumnReader&) = delete;

  /// Fills `batch` with the next rows (swapping buffers with it); returns false when the input
  /// is exhausted. @throws IoError when DuckDB fails to read (truncated file, bad value).
  bool Next(ColumnBatch& batch);
  /// Rows handed out by Next so far.
  std::uint64_t rows_read() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Rows per batch for streaming `n_columns` columns: about 16 MiB per batch, 1024..16384 rows.
std::size_t DefaultBatchRows(std::size_t n_columns);

struct SampleSpec {
  std::int64_t rows = 0;      ///< one sample of this many rows over all inputs (0: off)
  std::int64_t per_file = 0;  ///< this many rows from each file (0: off)
  std::uint64_t seed = 42;
};

/// The formats `descpipe apply` and `descpipe sample` write.
enum class OutputFormat {
  kParquet,  ///< Parquet, zstd
  kCsv,      ///< CSV with a header line, ',' between fields, '"' quotes; missing values empty
  kCsvGzip,  ///< the same CSV, gzip-compressed
};

/// The format of the output file `path`, from its extension (case-insensitive): ".parquet" (also
/// ".pq", ".parq"), ".csv" or ".csv.gz".
/// @throws InvalidInput naming the path and listing the accepted extensions for any other name.
OutputFormat OutputFormatOf(const std::string& path);

/// Pass 0: writes a reproducible row sample with every column to `out_path`, in the format of its
/// extension (OutputFormatOf: Parquet or CSV), through a temporary file renamed at the end. A row
/// is chosen by a keyed hash of (seed, file, row number), so the same inputs and seed give the same
/// rows whatever the thread count.
/// @returns the number of rows written.
std::int64_t WriteSample(const Table& table, const SampleSpec& spec, const std::string& out_path,
                         const Context& ctx);

/// Writes `columns` of every row of `table` (input order of files and rows) to `out_path` in the
/// format of its extension (OutputFormatOf: Parquet with zstd, CSV, gzip-compressed CSV), through
/// DuckDB and a temporary file renamed at the end. Throws InvalidInput when
/// `out_path` is one of the inputs. @returns the number of rows written.
std::int64_t WriteColumns(const Table& table, const std::vector<std::string>& columns,
                          const std::string& out_path, const Context& ctx);

/// Warns (one log line per column) about descriptors whose conversion to DOUBLE merges distinct
/// values: integers beyond 2^53 (BIGINT, UBIGINT, HUGEINT, UHUGEINT) and DECIMALs of more than 15
/// digits. `max_abs[i]` is the largest |value| of `columns[i]` as read (DOUBLE; Pass 1's min and
/// max). A column whose values all lie where DOUBLE is exact (|x| < 2^53; DECIMAL(w, s) with
/// w <= 15 or |x| < 10^(15 - s)) costs nothing, and so does a NaN (no valid value); the others are
/// checked by one DuckDB query over just those columns, which counts their distinct values before
/// and after the conversion. @returns the warnings logged, one per column that merges values.
std::vector<std::string> WarnAboutMergedValues(const Table& table,
                                               const std::vector<std::string>& columns,
                                               const std::vector<double>& max_abs,
                                               const Context& ctx);

/// An integer column taken for a row identifier (a compound number, a row index) rather than a
/// descriptor.
struct IdColumn {
  std::string name;
  std::string reason;  ///< "all 77 values distinct and consecutive", "named like an identifier"
};

/// Whether `name` is named like a row identifier (case-insensitive): id, cid, sid, index, idx,
/// original_index, row, rowid, row_id, row_number, rownum, names ending in _id, _idx or _index,
/// and the index columns pandas writes ("Unnamed: 0", "__index_level_0__").
bool IsIdentifierName(const std::string& name);

/// The columns among `candidates` (numeric columns of `table`) that look like row identifiers:
/// their values are all integral (NULL allowed) and either their name is an identifier's
/// (IsIdentifierName), or the table has at least kMinIdentifierRows rows and every value is
/// present, distinct and strictly increasing, strictly decreasing or consecutive (max - min + 1 =
/// rows). Cost: one read of the first 1,024 rows of the candidates (where most of them fail: a
/// repeated or fractional value, or a range too narrow for distinct values), then one read of every
/// row of the few left (and a bitmap of max - min + 1 bits for a consecutive column out of order).
/// @returns them in column order, each with the reason it was taken.
std::vector<IdColumn> FindIdColumns(const Table& table, const std::vector<std::string>& candidates,
                                    const Context& ctx);

/// Below this many rows, distinct increasing integers are no sign of an identifier (a homologous
/// series of 10 molecules has 1..10 carbons): only the name counts.
inline constexpr std::int64_t kMinIdentifierRows = 20;

/// Quotes an SQL identifier for DuckDB ("a""b").
std::string QuoteIdentifier(const std::string& name);
/// Quotes an SQL string literal for DuckDB ('it''s').
std::string QuoteLiteral(const std::string& text);

}  // namespace descpipe
