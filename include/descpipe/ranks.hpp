// Rank transform of columns (Pass 2's first step, stats/ranks.cpp): average ranks as
// scipy.stats.rankdata(method="average"), median imputation, on the CPU or the GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "descpipe/column_matrix.hpp"
#include "descpipe/context.hpp"

namespace descpipe {

/// Reusable scratch space of RankInPlace (one per thread).
struct RankScratch {
  std::vector<std::uint64_t> keys, keys_swap;
  std::vector<std::uint32_t> rows, rows_swap;
};

/// Bytes one RankScratch holds after ranking columns of `rows` rows: 24 per row (keys, row
/// numbers and their radix-sort copies). RankColumns holds one per thread.
inline double RankScratchBytes(std::size_t rows) {
  return 24.0 * static_cast<double>(rows) + 49152.0;
}

/// Replaces the finite values of `column[0..n)` by their average ranks (1-based, ties averaged)
/// among the finite values; NaN and +-inf become NaN. Sorting is an LSD radix sort of the values'
/// order-preserving 64-bit images (11-bit digits; digits shared by every value are skipped, so
/// integer-valued columns take few passes). @returns the number of finite values ranked.
std::size_t RankInPlace(double* column, std::size_t n, RankScratch& scratch);

/// Replaces the NaN and +-inf entries of `column` by the median of its finite values (the mean of
/// the two middle values for an even count); leaves an all-missing column unchanged.
void ImputeMedian(double* column, std::size_t n);

/// How missing values enter Spearman's rho.
enum class SpearmanMissing {
  /// Each column is ranked over its own valid rows; each pair is correlated (Pearson on those
  /// ranks) over the rows where both are valid. Computed with masked sums: four matrix products
  /// over row tiles, not pair by pair.
  kPairwise,
  /// Missing values are replaced by the column's median before ranking; then plain Spearman.
  kImputeMedian,
};
inline const EnumNames<SpearmanMissing>& NamesOf(SpearmanMissing) {
  static const EnumNames<SpearmanMissing> names = {
      {"pairwise", SpearmanMissing::kPairwise}, {"impute_median", SpearmanMissing::kImputeMedian}};
  return names;
}

/// Replaces every column of `matrix` by its average ranks (RankInPlace), after replacing its
/// missing values by the median (ImputeMedian) when `missing` is kImputeMedian. On the GPU when
/// ctx.device() is kCuda (the same ranks, bit for bit), else one column per CPU thread.
void RankColumns(ColumnMatrix& matrix, SpearmanMissing missing, const Context& ctx);

}  // namespace descpipe
