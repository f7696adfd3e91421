// RAII wrappers over DuckDB C handles, and error conversion. Internal to src/io.
#pragma once

#include <duckdb.h>

#include <string>

namespace descpipe::io {

/// An in-memory DuckDB database with one connection.
class Database {
 public:
  /// @param threads DuckDB worker threads (SET threads).
  explicit Database(int threads);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  duckdb_database handle() const { return database_; }

 private:
  duckdb_database database_ = nullptr;
};

class Connection {
 public:
  explicit Connection(const Database& database);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  duckdb_connection handle() const { return connection_; }

 private:
  duckdb_connection connection_ = nullptr;
};

/// A materialised query result (small results only: schemas, counts).
class Result {
 public:
  Result() = default;
  ~Result();
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  duckdb_result* get() { return &result_; }
  idx_t rows() { return duckdb_row_count(&result_); }
  /// Value as text ("" for NULL).
  std::string Text(idx_t column, idx_t row);
  std::int64_t Int(idx_t column, idx_t row) { return duckdb_value_int64(&result_, column, row); }
  bool IsNull(idx_t column, idx_t row) { return duckdb_value_is_null(&result_, column, row); }

 private:
  duckdb_result result_{};
};

/// Owns a prepared statement (destroyed even when preparing failed, as DuckDB requires).
struct PreparedStatement {
  PreparedStatement() = default;
  ~PreparedStatement() { duckdb_destroy_prepare(&handle); }
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;
  duckdb_prepared_statement handle = nullptr;
};

/// Owns a pending result (destroyed even when creating it failed, as DuckDB requires).
struct PendingResult {
  PendingResult() = default;
  ~PendingResult() { duckdb_destroy_pending(&handle); }
  PendingResult(const PendingResult&) = delete;
  PendingResult& operator=(const PendingResult&) = delete;
  duckdb_pending_result handle = nullptr;
};

/// Runs `sql`; on failure throws IoError "<context>: <DuckDB message>".
void Query(const Connection& connection, const std::string& sql, Result& result,
           const std::string& context);
void Execute(const Connection& connection, const std::string& sql, const std::string& context);

/// Strips DuckDB's boilerplate ("IO Error: ...") down to the useful line, printable (see
/// PrintableText).
std::string CleanDuckDbMessage(const char* message);

/// `text` with control characters and bytes that are not valid UTF-8 written as "\xNN"; valid
/// UTF-8 is kept.
std::string PrintableText(const std::string& text);

}  // namespace descpipe::io
