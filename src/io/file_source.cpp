// Files read through DuckDB: resolving paths, directories and globs; reading and checking each
// file's schema; typing CSV columns over every row (na_values, non_numeric: docs/CONFIG.md, "CSV
// input"); streaming columns as DOUBLE through DuckDB's streaming results (one io::ColumnSource
// implementation, see column_source.hpp).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "common/memory_budget.hpp"
#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "io/column_source.hpp"
#include "io/duckdb_handles.hpp"

namespace descpipe {

const std::vector<std::string>& DefaultNaValues() {
  static const std::vector<std::string> values = {"",      "NA",     "NaN",   "nan",     "N/A",
                                                  "#N/A",  "null",   "NULL",  "#DIV/0!", "#VALUE!",
                                                  "#REF!", "#NAME?", "#NUM!", "#NULL!"};
  return values;
}

}  // namespace descpipe

namespace descpipe::io {
namespace fs = std::filesystem;

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

/// What a CSV column holds in one file, read as text with `na_values` as missing.
struct CsvCounts {
  std::int64_t values = 0;   ///< fields that are not one of na_values
  std::int64_t numbers = 0;  ///< of those, the ones that read as DOUBLE
  /// Every value reads as the type DuckDB's sniffer gave the column from its first rows (for an
  /// integer type: exactly, without rounding "2.5"); false for VARCHAR and types checked by
  /// `numbers` alone.
  bool sniffed_type_holds = false;
};

struct FileSchema {
  std::vector<std::string> names;
  std::vector<std::string> types;
  std::vector<CsvCounts> counts;  ///< CSV: per column, over the whole file
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

/// `read_csv(<file>, header = true, nullstr = <null_strings>` and `extra` options, without the
/// closing parenthesis (`files` is an SQL literal: one path or a list).
std::string ReadCsvCall(const std::string& files, const std::string& null_strings,
                        const std::string& extra = "") {
  return fmt::format("read_csv({}, header = true, nullstr = {}{}", files, null_strings, extra);
}

FileSchema ReadFileSchema(InputFile& file, const std::string& null_strings,
                          const io::Connection& connection) {
  const bool parquet = file.format == FileFormat::kParquet;
  // Every DuckDB error about a Parquet file here means that its footer or schema cannot be read.
  const std::string context =
      parquet
          ? fmt::format("'{}' is not a readable Parquet file (damaged, truncated or not Parquet)",
                        file.path)
          : fmt::format("cannot read CSV file '{}'", file.path);
  const std::string literal = io::FileLiteral(file.path);
  const std::string source =
      parquet ? fmt::format("read_parquet({})", literal) : ReadCsvCall(literal, null_strings) + ")";
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

/// DuckDB's integer types: a CSV column sniffed as one of them keeps it only when every value is
/// an integer (DuckDB's cast from text rounds "2.5" to 3 without a word).
bool IsIntegerType(const std::string& type) {
  static const std::set<std::string> kIntegers = {"TINYINT", "SMALLINT", "INTEGER",   "BIGINT",
                                                  "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                                                  "UBIGINT", "UHUGEINT"};
  return kIntegers.count(type) > 0;
}

/// Fills `schema.counts`: one scan of the whole CSV file, every field as text, counting per column
/// the values that are not one of na_values, those that read as DOUBLE, and those that read as the
/// sniffed type (integers exactly, booleans).
void CountCsvValues(const InputFile& file, FileSchema& schema, const std::string& null_strings,
                    const io::Connection& connection) {
  std::string select;
  for (std::size_t column_idx = 0; column_idx < schema.names.size(); ++column_idx) {
    const std::string column = QuoteIdentifier(schema.names[column_idx]);
    const std::string& type = schema.types[column_idx];
    select += fmt::format("{0}count({1}), count(TRY_CAST({1} AS DOUBLE))",
                          column_idx == 0 ? "" : ", ", column);
    if (IsIntegerType(type)) {
      select += fmt::format(", count_if(TRY_CAST({0} AS {1})::DOUBLE = TRY_CAST({0} AS DOUBLE))",
                            column, type);
    } else if (type == "BOOLEAN") {
      select += fmt::format(", count(TRY_CAST({} AS BOOLEAN))", column);
    }
  }
  io::Result counted;
  io::Query(connection,
            fmt::format("SELECT {} FROM {}, all_varchar = true)", select,
                        ReadCsvCall(io::FileLiteral(file.path), null_strings)),
            counted, fmt::format("reading CSV file '{}'", file.path));
  schema.counts.assign(schema.names.size(), CsvCounts{});
  idx_t result_column = 0;
  for (std::size_t column_idx = 0; column_idx < schema.names.size(); ++column_idx) {
    CsvCounts& counts = schema.counts[column_idx];
    const std::string& type = schema.types[column_idx];
    counts.values = counted.Int(result_column++, 0);
    counts.numbers = counted.Int(result_column++, 0);
    if (IsIntegerType(type) || type == "BOOLEAN") {
      counts.sniffed_type_holds = counted.Int(result_column++, 0) == counts.values;
    } else {
      counts.sniffed_type_holds = type == "DOUBLE" && counts.numbers == counts.values;
    }
  }
}

/// The first value of `column` in CSV file `file` that is neither missing nor a number, with its
/// line (the header is line 1, then one line per row).
struct TextValue {
  std::string value;
  std::int64_t line = 0;
};

/// The first non-number of each of `columns` in `file` (one scan, rows numbered in file order).
std::vector<TextValue> FirstTextValues(const InputFile& file, const FileSchema& schema,
                                       const std::vector<std::string>& columns,
                                       const std::string& null_strings,
                                       const io::Connection& connection) {
  // A row-number column named unlike every column of the file (DuckDB compares names
  // case-insensitively).
  std::set<std::string> taken;
  for (const auto& name : schema.names) taken.insert(AsciiLower(name));
  std::string row_name = "__descpipe_row";
  while (taken.count(AsciiLower(row_name)) > 0) row_name += "_";
  const std::string row = QuoteIdentifier(row_name);
  std::string inner = "row_number() OVER () AS " + row;
  std::string select;
  for (const auto& name : columns) {
    const std::string column = QuoteIdentifier(name);
    const std::string text =
        fmt::format("{0} IS NOT NULL AND TRY_CAST({0} AS DOUBLE) IS NULL", column);
    inner += ", " + column;
    // A NUL would end the value's C string: it is written "\x00", as PrintableText writes the
    // other control characters.
    select += fmt::format(
        "{0}min({1}) FILTER (WHERE {2}), replace(arg_min({3}, {1}) FILTER (WHERE {2}), chr(0), "
        "'\\x00')",
        select.empty() ? "" : ", ", row, text, column);
  }
  io::Result found;
  io::Query(connection,
            fmt::format("SELECT {} FROM (SELECT {} FROM {}, all_varchar = true))", select, inner,
                        ReadCsvCall(io::FileLiteral(file.path), null_strings)),
            found, fmt::format("reading CSV file '{}'", file.path));
  std::vector<TextValue> values;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    values.push_back({found.Text(2 * i + 1, 0), found.Int(2 * i, 0) + 1});
  }
  return values;
}

/// What the options make of a column before its values are seen.
enum class CsvColumnUse {
  kMetadata,    ///< named in metadata_columns, or among the first n_metadata_cols
  kNotRead,     ///< descriptor_columns names others
  kDescriptor,  ///< a descriptor if its values are numbers
};

/// `"a", "b", "c" and 4 more`: names for a message.
std::string NameList(const std::vector<std::string>& names, std::size_t shown = 5) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) {
    text += fmt::format("{}\"{}\"", i == 0 ? "" : ", ", names[i]);
  }
  if (names.size() > shown) text += fmt::format(" and {} more", names.size() - shown);
  return text;
}

/// How every read of a CSV input gives each column its type, decided over every row of every file.
struct CsvPlan {
  /// Per column name, the type of `read_csv(types = ...)`.
  std::unordered_map<std::string, std::string> read_types;
  /// Columns read as text and converted with TRY_CAST (non_numeric: missing).
  std::set<std::string> text_to_missing;
};

/// Decides the type of every CSV column over whole files (CountCsvValues), instead of DuckDB's
/// sniffer that looks at the first rows only, and applies `spec.non_numeric` to the columns
/// that could be descriptors and hold text among mostly numbers (at least half of their values).
/// Rewrites `schemas[i].types` to the decided types. `input` names the whole input in messages.
/// @throws InvalidInput (non_numeric: error) naming the file, column, line and value.
CsvPlan DecideCsvTypes(const std::vector<InputFile>& files, std::vector<FileSchema>& schemas,
                       const InputSpec& spec, const std::string& null_strings,
                       const io::Connection& connection, const std::string& input) {
  struct Column {
    std::string name;
    CsvCounts total;
    std::string common_type;  ///< the sniffed type, when every file with values agrees and holds
    bool types_agree = true;
  };
  std::vector<Column> columns;
  std::unordered_map<std::string, std::size_t> index;
  for (const FileSchema& schema : schemas) {
    for (std::size_t c = 0; c < schema.names.size(); ++c) {
      const auto [it, inserted] = index.emplace(schema.names[c], columns.size());
      if (inserted) columns.push_back({schema.names[c], {}, "", true});
      Column& column = columns[it->second];
      const CsvCounts& counts = schema.counts[c];
      column.total.values += counts.values;
      column.total.numbers += counts.numbers;
      if (counts.values == 0) continue;  // a file without values says nothing about the type
      if (!counts.sniffed_type_holds ||
          (!column.common_type.empty() && column.common_type != schema.types[c])) {
        column.types_agree = false;
      }
      column.common_type = schema.types[c];
    }
  }
  const std::set<std::string> metadata(spec.metadata_columns.begin(), spec.metadata_columns.end());
  const std::set<std::string> descriptors(spec.descriptor_columns.begin(),
                                          spec.descriptor_columns.end());
  auto use_of = [&](std::size_t position) {
    const std::string& name = columns[position].name;
    if (!spec.metadata_columns.empty()
            ? metadata.count(name) > 0
            : spec.n_metadata_cols.has_value() &&
                  position < static_cast<std::size_t>(std::max(*spec.n_metadata_cols, 0))) {
      return CsvColumnUse::kMetadata;
    }
    if (!descriptors.empty() && descriptors.count(name) == 0) return CsvColumnUse::kNotRead;
    return CsvColumnUse::kDescriptor;
  };

  CsvPlan plan;
  std::vector<std::string> empty;
  std::vector<std::size_t> mixed;  // descriptor candidates with text among their numbers
  for (std::size_t position = 0; position < columns.size(); ++position) {
    const Column& column = columns[position];
    const CsvColumnUse use = use_of(position);
    const CsvCounts& total = column.total;
    std::string type;
    if (total.values == 0) {
      // No value in any row: a descriptor whose every value is missing (Pass 1 removes it).
      type = use == CsvColumnUse::kMetadata ? "VARCHAR" : "DOUBLE";
      if (use == CsvColumnUse::kDescriptor) empty.push_back(column.name);
    } else if (column.types_agree && IsNumericType(column.common_type)) {
      type = column.common_type;
    } else if (total.numbers == total.values) {
      type = "DOUBLE";
    } else if (use != CsvColumnUse::kDescriptor || 2 * total.numbers < total.values) {
      type = "VARCHAR";  // text: metadata unless an option says otherwise
    } else {
      mixed.push_back(position);
      type = spec.non_numeric == NonNumericPolicy::kMetadata ? "VARCHAR" : "DOUBLE";
      if (spec.non_numeric == NonNumericPolicy::kMissing) plan.text_to_missing.insert(column.name);
    }
    plan.read_types[column.name] = plan.text_to_missing.count(column.name) ? "VARCHAR" : type;
  }
  if (!empty.empty()) {
    spdlog::info(
        "{}: {} column{} without a value in any row ({}): read as descriptors whose "
        "values are all missing",
        input, empty.size(), empty.size() == 1 ? "" : "s", NameList(empty));
  }

  if (!mixed.empty()) {
    // The first file holding a non-number in each mixed column, and that value.
    auto first_bad_file = [&](const std::string& name) {
      for (std::size_t file_idx = 0; file_idx < schemas.size(); ++file_idx) {
        const auto& names = schemas[file_idx].names;
        const auto it = std::find(names.begin(), names.end(), name);
        if (it == names.end()) continue;
        const CsvCounts& counts = schemas[file_idx].counts[it - names.begin()];
        if (counts.numbers < counts.values) return file_idx;
      }
      DESCPIPE_ASSERT(false);
      return std::size_t{0};
    };
    auto describe = [&](const Column& column, std::size_t file_idx, const TextValue& text) {
      const std::int64_t other = column.total.values - column.total.numbers;
      return fmt::format("\"{}\" on line {} of '{}'; {} of its {} values {} not a number",
                         PrintableText(Shorten(text.value, 80)), text.line, files[file_idx].path,
                         other, column.total.values, other == 1 ? "is" : "are");
    };
    if (spec.non_numeric == NonNumericPolicy::kError) {
      const Column& column = columns[mixed.front()];
      const std::size_t file_idx = first_bad_file(column.name);
      const TextValue text = FirstTextValues(files[file_idx], schemas[file_idx], {column.name},
                                             null_strings, connection)
                                 .front();
      std::vector<std::string> others;
      for (std::size_t k = 1; k < mixed.size(); ++k) others.push_back(columns[mixed[k]].name);
      throw InvalidInput(fmt::format(
          "column \"{}\" holds text among numbers: {}{}. Add such markers to na_values to "
          "read them as missing, or set non_numeric: missing (every non-number in such columns "
          "is missing) or non_numeric: metadata (such columns are metadata), or name the column "
          "in metadata_columns",
          column.name, describe(column, file_idx, text),
          others.empty() ? std::string()
                         : fmt::format(" ({} more column{} hold{} text among numbers: {})",
                                       others.size(), others.size() == 1 ? "" : "s",
                                       others.size() == 1 ? "s" : "", NameList(others))));
    }
    // One scan per file for the first non-number of the columns whose first one it holds.
    std::map<std::size_t, std::vector<std::size_t>> by_file;
    for (const std::size_t position : mixed)
      by_file[first_bad_file(columns[position].name)].push_back(position);
    for (const auto& [file_idx, positions] : by_file) {
      std::vector<std::string> names;
      for (const std::size_t position : positions) names.push_back(columns[position].name);
      const std::vector<TextValue> texts =
          FirstTextValues(files[file_idx], schemas[file_idx], names, null_strings, connection);
      for (std::size_t k = 0; k < positions.size(); ++k) {
        const Column& column = columns[positions[k]];
        spdlog::warn("column \"{}\" holds text among numbers: {}; {}", column.name,
                     describe(column, file_idx, texts[k]),
                     spec.non_numeric == NonNumericPolicy::kMissing
                         ? "they are read as missing values (non_numeric: missing)"
                         : "the column is metadata (non_numeric: metadata)");
      }
    }
  }

  for (FileSchema& schema : schemas) {
    for (std::size_t c = 0; c < schema.names.size(); ++c) {
      const std::string& name = schema.names[c];
      schema.types[c] = plan.text_to_missing.count(name) ? "DOUBLE" : plan.read_types.at(name);
    }
  }
  return plan;
}

/// One DuckDB streaming query, re-cut into batches of a fixed row count.
class SqlBatchStream final : public BatchStream {
 public:
  SqlBatchStream(const std::string& sql, std::size_t n_columns, std::size_t batch_rows,
                 std::uint64_t first_row, std::string context)
      : database_(1),
        connection_(database_),
        n_columns_(n_columns),
        batch_rows_(batch_rows),
        next_row_(first_row),
        context_(std::move(context)) {
    // Every handle is owned by a member, so a throw here releases what was made so far.
    if (duckdb_prepare(connection_.handle(), sql.c_str(), &prepared_.handle) == DuckDBError) {
      throw IoError(fmt::format("{}: {}", context_,
                                io::CleanDuckDbMessage(duckdb_prepare_error(prepared_.handle))));
    }
    if (duckdb_pending_prepared_streaming(prepared_.handle, &pending_.handle) == DuckDBError) {
      throw IoError(fmt::format("{}: {}", context_,
                                io::CleanDuckDbMessage(duckdb_pending_error(pending_.handle))));
    }
    if (duckdb_execute_pending(pending_.handle, result_.get()) == DuckDBError) {
      throw IoError(fmt::format("{}: {}", context_,
                                io::CleanDuckDbMessage(duckdb_result_error(result_.get()))));
    }
  }
  ~SqlBatchStream() override {
    if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
  }
  SqlBatchStream(const SqlBatchStream&) = delete;
  SqlBatchStream& operator=(const SqlBatchStream&) = delete;

  bool decodes() const override { return true; }

  /// Fills `batch` with up to batch_rows rows; false when nothing is left.
  bool Fill(ColumnBatch& batch) override {
    const std::size_t capacity = batch_rows_;
    batch.Reset(n_columns_, capacity);
    batch.first_row = next_row_;
    batch.n_rows = 0;
    while (batch.n_rows < capacity && EnsureChunk()) {
      const std::size_t take =
          std::min<std::size_t>(capacity - batch.n_rows, chunk_size_ - chunk_offset_);
      for (std::size_t column_idx = 0; column_idx < n_columns_; ++column_idx) {
        duckdb_vector vector = duckdb_data_chunk_get_vector(chunk_, column_idx);
        const double* source =
            static_cast<const double*>(duckdb_vector_get_data(vector)) + chunk_offset_;
        const std::uint64_t* validity = duckdb_vector_get_validity(vector);
        double* values = batch.values.data() + column_idx * capacity + batch.n_rows;
        std::uint8_t* nulls = batch.is_null.data() + column_idx * capacity + batch.n_rows;
        std::memcpy(values, source, take * sizeof(double));
        if (validity == nullptr) {
          std::memset(nulls, 0, take);
        } else {
          for (std::size_t row = 0; row < take; ++row) {
            const idx_t source_row = chunk_offset_ + row;
            const bool valid = (validity[source_row >> 6] >> (source_row & 63)) & 1ULL;
            nulls[row] = valid ? 0 : 1;
            if (!valid) values[row] = std::numeric_limits<double>::quiet_NaN();
          }
        }
      }
      chunk_offset_ += take;
      batch.n_rows += take;
    }
    next_row_ += batch.n_rows;
    return batch.n_rows > 0;
  }

 private:
  /// Makes chunk_ hold unread rows; false at the end of the stream.
  bool EnsureChunk() {
    while (chunk_ == nullptr || chunk_offset_ >= chunk_size_) {
      if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
      if (finished_) return false;
      chunk_ = duckdb_fetch_chunk(*result_.get());
      if (chunk_ == nullptr) {
        finished_ = true;
        const char* error = duckdb_result_error(result_.get());
        if (error != nullptr)
          throw IoError(fmt::format("{}: {}", context_, io::CleanDuckDbMessage(error)));
        return false;
      }
      chunk_size_ = duckdb_data_chunk_get_size(chunk_);
      chunk_offset_ = 0;
    }
    return true;
  }

  io::Database database_;
  io::Connection connection_;
  io::PreparedStatement prepared_;
  io::PendingResult pending_;
  io::Result result_;
  duckdb_data_chunk chunk_ = nullptr;
  idx_t chunk_size_ = 0;
  idx_t chunk_offset_ = 0;
  bool finished_ = false;
  std::size_t n_columns_;
  std::size_t batch_rows_;
  std::uint64_t next_row_;
  std::string context_;
};

/// Files of one format with their common schema.
class FileSource final : public ColumnSource {
 public:
  using ColumnSource::column_types_;
  using ColumnSource::columns_;
  std::vector<InputFile> files_;
  FileFormat format_ = FileFormat::kParquet;
  bool union_by_name_ = false;
  /// Column names present in each file, sorted.
  std::vector<std::vector<std::string>> file_columns_;
  /// CSV: na_values as DuckDB's nullstr list ("['', 'NA']"), and how reads type each column.
  std::string null_strings_;
  CsvPlan csv_plan_;

  std::string Describe() const override {
    if (files_.size() == 1) return "'" + files_[0].path + "'";
    return fmt::format("{} {} files ('{}', ...)", files_.size(),
                       format_ == FileFormat::kParquet ? "Parquet" : "CSV", files_[0].path);
  }
  const std::vector<InputFile>& files() const override { return files_; }
  const MemoryTable* memory() const override { return nullptr; }
  std::int64_t known_row_count() const override {
    std::int64_t total = 0;
    for (const auto& file : files_) {
      if (file.row_count < 0) return -1;
      total += file.row_count;
    }
    return total;
  }
  /// One partition per Parquet file; CSV row counts are unknown in advance, so CSV inputs are one
  /// stream.
  std::vector<ScanPartition> Partitions() const override {
    std::vector<ScanPartition> partitions;
    if (format_ != FileFormat::kParquet) {
      partitions.push_back(ScanPartition{});
      return partitions;
    }
    std::uint64_t global = 0;
    for (std::size_t file_idx = 0; file_idx < files_.size(); ++file_idx) {
      partitions.push_back(ScanPartition{static_cast<std::int64_t>(file_idx), global});
      global += static_cast<std::uint64_t>(files_[file_idx].row_count);
    }
    return partitions;
  }
  std::int64_t PartitionRows(const ScanPartition& partition) const override {
    return partition.file_idx >= 0
               ? files_.at(static_cast<std::size_t>(partition.file_idx)).row_count
               : known_row_count();
  }
  double LargestPartRows() const override {
    double rows = 0;
    for (const InputFile& file : files_) {
      rows =
          std::max(rows, file.row_count >= 0 ? static_cast<double>(file.row_count) : kRowGroupRows);
    }
    return rows;
  }
  double ScanBufferBytes(double columns, double part_rows, double prefetch) const override {
    return DuckDbScanBytes(columns, part_rows, prefetch,
                           static_cast<double>(this->columns().size()),
                           format_ == FileFormat::kCsv);
  }
  bool PartHasColumn(std::size_t part, const std::string& name) const override {
    const auto& names = file_columns_.at(part);
    return std::binary_search(names.begin(), names.end(), name);
  }

  std::unique_ptr<BatchStream> Scan(const std::vector<std::string>& columns,
                                    const ScanPartition& partition,
                                    std::size_t batch_rows) const override {
    if (partition.file_idx < 0) {
      const std::string sql = fmt::format(
          "SELECT {} FROM {}", DoubleSelectList(columns, [](const std::string&) { return true; }),
          AllFilesSql());
      return std::make_unique<SqlBatchStream>(sql, columns.size(), batch_rows,
                                              partition.first_global_row, ReadErrorContext());
    }
    const auto file_idx = static_cast<std::size_t>(partition.file_idx);
    const InputFile& file = files_.at(file_idx);
    // union_by_name: a column this file lacks reads as NULL.
    const std::string select = DoubleSelectList(
        columns, [&](const std::string& name) { return PartHasColumn(file_idx, name); });
    const std::string sql =
        fmt::format("SELECT {} FROM read_parquet({})", select, FileLiteral(file.path));
    return std::make_unique<SqlBatchStream>(
        sql, columns.size(), batch_rows, partition.first_global_row,
        fmt::format("'{}' is not a readable Parquet file (damaged or truncated)", file.path));
  }

  std::string Sql(const Connection&) const override { return AllFilesSql(); }
  std::size_t SqlParts() const override { return files_.size(); }
  std::string NumberedPartSql(const Connection&, std::size_t part, const std::string& part_column,
                              const std::string& row_column, bool all_columns,
                              bool& part_rows_in_order) const override {
    const InputFile& file = files_.at(part);
    const std::string part_name = QuoteIdentifier(part_column);
    const std::string row_name = QuoteIdentifier(row_column);
    // A column named file_row_number prevents read_parquet's own (DuckDB refuses the option).
    const bool row_number_taken =
        std::any_of(columns().begin(), columns().end(),
                    [](const ColumnInfo& c) { return AsciiLower(c.name) == "file_row_number"; });
    if (file.format == FileFormat::kParquet && !row_number_taken) {
      part_rows_in_order = true;
      return fmt::format(
          "SELECT {}{} AS {}, file_row_number AS {} FROM read_parquet({}, file_row_number = true)",
          all_columns ? "* EXCLUDE (file_row_number), " : "", part, part_name, row_name,
          FileLiteral(file.path));
    }
    // read_csv has no file_row_number: number rows in scan order (insertion order is preserved).
    part_rows_in_order = false;
    return fmt::format("SELECT {}{} AS {}, row_number() OVER () - 1 AS {} FROM {}",
                       all_columns ? "*, " : "", part, part_name, row_name, OneFileSql(part));
  }

  /// A failed read of a Parquet file means it is damaged (converting its numeric columns to DOUBLE
  /// cannot fail); a CSV error names its line.
  std::string ReadErrorContext() const override {
    if (format_ != FileFormat::kParquet) return fmt::format("reading {}", Describe());
    if (files_.size() == 1) {
      return fmt::format("'{}' is not a readable Parquet file (damaged or truncated)",
                         files_[0].path);
    }
    return fmt::format("reading {} (a Parquet file is damaged or truncated)", Describe());
  }

 private:
  std::string OneFileSql(std::size_t file_idx) const {
    const InputFile& file = files_.at(file_idx);
    return file.format == FileFormat::kParquet
               ? fmt::format("read_parquet({})", FileLiteral(file.path))
               : CsvSql(FileLiteral(file.path), file_columns_.at(file_idx), "");
  }
  /// `read_parquet([...], union_by_name = true)` or the CSV equivalent over every file.
  std::string AllFilesSql() const {
    std::string list = "[";
    for (std::size_t i = 0; i < files_.size(); ++i) {
      if (i > 0) list += ", ";
      list += FileLiteral(files_[i].path);
    }
    list += "]";
    if (format_ == FileFormat::kParquet) {
      return fmt::format("read_parquet({}, union_by_name = true)", list);
    }
    std::vector<std::string> names;
    for (const ColumnInfo& column : columns_) names.push_back(column.name);
    return CsvSql(list, names, ", union_by_name = true");
  }
  /// The CSV `files` (an SQL literal) with the columns `names` that they hold typed as decided
  /// at open (csv_plan_): DuckDB's sniffer never types a column again, so no value after its
  /// first rows can fail a read. Columns of non_numeric: missing are read as text and converted
  /// with TRY_CAST (a non-number is NULL).
  std::string CsvSql(const std::string& files, const std::vector<std::string>& names,
                     const std::string& extra) const {
    std::string types;
    std::string converted;
    for (const std::string& name : names) {
      types += fmt::format("{}{}: '{}'", types.empty() ? "" : ", ", QuoteLiteral(name),
                           csv_plan_.read_types.at(name));
      if (csv_plan_.text_to_missing.count(name) > 0) {
        converted += fmt::format("{0}TRY_CAST({1} AS DOUBLE) AS {1}", converted.empty() ? "" : ", ",
                                 QuoteIdentifier(name));
      }
    }
    const std::string read =
        ReadCsvCall(files, null_strings_, fmt::format("{}, types = {{{}}})", extra, types));
    if (converted.empty()) return read;
    return fmt::format("(SELECT * REPLACE ({}) FROM {})", converted, read);
  }
};

}  // namespace

std::shared_ptr<ColumnSource> OpenFileSource(const InputSpec& spec, const Context& ctx) {
  auto impl = std::make_shared<FileSource>();
  impl->union_by_name_ = spec.union_by_name;
  DESCPIPE_EXPECTS(!spec.na_values.empty(),
                   "na_values is empty: name at least one value read as missing (\"\" is the "
                   "empty field)");
  impl->null_strings_ = "[";
  for (std::size_t i = 0; i < spec.na_values.size(); ++i) {
    impl->null_strings_ += (i == 0 ? "" : ", ") + QuoteLiteral(spec.na_values[i]);
  }
  impl->null_strings_ += "]";
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
      impl->format_ = file.format;
    } else {
      DESCPIPE_EXPECTS(file.format == impl->format_,
                       "inputs mix Parquet and CSV ('{}' and '{}'): convert them to one format",
                       resolved[0].path, file.path);
    }
    io::DuckDbFilePath(file.path);  // throws for a name that DuckDB cannot read exactly
    CheckReadable(file.path);
    const struct stat& info = resolved[i].info;
    file.size_bytes = static_cast<std::uint64_t>(info.st_size);
    file.mtime_ns =
        static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1000000000LL + info.st_mtim.tv_nsec;
    impl->files_.push_back(file);
  }

  // Union of the schemas, first-seen order; per column, which files have it. DuckDB matches
  // names across files case-insensitively (union_by_name), so names differing only by case are
  // refused, as within a file.
  std::unordered_map<std::string, std::size_t> index;
  std::unordered_map<std::string, std::size_t> index_by_lower;
  std::vector<std::vector<bool>> present;
  std::vector<std::string> type_source;
  std::vector<FileSchema> schemas;
  for (InputFile& file : impl->files_)
    schemas.push_back(ReadFileSchema(file, impl->null_strings_, connection));
  if (impl->format_ == FileFormat::kCsv) {
    // One scan of every file, with the run's threads and memory limit.
    io::Database scan_database(ctx.threads());
    io::Connection scan(scan_database);
    io::Execute(scan,
                fmt::format("SET memory_limit = '{}MB'",
                            std::max<std::uint64_t>(ctx.memory_limit_bytes() / 1000000, 256)),
                "setting DuckDB's memory limit");
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t file_idx = 0; file_idx < impl->files_.size(); ++file_idx)
      CountCsvValues(impl->files_[file_idx], schemas[file_idx], impl->null_strings_, scan);
    impl->csv_plan_ =
        DecideCsvTypes(impl->files_, schemas, spec, impl->null_strings_, scan, impl->Describe());
    spdlog::debug("{}: column types decided over every row in {:.2f} s", impl->Describe(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  for (std::size_t file_idx = 0; file_idx < impl->files_.size(); ++file_idx) {
    InputFile& file = impl->files_[file_idx];
    const FileSchema& schema = schemas[file_idx];
    impl->file_columns_.push_back(schema.names);
    std::sort(impl->file_columns_.back().begin(), impl->file_columns_.back().end());
    for (std::size_t c = 0; c < schema.names.size(); ++c) {
      const std::string& name = schema.names[c];
      const bool numeric = io::IsNumericType(schema.types[c]);
      auto it = index.find(name);
      if (it == index.end()) {
        if (const auto same = index_by_lower.find(AsciiLower(name)); same != index_by_lower.end()) {
          throw InvalidInput(fmt::format(
              "column \"{}\" in '{}' and column \"{}\" in '{}' differ only by case (DuckDB matches "
              "column names case-insensitively): rename one",
              impl->columns_[same->second].name, type_source[same->second], name, file.path));
        }
        index.emplace(name, impl->columns_.size());
        index_by_lower.emplace(AsciiLower(name), impl->columns_.size());
        impl->columns_.push_back({name, schema.types[c], numeric, ColumnRole::kIgnored});
        impl->column_types_.push_back({schema.types[c]});
        present.emplace_back(impl->files_.size(), false);
        type_source.push_back(file.path);
        it = index.find(name);
      } else {
        ColumnInfo& info = impl->columns_[it->second];
        DESCPIPE_EXPECTS(info.numeric == numeric,
                         "column \"{}\" has type {} in '{}' but {} in '{}'", name, info.type,
                         type_source[it->second], schema.types[c], file.path);
        if (info.type != schema.types[c]) info.type = numeric ? "DOUBLE" : info.type;
        auto& types = impl->column_types_[it->second];
        if (std::find(types.begin(), types.end(), schema.types[c]) == types.end()) {
          types.push_back(schema.types[c]);
        }
      }
      present[it->second][file_idx] = true;
    }
  }
  DESCPIPE_EXPECTS(!impl->columns_.empty(), "'{}' has no columns", impl->files_.front().path);

  AssignRoles(impl->columns_, spec,
              RoleNames{type_source,
                        impl->files_.size() == 1 ? "'" + impl->files_[0].path + "'"
                                                 : std::string("any input file"),
                        "'" + impl->files_[0].path + "'",
                        impl->files_.size() == 1 ? "'" + impl->files_[0].path + "'"
                                                 : std::string("the input")});

  // Every used column must be in every file unless union_by_name.
  if (!spec.union_by_name) {
    for (std::size_t c = 0; c < impl->columns_.size(); ++c) {
      if (impl->columns_[c].role == ColumnRole::kIgnored) continue;
      for (std::size_t file_idx = 0; file_idx < impl->files_.size(); ++file_idx) {
        DESCPIPE_EXPECTS(present[c][file_idx],
                         "column \"{}\" is missing from '{}' (present in '{}'); set union_by_name: "
                         "true to read it as missing values there",
                         impl->columns_[c].name, impl->files_[file_idx].path, type_source[c]);
      }
    }
  }
  const std::int64_t rows = [&] {
    std::int64_t total = 0;
    for (const auto& file : impl->files_) {
      if (file.row_count < 0) return std::int64_t{-1};
      total += file.row_count;
    }
    return total;
  }();
  DESCPIPE_EXPECTS(rows != 0, "{} has zero rows",
                   impl->files_.size() == 1 ? "'" + impl->files_[0].path + "'" : "the input");

  return impl;
}

}  // namespace descpipe::io
