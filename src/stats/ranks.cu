// Average ranks on the GPU (cuda_impl::RankColumns), equal bit for bit to RankInPlace.
//
// Per column: keys = the values with -0.0 folded into 0.0 and every non-finite value mapped to
// +inf (so the missing sort last), a radix sort of (key, row) pairs (cub::DeviceRadixSort), the
// runs of equal keys (cub::DeviceRunLengthEncode) and their starts (exclusive sum of the run
// lengths). Position i of the sorted order lies in run r, found by binary search over the starts,
// and gets rank start_r + (length_r + 1) / 2: the mean of the 1-based positions start_r + 1 ..
// start_r + length_r, exact in double. Missing rows get NaN.
#include <math_constants.h>

#include <algorithm>
#include <cmath>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_run_length_encode.cuh>
#include <cub/device/device_scan.cuh>
#include <limits>

#include "device/cuda_support.cuh"
#include "stats/ranks_cuda.hpp"

namespace descpipe::cuda_impl {
namespace {

__global__ void RankKeysKernel(const double* values, std::int64_t n, double* keys, int* rows) {
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const double value = values[i];
    keys[i] = isfinite(value) ? (value == 0.0 ? 0.0 : value) : CUDART_INF;
    rows[i] = static_cast<int>(i);
  }
}

__global__ void AverageRanksKernel(const double* sorted_keys, const int* sorted_rows,
                                   std::int64_t n, const int* run_starts, const int* run_lengths,
                                   const int* run_count, double* ranks) {
  const int runs = *run_count;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int row = sorted_rows[i];
    if (isinf(sorted_keys[i])) {
      ranks[row] = CUDART_NAN;
      continue;
    }
    int low = 0, high = runs - 1;  // the last run whose start is <= i
    while (low < high) {
      const int middle = (low + high + 1) / 2;
      if (run_starts[middle] <= i) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    ranks[row] =
        static_cast<double>(run_starts[low]) + (static_cast<double>(run_lengths[low]) + 1.0) * 0.5;
  }
}

}  // namespace

void RankColumns(ColumnMatrix& matrix, const Context& ctx) {
  const std::size_t n = matrix.n_rows, p = matrix.n_cols;
  if (n == 0 || p == 0) return;
  DESCPIPE_EXPECTS(n < static_cast<std::size_t>(std::numeric_limits<int>::max()),
                   "the GPU rank transform takes at most {} rows, got {}; use device: cpu",
                   std::numeric_limits<int>::max() - 1, n);
  DeviceMemory memory(ctx, "the GPU rank transform");
  Stream stream;
  const int items = static_cast<int>(n);

  // Scratch of one column: keys in and out (the input keys' buffer then holds the run keys),
  // rows in and out, run lengths and starts, the run count, and CUB's temporary storage.
  std::size_t sort_bytes = 0, encode_bytes = 0, scan_bytes = 0;
  DESCPIPE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
      nullptr, sort_bytes, static_cast<const double*>(nullptr), static_cast<double*>(nullptr),
      static_cast<const int*>(nullptr), static_cast<int*>(nullptr), items, 0, 64, stream.get()));
  DESCPIPE_CUDA_CHECK(cub::DeviceRunLengthEncode::Encode(
      nullptr, encode_bytes, static_cast<const double*>(nullptr), static_cast<double*>(nullptr),
      static_cast<int*>(nullptr), static_cast<int*>(nullptr), items, stream.get()));
  DESCPIPE_CUDA_CHECK(
      cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, static_cast<const int*>(nullptr),
                                    static_cast<int*>(nullptr), items, stream.get()));
  const std::size_t temp_bytes = std::max({sort_bytes, encode_bytes, scan_bytes, std::size_t{16}});
  const std::uint64_t scratch_bytes =
      n * (2 * sizeof(double) + 4 * sizeof(int)) + temp_bytes + sizeof(int);
  const std::uint64_t column_bytes = n * sizeof(double);
  if (memory.available() < scratch_bytes + column_bytes) {
    memory.ThrowTooSmall(scratch_bytes + column_bytes,
                         fmt::format("one column of {} rows and its sort", n));
  }
  const std::size_t group = std::min<std::size_t>(
      p, std::max<std::uint64_t>(1, (memory.available() - scratch_bytes) / column_bytes));
  DeviceArray<double> keys(memory, n, "sort keys"), sorted_keys(memory, n, "sorted keys");
  DeviceArray<int> rows(memory, n, "row indices"), sorted_rows(memory, n, "sorted row indices");
  DeviceArray<int> run_lengths(memory, n, "run lengths"), run_starts(memory, n, "run starts");
  DeviceArray<int> run_count(memory, 1, "run count");
  DeviceArray<unsigned char> temp(memory, temp_bytes, "CUB temporary storage");
  DeviceArray<double> columns(memory, group * n, "a group of columns");
  const DrainOnExit drain(stream);  // after the buffers: queued work ends before they are freed

  for (std::size_t first = 0; first < p; first += group) {
    const std::size_t count = std::min(group, p - first);
    DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(columns.data(), matrix.column(first),
                                        count * n * sizeof(double), cudaMemcpyHostToDevice,
                                        stream.get()));
    for (std::size_t col = 0; col < count; ++col) {
      double* column = columns.data() + col * n;
      RankKeysKernel<<<GridFor(n), 256, 0, stream.get()>>>(column, static_cast<std::int64_t>(n),
                                                           keys.data(), rows.data());
      DESCPIPE_CUDA_LAUNCHED();
      std::size_t bytes = temp_bytes;
      DESCPIPE_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(
          temp.data(), bytes, keys.data(), sorted_keys.data(), rows.data(), sorted_rows.data(),
          items, 0, 64, stream.get()));
      // Lengths beyond the run count are never read, but are defined for the scan that passes them.
      DESCPIPE_CUDA_CHECK(cudaMemsetAsync(run_lengths.data(), 0, n * sizeof(int), stream.get()));
      bytes = temp_bytes;
      DESCPIPE_CUDA_CHECK(cub::DeviceRunLengthEncode::Encode(
          temp.data(), bytes, sorted_keys.data(), keys.data(), run_lengths.data(), run_count.data(),
          items, stream.get()));
      bytes = temp_bytes;
      DESCPIPE_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(temp.data(), bytes, run_lengths.data(),
                                                        run_starts.data(), items, stream.get()));
      AverageRanksKernel<<<GridFor(n), 256, 0, stream.get()>>>(
          sorted_keys.data(), sorted_rows.data(), static_cast<std::int64_t>(n), run_starts.data(),
          run_lengths.data(), run_count.data(), column);
      DESCPIPE_CUDA_LAUNCHED();
    }
    DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(matrix.column(first), columns.data(),
                                        count * n * sizeof(double), cudaMemcpyDeviceToHost,
                                        stream.get()));
    stream.Synchronize();
  }
}

}  // namespace descpipe::cuda_impl
