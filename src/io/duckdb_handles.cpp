#include "io/duckdb_handles.hpp"

#include <fmt/format.h>

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

std::string CleanDuckDbMessage(const char* message) {
  std::string text = message ? message : "unknown DuckDB error";
  // DuckDB appends "\n\nLINE 1: SELECT ..." context for parser/binder errors: drop it.
  const auto line_pos = text.find("\n\nLINE ");
  if (line_pos != std::string::npos) text.resize(line_pos);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

void Query(const Connection& connection, const std::string& sql, Result& result,
           const std::string& context) {
  if (duckdb_query(connection.handle(), sql.c_str(), result.get()) == DuckDBError) {
    throw IoError(fmt::format("{}: {}", context, CleanDuckDbMessage(duckdb_result_error(result.get()))));
  }
}

void Execute(const Connection& connection, const std::string& sql, const std::string& context) {
  Result result;
  Query(connection, sql, result, context);
}

}  // namespace descpipe::io
