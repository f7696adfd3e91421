// The passes behind one interface (src/pipeline/passes.hpp): their order, names and option groups
// agree with Stage, the --until names, the registry's groups and `apply`.
#include "pipeline/passes.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "descpipe/config.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "support/test_support.hpp"

namespace descpipe::testing {
namespace {

TEST(Passes, InStageOrderWithUniqueNames) {
  const auto& passes = Passes();
  ASSERT_EQ(passes.size(), 5u);
  std::set<std::string> names, long_names;
  for (std::size_t i = 0; i < passes.size(); ++i) {
    const Pass& pass = *passes[i];
    EXPECT_EQ(pass.stage(), static_cast<int>(i));
    EXPECT_EQ(std::string(pass.name()), "pass" + std::to_string(i));
    EXPECT_EQ(std::string(pass.long_name()).rfind(pass.name(), 0), 0u) << pass.long_name();
    EXPECT_TRUE(names.insert(pass.name()).second);
    EXPECT_TRUE(long_names.insert(pass.long_name()).second);
    // Every pass after Pass 0 lists its survivors (what apply --after reads).
    EXPECT_EQ(pass.survivors_file() != nullptr, i >= 1) << pass.name();
  }
  EXPECT_EQ(static_cast<int>(LastImplementedStage()), passes.back()->stage());
}

// Every option group but "none" is the stage of a pass, so that each option joins the
// fingerprint of the pass that reads it.
TEST(Passes, EveryOptionGroupIsAPass) {
  std::set<int> stages;
  for (const auto& pass : Passes()) stages.insert(pass->stage());
  for (const OptionSpec& spec : OptionSpecs()) {
    if (spec.group == OptionGroup::kNone) continue;
    EXPECT_TRUE(stages.count(static_cast<int>(spec.group))) << spec.name;
  }
}

TEST(Passes, StageNamesAndParsing) {
  EXPECT_EQ(StageNames(), (std::vector<std::string>{"pass1", "pass2", "pass3", "pass4"}));
  EXPECT_EQ(ParseStage("pass3"), Stage::kPass3);
  EXPECT_EQ(MessageOf<InvalidInput>([] { ParseStage("pass0"); }),
            "unknown pass 'pass0' (valid: pass1, pass2, pass3, pass4)");
  EXPECT_EQ(MessageOf<InvalidInput>([] { ParseStage("pass5"); }),
            "unknown pass 'pass5' (valid: pass1, pass2, pass3, pass4)");
}

}  // namespace
}  // namespace descpipe::testing
