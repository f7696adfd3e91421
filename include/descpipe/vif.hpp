// Pass 3 kernel: iterative variance-inflation-factor elimination on a correlation matrix.
//
// VIF_j = [R^-1]_jj for the correlation matrix R of the current columns (1 / (1 - R^2_j) of the
// regression of column j on the others, with a constant). Columns that are exactly or nearly
// linear combinations of others (residual variance below `singular_tolerance`, i.e. VIF above
// 1 / singular_tolerance) get VIF = +inf and are removed first: columns are taken in quality
// order (best first) into an incremental Cholesky factor, and a column whose residual variance
// given the columns already taken is below the tolerance is singular. The remaining columns
// are positive definite; their inverse is updated after each removal by the Schur-complement
// downdate B' = B - b b^T / b_kk (O(p^2)) and refreshed from a fresh Cholesky inversion whenever
// a periodic check of |R B - I| exceeds `refresh_tolerance` (see IterativeVif).
#pragma once

#include <cstddef>
#include <limits>
#include <vector>

#include "descpipe/context.hpp"

namespace descpipe {

struct VifOptions {
  double threshold = 10.0;            ///< remove while the largest VIF exceeds this
  double singular_tolerance = 1e-10;  ///< residual variance under which a column is singular
  std::size_t check_every = 16;       ///< removals between accuracy checks of the inverse
  double refresh_tolerance = 1e-9;    ///< max |R B - I| entry tolerated before a refresh
};

struct VifRemoval {
  std::size_t column = 0;  ///< index into the input matrix
  double vif = 0.0;        ///< VIF at removal (+inf for singular columns)
  bool singular = false;
  /// Singular columns: the residual variance given the better columns taken before it. Near 0
  /// (|value| < singular_tolerance): a linear combination of them. Clearly negative: the
  /// correlation matrix is not positive definite there (pairwise-complete correlations need not
  /// be consistent with any data set), so no regression is defined; the column is removed for the
  /// same reason but is not shown to be a combination of the others. NaN for VIF removals.
  double residual_variance = std::numeric_limits<double>::quiet_NaN();
  /// The surviving column that explains it best: largest |partial correlation| given the other
  /// columns (VIF removals), or largest |regression coefficient| (singular ones). SIZE_MAX when
  /// no column is left to explain it.
  std::size_t absorbed_by = static_cast<std::size_t>(-1);
  double partial_correlation = std::numeric_limits<double>::quiet_NaN();
};

/// True when `removal` is singular because the matrix is not positive definite at its column
/// (residual variance below -tolerance), not because the column is a linear combination.
inline bool NotPositiveDefinite(const VifRemoval& removal, double singular_tolerance = 1e-10) {
  return removal.singular && removal.residual_variance < -singular_tolerance;
}

struct VifResult {
  std::vector<VifRemoval> removed;     ///< in removal order
  std::vector<std::size_t> survivors;  ///< ascending
  std::vector<double> final_vif;       ///< parallel to survivors
  std::size_t refreshes = 0;           ///< fresh inversions after the first
};

/// Bytes IterativeVif allocates at its peak for p columns: the lower Cholesky factor (only its
/// lower triangle is touched: half of p x p, rounded up to pages per row) and the p x p inverse.
inline double VifPeakBytes(std::size_t p) {
  const double n = static_cast<double>(p);
  return 4.0 * n * n + 4096.0 * n + 8.0 * n * n + 64.0 * n;
}

/// Iterative elimination on the symmetric p x p correlation matrix `correlation` (row-major;
/// NaN entries are treated as 0). `quality_rank[i]` is column i's position in the
/// representative-quality order (0 = best): VIFs within 1e-10 relative of the largest are ties
/// (equal VIFs differ in their last bits after inversion) and the worst-ranked of them goes
/// first (then the larger index); `pinned[i]` columns are never removed (they still take part in
/// every regression). The last column is never removed: alone, its VIF is 1.
/// Deterministic: no step depends on thread count or hash order.
VifResult IterativeVif(const double* correlation, std::size_t p,
                       const std::vector<std::size_t>& quality_rank,
                       const std::vector<bool>& pinned, const VifOptions& options);
/// The same; the inversions run on the GPU (cuSOLVER) when ctx.device() is kCuda.
VifResult IterativeVif(const double* correlation, std::size_t p,
                       const std::vector<std::size_t>& quality_rank,
                       const std::vector<bool>& pinned, const VifOptions& options,
                       const Context& ctx);

/// R^2 of the linear regression (with a constant) of each column `targets[t]` on the columns
/// `basis`, from the symmetric p x p correlation matrix alone: R^2 = r^T R_BB^-1 r with
/// r = R[basis, target] (NaN entries count as 0). When R_BB is not positive definite (pairwise
/// correlations), its pseudo-inverse is used (eigenvalues below 1e-10 x the largest dropped).
/// Results are clamped to [0, 1]; a target that is in the basis gets 1, an empty basis 0.
/// Cost: one k x k Cholesky and a k x m triangular solve (k = |basis|, m = |targets|), on one
/// BLAS thread (the same bits whatever the thread count).
std::vector<double> ExplainedVariance(const double* correlation, std::size_t p,
                                      const std::vector<std::size_t>& basis,
                                      const std::vector<std::size_t>& targets);

/// VIF of every column by a fresh inversion. When the Cholesky factorisation of R fails (R
/// singular or indefinite) every entry is +inf; otherwise a column whose 1 / VIF is below
/// `singular_tolerance` gets +inf. IterativeVif separates the dependent columns instead.
std::vector<double> ComputeVif(const double* correlation, std::size_t p,
                               double singular_tolerance = 1e-10);
/// The same; the inversion runs on the GPU (cuSOLVER) when ctx.device() is kCuda.
std::vector<double> ComputeVif(const double* correlation, std::size_t p, double singular_tolerance,
                               const Context& ctx);

}  // namespace descpipe
