// Nonlinear dependence of all pairs of columns (Pass 4): normalised HSIC and RDC on copulas.
//
// Both measures see a column only through its copula u = average rank / n_valid (in (0, 1]), so
// they are invariant under any strictly increasing transform, like Spearman's rho, but they
// also see non-monotone dependence (y = x^2 on symmetric x has rho ~ 0 and RDC ~ 1).
//
// - nHSIC(x, y) = HSIC(x, y) / sqrt(HSIC(x, x) HSIC(y, y)) with a Gaussian kernel of bandwidth
//   kHsicBandwidth on u, approximated by hsic_D random Fourier features shared by every column:
//   z(u) = [cos(w_1 u) .. cos(w_m u), sin(w_1 u) .. sin(w_m u)] / sqrt(m), m = hsic_D / 2,
//   w ~ N(0, 1 / bandwidth^2). HSIC(x, y) = ||Zc_x^T Zc_y||_F^2 with Zc the centred features.
//   The value lies in [0, 1]; identical columns give 1.
// - RDC (Lopez-Paz, Hennig and Schoelkopf, NIPS 2013, their reference code): features
//   f(u) = sin(s/2 * (W_1j u + W_2j)), j = 1..k, W ~ N(0, 1) (the random projection of [u, 1]),
//   then the largest canonical correlation between the feature sets of x and y. The CCA is
//   regularised: each column's feature covariance C gets a ridge rdc_ridge * max eigenvalue(C).
//   Every column of one draw uses the same W (so RDC is symmetric and identical columns give 1);
//   the result is the mean over rdc_seeds draws.
//
// All pairs at once: the features of every column are computed once, projected on an orthonormal
// basis of the feature functions over [0, 1] (directions whose share of the variance is below
// kBasisCutoff are dropped: the Gaussian kernel on an interval keeps 11 directions at the default
// bandwidth whatever hsic_D, the RDC sine family 3 to 4 whatever rdc_k), stacked into one
// rows x (p * r) matrix, and multiplied in fixed tiles by single-threaded BLAS calls run in
// parallel; each tile is reduced to its p x p entries at once. Memory: that matrix and one tile
// product per thread, never (p * k)^2. Results do not depend on the thread count.
//
// Missing values (NaN in the copula): a column's features are centred over its valid rows and a
// missing row contributes zero features (mean imputation in feature space), so a missing value
// adds nothing to any cross-covariance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/similarity.hpp"

namespace descpipe {

/// The median heuristic for a copula: the median distance |u - u'| between two independent
/// uniform values is 1 - 1/sqrt(2).
inline constexpr double kHsicBandwidth = 0.29289321881345248;
/// Basis directions whose eigenvalue is below this fraction of the largest are dropped.
inline constexpr double kBasisCutoff = 1e-14;

struct NonlinearOptions {
  int rdc_k = 20;            ///< random sine features per column and draw
  double rdc_s = 1.0 / 6.0;  ///< scale of the random projection
  int rdc_seeds = 5;         ///< draws averaged
  double rdc_ridge = 1e-10;  ///< CCA ridge, relative to each column's largest feature variance
  int hsic_D = 512;          ///< random Fourier features (even)
  double hsic_bandwidth = kHsicBandwidth;
  double w_hsic = 0.5;  ///< 0 skips HSIC
  double w_rdc = 0.5;   ///< 0 skips RDC
  std::uint64_t seed = 42;
  /// > 0 (and both weights > 0): RDC is computed first, and HSIC is planned around the pairs
  /// whose S can still reach this threshold: those whose S would be below it even with nHSIC = 1
  /// (RDC below (threshold (w_hsic + w_rdc) - w_hsic) / w_rdc) are unwanted. Product tiles with
  /// few wanted pairs multiply those pairs only; a wanted pair's value does not depend on
  /// screen_hsic, bit for bit. 0: every pair in whole tiles (no plan).
  double nonlinear_threshold = 0.0;
  /// With nonlinear_threshold: unwanted pairs get NaN for nHSIC and S, and their products are
  /// skipped where their tile is sparse. False: every pair has its nHSIC.
  bool screen_hsic = false;
  /// Memory the caller holds besides `copula` (its own matrices, the process), counted with what
  /// NonlinearDependence allocates against ctx.memory_limit_bytes().
  double held_bytes = 0.0;
};

/// How a product was computed, in tiles of columns (i <= j).
struct ProductTiles {
  std::uint64_t tiles = 0;     ///< in all
  std::uint64_t by_pairs = 0;  ///< sparse: their wanted pairs multiplied pair-run by pair-run
  std::uint64_t skipped = 0;   ///< sparse with no wanted pair, not multiplied (screening)
};

struct NonlinearResult {
  std::size_t n_cols = 0;
  std::vector<double> hsic;    ///< p x p nHSIC, row-major (empty when w_hsic == 0)
  std::vector<double> rdc;     ///< p x p RDC, row-major (empty when w_rdc == 0)
  std::vector<double> fused;   ///< (w_hsic * nHSIC + w_rdc * RDC) / (w_hsic + w_rdc)
  int rdc_k_used = 0;          ///< min(rdc_k, rows / 10, at least 1)
  std::size_t hsic_basis = 0;  ///< basis directions kept for HSIC
  std::size_t rdc_basis = 0;   ///< largest number of basis directions kept over the RDC draws
  /// Screening (options.screen_hsic): pairs i < j whose nHSIC and S are NaN because S could not
  /// reach the threshold.
  std::uint64_t screened_pairs = 0;
  ProductTiles hsic_tiles;       ///< how the HSIC product was computed
  double feature_seconds = 0.0;  ///< computing the stacked features (every family)
  double product_seconds = 0.0;  ///< the all-pairs products and their reduction (GPU or CPU)
};

/// Replaces each column by its copula: average rank (over the finite values) / number of finite
/// values; NaN and +-inf become NaN.
void CopulaTransform(ColumnMatrix& values, const Context& ctx);

/// The m = hsic_D / 2 frequencies w of the HSIC features (N(0, 1/bandwidth^2), seeded).
std::vector<double> HsicFrequencies(const NonlinearOptions& options);

/// The 2 x k projection of draw `draw` (0-based) of RDC, row-major: row 0 multiplies u, row 1 the
/// constant 1; entries N(0, 1), seeded. Features are sin(s/2 * (W[0][j] u + W[1][j])).
std::vector<double> RdcProjection(const NonlinearOptions& options, int draw, int k);

/// Basis directions assumed for memory plans before the bases are known: HSIC keeps 11 at the
/// default bandwidth, RDC 3 to 4 (NonlinearDependence checks the real count again).
inline constexpr std::size_t kPlannedDirections = 16;

/// Bytes NonlinearDependence allocates at its peak (not counting `copula`) for `rows` x `columns`
/// with `directions` basis directions per family: the stacked features (rows x columns x
/// directions), the p x p results and sums, one tile product and feature scratch per thread, and
/// the largest basis computation (hsic_D or rdc_k features on up to 8,192 grid points and their
/// Gram matrix and eigenvectors).
double NonlinearPeakBytes(std::size_t rows, std::size_t columns, std::size_t directions,
                          const NonlinearOptions& options, int threads);

/// Bytes of NonlinearDependence's largest basis computation for `rows` rows: hsic_D (or rdc_k)
/// features on up to 8,192 grid points, their Gram matrix and its eigenvectors. Included in
/// NonlinearPeakBytes; apart, it names the option to lower.
double NonlinearBasisBytes(std::size_t rows, const NonlinearOptions& options);

/// nHSIC, RDC and fused similarity of every pair of columns of `copula` (CopulaTransform output;
/// NaN = missing). The diagonal is 1 for a column that varies, 0 for one that does not (all its
/// valid values equal, or none valid: such a column scores 0 with every other).
/// Cost: O(hsic_D^3) once for the HSIC basis, then (p r)^2 rows / 2 multiply-adds per family.
/// Throws InvalidInput on bad options (hsic_D odd or < 2, rdc_k < 1, weights negative or both 0),
/// and, before allocating, when options.held_bytes, `copula` and the step about to allocate
/// would exceed ctx.memory_limit_bytes() (naming hsic_D, rdc_k, the rows and columns).
/// `progress` (optional) gets (tiles done, tiles in all) over every product, from any thread.
NonlinearResult NonlinearDependence(
    const ColumnMatrix& copula, const NonlinearOptions& options, const Context& ctx,
    const std::function<void(std::uint64_t, std::int64_t)>& progress = {});

}  // namespace descpipe
