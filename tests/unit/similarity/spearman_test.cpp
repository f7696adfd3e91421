// Tests of the Spearman correlation matrix (SpearmanFromRanks after RankInPlace or ImputeMedian)
// against the textbook definition computed here pair by pair: average ranks by counting (O(n^2)),
// then Pearson's r of the ranks in long double over the rows where both columns are valid
// (two-pass: means first, then centered sums). NaN when a pair has fewer than 2 joint rows or no
// variance on them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "common/numbers.hpp"
#include "descpipe/context.hpp"
#include "descpipe/error.hpp"
#include "descpipe/similarity.hpp"

namespace descpipe {
namespace {

constexpr double kTolerance = 1e-12;

// ---- Naive reference ------------------------------------------------------------------------

/// Average ranks by counting: rank = 1 + #smaller + (#equal - 1) / 2 among the finite values.
std::vector<double> NaiveRanks(const double* values, std::size_t n) {
  std::vector<double> finite;
  for (std::size_t row = 0; row < n; ++row) {
    if (std::isfinite(values[row])) finite.push_back(values[row]);
  }
  std::vector<double> ranks(n, kNaN);
  for (std::size_t row = 0; row < n; ++row) {
    if (!std::isfinite(values[row])) continue;
    std::size_t smaller = 0, equal = 0;
    for (double other : finite) {
      smaller += other < values[row] ? 1 : 0;
      equal += other == values[row] ? 1 : 0;
    }
    ranks[row] = 1.0 + static_cast<double>(smaller) + (static_cast<double>(equal) - 1.0) / 2.0;
  }
  return ranks;
}

/// Median of the finite values; NaN when none.
double NaiveMedian(const double* values, std::size_t n) {
  std::vector<double> finite;
  for (std::size_t row = 0; row < n; ++row) {
    if (std::isfinite(values[row])) finite.push_back(values[row]);
  }
  if (finite.empty()) return kNaN;
  std::sort(finite.begin(), finite.end());
  const std::size_t m = finite.size();
  return m % 2 == 1 ? finite[m / 2] : (finite[m / 2 - 1] + finite[m / 2]) / 2.0;
}

/// Pearson's r of columns a and b of `ranks` over the rows where both are not NaN.
double NaivePearson(const ColumnMatrix& ranks, std::size_t a, std::size_t b) {
  const double* x = ranks.column(a);
  const double* y = ranks.column(b);
  long double n = 0.0L, sum_x = 0.0L, sum_y = 0.0L;
  for (std::size_t row = 0; row < ranks.n_rows; ++row) {
    if (std::isnan(x[row]) || std::isnan(y[row])) continue;
    n += 1.0L;
    sum_x += x[row];
    sum_y += y[row];
  }
  if (n < 2.0L) return kNaN;
  const long double mean_x = sum_x / n, mean_y = sum_y / n;
  long double sxx = 0.0L, syy = 0.0L, sxy = 0.0L;
  for (std::size_t row = 0; row < ranks.n_rows; ++row) {
    if (std::isnan(x[row]) || std::isnan(y[row])) continue;
    const long double dx = x[row] - mean_x, dy = y[row] - mean_y;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  if (sxx == 0.0L || syy == 0.0L) return kNaN;
  return static_cast<double>(sxy / std::sqrt(sxx * syy));
}

/// p x p reference matrix from naive ranks of `data` (each column over its own valid rows).
std::vector<double> ReferenceSpearman(const ColumnMatrix& data) {
  ColumnMatrix ranks = data;
  for (std::size_t col = 0; col < data.n_cols; ++col) {
    const std::vector<double> column_ranks = NaiveRanks(data.column(col), data.n_rows);
    std::copy(column_ranks.begin(), column_ranks.end(), ranks.column(col));
  }
  const std::size_t p = data.n_cols;
  std::vector<double> result(p * p, kNaN);
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = a; b < p; ++b) {
      result[a * p + b] = result[b * p + a] = NaivePearson(ranks, a, b);
    }
  }
  return result;
}

// ---- Under test -----------------------------------------------------------------------------

/// RankInPlace on every column, then SpearmanFromRanks: what Pass 2 does.
std::vector<double> Spearman(const ColumnMatrix& data, const Context& ctx) {
  ColumnMatrix ranks = data;
  RankScratch order;
  for (std::size_t col = 0; col < ranks.n_cols; ++col) {
    RankInPlace(ranks.column(col), ranks.n_rows, order);
  }
  return SpearmanFromRanks(ranks, ctx);
}

void ImputeAll(ColumnMatrix& data) {
  for (std::size_t col = 0; col < data.n_cols; ++col) ImputeMedian(data.column(col), data.n_rows);
}

/// Every entry within kTolerance of the reference; NaN exactly where the reference has NaN.
void ExpectMatchesReference(const std::vector<double>& expected, const std::vector<double>& actual,
                            std::size_t p) {
  ASSERT_EQ(actual.size(), p * p);
  std::size_t mismatches = 0;
  double worst = 0.0;
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = 0; b < p; ++b) {
      const double e = expected[a * p + b];
      const double v = actual[a * p + b];
      bool ok;
      if (std::isnan(e) || std::isnan(v)) {
        ok = std::isnan(e) && std::isnan(v);
      } else {
        worst = std::max(worst, std::fabs(e - v));
        ok = std::fabs(e - v) <= kTolerance;
      }
      if (!ok && ++mismatches <= 8) {
        ADD_FAILURE() << std::setprecision(17) << "entry (" << a << ", " << b << "): expected " << e
                      << ", got " << v;
      }
    }
  }
  EXPECT_EQ(mismatches, 0u) << "largest finite error " << worst;
}

/// Exactly symmetric (NaN where the transpose is NaN).
void ExpectSymmetric(const std::vector<double>& matrix, std::size_t p) {
  ASSERT_EQ(matrix.size(), p * p);
  for (std::size_t a = 0; a < p; ++a) {
    for (std::size_t b = a + 1; b < p; ++b) {
      const double ab = matrix[a * p + b], ba = matrix[b * p + a];
      ASSERT_TRUE(ab == ba || (std::isnan(ab) && std::isnan(ba)))
          << std::setprecision(17) << "(" << a << ", " << b << ") = " << ab << " but (" << b << ", "
          << a << ") = " << ba;
    }
  }
}

// ---- Test data ------------------------------------------------------------------------------

// kPairwiseRare: every column misses at most 3% of its rows, so most row tiles take the
// corrections over the missing rows instead of the masked products (see spearman.cpp).
enum class Missing { kNone, kPairwise, kPairwiseRare, kImputeMedian };

std::string MissingName(Missing missing) {
  switch (missing) {
    case Missing::kNone:
      return "None";
    case Missing::kPairwise:
      return "Pairwise";
    case Missing::kPairwiseRare:
      return "PairwiseRare";
    case Missing::kImputeMedian:
      return "ImputeMedian";
  }
  return "Unknown";
}

/// n x p columns driven by three latent factors, so that correlations range over [-1, 1]:
/// continuous, integers with few levels (heavy ties), binary, monotone transforms of another
/// column (|rho| = 1), and constant columns. With `missing`, NaN and +-inf at a rate that varies
/// by column, plus special columns: all missing, one valid value, valid only in the first half or
/// only in the second half (pairs between the two have no joint rows), and constant on the first
/// half only (no variance on its joint rows with the first-half column). A column's missing rate
/// is uniform in [0, max_rate].
ColumnMatrix MakeData(std::size_t n, std::size_t p, bool missing, std::uint64_t seed,
                      double max_rate = 0.3) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> latent(3 * n);
  for (double& x : latent) x = normal(rng);

  ColumnMatrix data;
  data.n_rows = n;
  data.n_cols = p;
  data.values.assign(n * p, 0.0);
  for (std::size_t col = 0; col < p; ++col) {
    double* column = data.column(col);
    const double w0 = normal(rng), w1 = normal(rng), w2 = normal(rng);
    const double noise = 0.1 + unit(rng);
    for (std::size_t row = 0; row < n; ++row) {
      column[row] = w0 * latent[3 * row] + w1 * latent[3 * row + 1] + w2 * latent[3 * row + 2] +
                    noise * normal(rng);
    }
    switch (col % 7) {
      case 1:  // integers, few levels
        for (std::size_t row = 0; row < n; ++row) column[row] = std::round(column[row]);
        break;
      case 2:  // binary
        for (std::size_t row = 0; row < n; ++row) column[row] = column[row] > 0.3 ? 1.0 : 0.0;
        break;
      case 3:  // strictly monotone transform of the previous column: same ranks
        if (col > 0) {
          const double* previous = data.column(col - 1);
          const double sign = (col / 7) % 2 == 0 ? 1.0 : -1.0;
          for (std::size_t row = 0; row < n; ++row) {
            column[row] = sign * std::exp(previous[row] / 4.0);
          }
        }
        break;
      case 5:  // heavy ties: three levels
        for (std::size_t row = 0; row < n; ++row) {
          column[row] = column[row] < -0.5 ? -1.0 : (column[row] < 0.5 ? 0.0 : 2.5);
        }
        break;
      default:
        break;
    }
    if (col == 4 || col == 33) {
      for (std::size_t row = 0; row < n; ++row) column[row] = 6.5;  // constant
    }
  }
  if (!missing) return data;

  for (std::size_t col = 0; col < p; ++col) {
    if (col % 7 == 3) continue;  // the transform keeps every row; its source loses some
    double* column = data.column(col);
    const double rate = max_rate * unit(rng);
    for (std::size_t row = 0; row < n; ++row) {
      const double u = unit(rng);
      if (u < rate) column[row] = u < rate / 3 ? kNaN : (u < 2 * rate / 3 ? kInf : -kInf);
    }
  }
  const std::size_t half = n / 2;
  auto special = [&](std::size_t col, auto&& fill) {
    if (col < p) {
      double* column = data.column(col);
      for (std::size_t row = 0; row < n; ++row) fill(row, column[row]);
    }
  };
  special(6, [&](std::size_t, double& x) { x = kNaN; });  // all missing
  special(8, [&](std::size_t row, double& x) {            // one valid value
    if (row != n / 3) x = row % 2 == 0 ? kNaN : kInf;
  });
  special(9, [&](std::size_t row, double& x) {  // first half only
    if (row >= half) x = kNaN;
    if (row < half && !std::isfinite(x)) x = static_cast<double>(row);
  });
  special(10, [&](std::size_t row, double& x) {  // second half only
    if (row < half) x = -kInf;
  });
  special(11, [&](std::size_t row, double& x) {  // constant on the first half, varies after it
    if (row < half) {
      x = 1.0;
    } else if (!std::isfinite(x)) {
      x = static_cast<double>(row);
    }
  });
  special(12, [&](std::size_t row, double& x) {  // exactly one row shared with column 9
    x = row + 1 == half ? 3.0 : (row < half ? kNaN : static_cast<double>(row % 5));
  });
  return data;
}

// ---- Against the reference ------------------------------------------------------------------

class SpearmanReferenceTest
    : public ::testing::TestWithParam<std::tuple<std::size_t, std::size_t, Missing>> {};

TEST_P(SpearmanReferenceTest, MatchesNaivePairwisePearsonOfRanks) {
  const auto [n, p, missing] = GetParam();
  ColumnMatrix data = MakeData(n, p, missing != Missing::kNone, 1000 + n * 7 + p,
                               missing == Missing::kPairwiseRare ? 0.03 : 0.3);
  if (missing == Missing::kImputeMedian) ImputeAll(data);
  const std::vector<double> expected = ReferenceSpearman(data);
  const std::vector<double> actual = Spearman(data, Context(1, 42));
  ExpectMatchesReference(expected, actual, p);
  ExpectSymmetric(actual, p);
}

INSTANTIATE_TEST_SUITE_P(
    Spearman, SpearmanReferenceTest,
    ::testing::Values(std::make_tuple(std::size_t{1}, std::size_t{1}, Missing::kNone),
                      std::make_tuple(std::size_t{1}, std::size_t{5}, Missing::kPairwise),
                      std::make_tuple(std::size_t{3}, std::size_t{2}, Missing::kNone),
                      std::make_tuple(std::size_t{3}, std::size_t{37}, Missing::kPairwise),
                      std::make_tuple(std::size_t{3}, std::size_t{37}, Missing::kNone),
                      std::make_tuple(std::size_t{517}, std::size_t{1}, Missing::kPairwise),
                      std::make_tuple(std::size_t{517}, std::size_t{2}, Missing::kNone),
                      std::make_tuple(std::size_t{517}, std::size_t{37}, Missing::kNone),
                      std::make_tuple(std::size_t{517}, std::size_t{37}, Missing::kPairwise),
                      std::make_tuple(std::size_t{517}, std::size_t{37}, Missing::kImputeMedian),
                      std::make_tuple(std::size_t{517}, std::size_t{300}, Missing::kPairwise),
                      std::make_tuple(std::size_t{1500}, std::size_t{2}, Missing::kPairwise),
                      std::make_tuple(std::size_t{1500}, std::size_t{37}, Missing::kImputeMedian),
                      std::make_tuple(std::size_t{517}, std::size_t{300}, Missing::kNone),
                      std::make_tuple(std::size_t{1500}, std::size_t{300}, Missing::kPairwise),
                      // More rows than one row tile of the implementation (2048).
                      std::make_tuple(std::size_t{2600}, std::size_t{20}, Missing::kNone),
                      std::make_tuple(std::size_t{2600}, std::size_t{20}, Missing::kPairwise),
                      std::make_tuple(std::size_t{517}, std::size_t{37}, Missing::kPairwiseRare),
                      std::make_tuple(std::size_t{2600}, std::size_t{60}, Missing::kPairwiseRare),
                      // More incomplete columns than one chunk of dense products (512): three.
                      std::make_tuple(std::size_t{300}, std::size_t{1100}, Missing::kPairwise)),
    [](const ::testing::TestParamInfo<SpearmanReferenceTest::ParamType>& info) {
      return "n" + std::to_string(std::get<0>(info.param)) + "_p" +
             std::to_string(std::get<1>(info.param)) + "_" + MissingName(std::get<2>(info.param));
    });

// ---- Properties -----------------------------------------------------------------------------

TEST(SpearmanFromRanks, KnownValueWithTies) {
  // x ranks 1..5; y = 5, 6, 7, 8, 7 ranks 1, 2, 3.5, 5, 3.5: r = 8 / sqrt(10 * 9.5).
  ColumnMatrix data;
  data.n_rows = 5;
  data.n_cols = 2;
  data.values = {1, 2, 3, 4, 5, 5, 6, 7, 8, 7};
  const std::vector<double> rho = Spearman(data, Context(1, 42));
  ASSERT_EQ(rho.size(), 4u);
  EXPECT_NEAR(rho[1], 8.0 / std::sqrt(95.0), kTolerance);
  EXPECT_NEAR(rho[2], 8.0 / std::sqrt(95.0), kTolerance);
  EXPECT_EQ(rho[0], 1.0);
  EXPECT_EQ(rho[3], 1.0);
}

TEST(SpearmanFromRanks, DiagonalIsOneAndMonotoneTransformsAreOne) {
  const std::size_t n = 400, p = 37;
  const ColumnMatrix data = MakeData(n, p, false, 11);
  const std::vector<double> rho = Spearman(data, Context(1, 42));
  ASSERT_EQ(rho.size(), p * p);
  for (std::size_t col = 0; col < p; ++col) {
    if (col == 4 || col == 33) {
      // Constant column: no variance, NaN on its whole row and column, diagonal included.
      for (std::size_t other = 0; other < p; ++other) {
        EXPECT_TRUE(std::isnan(rho[col * p + other])) << col << ", " << other;
        EXPECT_TRUE(std::isnan(rho[other * p + col])) << other << ", " << col;
      }
      continue;
    }
    EXPECT_EQ(rho[col * p + col], 1.0) << "diagonal " << col;
    for (std::size_t other = 0; other < p; ++other) {
      if (other == 4 || other == 33) continue;
      EXPECT_LE(std::fabs(rho[col * p + other]), 1.0 + kTolerance) << col << ", " << other;
    }
  }
  // Column 3 + 7k is exp() of its predecessor, negated for odd k.
  for (std::size_t col = 3; col < p; col += 7) {
    const double sign = (col / 7) % 2 == 0 ? 1.0 : -1.0;
    EXPECT_NEAR(rho[col * p + col - 1], sign, kTolerance) << "column " << col;
  }
}

TEST(SpearmanFromRanks, PairwiseSpecialColumns) {
  const std::size_t n = 200, p = 13;
  const ColumnMatrix data = MakeData(n, p, true, 12);
  const std::vector<double> rho = Spearman(data, Context(1, 42));
  ASSERT_EQ(rho.size(), p * p);
  auto at = [&](std::size_t a, std::size_t b) { return rho[a * p + b]; };
  for (std::size_t other = 0; other < p; ++other) {
    EXPECT_TRUE(std::isnan(at(6, other))) << "all-missing column, pair with " << other;
    EXPECT_TRUE(std::isnan(at(8, other))) << "one-value column, pair with " << other;
  }
  EXPECT_TRUE(std::isnan(at(9, 10))) << "no joint rows";
  EXPECT_TRUE(std::isnan(at(9, 12))) << "one joint row";
  EXPECT_TRUE(std::isnan(at(9, 11))) << "column 11 is constant on column 9's rows";
  EXPECT_FALSE(std::isnan(at(10, 11))) << "column 11 varies on the second half";
  EXPECT_EQ(at(9, 9), 1.0);
  EXPECT_EQ(at(11, 11), 1.0);
}

TEST(SpearmanFromRanks, ColumnsRankedOverTheirOwnRowsNotTheJointRows) {
  // x = 10, 1, 20, 2, 30, 3 has ranks 4, 1, 5, 2, 6, 3 over its own rows; y is valid on rows
  // 0..2 only, with ranks 3, 1, 2. Over the joint rows x's own ranks 4, 1, 5 (centered 2/3, -7/3,
  // 5/3) give sxy = 3, sxx = 26/3, syy = 2: r = 3 / sqrt(52/3) = 0.7206. Re-ranking x over the
  // joint rows (2, 1, 3) would give 0.5 instead.
  ColumnMatrix data;
  data.n_rows = 6;
  data.n_cols = 2;
  data.values = {10, 1, 20, 2, 30, 3, /* y */ 3, 1, 2, kNaN, kInf, -kInf};
  const std::vector<double> rho = Spearman(data, Context(1, 42));
  ASSERT_EQ(rho.size(), 4u);
  EXPECT_NEAR(rho[1], 3.0 / std::sqrt(52.0 / 3.0), kTolerance);
  EXPECT_NEAR(rho[2], 3.0 / std::sqrt(52.0 / 3.0), kTolerance);
  EXPECT_EQ(rho[0], 1.0);
  EXPECT_EQ(rho[3], 1.0);
}

TEST(SpearmanFromRanks, EmptyShapes) {
  ColumnMatrix no_rows;
  no_rows.n_rows = 0;
  no_rows.n_cols = 3;
  const std::vector<double> rho = SpearmanFromRanks(no_rows, Context(1, 42));
  ASSERT_EQ(rho.size(), 9u);
  for (double value : rho) EXPECT_TRUE(std::isnan(value));

  ColumnMatrix no_cols;
  no_cols.n_rows = 5;
  no_cols.n_cols = 0;
  EXPECT_TRUE(SpearmanFromRanks(no_cols, Context(1, 42)).empty());
}

TEST(SpearmanFromRanks, SameBytesForOneAndTwoThreads) {
  for (bool missing : {false, true}) {
    SCOPED_TRACE(missing ? "pairwise" : "no missing");
    // 300 columns: two column tiles of the implementation, computed in parallel.
    const ColumnMatrix data = MakeData(700, 300, missing, missing ? 21 : 22);
    ColumnMatrix ranks = data;
    RankScratch order;
    for (std::size_t col = 0; col < ranks.n_cols; ++col) {
      RankInPlace(ranks.column(col), ranks.n_rows, order);
    }
    const std::vector<double> one = SpearmanFromRanks(ranks, Context(1, 42));
    const std::vector<double> two = SpearmanFromRanks(ranks, Context(2, 42));
    const std::vector<double> two_again = SpearmanFromRanks(ranks, Context(2, 42));
    ASSERT_EQ(one.size(), two.size());
    ASSERT_EQ(two.size(), two_again.size());
    EXPECT_EQ(0, std::memcmp(two.data(), two_again.data(), two.size() * sizeof(double)))
        << "two runs with two threads differ";
    std::size_t differing = 0;
    for (std::size_t i = 0; i < one.size(); ++i) {
      differing += std::memcmp(&one[i], &two[i], sizeof(double)) != 0 ? 1 : 0;
    }
    EXPECT_EQ(differing, 0u) << "entries that differ between 1 and 2 threads";
  }
}

TEST(SpearmanFromRanks, SmallMemoryBudgetGivesTheSameMatrix) {
  // 64 KiB: far less than one 2048-row tile of 40 columns; the matrix must not depend on it.
  const ColumnMatrix data = MakeData(2600, 40, true, 23);
  const std::vector<double> expected = ReferenceSpearman(data);
  const std::vector<double> actual = Spearman(data, Context(1, 42, 1u << 16));
  ExpectMatchesReference(expected, actual, 40);
}

TEST(CorrelationAccumulator, RowsInPiecesGiveTheSameBytesAsTheWholeMatrix) {
  for (bool missing : {false, true}) {
    SCOPED_TRACE(missing ? "pairwise" : "no missing");
    // 1,300 rows: two full 512-row tiles and a partial one; pieces cross tile boundaries.
    const ColumnMatrix data = MakeData(1300, 30, missing, missing ? 31 : 32);
    ColumnMatrix ranks = data;
    RankScratch order;
    for (std::size_t col = 0; col < ranks.n_cols; ++col)
      RankInPlace(ranks.column(col), ranks.n_rows, order);
    const std::vector<double> whole = SpearmanFromRanks(ranks, Context(2, 42));

    std::vector<double> shift(ranks.n_cols);
    std::vector<bool> incomplete(ranks.n_cols);
    for (std::size_t col = 0; col < ranks.n_cols; ++col) {
      std::size_t valid = 0;
      double sum = 0.0;
      for (std::size_t row = 0; row < ranks.n_rows; ++row) {
        if (std::isfinite(ranks.column(col)[row])) {
          ++valid;
          sum += ranks.column(col)[row];
        }
      }
      shift[col] = valid > 0 ? sum / static_cast<double>(valid) : 0.0;
      incomplete[col] = valid < ranks.n_rows;
    }
    for (const std::vector<std::size_t>& pieces :
         {std::vector<std::size_t>{1300}, {1, 511, 1, 787}, {700, 600}, {100, 100, 100, 1000}}) {
      CorrelationAccumulator accumulator(shift, incomplete, 2);
      std::size_t row0 = 0;
      for (std::size_t piece : pieces) {
        std::vector<const double*> columns(ranks.n_cols);
        for (std::size_t col = 0; col < ranks.n_cols; ++col)
          columns[col] = ranks.column(col) + row0;
        accumulator.Add(columns.data(), piece);
        row0 += piece;
      }
      ASSERT_EQ(row0, ranks.n_rows);
      const std::vector<double> pieced = accumulator.Finish();
      ASSERT_EQ(pieced.size(), whole.size());
      EXPECT_EQ(0, std::memcmp(pieced.data(), whole.data(), whole.size() * sizeof(double)))
          << "pieces of " << pieces.size() << " give other bytes";
    }
  }
}

TEST(SpearmanFromRanks, FloatRanksGiveTheSameBytesAsDoubleRanks) {
  for (bool missing : {false, true}) {
    SCOPED_TRACE(missing ? "pairwise" : "no missing");
    const ColumnMatrix data = MakeData(1100, 20, missing, missing ? 33 : 34);
    ColumnMatrix ranks = data;
    RankScratch order;
    FloatRankMatrix floats;
    floats.n_rows = ranks.n_rows;
    floats.n_cols = ranks.n_cols;
    floats.values.resize(ranks.values.size());
    for (std::size_t col = 0; col < ranks.n_cols; ++col) {
      RankInPlace(ranks.column(col), ranks.n_rows, order);
      for (std::size_t row = 0; row < ranks.n_rows; ++row) {
        floats.column(col)[row] = static_cast<float>(ranks.column(col)[row]);
        // Ranks are multiples of 1/2: the float holds each exactly.
        if (!std::isnan(ranks.column(col)[row])) {
          ASSERT_EQ(static_cast<double>(floats.column(col)[row]), ranks.column(col)[row]);
        }
      }
    }
    const std::vector<double> from_doubles = SpearmanFromRanks(ranks, Context(2, 42));
    const std::vector<double> from_floats = SpearmanFromRanks(floats, Context(2, 42));
    ASSERT_EQ(from_doubles.size(), from_floats.size());
    EXPECT_EQ(0, std::memcmp(from_doubles.data(), from_floats.data(),
                             from_doubles.size() * sizeof(double)));
    ExpectMatchesReference(ReferenceSpearman(data), from_floats, 20);
  }
}

TEST(PearsonMatrix, InfinityCountsAsMissing) {
  // x has +inf in row 2: Pearson over the other rows, as if it were NaN there.
  ColumnMatrix with_inf;
  with_inf.n_rows = 6;
  with_inf.n_cols = 2;
  with_inf.values = {1, 2, kInf, 4, 5, 7, /* y */ 2, 1, 9, 3, 6, 5};
  ColumnMatrix with_nan = with_inf;
  with_nan.values[2] = kNaN;
  const std::vector<double> a = PearsonMatrix(with_inf, Context(1, 42));
  const std::vector<double> b = PearsonMatrix(with_nan, Context(1, 42));
  EXPECT_TRUE(std::isfinite(a[1]));
  EXPECT_EQ(a[1], b[1]);
  // Over rows 0, 1, 3, 4, 5: x = 1 2 4 5 7, y = 2 1 3 6 5.
  const double mx = 19.0 / 5, my = 17.0 / 5;
  const double xs[] = {1, 2, 4, 5, 7}, ys[] = {2, 1, 3, 6, 5};
  double sxy = 0, sxx = 0, syy = 0;
  for (int k = 0; k < 5; ++k) {
    sxy += (xs[k] - mx) * (ys[k] - my);
    sxx += (xs[k] - mx) * (xs[k] - mx);
    syy += (ys[k] - my) * (ys[k] - my);
  }
  EXPECT_NEAR(a[1], sxy / std::sqrt(sxx * syy), 1e-14);
}

// Columns of deviations near 1e100 (var_i * var_j overflows) and near 1e-120 (it underflows):
// Pearson's r as the long double reference, not 0 or +-1.
TEST(PearsonMatrix, HugeAndTinyDeviationsKeepTheirCorrelation) {
  std::mt19937_64 rng(61);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double scale : {1e100, 1e-120}) {
    SCOPED_TRACE(::testing::Message() << "scale " << scale);
    constexpr std::size_t kN = 200;
    ColumnMatrix data;
    data.n_rows = kN;
    data.n_cols = 2;
    data.values.resize(2 * kN);
    for (std::size_t row = 0; row < kN; ++row) {
      const double x = normal(rng);
      data.values[row] = 3.0 * scale + scale * x;
      data.values[kN + row] = scale * (0.5 * normal(rng) - x);
    }
    long double mx = 0.0L, my = 0.0L;
    for (std::size_t row = 0; row < kN; ++row) {
      mx += data.values[row];
      my += data.values[kN + row];
    }
    mx /= kN;
    my /= kN;
    long double sxy = 0.0L, sxx = 0.0L, syy = 0.0L;
    for (std::size_t row = 0; row < kN; ++row) {
      const long double dx = data.values[row] - mx, dy = data.values[kN + row] - my;
      sxy += dx * dy;
      sxx += dx * dx;
      syy += dy * dy;
    }
    const long double expected = sxy / std::sqrt(sxx) / std::sqrt(syy);
    ASSERT_LT(expected, -0.8L);
    const std::vector<double> r = PearsonMatrix(data, Context(1, 42));
    EXPECT_NEAR(r[1], static_cast<double>(expected), kTolerance);
    EXPECT_NEAR(r[0], 1.0, kTolerance);
    EXPECT_NEAR(r[3], 1.0, kTolerance);
  }
}

// Values whose squared deviations leave the double range (+-1.7e308; 1e-300 N(0, 1)): an error
// naming the way out, never NaN or a silent 0 that Pass 3 would read as "uncorrelated".
TEST(PearsonMatrix, ValuesNearTheEndsOfTheDoubleRangeAreAnError) {
  std::mt19937_64 rng(62);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int kind = 0; kind < 2; ++kind) {
    SCOPED_TRACE(kind == 0 ? "+-1.7e308" : "1e-300 N(0, 1)");
    ColumnMatrix data;
    data.n_rows = 100;
    data.n_cols = 2;
    for (std::size_t row = 0; row < data.n_rows; ++row) data.values.push_back(normal(rng));
    for (std::size_t row = 0; row < data.n_rows; ++row) {
      data.values.push_back(kind == 0 ? (row % 2 == 0 ? 1.7e308 : -1.7e308) : 1e-300 * normal(rng));
    }
    try {
      PearsonMatrix(data, Context(1, 42));
      ADD_FAILURE() << "expected a NumericalError";
    } catch (const NumericalError& e) {
      EXPECT_NE(std::string(e.what()).find("vif_correlation: spearman"), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("column 1 of 2"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace descpipe
