// duckdb_exec: runs SQL statements (arguments or stdin) in an in-memory DuckDB and prints the
// last result as CSV. Used by tests and benchmarks to make data and to hand Parquet to Python
// peers (Debian's pandas has no Parquet reader).
//   duckdb_exec "COPY (SELECT * FROM 'x.parquet') TO 'x.csv'"
//   duckdb_exec --threads 2 "SELECT count(*) FROM 'x.parquet'"
#include <duckdb.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> statements;
  std::string threads;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = argv[++i];
    } else {
      statements.emplace_back(argv[i]);
    }
  }
  if (statements.empty()) {
    std::stringstream buffer;
    buffer << std::cin.rdbuf();
    statements.push_back(buffer.str());
  }
  duckdb_database database;
  duckdb_connection connection;
  if (duckdb_open(nullptr, &database) == DuckDBError ||
      duckdb_connect(database, &connection) == DuckDBError) {
    std::fprintf(stderr, "error: cannot open DuckDB\n");
    return 1;
  }
  int status = 0;
  if (!threads.empty()) statements.insert(statements.begin(), "SET threads = " + threads);
  for (std::size_t s = 0; s < statements.size() && status == 0; ++s) {
    duckdb_result result;
    if (duckdb_query(connection, statements[s].c_str(), &result) == DuckDBError) {
      std::fprintf(stderr, "error: %s\n", duckdb_result_error(&result));
      status = 1;
    } else if (s + 1 == statements.size()) {
      const idx_t columns = duckdb_column_count(&result);
      const idx_t rows = duckdb_row_count(&result);
      for (idx_t row = 0; row < rows; ++row) {
        for (idx_t column = 0; column < columns; ++column) {
          char* text = duckdb_value_varchar(&result, column, row);
          std::printf("%s%s", column ? "," : "", text ? text : "");
          duckdb_free(text);
        }
        std::printf("\n");
      }
    }
    duckdb_destroy_result(&result);
  }
  duckdb_disconnect(&connection);
  duckdb_close(&database);
  return status;
}
