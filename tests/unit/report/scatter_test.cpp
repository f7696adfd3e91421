// The report's scatter selection (src/report/scatter.hpp) against a naive reference: every pair
// above the floor, sorted by S (ties by position), the first max_pairs, back in (i, j) order.
#include "report/scatter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace descpipe {
namespace {

struct Matrices {
  std::size_t p;
  std::vector<double> hsic, rdc;
};

Matrices Random(std::size_t p, unsigned seed, bool ties) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  Matrices m{p, std::vector<double>(p * p, 1.0), std::vector<double>(p * p, 1.0)};
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = i + 1; j < p; ++j) {
      // With ties: values on a coarse grid, so many pairs share S.
      double h = unit(rng), r = unit(rng);
      if (ties) h = std::round(h * 8) / 8, r = std::round(r * 8) / 8;
      // NaN nHSIC alone: screened (nonlinear_screening); a NaN RDC: undefined.
      if (unit(rng) < 0.01) h = std::numeric_limits<double>::quiet_NaN();
      if (unit(rng) < 0.005) r = std::numeric_limits<double>::quiet_NaN();
      m.hsic[i * p + j] = m.hsic[j * p + i] = h;
      m.rdc[i * p + j] = m.rdc[j * p + i] = r;
    }
  }
  return m;
}

ScatterSelection Naive(const Matrices& m, double w_h, double w_r, double floor, std::size_t max) {
  ScatterSelection out;
  for (std::size_t i = 0; i < m.p; ++i) {
    for (std::size_t j = i + 1; j < m.p; ++j) {
      const double h = m.hsic[i * m.p + j], r = m.rdc[i * m.p + j];
      if (std::isnan(h) && std::isfinite(r)) {
        ++out.screened;
      } else if (!std::isfinite(h) || !std::isfinite(r)) {
        ++out.undefined;
      } else if (std::max(h, r) >= floor) {
        ++out.above;
        out.pairs.push_back({i, j, (w_h * h + w_r * r) / (w_h + w_r)});
      }
    }
  }
  std::stable_sort(out.pairs.begin(), out.pairs.end(),
                   [](const ScatterPair& a, const ScatterPair& b) { return a.s > b.s; });
  if (out.pairs.size() > max) out.pairs.resize(max);
  std::sort(out.pairs.begin(), out.pairs.end(), [](const ScatterPair& a, const ScatterPair& b) {
    return a.i != b.i ? a.i < b.i : a.j < b.j;
  });
  return out;
}

void ExpectSame(const ScatterSelection& got, const ScatterSelection& want) {
  EXPECT_EQ(got.above, want.above);
  EXPECT_EQ(got.undefined, want.undefined);
  EXPECT_EQ(got.screened, want.screened);
  ASSERT_EQ(got.pairs.size(), want.pairs.size());
  for (std::size_t k = 0; k < got.pairs.size(); ++k) {
    ASSERT_EQ(got.pairs[k].i, want.pairs[k].i) << k;
    ASSERT_EQ(got.pairs[k].j, want.pairs[k].j) << k;
    ASSERT_EQ(got.pairs[k].s, want.pairs[k].s) << k;
  }
}

TEST(ReportScatter, StrongestPairsAsTheNaiveSort) {
  for (bool ties : {false, true}) {
    const Matrices m = Random(200, ties ? 7 : 3, ties);
    for (std::size_t max : {0u, 1u, 500u, 5000u, 100000u}) {
      SCOPED_TRACE(::testing::Message() << "ties " << ties << ", max " << max);
      ExpectSame(SelectScatterPairs(m.hsic.data(), m.rdc.data(), m.p, 0.5, 0.5, 0.1, max),
                 Naive(m, 0.5, 0.5, 0.1, max));
      ExpectSame(SelectScatterPairs(m.hsic.data(), m.rdc.data(), m.p, 0.2, 0.7, 0.6, max),
                 Naive(m, 0.2, 0.7, 0.6, max));
    }
  }
}

TEST(ReportScatter, NoPairsBelowTheFloorOrOfOneColumn) {
  const Matrices m = Random(1, 1, false);
  const ScatterSelection none =
      SelectScatterPairs(m.hsic.data(), m.rdc.data(), 1, 0.5, 0.5, 0.1, 10);
  EXPECT_EQ(none.pairs.size(), 0u);
  EXPECT_EQ(none.above, 0u);
  const Matrices two = Random(50, 5, false);
  const ScatterSelection high =
      SelectScatterPairs(two.hsic.data(), two.rdc.data(), 50, 0.5, 0.5, 1.5, 10);
  EXPECT_EQ(high.above, 0u);
  EXPECT_GT(high.undefined, 0u);
  EXPECT_GT(high.screened, 0u);
}

}  // namespace
}  // namespace descpipe
