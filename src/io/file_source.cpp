// Files read through DuckDB: resolving paths, directories and globs; reading and checking each
// file's schema; streaming columns as DOUBLE through DuckDB's streaming results (one
// io::ColumnSource implementation, see column_source.hpp).
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <unordered_map>

#include "common/memory_budget.hpp"
#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "io/column_source.hpp"
#include "io/duckdb_handles.hpp"

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
                       all_columns ? "*, " : "", part, part_name, row_name, OneFileSql(file));
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
  std::string OneFileSql(const InputFile& file) const {
    return file.format == FileFormat::kParquet
               ? fmt::format("read_parquet({})", FileLiteral(file.path))
               : fmt::format("read_csv({}, header = true)", FileLiteral(file.path));
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
    return fmt::format("read_csv({}, union_by_name = true, header = true)", list);
  }
};

}  // namespace

std::shared_ptr<ColumnSource> OpenFileSource(const InputSpec& spec) {
  auto impl = std::make_shared<FileSource>();
  impl->union_by_name_ = spec.union_by_name;
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
  for (std::size_t file_idx = 0; file_idx < impl->files_.size(); ++file_idx) {
    InputFile& file = impl->files_[file_idx];
    const FileSchema schema = ReadFileSchema(file, connection);
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
