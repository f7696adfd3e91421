#include "descpipe/table.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "common/text.hpp"
#include "descpipe/error.hpp"
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
      "BOOLEAN",   "TINYINT",  "SMALLINT", "INTEGER",  "BIGINT", "HUGEINT", "UTINYINT",
      "USMALLINT", "UINTEGER", "UBIGINT",  "UHUGEINT", "FLOAT",  "DOUBLE"};
  return kNumeric.count(type) > 0 || type.rfind("DECIMAL", 0) == 0;
}

std::string DuckDbWritePath(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  // DuckDB replaces a leading '~' by the home directory ("~x.parquet" is "/rootx.parquet" for
  // root), and takes a first component with ':' as a drive or URL.
  const std::string first = path.substr(0, path.find('/'));
  if (!first.empty() && (first[0] == '~' || first.find(':') != std::string::npos))
    return "./" + path;
  return path;
}

std::string DuckDbFilePath(const std::string& path) {
  constexpr const char* kGlobChars = "*?[";
  const std::string text = DuckDbWritePath(path);
  const bool absolute = !text.empty() && text[0] == '/';
  // DuckDB takes the first component of an absolute path as it is (it never globs it) and
  // matches the components after it; a file directly under '/' is found by DuckDB's fallback to
  // the literal path when the pattern matches nothing.
  std::size_t literal_end = 0;
  if (absolute) {
    const std::size_t first_name = text.find_first_not_of('/');
    literal_end = first_name == std::string::npos ? text.size() : text.find('/', first_name);
    if (literal_end == std::string::npos) return text;
  }
  if (text.find_first_of(kGlobChars, literal_end) == std::string::npos) return text;
  // DuckDB's globbing splits paths at '\' as well as '/': no pattern matches a name with a
  // backslash, and the literal fallback applies only when the pattern matches nothing.
  DESCPIPE_EXPECTS(
      text.find('\\', literal_end) == std::string::npos,
      "cannot read '{}' exactly: DuckDB takes a path with '*', '?' or '[' as a pattern "
      "and a backslash as a path separator; rename the file",
      path);
  std::string escaped = text.substr(0, literal_end);
  for (std::size_t pos = literal_end; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == '*' || c == '?' || c == '[') {
      escaped += '[';
      escaped += c;
      escaped += ']';
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string FileLiteral(const std::string& path) { return QuoteLiteral(DuckDbFilePath(path)); }

std::string TableFunctionSql(const std::vector<InputFile>& files, FileFormat format) {
  std::string list = "[";
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i > 0) list += ", ";
    list += FileLiteral(files[i].path);
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

/// What stat() says a path is, in words.
const char* FileTypeName(mode_t mode) {
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "neither a file nor a directory";
}

/// stat()s `path`, following symlinks: true for a regular file or a directory (described in
/// `info`), false when nothing is there. Anything else throws naming the path: it is never
/// opened, so a named pipe cannot block the run.
bool StatInput(const std::string& path, struct stat& info) {
  if (::stat(path.c_str(), &info) == 0) {
    DESCPIPE_EXPECTS(S_ISREG(info.st_mode) || S_ISDIR(info.st_mode),
                     "input '{}' is not a regular file ({}): descpipe reads Parquet and CSV files",
                     path, FileTypeName(info.st_mode));
    return true;
  }
  const int error = errno;
  struct stat link {};
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
        std::error_code ec;
        const std::string target = fs::read_symlink(path, ec).string();
        throw InvalidInput(
            fmt::format("input '{}' is a dangling symlink: its target '{}' does not exist", path,
                        ec ? std::string("?") : target));
      }
      return false;
    case ELOOP:
      throw InvalidInput(fmt::format(
          "input '{}' cannot be resolved: symlink loop (too many levels of symbolic links)", path));
    case EACCES:
      throw IoError(fmt::format(
          "cannot access input '{}': permission denied (a directory on its path is not searchable)",
          path));
    default:
      throw IoError(fmt::format("cannot access input '{}': {}", path, std::strerror(error)));
  }
}

/// Throws naming `path` when the regular file `path` cannot be opened for reading.
void CheckReadable(const std::string& path) {
  // O_NONBLOCK: should the file have been replaced by a named pipe since stat(), do not wait.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    throw IoError(
        fmt::format("cannot read '{}': {}", path,
                    error == EACCES ? std::string("permission denied") : std::strerror(error)));
  }
  ::close(fd);
}

/// An input file: its path as first named, and what stat() says of it.
struct ResolvedFile {
  std::string path;
  struct stat info {};
};

/// Expands files, directories and globs into regular files, in the order given. A file named more
/// than once (two spellings, a symlink, a directory and a glob that overlap) is read once, where
/// it is first named: files are identified by (device, inode), never by their names.
std::vector<ResolvedFile> ResolvePatterns(const std::vector<std::string>& patterns,
                                          const io::Connection& connection) {
  DESCPIPE_EXPECTS(!patterns.empty(),
                   "no input given: name Parquet/CSV files, directories or globs");
  std::vector<ResolvedFile> files;
  std::map<std::pair<dev_t, ino_t>, std::size_t> seen;
  auto add = [&](const std::string& path, const struct stat& info) {
    const auto [it, inserted] =
        seen.emplace(std::make_pair(info.st_dev, info.st_ino), files.size());
    if (inserted) {
      files.push_back({path, info});
      return;
    }
    const std::string& first = files[it->second].path;
    if (path == first) {
      spdlog::info("input '{}' is named more than once: read once", path);
    } else {
      spdlog::info("input '{}' is the same file as '{}': read once", path, first);
    }
  };
  // A file listed in a directory or matched by a glob: a regular file is added, a directory
  // skipped (false), anything else is an error naming it.
  auto add_listed = [&](const std::string& path) {
    struct stat info {};
    if (!StatInput(path, info)) {
      throw IoError(fmt::format("input '{}' disappeared while the inputs were listed", path));
    }
    if (S_ISDIR(info.st_mode)) return false;
    add(path, info);
    return true;
  };
  for (const auto& pattern : patterns) {
    struct stat info {};
    if (StatInput(pattern, info)) {
      if (S_ISREG(info.st_mode)) {  // a path that exists is that file, glob characters or not
        add(pattern, info);
        continue;
      }
      std::vector<std::string> found;
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(pattern, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        FileFormat format;
        if (FormatFromPath(it->path().string(), format)) found.push_back(it->path().string());
      }
      if (ec) throw IoError(fmt::format("cannot list directory '{}': {}", pattern, ec.message()));
      std::sort(found.begin(), found.end());
      std::size_t n_files = 0;
      for (const auto& path : found) n_files += add_listed(path);
      DESCPIPE_EXPECTS(n_files > 0, "directory '{}' holds no .parquet or .csv file", pattern);
    } else if (HasGlobChars(pattern)) {
      io::Result result;
      io::Query(connection,
                fmt::format("SELECT file FROM glob({}) ORDER BY file", QuoteLiteral(pattern)),
                result, fmt::format("expanding '{}'", pattern));
      std::size_t n_files = 0;
      for (idx_t row = 0; row < result.rows(); ++row) n_files += add_listed(result.Text(0, row));
      DESCPIPE_EXPECTS(n_files > 0, "no file matches '{}'", pattern);
    } else {
      throw InvalidInput(fmt::format("input '{}' does not exist", pattern));
    }
  }
  return files;
}

struct FileSchema {
  std::vector<std::string> names;
  std::vector<std::string> types;
};

/// The fields of one CSV line split at `delimiter`, with '"' quoting ("a,""b""" is one field).
std::vector<std::string> SplitCsvLine(const std::string& line, char delimiter) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (std::size_t pos = 0; pos < line.size(); ++pos) {
    const char c = line[pos];
    if (c == '"') {
      if (quoted && pos + 1 < line.size() && line[pos + 1] == '"') {
        fields.back() += '"';
        ++pos;
      } else {
        quoted = !quoted;
      }
    } else if (c == delimiter && !quoted) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  return fields;
}

/// DuckDB's CSV sniffer reads a file as one text column holding whole lines when no dialect
/// parses every sniffed row (a row with a field too many or too few): the run would then fail
/// with "no numeric descriptor column", naming neither the line nor the problem. When the header
/// line `header` splits into several fields at a usual delimiter, the file is read again with
/// that dialect and no detection, so that DuckDB names the first line that does not fit.
void ExplainOneColumnCsv(const InputFile& file, const std::string& header,
                         const io::Connection& connection, const std::string& context) {
  char delimiter = 0;
  std::size_t n_fields = 1;
  for (const char candidate : {',', ';', '\t', '|'}) {
    const std::size_t n = SplitCsvLine(header, candidate).size();
    if (n > n_fields) {
      n_fields = n;
      delimiter = candidate;
    }
  }
  if (delimiter == 0) return;  // a one-column file
  std::string columns;
  for (std::size_t column = 0; column < n_fields; ++column) {
    columns += fmt::format("{}'c{}': 'VARCHAR'", column == 0 ? "" : ", ", column);
  }
  const std::string delimiter_name =
      delimiter == '\t' ? std::string("\\t") : std::string(1, delimiter);
  io::Result counted;
  io::Query(connection,
            fmt::format(
                "SELECT count(*) FROM read_csv({}, auto_detect = false, header = true, delim = {}, "
                "quote = '\"', escape = '\"', columns = {{{}}})",
                io::FileLiteral(file.path), QuoteLiteral(std::string(1, delimiter)), columns),
            counted, context);
  throw InvalidInput(fmt::format(
      "'{}': DuckDB's CSV detection finds no dialect that reads every line and falls back to one "
      "text column, although the header line has {} fields separated by '{}': check that every "
      "line has {} fields and quotes them the same way",
      file.path, n_fields, delimiter_name, n_fields));
}

/// Refuses column names that DuckDB would change or that outputs cannot hold: empty names (DuckDB
/// makes them "C1" or "column1"), names that differ only by case (DuckDB matches names
/// case-insensitively and renames the second "mass" to "mass_1"), duplicates and line breaks.
void CheckColumnNames(const InputFile& file, const std::vector<std::string>& names) {
  std::unordered_map<std::string, std::string> by_lower;
  for (std::size_t position = 0; position < names.size(); ++position) {
    const std::string& name = names[position];
    DESCPIPE_EXPECTS(!name.empty(),
                     "file '{}' has a column with an empty name (column {} of {}): name it",
                     file.path, position + 1, names.size());
    // Outputs list names one per line (pass1_columns.txt).
    DESCPIPE_EXPECTS(name.find_first_of("\r\n") == std::string::npos,
                     "file '{}' has a column name with a line break (\"{}\"): rename it", file.path,
                     name);
    const auto [it, inserted] = by_lower.emplace(AsciiLower(name), name);
    DESCPIPE_EXPECTS(inserted || it->second != name,
                     "file '{}' has more than one column named \"{}\"", file.path, name);
    DESCPIPE_EXPECTS(
        inserted,
        "file '{}' has columns \"{}\" and \"{}\", whose names differ only by case (DuckDB "
        "matches column names case-insensitively): rename one",
        file.path, it->second, name);
  }
}

FileSchema ReadFileSchema(InputFile& file, const io::Connection& connection) {
  const bool parquet = file.format == FileFormat::kParquet;
  // Every DuckDB error about a Parquet file here means that its footer or schema cannot be read.
  const std::string context =
      parquet
          ? fmt::format("'{}' is not a readable Parquet file (damaged, truncated or not Parquet)",
                        file.path)
          : fmt::format("cannot read CSV file '{}'", file.path);
  const std::string literal = io::FileLiteral(file.path);
  const std::string source = parquet ? fmt::format("read_parquet({})", literal)
                                     : fmt::format("read_csv({}, header = true)", literal);
  FileSchema schema;
  io::Result described;
  io::Query(connection, "DESCRIBE SELECT * FROM " + source, described, context);
  for (idx_t row = 0; row < described.rows(); ++row) {
    schema.names.push_back(described.Text(0, row));
    schema.types.push_back(described.Text(1, row));
  }
  // DuckDB renames duplicate and empty names ("a" -> "a_1", "" -> "C1"), so check the raw names.
  std::vector<std::string> raw_names;
  io::Result raw;
  if (parquet) {
    io::Query(connection,
              fmt::format("SELECT name FROM parquet_schema({}) WHERE name IS NOT NULL", literal),
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
    io::Query(connection, fmt::format("SELECT SkipRows, Delimiter FROM sniff_csv({})", literal),
              sniffed, context);
    if (sniffed.rows() > 0) {
      const std::int64_t skipped = sniffed.Int(0, 0);
      DESCPIPE_EXPECTS(
          skipped == 0,
          "'{}': DuckDB's CSV detection skips the first {} line{} (it found the delimiter "
          "'{}' below them), so a data row would be taken as the header; make every line, "
          "the header included, use the same delimiter",
          file.path, skipped, skipped == 1 ? "" : "s", sniffed.Text(1, 0));
    }
    // The header line and the first data row, if any.
    io::Query(connection,
              fmt::format("SELECT * FROM read_csv({}, header = false, all_varchar = true) LIMIT 2",
                          literal),
              raw, context);
    // Checked here, before types are compared: a CSV without data rows has only VARCHAR columns.
    DESCPIPE_EXPECTS(raw.rows() == 2, "'{}' has zero rows{}", file.path,
                     raw.rows() == 1 ? " (only a header line)" : "");
    const idx_t n = duckdb_column_count(raw.get());
    for (idx_t column = 0; column < n; ++column) raw_names.push_back(raw.Text(column, 0));
    // One text column: maybe DuckDB's fallback for a file whose rows it could not parse.
    if (raw_names.size() == 1 && schema.types.size() == 1 && schema.types[0] == "VARCHAR") {
      ExplainOneColumnCsv(file, raw_names[0], connection, context);
    }
  }
  CheckColumnNames(file, raw_names);
  if (parquet) {
    io::Result rows;
    io::Query(connection, fmt::format("SELECT num_rows FROM parquet_file_metadata({})", literal),
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

  const std::vector<ResolvedFile> resolved = ResolvePatterns(spec.patterns, connection);
  for (std::size_t i = 0; i < resolved.size(); ++i) {
    InputFile file;
    file.path = resolved[i].path;
    DESCPIPE_EXPECTS(FormatFromPath(file.path, file.format),
                     "cannot tell the format of '{}' from its name: use .parquet or .csv",
                     file.path);
    if (i == 0) {
      impl->format = file.format;
    } else {
      DESCPIPE_EXPECTS(file.format == impl->format,
                       "inputs mix Parquet and CSV ('{}' and '{}'): convert them to one format",
                       resolved[0].path, file.path);
    }
    io::DuckDbFilePath(file.path);  // throws for a name that DuckDB cannot read exactly
    CheckReadable(file.path);
    const struct stat& info = resolved[i].info;
    file.size_bytes = static_cast<std::uint64_t>(info.st_size);
    file.mtime_ns =
        static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
    impl->files.push_back(file);
  }

  // Union of the schemas, first-seen order; per column, which files have it. DuckDB matches
  // names across files case-insensitively (union_by_name), so names differing only by case are
  // refused, as within a file.
  std::unordered_map<std::string, std::size_t> index;
  std::unordered_map<std::string, std::size_t> index_by_lower;
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
        if (const auto same = index_by_lower.find(AsciiLower(name)); same != index_by_lower.end()) {
          throw InvalidInput(fmt::format(
              "column \"{}\" in '{}' and column \"{}\" in '{}' differ only by case (DuckDB matches "
              "column names case-insensitively): rename one",
              impl->columns[same->second].name, type_source[same->second], name, file.path));
        }
        index.emplace(name, impl->columns.size());
        index_by_lower.emplace(AsciiLower(name), impl->columns.size());
        impl->columns.push_back({name, schema.types[c], numeric, ColumnRole::kIgnored});
        impl->column_types.push_back({schema.types[c]});
        present.emplace_back(impl->files.size(), false);
        type_source.push_back(file.path);
        it = index.find(name);
      } else {
        ColumnInfo& info = impl->columns[it->second];
        DESCPIPE_EXPECTS(info.numeric == numeric,
                         "column \"{}\" has type {} in '{}' but {} in '{}'", name, info.type,
                         type_source[it->second], schema.types[c], file.path);
        if (info.type != schema.types[c]) info.type = numeric ? "DOUBLE" : info.type;
        auto& types = impl->column_types[it->second];
        if (std::find(types.begin(), types.end(), schema.types[c]) == types.end()) {
          types.push_back(schema.types[c]);
        }
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
    for (const auto& name : spec.metadata_columns)
      is_metadata[find_column(name, "metadata_columns")] = true;
  } else if (spec.n_metadata_cols.has_value()) {
    const int n = *spec.n_metadata_cols;
    DESCPIPE_EXPECTS(n >= 0 && static_cast<std::size_t>(n) <= impl->columns.size(),
                     "n_metadata_cols = {} but '{}' has {} columns", n, impl->files[0].path,
                     impl->columns.size());
    for (int c = 0; c < n; ++c) is_metadata[c] = true;
  } else {
    for (std::size_t c = 0; c < impl->columns.size(); ++c)
      is_metadata[c] = !impl->columns[c].numeric;
  }
  if (!spec.descriptor_columns.empty()) {
    std::set<std::string> chosen;
    for (const auto& name : spec.descriptor_columns) {
      const std::size_t c = find_column(name, "descriptor_columns");
      const ColumnInfo& info = impl->columns[c];
      DESCPIPE_EXPECTS(info.numeric,
                       "column \"{}\" in '{}' has type {}; descriptors must be numeric", name,
                       type_source[c], info.type);
      DESCPIPE_EXPECTS(!is_metadata[c] || spec.metadata_columns.empty(),
                       "column \"{}\" is listed both as metadata and as a descriptor", name);
      DESCPIPE_EXPECTS(chosen.insert(name).second,
                       "column \"{}\" is listed twice in descriptor_columns", name);
    }
    for (std::size_t c = 0; c < impl->columns.size(); ++c) {
      impl->columns[c].role = chosen.count(impl->columns[c].name) ? ColumnRole::kDescriptor
                              : is_metadata[c]                    ? ColumnRole::kMetadata
                                                                  : ColumnRole::kIgnored;
    }
  } else {
    for (std::size_t c = 0; c < impl->columns.size(); ++c) {
      impl->columns[c].role = is_metadata[c]             ? ColumnRole::kMetadata
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

namespace {

/// The largest magnitude below which every value of DuckDB type `type` converts to a distinct
/// DOUBLE: 2^53 for 64- and 128-bit integers, 10^(15 - scale) for DECIMALs of more than 15 digits
/// (any decimal of at most 15 significant digits survives the round trip through DOUBLE), and
/// infinity for the other types.
double ExactDoubleLimit(const std::string& type) {
  if (type == "BIGINT" || type == "UBIGINT" || type == "HUGEINT" || type == "UHUGEINT") {
    return 9007199254740992.0;  // 2^53
  }
  int width = 0;
  int scale = 0;
  if (std::sscanf(type.c_str(), "DECIMAL(%d,%d)", &width, &scale) == 2 && width > 15) {
    // A little below the bound: the largest values under it may round up to it as DOUBLE.
    return 0.999 * std::pow(10.0, 15 - scale);
  }
  return std::numeric_limits<double>::infinity();
}

}  // namespace

std::vector<std::string> WarnAboutMergedValues(const Table& table,
                                               const std::vector<std::string>& columns,
                                               const std::vector<double>& max_abs,
                                               const Context& ctx) {
  DESCPIPE_ASSERT(columns.size() == max_abs.size());
  const Table::Impl& impl = table.impl();
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < impl.columns.size(); ++c) index.emplace(impl.columns[c].name, c);
  std::vector<std::size_t> checked;  // into impl.columns
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const auto it = index.find(columns[i]);
    if (it == index.end()) continue;
    double limit = std::numeric_limits<double>::infinity();
    for (const auto& type : impl.column_types[it->second])
      limit = std::min(limit, ExactDoubleLimit(type));
    if (max_abs[i] >= limit) checked.push_back(it->second);
  }
  std::vector<std::string> warnings;
  if (checked.empty()) return warnings;

  io::Database database(ctx.threads());
  io::Connection connection(database);
  const std::string context = fmt::format("counting distinct values of {}", table.Describe());
  io::Execute(connection,
              fmt::format("SET memory_limit = '{}MB'",
                          std::max<std::uint64_t>(ctx.memory_limit_bytes() / 1000000, 256)),
              "setting DuckDB's memory limit");
  const std::string source = io::TableFunctionSql(impl.files, impl.format);
  std::string counts;
  for (const std::size_t c : checked) {
    const std::string column = QuoteIdentifier(impl.columns[c].name);
    counts += fmt::format("{0}count(DISTINCT {1}), count(DISTINCT CAST({1} AS DOUBLE))",
                          counts.empty() ? "" : ", ", column);
  }
  io::Result counted;
  io::Query(connection, fmt::format("SELECT {} FROM {}", counts, source), counted, context);
  for (std::size_t k = 0; k < checked.size(); ++k) {
    const std::int64_t exact = counted.Int(2 * k, 0);
    const std::int64_t as_double = counted.Int(2 * k + 1, 0);
    if (exact == as_double) continue;
    const ColumnInfo& info = impl.columns[checked[k]];
    const std::string column = QuoteIdentifier(info.name);
    io::Result example;
    io::Query(
        connection,
        fmt::format(
            "SELECT min({0})::VARCHAR, max({0})::VARCHAR, CAST({0} AS DOUBLE)::VARCHAR FROM {1} "
            "WHERE {0} IS NOT NULL GROUP BY CAST({0} AS DOUBLE) HAVING count(DISTINCT {0}) > 1 "
            "ORDER BY 3 LIMIT 1",
            column, source),
        example, context);
    std::string types;
    for (const auto& type : impl.column_types[checked[k]])
      types += (types.empty() ? "" : "/") + type;
    std::string warning = fmt::format(
        "column \"{}\" of {}: {} distinct {} values become {} distinct DOUBLE value{}{}; integers "
        "beyond "
        "2^53 and decimals of more than 15 digits lose precision as DOUBLE, and descpipe reads "
        "descriptors "
        "as DOUBLE",
        info.name, table.Describe(), exact, types, as_double, as_double == 1 ? "" : "s",
        example.rows() > 0 ? fmt::format(" (e.g. {} and {} both read as {})", example.Text(0, 0),
                                         example.Text(1, 0), example.Text(2, 0))
                           : std::string());
    spdlog::warn("{}", warning);
    warnings.push_back(std::move(warning));
  }
  return warnings;
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
