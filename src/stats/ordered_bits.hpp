// Doubles as unsigned integers of the same order, for radix sorts (ranks.cpp, column_stats.cpp).
// Internal to src/stats.
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

namespace descpipe {

/// Maps a finite double to an unsigned integer with the same order (-0.0 and 0.0 map alike).
inline std::uint64_t OrderedBits(double value) {
  if (value == 0.0) value = 0.0;
  const std::uint64_t bits = std::bit_cast<std::uint64_t>(value);
  return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

/// The double OrderedBits maps to `key` (0.0 for a zero of either sign).
inline double FromOrderedBits(std::uint64_t key) {
  return std::bit_cast<double>((key >> 63) != 0 ? key & ~(std::uint64_t{1} << 63) : ~key);
}

/// Sorts finite `values` ascending with an LSD radix sort of their OrderedBits (11-bit digits;
/// digits shared by every value are skipped). The same order as std::sort, with every zero
/// written 0.0. `keys` and `swap` are scratch. Defined in ranks.cpp, beside the ranks' radix sort
/// that it shares.
void RadixSortFinite(std::vector<double>& values, std::vector<std::uint64_t>& keys,
                     std::vector<std::uint64_t>& swap);

}  // namespace descpipe
