// check_recovery: compares a descpipe run with the ground truth written by descpipe_make_data.
//
//   descpipe_check_recovery TRUTH.json OUTDIR [--strict]
//
// Reads OUTDIR/final_cluster_info.json and counts the misses:
//   - a constant or high-missing column not removed by Pass 1;
//   - a planted group whose number of final members differs from its expected survivors
//     (near-duplicate and nonlinear groups: 1, linear triples: 2);
//   - a removed group member not represented by a final member of its own group;
//   - an independent column not in the final set.
// Removals by a different pass than planted are reported but are not misses. Prints a table and
// one JSON line ("recovery: {...}"); with --strict exits 1 when there is a miss.
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

using Json = nlohmann::json;

namespace {

Json ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) {
    std::fprintf(stderr, "error: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  try {
    return Json::parse(in);
  } catch (const Json::exception& e) {
    std::fprintf(stderr, "error: %s is not valid JSON: %s\n", path.c_str(), e.what());
    std::exit(2);
  }
}

struct Tally {
  int total = 0;
  int misses = 0;
  int other_pass = 0;
  std::vector<std::string> examples;
  void Miss(const std::string& what) {
    ++misses;
    if (examples.size() < 5) examples.push_back(what);
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: descpipe_check_recovery TRUTH.json OUTDIR [--strict]\n");
    return 2;
  }
  const bool strict = argc > 3 && std::string(argv[3]) == "--strict";
  const Json truth = ReadJson(argv[1]);
  const Json info = ReadJson(std::string(argv[2]) + "/final_cluster_info.json");

  std::set<std::string> final_set;
  for (const Json& entry : info.at("final"))
    final_set.insert(entry.at("column").get<std::string>());
  const Json& removed = info.at("removed");
  auto removal_pass = [&](const std::string& column) -> int {
    const auto it = removed.find(column);
    return it == removed.end() ? 0 : it->at("pass").get<int>();
  };
  auto represented_by = [&](const std::string& column) -> std::string {
    const auto it = removed.find(column);
    if (it == removed.end() || it->at("represented_by").is_null()) return "";
    return it->at("represented_by").get<std::string>();
  };

  std::map<std::string, Tally> tallies;  // by kind
  for (const Json& column : truth.at("columns")) {
    const std::string name = column.at("name").get<std::string>();
    const std::string kind = column.at("kind").get<std::string>();
    const std::string expect = column.at("expect").get<std::string>();
    if (expect == "removed_pass1") {
      Tally& tally = tallies[kind];
      ++tally.total;
      if (removal_pass(name) != 1)
        tally.Miss(name + (final_set.count(name) ? " kept" : " removed later"));
    } else if (expect == "keep") {
      Tally& tally = tallies[kind];
      ++tally.total;
      if (!final_set.count(name)) {
        tally.Miss(name + " removed by pass " + std::to_string(removal_pass(name)) +
                   " (represented by " +
                   (represented_by(name).empty() ? "nothing" : represented_by(name)) + ")");
      }
    }
  }
  for (const Json& group : truth.at("groups")) {
    const std::string kind = group.at("kind").get<std::string>();
    const std::string name = group.at("name").get<std::string>();
    Tally& tally = tallies[kind];
    ++tally.total;
    const std::vector<std::string> members = group.at("members").get<std::vector<std::string>>();
    const std::set<std::string> member_set(members.begin(), members.end());
    int survivors = 0;
    std::string problem;
    for (const std::string& member : members) {
      if (final_set.count(member)) {
        ++survivors;
        continue;
      }
      const std::string representative = represented_by(member);
      if (!member_set.count(representative)) {
        problem =
            member + " represented by " + (representative.empty() ? "nothing" : representative);
      }
      if (removal_pass(member) != group.at("removed_by_pass").get<int>()) ++tally.other_pass;
    }
    if (survivors != group.at("survivors").get<int>()) {
      problem = name + ": " + std::to_string(survivors) + " survivors, expected " +
                std::to_string(group.at("survivors").get<int>()) +
                (problem.empty() ? "" : "; " + problem);
    }
    if (!problem.empty()) tally.Miss(problem);
  }

  int misses = 0;
  Json summary = Json::object();
  std::printf("%-16s %8s %8s %12s  examples\n", "kind", "planted", "misses", "other pass");
  for (const auto& [kind, tally] : tallies) {
    std::string examples;
    for (const std::string& example : tally.examples)
      examples += (examples.empty() ? "" : "; ") + example;
    std::printf("%-16s %8d %8d %12d  %s\n", kind.c_str(), tally.total, tally.misses,
                tally.other_pass, examples.c_str());
    summary[kind] = {{"planted", tally.total},
                     {"misses", tally.misses},
                     {"removed_by_other_pass", tally.other_pass}};
    misses += tally.misses;
  }
  summary["misses"] = misses;
  summary["final_descriptors"] = final_set.size();
  std::printf("recovery: %s\n", summary.dump().c_str());
  return strict && misses > 0 ? 1 : 0;
}
