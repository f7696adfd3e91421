// Spearman correlation of all pairs from a rank matrix, with BLAS matrix products.
//
// For columns i, j and the rows J where both are valid, Pearson's r of the ranks is
//   (P_ij - S_ij S_ji / N_ij) / sqrt((Q_ij - S_ij^2 / N_ij) (Q_ji - S_ji^2 / N_ij))
// with N_ij = |J|, S_ij = sum_J r_i, Q_ij = sum_J r_i^2, P_ij = sum_J r_i r_j. With X the ranks
// (0 where missing), M the validity mask and X2 = X * X element-wise:
//   N = M^T M,  S = X^T M,  Q = X2^T M,  P = X^T X.
// Pairs of complete columns need only P (N, S and Q are per-column constants); the masked
// products are taken against the incomplete columns only, so their cost scales with how many
// columns have missing values. Within a row tile, an incomplete column j missing on few rows
// L_j (at most 1/16 of the tile) skips the products: with X and X2 zero where a value is missing,
//   N_ij = sum_T M_i - sum_{L_j} M_i,   S_ij = sum_T X_i - sum_{L_j} X_i,   (Q alike with X2)
//   S_ji = sum_T X_j - sum_{L_i} X_j    (L_i empty for a complete column i),
// which costs p |L_j| reads instead of 10 p |T| flops (a 1%-missing column: ~50x less work).
// The matrix is read once, in row tiles of 512 rows copied (shifted, masked) into buffers:
// extra memory is three tiles and four p x p sums, never another n x p matrix.
//
// Determinism: the output is cut into fixed 256-column tiles, each computed by one
// single-threaded BLAS call (tiles run in parallel), and row tiles of 512 rows are accumulated in
// order, so every element is summed in the same order whatever the thread count.
#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>

#include "common/numbers.hpp"
#include "common/single_threaded_blas.hpp"
#include "descpipe/error.hpp"
#include "descpipe/similarity.hpp"
#include "device/dispatch.hpp"
#include "similarity/spearman_cuda.hpp"

namespace descpipe {
namespace {

constexpr std::size_t kColumnTile = 256;
constexpr std::size_t kRowTile = 512;
/// Dense incomplete columns multiplied per call (a multiple of kColumnTile).
constexpr std::size_t kDenseChunk = 512;
static_assert(kDenseChunk % kColumnTile == 0);

/// One product C (a_cols x b_cols, column-major, ldc = a_cols) += A^T B for column-major A
/// (rows x a_cols) and B (rows x b_cols), both with leading dimension `rows`. With `upper_only`
/// (A == B) only the upper triangle is computed.
struct Product {
  const double* a;
  std::size_t a_cols;
  const double* b;
  std::size_t b_cols;
  double* c;
  bool upper_only;
};

/// Runs every 256 x 256 output tile of every product in one parallel loop, each tile one
/// single-threaded BLAS call: dgemm, or dsyrk (half the work) on the diagonal of A^T A.
void AddProducts(const std::vector<Product>& products, std::size_t rows, int threads) {
  struct Tile {
    const Product* product;
    std::size_t i0, j0;
  };
  std::vector<Tile> tiles;
  for (const Product& product : products) {
    for (std::size_t i0 = 0; i0 < product.a_cols; i0 += kColumnTile) {
      for (std::size_t j0 = product.upper_only ? i0 : 0; j0 < product.b_cols; j0 += kColumnTile) {
        tiles.push_back({&product, i0, j0});
      }
    }
  }
  const auto n_work = static_cast<std::int64_t>(tiles.size());
  const int ld = static_cast<int>(rows);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (std::int64_t t = 0; t < n_work; ++t) {
    const Product& product = *tiles[t].product;
    const std::size_t i0 = tiles[t].i0, j0 = tiles[t].j0;
    const auto ni = static_cast<int>(std::min(kColumnTile, product.a_cols - i0));
    const auto nj = static_cast<int>(std::min(kColumnTile, product.b_cols - j0));
    const auto ldc = static_cast<int>(product.a_cols);
    if (product.upper_only && i0 == j0) {
      cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, ni, ld, 1.0, product.a + i0 * rows, ld,
                  1.0, product.c + i0 * product.a_cols + i0, ldc);
    } else {
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, ni, nj, ld, 1.0, product.a + i0 * rows,
                  ld, product.b + j0 * rows, ld, 1.0, product.c + j0 * product.a_cols + i0, ldc);
    }
  }
}

double Correlation(double n, double s_i, double s_j, double q_i, double q_j, double p_ij) {
  if (n < 2.0) return kNaN;
  const double var_i = q_i - s_i * s_i / n;
  const double var_j = q_j - s_j * s_j / n;
  // Below a few ulps of the sum of squares the "variance" is rounding noise of a column that is
  // constant on these rows.
  constexpr double kNoise = 16.0 * std::numeric_limits<double>::epsilon();
  if (!(var_i > kNoise * q_i) || !(var_j > kNoise * q_j)) return kNaN;
  // var_i * var_j over- or underflows on columns of huge (1e100) or tiny (1e-120) deviations:
  // the product of the square roots then, not a silent 0 or +-1.
  const double variance_product = var_i * var_j;
  const double denominator = std::isnormal(variance_product) ? std::sqrt(variance_product)
                                                             : std::sqrt(var_i) * std::sqrt(var_j);
  const double r = (p_ij - s_i * s_j / n) / denominator;
  return std::clamp(r, -1.0, 1.0);
}

}  // namespace

struct CorrelationAccumulator::Impl {
  std::size_t p = 0;
  int threads = 1;
  std::vector<double> shift;
  std::vector<std::size_t> incomplete;  // columns with missing values
  std::vector<std::size_t> slot;        // position of a column in `incomplete`, or SIZE_MAX
  std::size_t fill = 0;                 // rows in the current tile
  std::uint64_t rows_seen = 0;
  // P = X^T X (upper tiles), column sums and squares of the complete columns, and for the
  // incomplete columns J (p x k each, element (i, j) at [j * p + i]):
  //   joint_count = M^T M_J, sum_i = X^T M_J, square_i = X2^T M_J,
  //   sum_j = M^T X_J, square_j = M^T X2_J   (sums of r_i / r_j over the rows where both are
  //   valid).
  std::vector<double> product, column_sum, column_square;
  std::vector<double> joint_count, sum_i, square_i, sum_j, square_j;
  // The current tile, column-major with leading dimension kRowTile while it fills.
  std::vector<double> x, mask, x2, mask_j, x_j, x2_j;
  // Per tile: the rows where each incomplete column is missing; which of them take the products
  // (dense) and which the corrections (sparse); the products of the dense ones (p x dense each,
  // added into the sums above); the column totals of the tile (valid count, sum, square).
  std::vector<std::vector<std::uint32_t>> missing_rows;
  std::vector<std::size_t> dense, sparse;
  std::vector<double> tile_count, tile_sum, tile_square;
  std::vector<double> dense_count, dense_sum_i, dense_square_i, dense_sum_j, dense_square_j;
  // The GPU's sums (docs/GPU.md) instead of the CPU buffers above, when the device is CUDA.
  std::unique_ptr<cuda_impl::CorrelationSumsGpu> gpu;
  /// The run's stop flag (Context::stop_flag), checked before each row tile; nullptr: none.
  const std::atomic<bool>* stop = nullptr;

  /// Columns, shifts and which columns are incomplete; the CPU's sums and tile buffers unless
  /// the sums are taken on the GPU.
  void Init(std::vector<double> shifts, const std::vector<bool>& is_incomplete, int thread_count,
            bool cpu_buffers);

  template <typename T>
  void Add(const T* const* columns, std::size_t rows) {
    if (gpu) {
      gpu->Add(columns, rows);
      rows_seen += rows;
      return;
    }
    std::size_t done = 0;
    while (done < rows) {
      const std::size_t take = std::min(kRowTile - fill, rows - done);
      const bool masked = !incomplete.empty();
      // One column per task: each column's sums are accumulated by one thread, in row order.
#pragma omp parallel for schedule(static) num_threads(threads)
      for (std::size_t col = 0; col < p; ++col) {
        const T* source = columns[col] + done;
        double* target = x.data() + col * kRowTile + fill;
        double* target_mask = masked ? mask.data() + col * kRowTile + fill : nullptr;
        double* target_square = masked ? x2.data() + col * kRowTile + fill : nullptr;
        double sum = column_sum[col];
        double square = column_square[col];
        for (std::size_t r = 0; r < take; ++r) {
          const double raw = static_cast<double>(source[r]);
          const bool valid = std::isfinite(raw);
          const double value = valid ? raw - shift[col] : 0.0;
          target[r] = value;
          sum += value;
          square += value * value;
          if (masked) {
            target_mask[r] = valid ? 1.0 : 0.0;
            target_square[r] = value * value;
          }
        }
        column_sum[col] = sum;
        column_square[col] = square;
      }
      fill += take;
      done += take;
      if (fill == kRowTile) Flush();
    }
    rows_seen += rows;
  }

  /// Multiplies the current tile into the sums. A partial (last) tile is first packed to its
  /// row count, so BLAS sees the same shapes as for a table that ends there.
  void Flush() {
    if (fill == 0) return;
    ThrowIfStopped(stop);  // a tile takes < 0.2 s
    const std::size_t rows = fill;
    auto pack = [&](std::vector<double>& buffer, std::size_t cols) {
      if (rows == kRowTile) return;
      for (std::size_t col = 1; col < cols; ++col) {
        std::copy_n(buffer.data() + col * kRowTile, rows, buffer.data() + col * rows);
      }
    };
    pack(x, p);
    std::vector<Product> products = {{x.data(), p, x.data(), p, product.data(), true}};
    const std::size_t k = incomplete.size();
    if (k == 0) {
      AddProducts(products, rows, threads);
      fill = 0;
      return;
    }
    pack(mask, p);
    pack(x2, p);
    dense.clear();
    sparse.clear();
    for (std::size_t j = 0; j < k; ++j) {
      const double* m = mask.data() + incomplete[j] * rows;
      std::vector<std::uint32_t>& missing = missing_rows[j];
      missing.clear();
      for (std::size_t r = 0; r < rows; ++r) {
        if (m[r] == 0.0) missing.push_back(static_cast<std::uint32_t>(r));
      }
      (missing.size() * 16 > rows ? dense : sparse).push_back(j);
    }
    // The dense columns' products go through buffers of kDenseChunk columns (p x kDenseChunk
    // each, not p x k): a chunk boundary is a multiple of the 256-column output tile, so every
    // tile is the same BLAS call as without chunks and the sums are the same, bit for bit.
    const std::size_t kd = dense.size();
    if (kd == 0) AddProducts(products, rows, threads);
    const auto n_columns = static_cast<std::int64_t>(p);
    for (std::size_t c0 = 0; c0 < kd; c0 += kDenseChunk) {
      const std::size_t cn = std::min(kDenseChunk, kd - c0);
      for (std::size_t t = 0; t < cn; ++t) {
        const std::size_t col = incomplete[dense[c0 + t]];
        std::copy_n(mask.data() + col * rows, rows, mask_j.data() + t * rows);
        std::copy_n(x.data() + col * rows, rows, x_j.data() + t * rows);
        std::copy_n(x2.data() + col * rows, rows, x2_j.data() + t * rows);
      }
      for (std::vector<double>* buffer :
           {&dense_count, &dense_sum_i, &dense_square_i, &dense_sum_j, &dense_square_j}) {
        std::fill_n(buffer->data(), p * cn, 0.0);
      }
      products.push_back({mask.data(), p, mask_j.data(), cn, dense_count.data(), false});
      products.push_back({x.data(), p, mask_j.data(), cn, dense_sum_i.data(), false});
      products.push_back({x2.data(), p, mask_j.data(), cn, dense_square_i.data(), false});
      products.push_back({mask.data(), p, x_j.data(), cn, dense_sum_j.data(), false});
      products.push_back({mask.data(), p, x2_j.data(), cn, dense_square_j.data(), false});
      AddProducts(products, rows, threads);  // the first chunk's call also takes P = X^T X
      products.clear();
      // One column i per task: every sum (s, i) is updated by one thread, in a fixed order.
#pragma omp parallel for schedule(static) num_threads(threads)
      for (std::int64_t ii = 0; ii < n_columns; ++ii) {
        const auto i = static_cast<std::size_t>(ii);
        for (std::size_t t = 0; t < cn; ++t) {
          const std::size_t e = dense[c0 + t] * p + i, f = t * p + i;
          joint_count[e] += dense_count[f];
          sum_i[e] += dense_sum_i[f];
          square_i[e] += dense_square_i[f];
          sum_j[e] += dense_sum_j[f];
          square_j[e] += dense_square_j[f];
        }
      }
    }
    if (!sparse.empty()) {
#pragma omp parallel for schedule(static) num_threads(threads)
      for (std::int64_t ii = 0; ii < n_columns; ++ii) {
        const auto i = static_cast<std::size_t>(ii);
        const double* xi = x.data() + i * rows;
        const double* mi = mask.data() + i * rows;
        const double* x2i = x2.data() + i * rows;
        double count = 0.0, sum = 0.0, square = 0.0;
        for (std::size_t r = 0; r < rows; ++r) {
          count += mi[r];
          sum += xi[r];
          square += x2i[r];
        }
        tile_count[i] = count;
        tile_sum[i] = sum;
        tile_square[i] = square;
      }
    }
    if (!sparse.empty()) {
      const std::vector<std::uint32_t> none;
#pragma omp parallel for schedule(static) num_threads(threads)
      for (std::int64_t ii = 0; ii < n_columns; ++ii) {
        const auto i = static_cast<std::size_t>(ii);
        const double* xi = x.data() + i * rows;
        const double* mi = mask.data() + i * rows;
        const double* x2i = x2.data() + i * rows;
        const std::vector<std::uint32_t>& missing_i =
            slot[i] == SIZE_MAX ? none : missing_rows[slot[i]];
        for (const std::size_t s : sparse) {
          double lost_count = 0.0, lost_sum = 0.0, lost_square = 0.0;
          for (const std::uint32_t r : missing_rows[s]) {
            lost_count += mi[r];
            lost_sum += xi[r];
            lost_square += x2i[r];
          }
          const std::size_t j = incomplete[s];
          const double* xj = x.data() + j * rows;
          const double* x2j = x2.data() + j * rows;
          double lost_sum_j = 0.0, lost_square_j = 0.0;
          for (const std::uint32_t r : missing_i) {
            lost_sum_j += xj[r];
            lost_square_j += x2j[r];
          }
          const std::size_t e = s * p + i;
          joint_count[e] += tile_count[i] - lost_count;
          sum_i[e] += tile_sum[i] - lost_sum;
          square_i[e] += tile_square[i] - lost_square;
          sum_j[e] += tile_sum[j] - lost_sum_j;
          square_j[e] += tile_square[j] - lost_square_j;
        }
      }
    }
    fill = 0;
  }
};

void CorrelationAccumulator::Impl::Init(std::vector<double> shifts,
                                        const std::vector<bool>& is_incomplete, int thread_count,
                                        bool cpu_buffers) {
  Impl& s = *this;
  s.p = shifts.size();
  DESCPIPE_ASSERT(is_incomplete.size() == s.p);
  s.threads = thread_count;
  s.shift = std::move(shifts);
  s.slot.assign(s.p, SIZE_MAX);
  for (std::size_t col = 0; col < s.p; ++col) {
    if (is_incomplete[col]) {
      s.slot[col] = s.incomplete.size();
      s.incomplete.push_back(col);
    }
  }
  if (!cpu_buffers) return;
  const std::size_t p = s.p, k = s.incomplete.size();
  s.product.assign(p * p, 0.0);
  s.column_sum.assign(p, 0.0);
  s.column_square.assign(p, 0.0);
  s.x.resize(kRowTile * p);
  if (k > 0) {
    s.joint_count.assign(p * k, 0.0);
    s.sum_i.assign(p * k, 0.0);
    s.square_i.assign(p * k, 0.0);
    s.sum_j.assign(p * k, 0.0);
    s.square_j.assign(p * k, 0.0);
    s.mask.resize(kRowTile * p);
    s.x2.resize(kRowTile * p);
    const std::size_t chunk = std::min(k, kDenseChunk);
    s.mask_j.resize(kRowTile * chunk);
    s.x_j.resize(kRowTile * chunk);
    s.x2_j.resize(kRowTile * chunk);
    s.missing_rows.resize(k);
    s.tile_count.resize(p);
    s.tile_sum.resize(p);
    s.tile_square.resize(p);
    for (std::vector<double>* buffer :
         {&s.dense_count, &s.dense_sum_i, &s.dense_square_i, &s.dense_sum_j, &s.dense_square_j}) {
      buffer->resize(p * chunk);
    }
  }
}

CorrelationAccumulator::CorrelationAccumulator(std::vector<double> shift,
                                               const std::vector<bool>& incomplete, int threads)
    : impl_(std::make_unique<Impl>()) {
  impl_->Init(std::move(shift), incomplete, threads, /*cpu_buffers=*/true);
}

CorrelationAccumulator::CorrelationAccumulator(std::vector<double> shift,
                                               const std::vector<bool>& incomplete,
                                               const Context& ctx, std::uint64_t expected_rows)
    : impl_(std::make_unique<Impl>()) {
  const bool on_gpu = OnDevice(
      ctx, [&] { return !shift.empty(); },  // no columns: nothing for the GPU
      [] { return false; });
  impl_->Init(std::move(shift), incomplete, ctx.threads(), /*cpu_buffers=*/!on_gpu);
  impl_->stop = ctx.stop_flag();
  if (on_gpu) {
    impl_->gpu = std::make_unique<cuda_impl::CorrelationSumsGpu>(impl_->shift, impl_->incomplete,
                                                                 expected_rows, ctx);
  }
}

CorrelationAccumulator::~CorrelationAccumulator() = default;

void CorrelationAccumulator::Add(const double* const* columns, std::size_t rows) {
  SingleThreadedBlas blas_guard;
  impl_->Add(columns, rows);
}

void CorrelationAccumulator::Add(const float* const* columns, std::size_t rows) {
  SingleThreadedBlas blas_guard;
  impl_->Add(columns, rows);
}

std::vector<double> CorrelationAccumulator::Finish() {
  Impl& s = *impl_;
  if (s.gpu) {
    cuda_impl::CorrelationSums sums = s.gpu->Finish();
    s.gpu.reset();  // the device memory is released before the host work below
    s.product = std::move(sums.product);
    s.column_sum = std::move(sums.column_sum);
    s.column_square = std::move(sums.column_square);
    s.joint_count = std::move(sums.joint_count);
    s.sum_i = std::move(sums.sum_i);
    s.square_i = std::move(sums.square_i);
    s.sum_j = std::move(sums.sum_j);
    s.square_j = std::move(sums.square_j);
  } else {
    SingleThreadedBlas blas_guard;
    s.Flush();
  }
  const std::size_t p = s.p;
  // The sums are of plain doubles: a column whose squared deviations from its shift overflow
  // (values near +-1e308) or fall below the normal range (values near 1e-300) would give NaN or
  // wrong correlations. Not with ranks; with values (Pearson), an error, never a silent result.
  constexpr double kLowestSquares = 0x1p-960;
  for (std::size_t col = 0; col < p; ++col) {
    const double sum = s.column_sum[col], square = s.column_square[col];
    if (!std::isfinite(sum) || !std::isfinite(square) ||
        (square < kLowestSquares && (square > 0.0 || sum != 0.0))) {
      throw NumericalError(fmt::format(
          "correlation of column {} of {}: the sum of its squared deviations from the mean is {} "
          "(shift {}), outside the range of doubles; Pearson correlation of values this close to "
          "the ends of the double range (about 1e150 and 1e-145) is not supported: use "
          "vif_correlation: spearman",
          col, p, square, s.shift[col]));
    }
  }
  std::vector<double> result(p * p, kNaN);
  const double rows = static_cast<double>(s.rows_seen);
  for (std::size_t j = 0; j < p; ++j) {
    for (std::size_t i = 0; i <= j; ++i) {
      double r = kNaN;
      const double p_ij = s.product[j * p + i];
      if (s.slot[j] != SIZE_MAX) {
        const std::size_t e = s.slot[j] * p + i;  // (i, column j of J)
        r = Correlation(s.joint_count[e], s.sum_i[e], s.sum_j[e], s.square_i[e], s.square_j[e],
                        p_ij);
      } else if (s.slot[i] != SIZE_MAX) {
        const std::size_t e = s.slot[i] * p + j;  // (j, column i of J): roles swapped
        r = Correlation(s.joint_count[e], s.sum_j[e], s.sum_i[e], s.square_j[e], s.square_i[e],
                        p_ij);
      } else {
        r = Correlation(rows, s.column_sum[i], s.column_sum[j], s.column_square[i],
                        s.column_square[j], p_ij);
      }
      result[i * p + j] = r;
      result[j * p + i] = r;
    }
  }
  return result;
}

double CorrelationPeakBytes(std::size_t columns, std::size_t incomplete) {
  const double p = static_cast<double>(columns),
               k = static_cast<double>(std::min(incomplete, columns));
  const double chunk = std::min(k, static_cast<double>(kDenseChunk));
  const double tile = static_cast<double>(kRowTile);
  // P and the result (Finish allocates it while the sums are alive), per-column vectors, the tile.
  double doubles = 2.0 * p * p + 6.0 * p + tile * p;
  if (k > 0) {
    // Five p x k sums, mask and X2 tiles, the dense chunk's copies and products, tile totals.
    doubles += 5.0 * p * k + 2.0 * tile * p + 3.0 * tile * chunk + 5.0 * p * chunk + 3.0 * p;
  }
  const double missing_rows = k * (24.0 + 4.0 * tile);  // row lists of the incomplete columns
  return 8.0 * doubles + missing_rows;
}

namespace {

/// Shifts (mean of the finite values; for ranks exactly (count + 1) / 2) and incompleteness of
/// every column, then one pass of the accumulator over the whole matrix.
template <typename T>
std::vector<double> CorrelationOfColumns(const BasicColumnMatrix<T>& matrix, const Context& ctx) {
  const std::size_t n = matrix.n_rows;
  const std::size_t p = matrix.n_cols;
  DESCPIPE_ASSERT(matrix.values.size() == n * p);
  if (p == 0 || n == 0) return std::vector<double>(p * p, kNaN);
  std::vector<double> shift(p, 0.0);
  std::vector<bool> incomplete(p, false);
  std::vector<const T*> columns(p);
  for (std::size_t col = 0; col < p; ++col) {
    const T* x = matrix.column(col);
    columns[col] = x;
    std::size_t valid = 0;
    double sum = 0.0;
    for (std::size_t row = 0; row < n; ++row) {
      const double value = static_cast<double>(x[row]);
      if (std::isfinite(value)) {
        ++valid;
        sum += value;
      }
    }
    shift[col] = valid > 0 ? sum / static_cast<double>(valid) : 0.0;
    incomplete[col] = valid < n;
  }
  CorrelationAccumulator accumulator(std::move(shift), incomplete, ctx, n);
  accumulator.Add(columns.data(), n);
  return accumulator.Finish();
}

}  // namespace

std::vector<double> PearsonMatrix(const ColumnMatrix& values, const Context& ctx) {
  return CorrelationOfColumns(values, ctx);  // the same computation on values instead of ranks
}

std::vector<double> SpearmanFromRanks(const ColumnMatrix& ranks, const Context& ctx) {
  return CorrelationOfColumns(ranks, ctx);
}

std::vector<double> SpearmanFromRanks(const FloatRankMatrix& ranks, const Context& ctx) {
  return CorrelationOfColumns(ranks, ctx);
}

#ifndef DESCPIPE_USE_CUDA
namespace cuda_impl {
struct CorrelationSumsGpu::State {};
CorrelationSumsGpu::CorrelationSumsGpu(const std::vector<double>&, const std::vector<std::size_t>&,
                                       std::uint64_t, const Context&) {
  NoCuda("the GPU correlation sums");
}
CorrelationSumsGpu::~CorrelationSumsGpu() = default;
void CorrelationSumsGpu::Add(const double* const*, std::size_t) {
  NoCuda("the GPU correlation sums");
}
void CorrelationSumsGpu::Add(const float* const*, std::size_t) {
  NoCuda("the GPU correlation sums");
}
CorrelationSums CorrelationSumsGpu::Finish() { NoCuda("the GPU correlation sums"); }
std::size_t CorrelationSumsGpu::tile_rows() const { return 0; }
double GramReferenceSeconds(std::size_t, std::size_t, int, const Context&) {
  NoCuda("the cuBLAS reference product");
}
}  // namespace cuda_impl
#endif

}  // namespace descpipe
