// Large-buffer helpers (src/common/memory.hpp): the contents behave exactly like resize().
#include "common/memory.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <vector>

namespace descpipe {
namespace {

constexpr std::size_t kLarge = (std::size_t{64} << 20) / sizeof(double);  // 64 MiB: gets the advice

TEST(ResizeLarge, ZeroFillsLikeResizeAndKeepsExistingValues) {
  std::vector<double> v = {1.0, 2.0, 3.0};
  ResizeLarge(v, kLarge);
  ASSERT_EQ(v.size(), kLarge);
  EXPECT_EQ(v[0], 1.0);
  EXPECT_EQ(v[2], 3.0);
  for (std::size_t i = 3; i < kLarge; i += 4093) EXPECT_EQ(v[i], 0.0) << i;
  EXPECT_EQ(v.back(), 0.0);
  ResizeLarge(v, 10);  // shrinking is resize()
  EXPECT_EQ(v.size(), 10u);
  EXPECT_EQ(v[1], 2.0);
}

TEST(ShrinkLarge, KeepsTheHeadAndReadsZerosWhenGrownAgain) {
  std::vector<float> v;
  ResizeLarge(v, 2 * kLarge);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 1000) + 1.0f;
  ShrinkLarge(v, kLarge / 3);
  ASSERT_EQ(v.size(), kLarge / 3);
  for (std::size_t i = 0; i < v.size(); i += 997) EXPECT_EQ(v[i], static_cast<float>(i % 1000) + 1.0f) << i;
  EXPECT_EQ(v.back(), static_cast<float>((kLarge / 3 - 1) % 1000) + 1.0f);
  v.resize(2 * kLarge);  // the released pages (and the partial page before them) read as zeros
  for (std::size_t i = kLarge / 3; i < v.size(); i += 4099) EXPECT_EQ(v[i], 0.0f) << i;
  ShrinkLarge(v, 5 * kLarge);  // not smaller: no change
  EXPECT_EQ(v.size(), 2 * kLarge);
}

}  // namespace
}  // namespace descpipe
