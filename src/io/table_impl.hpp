// Internal state of descpipe::Table and SQL helpers shared by the io sources.
#pragma once

#include <string>
#include <vector>

#include "descpipe/table.hpp"

namespace descpipe {

struct Table::Impl {
  std::vector<InputFile> files;
  FileFormat format = FileFormat::kParquet;
  std::vector<ColumnInfo> columns;
  bool union_by_name = false;
  /// Column names present in each file.
  std::vector<std::vector<std::string>> file_columns;
  /// Per column (as `columns`), the DuckDB types it has in the files, first-seen order.
  std::vector<std::vector<std::string>> column_types;
};

namespace io {

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
/// QuoteLiteral(DuckDbFilePath(path)): the SQL literal for the existing file `path`.
std::string FileLiteral(const std::string& path);

/// `read_parquet([...], union_by_name = true)` or the CSV equivalent over `files`.
std::string TableFunctionSql(const std::vector<InputFile>& files, FileFormat format);

/// DuckDB type names that descpipe treats as numeric descriptors.
bool IsNumericType(const std::string& duckdb_type);

}  // namespace io
}  // namespace descpipe
