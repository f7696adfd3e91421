// Spearman correlation of all pairs from a rank matrix, with BLAS matrix products.
//
// For columns i, j and the rows J where both are valid, Pearson's r of the ranks is
//   (P_ij - S_ij S_ji / N_ij) / sqrt((Q_ij - S_ij^2 / N_ij) (Q_ji - S_ji^2 / N_ij))
// with N_ij = |J|, S_ij = sum_J r_i, Q_ij = sum_J r_i^2, P_ij = sum_J r_i r_j. With X the ranks
// (0 where missing), M the validity mask and X2 = X * X element-wise:
//   N = M^T M,  S = X^T M,  Q = X2^T M,  P = X^T X.
// Pairs of complete columns need only P (N, S and Q are per-column constants); the masked
// products are taken against the incomplete columns only, so their cost scales with how many
// columns have missing values.
// The matrix is read once, in row tiles of 512 rows copied (shifted, masked) into buffers:
// extra memory is three tiles and four p x p sums, never another n x p matrix.
//
// Determinism: the output is cut into fixed 256-column tiles, each computed by one
// single-threaded BLAS call (tiles run in parallel), and row tiles of 512 rows are accumulated in
// order, so every element is summed in the same order whatever the thread count.
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <mutex>

#include "descpipe/error.hpp"
#include "common/numbers.hpp"
#include "descpipe/similarity.hpp"
#include "stats/single_threaded_blas.hpp"

namespace descpipe {
namespace {

constexpr std::size_t kColumnTile = 256;
constexpr std::size_t kRowTile = 512;

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
  const double r = (p_ij - s_i * s_j / n) / std::sqrt(var_i * var_j);
  return std::clamp(r, -1.0, 1.0);
}

}  // namespace

std::vector<double> PearsonMatrix(const ColumnMatrix& values, const Context& ctx) {
  return SpearmanFromRanks(values, ctx);  // the same computation on values instead of ranks
}

std::vector<double> SpearmanFromRanks(const ColumnMatrix& ranks, const Context& ctx) {
  const std::size_t n = ranks.n_rows;
  const std::size_t p = ranks.n_cols;
  DESCPIPE_ASSERT(ranks.values.size() == n * p);
  std::vector<double> result(p * p, kNaN);
  if (p == 0 || n == 0) return result;

  // Each column is shifted by the mean of its valid values while copied into a row tile (for
  // ranks exactly (count + 1) / 2): sums of shifted values stay small, so variances lose nothing
  // to cancellation. Columns with missing values ("incomplete") need masked sums; pairs of
  // complete columns only need P.
  std::vector<double> shift(p, 0.0);
  std::vector<std::size_t> incomplete;
  std::vector<std::size_t> slot(p, SIZE_MAX);  // position of a column in `incomplete`
  for (std::size_t col = 0; col < p; ++col) {
    const double* x = ranks.column(col);
    std::size_t valid = 0;
    double sum = 0.0;
    for (std::size_t row = 0; row < n; ++row) {
      if (!std::isnan(x[row])) {
        ++valid;
        sum += x[row];
      }
    }
    shift[col] = valid > 0 ? sum / static_cast<double>(valid) : 0.0;
    if (valid < n) {
      slot[col] = incomplete.size();
      incomplete.push_back(col);
    }
  }
  const std::size_t k = incomplete.size();

  SingleThreadedBlas blas_guard;
  // P = X^T X (upper tiles), column sums and squares of the complete columns, and for the
  // incomplete columns J (p x k each, element (i, j) at [j * p + i]):
  //   joint_count = M^T M_J, sum_i = X^T M_J, square_i = X2^T M_J,
  //   sum_j = M^T X_J, square_j = M^T X2_J   (sums of r_i / r_j over the rows where both are valid).
  std::vector<double> product(p * p, 0.0), column_sum(p, 0.0), column_square(p, 0.0);
  std::vector<double> joint_count(p * k, 0.0), sum_i(p * k, 0.0), square_i(p * k, 0.0),
      sum_j(p * k, 0.0), square_j(p * k, 0.0);
  const std::size_t tile_capacity = std::min(kRowTile, n);
  std::vector<double> x(tile_capacity * p), mask, x2, mask_j, x_j, x2_j;
  if (k > 0) {
    mask.resize(tile_capacity * p);
    x2.resize(tile_capacity * p);
    mask_j.resize(tile_capacity * k);
    x_j.resize(tile_capacity * k);
    x2_j.resize(tile_capacity * k);
  }
  for (std::size_t row0 = 0; row0 < n; row0 += kRowTile) {
    const std::size_t rows = std::min(kRowTile, n - row0);
    // One column per task: each column's sums are accumulated by one thread, in row order.
#pragma omp parallel for schedule(static) num_threads(ctx.threads())
    for (std::size_t col = 0; col < p; ++col) {
      const double* source = ranks.column(col) + row0;
      double* target = x.data() + col * rows;
      for (std::size_t r = 0; r < rows; ++r) {
        const bool valid = !std::isnan(source[r]);
        const double value = valid ? source[r] - shift[col] : 0.0;
        target[r] = value;
        column_sum[col] += value;
        column_square[col] += value * value;
        if (k > 0) {
          mask[col * rows + r] = valid ? 1.0 : 0.0;
          x2[col * rows + r] = value * value;
        }
      }
    }
    std::vector<Product> products = {{x.data(), p, x.data(), p, product.data(), true}};
    if (k > 0) {
      for (std::size_t j = 0; j < k; ++j) {
        std::copy_n(mask.data() + incomplete[j] * rows, rows, mask_j.data() + j * rows);
        std::copy_n(x.data() + incomplete[j] * rows, rows, x_j.data() + j * rows);
        std::copy_n(x2.data() + incomplete[j] * rows, rows, x2_j.data() + j * rows);
      }
      products.push_back({mask.data(), p, mask_j.data(), k, joint_count.data(), false});
      products.push_back({x.data(), p, mask_j.data(), k, sum_i.data(), false});
      products.push_back({x2.data(), p, mask_j.data(), k, square_i.data(), false});
      products.push_back({mask.data(), p, x_j.data(), k, sum_j.data(), false});
      products.push_back({mask.data(), p, x2_j.data(), k, square_j.data(), false});
    }
    AddProducts(products, rows, ctx.threads());
  }
  const double rows = static_cast<double>(n);
  for (std::size_t j = 0; j < p; ++j) {
    for (std::size_t i = 0; i <= j; ++i) {
      double r = kNaN;
      const double p_ij = product[j * p + i];
      if (slot[j] != SIZE_MAX) {
        const std::size_t e = slot[j] * p + i;  // (i, column j of J)
        r = Correlation(joint_count[e], sum_i[e], sum_j[e], square_i[e], square_j[e], p_ij);
      } else if (slot[i] != SIZE_MAX) {
        const std::size_t e = slot[i] * p + j;  // (j, column i of J): roles swapped
        r = Correlation(joint_count[e], sum_j[e], sum_i[e], square_j[e], square_i[e], p_ij);
      } else {
        r = Correlation(rows, column_sum[i], column_sum[j], column_square[i], column_square[j], p_ij);
      }
      result[i * p + j] = r;
      result[j * p + i] = r;
    }
  }
  return result;
}

}  // namespace descpipe
