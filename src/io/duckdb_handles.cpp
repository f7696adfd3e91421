#include "io/duckdb_handles.hpp"

#include <fmt/format.h>

#include <cctype>

#include "descpipe/error.hpp"

namespace descpipe::io {

Database::Database(int threads) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) == DuckDBError) {
    throw IoError("DuckDB: could not create a configuration");
  }
  const std::string thread_text = std::to_string(threads > 0 ? threads : 1);
  duckdb_set_config(config, "threads", thread_text.c_str());
  // Keep row order: batch boundaries and samples must not depend on thread scheduling.
  duckdb_set_config(config, "preserve_insertion_order", "true");
  // No copy of file contents kept in DuckDB's buffer pool between reads: a database now serves
  // every read of a run, and a second read of a table (Pass 2 when Pass 1's values do not fit)
  // must not hold the file in memory outside the memory model.
  duckdb_set_config(config, "enable_external_file_cache", "false");
  char* error = nullptr;
  const duckdb_state state = duckdb_open_ext(nullptr, &database_, config, &error);
  duckdb_destroy_config(&config);
  if (state == DuckDBError) {
    std::string message = error ? error : "unknown error";
    duckdb_free(error);
    throw IoError("DuckDB: could not open an in-memory database: " + message);
  }
}

Database::~Database() { duckdb_close(&database_); }

Connection::Connection(const Database& database) {
  if (duckdb_connect(database.handle(), &connection_) == DuckDBError) {
    throw IoError("DuckDB: could not connect to the in-memory database");
  }
}

Connection::~Connection() { duckdb_disconnect(&connection_); }

Result::~Result() { duckdb_destroy_result(&result_); }

std::string Result::Text(idx_t column, idx_t row) {
  char* text = duckdb_value_varchar(&result_, column, row);
  if (text == nullptr) return {};
  std::string out(text);
  duckdb_free(text);
  return out;
}

std::string PrintableText(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t pos = 0; pos < text.size();) {
    const auto byte = static_cast<unsigned char>(text[pos]);
    // Length of the UTF-8 sequence that starts here (0: not a valid start byte).
    const std::size_t length = byte < 0x80           ? 1
                               : (byte >> 5) == 0x6  ? 2
                               : (byte >> 4) == 0xE  ? 3
                               : (byte >> 3) == 0x1E ? 4
                                                     : 0;
    bool valid = length > 0 && pos + length <= text.size() && !(length == 2 && byte < 0xC2);
    for (std::size_t i = 1; valid && i < length; ++i) {
      valid = (static_cast<unsigned char>(text[pos + i]) & 0xC0) == 0x80;
    }
    // C0 controls, DEL and the C1 controls (U+0080..U+009F) are escaped too.
    if (valid && length == 1 && (byte < 0x20 || byte == 0x7F)) valid = false;
    if (valid && byte == 0xC2 && static_cast<unsigned char>(text[pos + 1]) < 0xA0) valid = false;
    if (!valid) {
      out += fmt::format("\\x{:02x}", byte);
      ++pos;
      continue;
    }
    out.append(text, pos, length);
    pos += length;
  }
  return out;
}

std::string CleanDuckDbMessage(const char* message) {
  std::string text = message ? message : "unknown DuckDB error";
  // DuckDB appends "\n\nLINE 1: SELECT ..." context to parser/binder errors, and paragraphs of
  // possible fixes and reader settings to CSV errors: keep the first paragraph.
  if (const auto blank = text.find("\n\n"); blank != std::string::npos) text.resize(blank);
  // Join its lines into one (the CLI prints one line per error), stopping at the lists of
  // candidates and fixes that the CSV sniffer appends without a blank line.
  std::string out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.empty()) continue;
    // For a byte sequence that is not UTF-8, DuckDB names the right line number but quotes the
    // line before it (DuckDB 1.4.4); the line itself could not be printed as it is anyway.
    if (line.rfind("Original Line:", 0) == 0 && text.find("Invalid unicode") != std::string::npos) {
      continue;
    }
    if (line.rfind("The search space", 0) == 0 || line.rfind("Possible fix", 0) == 0 ||
        line.rfind("Possible solution", 0) == 0 || line.rfind("* ", 0) == 0) {
      break;
    }
    if (!out.empty()) out += out.back() == '.' ? " " : "; ";
    out += line;
  }
  // Drop the error class ("IO Error: ", "Invalid Input Error: "): the caller says what failed.
  std::size_t prefix = 0;
  while (prefix < out.size() &&
         (std::isalpha(static_cast<unsigned char>(out[prefix])) || out[prefix] == ' ')) {
    ++prefix;
  }
  if (prefix >= 6 && out.compare(prefix - 5, 7, "Error: ") == 0 && prefix + 2 < out.size()) {
    out.erase(0, prefix + 2);
  }
  // Thrift and DuckDB may quote raw bytes of a damaged file: never pass control characters or
  // invalid UTF-8 on to a terminal.
  return out.empty() ? std::string("unknown DuckDB error") : PrintableText(out);
}

void Query(const Connection& connection, const std::string& sql, Result& result,
           const std::string& context) {
  if (duckdb_query(connection.handle(), sql.c_str(), result.get()) == DuckDBError) {
    throw IoError(
        fmt::format("{}: {}", context, CleanDuckDbMessage(duckdb_result_error(result.get()))));
  }
}

void Execute(const Connection& connection, const std::string& sql, const std::string& context) {
  Result result;
  Query(connection, sql, result, context);
}

}  // namespace descpipe::io
