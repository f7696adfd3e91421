// Streaming column batches out of a table's source, decoded ahead of the consumer by a
// background thread when the source decodes.
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
#include "io/column_source.hpp"

namespace descpipe {

std::size_t DefaultBatchRows(std::size_t n_columns) {
  const std::size_t kTargetBytes = 16ULL << 20;
  const std::size_t bytes_per_row = std::max<std::size_t>(1, n_columns) * (sizeof(double) + 1);
  std::size_t rows = kTargetBytes / bytes_per_row;
  rows = std::clamp<std::size_t>(rows, 1024, 16384);
  return rows / 256 * 256;
}

void ColumnBatch::Reset(std::size_t n_cols, std::size_t rows) {
  if (capacity != rows || n_columns != n_cols) {
    capacity = rows;
    n_columns = n_cols;
    values.assign(capacity * n_columns, 0.0);
    is_null.assign(capacity * n_columns, 0);
  }
  column_data.resize(n_columns);
  null_data.resize(n_columns);
  for (std::size_t c = 0; c < n_columns; ++c) {
    column_data[c] = values.data() + c * capacity;
    null_data[c] = is_null.data() + c * capacity;
  }
}

struct ColumnReader::Impl {
  Impl(std::unique_ptr<io::BatchStream> stream_in, std::size_t prefetch_in)
      : stream(std::move(stream_in)), prefetch(stream->decodes() ? prefetch_in : 0) {
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

  std::unique_ptr<io::BatchStream> stream;
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
                           std::size_t batch_rows, std::size_t prefetch)
    : ColumnReader(table, columns, ScanPartition{}, batch_rows, prefetch) {}

ColumnReader::ColumnReader(const Table& table, const std::vector<std::string>& columns,
                           const ScanPartition& partition, std::size_t batch_rows,
                           std::size_t prefetch) {
  DESCPIPE_ASSERT(!columns.empty() && batch_rows > 0);
  impl_ = std::make_unique<Impl>(table.source().Scan(columns, partition, batch_rows), prefetch);
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
