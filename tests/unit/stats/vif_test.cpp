// Tests of ComputeVif and IterativeVif against naive references written here, in long double:
// - VIF_j = 1 / (1 - R^2_j) of the least-squares regression of column j on the other columns and
//   a constant, fitted by normal equations solved with Gaussian elimination (partial pivoting);
// - [R^-1] by Gauss-Jordan elimination with partial pivoting, recomputed from scratch after every
//   removal, which must agree with the library's downdated inverse;
// - partial correlation of columns k and j given the others: -B_kj / sqrt(B_kk B_jj), B = R^-1.
// Data are n x p, row-major (x[row * p + column]), drawn with fixed seeds.
#include "descpipe/vif.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/numbers.hpp"
#include "descpipe/error.hpp"
#include "support/test_support.hpp"

// descpipe links OpenBLAS; the determinism test varies its thread count.
extern "C" {
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
}

namespace descpipe {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);
constexpr double kTie = 1e-10;  // relative VIF difference treated as a tie

// ---- Data -----------------------------------------------------------------------------------

/// n x p data: column = sum of `factors` latent normals with normal loadings (a loading is zero
/// with probability `sparsity`) + noise_sd * normal. factors = 0 gives independent columns.
std::vector<double> MakeFactorData(std::size_t n, std::size_t p, std::size_t factors,
                                   double noise_sd, double sparsity, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> loadings(factors * p);
  for (double& loading : loadings) loading = unit(rng) < sparsity ? 0.0 : normal(rng);
  std::vector<double> latent(factors);
  std::vector<double> data(n * p);
  for (std::size_t row = 0; row < n; ++row) {
    for (double& f : latent) f = normal(rng);
    for (std::size_t col = 0; col < p; ++col) {
      double x = noise_sd * normal(rng);
      for (std::size_t f = 0; f < factors; ++f) x += loadings[f * p + col] * latent[f];
      data[row * p + col] = x;
    }
  }
  return data;
}

/// Columns scaled to mean 0 and unit sample standard deviation, in long double.
std::vector<long double> Standardise(const std::vector<double>& data, std::size_t n,
                                     std::size_t p) {
  std::vector<long double> z(n * p);
  for (std::size_t col = 0; col < p; ++col) {
    long double mean = 0.0L;
    for (std::size_t row = 0; row < n; ++row) mean += data[row * p + col];
    mean /= static_cast<long double>(n);
    long double ss = 0.0L;
    for (std::size_t row = 0; row < n; ++row) {
      const long double d = data[row * p + col] - mean;
      ss += d * d;
    }
    const long double sd = std::sqrt(ss / static_cast<long double>(n - 1));
    for (std::size_t row = 0; row < n; ++row) z[row * p + col] = (data[row * p + col] - mean) / sd;
  }
  return z;
}

/// Pearson correlation matrix (p x p, row-major) of the columns, accumulated in long double.
std::vector<double> Pearson(const std::vector<double>& data, std::size_t n, std::size_t p) {
  const std::vector<long double> z = Standardise(data, n, p);
  std::vector<double> r(p * p);
  for (std::size_t a = 0; a < p; ++a) {
    r[a * p + a] = 1.0;
    for (std::size_t b = a + 1; b < p; ++b) {
      long double s = 0.0L;
      for (std::size_t row = 0; row < n; ++row) s += z[row * p + a] * z[row * p + b];
      const double value = static_cast<double>(s / static_cast<long double>(n - 1));
      r[a * p + b] = value;
      r[b * p + a] = value;
    }
  }
  return r;
}

std::vector<std::size_t> RandomRanks(std::size_t p, std::uint64_t seed) {
  std::vector<std::size_t> rank(p);
  for (std::size_t i = 0; i < p; ++i) rank[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(rank.begin(), rank.end(), rng);
  return rank;
}

std::vector<double> Submatrix(const std::vector<double>& r, std::size_t p,
                              const std::vector<std::size_t>& columns) {
  const std::size_t m = columns.size();
  std::vector<double> sub(m * m);
  for (std::size_t a = 0; a < m; ++a) {
    for (std::size_t b = 0; b < m; ++b) sub[a * m + b] = r[columns[a] * p + columns[b]];
  }
  return sub;
}

// ---- Naive linear algebra (long double) -----------------------------------------------------

/// Solves A x = rhs (m x m, row-major) by Gaussian elimination with partial pivoting. Returns
/// false when a pivot is exactly zero.
bool NaiveSolve(std::vector<long double> a, std::vector<long double> rhs, std::size_t m,
                std::vector<long double>* x) {
  for (std::size_t col = 0; col < m; ++col) {
    std::size_t pivot = col;
    for (std::size_t row = col + 1; row < m; ++row) {
      if (std::fabs(a[row * m + col]) > std::fabs(a[pivot * m + col])) pivot = row;
    }
    if (a[pivot * m + col] == 0.0L) return false;
    if (pivot != col) {
      for (std::size_t k = 0; k < m; ++k) std::swap(a[col * m + k], a[pivot * m + k]);
      std::swap(rhs[col], rhs[pivot]);
    }
    for (std::size_t row = col + 1; row < m; ++row) {
      const long double factor = a[row * m + col] / a[col * m + col];
      if (factor == 0.0L) continue;
      for (std::size_t k = col; k < m; ++k) a[row * m + k] -= factor * a[col * m + k];
      rhs[row] -= factor * rhs[col];
    }
  }
  x->assign(m, 0.0L);
  for (std::size_t i = m; i-- > 0;) {
    long double s = rhs[i];
    for (std::size_t k = i + 1; k < m; ++k) s -= a[i * m + k] * (*x)[k];
    (*x)[i] = s / a[i * m + i];
  }
  return true;
}

/// Inverse of an m x m matrix by Gauss-Jordan elimination with partial pivoting.
std::vector<long double> NaiveInverse(const std::vector<double>& matrix, std::size_t m) {
  std::vector<long double> a(matrix.begin(), matrix.end());
  std::vector<long double> inv(m * m, 0.0L);
  for (std::size_t i = 0; i < m; ++i) inv[i * m + i] = 1.0L;
  for (std::size_t col = 0; col < m; ++col) {
    std::size_t pivot = col;
    for (std::size_t row = col + 1; row < m; ++row) {
      if (std::fabs(a[row * m + col]) > std::fabs(a[pivot * m + col])) pivot = row;
    }
    EXPECT_NE(a[pivot * m + col], 0.0L) << "test fixture: singular matrix";
    if (pivot != col) {
      for (std::size_t k = 0; k < m; ++k) {
        std::swap(a[col * m + k], a[pivot * m + k]);
        std::swap(inv[col * m + k], inv[pivot * m + k]);
      }
    }
    const long double diag = a[col * m + col];
    for (std::size_t k = 0; k < m; ++k) {
      a[col * m + k] /= diag;
      inv[col * m + k] /= diag;
    }
    for (std::size_t row = 0; row < m; ++row) {
      if (row == col) continue;
      const long double factor = a[row * m + col];
      if (factor == 0.0L) continue;
      for (std::size_t k = 0; k < m; ++k) {
        a[row * m + k] -= factor * a[col * m + k];
        inv[row * m + k] -= factor * inv[col * m + k];
      }
    }
  }
  return inv;
}

/// Smallest Cholesky pivot (D of LDL^T) of a symmetric matrix: > 0 iff positive definite.
long double SmallestCholeskyPivot(const std::vector<double>& matrix, std::size_t m) {
  std::vector<long double> l(m * m, 0.0L);
  long double smallest = std::numeric_limits<long double>::infinity();
  for (std::size_t j = 0; j < m; ++j) {
    long double d = matrix[j * m + j];
    for (std::size_t k = 0; k < j; ++k) d -= l[j * m + k] * l[j * m + k];
    smallest = std::min(smallest, d);
    if (d <= 0.0L) return d;
    const long double root = std::sqrt(d);
    l[j * m + j] = root;
    for (std::size_t i = j + 1; i < m; ++i) {
      long double s = matrix[i * m + j];
      for (std::size_t k = 0; k < j; ++k) s -= l[i * m + k] * l[j * m + k];
      l[i * m + j] = s / root;
    }
  }
  return smallest;
}

/// R^2 of the least-squares regression of column `target` on `regressors` and a constant, fitted
/// on the data by normal equations (long double, Gaussian elimination): 1 - SSE / SST.
long double RegressionRSquared(const std::vector<long double>& z, std::size_t n, std::size_t p,
                               std::size_t target, const std::vector<std::size_t>& regressors) {
  const std::size_t m = regressors.size() + 1;
  auto x_at = [&](std::size_t row, std::size_t k) -> long double {
    return k == 0 ? 1.0L : z[row * p + regressors[k - 1]];
  };
  std::vector<long double> xtx(m * m, 0.0L), xty(m, 0.0L);
  for (std::size_t row = 0; row < n; ++row) {
    for (std::size_t a = 0; a < m; ++a) {
      xty[a] += x_at(row, a) * z[row * p + target];
      for (std::size_t b = 0; b < m; ++b) xtx[a * m + b] += x_at(row, a) * x_at(row, b);
    }
  }
  std::vector<long double> beta;
  EXPECT_TRUE(NaiveSolve(xtx, xty, m, &beta)) << "test fixture: singular normal equations";
  long double mean_y = 0.0L;
  for (std::size_t row = 0; row < n; ++row) mean_y += z[row * p + target];
  mean_y /= static_cast<long double>(n);
  long double sse = 0.0L, sst = 0.0L;
  for (std::size_t row = 0; row < n; ++row) {
    long double fitted = 0.0L;
    for (std::size_t k = 0; k < m; ++k) fitted += beta[k] * x_at(row, k);
    const long double y = z[row * p + target];
    sse += (y - fitted) * (y - fitted);
    sst += (y - mean_y) * (y - mean_y);
  }
  return 1.0L - sse / sst;
}

/// VIF of column `target` from the least-squares fit of z_target on a constant and the other
/// columns: VIF = 1 / (1 - R^2).
long double RegressionVif(const std::vector<long double>& z, std::size_t n, std::size_t p,
                          std::size_t target) {
  std::vector<std::size_t> regressors;
  for (std::size_t col = 0; col < p; ++col) {
    if (col != target) regressors.push_back(col);
  }
  return 1.0L / (1.0L - RegressionRSquared(z, n, p, target, regressors));
}

/// Standardised coefficients of the regression of column `target` on `regressors` (from the
/// correlation matrix: R_SS beta = R_S,target).
std::vector<long double> RegressionCoefficients(const std::vector<double>& r, std::size_t p,
                                                const std::vector<std::size_t>& regressors,
                                                std::size_t target) {
  const std::size_t m = regressors.size();
  std::vector<long double> a(m * m), rhs(m);
  for (std::size_t i = 0; i < m; ++i) {
    rhs[i] = r[regressors[i] * p + target];
    for (std::size_t k = 0; k < m; ++k) a[i * m + k] = r[regressors[i] * p + regressors[k]];
  }
  std::vector<long double> beta;
  EXPECT_TRUE(NaiveSolve(a, rhs, m, &beta));
  return beta;
}

// ---- Naive iterative elimination --------------------------------------------------------------

struct NaiveStep {
  std::size_t column = kNone;
  double vif = 0.0;
  std::vector<std::size_t> others;  ///< the other columns present at this removal
  std::vector<double> partial;      ///< partial correlation with each of `others`
  std::size_t second_best = kNone;  ///< runner-up candidate, for diagnostics
  double second_vif = 0.0;
};

struct NaiveResult {
  std::vector<NaiveStep> steps;
  std::vector<std::size_t> survivors;
  std::vector<double> final_vif;
};

/// Removes the non-pinned column with the largest VIF (ties: larger quality_rank) while it
/// exceeds `threshold`, recomputing R^-1 from scratch every time. `start` lists the columns taken
/// part (ascending); NaN entries of `r` must already be zero.
NaiveResult NaiveIterativeVif(const std::vector<double>& r, std::size_t p,
                              std::vector<std::size_t> start, const std::vector<std::size_t>& rank,
                              const std::vector<bool>& pinned, double threshold) {
  NaiveResult result;
  std::vector<std::size_t> active = std::move(start);
  while (!active.empty()) {
    const std::size_t m = active.size();
    const std::vector<long double> inv = NaiveInverse(Submatrix(r, p, active), m);
    std::size_t best = kNone, second = kNone;
    // VIFs within kTie (relative) of the largest are ties (equal in exact arithmetic, they
    // differ in their last bits once computed): the worst quality rank goes, then the larger
    // column index.
    double largest = -kInf;
    for (std::size_t i = 0; i < m; ++i) {
      if (!pinned[active[i]]) largest = std::max(largest, static_cast<double>(inv[i * m + i]));
    }
    for (std::size_t i = 0; i < m; ++i) {
      if (pinned[active[i]]) continue;
      const double vif = static_cast<double>(inv[i * m + i]);
      if (vif >= largest - kTie * largest &&
          (best == kNone || rank[active[i]] > rank[active[best]] ||
           (rank[active[i]] == rank[active[best]] && i > best))) {
        best = i;
      }
    }
    for (std::size_t i = 0; i < m; ++i) {  // runner-up, for diagnostics only
      if (pinned[active[i]] || i == best) continue;
      if (second == kNone || inv[i * m + i] > inv[second * m + second]) second = i;
    }
    if (best == kNone || static_cast<double>(inv[best * m + best]) <= threshold) {
      result.survivors = active;
      for (std::size_t i = 0; i < m; ++i)
        result.final_vif.push_back(static_cast<double>(inv[i * m + i]));
      return result;
    }
    NaiveStep step;
    step.column = active[best];
    step.vif = static_cast<double>(inv[best * m + best]);
    if (second != kNone) {
      step.second_best = active[second];
      step.second_vif = static_cast<double>(inv[second * m + second]);
    }
    for (std::size_t j = 0; j < m; ++j) {
      if (j == best) continue;
      step.others.push_back(active[j]);
      step.partial.push_back(static_cast<double>(-inv[best * m + j] /
                                                 std::sqrt(inv[best * m + best] * inv[j * m + j])));
    }
    result.steps.push_back(step);
    active.erase(active.begin() + static_cast<std::ptrdiff_t>(best));
  }
  return result;
}

// ---- Checks ---------------------------------------------------------------------------------

::testing::AssertionResult RelClose(double expected, double actual, double tolerance) {
  if (expected == actual) return ::testing::AssertionSuccess();
  if (std::isfinite(expected) && std::isfinite(actual) &&
      std::fabs(actual - expected) <= tolerance * std::fabs(expected)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << std::setprecision(17) << "expected " << expected << ", got " << actual
         << " (relative tolerance " << tolerance << ")";
}

/// Structural invariants every result must satisfy.
void ExpectWellFormed(const VifResult& result, std::size_t p, const std::vector<bool>& pinned) {
  EXPECT_EQ(result.survivors.size(), result.final_vif.size());
  EXPECT_TRUE(std::is_sorted(result.survivors.begin(), result.survivors.end()));
  std::vector<int> seen(p, 0);
  for (std::size_t column : result.survivors) {
    ASSERT_LT(column, p);
    ++seen[column];
  }
  for (const VifRemoval& removal : result.removed) {
    ASSERT_LT(removal.column, p);
    ++seen[removal.column];
    EXPECT_FALSE(pinned[removal.column]) << "pinned column " << removal.column << " removed";
    EXPECT_NE(removal.absorbed_by, removal.column);
  }
  for (std::size_t column = 0; column < p; ++column) {
    EXPECT_EQ(seen[column], 1) << "column " << column << " is not exactly once removed or kept";
  }
  // Singular removals come before every finite-VIF removal.
  bool finite_seen = false;
  for (const VifRemoval& removal : result.removed) {
    if (removal.singular) {
      EXPECT_FALSE(finite_seen) << "singular column " << removal.column
                                << " removed after a finite-VIF removal";
      EXPECT_EQ(removal.vif, kInf) << "singular column " << removal.column;
    } else {
      finite_seen = true;
      EXPECT_TRUE(std::isfinite(removal.vif)) << "column " << removal.column;
    }
  }
}

/// final_vif equals a fresh ComputeVif on the survivors' submatrix.
void ExpectFinalVifFresh(const VifResult& result, const std::vector<double>& r, std::size_t p,
                         double tolerance) {
  const std::vector<double> sub = Submatrix(r, p, result.survivors);
  const std::vector<double> fresh = ComputeVif(sub.data(), result.survivors.size());
  ASSERT_EQ(fresh.size(), result.final_vif.size());
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    EXPECT_TRUE(std::isfinite(result.final_vif[i])) << "survivor " << result.survivors[i];
    EXPECT_TRUE(RelClose(fresh[i], result.final_vif[i], tolerance))
        << "survivor " << result.survivors[i];
  }
}

/// The finite-VIF removals of `result` (after `skip` singular ones) follow the naive reference:
/// same columns in the same order, same VIF, absorbed_by a column with the largest |partial
/// correlation|, and the same survivors and final VIFs.
void ExpectMatchesNaive(const VifResult& result, const NaiveResult& naive, std::size_t skip,
                        double vif_tolerance) {
  ASSERT_GE(result.removed.size(), skip);
  const std::size_t steps = result.removed.size() - skip;
  EXPECT_EQ(steps, naive.steps.size()) << "number of finite-VIF removals";
  for (std::size_t s = 0; s < std::min(steps, naive.steps.size()); ++s) {
    const VifRemoval& got = result.removed[skip + s];
    const NaiveStep& want = naive.steps[s];
    ASSERT_EQ(got.column, want.column)
        << "removal " << s << ": reference removes column " << want.column << " (VIF "
        << std::setprecision(17) << want.vif << ", runner-up " << want.second_best << " VIF "
        << want.second_vif << "), library removed column " << got.column << " with VIF " << got.vif;
    EXPECT_FALSE(got.singular) << "removal " << s;
    EXPECT_TRUE(RelClose(want.vif, got.vif, vif_tolerance))
        << "removal " << s << " column " << got.column;
    if (want.others.empty()) {
      EXPECT_EQ(got.absorbed_by, kNone);
      continue;
    }
    double best_abs = 0.0;
    for (double pc : want.partial) best_abs = std::max(best_abs, std::fabs(pc));
    const auto it = std::find(want.others.begin(), want.others.end(), got.absorbed_by);
    ASSERT_NE(it, want.others.end()) << "removal " << s << ": absorbed_by " << got.absorbed_by
                                     << " is not a column present at that removal";
    const double pc = want.partial[static_cast<std::size_t>(it - want.others.begin())];
    EXPECT_GE(std::fabs(pc), best_abs * (1.0 - 1e-9))
        << "removal " << s << " column " << got.column << ": absorbed_by " << got.absorbed_by
        << " has |partial correlation| " << std::fabs(pc) << ", largest is " << best_abs;
    EXPECT_NEAR(got.partial_correlation, pc, 1e-6) << "removal " << s << " column " << got.column;
  }
  EXPECT_EQ(result.survivors, naive.survivors);
  if (result.survivors == naive.survivors) {
    for (std::size_t i = 0; i < naive.final_vif.size(); ++i) {
      EXPECT_TRUE(RelClose(naive.final_vif[i], result.final_vif[i], vif_tolerance))
          << "survivor " << naive.survivors[i];
    }
  }
}

std::vector<std::size_t> AllColumns(std::size_t p) {
  std::vector<std::size_t> columns(p);
  for (std::size_t i = 0; i < p; ++i) columns[i] = i;
  return columns;
}

// ---- ComputeVif -----------------------------------------------------------------------------

TEST(ComputeVif, EqualsOneOverOneMinusRSquaredOfExplicitRegression) {
  std::uint64_t seed = 300;
  for (std::size_t p : {std::size_t{5}, std::size_t{12}, std::size_t{25}, std::size_t{40}}) {
    const std::size_t n = 6 * p + 60;
    SCOPED_TRACE("p " + std::to_string(p) + " n " + std::to_string(n));
    // Correlated but well conditioned: p / 4 + 1 shared factors, unit noise.
    const std::vector<double> data = MakeFactorData(n, p, p / 4 + 1, 1.0, 0.3, ++seed);
    const std::vector<double> r = Pearson(data, n, p);
    const std::vector<long double> z = Standardise(data, n, p);
    const std::vector<double> vif = ComputeVif(r.data(), p);
    ASSERT_EQ(vif.size(), p);
    double largest = 0.0;
    for (std::size_t col = 0; col < p; ++col) {
      const double expected = static_cast<double>(RegressionVif(z, n, p, col));
      largest = std::max(largest, expected);
      EXPECT_TRUE(RelClose(expected, vif[col], 1e-8)) << "column " << col;
    }
    EXPECT_GT(largest, 1.5) << "test fixture: columns should be correlated";
  }
}

TEST(ComputeVif, IndependentColumnsAndIdentity) {
  // Identity: every VIF is exactly 1.
  for (std::size_t p : {std::size_t{1}, std::size_t{3}, std::size_t{17}}) {
    std::vector<double> identity(p * p, 0.0);
    for (std::size_t i = 0; i < p; ++i) identity[i * p + i] = 1.0;
    const std::vector<double> vif = ComputeVif(identity.data(), p);
    ASSERT_EQ(vif.size(), p);
    for (double v : vif) EXPECT_DOUBLE_EQ(v, 1.0);
  }
  // 2 x 2: VIF = 1 / (1 - r^2) for both columns.
  for (double rho : {-0.95, -0.3, 0.0, 0.5, 0.999}) {
    const std::vector<double> r = {1.0, rho, rho, 1.0};
    const std::vector<double> vif = ComputeVif(r.data(), 2);
    ASSERT_EQ(vif.size(), 2u);
    const double expected =
        static_cast<double>(1.0L / (1.0L - static_cast<long double>(rho) * rho));
    EXPECT_TRUE(RelClose(expected, vif[0], 1e-12)) << "rho " << rho;
    EXPECT_TRUE(RelClose(expected, vif[1], 1e-12)) << "rho " << rho;
  }
}

TEST(ComputeVif, EmptyMatrix) { EXPECT_TRUE(ComputeVif(nullptr, 0).empty()); }

TEST(ComputeVif, NaNEntriesAreZero) {
  const std::size_t n = 200, p = 9;
  const std::vector<double> data = MakeFactorData(n, p, 2, 1.5, 0.0, 41);
  std::vector<double> r = Pearson(data, n, p);
  std::vector<double> with_nan = r;
  for (auto [a, b] : {std::pair<std::size_t, std::size_t>{0, 3}, {2, 7}, {5, 6}, {1, 8}}) {
    with_nan[a * p + b] = with_nan[b * p + a] = kNaN;
    r[a * p + b] = r[b * p + a] = 0.0;
  }
  ASSERT_GT(SmallestCholeskyPivot(r, p), 0.05L) << "test fixture: zeroed matrix not PD";
  const std::vector<double> expected = ComputeVif(r.data(), p);
  const std::vector<double> got = ComputeVif(with_nan.data(), p);
  ASSERT_EQ(got.size(), p);
  const std::vector<long double> inv = NaiveInverse(r, p);
  for (std::size_t col = 0; col < p; ++col) {
    EXPECT_TRUE(RelClose(static_cast<double>(inv[col * p + col]), got[col], 1e-10))
        << "column " << col;
    EXPECT_EQ(expected[col], got[col]) << "column " << col;
  }
}

/// Columns: 0..5 independent; 6..9 one shared factor + noise (VIFs ~9); 10, 11 duplicates
/// (x11 = x10); x14 = x12 + 1.5 x13 exactly; x17 = 1.5 x15 - x16 + 1e-13 noise. Whichever member
/// of a group is dropped, the other members correlate at most ~0.83 (VIF ~3.3 < 5), so they
/// survive the VIF phase, and the largest |standardised coefficient| wins by >= 20%.
struct SingularCase {
  static constexpr std::size_t kP = 18;
  std::vector<double> data;
  std::vector<double> r;
  std::vector<std::vector<std::size_t>> groups = {{10, 11}, {12, 13, 14}, {15, 16, 17}};
};

SingularCase MakeSingularCase(std::size_t n, std::uint64_t seed) {
  SingularCase c;
  const std::size_t p = SingularCase::kP;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  c.data.resize(n * p);
  for (std::size_t row = 0; row < n; ++row) {
    double* x = &c.data[row * p];
    for (std::size_t col = 0; col < 6; ++col) x[col] = normal(rng);
    const double factor = normal(rng);
    for (std::size_t col = 6; col < 10; ++col) x[col] = factor + 0.3 * normal(rng);
    x[10] = 2.0 * normal(rng) + 1.0;
    x[11] = x[10];
    x[12] = normal(rng);
    x[13] = normal(rng);
    x[14] = x[12] + 1.5 * x[13];
    x[15] = normal(rng);
    x[16] = normal(rng);
    x[17] = 1.5 * x[15] - x[16] + 1e-13 * normal(rng);
  }
  c.r = Pearson(c.data, n, p);
  return c;
}

TEST(ComputeVif, SingularColumnsAreInfinite) {
  const SingularCase c = MakeSingularCase(300, 51);
  const std::size_t p = SingularCase::kP;
  const std::vector<double> vif = ComputeVif(c.r.data(), p);
  ASSERT_EQ(vif.size(), p);
  // Every member of an exact (or 1e-13) dependency has R^2 = 1: VIF = +inf.
  for (const auto& group : c.groups) {
    for (std::size_t col : group) EXPECT_EQ(vif[col], kInf) << "column " << col;
  }
  // The other columns have a finite VIF (dropping columns that lie in the span of the others
  // leaves each regression unchanged), but the header documents "+inf when R is singular" and
  // the implementation returns +inf for every column once the Cholesky factorisation fails.
  // Accept either, but nothing else: a finite value must be the right one.
  std::vector<std::size_t> kept = AllColumns(10);
  for (std::size_t col : {10, 12, 13, 15, 16}) kept.push_back(col);
  const std::vector<double> sub = Submatrix(c.r, p, kept);
  const std::vector<long double> inv = NaiveInverse(sub, kept.size());
  for (std::size_t i = 0; i < 10; ++i) {
    if (vif[i] == kInf) continue;
    EXPECT_TRUE(RelClose(static_cast<double>(inv[i * kept.size() + i]), vif[i], 1e-6))
        << "column " << i << " is not part of any dependency";
  }
  // Without the dependent columns, every VIF is finite and right.
  const std::vector<double> reduced = ComputeVif(sub.data(), kept.size());
  ASSERT_EQ(reduced.size(), kept.size());
  for (std::size_t i = 0; i < kept.size(); ++i) {
    EXPECT_TRUE(RelClose(static_cast<double>(inv[i * kept.size() + i]), reduced[i], 1e-8))
        << "column " << kept[i];
  }
}

TEST(ComputeVif, SingularToleranceDecides) {
  // x3 = x0 + x1 + small noise: residual variance ~1e-6 of its variance (VIF ~1e6).
  const std::size_t n = 400, p = 5;
  std::mt19937_64 rng(61);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> data(n * p);
  for (std::size_t row = 0; row < n; ++row) {
    double* x = &data[row * p];
    x[0] = normal(rng);
    x[1] = normal(rng);
    x[2] = normal(rng);
    x[3] = x[0] + x[1] + 1.4e-3 * normal(rng);
    x[4] = normal(rng) + 0.5 * x[2];
  }
  const std::vector<double> r = Pearson(data, n, p);
  const std::vector<long double> inv = NaiveInverse(r, p);
  const std::vector<double> loose = ComputeVif(r.data(), p);
  ASSERT_EQ(loose.size(), p);
  for (std::size_t col = 0; col < p; ++col) {
    EXPECT_TRUE(RelClose(static_cast<double>(inv[col * p + col]), loose[col], 1e-8))
        << "column " << col;
  }
  for (std::size_t col : {0, 1, 3}) {
    ASSERT_GT(inv[col * p + col], 1e5L) << "test fixture";
    ASSERT_LT(inv[col * p + col], 1e7L) << "test fixture";
  }
  // With tolerance 1e-4 the three columns of the near dependency have VIF > 1e4: singular.
  const std::vector<double> strict = ComputeVif(r.data(), p, 1e-4);
  ASSERT_EQ(strict.size(), p);
  for (std::size_t col : {0, 1, 3}) EXPECT_EQ(strict[col], kInf) << "column " << col;
  for (std::size_t col : {2, 4}) {
    EXPECT_TRUE(RelClose(static_cast<double>(inv[col * p + col]), strict[col], 1e-8))
        << "column " << col;
  }
}

// ---- IterativeVif ---------------------------------------------------------------------------

TEST(IterativeVif, LongRemovalSequenceMatchesFreshInversionEveryStep) {
  // 120 columns from 20 latent factors: ~100 removals, far more than check_every, so the
  // downdated inverse is used for long stretches.
  const std::size_t n = 400, p = 120;
  const std::vector<double> data = MakeFactorData(n, p, 20, 0.6, 0.2, 71);
  const std::vector<double> r = Pearson(data, n, p);
  const std::vector<std::size_t> rank = RandomRanks(p, 72);
  const std::vector<bool> pinned(p, false);
  VifOptions options;
  options.threshold = 5.0;
  const NaiveResult naive = NaiveIterativeVif(r, p, AllColumns(p), rank, pinned, options.threshold);
  ASSERT_GE(naive.steps.size(), 90u) << "test fixture: expected a long removal sequence";
  ASSERT_GT(naive.steps.front().vif, 50.0) << "test fixture";

  const VifResult result = IterativeVif(r.data(), p, rank, pinned, options);
  ExpectWellFormed(result, p, pinned);
  for (const VifRemoval& removal : result.removed) EXPECT_FALSE(removal.singular);
  ExpectMatchesNaive(result, naive, 0, 1e-6);
  for (double v : result.final_vif) EXPECT_LE(v, options.threshold);
  ExpectFinalVifFresh(result, r, p, 1e-8);
}

TEST(IterativeVif, RefreshSettingsDoNotChangeTheResult) {
  const std::size_t n = 300, p = 80;
  const std::vector<double> data = MakeFactorData(n, p, 12, 0.5, 0.3, 81);
  const std::vector<double> r = Pearson(data, n, p);
  const std::vector<std::size_t> rank = RandomRanks(p, 82);
  const std::vector<bool> pinned(p, false);
  VifOptions base;
  base.threshold = 4.0;
  const NaiveResult naive = NaiveIterativeVif(r, p, AllColumns(p), rank, pinned, base.threshold);
  ASSERT_GE(naive.steps.size(), 40u) << "test fixture";

  struct Setting {
    std::size_t check_every;
    double refresh_tolerance;
  };
  for (Setting setting : {Setting{1, 0.0}, Setting{1, 1e-9}, Setting{16, 1e-9}, Setting{3, 1e-14},
                          Setting{1000, 1e-9}, Setting{1, kInf}}) {
    SCOPED_TRACE("check_every " + std::to_string(setting.check_every) + " refresh_tolerance " +
                 std::to_string(setting.refresh_tolerance));
    VifOptions options = base;
    options.check_every = setting.check_every;
    options.refresh_tolerance = setting.refresh_tolerance;
    const VifResult result = IterativeVif(r.data(), p, rank, pinned, options);
    ExpectWellFormed(result, p, pinned);
    ExpectMatchesNaive(result, naive, 0, 1e-6);
    ExpectFinalVifFresh(result, r, p, 1e-8);
    if (setting.refresh_tolerance == 0.0) {
      // |R B - I| is never exactly 0 in floating point over 40+ checks of an 80-column matrix.
      EXPECT_GT(result.refreshes, 0u);
    }
    if (setting.refresh_tolerance == kInf) {
      EXPECT_EQ(result.refreshes, 0u);
    }
  }
}

TEST(IterativeVif, PinnedColumnsAreNeverRemoved) {
  const std::size_t n = 400, p = 60;
  const std::vector<double> data = MakeFactorData(n, p, 8, 0.5, 0.2, 91);
  const std::vector<double> r = Pearson(data, n, p);
  const std::vector<std::size_t> rank = RandomRanks(p, 92);
  // Pin the 12 columns with the largest initial VIF (including the overall largest): 12 pinned
  // columns over 8 factors keep VIFs above the threshold, so in the end only pinned columns
  // exceed it and the loop must stop there.
  const std::vector<long double> inv = NaiveInverse(r, p);
  std::vector<std::size_t> order = AllColumns(p);
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return inv[a * p + a] > inv[b * p + b]; });
  std::vector<bool> pinned(p, false);
  for (std::size_t i = 0; i < 12; ++i) pinned[order[i]] = true;
  VifOptions options;
  options.threshold = 5.0;
  const NaiveResult naive = NaiveIterativeVif(r, p, AllColumns(p), rank, pinned, options.threshold);
  ASSERT_GE(naive.steps.size(), 20u) << "test fixture";

  const VifResult result = IterativeVif(r.data(), p, rank, pinned, options);
  ExpectWellFormed(result, p, pinned);
  ExpectMatchesNaive(result, naive, 0, 1e-6);
  ExpectFinalVifFresh(result, r, p, 1e-8);
  std::size_t pinned_above = 0;
  for (std::size_t i = 0; i < result.survivors.size(); ++i) {
    if (pinned[result.survivors[i]]) {
      pinned_above += result.final_vif[i] > options.threshold ? 1 : 0;
    } else {
      EXPECT_LE(result.final_vif[i], options.threshold) << "survivor " << result.survivors[i];
    }
  }
  for (std::size_t col = 0; col < p; ++col) {
    if (pinned[col]) {
      EXPECT_TRUE(std::binary_search(result.survivors.begin(), result.survivors.end(), col))
          << "pinned column " << col;
    }
  }
  EXPECT_GT(pinned_above, 0u) << "test fixture: some pinned column should end above threshold";
}

TEST(IterativeVif, OnlyPinnedAboveThresholdStopsImmediately) {
  // Columns 0 and 1 are nearly collinear and both pinned; column 2 independent.
  const double rho = 0.99;
  const std::vector<double> r = {1.0, rho, 0.1, rho, 1.0, 0.05, 0.1, 0.05, 1.0};
  const std::vector<std::size_t> rank = {2, 1, 0};
  const std::vector<bool> pinned = {true, true, false};
  VifOptions options;
  options.threshold = 10.0;
  const VifResult result = IterativeVif(r.data(), 3, rank, pinned, options);
  ExpectWellFormed(result, 3, pinned);
  EXPECT_TRUE(result.removed.empty());
  EXPECT_EQ(result.survivors, (std::vector<std::size_t>{0, 1, 2}));
  ASSERT_EQ(result.final_vif.size(), 3u);
  const std::vector<long double> inv = NaiveInverse(r, 3);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(RelClose(static_cast<double>(inv[i * 3 + i]), result.final_vif[i], 1e-12));
  }
  EXPECT_GT(result.final_vif[0], 10.0);

  // Unpin column 0 (VIF ~50): it goes, absorbed by its near twin, column 1.
  const std::vector<bool> one_pinned = {false, true, false};
  const VifResult partial = IterativeVif(r.data(), 3, rank, one_pinned, options);
  ExpectWellFormed(partial, 3, one_pinned);
  ASSERT_EQ(partial.removed.size(), 1u);
  EXPECT_EQ(partial.removed[0].column, 0u);
  EXPECT_EQ(partial.removed[0].absorbed_by, 1u);
}

TEST(IterativeVif, SingularColumnsAreRemovedFirstAndTheBetterRankedMemberSurvives) {
  const std::size_t p = SingularCase::kP;
  for (std::uint64_t seed = 100; seed < 106; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const SingularCase c = MakeSingularCase(300, seed);
    const std::vector<std::size_t> rank = RandomRanks(p, seed * 7);
    const std::vector<bool> pinned(p, false);
    VifOptions options;
    options.threshold = 5.0;

    // Expected: the worst-ranked member of each dependent group is singular.
    std::set<std::size_t> expected_singular;
    for (const auto& group : c.groups) {
      expected_singular.insert(
          *std::max_element(group.begin(), group.end(),
                            [&](std::size_t a, std::size_t b) { return rank[a] < rank[b]; }));
    }
    std::vector<std::size_t> non_singular;
    for (std::size_t col = 0; col < p; ++col) {
      if (!expected_singular.count(col)) non_singular.push_back(col);
    }

    const VifResult result = IterativeVif(c.r.data(), p, rank, pinned, options);
    ExpectWellFormed(result, p, pinned);
    std::set<std::size_t> got_singular;
    std::size_t singular_count = 0;
    for (const VifRemoval& removal : result.removed) {
      if (!removal.singular) continue;
      ++singular_count;
      got_singular.insert(removal.column);
      // absorbed_by: a surviving member of the same dependency, the one with the largest
      // |regression coefficient|.
      const auto group = std::find_if(c.groups.begin(), c.groups.end(), [&](const auto& g) {
        return std::find(g.begin(), g.end(), removal.column) != g.end();
      });
      ASSERT_NE(group, c.groups.end()) << "column " << removal.column << " wrongly singular";
      EXPECT_NE(std::find(group->begin(), group->end(), removal.absorbed_by), group->end())
          << "column " << removal.column << " absorbed by " << removal.absorbed_by;
      EXPECT_TRUE(
          std::binary_search(result.survivors.begin(), result.survivors.end(), removal.absorbed_by))
          << "column " << removal.column << " absorbed by " << removal.absorbed_by;
      std::vector<std::size_t> regressors;
      for (std::size_t col : non_singular) regressors.push_back(col);
      const std::vector<long double> beta =
          RegressionCoefficients(c.r, p, regressors, removal.column);
      std::size_t best = 0;
      for (std::size_t i = 1; i < beta.size(); ++i) {
        if (std::fabs(beta[i]) > std::fabs(beta[best])) best = i;
      }
      EXPECT_EQ(removal.absorbed_by, regressors[best]) << "column " << removal.column;
    }
    EXPECT_EQ(singular_count, expected_singular.size());
    EXPECT_EQ(got_singular, expected_singular);

    // After the singular columns, the finite removals follow the naive reference on the rest.
    const NaiveResult naive =
        NaiveIterativeVif(c.r, p, non_singular, rank, pinned, options.threshold);
    ASSERT_GE(naive.steps.size(), 1u) << "test fixture: expected finite-VIF removals too";
    ExpectMatchesNaive(result, naive, expected_singular.size(), 1e-6);
    for (double v : result.final_vif) {
      EXPECT_TRUE(std::isfinite(v));
      EXPECT_LE(v, options.threshold);
    }
    ExpectFinalVifFresh(result, c.r, p, 1e-8);
  }
}

TEST(IterativeVif, EachKindOfDependencyAlone) {
  // One dependency at a time, every member in turn the worst ranked.
  const SingularCase c = MakeSingularCase(300, 111);
  const std::size_t p_all = SingularCase::kP;
  for (const auto& group : c.groups) {
    for (std::size_t worst : group) {
      SCOPED_TRACE("group of " + std::to_string(group.size()) + " worst " + std::to_string(worst));
      // Columns 0..5 (independent) + the group.
      std::vector<std::size_t> columns = AllColumns(6);
      columns.insert(columns.end(), group.begin(), group.end());
      const std::size_t p = columns.size();
      const std::vector<double> r = Submatrix(c.r, p_all, columns);
      std::vector<std::size_t> rank(p);
      std::size_t next = 0;
      for (std::size_t i = 0; i < p; ++i) {
        if (columns[i] != worst) rank[i] = next++;
      }
      const std::size_t worst_local = static_cast<std::size_t>(
          std::find(columns.begin(), columns.end(), worst) - columns.begin());
      rank[worst_local] = next;  // worst of all
      const std::vector<bool> pinned(p, false);
      VifOptions options;
      const VifResult result = IterativeVif(r.data(), p, rank, pinned, options);
      ExpectWellFormed(result, p, pinned);
      ASSERT_EQ(result.removed.size(), 1u);
      EXPECT_EQ(result.removed[0].column, worst_local);
      EXPECT_TRUE(result.removed[0].singular);
      EXPECT_EQ(result.removed[0].vif, kInf);
      EXPECT_GE(result.removed[0].absorbed_by, 6u) << "absorbed by a column outside the group";
      EXPECT_NE(result.removed[0].absorbed_by, kNone);
      for (double v : result.final_vif) {
        EXPECT_TRUE(std::isfinite(v));
        EXPECT_LE(v, options.threshold);
      }
      ExpectFinalVifFresh(result, r, p, 1e-8);
    }
  }
}

TEST(IterativeVif, PinnedMemberOfDuplicatePairSurvivesEvenIfWorseRanked) {
  const SingularCase c = MakeSingularCase(300, 121);
  const std::vector<std::size_t> columns = {0, 1, 2, 10, 11};
  const std::size_t p = columns.size();
  const std::vector<double> r = Submatrix(c.r, SingularCase::kP, columns);
  const std::vector<std::size_t> rank = {1, 2, 3, 0, 4};  // local 4 (x11) is the worst...
  std::vector<bool> pinned(p, false);
  pinned[4] = true;  // ...but pinned, so its better-ranked duplicate must go
  const VifResult result = IterativeVif(r.data(), p, rank, pinned, VifOptions{});
  ExpectWellFormed(result, p, pinned);
  ASSERT_EQ(result.removed.size(), 1u);
  EXPECT_EQ(result.removed[0].column, 3u);
  EXPECT_TRUE(result.removed[0].singular);
  EXPECT_EQ(result.removed[0].absorbed_by, 4u);
  EXPECT_EQ(result.survivors, (std::vector<std::size_t>{0, 1, 2, 4}));
  for (double v : result.final_vif) EXPECT_TRUE(std::isfinite(v));
}

TEST(IterativeVif, PinnedExactDuplicatesFailCleanly) {
  // Both members of a duplicate pair pinned: they cannot both stay with a finite VIF. The
  // pipeline turns NumericalError into a hint about keep_columns; anything else (a result, a
  // crash, a removed pinned column, another exception type) is a bug.
  const SingularCase c = MakeSingularCase(300, 125);
  const std::vector<std::size_t> columns = {0, 1, 10, 11};
  const std::size_t p = columns.size();
  const std::vector<double> r = Submatrix(c.r, SingularCase::kP, columns);
  const std::vector<bool> pinned = {false, false, true, true};
  const std::string message = testing::MessageOf<NumericalError>([&] {
    IterativeVif(r.data(), p, {0, 1, 2, 3}, pinned, VifOptions{});
  });
  EXPECT_TRUE(message.find("VIF") != std::string::npos) << message;
}

TEST(IterativeVif, SingularToleranceOption) {
  // x3 = x0 + x1 + small noise (VIF ~1e6): finite VIF removal by default, singular at 1e-4.
  const std::size_t n = 400, p = 5;
  std::mt19937_64 rng(131);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> data(n * p);
  for (std::size_t row = 0; row < n; ++row) {
    double* x = &data[row * p];
    x[0] = normal(rng);
    x[1] = normal(rng);
    x[2] = normal(rng);
    x[3] = x[0] + x[1] + 1.4e-3 * normal(rng);
    x[4] = normal(rng);
  }
  const std::vector<double> r = Pearson(data, n, p);
  const std::vector<std::size_t> rank = {0, 4, 1, 2, 3};  // x1 is the worst of {0, 1, 3}
  const std::vector<bool> pinned(p, false);
  VifOptions options;
  const NaiveResult naive = NaiveIterativeVif(r, p, AllColumns(p), rank, pinned, options.threshold);
  const VifResult loose = IterativeVif(r.data(), p, rank, pinned, options);
  ExpectWellFormed(loose, p, pinned);
  ASSERT_FALSE(loose.removed.empty());
  EXPECT_FALSE(loose.removed[0].singular);
  ExpectMatchesNaive(loose, naive, 0, 1e-6);

  options.singular_tolerance = 1e-4;
  const VifResult strict = IterativeVif(r.data(), p, rank, pinned, options);
  ExpectWellFormed(strict, p, pinned);
  ASSERT_EQ(strict.removed.size(), 1u);
  EXPECT_EQ(strict.removed[0].column, 1u);
  EXPECT_TRUE(strict.removed[0].singular);
  EXPECT_EQ(strict.removed[0].vif, kInf);
  EXPECT_EQ(strict.removed[0].absorbed_by, 3u);  // x1 = x3 - x0: |beta_3| = sd3 / sd1 > 1
}

TEST(IterativeVif, NaNEntriesAreTreatedAsZero) {
  const std::size_t n = 300, p = 30;
  const std::vector<double> data = MakeFactorData(n, p, 6, 1.0, 0.6, 141);
  std::vector<double> r = Pearson(data, n, p);
  std::vector<double> with_nan = r;
  std::mt19937_64 rng(142);
  std::size_t placed = 0;
  while (placed < 25) {
    const std::size_t a = rng() % p, b = rng() % p;
    if (a == b || std::isnan(with_nan[a * p + b])) continue;
    // Only weak correlations are blanked so the zeroed matrix stays positive definite.
    if (std::fabs(r[a * p + b]) > 0.15) continue;
    with_nan[a * p + b] = with_nan[b * p + a] = kNaN;
    r[a * p + b] = r[b * p + a] = 0.0;
    ++placed;
  }
  ASSERT_GT(SmallestCholeskyPivot(r, p), 0.0L) << "test fixture";
  const std::vector<std::size_t> rank = RandomRanks(p, 143);
  const std::vector<bool> pinned(p, false);
  VifOptions options;
  options.threshold = 3.0;
  const NaiveResult naive = NaiveIterativeVif(r, p, AllColumns(p), rank, pinned, options.threshold);
  ASSERT_GE(naive.steps.size(), 3u) << "test fixture";

  const VifResult got = IterativeVif(with_nan.data(), p, rank, pinned, options);
  ExpectWellFormed(got, p, pinned);
  ExpectMatchesNaive(got, naive, 0, 1e-6);
  for (double v : got.final_vif) EXPECT_TRUE(std::isfinite(v));
  const VifResult zeros = IterativeVif(r.data(), p, rank, pinned, options);
  ASSERT_EQ(got.survivors, zeros.survivors);
  ASSERT_EQ(got.final_vif.size(), zeros.final_vif.size());
  EXPECT_EQ(0, std::memcmp(got.final_vif.data(), zeros.final_vif.data(),
                           got.final_vif.size() * sizeof(double)));
}

TEST(IterativeVif, EmptyAndSingleColumn) {
  const VifResult empty = IterativeVif(nullptr, 0, {}, {}, VifOptions{});
  EXPECT_TRUE(empty.removed.empty());
  EXPECT_TRUE(empty.survivors.empty());
  EXPECT_TRUE(empty.final_vif.empty());

  const std::vector<double> one = {1.0};
  const VifResult single = IterativeVif(one.data(), 1, {0}, {false}, VifOptions{});
  EXPECT_TRUE(single.removed.empty());
  EXPECT_EQ(single.survivors, (std::vector<std::size_t>{0}));
  EXPECT_EQ(single.final_vif, (std::vector<double>{1.0}));
}

TEST(IterativeVif, TwoColumnsTheWorseRankedGoes) {
  for (double rho : {0.97, -0.99}) {
    const std::vector<double> r = {1.0, rho, rho, 1.0};
    const double expected_vif =
        static_cast<double>(1.0L / (1.0L - static_cast<long double>(rho) * rho));
    for (std::size_t worse : {0, 1}) {
      SCOPED_TRACE("rho " + std::to_string(rho) + " worse " + std::to_string(worse));
      std::vector<std::size_t> rank = {0, 0};
      rank[worse] = 1;
      const std::vector<bool> pinned = {false, false};
      const VifResult result = IterativeVif(r.data(), 2, rank, pinned, VifOptions{});
      ExpectWellFormed(result, 2, pinned);
      ASSERT_EQ(result.removed.size(), 1u);
      // Equal VIFs: the worse-ranked column goes.
      EXPECT_EQ(result.removed[0].column, worse);
      EXPECT_TRUE(RelClose(expected_vif, result.removed[0].vif, 1e-12));
      EXPECT_EQ(result.removed[0].absorbed_by, 1 - worse);
      EXPECT_NEAR(result.removed[0].partial_correlation, rho, 1e-12);
      EXPECT_EQ(result.survivors, (std::vector<std::size_t>{1 - worse}));
      ASSERT_EQ(result.final_vif.size(), 1u);
      EXPECT_TRUE(RelClose(1.0, result.final_vif[0], 1e-12));
    }
    // Below the threshold nothing happens.
    VifOptions high;
    high.threshold = expected_vif * 1.01;
    const VifResult none = IterativeVif(r.data(), 2, {0, 1}, {false, false}, high);
    EXPECT_TRUE(none.removed.empty());
    EXPECT_EQ(none.survivors, (std::vector<std::size_t>{0, 1}));
  }
}

TEST(IterativeVif, TiedPairsInsideALargerMatrix) {
  // Block diagonal: pairs (0, 5) at 0.98 and (2, 7) at -0.95, the other columns independent.
  // Within each pair the VIFs are equal in exact arithmetic, before and after the downdate
  // that removes a member of the other pair: the worse-ranked member must go.
  const std::size_t p = 9;
  std::vector<double> r(p * p, 0.0);
  for (std::size_t i = 0; i < p; ++i) r[i * p + i] = 1.0;
  r[0 * p + 5] = r[5 * p + 0] = 0.98;
  r[2 * p + 7] = r[7 * p + 2] = -0.95;
  const std::vector<bool> pinned(p, false);
  VifOptions options;
  options.threshold = 5.0;
  for (std::uint64_t seed = 181; seed < 189; ++seed) {
    const std::vector<std::size_t> rank = RandomRanks(p, seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    const VifResult result = IterativeVif(r.data(), p, rank, pinned, options);
    ExpectWellFormed(result, p, pinned);
    ASSERT_EQ(result.removed.size(), 2u);
    const std::size_t first = rank[0] > rank[5] ? 0 : 5;
    const std::size_t second = rank[2] > rank[7] ? 2 : 7;
    EXPECT_EQ(result.removed[0].column, first);
    EXPECT_EQ(result.removed[0].absorbed_by, first == 0 ? 5u : 0u);
    EXPECT_NEAR(result.removed[0].partial_correlation, 0.98, 1e-12);
    EXPECT_EQ(result.removed[1].column, second);
    EXPECT_EQ(result.removed[1].absorbed_by, second == 2 ? 7u : 2u);
    EXPECT_NEAR(result.removed[1].partial_correlation, -0.95, 1e-12);
    for (double v : result.final_vif) EXPECT_TRUE(RelClose(1.0, v, 1e-12));
  }
}

TEST(IterativeVif, ExactTiesGoToTheWorseRankedColumn) {
  // Identity: every VIF is exactly 1 at every step; threshold 0.5 makes every one exceed it.
  // Pinning the best-ranked column stops the loop when only it is left.
  const std::size_t p = 12;
  std::vector<double> identity(p * p, 0.0);
  for (std::size_t i = 0; i < p; ++i) identity[i * p + i] = 1.0;
  const std::vector<std::size_t> rank = RandomRanks(p, 151);
  std::vector<bool> pinned(p, false);
  const std::size_t best =
      static_cast<std::size_t>(std::find(rank.begin(), rank.end(), 0u) - rank.begin());
  pinned[best] = true;
  VifOptions options;
  options.threshold = 0.5;
  const VifResult result = IterativeVif(identity.data(), p, rank, pinned, options);
  ExpectWellFormed(result, p, pinned);
  ASSERT_EQ(result.removed.size(), p - 1);
  for (std::size_t s = 0; s < result.removed.size(); ++s) {
    EXPECT_EQ(rank[result.removed[s].column], p - 1 - s) << "removal " << s;
    EXPECT_EQ(result.removed[s].vif, 1.0);
    EXPECT_FALSE(result.removed[s].singular);
  }
  EXPECT_EQ(result.survivors, (std::vector<std::size_t>{best}));
  EXPECT_EQ(result.final_vif, (std::vector<double>{1.0}));
}

TEST(IterativeVif, HighThresholdRemovesNothingButSingularColumns) {
  const std::size_t n = 300, p = 40;
  const std::vector<double> data = MakeFactorData(n, p, 5, 0.3, 0.0, 161);
  const std::vector<double> r = Pearson(data, n, p);
  const std::vector<std::size_t> rank = RandomRanks(p, 162);
  const std::vector<bool> pinned(p, false);
  VifOptions options;
  options.threshold = 1e300;
  const VifResult result = IterativeVif(r.data(), p, rank, pinned, options);
  ExpectWellFormed(result, p, pinned);
  EXPECT_TRUE(result.removed.empty());
  EXPECT_EQ(result.survivors, AllColumns(p));
  const std::vector<long double> inv = NaiveInverse(r, p);
  double largest = 0.0;
  for (std::size_t i = 0; i < p; ++i) {
    largest = std::max(largest, static_cast<double>(inv[i * p + i]));
    EXPECT_TRUE(RelClose(static_cast<double>(inv[i * p + i]), result.final_vif[i], 1e-8));
  }
  EXPECT_GT(largest, 50.0) << "test fixture";
  ExpectFinalVifFresh(result, r, p, 1e-10);

  // A duplicate column still goes: its VIF is infinite.
  const SingularCase c = MakeSingularCase(300, 163);
  const std::vector<std::size_t> columns = {0, 1, 6, 7, 8, 10, 11};
  const std::vector<double> sub = Submatrix(c.r, SingularCase::kP, columns);
  const std::vector<std::size_t> sub_rank = {0, 1, 2, 3, 4, 6, 5};  // local 5 (x10) is worst
  const VifResult dup = IterativeVif(sub.data(), columns.size(), sub_rank,
                                     std::vector<bool>(columns.size(), false), options);
  ASSERT_EQ(dup.removed.size(), 1u);
  EXPECT_EQ(dup.removed[0].column, 5u);
  EXPECT_TRUE(dup.removed[0].singular);
  EXPECT_EQ(dup.removed[0].absorbed_by, 6u);
}

TEST(IterativeVif, Deterministic) {
  const SingularCase c = MakeSingularCase(300, 171);
  const std::size_t p = SingularCase::kP;
  // A larger factor matrix too, with pinned columns.
  const std::size_t n2 = 300, p2 = 90;
  const std::vector<double> r2 = Pearson(MakeFactorData(n2, p2, 15, 0.5, 0.2, 172), n2, p2);
  std::vector<bool> pinned2(p2, false);
  for (std::size_t i = 0; i < p2; i += 11) pinned2[i] = true;
  struct Input {
    const std::vector<double>* r;
    std::size_t p;
    std::vector<std::size_t> rank;
    std::vector<bool> pinned;
  };
  for (const Input& input : {Input{&c.r, p, RandomRanks(p, 173), std::vector<bool>(p, false)},
                             Input{&r2, p2, RandomRanks(p2, 174), pinned2}}) {
    VifOptions options;
    options.threshold = 3.0;
    const VifResult a = IterativeVif(input.r->data(), input.p, input.rank, input.pinned, options);
    const VifResult b = IterativeVif(input.r->data(), input.p, input.rank, input.pinned, options);
    EXPECT_FALSE(a.removed.empty());
    ASSERT_EQ(a.removed.size(), b.removed.size());
    for (std::size_t s = 0; s < a.removed.size(); ++s) {
      EXPECT_EQ(a.removed[s].column, b.removed[s].column);
      EXPECT_EQ(0, std::memcmp(&a.removed[s].vif, &b.removed[s].vif, sizeof(double)));
      EXPECT_EQ(a.removed[s].singular, b.removed[s].singular);
      EXPECT_EQ(a.removed[s].absorbed_by, b.removed[s].absorbed_by);
      EXPECT_EQ(0, std::memcmp(&a.removed[s].partial_correlation, &b.removed[s].partial_correlation,
                               sizeof(double)));
    }
    EXPECT_EQ(a.survivors, b.survivors);
    ASSERT_EQ(a.final_vif.size(), b.final_vif.size());
    EXPECT_EQ(0, std::memcmp(a.final_vif.data(), b.final_vif.data(),
                             a.final_vif.size() * sizeof(double)));
    EXPECT_EQ(a.refreshes, b.refreshes);
  }
}

TEST(IterativeVif, BitwiseIndependentOfBlasThreadCount) {
  // "No step depends on thread count": threaded OpenBLAS dpotrf/dpotri round differently (about
  // 1e-14 relative at p = 300 on two cores), so the library must not let BLAS threads change
  // the result. On a machine where OpenBLAS is capped at one thread this cannot fail.
  const std::size_t p = 300, factors = 30;
  std::mt19937_64 rng(191);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> loadings(p * factors), specific(p);
  for (double& x : loadings) x = normal(rng);
  for (double& x : specific) x = 0.3 + std::fabs(normal(rng));
  std::vector<double> cov(p * p);  // L L^T + diag(specific): positive definite
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = 0; b < p; ++b) {
      double s = a == b ? specific[a] : 0.0;
      for (std::size_t f = 0; f < factors; ++f)
        s += loadings[a * factors + f] * loadings[b * factors + f];
      cov[a * p + b] = s;
    }
  }
  std::vector<double> r(p * p);
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = 0; b < p; ++b) {
      r[a * p + b] = a == b ? 1.0 : cov[a * p + b] / std::sqrt(cov[a * p + a] * cov[b * p + b]);
    }
  }
  const std::vector<std::size_t> rank = RandomRanks(p, 192);
  const std::vector<bool> pinned(p, false);
  VifOptions options;
  options.threshold = 5.0;

  const int previous = openblas_get_num_threads();
  openblas_set_num_threads(1);
  const VifResult one = IterativeVif(r.data(), p, rank, pinned, options);
  const std::vector<double> one_vif = ComputeVif(r.data(), p);
  openblas_set_num_threads(4);
  const VifResult many = IterativeVif(r.data(), p, rank, pinned, options);
  const std::vector<double> many_vif = ComputeVif(r.data(), p);
  openblas_set_num_threads(previous);

  ASSERT_GE(one.removed.size(), 100u) << "test fixture";
  ASSERT_EQ(one.removed.size(), many.removed.size());
  std::size_t differing = 0;
  for (std::size_t s = 0; s < one.removed.size(); ++s) {
    EXPECT_EQ(one.removed[s].column, many.removed[s].column) << "removal " << s;
    differing += std::memcmp(&one.removed[s].vif, &many.removed[s].vif, sizeof(double)) != 0;
  }
  EXPECT_EQ(differing, 0u) << "removal VIFs differ in their bits between 1 and 4 BLAS threads";
  EXPECT_EQ(one.survivors, many.survivors);
  ASSERT_EQ(one.final_vif.size(), many.final_vif.size());
  EXPECT_EQ(0, std::memcmp(one.final_vif.data(), many.final_vif.data(),
                           one.final_vif.size() * sizeof(double)));
  ASSERT_EQ(one_vif.size(), many_vif.size());
  EXPECT_EQ(0, std::memcmp(one_vif.data(), many_vif.data(), p * sizeof(double)));
}

// ---- ExplainedVariance ----------------------------------------------------------------------

TEST(ExplainedVariance, EqualsRSquaredOfExplicitRegression) {
  const std::size_t n = 400, p = 10;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const std::vector<double> data = MakeFactorData(n, p, 3, 0.6, 0.3, seed);
    const std::vector<double> r = Pearson(data, n, p);
    const std::vector<long double> z = Standardise(data, n, p);
    const std::vector<std::size_t> basis = {0, 2, 4, 6, 7};
    const std::vector<std::size_t> targets = {1, 3, 5, 8, 9, 2};
    const std::vector<double> r2 = ExplainedVariance(r.data(), p, basis, targets);
    ASSERT_EQ(r2.size(), targets.size());
    for (std::size_t t = 0; t < targets.size(); ++t) {
      const double expected =
          targets[t] == 2 ? 1.0
                          : static_cast<double>(RegressionRSquared(z, n, p, targets[t], basis));
      EXPECT_NEAR(r2[t], expected, 1e-9) << "target " << targets[t];
    }
  }
}

TEST(ExplainedVariance, DependentBasisUsesThePseudoInverse) {
  // Column 5 is an exact copy of column 0: R_BB is singular, and the R^2 on {0, 5, 2} must equal
  // the R^2 on {0, 2}.
  const std::size_t n = 300, p = 6;
  std::vector<double> data = MakeFactorData(n, p, 2, 0.5, 0.0, 11);
  for (std::size_t row = 0; row < n; ++row) data[row * p + 5] = data[row * p + 0];
  const std::vector<double> r = Pearson(data, n, p);
  const std::vector<long double> z = Standardise(data, n, p);
  const std::vector<double> with_copy = ExplainedVariance(r.data(), p, {0, 5, 2}, {1, 3, 4});
  const std::vector<std::size_t> targets = {1, 3, 4};
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const double expected = static_cast<double>(RegressionRSquared(z, n, p, targets[t], {0, 2}));
    EXPECT_NEAR(with_copy[t], expected, 1e-8) << "target " << targets[t];
  }
  EXPECT_TRUE(ExplainedVariance(r.data(), p, {}, {1}) == std::vector<double>{0.0});
}

TEST(IterativeVif, SingularRemovalsSayWhetherTheyAreCombinationsOrNotPositiveDefinite) {
  // An exact combination: column 2 = column 0 + column 1 (residual variance ~0).
  const std::size_t n = 200;
  std::vector<double> data = MakeFactorData(n, 3, 0, 1.0, 0.0, 5);
  for (std::size_t row = 0; row < n; ++row) data[row * 3 + 2] = data[row * 3] + data[row * 3 + 1];
  const std::vector<double> combination = Pearson(data, n, 3);
  const VifResult combined =
      IterativeVif(combination.data(), 3, {0, 1, 2}, {false, false, false}, VifOptions{});
  ASSERT_FALSE(combined.removed.empty());
  EXPECT_TRUE(combined.removed[0].singular);
  EXPECT_EQ(combined.removed[0].column, 2u);
  EXPECT_LT(std::fabs(combined.removed[0].residual_variance), 1e-10);
  EXPECT_FALSE(NotPositiveDefinite(combined.removed[0]));
  // Pairwise correlations no data set can have: 0.9, 0.9 and -0.9 (determinant < 0).
  const std::vector<double> indefinite = {1.0, 0.9, 0.9, 0.9, 1.0, -0.9, 0.9, -0.9, 1.0};
  const VifResult result =
      IterativeVif(indefinite.data(), 3, {0, 1, 2}, {false, false, false}, VifOptions{});
  ASSERT_FALSE(result.removed.empty());
  EXPECT_TRUE(result.removed[0].singular);
  EXPECT_EQ(result.removed[0].column, 2u);
  // Residual variance of column 2 given columns 0 and 1: 1 - r^T R_01^-1 r = -15.2.
  const double schur = 1.0 - (0.81 + 0.81 + 2.0 * 0.9 * 0.9 * 0.9) / (1.0 - 0.81);
  EXPECT_NEAR(result.removed[0].residual_variance, schur, 1e-12);
  EXPECT_TRUE(NotPositiveDefinite(result.removed[0]));
}

}  // namespace
}  // namespace descpipe
