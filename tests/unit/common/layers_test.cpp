// The module layers (DEVELOPERS.md, "Layers"): no file includes a header of a higher layer.
// Read from the #include lines of src/ and include/descpipe/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

namespace descpipe {
namespace {

namespace fs = std::filesystem;

// Lowest first. A module may include its own layer and those below.
const std::map<std::string, int>& Layers() {
  static const std::map<std::string, int> layers = {
      {"base", 0},       {"common", 1}, {"io", 2},       {"stats", 3},  {"device", 3},
      {"similarity", 4}, {"graph", 4},  {"pipeline", 5}, {"report", 6},
  };
  return layers;
}

// The module of each public header (include/descpipe/).
const std::map<std::string, std::string>& PublicHeaders() {
  static const std::map<std::string, std::string> headers = {
      {"error.hpp", "base"},
      {"context.hpp", "base"},
      {"version.hpp", "base"},
      {"column_matrix.hpp", "base"},
      {"enum_names.hpp", "base"},
      {"table.hpp", "io"},
      {"stats.hpp", "stats"},
      {"vif.hpp", "stats"},
      {"ranks.hpp", "stats"},
      {"device.hpp", "device"},
      {"similarity.hpp", "similarity"},
      {"nonlinear.hpp", "similarity"},
      {"graph.hpp", "graph"},
      {"config.hpp", "pipeline"},
      {"pipeline.hpp", "pipeline"},
      {"lineage.hpp", "pipeline"},
      {"report.hpp", "report"},
  };
  return headers;
}

// "descpipe/x.hpp" -> its module; "stats/x.hpp" -> stats; "" for a third-party header.
std::string ModuleOfInclude(const std::string& include) {
  if (include.rfind("descpipe/", 0) == 0) {
    const auto it = PublicHeaders().find(include.substr(9));
    return it == PublicHeaders().end() ? "?" : it->second;
  }
  const std::string first = include.substr(0, include.find('/'));
  return Layers().count(first) != 0 && include.find('/') != std::string::npos ? first : "";
}

TEST(Layers, NoModuleIncludesAHigherOne) {
  const fs::path root = DESCPIPE_SOURCE_DIR;
  const std::regex include_line(R"re(^\s*#\s*include\s*"([^"]+)")re");
  std::size_t files = 0, includes = 0;
  auto check = [&](const fs::path& file, const std::string& module) {
    ASSERT_TRUE(Layers().count(module) != 0) << file << ": unknown module " << module;
    ++files;
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      std::smatch match;
      if (!std::regex_search(line, match, include_line)) continue;
      const std::string target = ModuleOfInclude(match[1]);
      if (target.empty()) continue;
      ++includes;
      ASSERT_NE(target, "?") << file << " includes " << match[1]
                             << ", a public header with no module here";
      EXPECT_LE(Layers().at(target), Layers().at(module))
          << fs::relative(file, root).string() << " (" << module << ") includes " << match[1]
          << " (" << target << ")";
    }
  };
  const std::regex source(R"(\.(cpp|hpp|cu|cuh)$)");
  for (const auto& entry : fs::recursive_directory_iterator(root / "src")) {
    if (!entry.is_regular_file() || !std::regex_search(entry.path().string(), source)) continue;
    const fs::path relative = fs::relative(entry.path(), root / "src");
    const std::string module = relative.has_parent_path() ? relative.begin()->string() : "base";
    check(entry.path(), module);
  }
  for (const auto& entry : fs::directory_iterator(root / "include" / "descpipe")) {
    const auto it = PublicHeaders().find(entry.path().filename().string());
    ASSERT_NE(it, PublicHeaders().end())
        << entry.path() << ": add it to PublicHeaders() with its module";
    check(entry.path(), it->second);
  }
  EXPECT_GT(files, 50u);
  EXPECT_GT(includes, 100u);
}

// The test itself: a higher header included from a lower module is seen.
TEST(Layers, ModulesOfIncludes) {
  EXPECT_EQ(ModuleOfInclude("descpipe/config.hpp"), "pipeline");
  EXPECT_EQ(ModuleOfInclude("common/single_threaded_blas.hpp"), "common");
  EXPECT_EQ(ModuleOfInclude("support/test_support.hpp"), "");
  EXPECT_EQ(ModuleOfInclude("descpipe/unknown.hpp"), "?");
  EXPECT_GT(Layers().at(ModuleOfInclude("descpipe/similarity.hpp")), Layers().at("stats"));
}

}  // namespace
}  // namespace descpipe
