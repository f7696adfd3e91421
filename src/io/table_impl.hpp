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
};

namespace io {

/// `read_parquet([...], union_by_name = true)` or the CSV equivalent over `files`.
std::string TableFunctionSql(const std::vector<InputFile>& files, FileFormat format);

/// DuckDB type names that descpipe treats as numeric descriptors.
bool IsNumericType(const std::string& duckdb_type);

}  // namespace io
}  // namespace descpipe
