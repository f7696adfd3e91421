// Average ranks (scipy.stats.rankdata(method="average")) and median imputation.
#include "descpipe/ranks.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "common/parallel.hpp"
#include "descpipe/error.hpp"
#include "device/dispatch.hpp"
#include "stats/ordered_bits.hpp"
#include "stats/ranks_cuda.hpp"

namespace descpipe {

namespace {

constexpr int kDigitBits = 11;
constexpr int kPasses = (64 + kDigitBits - 1) / kDigitBits;  // 6
constexpr std::size_t kBuckets = std::size_t{1} << kDigitBits;

/// LSD radix sort of `keys`, stable (equal keys keep their order), moving `rows` along when it is
/// not null. Digits shared by every key are skipped, so integer-valued columns take few passes.
/// The swap buffers are resized to the keys' count.
void RadixSortKeys(std::vector<std::uint64_t>& keys, std::vector<std::uint64_t>& keys_swap,
                   std::vector<std::uint32_t>* rows, std::vector<std::uint32_t>* rows_swap) {
  const std::size_t m = keys.size();
  std::vector<std::uint32_t> histogram(kPasses * kBuckets, 0);
  for (std::uint64_t key : keys) {
    for (int pass = 0; pass < kPasses; ++pass) {
      ++histogram[pass * kBuckets + ((key >> (pass * kDigitBits)) & (kBuckets - 1))];
    }
  }
  keys_swap.resize(m);
  if (rows != nullptr) rows_swap->resize(m);
  for (int pass = 0; pass < kPasses; ++pass) {
    std::uint32_t* counts = histogram.data() + pass * kBuckets;
    const std::size_t first_digit = m > 0 ? ((keys[0] >> (pass * kDigitBits)) & (kBuckets - 1)) : 0;
    if (m == 0 || counts[first_digit] == m) continue;  // every value shares this digit
    std::uint32_t offset = 0;
    for (std::size_t bucket = 0; bucket < kBuckets; ++bucket) {
      const std::uint32_t count = counts[bucket];
      counts[bucket] = offset;
      offset += count;
    }
    for (std::size_t k = 0; k < m; ++k) {
      const std::uint32_t target = counts[(keys[k] >> (pass * kDigitBits)) & (kBuckets - 1)]++;
      keys_swap[target] = keys[k];
      if (rows != nullptr) (*rows_swap)[target] = (*rows)[k];
    }
    keys.swap(keys_swap);
    if (rows != nullptr) rows->swap(*rows_swap);
  }
}

}  // namespace

void RadixSortFinite(std::vector<double>& values, std::vector<std::uint64_t>& keys,
                     std::vector<std::uint64_t>& swap) {
  keys.resize(values.size());
  for (std::size_t k = 0; k < values.size(); ++k) keys[k] = OrderedBits(values[k]);
  RadixSortKeys(keys, swap, nullptr, nullptr);
  for (std::size_t k = 0; k < values.size(); ++k) values[k] = FromOrderedBits(keys[k]);
}

std::size_t RankInPlace(double* column, std::size_t n, RankScratch& scratch) {
  DESCPIPE_ASSERT(n <= std::numeric_limits<std::uint32_t>::max());
  auto& keys = scratch.keys;
  auto& rows = scratch.rows;
  keys.clear();
  rows.clear();
  // Sized once (24 bytes per row with the swap buffers: RankScratchBytes), not grown by doubling.
  keys.reserve(n);
  rows.reserve(n);
  for (std::size_t row = 0; row < n; ++row) {
    if (std::isfinite(column[row])) {
      keys.push_back(OrderedBits(column[row]));
      rows.push_back(static_cast<std::uint32_t>(row));
    } else {
      column[row] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  const std::size_t m = keys.size();
  // Stable: equal values stay in row order, so the result is fully determined.
  RadixSortKeys(keys, scratch.keys_swap, &rows, &scratch.rows_swap);
  // Ties share the mean of the 1-based positions they occupy: (first + last) / 2 + 1.
  for (std::size_t first = 0; first < m;) {
    std::size_t last = first;
    while (last + 1 < m && keys[last + 1] == keys[first]) ++last;
    const double rank = 0.5 * static_cast<double>(first + last) + 1.0;
    for (std::size_t k = first; k <= last; ++k) column[rows[k]] = rank;
    first = last + 1;
  }
  return m;
}

void ImputeMedian(double* column, std::size_t n) {
  std::vector<double> finite;
  finite.reserve(n);
  for (std::size_t row = 0; row < n; ++row) {
    if (std::isfinite(column[row])) finite.push_back(column[row]);
  }
  if (finite.empty() || finite.size() == n) return;
  const std::size_t mid = finite.size() / 2;
  std::nth_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(mid), finite.end());
  double median = finite[mid];
  if (finite.size() % 2 == 0) {
    const double below =
        *std::max_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(mid));
    // below + median overflows for two huge middle values: halve them first then.
    const double sum = below + median;
    median = std::isfinite(sum) ? 0.5 * sum : 0.5 * below + 0.5 * median;
  }
  for (std::size_t row = 0; row < n; ++row) {
    if (!std::isfinite(column[row])) column[row] = median;
  }
}

void RankColumns(ColumnMatrix& matrix, SpearmanMissing missing, const Context& ctx) {
  const auto n_columns = static_cast<std::int64_t>(matrix.n_cols);
  FirstFailure failure;  // an exception (e.g. bad_alloc) must not leave the OpenMP regions
  if (missing == SpearmanMissing::kImputeMedian) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(ctx.threads())
    for (std::int64_t col = 0; col < n_columns; ++col) {
      failure.Run(
          [&] { ImputeMedian(matrix.column(static_cast<std::size_t>(col)), matrix.n_rows); });
    }
    failure.Rethrow();
  }
  OnDevice(
      ctx, [&] { cuda_impl::RankColumns(matrix, ctx); },
      [&] {
#pragma omp parallel num_threads(ctx.threads())
        {
          RankScratch order;
#pragma omp for schedule(dynamic, 1)
          for (std::int64_t col = 0; col < n_columns; ++col) {
            failure.Run([&] {
              ctx.ThrowIfStopped();
              RankInPlace(matrix.column(static_cast<std::size_t>(col)), matrix.n_rows, order);
            });
          }
        }
        failure.Rethrow();
      });
}

#ifndef DESCPIPE_USE_CUDA
namespace cuda_impl {
void RankColumns(ColumnMatrix&, const Context&) { NoCuda("the GPU rank transform"); }
}  // namespace cuda_impl
#endif

}  // namespace descpipe
