// Rank transform and Spearman correlation matrices (Pass 2).
//
// Spearman's rho is the Pearson correlation of average ranks (ties get the mean of the positions
// they occupy, as scipy.stats.rankdata(method="average") and pandas' rank()). The correlation of
// all pairs is computed from matrix products on OpenBLAS (SYRK/GEMM, double precision), never
// pair by pair.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "descpipe/column_matrix.hpp"
#include "descpipe/context.hpp"
#include "descpipe/ranks.hpp"

namespace descpipe {

/// Spearman correlation matrix of the ranked columns of `ranks` (output of RankInPlace for every
/// column). Returns p x p doubles, symmetric, row-major == column-major; the diagonal is 1 for a
/// column with variance, and NaN marks pairs without variance or with fewer than 2 joint rows.
/// Memory: the result and one p x p sum, plus, for the k columns with missing values, five
/// p x k sums; row tiles of 512 rows (x, and with missing values mask and x^2, p columns each;
/// three tiles and five p-row products of at most 512 of the k columns). Never another rows x p
/// matrix. CorrelationPeakBytes gives the total.
/// Threads: OpenBLAS with ctx.threads(); results do not depend on the thread count beyond
/// OpenBLAS's own (deterministic for a fixed thread count) summation order.
std::vector<double> SpearmanFromRanks(const ColumnMatrix& ranks, const Context& ctx);
/// The same from float ranks; equal, bit for bit, to the double version on the same ranks.
std::vector<double> SpearmanFromRanks(const FloatRankMatrix& ranks, const Context& ctx);

/// Pearson correlation matrix of the columns of `values` (NaN = missing, pairwise over the rows
/// where both columns are valid), by the same computation: each column is shifted by the mean of
/// its valid values before the products, so large offsets cost no precision.
/// +-inf counts as missing.
std::vector<double> PearsonMatrix(const ColumnMatrix& values, const Context& ctx);

/// Bytes SpearmanFromRanks, PearsonMatrix and a CorrelationAccumulator (with its Finish) hold at
/// their peak on the CPU for `columns` columns of which `incomplete` have missing values: two
/// p x p matrices (the sum P and the result), five p x k masked sums, the 512-row tiles and the
/// products of at most 512 dense incomplete columns at a time. Not counted: the input.
double CorrelationPeakBytes(std::size_t columns, std::size_t incomplete);

/// The correlation computation of SpearmanFromRanks and PearsonMatrix, fed rows in order in any
/// number of pieces (e.g. batches of a table too large to hold): rows are gathered into tiles of
/// 512 rows counted from the first row, so the result depends only on the rows, never on how they
/// were split or on the thread count.
/// Memory: one p x p sum (and five p x k for the k incomplete columns), the tile buffers, and the
/// p x p result of Finish (CorrelationPeakBytes).
class CorrelationAccumulator {
 public:
  /// @param shift       per column, a value near its mean (subtracted before the products, so
  ///                    large offsets cost no precision; any value gives the same correlations
  ///                    up to rounding)
  /// @param incomplete  per column, whether it may have missing (non-finite) entries; a column
  ///                    marked complete must have none
  CorrelationAccumulator(std::vector<double> shift, const std::vector<bool>& incomplete,
                         int threads);
  /// The same on ctx's device: the products run on the GPU when ctx.device() is kCuda (fp64:
  /// the CPU's correlations to rounding; fp32/tf32: see docs/GPU.md). `expected_rows` (0:
  /// unknown) sizes the GPU's tiles.
  CorrelationAccumulator(std::vector<double> shift, const std::vector<bool>& incomplete,
                         const Context& ctx, std::uint64_t expected_rows = 0);
  ~CorrelationAccumulator();
  CorrelationAccumulator(const CorrelationAccumulator&) = delete;
  CorrelationAccumulator& operator=(const CorrelationAccumulator&) = delete;

  /// Adds `rows` rows: column c's values are columns[c][0..rows).
  void Add(const double* const* columns, std::size_t rows);
  void Add(const float* const* columns, std::size_t rows);
  /// The p x p correlation matrix (as SpearmanFromRanks); call once, after the last Add.
  std::vector<double> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace descpipe
