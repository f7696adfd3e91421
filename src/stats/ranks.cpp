// Average ranks (scipy.stats.rankdata(method="average")) and median imputation.
#include <algorithm>
#include <cmath>
#include <limits>

#include "descpipe/error.hpp"
#include "descpipe/similarity.hpp"

namespace descpipe {

std::size_t RankInPlace(double* column, std::size_t n, std::vector<std::uint32_t>& order) {
  DESCPIPE_ASSERT(n <= std::numeric_limits<std::uint32_t>::max());
  order.clear();
  for (std::size_t row = 0; row < n; ++row) {
    if (std::isfinite(column[row])) order.push_back(static_cast<std::uint32_t>(row));
  }
  // Sort by value, then by row so that the order (and so nothing else) is fully determined.
  std::sort(order.begin(), order.end(), [column](std::uint32_t a, std::uint32_t b) {
    return column[a] < column[b] || (column[a] == column[b] && a < b);
  });
  for (std::size_t row = 0; row < n; ++row) {
    if (!std::isfinite(column[row])) column[row] = std::numeric_limits<double>::quiet_NaN();
  }
  // Ties share the mean of the 1-based positions they occupy: (first + last) / 2 + 1. A group's
  // values are overwritten only after its bounds are known; later groups are still untouched.
  for (std::size_t first = 0; first < order.size();) {
    std::size_t last = first;
    while (last + 1 < order.size() && column[order[last + 1]] == column[order[first]]) ++last;
    const double rank = 0.5 * static_cast<double>(first + last) + 1.0;
    for (std::size_t k = first; k <= last; ++k) column[order[k]] = rank;
    first = last + 1;
  }
  return order.size();
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
    const double below = *std::max_element(finite.begin(), finite.begin() + static_cast<std::ptrdiff_t>(mid));
    // below + median overflows for two huge middle values: halve them first then.
    const double sum = below + median;
    median = std::isfinite(sum) ? 0.5 * sum : 0.5 * below + 0.5 * median;
  }
  for (std::size_t row = 0; row < n; ++row) {
    if (!std::isfinite(column[row])) column[row] = median;
  }
}

}  // namespace descpipe
