#include <algorithm>
#include <cstring>
#include <limits>

#include "descpipe/error.hpp"
#include "descpipe/table.hpp"
#include "io/duckdb_handles.hpp"
#include "io/table_impl.hpp"

namespace descpipe {

std::size_t DefaultBatchRows(std::size_t n_columns) {
  const std::size_t kTargetBytes = 32ULL << 20;
  const std::size_t bytes_per_row = std::max<std::size_t>(1, n_columns) * (sizeof(double) + 1);
  std::size_t rows = kTargetBytes / bytes_per_row;
  rows = std::clamp<std::size_t>(rows, 256, 16384);
  return rows / 256 * 256;
}

struct ColumnReader::Impl {
  Impl(const Table& table_in, const Context& ctx) : table(table_in), database(ctx.threads()), connection(database) {}
  ~Impl() {
    if (chunk != nullptr) duckdb_destroy_data_chunk(&chunk);
    if (have_result) duckdb_destroy_result(&result);
    if (pending != nullptr) duckdb_destroy_pending(&pending);
    if (prepared != nullptr) duckdb_destroy_prepare(&prepared);
  }

  /// Makes `chunk` hold unread rows; false at the end of the stream.
  bool EnsureChunk() {
    while (chunk == nullptr || chunk_offset >= chunk_size) {
      if (chunk != nullptr) duckdb_destroy_data_chunk(&chunk);
      if (finished) return false;
      chunk = duckdb_fetch_chunk(result);
      if (chunk == nullptr) {
        finished = true;
        const char* error = duckdb_result_error(&result);
        if (error != nullptr) {
          throw IoError(fmt::format("reading {}: {}", table.Describe(), io::CleanDuckDbMessage(error)));
        }
        return false;
      }
      chunk_size = duckdb_data_chunk_get_size(chunk);
      chunk_offset = 0;
    }
    return true;
  }

  Table table;
  io::Database database;
  io::Connection connection;
  duckdb_prepared_statement prepared = nullptr;
  duckdb_pending_result pending = nullptr;
  duckdb_result result{};
  bool have_result = false;
  duckdb_data_chunk chunk = nullptr;
  idx_t chunk_size = 0;
  idx_t chunk_offset = 0;
  bool finished = false;
  std::size_t n_columns = 0;
  std::size_t batch_rows = 0;
  std::uint64_t rows_read = 0;
};

ColumnReader::ColumnReader(const Table& table, const std::vector<std::string>& columns,
                           const Context& ctx, std::size_t batch_rows)
    : impl_(std::make_unique<Impl>(table, ctx)) {
  DESCPIPE_ASSERT(!columns.empty() && batch_rows > 0);
  impl_->n_columns = columns.size();
  impl_->batch_rows = batch_rows;
  std::string select;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) select += ", ";
    select += fmt::format("CAST({} AS DOUBLE)", QuoteIdentifier(columns[i]));
  }
  const std::string sql = fmt::format("SELECT {} FROM {}", select,
                                      io::TableFunctionSql(table.files(), table.format()));
  const std::string context = fmt::format("reading {}", table.Describe());
  if (duckdb_prepare(impl_->connection.handle(), sql.c_str(), &impl_->prepared) == DuckDBError) {
    throw IoError(fmt::format("{}: {}", context, io::CleanDuckDbMessage(duckdb_prepare_error(impl_->prepared))));
  }
  if (duckdb_pending_prepared_streaming(impl_->prepared, &impl_->pending) == DuckDBError) {
    throw IoError(fmt::format("{}: {}", context, io::CleanDuckDbMessage(duckdb_pending_error(impl_->pending))));
  }
  const duckdb_state state = duckdb_execute_pending(impl_->pending, &impl_->result);
  impl_->have_result = true;
  if (state == DuckDBError) {
    throw IoError(fmt::format("{}: {}", context, io::CleanDuckDbMessage(duckdb_result_error(&impl_->result))));
  }
}

ColumnReader::~ColumnReader() = default;

std::uint64_t ColumnReader::rows_read() const { return impl_->rows_read; }

bool ColumnReader::Next(ColumnBatch& batch) {
  Impl& impl = *impl_;
  const std::size_t capacity = impl.batch_rows;
  if (batch.capacity != capacity || batch.n_columns != impl.n_columns) {
    batch.capacity = capacity;
    batch.n_columns = impl.n_columns;
    batch.values.assign(capacity * impl.n_columns, 0.0);
    batch.is_null.assign(capacity * impl.n_columns, 0);
  }
  batch.first_row = impl.rows_read;
  batch.n_rows = 0;
  while (batch.n_rows < capacity && impl.EnsureChunk()) {
    const std::size_t take = std::min<std::size_t>(capacity - batch.n_rows, impl.chunk_size - impl.chunk_offset);
    for (std::size_t column_idx = 0; column_idx < impl.n_columns; ++column_idx) {
      duckdb_vector vector = duckdb_data_chunk_get_vector(impl.chunk, column_idx);
      const double* source = static_cast<const double*>(duckdb_vector_get_data(vector)) + impl.chunk_offset;
      const std::uint64_t* validity = duckdb_vector_get_validity(vector);
      double* values = batch.values.data() + column_idx * capacity + batch.n_rows;
      std::uint8_t* nulls = batch.is_null.data() + column_idx * capacity + batch.n_rows;
      std::memcpy(values, source, take * sizeof(double));
      if (validity == nullptr) {
        std::memset(nulls, 0, take);
      } else {
        for (std::size_t row = 0; row < take; ++row) {
          const idx_t source_row = impl.chunk_offset + row;
          const bool valid = (validity[source_row >> 6] >> (source_row & 63)) & 1ULL;
          nulls[row] = valid ? 0 : 1;
          if (!valid) values[row] = std::numeric_limits<double>::quiet_NaN();
        }
      }
    }
    impl.chunk_offset += take;
    batch.n_rows += take;
  }
  impl.rows_read += batch.n_rows;
  return batch.n_rows > 0;
}

}  // namespace descpipe
