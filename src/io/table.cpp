#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "descpipe/error.hpp"
#include "common/text.hpp"
#include "descpipe/table.hpp"
#include "io/duckdb_handles.hpp"
#include "io/table_impl.hpp"

namespace descpipe {
namespace fs = std::filesystem;

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteLiteral(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

namespace io {

bool IsNumericType(const std::string& type) {
  static const std::set<std::string> kNumeric = {
      "BOOLEAN", "TINYINT",  "SMALLINT",  "INTEGER", "BIGINT",  "HUGEINT", "UTINYINT",
      "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE"};
  return kNumeric.count(type) > 0 || type.rfind("DECIMAL", 0) == 0;
}

std::string TableFunctionSql(const std::vector<InputFile>& files, FileFormat format) {
  std::string list = "[";
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i > 0) list += ", ";
    list += QuoteLiteral(files[i].path);
  }
  list += "]";
  if (format == FileFormat::kParquet) {
    return fmt::format("read_parquet({}, union_by_name = true)", list);
  }
  return fmt::format("read_csv({}, union_by_name = true, header = true)", list);
}

}  // namespace io

namespace {

bool HasGlobChars(const std::string& pattern) {
  return pattern.find_first_of("*?[") != std::string::npos;
}

bool FormatFromPath(const std::string& path, FileFormat& format) {
  const std::string name = AsciiLower(fs::path(path).filename().string());
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".parquet") || ends_with(".pq") || ends_with(".parq")) {
    format = FileFormat::kParquet;
    return true;
  }
  if (ends_with(".csv") || ends_with(".tsv") || ends_with(".csv.gz") || ends_with(".tsv.gz")) {
    format = FileFormat::kCsv;
    return true;
  }
  return false;
}

std::vector<std::string> ResolvePatterns(const std::vector<std::string>& patterns,
                                         const io::Connection& connection) {
  DESCPIPE_EXPECTS(!patterns.empty(), "no input given: name Parquet/CSV files, directories or globs");
  std::vector<std::string> paths;
  std::set<std::string> seen;
  auto add = [&](const std::string& path) {
    if (seen.insert(path).second) paths.push_back(path);
  };
  for (const auto& pattern : patterns) {
    std::error_code ec;
    if (fs::is_regular_file(pattern, ec)) {
      add(pattern);
    } else if (fs::is_directory(pattern, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(pattern, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        FileFormat format;
        if (it->is_regular_file() && FormatFromPath(it->path().string(), format)) {
          found.push_back(it->path().string());
        }
      }
      if (ec) throw IoError(fmt::format("cannot list directory '{}': {}", pattern, ec.message()));
      DESCPIPE_EXPECTS(!found.empty(), "directory '{}' holds no .parquet or .csv file", pattern);
      std::sort(found.begin(), found.end());
      for (const auto& path : found) add(path);
    } else if (HasGlobChars(pattern)) {
      io::Result result;
      io::Query(connection, fmt::format("SELECT file FROM glob({}) ORDER BY file", QuoteLiteral(pattern)),
                result, fmt::format("expanding '{}'", pattern));
      DESCPIPE_EXPECTS(result.rows() > 0, "no file matches '{}'", pattern);
      for (idx_t row = 0; row < result.rows(); ++row) add(result.Text(0, row));
    } else {
      throw InvalidInput(fmt::format("input '{}' does not exist", pattern));
    }
  }
  return paths;
}

struct FileSchema {
  std::vector<std::string> names;
  std::vector<std::string> types;
};

FileSchema ReadFileSchema(InputFile& file, const io::Connection& connection) {
  const std::string kind = file.format == FileFormat::kParquet ? "Parquet" : "CSV";
  const std::string context = fmt::format("cannot read {} file '{}'", kind, file.path);
  const std::string source = file.format == FileFormat::kParquet
                                 ? fmt::format("read_parquet({})", QuoteLiteral(file.path))
                                 : fmt::format("read_csv({}, header = true)", QuoteLiteral(file.path));
  FileSchema schema;
  io::Result described;
  io::Query(connection, "DESCRIBE SELECT * FROM " + source, described, context);
  for (idx_t row = 0; row < described.rows(); ++row) {
    schema.names.push_back(described.Text(0, row));
    schema.types.push_back(described.Text(1, row));
  }
  // DuckDB renames duplicate names ("a" -> "a_1"), so read the raw names to detect duplicates.
  std::vector<std::string> raw_names;
  io::Result raw;
  if (file.format == FileFormat::kParquet) {
    io::Query(connection,
              fmt::format("SELECT name FROM parquet_schema({}) WHERE name IS NOT NULL",
                          QuoteLiteral(file.path)),
              raw, context);
    // Row 0 is the schema root; nested children would follow their parent, flat files only have
    // top-level columns.
    for (idx_t row = 1; row < raw.rows(); ++row) raw_names.push_back(raw.Text(0, row));
    if (raw_names.size() != schema.names.size()) raw_names = schema.names;  // nested: skip check
  } else {
    // descpipe reads the header from the first line. DuckDB's sniffer may instead skip lines as a
    // preamble (when the delimiter changes within the file, or the header uses another one) and
    // take a data row as the header: the run would silently lose rows and misname columns.
    io::Result sniffed;
    io::Query(connection,
              fmt::format("SELECT SkipRows, Delimiter FROM sniff_csv({})", QuoteLiteral(file.path)),
              sniffed, context);
    if (sniffed.rows() > 0) {
      const std::int64_t skipped = sniffed.Int(0, 0);
      DESCPIPE_EXPECTS(skipped == 0,
                       "'{}': DuckDB's CSV detection skips the first {} line{} (it found the delimiter "
                       "'{}' below them), so a data row would be taken as the header; make every line, "
                       "the header included, use the same delimiter",
                       file.path, skipped, skipped == 1 ? "" : "s", sniffed.Text(1, 0));
    }
    // The header line and the first data row, if any.
    io::Query(connection,
              fmt::format("SELECT * FROM read_csv({}, header = false, all_varchar = true) LIMIT 2",
                          QuoteLiteral(file.path)),
              raw, context);
    // Checked here, before types are compared: a CSV without data rows has only VARCHAR columns.
    DESCPIPE_EXPECTS(raw.rows() == 2, "'{}' has zero rows{}", file.path,
                     raw.rows() == 1 ? " (only a header line)" : "");
    const idx_t n = duckdb_column_count(raw.get());
    for (idx_t column = 0; column < n; ++column) raw_names.push_back(raw.Text(column, 0));
  }
  std::set<std::string> unique;
  for (const auto& name : raw_names) {
    // Outputs list names one per line (pass1_columns.txt).
    DESCPIPE_EXPECTS(name.find_first_of("\r\n") == std::string::npos,
                     "file '{}' has a column name with a line break (\"{}\"): rename it", file.path, name);
    DESCPIPE_EXPECTS(unique.insert(name).second, "file '{}' has more than one column named \"{}\"",
                     file.path, name);
  }
  if (file.format == FileFormat::kParquet) {
    io::Result rows;
    io::Query(connection,
              fmt::format("SELECT num_rows FROM parquet_file_metadata({})", QuoteLiteral(file.path)),
              rows, context);
    file.row_count = rows.rows() > 0 ? rows.Int(0, 0) : -1;
  }
  return schema;
}

}  // namespace

Table Table::Open(const InputSpec& spec, const Context& ctx) {
  (void)ctx;
  auto impl = std::make_shared<Impl>();
  impl->union_by_name = spec.union_by_name;
  io::Database database(1);
  io::Connection connection(database);

  const std::vector<std::string> paths = ResolvePatterns(spec.patterns, connection);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    InputFile file;
    file.path = paths[i];
    DESCPIPE_EXPECTS(FormatFromPath(file.path, file.format),
                     "cannot tell the format of '{}' from its name: use .parquet or .csv", file.path);
    if (i == 0) {
      impl->format = file.format;
    } else {
      DESCPIPE_EXPECTS(file.format == impl->format,
                       "inputs mix Parquet and CSV ('{}' and '{}'): convert them to one format",
                       paths[0], file.path);
    }
    struct stat info {};
    if (::stat(file.path.c_str(), &info) != 0) {
      throw IoError(fmt::format("cannot stat '{}'", file.path));
    }
    file.size_bytes = static_cast<std::uint64_t>(info.st_size);
    file.mtime_ns = static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
    impl->files.push_back(file);
  }

  // Union of the schemas, first-seen order; per column, which files have it.
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::vector<bool>> present;
  std::vector<std::string> type_source;
  for (std::size_t file_idx = 0; file_idx < impl->files.size(); ++file_idx) {
    InputFile& file = impl->files[file_idx];
    const FileSchema schema = ReadFileSchema(file, connection);
    impl->file_columns.push_back(schema.names);
    std::sort(impl->file_columns.back().begin(), impl->file_columns.back().end());
    for (std::size_t c = 0; c < schema.names.size(); ++c) {
      const std::string& name = schema.names[c];
      const bool numeric = io::IsNumericType(schema.types[c]);
      auto it = index.find(name);
      if (it == index.end()) {
        index.emplace(name, impl->columns.size());
        impl->columns.push_back({name, schema.types[c], numeric, ColumnRole::kIgnored});
        present.emplace_back(impl->files.size(), false);
        type_source.push_back(file.path);
        it = index.find(name);
      } else {
        ColumnInfo& info = impl->columns[it->second];
        DESCPIPE_EXPECTS(info.numeric == numeric,
                         "column \"{}\" has type {} in '{}' but {} in '{}'", name, info.type,
                         type_source[it->second], schema.types[c], file.path);
        if (info.type != schema.types[c]) info.type = numeric ? "DOUBLE" : info.type;
      }
      present[it->second][file_idx] = true;
    }
  }
  DESCPIPE_EXPECTS(!impl->columns.empty(), "'{}' has no columns", impl->files.front().path);

  // Roles.
  auto find_column = [&](const std::string& name, const char* option) -> std::size_t {
    auto it = index.find(name);
    DESCPIPE_EXPECTS(it != index.end(), "column \"{}\" named in {} is not in {}", name, option,
                     impl->files.size() == 1 ? "'" + impl->files[0].path + "'" : "any input file");
    return it->second;
  };
  std::vector<bool> is_metadata(impl->columns.size(), false);
  if (!spec.metadata_columns.empty()) {
    for (const auto& name : spec.metadata_columns) is_metadata[find_column(name, "metadata_columns")] = true;
  } else if (spec.n_metadata_cols.has_value()) {
    const int n = *spec.n_metadata_cols;
    DESCPIPE_EXPECTS(n >= 0 && static_cast<std::size_t>(n) <= impl->columns.size(),
                     "n_metadata_cols = {} but '{}' has {} columns", n, impl->files[0].path,
                     impl->columns.size());
    for (int c = 0; c < n; ++c) is_metadata[c] = true;
  } else {
    for (std::size_t c = 0; c < impl->columns.size(); ++c) is_metadata[c] = !impl->columns[c].numeric;
  }
  if (!spec.descriptor_columns.empty()) {
    std::set<std::string> chosen;
    for (const auto& name : spec.descriptor_columns) {
      const std::size_t c = find_column(name, "descriptor_columns");
      const ColumnInfo& info = impl->columns[c];
      DESCPIPE_EXPECTS(info.numeric, "column \"{}\" in '{}' has type {}; descriptors must be numeric",
                       name, type_source[c], info.type);
      DESCPIPE_EXPECTS(!is_metadata[c] || spec.metadata_columns.empty(),
                       "column \"{}\" is listed both as metadata and as a descriptor", name);
      DESCPIPE_EXPECTS(chosen.insert(name).second, "column \"{}\" is listed twice in descriptor_columns", name);
    }
    for (std::size_t c = 0; c < impl->columns.size(); ++c) {
      impl->columns[c].role = chosen.count(impl->columns[c].name) ? ColumnRole::kDescriptor
                              : is_metadata[c]                   ? ColumnRole::kMetadata
                                                                 : ColumnRole::kIgnored;
    }
  } else {
    for (std::size_t c = 0; c < impl->columns.size(); ++c) {
      impl->columns[c].role = is_metadata[c]            ? ColumnRole::kMetadata
                              : impl->columns[c].numeric ? ColumnRole::kDescriptor
                                                         : ColumnRole::kIgnored;
    }
  }
  std::size_t n_descriptors = 0;
  std::size_t n_metadata = 0;
  for (const auto& column : impl->columns) {
    n_descriptors += column.role == ColumnRole::kDescriptor;
    n_metadata += column.role == ColumnRole::kMetadata;
  }
  DESCPIPE_EXPECTS(n_descriptors > 0,
                   "{} has no numeric descriptor column ({} columns, {} of them metadata)",
                   impl->files.size() == 1 ? "'" + impl->files[0].path + "'" : "the input",
                   impl->columns.size(), n_metadata);

  // Every used column must be in every file unless union_by_name.
  if (!spec.union_by_name) {
    for (std::size_t c = 0; c < impl->columns.size(); ++c) {
      if (impl->columns[c].role == ColumnRole::kIgnored) continue;
      for (std::size_t file_idx = 0; file_idx < impl->files.size(); ++file_idx) {
        DESCPIPE_EXPECTS(present[c][file_idx],
                         "column \"{}\" is missing from '{}' (present in '{}'); set union_by_name: "
                         "true to read it as missing values there",
                         impl->columns[c].name, impl->files[file_idx].path, type_source[c]);
      }
    }
  }
  const std::int64_t rows = [&] {
    std::int64_t total = 0;
    for (const auto& file : impl->files) {
      if (file.row_count < 0) return std::int64_t{-1};
      total += file.row_count;
    }
    return total;
  }();
  DESCPIPE_EXPECTS(rows != 0, "{} has zero rows",
                   impl->files.size() == 1 ? "'" + impl->files[0].path + "'" : "the input");

  Table table;
  table.impl_ = std::move(impl);
  return table;
}

const std::vector<InputFile>& Table::files() const { return impl_->files; }
FileFormat Table::format() const { return impl_->format; }
const std::vector<ColumnInfo>& Table::columns() const { return impl_->columns; }
bool Table::union_by_name() const { return impl_->union_by_name; }

std::vector<std::string> Table::descriptor_names() const {
  std::vector<std::string> names;
  for (const auto& column : impl_->columns) {
    if (column.role == ColumnRole::kDescriptor) names.push_back(column.name);
  }
  return names;
}

std::vector<std::string> Table::metadata_names() const {
  std::vector<std::string> names;
  for (const auto& column : impl_->columns) {
    if (column.role == ColumnRole::kMetadata) names.push_back(column.name);
  }
  return names;
}

std::int64_t Table::known_row_count() const {
  std::int64_t total = 0;
  for (const auto& file : impl_->files) {
    if (file.row_count < 0) return -1;
    total += file.row_count;
  }
  return total;
}

bool Table::FileHasColumn(std::size_t file_idx, const std::string& name) const {
  const auto& names = impl_->file_columns.at(file_idx);
  return std::binary_search(names.begin(), names.end(), name);
}

std::vector<ScanPartition> Table::Partitions() const {
  std::vector<ScanPartition> partitions;
  if (impl_->format != FileFormat::kParquet) {
    partitions.push_back(ScanPartition{});
    return partitions;
  }
  std::uint64_t global = 0;
  for (std::size_t file_idx = 0; file_idx < impl_->files.size(); ++file_idx) {
    partitions.push_back(ScanPartition{static_cast<std::int64_t>(file_idx), global});
    global += static_cast<std::uint64_t>(impl_->files[file_idx].row_count);
  }
  return partitions;
}

std::string Table::Describe() const {
  const auto& files = impl_->files;
  if (files.size() == 1) return "'" + files[0].path + "'";
  return fmt::format("{} {} files ('{}', ...)", files.size(),
                     impl_->format == FileFormat::kParquet ? "Parquet" : "CSV", files[0].path);
}

}  // namespace descpipe
