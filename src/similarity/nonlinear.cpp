// nHSIC and RDC of all pairs of columns (see include/descpipe/nonlinear.hpp for the method).
//
// For one feature family (HSIC's Fourier features, or one RDC draw of sine features):
//  1. Basis: the family evaluated on the copula grid u = 1/n .. n/n (at most 8192 points),
//     centred; the eigenvectors of its d x d covariance whose eigenvalues exceed kBasisCutoff of
//     the largest span every feature function over [0, 1] to working precision (r << d).
//  2. Per column: its features projected on the basis (n x r), looked up in a table of the basis
//     values at every half-integer rank when the column is complete, computed directly when it
//     has missing values; centred over valid rows, missing rows zero. RDC whitens the block
//     (ridge-regularised), so canonical correlations are singular values of cross-products.
//  3. All pairs: the blocks side by side form A (n x p r); A^T A is computed in fixed tiles of
//     256 matrix columns, one single-threaded dgemm each, and each r x r block is reduced to
//     its pair's value at once (squared Frobenius norm for HSIC, largest singular value for RDC).
#include "descpipe/nonlinear.hpp"

#include <cblas.h>

#include <Eigen/Dense>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <tuple>
#include <utility>

#include "common/memory.hpp"
#include "common/memory_budget.hpp"
#include "common/parallel.hpp"
#include "common/single_threaded_blas.hpp"
#include "descpipe/error.hpp"
#include "device/dispatch.hpp"
#include "similarity/nonlinear_cuda.hpp"

namespace descpipe {
namespace {

constexpr std::size_t kTileWidth = 256;      ///< matrix columns of A per product tile
constexpr std::size_t kGpuTileWidth = 4096;  ///< the same on the GPU (one DGEMM per tile)
constexpr std::size_t kChunk = 2048;         ///< points evaluated per batch (at most 512 features)
constexpr std::size_t kMaxGrid = 8192;       ///< grid points for the basis (smooth functions of u)
constexpr double kPi = 3.14159265358979323846;

/// Points evaluated per batch for a family of `d` features: kChunk up to 512 features (the
/// default hsic_D), fewer beyond, so that a batch's d features stay within 8 MB.
std::size_t ChunkRows(std::size_t d) {
  return d <= 512 ? kChunk : std::max<std::size_t>(64, kChunk * 512 / d);
}

/// Bytes MakeBasis holds for `d` features over a table of `rows` rows: the features on the grid,
/// their d x d Gram matrix and the eigen-solver's copy of it (eigenvectors).
double BasisBytes(std::size_t d, std::size_t rows) {
  const double grid = static_cast<double>(std::min(rows, kMaxGrid)),
               features = static_cast<double>(d);
  return 8.0 * (grid * features + grid + 2.0 * features * features + 6.0 * features);
}

/// Bytes one thread holds while filling blocks and multiplying tiles: a batch of d features and
/// its projection (FillBlock, RankTable), the block's rank indices, and a tile product.
double ThreadScratchBytes(std::size_t d, std::size_t r, std::size_t rows) {
  const double chunk = static_cast<double>(ChunkRows(d));
  const double tile =
      static_cast<double>(std::max<std::size_t>(1, kTileWidth / std::max<std::size_t>(r, 1)) * r);
  return 8.0 * chunk * (static_cast<double>(d + r) + 3.0) + 8.0 * tile * tile +
         12.0 * static_cast<double>(rows);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small, portable, seeded generator.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1].
  double Uniform() { return (static_cast<double>(Next() >> 11) + 1.0) * 0x1.0p-53; }
  /// Standard normal (Box-Muller, one value per pair of uniforms: portable across libraries).
  double Normal() {
    const double radius = std::sqrt(-2.0 * std::log(Uniform()));
    return radius * std::cos(2.0 * kPi * Uniform());
  }

 private:
  std::uint64_t state_;
};

/// d feature functions of u, evaluated in batches: out is count x d, column-major (ld = count).
using FeatureFamily = std::function<void(const double* u, std::size_t count, double* out)>;

/// An orthonormal basis (d x r, column-major) of the centred feature functions over [0, 1].
struct Basis {
  std::size_t d = 0, r = 0;
  std::vector<double> vectors;
};

Basis MakeBasis(const FeatureFamily& family, std::size_t d, std::size_t rows) {
  // The copula grid of a complete column (u = i / rows), thinned to at most kMaxGrid points: the
  // features are smooth in u, so a finer grid adds cost, not directions.
  const std::size_t n = std::min(rows, kMaxGrid);
  std::vector<double> grid(n), features(n * d);
  for (std::size_t i = 0; i < n; ++i) grid[i] = static_cast<double>(i + 1) / static_cast<double>(n);
  family(grid.data(), n, features.data());
  for (std::size_t c = 0; c < d; ++c) {
    double* column = features.data() + c * n;
    const double mean = std::accumulate(column, column + n, 0.0) / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) column[i] -= mean;
  }
  Eigen::MatrixXd gram =
      Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(d), static_cast<Eigen::Index>(d));
  cblas_dsyrk(CblasColMajor, CblasLower, CblasTrans, static_cast<int>(d), static_cast<int>(n), 1.0,
              features.data(), static_cast<int>(n), 0.0, gram.data(), static_cast<int>(d));
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);  // reads the lower triangle
  DESCPIPE_ASSERT(solver.info() == Eigen::Success);
  const Eigen::VectorXd& values = solver.eigenvalues();  // ascending
  const double largest = values(values.size() - 1);
  Basis basis;
  basis.d = d;
  if (!(largest > 0.0)) return basis;
  for (Eigen::Index k = values.size() - 1; k >= 0 && values(k) > kBasisCutoff * largest; --k) {
    const Eigen::VectorXd v = solver.eigenvectors().col(k);
    basis.vectors.insert(basis.vectors.end(), v.data(), v.data() + d);
    ++basis.r;
  }
  return basis;
}

/// Projected features of `count` points: out (count x r, column-major) = F(u) V.
void Project(const FeatureFamily& family, const Basis& basis, const double* u, std::size_t count,
             std::vector<double>& scratch, double* out) {
  scratch.resize(count * basis.d);
  family(u, count, scratch.data());
  cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(count),
              static_cast<int>(basis.r), static_cast<int>(basis.d), 1.0, scratch.data(),
              static_cast<int>(count), basis.vectors.data(), static_cast<int>(basis.d), 0.0, out,
              static_cast<int>(count));
}

/// Basis values at u = h / (2n) for h = 0 .. 2n (every half-integer rank of a complete column):
/// r columns of 2n + 1 entries.
std::vector<double> RankTable(const FeatureFamily& family, const Basis& basis, std::size_t n) {
  const std::size_t size = 2 * n + 1;
  std::vector<double> table(size * basis.r);
  std::vector<double> u, scratch, out;
  const std::size_t chunk = ChunkRows(basis.d);
  for (std::size_t start = 0; start < size; start += chunk) {
    const std::size_t count = std::min(chunk, size - start);
    u.resize(count);
    for (std::size_t i = 0; i < count; ++i)
      u[i] = static_cast<double>(start + i) / static_cast<double>(2 * n);
    out.resize(count * basis.r);
    Project(family, basis, u.data(), count, scratch, out.data());
    for (std::size_t c = 0; c < basis.r; ++c)
      std::copy_n(out.data() + c * count, count, table.data() + c * size + start);
  }
  return table;
}

/// Fills `block` (n x r, column-major) with the centred, projected features of one copula column.
void FillBlock(const double* u, std::size_t n, const FeatureFamily& family, const Basis& basis,
               const std::vector<double>& table, std::vector<double>& scratch, double* block) {
  const std::size_t r = basis.r;
  std::size_t valid = 0;
  double lowest = std::numeric_limits<double>::infinity(), highest = -lowest;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isnan(u[i])) continue;
    ++valid;
    lowest = std::min(lowest, u[i]);
    highest = std::max(highest, u[i]);
  }
  if (valid == 0 || lowest == highest) {
    // No variation: exact zeros (centring would leave rounding residue that the normalisation
    // and the whitening would blow up into a spurious signal).
    std::fill_n(block, n * r, 0.0);
    return;
  }
  if (valid == n) {
    const std::size_t size = 2 * n + 1;
    std::vector<std::uint32_t> index(n);
    for (std::size_t i = 0; i < n; ++i) {
      index[i] = static_cast<std::uint32_t>(std::llround(u[i] * static_cast<double>(2 * n)));
      DESCPIPE_ASSERT(index[i] < size);
    }
    for (std::size_t c = 0; c < r; ++c) {
      const double* values = table.data() + c * size;
      double* target = block + c * n;
      for (std::size_t i = 0; i < n; ++i) target[i] = values[index[i]];
    }
  } else {
    std::fill_n(block, n * r, 0.0);
    std::vector<double> points, out;
    std::vector<std::size_t> rows;
    const std::size_t chunk = ChunkRows(basis.d);
    for (std::size_t start = 0; start < n; start += chunk) {
      const std::size_t end = std::min(n, start + chunk);
      points.clear();
      rows.clear();
      for (std::size_t i = start; i < end; ++i) {
        if (std::isnan(u[i])) continue;
        points.push_back(u[i]);
        rows.push_back(i);
      }
      if (points.empty()) continue;
      out.resize(points.size() * r);
      Project(family, basis, points.data(), points.size(), scratch, out.data());
      for (std::size_t c = 0; c < r; ++c) {
        for (std::size_t k = 0; k < rows.size(); ++k)
          block[c * n + rows[k]] = out[c * points.size() + k];
      }
    }
  }
  for (std::size_t c = 0; c < r; ++c) {
    double* column = block + c * n;
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += std::isnan(u[i]) ? 0.0 : column[i];
    const double mean = sum / static_cast<double>(valid);
    for (std::size_t i = 0; i < n; ++i) column[i] = std::isnan(u[i]) ? 0.0 : column[i] - mean;
  }
}

/// Replaces `block` (n x r) by its ridge-whitened version: B U diag(1 / sqrt(e + lambda)) for the
/// eigen-decomposition B^T B = U diag(e) U^T, lambda = ridge * max(e). Then the singular values of
/// the cross-product of two whitened blocks are the regularised canonical correlations.
void Whiten(double* block, std::size_t n, std::size_t r, double ridge) {
  Eigen::Map<Eigen::MatrixXd> b(block, static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(r));
  const Eigen::MatrixXd gram = b.transpose() * b;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram);
  DESCPIPE_ASSERT(solver.info() == Eigen::Success);
  const Eigen::VectorXd values = solver.eigenvalues().cwiseMax(0.0);
  const double largest = values.size() > 0 ? values.maxCoeff() : 0.0;
  if (!(largest > 0.0)) {
    b.setZero();
    return;
  }
  const double lambda = ridge * largest;
  Eigen::VectorXd scale(values.size());
  for (Eigen::Index k = 0; k < values.size(); ++k)
    scale(k) = values(k) > 0.0 ? 1.0 / std::sqrt(values(k) + lambda) : 0.0;
  const Eigen::MatrixXd transform = solver.eigenvectors() * scale.asDiagonal();
  const Eigen::MatrixXd whitened = b * transform;
  b = whitened;
}

/// ForAllBlocks with the products on the GPU (cuda_impl::ForAllProductTiles). Progress counts
/// pairs of columns (i <= j) reduced.
template <typename Reduce>
void ForAllBlocksOnGpu(const double* a, std::size_t n, std::size_t p, std::size_t r,
                       const Context& ctx, const Reduce& reduce,
                       const std::function<void(std::uint64_t, std::int64_t)>& progress) {
  const std::size_t per_tile = std::max<std::size_t>(1, kGpuTileWidth / r);
  const auto pairs_total = static_cast<std::int64_t>(p * (p + 1) / 2);
  std::uint64_t pairs_done = 0;
  cuda_impl::ForAllProductTiles(
      a, n, p * r, per_tile * r, r, ctx,
      [&](std::size_t i0, std::size_t j0, std::size_t ni, std::size_t nj, const double* product,
          std::size_t ld) {
        const std::size_t block_i0 = i0 / r, block_j0 = j0 / r, blocks_i = ni / r,
                          blocks_j = nj / r;
        const auto n_work = static_cast<std::int64_t>(blocks_j);
        FirstFailure failure;
        std::uint64_t pairs = 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx.threads()) reduction(+ : pairs)
        for (std::int64_t jj = 0; jj < n_work; ++jj) {
          failure.Run([&] {
            const std::size_t j = block_j0 + static_cast<std::size_t>(jj);
            for (std::size_t ii = 0; ii < blocks_i && block_i0 + ii <= j; ++ii) {
              reduce(block_i0 + ii, j, product + (static_cast<std::size_t>(jj) * r) * ld + ii * r,
                     ld);
              ++pairs;
            }
          });
        }
        failure.Rethrow();
        pairs_done += pairs;
        if (progress) progress(pairs_done, pairs_total);
      });
}

/// Which pairs a product plan computes how (NonlinearDependence's HSIC with a threshold).
/// `wanted` (p x p, symmetric) marks the pairs whose value matters; a tile off the diagonal with
/// fewer than a quarter of its pairs wanted is sparse, and its wanted pairs are multiplied as runs
/// of consecutive wanted columns: one DGEMM of (run's columns)^T x (one column) each. The plan
/// depends on `wanted` only, so a wanted pair's value is the same call, and the same bits, whether
/// or not the other pairs are computed. `screen`: the other pairs of sparse tiles are not
/// computed (NaN for the caller); otherwise they come from the whole tile's product.
struct ProductPlan {
  const std::vector<std::uint8_t>* wanted = nullptr;
  bool screen = false;
};

/// Every r x r block (i, j), i <= j, of A^T A for A = [block_0 .. block_{p-1}] (n x p r), passed to
/// reduce(i, j, pointer to the block, leading dimension) from any thread; each (i, j) once. With a
/// plan, a wanted pair of a sparse tile gets the transpose of its block (its run's product), and
/// with plan.screen the unwanted pairs of sparse tiles are not passed at all.
/// On the GPU (ctx.device() == kCuda) the products run there in tiles of about kGpuTileWidth
/// matrix columns, every tile and every block, whatever the plan, and each tile's blocks are
/// reduced here by `threads` threads.
template <typename Reduce>
ProductTiles ForAllBlocks(const double* a, std::size_t n, std::size_t p, std::size_t r,
                          const Context& ctx, const Reduce& reduce,
                          const std::function<void(std::uint64_t, std::int64_t)>& progress,
                          const ProductPlan& plan = {}) {
  const int threads = ctx.threads();
  const bool on_gpu = OnDevice(
      ctx,
      [&] {
        ForAllBlocksOnGpu(a, n, p, r, ctx, reduce, progress);
        return true;
      },
      [] { return false; });
  const std::size_t per_tile = std::max<std::size_t>(1, kTileWidth / r);
  const std::size_t n_tiles = (p + per_tile - 1) / per_tile;
  ProductTiles counts;
  counts.tiles = n_tiles * (n_tiles + 1) / 2;
  if (on_gpu) return counts;
  auto wanted = [&](std::size_t i, std::size_t j) {
    return plan.wanted == nullptr || (*plan.wanted)[i * p + j] != 0;
  };
  struct Work {
    std::size_t ti, tj;
    bool whole;  // multiply the whole tile
    bool runs;   // multiply the wanted pairs run by run (a sparse tile)
  };
  std::vector<Work> work;
  for (std::size_t ti = 0; ti < n_tiles; ++ti) {
    for (std::size_t tj = ti; tj < n_tiles; ++tj) {
      if (plan.wanted == nullptr || ti == tj) {
        work.push_back({ti, tj, true, false});
        continue;
      }
      std::size_t count = 0;
      const std::size_t i_end = std::min(p, (ti + 1) * per_tile);
      const std::size_t j_end = std::min(p, (tj + 1) * per_tile);
      for (std::size_t i = ti * per_tile; i < i_end; ++i) {
        for (std::size_t j = tj * per_tile; j < j_end; ++j) count += wanted(i, j) ? 1 : 0;
      }
      const std::size_t pairs = (i_end - ti * per_tile) * (j_end - tj * per_tile);
      if (4 * count >= pairs) {
        work.push_back({ti, tj, true, false});
      } else if (count > 0 || !plan.screen) {
        work.push_back({ti, tj, !plan.screen, count > 0});
        counts.by_pairs += count > 0 ? 1 : 0;
      } else {
        ++counts.skipped;
      }
    }
  }
  const auto n_work = static_cast<std::int64_t>(work.size());
  std::atomic<std::int64_t> done{0};
  std::mutex progress_mutex;
  FirstFailure failure;
#pragma omp parallel num_threads(threads)
  {
    std::vector<double> product(per_tile * r * per_tile * r);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t w = 0; w < n_work; ++w) {
      failure.Run([&] {
        const Work& item = work[static_cast<std::size_t>(w)];
        const std::size_t ti = item.ti, tj = item.tj;
        const std::size_t i0 = ti * per_tile, j0 = tj * per_tile;
        const std::size_t ni = std::min(per_tile, p - i0), nj = std::min(per_tile, p - j0);
        if (item.whole) {
          const std::size_t ld = ni * r;
          cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(ni * r),
                      static_cast<int>(nj * r), static_cast<int>(n), 1.0, a + i0 * r * n,
                      static_cast<int>(n), a + j0 * r * n, static_cast<int>(n), 0.0, product.data(),
                      static_cast<int>(ld));
          for (std::size_t jj = 0; jj < nj; ++jj) {
            for (std::size_t ii = 0; ii < ni; ++ii) {
              if (ti == tj && ii > jj) continue;
              if (item.runs && wanted(i0 + ii, j0 + jj)) continue;  // from its run, below
              reduce(i0 + ii, j0 + jj, product.data() + (jj * r) * ld + ii * r, ld);
            }
          }
        }
        if (item.runs) {
          for (std::size_t i = i0; i < i0 + ni; ++i) {
            for (std::size_t j = j0; j < j0 + nj;) {
              if (!wanted(i, j)) {
                ++j;
                continue;
              }
              std::size_t end = j + 1;
              while (end < j0 + nj && wanted(i, end)) ++end;
              const std::size_t ld = (end - j) * r;
              cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, static_cast<int>(ld),
                          static_cast<int>(r), static_cast<int>(n), 1.0, a + j * r * n,
                          static_cast<int>(n), a + i * r * n, static_cast<int>(n), 0.0,
                          product.data(), static_cast<int>(ld));
              for (std::size_t k = j; k < end; ++k) reduce(i, k, product.data() + (k - j) * r, ld);
              j = end;
            }
          }
        }
        const std::int64_t finished = ++done;
        if (progress) {
          std::lock_guard<std::mutex> lock(progress_mutex);
          progress(static_cast<std::uint64_t>(finished) + counts.skipped,
                   static_cast<std::int64_t>(counts.tiles));
        }
      });
    }
  }
  failure.Rethrow();
  return counts;
}

/// Storage of the stacked features, reused by every family: no zero-fill (every element is
/// written before it is read) and no fresh page faults for each RDC draw.
class FeatureBuffer {
 public:
  /// At least `size` doubles. The first allocation reserves `planned` (address space only: pages
  /// are touched as features are written), so RDC's narrow features, computed first, and HSIC's
  /// wider ones share one allocation and each page is faulted in once.
  double* Reserve(std::size_t size, std::size_t planned) {
    if (size > capacity_) {
      const std::size_t capacity = std::max(size, planned);
      data_.reset();  // release before allocating the larger buffer
      data_.reset(new double[capacity]);
      AdviseHugePages(data_.get(), capacity * sizeof(double));
      capacity_ = capacity;
    }
    return data_.get();
  }

 private:
  std::unique_ptr<double[]> data_;
  std::size_t capacity_ = 0;
};

/// A = the blocks of every column under `family` (whitened with `ridge` when >= 0), in `buffer`.
/// Checks `ctx`'s stop flag before each column (a stop is rethrown after the parallel region).
const double* StackedFeatures(const ColumnMatrix& copula, const FeatureFamily& family,
                              const Basis& basis, double ridge, int threads, FeatureBuffer& buffer,
                              const Context& ctx) {
  const std::size_t n = copula.n_rows, p = copula.n_cols, r = basis.r;
  const std::vector<double> table = RankTable(family, basis, n);
  double* a = buffer.Reserve(n * p * r, n * p * kPlannedDirections);
  const auto n_columns = static_cast<std::int64_t>(p);
  FirstFailure failure;
#pragma omp parallel num_threads(threads)
  {
    std::vector<double> scratch;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t col = 0; col < n_columns; ++col) {
      failure.Run([&] {
        ctx.ThrowIfStopped();
        const auto j = static_cast<std::size_t>(col);
        double* block = a + j * r * n;
        FillBlock(copula.column(j), n, family, basis, table, scratch, block);
        if (ridge >= 0.0) Whiten(block, n, r, ridge);
      });
    }
  }
  failure.Rethrow();
  return a;
}

void CheckOptions(const NonlinearOptions& options) {
  DESCPIPE_EXPECTS(
      options.hsic_D >= 2 && options.hsic_D % 2 == 0,
      "hsic_D must be an even number >= 2 (cosine and sine of hsic_D / 2 frequencies), got {}",
      options.hsic_D);
  DESCPIPE_EXPECTS(options.rdc_k >= 1, "rdc_k must be >= 1, got {}", options.rdc_k);
  DESCPIPE_EXPECTS(options.rdc_seeds >= 1, "rdc_seeds must be >= 1, got {}", options.rdc_seeds);
  DESCPIPE_EXPECTS(options.rdc_s > 0.0 && std::isfinite(options.rdc_s), "rdc_s must be > 0, got {}",
                   options.rdc_s);
  DESCPIPE_EXPECTS(options.rdc_ridge >= 0.0 && options.rdc_ridge < 1.0,
                   "rdc_ridge must be in [0, 1), got {}", options.rdc_ridge);
  DESCPIPE_EXPECTS(options.hsic_bandwidth > 0.0 && std::isfinite(options.hsic_bandwidth),
                   "the HSIC bandwidth must be > 0, got {}", options.hsic_bandwidth);
  DESCPIPE_EXPECTS(
      options.w_hsic >= 0.0 && options.w_rdc >= 0.0 && options.w_hsic + options.w_rdc > 0.0,
      "w_hsic and w_rdc must be >= 0 and not both 0, got {} and {}", options.w_hsic, options.w_rdc);
}

}  // namespace

double NonlinearPeakBytes(std::size_t rows, std::size_t columns, std::size_t directions,
                          const NonlinearOptions& options, int threads) {
  const double square = 8.0 * static_cast<double>(columns) * static_cast<double>(columns);
  const double features = 8.0 * static_cast<double>(rows) * static_cast<double>(columns) *
                          static_cast<double>(directions);
  const double table =
      8.0 * (2.0 * static_cast<double>(rows) + 1.0) * static_cast<double>(directions);
  const double workers = std::max(1, threads);
  const auto hsic_d = static_cast<std::size_t>(std::max(options.hsic_D, 2));
  const auto rdc_k =
      static_cast<std::size_t>(std::max(1, std::min(options.rdc_k, static_cast<int>(rows / 10))));
  double peak = 0.0;
  if (options.w_hsic > 0.0) {  // hsic, then the basis, the fill, the products (with `raw`)
    peak = std::max(
        {square + BasisBytes(hsic_d, rows) + 4.0 * static_cast<double>(hsic_d),
         square + features + table + workers * ThreadScratchBytes(hsic_d, directions, rows),
         2.0 * square + features + workers * ThreadScratchBytes(1, directions, 0)});
  }
  if (options.w_rdc > 0.0) {  // hsic, rdc and sum held; then one draw's basis, fill, products
    const double held = (options.w_hsic > 0.0 ? square : 0.0) + 2.0 * square;
    peak =
        std::max({peak, held + BasisBytes(rdc_k, rows),
                  held + features + table + workers * ThreadScratchBytes(rdc_k, directions, rows),
                  held + square + features + workers * ThreadScratchBytes(1, directions, 0)});
  }
  return std::max(peak, 3.0 * square);  // hsic, rdc and fused
}

double NonlinearBasisBytes(std::size_t rows, const NonlinearOptions& options) {
  const auto rdc_k =
      static_cast<std::size_t>(std::max(1, std::min(options.rdc_k, static_cast<int>(rows / 10))));
  const auto hsic_d = static_cast<std::size_t>(std::max(options.hsic_D, 2));
  return std::max(
      options.w_hsic > 0.0 ? BasisBytes(hsic_d, rows) + 4.0 * static_cast<double>(hsic_d) : 0.0,
      options.w_rdc > 0.0 ? BasisBytes(rdc_k, rows) : 0.0);
}

void CopulaTransform(ColumnMatrix& values, const Context& ctx) {
  const auto n_columns = static_cast<std::int64_t>(values.n_cols);
  FirstFailure failure;
#pragma omp parallel num_threads(ctx.threads())
  {
    RankScratch scratch;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t col = 0; col < n_columns; ++col) {
      failure.Run([&] {  // scratch growth may fail: carried out of the parallel region
        ctx.ThrowIfStopped();
        double* column = values.column(static_cast<std::size_t>(col));
        const std::size_t valid = RankInPlace(column, values.n_rows, scratch);
        for (std::size_t i = 0; i < values.n_rows; ++i) column[i] /= static_cast<double>(valid);
      });
    }
  }
  failure.Rethrow();
}

std::vector<double> HsicFrequencies(const NonlinearOptions& options) {
  Random random(options.seed ^ 0x48534943'00000000ULL);  // "HSIC"
  std::vector<double> w(static_cast<std::size_t>(options.hsic_D / 2));
  for (double& value : w) value = random.Normal() / options.hsic_bandwidth;
  return w;
}

std::vector<double> RdcProjection(const NonlinearOptions& options, int draw, int k) {
  Random random((options.seed ^ 0x52444300'00000000ULL) +
                0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(draw + 1));
  std::vector<double> w(2 * static_cast<std::size_t>(k));
  for (double& value : w) value = random.Normal();
  return w;
}

NonlinearResult NonlinearDependence(
    const ColumnMatrix& copula, const NonlinearOptions& options, const Context& ctx,
    const std::function<void(std::uint64_t, std::int64_t)>& progress) {
  CheckOptions(options);
  const std::size_t n = copula.n_rows, p = copula.n_cols;
  NonlinearResult result;
  result.n_cols = p;
  result.rdc_k_used = std::max(1, std::min(options.rdc_k, static_cast<int>(n / 10)));
  SingleThreadedBlas single_threaded;
  const int threads = ctx.threads();
  // Every allocation that grows with the options or the table is checked before it is made.
  const double held = options.held_bytes + 8.0 * static_cast<double>(n) * static_cast<double>(p);
  const double square = 8.0 * static_cast<double>(p) * static_cast<double>(p);
  std::size_t directions = 0;  // the most basis directions of a family so far (the buffer's width)
  auto require_features = [&](std::size_t r, const char* family) {
    directions = std::max(directions, r);
    const double needed = held + NonlinearPeakBytes(n, p, directions, options, threads);
    RequireMemory(needed, ctx.memory_limit_bytes(),
                  fmt::format("pass 4 needs {} for the {} features of {} rows x {} columns ({} "
                              "basis directions each)",
                              FormatBytes(needed), family, n, p, r),
                  "lower nonlinear_max_rows");
  };
  {
    const double matrices = (options.w_rdc > 0.0 ? 3.0 : 2.0) + (options.w_hsic > 0.0 ? 1.0 : 0.0);
    const double needed = held + matrices * square;
    RequireMemory(needed, ctx.memory_limit_bytes(),
                  fmt::format("pass 4 needs {} for its {} x {} similarity matrices of {} columns",
                              FormatBytes(needed), p, p, p),
                  "remove columns");
  }
  if (options.w_hsic > 0.0 && n >= 2) {
    const double needed = held + square + BasisBytes(static_cast<std::size_t>(options.hsic_D), n) +
                          4.0 * static_cast<double>(options.hsic_D);
    RequireMemory(
        needed, ctx.memory_limit_bytes(),
        fmt::format(
            "pass 4 needs {} for the nHSIC basis of hsic_D = {} random features (a {} x {} Gram "
            "matrix and its eigenvectors)",
            FormatBytes(needed), options.hsic_D, options.hsic_D, options.hsic_D),
        "lower hsic_D");
  }
  FeatureBuffer buffer;  // one allocation for every family's stacked features

  // Progress over every tile of every product (HSIC once, RDC once per draw).
  const std::int64_t rounds =
      (options.w_hsic > 0.0 ? 1 : 0) + (options.w_rdc > 0.0 ? options.rdc_seeds : 0);
  std::int64_t round = 0;
  auto round_progress = [&](std::uint64_t done, std::int64_t total) {
    if (progress) progress(static_cast<std::uint64_t>(round * total) + done, rounds * total);
  };

  if (options.w_rdc > 0.0) {
    result.rdc.assign(p * p, 0.0);
    if (n >= 2) {
      const int k = result.rdc_k_used;
      std::vector<double> sum(p * p, 0.0);
      std::vector<bool> varies(p, false);
      for (int draw = 0; draw < options.rdc_seeds; ++draw) {
        const std::vector<double> w = RdcProjection(options, draw, k);
        const double scale = options.rdc_s / 2.0;
        FeatureFamily family = [&w, k, scale](const double* u, std::size_t count, double* out) {
          for (int j = 0; j < k; ++j) {
            double* f = out + static_cast<std::size_t>(j) * count;
            const double slope = scale * w[static_cast<std::size_t>(j)];
            const double offset = scale * w[static_cast<std::size_t>(k + j)];
            for (std::size_t i = 0; i < count; ++i) f[i] = std::sin(slope * u[i] + offset);
          }
        };
        if (draw == 0) {
          const double needed = held + (options.w_hsic > 0.0 ? 3.0 : 2.0) * square +
                                BasisBytes(static_cast<std::size_t>(k), n);
          RequireMemory(needed, ctx.memory_limit_bytes(),
                        fmt::format("pass 4 needs {} for the RDC basis of rdc_k = {} features (a "
                                    "{} x {} Gram matrix)",
                                    FormatBytes(needed), k, k, k),
                        "lower rdc_k");
        }
        const Basis basis = MakeBasis(family, static_cast<std::size_t>(k), n);
        result.rdc_basis = std::max(result.rdc_basis, basis.r);
        if (basis.r > 0) {
          require_features(basis.r, "RDC");
          auto start = std::chrono::steady_clock::now();
          const double* a =
              StackedFeatures(copula, family, basis, options.rdc_ridge, threads, buffer, ctx);
          result.feature_seconds += SecondsSince(start);
          start = std::chrono::steady_clock::now();
          const std::size_t r = basis.r;
          std::vector<double> draw_value(p * p, 0.0);
          ForAllBlocks(
              a, n, p, r, ctx,
              [&](std::size_t i, std::size_t j, const double* block, std::size_t ld) {
                Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> m(
                    block, static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(r),
                    Eigen::OuterStride<>(static_cast<Eigen::Index>(ld)));
                const Eigen::MatrixXd gram = m.transpose() * m;
                Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram, Eigen::EigenvaluesOnly);
                const double top = std::sqrt(std::max(0.0, solver.eigenvalues().maxCoeff()));
                draw_value[i * p + j] = draw_value[j * p + i] = std::min(1.0, top);
              },
              round_progress);
          result.product_seconds += SecondsSince(start);
          for (std::size_t i = 0; i < p; ++i) varies[i] = varies[i] || draw_value[i * p + i] > 0.0;
          for (std::size_t e = 0; e < p * p; ++e) sum[e] += draw_value[e];
        }
        ++round;
      }
      for (std::size_t i = 0; i < p; ++i) {
        for (std::size_t j = 0; j < p; ++j) {
          result.rdc[i * p + j] =
              i == j ? (varies[i] ? 1.0 : 0.0) : sum[i * p + j] / options.rdc_seeds;
        }
      }
    }
  }

  // The HSIC plan: with nHSIC <= 1, S <= (w_hsic + w_rdc RDC) / (w_hsic + w_rdc), computed as
  // the fused value below is; rounding is monotone, so a pair whose bound is below the threshold
  // has S below it too, whatever its nHSIC. The other pairs are "wanted" (ForAllBlocks), and with
  // screening the unwanted ones get NaN for nHSIC and S.
  const bool planned = options.nonlinear_threshold > 0.0 && options.w_hsic > 0.0 &&
                       options.w_rdc > 0.0 && !result.rdc.empty() && n >= 2;
  const bool screening = planned && options.screen_hsic;
  std::vector<std::uint8_t> wanted;
  if (planned) {
    wanted.assign(p * p, 1);
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = i + 1; j < p; ++j) {
        double bound = 0.0;
        bound += options.w_hsic * 1.0;
        bound += options.w_rdc * result.rdc[i * p + j];
        bound /= options.w_hsic + options.w_rdc;
        if (bound < options.nonlinear_threshold) {
          wanted[i * p + j] = wanted[j * p + i] = 0;
          if (screening) ++result.screened_pairs;
        }
      }
    }
  }

  if (options.w_hsic > 0.0) {
    result.hsic.assign(p * p, 0.0);
    if (n >= 2) {
      const std::vector<double> w = HsicFrequencies(options);
      const std::size_t m = w.size();
      const double norm = 1.0 / std::sqrt(static_cast<double>(m));
      FeatureFamily family = [&w, m, norm](const double* u, std::size_t count, double* out) {
        for (std::size_t f = 0; f < m; ++f) {
          double* c = out + f * count;
          double* s = out + (m + f) * count;
          for (std::size_t i = 0; i < count; ++i) {
            const double angle = w[f] * u[i];
            c[i] = std::cos(angle) * norm;
            s[i] = std::sin(angle) * norm;
          }
        }
      };
      const Basis basis = MakeBasis(family, 2 * m, n);
      result.hsic_basis = basis.r;
      if (basis.r > 0) {
        require_features(basis.r, "nHSIC");
        auto start = std::chrono::steady_clock::now();
        const double* a =
            StackedFeatures(copula, family, basis, /*ridge=*/-1.0, threads, buffer, ctx);
        result.feature_seconds += SecondsSince(start);
        start = std::chrono::steady_clock::now();
        std::vector<double> raw(p * p, 0.0);
        const std::size_t r = basis.r;
        result.hsic_tiles = ForAllBlocks(
            a, n, p, r, ctx,
            [&](std::size_t i, std::size_t j, const double* block, std::size_t ld) {
              double sum = 0.0;
              for (std::size_t c = 0; c < r; ++c) {
                for (std::size_t k = 0; k < r; ++k) sum += block[c * ld + k] * block[c * ld + k];
              }
              raw[i * p + j] = raw[j * p + i] = sum;
            },
            round_progress, ProductPlan{planned ? &wanted : nullptr, screening});
        result.product_seconds += SecondsSince(start);
        for (std::size_t i = 0; i < p; ++i) {
          for (std::size_t j = 0; j < p; ++j) {
            const double denominator = std::sqrt(raw[i * p + i] * raw[j * p + j]);
            double value = denominator > 0.0 ? raw[i * p + j] / denominator : 0.0;
            if (i == j) value = raw[i * p + i] > 0.0 ? 1.0 : 0.0;
            result.hsic[i * p + j] = std::clamp(value, 0.0, 1.0);
            if (screening && wanted[i * p + j] == 0) result.hsic[i * p + j] = std::nan("");
          }
        }
      }
      ++round;
    }
  }

  const double total = options.w_hsic + options.w_rdc;
  result.fused.assign(p * p, 0.0);
  for (std::size_t e = 0; e < p * p; ++e) {
    double value = 0.0;
    if (!result.hsic.empty()) value += options.w_hsic * result.hsic[e];
    if (!result.rdc.empty()) value += options.w_rdc * result.rdc[e];
    result.fused[e] = value / total;
  }
  return result;
}

#ifndef DESCPIPE_USE_CUDA
namespace cuda_impl {
void ForAllProductTiles(const double*, std::size_t, std::size_t, std::size_t, std::size_t,
                        const Context&, const ProductTileFn&) {
  NoCuda("the GPU HSIC/RDC products");
}
}  // namespace cuda_impl
#endif

}  // namespace descpipe
