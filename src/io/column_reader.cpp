// Streaming column batches out of DuckDB, re-cut to fixed-size batches, decoded ahead of the
// consumer by a background thread.
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>

#include "descpipe/error.hpp"
#include "descpipe/table.hpp"
#include "io/duckdb_handles.hpp"
#include "io/table_impl.hpp"

namespace descpipe {

std::size_t DefaultBatchRows(std::size_t n_columns) {
  const std::size_t kTargetBytes = 16ULL << 20;
  const std::size_t bytes_per_row = std::max<std::size_t>(1, n_columns) * (sizeof(double) + 1);
  std::size_t rows = kTargetBytes / bytes_per_row;
  rows = std::clamp<std::size_t>(rows, 1024, 16384);
  return rows / 256 * 256;
}

namespace {

/// "CAST("a" AS DOUBLE), ..."; columns for which `present` is false read as NULL.
template <typename Present>
std::string DoubleSelectList(const std::vector<std::string>& columns, Present present) {
  std::string select;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) select += ", ";
    select += present(columns[i]) ? fmt::format("CAST({} AS DOUBLE)", QuoteIdentifier(columns[i]))
                                  : std::string("CAST(NULL AS DOUBLE)");
  }
  return select;
}

/// One DuckDB streaming query, re-cut into batches of a fixed row count.
class BatchStream {
 public:
  BatchStream(const std::string& sql, std::size_t n_columns, std::size_t batch_rows,
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
  ~BatchStream() {
    if (chunk_ != nullptr) duckdb_destroy_data_chunk(&chunk_);
  }
  BatchStream(const BatchStream&) = delete;
  BatchStream& operator=(const BatchStream&) = delete;

  /// Fills `batch` with up to batch_rows rows; false when nothing is left.
  bool Fill(ColumnBatch& batch) {
    const std::size_t capacity = batch_rows_;
    if (batch.capacity != capacity || batch.n_columns != n_columns_) {
      batch.capacity = capacity;
      batch.n_columns = n_columns_;
      batch.values.assign(capacity * n_columns_, 0.0);
      batch.is_null.assign(capacity * n_columns_, 0);
    }
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

/// What a failed read of `table` is reported as: a Parquet file that DuckDB cannot decode is
/// damaged (converting its numeric columns to DOUBLE cannot fail), a CSV error names its line.
std::string ReadContext(const Table& table) {
  if (table.format() != FileFormat::kParquet) return fmt::format("reading {}", table.Describe());
  if (table.files().size() == 1) {
    return fmt::format("'{}' is not a readable Parquet file (damaged or truncated)",
                       table.files()[0].path);
  }
  return fmt::format("reading {} (a Parquet file is damaged or truncated)", table.Describe());
}

}  // namespace

struct ColumnReader::Impl {
  Impl(std::unique_ptr<BatchStream> stream_in, std::size_t prefetch_in)
      : stream(std::move(stream_in)), prefetch(prefetch_in) {
    if (prefetch > 0) {
      for (std::size_t i = 0; i < prefetch; ++i) free_batches.emplace_back();
      producer = std::thread([this] { Produce(); });
    }
  }
  ~Impl() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    changed.notify_all();
    if (producer.joinable()) producer.join();
  }

  void Produce() {
    try {
      while (true) {
        ColumnBatch batch;
        {
          std::unique_lock<std::mutex> lock(mutex);
          changed.wait(lock, [&] { return stop || !free_batches.empty(); });
          if (stop) return;
          batch = std::move(free_batches.front());
          free_batches.pop_front();
        }
        const bool more = stream->Fill(batch);  // DuckDB work, outside the lock
        std::lock_guard<std::mutex> lock(mutex);
        if (!more) {
          done = true;
          changed.notify_all();
          return;
        }
        full_batches.push_back(std::move(batch));
        changed.notify_all();
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      failure = std::current_exception();
      done = true;
      changed.notify_all();
    }
  }

  std::unique_ptr<BatchStream> stream;
  std::size_t prefetch;
  std::uint64_t rows_read = 0;
  std::thread producer;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<ColumnBatch> free_batches;
  std::deque<ColumnBatch> full_batches;
  bool done = false;
  bool stop = false;
  std::exception_ptr failure;
};

ColumnReader::ColumnReader(const Table& table, const std::vector<std::string>& columns,
                           std::size_t batch_rows, std::size_t prefetch) {
  DESCPIPE_ASSERT(!columns.empty() && batch_rows > 0);
  const std::string sql = fmt::format(
      "SELECT {} FROM {}", DoubleSelectList(columns, [](const std::string&) { return true; }),
      io::TableFunctionSql(table.files(), table.format()));
  impl_ = std::make_unique<Impl>(
      std::make_unique<BatchStream>(sql, columns.size(), batch_rows, 0, ReadContext(table)),
      prefetch);
}

ColumnReader::ColumnReader(const Table& table, const std::vector<std::string>& columns,
                           const ScanPartition& partition, std::size_t batch_rows,
                           std::size_t prefetch) {
  DESCPIPE_ASSERT(!columns.empty() && batch_rows > 0);
  if (partition.file_idx < 0) {
    const std::string sql = fmt::format(
        "SELECT {} FROM {}", DoubleSelectList(columns, [](const std::string&) { return true; }),
        io::TableFunctionSql(table.files(), table.format()));
    impl_ = std::make_unique<Impl>(
        std::make_unique<BatchStream>(sql, columns.size(), batch_rows, partition.first_global_row,
                                      ReadContext(table)),
        prefetch);
    return;
  }
  const auto file_idx = static_cast<std::size_t>(partition.file_idx);
  const InputFile& file = table.files().at(file_idx);
  // union_by_name: a column this file lacks reads as NULL.
  const std::string select = DoubleSelectList(
      columns, [&](const std::string& name) { return table.FileHasColumn(file_idx, name); });
  const std::string sql =
      fmt::format("SELECT {} FROM read_parquet({})", select, io::FileLiteral(file.path));
  impl_ = std::make_unique<Impl>(
      std::make_unique<BatchStream>(
          sql, columns.size(), batch_rows, partition.first_global_row,
          fmt::format("'{}' is not a readable Parquet file (damaged or truncated)", file.path)),
      prefetch);
}

ColumnReader::~ColumnReader() = default;

std::uint64_t ColumnReader::rows_read() const { return impl_->rows_read; }

bool ColumnReader::Next(ColumnBatch& batch) {
  Impl& impl = *impl_;
  bool more = false;
  if (impl.prefetch == 0) {
    more = impl.stream->Fill(batch);
  } else {
    std::unique_lock<std::mutex> lock(impl.mutex);
    impl.changed.wait(lock, [&] { return !impl.full_batches.empty() || impl.done; });
    if (!impl.full_batches.empty()) {
      // Hand the caller the decoded batch; its old buffer goes back to the producer.
      std::swap(batch, impl.full_batches.front());
      impl.free_batches.push_back(std::move(impl.full_batches.front()));
      impl.full_batches.pop_front();
      impl.changed.notify_all();
      more = true;
    } else if (impl.failure) {
      std::rethrow_exception(impl.failure);
    }
  }
  if (more) impl.rows_read += batch.n_rows;
  return more;
}

}  // namespace descpipe
