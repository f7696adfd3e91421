// Large-buffer helpers (src/common/memory.hpp): the contents behave exactly like resize(). The
// memory limit a Context holds and RequireMemory's messages (src/common/memory_budget.hpp).
#include "common/memory.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "common/memory_budget.hpp"
#include "descpipe/context.hpp"
#include "descpipe/error.hpp"
#include "support/test_support.hpp"

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
  for (std::size_t i = 0; i < v.size(); i += 997)
    EXPECT_EQ(v[i], static_cast<float>(i % 1000) + 1.0f) << i;
  EXPECT_EQ(v.back(), static_cast<float>((kLarge / 3 - 1) % 1000) + 1.0f);
  v.resize(2 * kLarge);  // the released pages (and the partial page before them) read as zeros
  for (std::size_t i = kLarge / 3; i < v.size(); i += 4099) EXPECT_EQ(v[i], 0.0f) << i;
  ShrinkLarge(v, 5 * kLarge);  // not smaller: no change
  EXPECT_EQ(v.size(), 2 * kLarge);
}

// Found by Fuzz.OptionsAndTables: a memory_limit above the physical memory let plans past the
// memory model that could only end in std::bad_alloc or the kernel's OOM killer.
// (The memory the process may use: the physical memory, or a lower cgroup limit: context_test.cpp.)
TEST(ContextMemory, LimitIsAtMostThePhysicalMemory) {
  const std::uint64_t physical = UsableMemoryBytes();
  EXPECT_EQ(Context(1, 42, 0).memory_limit_bytes(), physical / 2);
  EXPECT_EQ(Context(1, 42, 1u << 20).memory_limit_bytes(), 1u << 20);
  EXPECT_EQ(Context(1, 42, physical).memory_limit_bytes(), physical);
  EXPECT_EQ(Context(1, 42, physical + 1).memory_limit_bytes(), physical);
  EXPECT_EQ(Context(1, 42, std::uint64_t{1} << 60).memory_limit_bytes(), physical);
}

TEST(RequireMemory, BeyondThePhysicalMemoryDoesNotSuggestRaisingTheLimit) {
  const double physical = static_cast<double>(UsableMemoryBytes());
  EXPECT_NO_THROW(RequireMemory(1e6, 2000000, "step needs 1 MB", "lower x"));
  const std::string below = testing::MessageOf<InvalidInput>(
      [] { RequireMemory(3e6, 2000000, "step needs 3 MB", "lower x"); });
  EXPECT_TRUE(testing::Contains(
      below,
      "step needs 3 MB but memory_limit is 2 MB: raise memory_limit to at least 3MB (or lower x)"));
  const std::string beyond = testing::MessageOf<InvalidInput>(
      [&] { RequireMemory(2 * physical, UsableMemoryBytes(), "step needs a lot", "lower x"); });
  if (UsableMemoryBytes() == PhysicalMemoryBytes()) {  // else a cgroup limit: context_test.cpp
    EXPECT_TRUE(testing::Contains(beyond, "step needs a lot but this machine has ")) << beyond;
    EXPECT_TRUE(testing::Contains(beyond, " of physical memory: lower x")) << beyond;
  }
  EXPECT_FALSE(testing::Contains(beyond, "raise memory_limit")) << beyond;
}

}  // namespace
}  // namespace descpipe
