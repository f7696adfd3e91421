// The CUDA entry points of the correlation sums (similarity/spearman.cu).
// Every function takes the GPU, its memory cap and the precision from ctx.gpu(), allocates what it
// needs from that cap (CudaError naming max_gpu_memory_gb when it does not fit) and releases
// everything before it returns. Defined in the .cu beside the .cpp that calls it; a build without
// CUDA defines it in that .cpp to throw CudaError (device/dispatch.hpp, NoCuda). Only standard C++
// types cross this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "descpipe/context.hpp"

namespace descpipe::cuda_impl {

/// The sums CorrelationAccumulator turns into correlations (see spearman.cpp for the formulas):
/// p x p `product` (upper triangle: element (i, j), i <= j, at [j * p + i]); per column `sum`
/// and `square` of the shifted values; for the k incomplete columns J, p x k (element (i, j) at
/// [j * p + i]) joint counts and the sums of column i and of column J_j over their joint rows.
struct CorrelationSums {
  std::vector<double> product, column_sum, column_square;
  std::vector<double> joint_count, sum_i, square_i, sum_j, square_j;
  double transfer_seconds = 0.0;  ///< host-to-device copies (CUDA events)
  double compute_seconds = 0.0;   ///< preparation kernels and matrix products (CUDA events)
  std::size_t tile_rows = 0;      ///< rows per device tile (from the memory cap)
};

/// CorrelationAccumulator's sums on the GPU: rows are gathered into pinned host tiles, copied to
/// the device (two tiles in flight) and multiplied there with cuBLAS (DSYRK/DGEMM at fp64;
/// SGEMM or TF32 tensor-core GEMM with fp64 accumulation across tiles at fp32/tf32).
class CorrelationSumsGpu {
 public:
  /// @param shift       per column, subtracted before the products
  /// @param incomplete  the columns that may have missing values, ascending
  /// @param expected_rows  rows that will be added (0: unknown); small tables get small tiles
  CorrelationSumsGpu(const std::vector<double>& shift, const std::vector<std::size_t>& incomplete,
                     std::uint64_t expected_rows, const Context& ctx);
  ~CorrelationSumsGpu();
  CorrelationSumsGpu(const CorrelationSumsGpu&) = delete;
  CorrelationSumsGpu& operator=(const CorrelationSumsGpu&) = delete;

  void Add(const double* const* columns, std::size_t rows);
  void Add(const float* const* columns, std::size_t rows);
  /// Multiplies the last partial tile and copies the sums back; call once.
  CorrelationSums Finish();
  std::size_t tile_rows() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Seconds of one cuBLAS product X^T X (DSYRK at fp64, SGEMM/TF32 GEMM otherwise) of a device
/// matrix of n x p, the best of `repeats` after a warm-up: the reference rate of the Gram step.
double GramReferenceSeconds(std::size_t n, std::size_t p, int repeats, const Context& ctx);

}  // namespace descpipe::cuda_impl
