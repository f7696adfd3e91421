// Column-major matrices of doubles (and of float ranks): the shared data type of the stats,
// similarity and device modules.
#pragma once

#include <cstddef>
#include <vector>

namespace descpipe {

/// A column-major matrix of n_rows x n_cols values: element (row, col) is
/// `values[col * n_rows + row]`. Missing entries are NaN.
template <typename T>
struct BasicColumnMatrix {
  std::size_t n_rows = 0;
  std::size_t n_cols = 0;
  std::vector<T> values;

  T* column(std::size_t col) { return values.data() + col * n_rows; }
  const T* column(std::size_t col) const { return values.data() + col * n_rows; }
};
using ColumnMatrix = BasicColumnMatrix<double>;
/// Ranks stored as floats: exact, since average ranks are multiples of 1/2 and floats hold every
/// such number below 2^23 (tables of up to kMaxFloatRankRows rows). Half the memory of doubles.
using FloatRankMatrix = BasicColumnMatrix<float>;
inline constexpr std::size_t kMaxFloatRankRows = (std::size_t{1} << 23) - 1;

}  // namespace descpipe
