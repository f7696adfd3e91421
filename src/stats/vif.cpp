// Iterative VIF elimination (see include/descpipe/vif.hpp for the method).
#include "descpipe/vif.hpp"

#include <cblas.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>

#include "common/numbers.hpp"
#include "common/single_threaded_blas.hpp"
#include "descpipe/error.hpp"
#include "device/dispatch.hpp"
#include "stats/vif_cuda.hpp"

extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotri_(const char* uplo, const int* n, double* a, const int* lda, int* info);
}

namespace descpipe {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);
constexpr double kVifTie = 1e-10;  ///< relative difference under which two VIFs tie

double Entry(const double* r, std::size_t p, std::size_t i, std::size_t j) {
  const double value = r[i * p + j];
  return std::isnan(value) ? 0.0 : value;
}

/// Inverse of the symmetric positive definite submatrix of `r` on `columns` (full, row-major).
/// Returns false when Cholesky fails (not positive definite at working precision).
bool InvertSubmatrix(const double* r, std::size_t p, const std::vector<std::size_t>& columns,
                     std::vector<double>& inverse, const Context& ctx) {
  const std::size_t m = columns.size();
  inverse.assign(m * m, 0.0);
  for (std::size_t a = 0; a < m; ++a) {
    for (std::size_t b = 0; b < m; ++b) inverse[a * m + b] = Entry(r, p, columns[a], columns[b]);
    inverse[a * m + a] = 1.0;
  }
  if (m == 0) return true;
  const int n = static_cast<int>(m);
  int info = 0;
  const bool inverted = OnDevice(
      ctx, [&] { return cuda_impl::InvertSpd(inverse.data(), m, ctx); },
      [&] {
        SingleThreadedBlas blas_guard;
        dpotrf_("L", &n, inverse.data(), &n, &info);  // column-major lower == row-major upper
        if (info != 0) return false;
        dpotri_("L", &n, inverse.data(), &n, &info);
        return info == 0;
      });
  if (!inverted) return false;
  for (std::size_t a = 0; a < m; ++a) {  // mirror the computed triangle
    for (std::size_t b = a + 1; b < m; ++b) inverse[b * m + a] = inverse[a * m + b];
  }
  return true;
}

/// Largest |(R B - I)_ij| over a few columns of B (the check of the downdated inverse).
double InverseError(const double* r, std::size_t p, const std::vector<std::size_t>& columns,
                    const std::vector<double>& inverse, std::size_t ld, std::size_t probes) {
  const std::size_t m = columns.size();
  double worst = 0.0;
  for (std::size_t probe = 0; probe < std::min(probes, m); ++probe) {
    const std::size_t j = (probe * 7919) % m;  // fixed, spread-out columns
    for (std::size_t a = 0; a < m; ++a) {
      double sum = 0.0;
      for (std::size_t b = 0; b < m; ++b) {
        sum += (a == b ? 1.0 : Entry(r, p, columns[a], columns[b])) * inverse[b * ld + j];
      }
      worst = std::max(worst, std::fabs(sum - (a == j ? 1.0 : 0.0)));
    }
  }
  return worst;
}

}  // namespace

std::vector<double> ExplainedVariance(const double* correlation, std::size_t p,
                                      const std::vector<std::size_t>& basis,
                                      const std::vector<std::size_t>& targets) {
  const std::size_t k = basis.size();
  const std::size_t m = targets.size();
  std::vector<double> r2(m, 0.0);
  if (k == 0 || m == 0) return r2;
  // Column-major k x k matrix R_BB and k x m right-hand sides r.
  Eigen::MatrixXd gram(k, k);
  Eigen::MatrixXd rhs(k, m);
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t b = 0; b < k; ++b)
      gram(a, b) = a == b ? 1.0 : Entry(correlation, p, basis[a], basis[b]);
    for (std::size_t t = 0; t < m; ++t)
      rhs(a, t) = basis[a] == targets[t] ? 1.0 : Entry(correlation, p, basis[a], targets[t]);
  }
  const int n = static_cast<int>(k);
  int info = 0;
  Eigen::MatrixXd factor = gram;
  {
    SingleThreadedBlas blas_guard;
    dpotrf_("L", &n, factor.data(), &n, &info);
    // A pivot this small is a (near) linear dependence within the basis: the solve would amplify
    // rounding, so the pseudo-inverse below decides instead.
    for (int a = 0; a < n && info == 0; ++a) {
      if (factor(a, a) * factor(a, a) < 1e-10) info = a + 1;
    }
    if (info == 0) {
      cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n,
                  static_cast<int>(m), 1.0, factor.data(), n, rhs.data(), n);
    }
  }
  if (info == 0) {
    for (std::size_t t = 0; t < m; ++t) r2[t] = rhs.col(static_cast<Eigen::Index>(t)).squaredNorm();
  } else {
    const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eigen(gram);
    const Eigen::VectorXd& values = eigen.eigenvalues();
    const double floor = 1e-10 * std::max(values.maxCoeff(), 0.0);
    const Eigen::MatrixXd projected = eigen.eigenvectors().transpose() * rhs;
    for (std::size_t t = 0; t < m; ++t) {
      double total = 0.0;
      for (Eigen::Index i = 0; i < values.size(); ++i) {
        if (values(i) > floor) {
          const double y = projected(i, static_cast<Eigen::Index>(t));
          total += y * y / values(i);
        }
      }
      r2[t] = total;
    }
  }
  for (std::size_t t = 0; t < m; ++t) {
    r2[t] = std::clamp(r2[t], 0.0, 1.0);
    if (std::find(basis.begin(), basis.end(), targets[t]) != basis.end()) r2[t] = 1.0;
  }
  return r2;
}

std::vector<double> ComputeVif(const double* correlation, std::size_t p,
                               double singular_tolerance) {
  return ComputeVif(correlation, p, singular_tolerance, Context(1));
}

std::vector<double> ComputeVif(const double* correlation, std::size_t p, double singular_tolerance,
                               const Context& ctx) {
  std::vector<std::size_t> columns(p);
  std::iota(columns.begin(), columns.end(), 0);
  std::vector<double> inverse;
  std::vector<double> vif(p, kInf);
  if (!InvertSubmatrix(correlation, p, columns, inverse, ctx)) return vif;
  for (std::size_t j = 0; j < p; ++j) {
    const double value = inverse[j * p + j];
    vif[j] = value > 0.0 && 1.0 / value >= singular_tolerance ? value : kInf;
  }
  return vif;
}

VifResult IterativeVif(const double* correlation, std::size_t p,
                       const std::vector<std::size_t>& quality_rank,
                       const std::vector<bool>& pinned, const VifOptions& options) {
  return IterativeVif(correlation, p, quality_rank, pinned, options, Context(1));
}

VifResult IterativeVif(const double* correlation, std::size_t p,
                       const std::vector<std::size_t>& quality_rank,
                       const std::vector<bool>& pinned, const VifOptions& options,
                       const Context& ctx) {
  DESCPIPE_ASSERT(quality_rank.size() == p && pinned.size() == p);
  VifResult result;

  // 1. Singular columns: take columns best quality first into an incremental Cholesky factor L
  //    (row-major, lower); a column whose residual variance given those taken is below the
  //    tolerance is a (near) linear combination of better columns. Pinned columns come first.
  std::vector<std::size_t> order(p);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (pinned[a] != pinned[b]) return static_cast<bool>(pinned[a]);
    return quality_rank[a] != quality_rank[b] ? quality_rank[a] < quality_rank[b] : a < b;
  });
  std::vector<std::size_t> taken;
  // Row-major lower factor with leading dimension p: rows are appended in place. Left
  // uninitialised: only the lower triangle is ever written or read, so only its pages are
  // touched (first touches are expensive on virtual machines).
  std::unique_ptr<double[]> factor_storage(new double[std::max<std::size_t>(p * p, 1)]);
  double* const factor = factor_storage.get();
  std::vector<double> y, beta;
  for (std::size_t c : order) {
    const std::size_t r = taken.size();
    y.resize(r);
    for (std::size_t a = 0; a < r; ++a) y[a] = Entry(correlation, p, taken[a], c);
    if (r > 0) {
      cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, static_cast<int>(r),
                  factor, static_cast<int>(p), y.data(), 1);
    }
    double residual = 1.0;
    for (double value : y) residual -= value * value;
    if (residual < options.singular_tolerance && !pinned[c]) {
      VifRemoval removal;
      removal.column = c;
      removal.vif = kInf;
      removal.singular = true;
      removal.residual_variance = residual;
      // Regression coefficients on the taken columns: L^T beta = y.
      beta = y;
      if (r > 0) {
        cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, static_cast<int>(r),
                    factor, static_cast<int>(p), beta.data(), 1);
      }
      double best = -1.0;
      for (std::size_t a = 0; a < r; ++a) {
        if (std::fabs(beta[a]) > best) {
          best = std::fabs(beta[a]);
          removal.absorbed_by = taken[a];
        }
      }
      result.removed.push_back(removal);
      continue;
    }
    // Append the row [y, sqrt(residual)] to L (a pinned singular column is kept with a tiny
    // pivot so that it still takes part; its VIF will be huge but it is never removed).
    std::copy_n(y.data(), r, factor + r * p);
    factor[r * p + r] = std::sqrt(std::max(residual, options.singular_tolerance));
    taken.push_back(c);
  }
  // Singular removals are reported in quality order, worst first: the order removal happened.
  std::reverse(result.removed.begin(), result.removed.end());

  // 2. Iterative removal of the largest VIF among the non-singular columns. The inverse is kept
  //    in row-major storage with a fixed leading dimension `ld`; a removed row/column is replaced
  //    by the last one (swap-delete, O(m)), so every choice below is made independently of the
  //    storage order (max over values, ties by quality rank, then by column index).
  std::vector<std::size_t> active = taken;
  std::sort(active.begin(), active.end());
  std::vector<double> inverse;
  if (!InvertSubmatrix(correlation, p, active, inverse, ctx)) {
    throw NumericalError(
        "VIF: the correlation matrix of the non-singular columns is not positive definite");
  }
  std::size_t ld = active.size();
  std::size_t since_check = 0;
  std::vector<double> column;
  // A lone column's VIF is 1 by definition (no other column to regress on): the loop stops there
  // whatever the threshold, so Pass 3 never empties the set.
  while (active.size() > 1) {
    ctx.ThrowIfStopped();
    const std::size_t m = active.size();
    // VIFs equal in exact arithmetic (a pair correlated only with each other) differ in their
    // last bits after inversion or downdates; within kVifTie of the largest they are ties,
    // decided by quality (the worst goes).
    double largest = -kInf;
    for (std::size_t a = 0; a < m; ++a) {
      if (!pinned[active[a]]) largest = std::max(largest, inverse[a * ld + a]);
    }
    if (!(largest > options.threshold)) break;
    std::size_t worst = kNone;
    for (std::size_t a = 0; a < m; ++a) {
      if (pinned[active[a]] || inverse[a * ld + a] < largest - kVifTie * largest) continue;
      if (worst == kNone || quality_rank[active[a]] > quality_rank[active[worst]] ||
          (quality_rank[active[a]] == quality_rank[active[worst]] && active[a] > active[worst])) {
        worst = a;
      }
    }

    const double b_kk = inverse[worst * ld + worst];
    VifRemoval removal;
    removal.column = active[worst];
    removal.vif = b_kk;
    double best = -1.0;
    for (std::size_t a = 0; a < m; ++a) {
      if (a == worst) continue;
      const double partial = -inverse[worst * ld + a] / std::sqrt(b_kk * inverse[a * ld + a]);
      if (std::fabs(partial) > best ||
          (std::fabs(partial) == best && active[a] < removal.absorbed_by)) {
        best = std::fabs(partial);
        removal.absorbed_by = active[a];
        removal.partial_correlation = partial;
      }
    }
    result.removed.push_back(removal);

    // Schur-complement downdate B - b b^T / b_kk on the m x m block, then swap-delete `worst`.
    column.resize(m);
    for (std::size_t a = 0; a < m; ++a) column[a] = inverse[a * ld + worst];
    cblas_dger(CblasRowMajor, static_cast<int>(m), static_cast<int>(m), -1.0 / b_kk, column.data(),
               1, column.data(), 1, inverse.data(), static_cast<int>(ld));
    const std::size_t last = m - 1;
    if (worst != last) {
      for (std::size_t b = 0; b < m; ++b) inverse[worst * ld + b] = inverse[last * ld + b];
      for (std::size_t a = 0; a < m; ++a) inverse[a * ld + worst] = inverse[a * ld + last];
      inverse[worst * ld + worst] = inverse[last * ld + last];
      active[worst] = active[last];
    }
    active.pop_back();

    // Accuracy: every `check_every` removals (and whenever a diagonal drops below 1, impossible
    // in exact arithmetic), compare R B with I on a few columns; refresh from scratch if off.
    bool refresh = false;
    for (std::size_t a = 0; a < active.size(); ++a)
      refresh = refresh || inverse[a * ld + a] < 1.0 - 1e-9;
    if (++since_check >= options.check_every) {
      since_check = 0;
      refresh = refresh ||
                InverseError(correlation, p, active, inverse, ld, 2) > options.refresh_tolerance;
    }
    if (refresh) {
      if (!InvertSubmatrix(correlation, p, active, inverse, ctx)) {
        throw NumericalError(
            "VIF: refreshed inverse failed: the correlation submatrix is not positive definite");
      }
      ld = active.size();
      ++result.refreshes;
    }
  }
  std::sort(active.begin(), active.end());
  // Final VIFs from a fresh inversion (exact, not accumulated downdates).
  if (!active.empty() && !InvertSubmatrix(correlation, p, active, inverse, ctx)) {
    throw NumericalError("VIF: the final correlation submatrix is not positive definite");
  }
  result.survivors = active;
  for (std::size_t a = 0; a < active.size(); ++a)
    result.final_vif.push_back(inverse[a * active.size() + a]);
  return result;
}

#ifndef DESCPIPE_USE_CUDA
namespace cuda_impl {
bool InvertSpd(double*, std::size_t, const Context&) { NoCuda("the GPU VIF inverse"); }
}  // namespace cuda_impl
#endif

}  // namespace descpipe
