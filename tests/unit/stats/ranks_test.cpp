// Tests of the rank transform (RankInPlace) and median imputation (ImputeMedian) against naive
// references written here: the average rank of a finite value is 1 + #smaller + (#equal - 1) / 2
// among the finite values (scipy.stats.rankdata(method="average")), counted with O(n^2) loops;
// the median sorts the finite values.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iomanip>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "common/numbers.hpp"
#include "descpipe/similarity.hpp"
#include "stats/ordered_bits.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

// ---- Naive references -----------------------------------------------------------------------

/// Average ranks by counting: O(n^2). NaN and +-inf rank as NaN.
std::vector<double> NaiveRanks(const std::vector<double>& values, std::size_t* n_finite) {
  std::vector<double> ranks(values.size(), kNaN);
  std::size_t finite = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    ++finite;
    std::size_t smaller = 0, equal = 0;
    for (double other : values) {
      if (!std::isfinite(other)) continue;
      smaller += other < values[i] ? 1 : 0;
      equal += other == values[i] ? 1 : 0;
    }
    ranks[i] = 1.0 + static_cast<double>(smaller) + (static_cast<double>(equal) - 1.0) / 2.0;
  }
  if (n_finite != nullptr) *n_finite = finite;
  return ranks;
}

/// Median of the finite values (mean of the two middle ones for an even count); NaN when none.
double NaiveMedian(const std::vector<double>& values) {
  std::vector<double> finite;
  for (double x : values) {
    if (std::isfinite(x)) finite.push_back(x);
  }
  if (finite.empty()) return kNaN;
  std::sort(finite.begin(), finite.end());
  const std::size_t m = finite.size();
  if (m % 2 == 1) return finite[m / 2];
  return finite[m / 2 - 1] / 2.0 + finite[m / 2] / 2.0;
}

using descpipe::testing::Same;

void ExpectRanksMatch(const std::vector<double>& values, RankScratch& order) {
  std::size_t expected_finite = 0;
  const std::vector<double> expected = NaiveRanks(values, &expected_finite);
  std::vector<double> column = values;
  const std::size_t finite = RankInPlace(column.data(), column.size(), order);
  EXPECT_EQ(finite, expected_finite);
  ASSERT_EQ(column.size(), values.size());
  std::size_t mismatches = 0;
  for (std::size_t row = 0; row < values.size(); ++row) {
    if (!Same(expected[row], column[row])) {
      if (++mismatches <= 5) {
        ADD_FAILURE() << "row " << row << " value " << std::setprecision(17) << values[row] << ": "
                      << Same(expected[row], column[row]).message();
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

// ---- Random data ----------------------------------------------------------------------------

enum class RankData { kHeavyTies, kContinuous, kIntegers, kWithMissing, kMostlyMissing };

std::vector<double> MakeRankColumn(RankData kind, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double ties[] = {-1e300, -2.5, -0.0, 0.0, 1.0, 4.75, 5e-324, 1e300};
  std::vector<double> column(n);
  for (double& x : column) {
    const double u = unit(rng);
    switch (kind) {
      case RankData::kHeavyTies:
        x = u < 0.7 ? ties[rng() % 8] : std::round(normal(rng) * 3.0) / 2.0;
        break;
      case RankData::kContinuous:
        x = normal(rng) * 1e3;
        break;
      case RankData::kIntegers:
        x = static_cast<double>(static_cast<std::int64_t>(rng() % 13) - 6);
        break;
      case RankData::kWithMissing:
        if (u < 0.05) {
          x = kNaN;
        } else if (u < 0.08) {
          x = kInf;
        } else if (u < 0.11) {
          x = -kInf;
        } else if (u < 0.5) {
          x = ties[rng() % 8];
        } else {
          x = normal(rng);
        }
        break;
      case RankData::kMostlyMissing:
        x = u < 0.9 ? (u < 0.45 ? kNaN : (u < 0.7 ? kInf : -kInf)) : std::round(normal(rng));
        break;
    }
  }
  return column;
}

TEST(RankInPlace, MatchesNaiveReferenceOnRandomData) {
  RankScratch order;  // reused across columns of different sizes, as Pass 2 does
  const RankData kinds[] = {RankData::kHeavyTies, RankData::kContinuous, RankData::kIntegers,
                            RankData::kWithMissing, RankData::kMostlyMissing};
  const std::size_t sizes[] = {2, 3, 10, 257, 1000, 3001};
  std::uint64_t seed = 100;
  for (RankData kind : kinds) {
    for (std::size_t n : sizes) {
      SCOPED_TRACE("kind " + std::to_string(static_cast<int>(kind)) + " n " + std::to_string(n));
      ExpectRanksMatch(MakeRankColumn(kind, n, ++seed), order);
    }
  }
}

TEST(RankInPlace, EmptyAndSingleValue) {
  RankScratch order;
  std::vector<double> empty;
  EXPECT_EQ(RankInPlace(empty.data(), 0, order), 0u);

  for (double value : {-3.5, 0.0, 1e300}) {
    std::vector<double> one = {value};
    EXPECT_EQ(RankInPlace(one.data(), 1, order), 1u);
    EXPECT_EQ(one[0], 1.0);
  }
  for (double value : {kNaN, kInf, -kInf}) {
    std::vector<double> one = {value};
    EXPECT_EQ(RankInPlace(one.data(), 1, order), 0u);
    EXPECT_TRUE(std::isnan(one[0])) << "input " << value << " ranked " << one[0];
  }
}

TEST(RankInPlace, AllEqualColumnGetsTheMiddleRank) {
  RankScratch order;
  for (std::size_t n : {std::size_t{2}, std::size_t{5}, std::size_t{1000}}) {
    std::vector<double> column(n, 7.25);
    EXPECT_EQ(RankInPlace(column.data(), n, order), n);
    const double middle = (static_cast<double>(n) + 1.0) / 2.0;
    for (double rank : column) EXPECT_EQ(rank, middle);
  }
  // Missing values around the equal ones do not count.
  std::vector<double> column = {kNaN, 3.0, kInf, 3.0, -kInf, 3.0};
  EXPECT_EQ(RankInPlace(column.data(), column.size(), order), 3u);
  EXPECT_TRUE(Same(kNaN, column[0]));
  EXPECT_EQ(column[1], 2.0);
  EXPECT_TRUE(Same(kNaN, column[2]));
  EXPECT_EQ(column[3], 2.0);
  EXPECT_TRUE(Same(kNaN, column[4]));
  EXPECT_EQ(column[5], 2.0);
}

TEST(RankInPlace, KnownScipyValues) {
  // scipy.stats.rankdata([10, 20, 10, 30, 20, 10]) = [2, 4.5, 2, 6, 4.5, 2]
  RankScratch order;
  std::vector<double> column = {10, 20, 10, 30, 20, 10};
  EXPECT_EQ(RankInPlace(column.data(), column.size(), order), 6u);
  const std::vector<double> expected = {2, 4.5, 2, 6, 4.5, 2};
  EXPECT_EQ(column, expected);

  // -0.0 and 0.0 are one value; infinities are missing, not extreme ranks.
  column = {0.0, -kInf, -0.0, 1.0, kInf, -1.0};
  EXPECT_EQ(RankInPlace(column.data(), column.size(), order), 4u);
  EXPECT_EQ(column[0], 2.5);
  EXPECT_TRUE(std::isnan(column[1]));
  EXPECT_EQ(column[2], 2.5);
  EXPECT_EQ(column[3], 4.0);
  EXPECT_TRUE(std::isnan(column[4]));
  EXPECT_EQ(column[5], 1.0);
}

TEST(RankInPlace, AllMissingColumn) {
  RankScratch order;
  std::vector<double> column = {kNaN, kInf, -kInf, -kNaN, kNaN};
  EXPECT_EQ(RankInPlace(column.data(), column.size(), order), 0u);
  for (double rank : column) EXPECT_TRUE(std::isnan(rank));
}

TEST(RankInPlace, ScratchContentAndSizeDoNotMatter) {
  const std::vector<double> values = MakeRankColumn(RankData::kWithMissing, 500, 7);
  RankScratch fresh;
  std::vector<double> expected = values;
  RankInPlace(expected.data(), expected.size(), fresh);

  // Larger than needed and full of garbage keys and indices.
  RankScratch garbage;
  garbage.keys.assign(5000, ~std::uint64_t{0});
  garbage.keys_swap.assign(7000, 12345);
  garbage.rows.assign(5000, 0xFFFFFFFFu);
  garbage.rows_swap.assign(3, 7);
  std::vector<double> column = values;
  RankInPlace(column.data(), column.size(), garbage);
  EXPECT_EQ(0, std::memcmp(expected.data(), column.data(), expected.size() * sizeof(double)));
  // Ranking a prefix only touches the prefix.
  column = values;
  RankInPlace(column.data(), 100, garbage);
  for (std::size_t row = 100; row < values.size(); ++row) {
    ASSERT_TRUE(Same(values[row], column[row])) << "row " << row << " outside the prefix changed";
  }
  ExpectRanksMatch(std::vector<double>(values.begin(), values.begin() + 100), garbage);
}

TEST(RankInPlace, RanksOfDistinctValuesArePermutation) {
  // Distinct finite values: ranks are exactly 1..n in value order.
  std::mt19937_64 rng(8);
  std::vector<double> values(2000);
  for (std::size_t row = 0; row < values.size(); ++row) values[row] = static_cast<double>(row);
  std::shuffle(values.begin(), values.end(), rng);
  std::vector<double> column = values;
  RankScratch order;
  EXPECT_EQ(RankInPlace(column.data(), column.size(), order), values.size());
  for (std::size_t row = 0; row < values.size(); ++row) {
    ASSERT_EQ(column[row], values[row] + 1.0) << "row " << row;
  }
}

// ---- ImputeMedian ---------------------------------------------------------------------------

TEST(ImputeMedian, OddCountUsesTheMiddleValue) {
  std::vector<double> column = {5.0, kNaN, -1.0, 3.0, kInf, 100.0, -kInf, 2.0};
  // Finite: -1, 2, 3, 5, 100 -> median 3.
  ImputeMedian(column.data(), column.size());
  const std::vector<double> expected = {5.0, 3.0, -1.0, 3.0, 3.0, 100.0, 3.0, 2.0};
  EXPECT_EQ(column, expected);
}

TEST(ImputeMedian, EvenCountUsesTheMeanOfTheTwoMiddleValues) {
  std::vector<double> column = {kNaN, 4.0, 1.0, kInf, 10.0, 2.0};
  // Finite: 1, 2, 4, 10 -> (2 + 4) / 2 = 3.
  ImputeMedian(column.data(), column.size());
  const std::vector<double> expected = {3.0, 4.0, 1.0, 3.0, 10.0, 2.0};
  EXPECT_EQ(column, expected);
}

TEST(ImputeMedian, EvenCountOfHugeValuesDoesNotOverflow) {
  std::vector<double> column = {1e308, kNaN, 1.5e308};
  ImputeMedian(column.data(), column.size());
  EXPECT_TRUE(std::isfinite(column[1])) << column[1];
  EXPECT_DOUBLE_EQ(column[1], 1.25e308);
}

TEST(ImputeMedian, AllMissingColumnIsUnchanged) {
  const std::vector<double> values = {kNaN, kInf, -kInf, kNaN};
  std::vector<double> column = values;
  ImputeMedian(column.data(), column.size());
  EXPECT_TRUE(std::isnan(column[0]));
  EXPECT_EQ(column[1], kInf);
  EXPECT_EQ(column[2], -kInf);
  EXPECT_TRUE(std::isnan(column[3]));

  std::vector<double> empty;
  ImputeMedian(empty.data(), 0);  // no crash
}

TEST(ImputeMedian, NoMissingValuesIsUnchanged) {
  const std::vector<double> values = {3.0, -1.0, 7.5, 0.0, 2.0};
  std::vector<double> column = values;
  ImputeMedian(column.data(), column.size());
  EXPECT_EQ(column, values);
}

TEST(ImputeMedian, SingleFiniteValueFillsEverything) {
  std::vector<double> column = {kNaN, -kInf, 42.0, kInf};
  ImputeMedian(column.data(), column.size());
  EXPECT_EQ(column, std::vector<double>(4, 42.0));
}

TEST(ImputeMedian, MatchesReferenceOnRandomData) {
  std::uint64_t seed = 200;
  for (RankData kind : {RankData::kWithMissing, RankData::kMostlyMissing, RankData::kIntegers}) {
    for (std::size_t n : {std::size_t{1}, std::size_t{2}, std::size_t{9}, std::size_t{10},
                          std::size_t{501}, std::size_t{2000}}) {
      SCOPED_TRACE("kind " + std::to_string(static_cast<int>(kind)) + " n " + std::to_string(n));
      std::vector<double> values = MakeRankColumn(kind, n, ++seed);
      // Moderate, normal values: every way of averaging two middle values agrees to an ulp.
      for (double& x : values) {
        if (std::isfinite(x) && std::fabs(x) > 1e6) x = std::copysign(1e6, x);
        if (std::isfinite(x) && std::fabs(x) < 1e-300) x = 0.0;
      }
      const double median = NaiveMedian(values);
      std::vector<double> column = values;
      ImputeMedian(column.data(), column.size());
      for (std::size_t row = 0; row < n; ++row) {
        if (std::isfinite(values[row]) || std::isnan(median)) {
          ASSERT_TRUE(Same(values[row], column[row])) << "row " << row << " input " << values[row];
        } else {
          ASSERT_DOUBLE_EQ(median, column[row]) << "row " << row << " input " << values[row];
        }
      }
    }
  }
}

// ---- RadixSortFinite (stats/ordered_bits.hpp): Pass 1's quantile sort ------------------------

TEST(RadixSortFinite, SameOrderAsStdSort) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> small(-3, 3);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<double> values(trial * 997 + 1);
    for (double& v : values) {
      switch (trial % 4) {
        case 0:
          v = normal(rng);
          break;  // continuous
        case 1:
          v = small(rng);
          break;  // many ties, zeros
        case 2:
          v = normal(rng) * std::pow(10.0, small(rng) * 100);
          break;  // magnitudes
        default:
          v = small(rng) * 5e-324 + (trial % 2 ? 1e300 : -1e300) * (small(rng) == 0);
      }
    }
    std::vector<double> expected = values;
    std::sort(expected.begin(), expected.end());
    std::vector<std::uint64_t> keys, swap;
    RadixSortFinite(values, keys, swap);
    ASSERT_EQ(values.size(), expected.size());
    for (std::size_t k = 0; k < values.size(); ++k) {
      ASSERT_EQ(values[k], expected[k]) << "trial " << trial << " position " << k;
      ASSERT_FALSE(values[k] == 0.0 && std::signbit(values[k])) << "zeros are written 0.0";
    }
  }
  std::vector<double> empty;
  std::vector<std::uint64_t> keys, swap;
  RadixSortFinite(empty, keys, swap);
  EXPECT_TRUE(empty.empty());
}

}  // namespace
}  // namespace descpipe
