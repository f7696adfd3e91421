// Tests of Pass 4's nonlinear dependence (CopulaTransform, NonlinearDependence: nHSIC and RDC)
// against references computed here pair by pair:
//  - copulas: average ranks by counting (O(n^2)) / number of finite values;
//  - nHSIC: the exact Gaussian-kernel HSIC, tr(K H L H) / sqrt(tr(K H K H) tr(L H L H)) with
//    k(u, u') = exp(-(u - u')^2 / (2 bandwidth^2)) on n x n kernel matrices (an approximation
//    check: the library uses random Fourier features), and the plain random-feature HSIC with all
//    hsic_D features and no basis projection (an exactness check of the projection);
//  - RDC: Lopez-Paz et al. (NIPS 2013) pair by pair with the library's random projection: sine
//    features, ridge-regularised CCA, largest canonical correlation, in long double.
// Plus planted dependencies, thread-count determinism, options, degenerate columns and shape.
#include "descpipe/nonlinear.hpp"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <iomanip>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "common/numbers.hpp"
#include "descpipe/context.hpp"
#include "descpipe/error.hpp"
#include "descpipe/similarity.hpp"

namespace descpipe {
namespace {

using MatrixL = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;

// ---- Naive references ----------------------------------------------------------------------

/// Copula by counting: (1 + #smaller + (#equal - 1) / 2) / #finite among the finite values; NaN
/// for NaN and +-inf.
std::vector<double> NaiveCopula(const double* values, std::size_t n) {
  std::vector<double> finite;
  for (std::size_t row = 0; row < n; ++row) {
    if (std::isfinite(values[row])) finite.push_back(values[row]);
  }
  std::vector<double> copula(n, kNaN);
  for (std::size_t row = 0; row < n; ++row) {
    if (!std::isfinite(values[row])) continue;
    std::size_t smaller = 0, equal = 0;
    for (double other : finite) {
      smaller += other < values[row] ? 1 : 0;
      equal += other == values[row] ? 1 : 0;
    }
    const double rank =
        1.0 + static_cast<double>(smaller) + (static_cast<double>(equal) - 1.0) / 2.0;
    copula[row] = rank / static_cast<double>(finite.size());
  }
  return copula;
}

ColumnMatrix NaiveCopulaMatrix(const ColumnMatrix& data) {
  ColumnMatrix copula = data;
  for (std::size_t col = 0; col < data.n_cols; ++col) {
    const std::vector<double> column = NaiveCopula(data.column(col), data.n_rows);
    std::copy(column.begin(), column.end(), copula.column(col));
  }
  return copula;
}

/// The doubly centred Gaussian kernel matrix H K H (n x n, row-major) of one complete column.
std::vector<long double> CentredGaussianKernel(const double* u, std::size_t n, double bandwidth) {
  std::vector<long double> k(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const long double d = static_cast<long double>(u[i]) - u[j];
      k[i * n + j] = std::exp(-d * d / (2.0L * bandwidth * bandwidth));
    }
  }
  std::vector<long double> row_mean(n, 0.0L);
  long double grand_mean = 0.0L;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) row_mean[i] += k[i * n + j];
    row_mean[i] /= static_cast<long double>(n);
    grand_mean += row_mean[i];
  }
  grand_mean /= static_cast<long double>(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) k[i * n + j] += grand_mean - row_mean[i] - row_mean[j];
  }
  return k;
}

/// tr(A B) for symmetric n x n matrices: sum of the elementwise product.
long double TraceOfProduct(const std::vector<long double>& a, const std::vector<long double>& b) {
  long double sum = 0.0L;
  for (std::size_t e = 0; e < a.size(); ++e) sum += a[e] * b[e];
  return sum;
}

/// p x p normalised HSIC from raw(a, b) = HSIC of columns a and b: raw(a, b) / sqrt(raw(a, a)
/// raw(b, b)), 1 on the diagonal of a column with raw(a, a) > 0, 0 for the pairs of the others.
std::vector<double> NormalisedHsic(
    std::size_t p, const std::function<long double(std::size_t, std::size_t)>& raw) {
  std::vector<long double> self(p);
  for (std::size_t a = 0; a < p; ++a) self[a] = raw(a, a);
  std::vector<double> result(p * p, 0.0);
  for (std::size_t a = 0; a < p; ++a) {
    result[a * p + a] = self[a] > 0.0L ? 1.0 : 0.0;
    for (std::size_t b = a + 1; b < p; ++b) {
      const long double denominator = std::sqrt(self[a] * self[b]);
      const double value = denominator > 0.0L ? static_cast<double>(raw(a, b) / denominator) : 0.0;
      result[a * p + b] = result[b * p + a] = value;
    }
  }
  return result;
}

/// Exact normalised HSIC of every pair of complete copula columns (Gaussian kernel):
/// tr(KHLH) / sqrt(tr(KHKH) tr(LHLH)).
std::vector<double> ExactHsic(const ColumnMatrix& copula, double bandwidth) {
  std::vector<std::vector<long double>> kernels;
  for (std::size_t col = 0; col < copula.n_cols; ++col) {
    kernels.push_back(CentredGaussianKernel(copula.column(col), copula.n_rows, bandwidth));
  }
  return NormalisedHsic(copula.n_cols, [&](std::size_t a, std::size_t b) {
    return TraceOfProduct(kernels[a], kernels[b]);
  });
}

/// Plain random-feature HSIC: z(u) = [cos(w_1 u) .. cos(w_m u), sin(w_1 u) .. sin(w_m u)] / sqrt(m)
/// with every one of the m = hsic_D / 2 frequencies, centred over the valid rows, missing rows
/// zero; HSIC(x, y) = ||Zx^T Zy||_F^2 (2m x 2m) or, cheaper when n < 2m, the same number as
/// tr((Zx Zx^T)(Zy Zy^T)) (n x n); normalised.
std::vector<double> PlainRandomFeatureHsic(const ColumnMatrix& copula,
                                           const NonlinearOptions& options) {
  const std::vector<double> w = HsicFrequencies(options);
  const std::size_t n = copula.n_rows, m = w.size(), p = copula.n_cols;
  std::vector<Eigen::MatrixXd> features;
  for (std::size_t col = 0; col < p; ++col) {
    const double* u = copula.column(col);
    std::size_t valid = 0;
    for (std::size_t i = 0; i < n; ++i) valid += std::isnan(u[i]) ? 0 : 1;
    Eigen::MatrixXd z =
        Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(2 * m));
    for (std::size_t f = 0; f < m; ++f) {
      long double sum_cos = 0.0L, sum_sin = 0.0L;
      for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(u[i])) continue;
        const long double angle = static_cast<long double>(w[f]) * u[i];
        z(i, f) = static_cast<double>(std::cos(angle) / std::sqrt(static_cast<long double>(m)));
        z(i, m + f) = static_cast<double>(std::sin(angle) / std::sqrt(static_cast<long double>(m)));
        sum_cos += z(i, f);
        sum_sin += z(i, m + f);
      }
      for (std::size_t i = 0; i < n && valid > 0; ++i) {
        if (std::isnan(u[i])) continue;
        z(i, f) -= static_cast<double>(sum_cos / static_cast<long double>(valid));
        z(i, m + f) -= static_cast<double>(sum_sin / static_cast<long double>(valid));
      }
    }
    features.push_back(std::move(z));
  }
  auto sum_of_products = [](const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
    long double sum = 0.0L;
    for (Eigen::Index e = 0; e < a.size(); ++e)
      sum += static_cast<long double>(a.data()[e]) * b.data()[e];
    return sum;
  };
  if (n < 2 * m) {
    std::vector<Eigen::MatrixXd> grams;
    for (const Eigen::MatrixXd& z : features) grams.push_back(z * z.transpose());
    return NormalisedHsic(
        p, [&](std::size_t a, std::size_t b) { return sum_of_products(grams[a], grams[b]); });
  }
  return NormalisedHsic(p, [&](std::size_t a, std::size_t b) {
    const Eigen::MatrixXd cross = features[a].transpose() * features[b];
    return sum_of_products(cross, cross);
  });
}

/// RDC of every pair by the textbook recipe for draw 0 of `options` (rdc_seeds must be 1), in
/// long double: F = sin(s/2 * (W[0][j] u + W[1][j])) (n x k), centred over the valid rows, missing
/// rows zero; C = F^T F; lambda = ridge * max eigenvalue(C) for each column; canonical
/// correlations = singular values of (Cxx + lx I)^{-1/2} Cxy (Cyy + ly I)^{-1/2}; the largest.
/// The diagonal is 1.
MatrixL SineFeatures(const double* u, std::size_t n, const std::vector<double>& w, int k,
                     double s) {
  MatrixL f = MatrixL::Zero(static_cast<Eigen::Index>(n), k);
  std::size_t valid = 0;
  for (std::size_t i = 0; i < n; ++i) valid += std::isnan(u[i]) ? 0 : 1;
  for (int j = 0; j < k; ++j) {
    long double sum = 0.0L;
    for (std::size_t i = 0; i < n; ++i) {
      if (std::isnan(u[i])) continue;
      f(i, j) =
          std::sin(static_cast<long double>(s) / 2.0L *
                   (static_cast<long double>(w[j]) * u[i] + static_cast<long double>(w[k + j])));
      sum += f(i, j);
    }
    for (std::size_t i = 0; i < n && valid > 0; ++i) {
      if (!std::isnan(u[i])) f(i, j) -= sum / static_cast<long double>(valid);
    }
  }
  return f;
}

/// (C + ridge * max eigenvalue(C) I)^{-1/2}; zero when C is zero.
MatrixL RidgeInverseSqrt(const MatrixL& c, double ridge) {
  Eigen::SelfAdjointEigenSolver<MatrixL> solver(c);
  const long double largest = solver.eigenvalues().maxCoeff();
  if (!(largest > 0.0L)) return MatrixL::Zero(c.rows(), c.cols());
  const long double lambda = static_cast<long double>(ridge) * largest;
  MatrixL scale = MatrixL::Zero(c.rows(), c.cols());
  for (Eigen::Index e = 0; e < c.rows(); ++e) {
    scale(e, e) = 1.0L / std::sqrt(std::max(0.0L, solver.eigenvalues()(e)) + lambda);
  }
  return solver.eigenvectors() * scale * solver.eigenvectors().transpose();
}

std::vector<double> TextbookRdc(const ColumnMatrix& copula, const NonlinearOptions& options,
                                int k) {
  const std::vector<double> w = RdcProjection(options, 0, k);
  const std::size_t n = copula.n_rows, p = copula.n_cols;
  std::vector<MatrixL> features, inverse_sqrt;
  for (std::size_t col = 0; col < p; ++col) {
    features.push_back(SineFeatures(copula.column(col), n, w, k, options.rdc_s));
    inverse_sqrt.push_back(
        RidgeInverseSqrt(features.back().transpose() * features.back(), options.rdc_ridge));
  }
  std::vector<double> rdc(p * p, 1.0);
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = a + 1; b < p; ++b) {
      const MatrixL cxy = features[a].transpose() * features[b];
      const MatrixL m = inverse_sqrt[a] * cxy * inverse_sqrt[b];
      Eigen::JacobiSVD<MatrixL> svd(m);
      rdc[a * p + b] = rdc[b * p + a] = static_cast<double>(svd.singularValues()(0));
    }
  }
  return rdc;
}

// ---- Test data ------------------------------------------------------------------------------

/// Columns of the planted-dependence data: x uniform on [-1, 1] and functions of it with noise,
/// then independent columns.
enum PlantedColumn : std::size_t {
  kX = 0,
  kXCopy,   // identical to x
  kCube,    // x^3: same copula as x
  kSquare,  // x^2 + 0.05 N
  kAbs,     // |x| + 0.05 N
  kSine,    // sin(3x) + 0.05 N
  kStep,    // (x > 0.3) + 0.1 N
  kExp,     // exp(x) + 0.1 N
  kPlantedEnd,
};
const char* const kPlantedNames[] = {"x",   "x copy",  "x^3",  "x^2",
                                     "|x|", "sin(3x)", "step", "exp(x)"};

/// n rows: the planted columns, then `independent` columns cycling through uniform, normal and
/// exponential draws independent of everything else.
ColumnMatrix MakePlanted(std::size_t n, std::size_t independent, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> symmetric(-1.0, 1.0);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::exponential_distribution<double> exponential(1.0);
  ColumnMatrix data;
  data.n_rows = n;
  data.n_cols = kPlantedEnd + independent;
  data.values.assign(n * data.n_cols, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = symmetric(rng);
    data.column(kX)[i] = x;
    data.column(kXCopy)[i] = x;
    data.column(kCube)[i] = x * x * x;
    data.column(kSquare)[i] = x * x + 0.05 * normal(rng);
    data.column(kAbs)[i] = std::fabs(x) + 0.05 * normal(rng);
    data.column(kSine)[i] = std::sin(3.0 * x) + 0.05 * normal(rng);
    data.column(kStep)[i] = (x > 0.3 ? 1.0 : 0.0) + 0.1 * normal(rng);
    data.column(kExp)[i] = std::exp(x) + 0.1 * normal(rng);
  }
  for (std::size_t c = 0; c < independent; ++c) {
    double* column = data.column(kPlantedEnd + c);
    for (std::size_t i = 0; i < n; ++i) {
      column[i] = c % 3 == 0 ? symmetric(rng) : (c % 3 == 1 ? normal(rng) : exponential(rng));
    }
  }
  return data;
}

/// Planted data with ties (rounded columns, a binary column) and NaN / +-inf at varying rates,
/// so that both of the library's paths (complete columns through the rank table, incomplete ones
/// evaluated directly) and half-integer ranks are exercised.
ColumnMatrix MakeMessy(std::size_t n, std::uint64_t seed) {
  ColumnMatrix data = MakePlanted(n, 3, seed);
  std::mt19937_64 rng(seed + 1);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    data.column(kCube)[i] = std::round(data.column(kCube)[i] * 10.0);      // ties, complete
    data.column(kStep)[i] = data.column(kStep)[i] > 0.5 ? 1.0 : 0.0;       // binary, complete
    data.column(kSquare)[i] = std::round(data.column(kSquare)[i] * 20.0);  // ties, with NaN below
  }
  for (std::size_t col : {std::size_t{kSquare}, std::size_t{kSine}, std::size_t{kPlantedEnd + 1}}) {
    const double rate = col == kSine ? 0.3 : 0.1;
    for (std::size_t i = 0; i < n; ++i) {
      const double draw = unit(rng);
      if (draw < rate)
        data.column(col)[i] = draw < rate / 3 ? kNaN : (draw < 2 * rate / 3 ? kInf : -kInf);
    }
  }
  return data;
}

// ---- Helpers --------------------------------------------------------------------------------

std::string PairName(std::size_t a, std::size_t b) {
  auto name = [](std::size_t c) {
    return c < kPlantedEnd ? std::string(kPlantedNames[c])
                           : "independent " + std::to_string(c - kPlantedEnd);
  };
  return name(a) + " / " + name(b);
}

/// Largest |a - b| over the p x p entries.
double WorstDifference(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (std::size_t e = 0; e < std::min(a.size(), b.size()); ++e)
    worst = std::max(worst, std::fabs(a[e] - b[e]));
  return worst;
}

/// Every entry of `actual` within `tolerance` of `expected`; reports the largest difference.
void ExpectClose(const std::vector<double>& expected, const std::vector<double>& actual,
                 std::size_t p, double tolerance, const std::string& what) {
  ASSERT_EQ(expected.size(), p * p) << what;
  ASSERT_EQ(actual.size(), p * p) << what;
  std::size_t mismatches = 0;
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = 0; b < p; ++b) {
      const double e = expected[a * p + b], v = actual[a * p + b];
      if (!(std::fabs(e - v) <= tolerance) && ++mismatches <= 8) {
        ADD_FAILURE() << what << std::setprecision(17) << ": (" << PairName(a, b) << ") expected "
                      << e << ", got " << v;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << what << ": largest difference " << WorstDifference(expected, actual);
}

/// Symmetric exactly, finite, in [0, 1].
void ExpectSimilarityShape(const std::vector<double>& matrix, std::size_t p,
                           const std::string& what) {
  ASSERT_EQ(matrix.size(), p * p) << what;
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = 0; b < p; ++b) {
      const double value = matrix[a * p + b];
      EXPECT_TRUE(std::isfinite(value) && value >= 0.0 && value <= 1.0)
          << what << " (" << a << ", " << b << ") = " << value;
      EXPECT_EQ(value, matrix[b * p + a]) << what << " not symmetric at (" << a << ", " << b << ")";
    }
  }
}

bool SameBytes(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// ---- CopulaTransform ------------------------------------------------------------------------

TEST(CopulaTransform, MatchesNaiveAverageRankOverFiniteCount) {
  const std::size_t n = 701;
  ColumnMatrix data = MakeMessy(n, 7);
  // Extra columns: all missing, one finite value, all equal, heavy ties with every kind of missing.
  const std::size_t base = data.n_cols;
  data.n_cols += 4;
  data.values.resize(n * data.n_cols);
  std::mt19937_64 rng(8);
  std::uniform_int_distribution<int> level(0, 3);
  for (std::size_t i = 0; i < n; ++i) {
    data.column(base)[i] = i % 2 == 0 ? kNaN : -kInf;
    data.column(base + 1)[i] = i == n / 2 ? -3.0 : kNaN;
    data.column(base + 2)[i] = 2.5;
    data.column(base + 3)[i] =
        i % 11 == 0 ? kInf : (i % 13 == 0 ? kNaN : static_cast<double>(level(rng)) - 1.5);
  }
  const ColumnMatrix expected = NaiveCopulaMatrix(data);
  for (int threads : {1, 2}) {
    ColumnMatrix actual = data;
    CopulaTransform(actual, Context(threads, 42));
    ASSERT_EQ(actual.values.size(), expected.values.size());
    std::size_t mismatches = 0;
    for (std::size_t col = 0; col < data.n_cols; ++col) {
      for (std::size_t i = 0; i < n; ++i) {
        const double e = expected.column(col)[i], v = actual.column(col)[i];
        // Half-integer ranks and one division: the same double both ways.
        const bool ok = std::isnan(e) ? std::isnan(v) : e == v;
        if (!ok && ++mismatches <= 8) {
          ADD_FAILURE() << std::setprecision(17) << "threads " << threads << ", column " << col
                        << ", row " << i << ": value " << data.column(col)[i] << ", expected " << e
                        << ", got " << v;
        }
      }
    }
    EXPECT_EQ(mismatches, 0u) << "threads " << threads;
  }
  // Spot checks of the reference itself: one finite value -> 1; all equal -> (n + 1) / (2n).
  EXPECT_EQ(expected.column(base + 1)[n / 2], 1.0);
  EXPECT_EQ(expected.column(base + 2)[0],
            (static_cast<double>(n) + 1.0) / (2.0 * static_cast<double>(n)));
  EXPECT_TRUE(std::isnan(expected.column(base)[1]));
}

// ---- nHSIC against the exact kernel HSIC ----------------------------------------------------

// The random Fourier features approximate the Gaussian kernel with a Monte Carlo error ~ 1/sqrt(m).
// Measured on this data (n = 500, 11 columns) at the default hsic_D = 512: the worst |nHSIC -
// exact| over the 55 pairs is 0.0337 for feature seed 6 (the worst of seeds 1..40; median 0.012).
// Seeds 1..6 are tested; the tolerance leaves 1.5x margin for other platforms' data draws.
constexpr double kHsicRffTolerance = 0.05;

TEST(NonlinearHsic, ApproximatesExactGaussianKernelHsic) {
  const std::size_t n = 500;
  const ColumnMatrix copula = NaiveCopulaMatrix(MakePlanted(n, 3, 21));
  const std::size_t p = copula.n_cols;
  const std::vector<double> exact = ExactHsic(copula, kHsicBandwidth);
  // The exact values themselves: strong for the planted pairs, weak for independent ones.
  EXPECT_NEAR(exact[kX * p + kXCopy], 1.0, 1e-12);
  for (std::size_t col = kSquare; col < kPlantedEnd; ++col)
    EXPECT_GT(exact[kX * p + col], 0.25) << PairName(kX, col);
  for (std::size_t col = kPlantedEnd; col < p; ++col)
    EXPECT_LT(exact[kX * p + col], 0.05) << PairName(kX, col);

  double worst = 0.0;
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    NonlinearOptions options;
    options.seed = seed;
    options.w_rdc = 0.0;
    const NonlinearResult result = NonlinearDependence(copula, options, Context(2, 42));
    ExpectClose(exact, result.hsic, p, kHsicRffTolerance,
                "nHSIC, feature seed " + std::to_string(seed));
    worst = std::max(worst, WorstDifference(exact, result.hsic));
  }
  std::cout << "[ measured ] worst |nHSIC(D=512) - exact| over 6 seeds: " << worst << "\n";
}

TEST(NonlinearHsic, ErrorShrinksWithMoreFeatures) {
  const std::size_t n = 400;
  const ColumnMatrix copula = NaiveCopulaMatrix(MakePlanted(n, 3, 22));
  const std::vector<double> exact = ExactHsic(copula, kHsicBandwidth);
  auto mean_worst = [&](int features) {
    double sum = 0.0;
    const int seeds = 5;
    for (int seed = 1; seed <= seeds; ++seed) {
      NonlinearOptions options;
      options.hsic_D = features;
      options.seed = static_cast<std::uint64_t>(seed);
      options.w_rdc = 0.0;
      sum += WorstDifference(exact, NonlinearDependence(copula, options, Context(2, 42)).hsic);
    }
    return sum / seeds;
  };
  // Monte Carlo error ~ 1/sqrt(D): 32 times more features, ~5.7 times less error. Measured mean
  // (over seeds 1..5) of the worst error over the 55 pairs: D = 8: 0.106, 16: 0.091, 32: 0.042,
  // 64: 0.036, 128: 0.040, 256: 0.020, 512: 0.022, 1024: 0.016; so 16 -> 512 gains 4.1x.
  // (Larger D is slow: the basis costs O(hsic_D^3), ~9 s at D = 2048.)
  const double coarse = mean_worst(16), fine = mean_worst(512);
  std::cout << "[ measured ] mean worst |nHSIC - exact|: D=16 " << coarse << ", D=512 " << fine
            << "\n";
  EXPECT_LT(fine, coarse / 2.0);
}

TEST(NonlinearHsic, RandomDrawsHaveTheStatedDistributions) {
  // HSIC frequencies ~ N(0, 1 / bandwidth^2) (the Gaussian kernel's spectral density) and RDC
  // projections ~ N(0, 1): moments of 100000 draws (standard errors: mean 0.003, variance 0.0045,
  // fourth moment 0.03).
  auto moments = [](const std::vector<double>& x, double scale) {
    long double m1 = 0.0L, m2 = 0.0L, m4 = 0.0L;
    for (double v : x) {
      const long double z = static_cast<long double>(v) * scale;
      m1 += z;
      m2 += z * z;
      m4 += z * z * z * z;
    }
    const auto count = static_cast<long double>(x.size());
    return std::vector<double>{static_cast<double>(m1 / count), static_cast<double>(m2 / count),
                               static_cast<double>(m4 / count)};
  };
  NonlinearOptions options;
  options.hsic_D = 200000;
  options.hsic_bandwidth = 0.2;
  const std::vector<double> w = HsicFrequencies(options);
  ASSERT_EQ(w.size(), 100000u);
  const std::vector<double> hsic = moments(w, options.hsic_bandwidth);
  EXPECT_NEAR(hsic[0], 0.0, 0.015);
  EXPECT_NEAR(hsic[1], 1.0, 0.025);
  EXPECT_NEAR(hsic[2], 3.0, 0.15);
  const std::vector<double> projection = RdcProjection(options, 3, 50000);
  ASSERT_EQ(projection.size(), 100000u);
  const std::vector<double> rdc = moments(projection, 1.0);
  EXPECT_NEAR(rdc[0], 0.0, 0.015);
  EXPECT_NEAR(rdc[1], 1.0, 0.025);
  EXPECT_NEAR(rdc[2], 3.0, 0.15);
  // Seeded: the same options give the same draws; other draws or seeds give others.
  EXPECT_EQ(HsicFrequencies(options), w);
  EXPECT_EQ(RdcProjection(options, 3, 50000), projection);
  EXPECT_NE(RdcProjection(options, 4, 50000), projection);
  options.seed += 1;
  EXPECT_NE(HsicFrequencies(options), w);
}

// ---- nHSIC: the basis projection is exact ---------------------------------------------------

// The basis keeps every direction above 1e-14 of the largest eigenvalue, so nothing measurable is
// lost: measured worst |projected - plain| = 4.0e-15 (D = 512 and 96, columns with ties, NaN, inf).
constexpr double kProjectionTolerance = 1e-9;

TEST(NonlinearHsic, ProjectedBasisEqualsPlainRandomFeatures) {
  const std::size_t n = 450;
  const ColumnMatrix copula = NaiveCopulaMatrix(MakeMessy(n, 31));
  const std::size_t p = copula.n_cols;
  double worst = 0.0;
  for (int features : {512, 96}) {
    NonlinearOptions options;
    options.hsic_D = features;
    options.seed = 5;
    options.w_rdc = 0.0;
    const NonlinearResult result = NonlinearDependence(copula, options, Context(2, 42));
    const std::vector<double> plain = PlainRandomFeatureHsic(copula, options);
    ExpectClose(plain, result.hsic, p, kProjectionTolerance,
                "projected vs plain, D=" + std::to_string(features));
    worst = std::max(worst, WorstDifference(plain, result.hsic));
    EXPECT_GT(result.hsic_basis, 3u);
    EXPECT_LT(result.hsic_basis, static_cast<std::size_t>(features));
  }
  std::cout << "[ measured ] worst |nHSIC projected - plain RFF|: " << worst << "\n";
}

TEST(NonlinearHsic, ProjectedBasisEqualsPlainRandomFeaturesOnManyRows) {
  // More rows than the basis grid (the basis is fitted on at most 8192 points of [0, 1]; ranks of
  // a complete column fall between them) and more than one evaluation chunk (2048).
  const std::size_t n = 9000;
  ColumnMatrix copula = MakeMessy(n, 32);
  CopulaTransform(copula, Context(2, 42));  // equal to the naive copula (tested above)
  NonlinearOptions options;
  options.hsic_D = 64;
  options.seed = 6;
  options.w_rdc = 0.0;
  const NonlinearResult result = NonlinearDependence(copula, options, Context(2, 42));
  const std::vector<double> plain = PlainRandomFeatureHsic(copula, options);
  ExpectClose(plain, result.hsic, copula.n_cols, kProjectionTolerance,
              "projected vs plain, n=9000, D=64");
  std::cout << "[ measured ] worst |nHSIC projected - plain RFF|, n = 9000: "
            << WorstDifference(plain, result.hsic) << "\n";
}

// ---- RDC against the textbook computation ---------------------------------------------------

// The library drops basis directions below 1e-14 of the largest eigenvalue; with the relative ridge
// 1e-10 such a direction can still carry up to 1e-4 of a whitened variance in the textbook CCA,
// so the two differ slightly. At s = 1/6 the sine features are nearly linear on [0, 1] and only 3
// directions survive (rdc_basis == 3). Measured worst |RDC - textbook| over the 55 pairs for
// projection seeds 1..12: 2.2e-7 .. 7.7e-6; the tested seeds 6 and 10 are the two worst
// (6.2e-6, 7.7e-6).
constexpr double kRdcTolerance = 5e-5;

TEST(NonlinearRdc, MatchesTextbookCcaWithTheSameProjection) {
  const std::size_t n = 2000;
  const ColumnMatrix copula = NaiveCopulaMatrix(MakeMessy(n, 41));
  const std::size_t p = copula.n_cols;
  double worst = 0.0;
  for (std::uint64_t seed : {6u, 10u}) {
    NonlinearOptions options;
    options.rdc_seeds = 1;
    options.seed = seed;
    options.w_hsic = 0.0;
    const NonlinearResult result = NonlinearDependence(copula, options, Context(2, 42));
    ASSERT_EQ(result.rdc_k_used, 20);
    const std::vector<double> expected = TextbookRdc(copula, options, result.rdc_k_used);
    ExpectClose(expected, result.rdc, p, kRdcTolerance,
                "RDC vs textbook, seed " + std::to_string(seed));
    worst = std::max(worst, WorstDifference(expected, result.rdc));
  }
  std::cout << "[ measured ] worst |RDC - textbook|: " << worst << "\n";
}

// ---- Planted dependence ---------------------------------------------------------------------

TEST(NonlinearDependence, FindsPlantedDependenceAndNotIndependence) {
  const std::size_t n = 5000, independent = 9;
  ColumnMatrix copula = MakePlanted(n, independent, 51);
  CopulaTransform(copula, Context(2, 42));
  const std::size_t p = copula.n_cols;
  const NonlinearResult result = NonlinearDependence(copula, NonlinearOptions{}, Context(2, 42));
  ASSERT_EQ(result.n_cols, p);
  auto at = [p](const std::vector<double>& m, std::size_t a, std::size_t b) {
    return m[a * p + b];
  };

  std::cout << "[ measured ] planted pairs with x (fused / nHSIC / RDC):";
  for (std::size_t col = kSquare; col < kPlantedEnd; ++col) {
    EXPECT_GE(at(result.fused, kX, col), 0.6) << PairName(kX, col);  // default nonlinear_threshold
    EXPECT_GT(at(result.hsic, kX, col), 0.25) << PairName(kX, col);
    EXPECT_GT(at(result.rdc, kX, col), 0.75) << PairName(kX, col);
    std::cout << std::setprecision(3) << " " << kPlantedNames[col] << " "
              << at(result.fused, kX, col) << " / " << at(result.hsic, kX, col) << " / "
              << at(result.rdc, kX, col) << ";";
  }
  std::cout << "\n";
  double worst_independent = 0.0;
  for (std::size_t a = kPlantedEnd; a < p; ++a) {
    for (std::size_t b : {std::size_t{kX}}) {
      worst_independent = std::max(worst_independent, at(result.fused, a, b));
    }
    for (std::size_t b = kPlantedEnd; b < p; ++b) {
      if (b != a) worst_independent = std::max(worst_independent, at(result.fused, a, b));
    }
  }
  std::cout << "[ measured ] largest fused S of an independent pair: " << worst_independent << "\n";
  EXPECT_LT(worst_independent, 0.1);

  // Identical columns, and x^3 (the same copula): 1 like the diagonal.
  for (const std::vector<double>* m : {&result.hsic, &result.rdc, &result.fused}) {
    EXPECT_NEAR(at(*m, kX, kXCopy), 1.0, 1e-9);
    EXPECT_NEAR(at(*m, kX, kCube), 1.0, 1e-9);
    for (std::size_t other = 0; other < p; ++other) {
      if (other == kX || other == kCube || other == kXCopy) continue;
      EXPECT_NEAR(at(*m, kCube, other), at(*m, kX, other), 1e-12) << PairName(kCube, other);
      EXPECT_NEAR(at(*m, kXCopy, other), at(*m, kX, other), 1e-12) << PairName(kXCopy, other);
    }
  }
  ExpectSimilarityShape(result.hsic, p, "nHSIC");
  ExpectSimilarityShape(result.rdc, p, "RDC");
  ExpectSimilarityShape(result.fused, p, "fused");
  for (std::size_t a = 0; a < p; ++a) {
    EXPECT_EQ(at(result.hsic, a, a), 1.0);
    EXPECT_EQ(at(result.rdc, a, a), 1.0);
    EXPECT_EQ(at(result.fused, a, a), 1.0);
    for (std::size_t b = 0; b < p; ++b) {
      EXPECT_NEAR(at(result.fused, a, b), 0.5 * at(result.hsic, a, b) + 0.5 * at(result.rdc, a, b),
                  1e-15);
    }
  }
}

// ---- Determinism ----------------------------------------------------------------------------

TEST(NonlinearDependence, SameBytesForAnyThreadCount) {
  // 60 columns x ~11 HSIC basis directions: several 256-column product tiles.
  const std::size_t n = 3000, p = 60;
  ColumnMatrix data = MakePlanted(n, p - kPlantedEnd, 61);
  const ColumnMatrix messy = MakeMessy(n, 62);
  std::copy(messy.values.begin(), messy.values.end(),
            data.values.begin() + static_cast<std::ptrdiff_t>(n * 30));
  CopulaTransform(data, Context(1, 42));
  NonlinearOptions options;
  options.rdc_seeds = 2;
  const NonlinearResult one = NonlinearDependence(data, options, Context(1, 42));
  EXPECT_GT(one.hsic_basis * p, 2 * 256u) << "want at least three tiles";
  for (int threads : {2, 3}) {
    std::int64_t last_total = 0;
    std::uint64_t last_done = 0;
    double last_fraction = 0.0;
    bool monotone = true;
    const NonlinearResult many = NonlinearDependence(
        data, options, Context(threads, 42), [&](std::uint64_t done, std::int64_t total) {
          const double fraction = static_cast<double>(done) / static_cast<double>(total);
          monotone = monotone && fraction >= last_fraction;
          last_fraction = fraction;
          last_done = done;
          last_total = total;
        });
    EXPECT_TRUE(SameBytes(one.hsic, many.hsic)) << threads << " threads";
    EXPECT_TRUE(SameBytes(one.rdc, many.rdc)) << threads << " threads";
    EXPECT_TRUE(SameBytes(one.fused, many.fused)) << threads << " threads";
    EXPECT_EQ(one.hsic_basis, many.hsic_basis);
    EXPECT_EQ(one.rdc_basis, many.rdc_basis);
    EXPECT_TRUE(monotone) << "progress fraction went backwards";
    EXPECT_EQ(static_cast<std::int64_t>(last_done), last_total) << "progress ends at the total";
  }
}

// ---- Screening (nonlinear_screening) ----------------------------------------------------------

/// 110 columns over five 23-column HSIC tiles: the planted columns (0-7), independent ones, two
/// bands of noisy copies of one latent z (30-54 and 80-104, so some tiles off the diagonal are
/// dense, some sparse and some empty of wanted pairs), and the messy columns (105-109: ties,
/// NaN, +-inf, so incomplete columns too).
ColumnMatrix MakeBands(std::size_t n, std::uint64_t seed) {
  ColumnMatrix data = MakePlanted(n, 105 - kPlantedEnd, seed);
  const ColumnMatrix messy = MakeMessy(n, seed + 7);
  ColumnMatrix out;
  out.n_rows = n;
  out.n_cols = 110;
  out.values.assign(n * out.n_cols, 0.0);
  std::copy(data.values.begin(), data.values.end(), out.values.begin());
  std::copy_n(messy.values.begin(), 5 * n,
              out.values.begin() + static_cast<std::ptrdiff_t>(105 * n));
  std::mt19937_64 rng(seed + 3);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> z(n);
  for (double& v : z) v = normal(rng);
  for (std::size_t c = 0; c < out.n_cols; ++c) {
    if (!((c >= 30 && c < 55) || (c >= 80 && c < 105))) continue;
    for (std::size_t i = 0; i < n; ++i) out.column(c)[i] = z[i] + 0.5 * normal(rng);
  }
  return out;
}

TEST(NonlinearDependence, ScreeningChangesOnlyPairsThatCannotReachTheThreshold) {
  const std::size_t n = 2000;
  ColumnMatrix copula = MakeBands(n, 91);
  CopulaTransform(copula, Context(2, 42));
  const std::size_t p = copula.n_cols;
  NonlinearOptions whole;  // no threshold: every pair in whole tiles
  whole.rdc_seeds = 2;
  NonlinearOptions planned = whole;
  planned.nonlinear_threshold = 0.6;
  NonlinearOptions screened = planned;
  screened.screen_hsic = true;
  const NonlinearResult w = NonlinearDependence(copula, whole, Context(2, 42));
  const NonlinearResult a = NonlinearDependence(copula, planned, Context(2, 42));
  const NonlinearResult s = NonlinearDependence(copula, screened, Context(2, 42));
  const NonlinearResult s1 = NonlinearDependence(copula, screened, Context(1, 42));

  EXPECT_TRUE(SameBytes(w.rdc, a.rdc));
  EXPECT_TRUE(SameBytes(w.rdc, s.rdc));
  EXPECT_TRUE(SameBytes(s.hsic, s1.hsic)) << "screened nHSIC depends on the thread count";
  EXPECT_TRUE(SameBytes(s.fused, s1.fused));
  // The plan mixed every kind of tile.
  EXPECT_EQ(s.hsic_tiles.tiles, 15u);
  EXPECT_GT(s.hsic_tiles.skipped, 0u);
  EXPECT_GT(s.hsic_tiles.by_pairs, 0u);
  EXPECT_LT(s.hsic_tiles.skipped + s.hsic_tiles.by_pairs, s.hsic_tiles.tiles - 5)
      << "no dense tile";
  EXPECT_EQ(a.screened_pairs, 0u);
  EXPECT_EQ(a.hsic_tiles.skipped, 0u);

  std::uint64_t nan_pairs = 0, edges = 0;
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = 0; j < p; ++j) {
      const std::size_t e = i * p + j;
      // Not even nHSIC = 1 lifts S to the threshold: written independently of the library.
      const bool hopeless = i != j && 0.5 * 1.0 + 0.5 * w.rdc[e] < 0.6;
      ASSERT_EQ(std::isnan(s.hsic[e]), hopeless) << PairName(i, j);
      ASSERT_EQ(std::isnan(s.fused[e]), hopeless) << PairName(i, j);
      ASSERT_FALSE(std::isnan(a.hsic[e])) << PairName(i, j);
      // The unscreened matrices: whole tiles or pair runs, the same values within rounding.
      ASSERT_NEAR(a.hsic[e], w.hsic[e], 1e-12) << PairName(i, j);
      ASSERT_NEAR(a.fused[e], w.fused[e], 1e-12) << PairName(i, j);
      if (hopeless) {
        EXPECT_LT(w.fused[e], 0.6) << "a screened pair was an edge: " << PairName(i, j);
        if (i < j) ++nan_pairs;
        continue;
      }
      // Every pair that can matter: the same bits with and without screening.
      ASSERT_EQ(std::memcmp(&s.hsic[e], &a.hsic[e], sizeof(double)), 0) << PairName(i, j);
      ASSERT_EQ(std::memcmp(&s.fused[e], &a.fused[e], sizeof(double)), 0) << PairName(i, j);
      if (i < j && s.fused[e] >= 0.6) ++edges;
      EXPECT_EQ(s.fused[e] >= 0.6, w.fused[e] >= 0.6) << PairName(i, j);
    }
  }
  EXPECT_EQ(nan_pairs, s.screened_pairs);
  EXPECT_GT(nan_pairs, p * (p - 1) / 4) << "most pairs are independent";
  EXPECT_GT(edges, 500u) << "the bands are edges";
}

TEST(NonlinearDependence, ScreeningNeverDropsAnEdgeForOtherWeights) {
  ColumnMatrix copula = MakeBands(800, 93);
  CopulaTransform(copula, Context(2, 42));
  const std::size_t p = copula.n_cols;
  for (const auto& [w_hsic, w_rdc, threshold] :
       {std::tuple{3.0, 1.0, 0.8}, std::tuple{1.0, 3.0, 0.3}, std::tuple{0.7, 0.3, 0.9}}) {
    SCOPED_TRACE(::testing::Message() << w_hsic << " / " << w_rdc << " at " << threshold);
    NonlinearOptions full;
    full.rdc_seeds = 1;
    full.w_hsic = w_hsic;
    full.w_rdc = w_rdc;
    full.nonlinear_threshold = threshold;
    NonlinearOptions screened = full;
    screened.screen_hsic = true;
    const NonlinearResult f = NonlinearDependence(copula, full, Context(2, 42));
    const NonlinearResult s = NonlinearDependence(copula, screened, Context(2, 42));
    std::size_t screened_pairs = 0;
    for (std::size_t e = 0; e < p * p; ++e) {
      if (std::isnan(s.hsic[e])) {
        ++screened_pairs;
        ASSERT_LT(f.fused[e], threshold);
      } else {
        ASSERT_EQ(std::memcmp(&s.hsic[e], &f.hsic[e], sizeof(double)), 0);
      }
      ASSERT_EQ(s.fused[e] >= threshold, f.fused[e] >= threshold);
    }
    EXPECT_EQ(screened_pairs, 2 * s.screened_pairs);
  }
}

// ---- Options --------------------------------------------------------------------------------

TEST(NonlinearDependence, WeightsSelectTheMeasures) {
  const ColumnMatrix data = MakePlanted(600, 3, 71);
  ColumnMatrix copula = data;
  CopulaTransform(copula, Context(1, 42));
  NonlinearOptions hsic_only;
  hsic_only.w_rdc = 0.0;
  const NonlinearResult h = NonlinearDependence(copula, hsic_only, Context(1, 42));
  EXPECT_TRUE(h.rdc.empty());
  ASSERT_FALSE(h.hsic.empty());
  EXPECT_TRUE(SameBytes(h.fused, h.hsic));

  NonlinearOptions rdc_only;
  rdc_only.w_hsic = 0.0;
  const NonlinearResult r = NonlinearDependence(copula, rdc_only, Context(1, 42));
  EXPECT_TRUE(r.hsic.empty());
  ASSERT_FALSE(r.rdc.empty());
  EXPECT_TRUE(SameBytes(r.fused, r.rdc));

  // Both measures: the same matrices as alone, fused is the weighted mean.
  NonlinearOptions both;
  both.w_hsic = 3.0;
  both.w_rdc = 1.0;
  const NonlinearResult b = NonlinearDependence(copula, both, Context(1, 42));
  EXPECT_TRUE(SameBytes(b.hsic, h.hsic));
  EXPECT_TRUE(SameBytes(b.rdc, r.rdc));
  for (std::size_t e = 0; e < b.fused.size(); ++e) {
    EXPECT_NEAR(b.fused[e], 0.75 * b.hsic[e] + 0.25 * b.rdc[e], 1e-15);
  }
}

TEST(NonlinearDependence, InvalidOptionsThrow) {
  ColumnMatrix copula = MakePlanted(100, 1, 72);
  CopulaTransform(copula, Context(1, 42));
  auto with = [](auto&& change) {
    NonlinearOptions options;
    change(options);
    return options;
  };
  const NonlinearOptions bad[] = {
      with([](NonlinearOptions& o) { o.hsic_D = 511; }),
      with([](NonlinearOptions& o) { o.hsic_D = 0; }),
      with([](NonlinearOptions& o) { o.rdc_k = 0; }),
      with([](NonlinearOptions& o) { o.rdc_seeds = 0; }),
      with([](NonlinearOptions& o) { o.w_hsic = 0.0, o.w_rdc = 0.0; }),
      with([](NonlinearOptions& o) { o.w_hsic = -0.5; }),
      with([](NonlinearOptions& o) { o.rdc_s = 0.0; }),
      with([](NonlinearOptions& o) { o.rdc_ridge = -1e-3; }),
      with([](NonlinearOptions& o) { o.hsic_bandwidth = 0.0; }),
  };
  for (std::size_t i = 0; i < std::size(bad); ++i) {
    EXPECT_THROW(NonlinearDependence(copula, bad[i], Context(1, 42)), InvalidInput)
        << "bad option set " << i;
  }
  EXPECT_NO_THROW(NonlinearDependence(copula, NonlinearOptions{}, Context(1, 42)));
}

TEST(NonlinearDependence, FewRowsUseFewerRdcFeatures) {
  ColumnMatrix copula = MakePlanted(30, 3, 73);
  CopulaTransform(copula, Context(1, 42));
  const std::size_t p = copula.n_cols;
  const NonlinearResult result = NonlinearDependence(copula, NonlinearOptions{}, Context(1, 42));
  EXPECT_EQ(result.rdc_k_used, 3);
  ExpectSimilarityShape(result.hsic, p, "nHSIC");
  ExpectSimilarityShape(result.rdc, p, "RDC");
  ExpectSimilarityShape(result.fused, p, "fused");
  EXPECT_NEAR(result.fused[kX * p + kXCopy], 1.0, 1e-9);
  // n / 10 < 1: still one feature.
  ColumnMatrix tiny = MakePlanted(5, 0, 74);
  CopulaTransform(tiny, Context(1, 42));
  const NonlinearResult small = NonlinearDependence(tiny, NonlinearOptions{}, Context(1, 42));
  EXPECT_EQ(small.rdc_k_used, 1);
  ExpectSimilarityShape(small.fused, tiny.n_cols, "fused, 5 rows");
}

// ---- Degenerate columns ---------------------------------------------------------------------

/// Appends columns made by fill(column index among the new ones, row) to `data`, then returns
/// NonlinearDependence of its copula; checks that every matrix keeps its shape, that each new
/// (degenerate) column has exactly 0 with every column, itself included, and that the diagonal
/// stays 1 for the others.
void ExpectDegenerateColumnsAreZero(ColumnMatrix data, std::size_t added,
                                    const std::function<double(std::size_t, std::size_t)>& fill) {
  const std::size_t n = data.n_rows, base = data.n_cols;
  data.n_cols += added;
  data.values.resize(n * data.n_cols);
  for (std::size_t c = 0; c < added; ++c) {
    for (std::size_t i = 0; i < n; ++i) data.column(base + c)[i] = fill(c, i);
  }
  CopulaTransform(data, Context(1, 42));
  const std::size_t p = data.n_cols;
  const NonlinearResult result = NonlinearDependence(data, NonlinearOptions{}, Context(2, 42));
  for (const auto& [matrix, name] :
       {std::pair{&result.hsic, "nHSIC"}, std::pair{&result.rdc, "RDC"},
        std::pair{&result.fused, "fused"}}) {
    ExpectSimilarityShape(*matrix, p, name);
    for (std::size_t col = base; col < p; ++col) {
      double largest_with_varying = 0.0;
      std::ostringstream with_degenerate;
      bool all_zero = true;
      for (std::size_t other = 0; other < p; ++other) {
        const double value = (*matrix)[col * p + other];
        all_zero = all_zero && value == 0.0;
        if (other < base) largest_with_varying = std::max(largest_with_varying, value);
        if (other >= base) with_degenerate << " " << std::setprecision(4) << value;
      }
      EXPECT_TRUE(all_zero) << name << ": degenerate column " << col << " has up to "
                            << largest_with_varying << " with a varying column and ["
                            << with_degenerate.str() << " ] with the degenerate columns " << base
                            << ".." << p - 1 << " (its diagonal included)";
    }
    for (std::size_t col = 0; col < base; ++col)
      EXPECT_EQ((*matrix)[col * p + col], 1.0) << name << " diagonal";
  }
}

TEST(NonlinearDependence, AllMissingColumnsAreZero) {
  ExpectDegenerateColumnsAreZero(MakePlanted(600, 2, 81), 2, [](std::size_t c, std::size_t i) {
    return c == 0 ? kNaN : (i % 2 == 0 ? kInf : kNaN);
  });
}

// A column whose valid values are all equal has one copula value; centring with a rounded mean
// used to leave residues ~1e-17 that the HSIC normalisation and RDC's whitening turned into
// nHSIC = RDC = 1 between two constant columns (an edge at any threshold). Such a column must
// score exactly 0.
TEST(NonlinearDependence, ConstantColumnsAreZero) {
  ExpectDegenerateColumnsAreZero(MakePlanted(600, 2, 81), 3, [](std::size_t c, std::size_t i) {
    if (c == 0) return 4.25;         // constant
    if (c == 1) return -7.0;         // another constant
    return i % 3 == 0 ? kNaN : 1.5;  // constant where valid
  });
}

}  // namespace
}  // namespace descpipe
