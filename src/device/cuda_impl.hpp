// The CUDA backend's entry points (namespace cuda_impl), declared once for the CPU code that
// dispatches to them. Each is defined in a .cu file beside the .cpp that calls it (ranks.cu next
// to ranks.cpp, ...); a build without CUDA links device/cuda_stubs.cpp instead, whose functions
// throw CudaError("... built without CUDA support"). Only standard C++ types cross this header.
//
// Every function takes the GPU, its memory cap and the precision from ctx.gpu(), allocates what
// it needs from that cap (CudaError naming max_gpu_memory_gb when it does not fit) and releases
// everything before it returns (objects: in their destructor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "descpipe/column_matrix.hpp"
#include "descpipe/context.hpp"
#include "descpipe/device.hpp"

namespace descpipe::cuda_impl {

// ---- device/device.cu ----------------------------------------------------------------------
GpuInventory ListGpus();
std::string DescribeGpu(int id);

// ---- stats/ranks.cu ------------------------------------------------------------------------
/// Replaces every column of `matrix` by its average ranks among its finite values (NaN and +-inf
/// become NaN), as RankInPlace does, bit for bit: a radix sort per column on the GPU
/// (cub::DeviceRadixSort), ties found by run-length encoding.
void RankColumns(ColumnMatrix& matrix, const Context& ctx);

// ---- similarity/spearman.cu ----------------------------------------------------------------
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

// ---- similarity/nonlinear.cu ---------------------------------------------------------------
/// Receives one tile of A^T A: rows i0..i0+ni and columns j0..j0+nj (matrix columns of A), with
/// element (a, b) of the tile at product[b * ld + a]. Called on the calling thread, in order.
using ProductTileFn = std::function<void(std::size_t i0, std::size_t j0, std::size_t ni,
                                         std::size_t nj, const double* product, std::size_t ld)>;

/// Every tile (i0 <= j0) of A^T A for the column-major host matrix A (n x width, leading
/// dimension n), tiles of at most `tile_width` matrix columns, computed with DGEMM on the GPU.
/// Tile edges fall on multiples of `block` (tile_width and width are multiples of it), so no
/// block of `block` columns is split. A stays on the device when it fits the memory cap, else
/// its column tiles are streamed (narrower tiles when needed); each product tile is copied back
/// to pinned memory while the next one is computed.
void ForAllProductTiles(const double* a, std::size_t n, std::size_t width, std::size_t tile_width,
                        std::size_t block, const Context& ctx, const ProductTileFn& tile);

// ---- stats/vif.cu --------------------------------------------------------------------------
/// LAPACK's dpotrf("L") then dpotri("L") on the column-major m x m `matrix`, with cuSOLVER: the
/// lower triangle then holds the inverse of the symmetric positive-definite matrix, the upper is
/// left as it was. Returns false (matrix unspecified) when the Cholesky factorisation fails.
bool InvertSpd(double* matrix, std::size_t m, const Context& ctx);

}  // namespace descpipe::cuda_impl
