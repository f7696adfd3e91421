#include <gtest/gtest.h>

#include "descpipe/stats.hpp"

namespace descpipe {
namespace {

TEST(Filters, ReasonOrder) {
  ColumnStats s;
  s.n_total = 1000;
  s.n_valid = 400;
  s.missing_ratio = 0.6;
  FilterOptions options;
  EXPECT_EQ(DecideColumn(s, options).reason, RemovalReason::kMissing);
}

}  // namespace
}  // namespace descpipe
