// Lineage of every input descriptor (final_cluster_info.json) and `descpipe explain`.
#include "descpipe/lineage.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "io/atomic_file.hpp"
#include "io/outdir.hpp"
#include "pipeline/lineage_links.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {
namespace {

using Json = nlohmann::ordered_json;

const char* PassName(int pass) {
  switch (pass) {
    case 1:
      return "statistics";
    case 2:
      return "spearman";
    case 3:
      return "vif";
    case 4:
      return "nonlinear";
  }
  return "unknown";
}

std::string Fixed(double value) {
  if (std::isinf(value)) return "inf";
  return fmt::format("{:.4f}", value);
}

Json LinkJson(const std::string& column, const LineageLink& link,
              const std::vector<std::string>& path, const std::string& represented_by) {
  Json json;
  json["column"] = column;
  json["pass"] = link.pass;
  json["pass_name"] = PassName(link.pass);
  json["reason"] = link.reason;
  json["linked_to"] = link.linked_to.empty() ? Json(nullptr) : Json(link.linked_to);
  json["measure"] = link.measure.empty() ? Json(nullptr) : Json(link.measure);
  json["value"] = JsonNumber(link.value);
  json["represented_by"] = represented_by.empty() ? Json(nullptr) : Json(represented_by);
  json["path"] = path;
  return json;
}

}  // namespace

void AddPass1Links(const Pass1Result& pass1, const Config& config, LineageLinks& links) {
  for (std::size_t i = 0; i < pass1.columns.size(); ++i) {
    const FilterDecision& decision = pass1.decisions[i];
    if (decision.kept()) continue;
    LineageLink link;
    link.pass = 1;
    link.reason = fmt::format("{}: {}", ReasonName(decision.reason),
                              RemovalDetail(pass1.stats[i], decision, config));
    links[pass1.columns[i]] = link;
  }
}

void AddPass2Links(const Pass2Result& pass2, const Config& config, LineageLinks& links) {
  const std::size_t p2 = pass2.columns.size();
  for (const Cluster& cluster : pass2.clusters) {
    for (std::size_t member : cluster.members) {
      if (member == cluster.representative ||
          std::find(cluster.also_kept.begin(), cluster.also_kept.end(), member) !=
              cluster.also_kept.end()) {
        continue;
      }
      LineageLink link;
      link.pass = 2;
      link.linked_to = pass2.columns[cluster.representative];
      link.measure = "spearman_rho";
      link.value = pass2.rho[member * p2 + cluster.representative];
      link.reason = fmt::format(
          "|Spearman rho| = {} with {} (>= spearman_threshold {}), the representative of its "
          "cluster of {} "
          "(chosen by {})",
          Fixed(std::fabs(link.value)), link.linked_to, FormatNumber(config.spearman_threshold),
          cluster.members.size(), cluster.decided_by);
      links[pass2.columns[member]] = link;
    }
  }
}

void AddPass3Links(const Pass3Result& pass3, const Config& config, LineageLinks& links) {
  for (const VifRemoval& removal : pass3.vif.removed) {
    LineageLink link;
    link.pass = 3;
    const bool absorbed = removal.absorbed_by < pass3.columns.size();
    if (absorbed) {
      link.linked_to = pass3.columns[removal.absorbed_by];
      link.measure = "partial_correlation";
      link.value = removal.partial_correlation;
    }
    const std::string vif =
        removal.singular
            ? std::string("singular (VIF = inf): a linear combination of the remaining columns")
            : fmt::format("VIF {} > vif_threshold {}", Fixed(removal.vif),
                          FormatNumber(config.vif_threshold));
    link.reason = absorbed && !std::isnan(removal.partial_correlation)
                      ? fmt::format("{}; most explained by {} (partial correlation {})", vif,
                                    link.linked_to, Fixed(removal.partial_correlation))
                  : absorbed ? fmt::format("{}; most explained by {}", vif, link.linked_to)
                             : vif;
    links[pass3.columns[removal.column]] = link;
  }
}

void AddPass4Links(const Pass4Result& pass4, const Config& config, LineageLinks& links) {
  const std::size_t p4 = pass4.columns.size();
  for (const Cluster& cluster : pass4.clusters) {
    for (std::size_t member : cluster.members) {
      if (member == cluster.representative ||
          std::find(cluster.also_kept.begin(), cluster.also_kept.end(), member) !=
              cluster.also_kept.end()) {
        continue;
      }
      LineageLink link;
      link.pass = 4;
      link.linked_to = pass4.columns[cluster.representative];
      link.measure = "nonlinear_similarity";
      link.value = pass4.similarity.fused[member * p4 + cluster.representative];
      const auto measure = [&](const std::vector<double>& matrix) {
        return matrix.empty() ? std::string("not computed")
                              : Fixed(matrix[member * p4 + cluster.representative]);
      };
      link.reason = fmt::format(
          "in the Leiden cluster of {} ({} members, edges at S >= nonlinear_threshold {}); S = {} "
          "(nHSIC {}, RDC {}) to that representative (chosen by {})",
          link.linked_to, cluster.members.size(), FormatNumber(config.nonlinear_threshold),
          Fixed(link.value), measure(pass4.similarity.hsic), measure(pass4.similarity.rdc),
          cluster.decided_by);
      links[pass4.columns[member]] = link;
    }
  }
}

void WriteLineage(const std::vector<std::string>& inputs, const std::vector<std::string>& kept,
                  const LineageLinks& links, const std::string& out_dir) {
  const std::vector<std::string>& columns = inputs;
  const std::set<std::string> final_set(kept.begin(), kept.end());
  DESCPIPE_ASSERT(links.size() + final_set.size() == columns.size());

  Json removed = Json::object();
  std::map<std::string, Json> stands_for;  // final -> links
  for (const std::string& column : columns) {
    const auto it = links.find(column);
    if (it == links.end()) {
      DESCPIPE_ASSERT(final_set.count(column));
      continue;
    }
    // Follow linked_to to a final descriptor (each step goes to a later pass, or to a later
    // removal within Pass 3, so the walk ends).
    std::vector<std::string> path{column};
    std::string current = column;
    std::string represented_by;
    for (std::size_t step = 0; step <= columns.size(); ++step) {
      const auto link = links.find(current);
      if (link == links.end()) {
        represented_by = current;
        break;
      }
      if (link->second.linked_to.empty()) break;
      current = link->second.linked_to;
      path.push_back(current);
    }
    DESCPIPE_ASSERT(represented_by.empty() || final_set.count(represented_by));
    const Json entry = LinkJson(column, it->second, path, represented_by);
    removed[column] = entry;
    if (!represented_by.empty()) stands_for[represented_by].push_back(entry);
  }
  Json finals = Json::array();
  for (const std::string& column : columns) {
    if (!final_set.count(column)) continue;
    Json entry;
    entry["column"] = column;
    const auto it = stands_for.find(column);
    entry["stands_for"] = it == stands_for.end() ? Json::array() : it->second;
    finals.push_back(entry);
  }
  Json json;
  json["input_descriptors"] = columns.size();
  json["final_descriptors"] = final_set.size();
  json["final"] = finals;
  json["removed"] = removed;
  io::WriteFileAtomic(out_dir + "/final_cluster_info.json", json.dump(2) + "\n");
}

namespace {
std::string ExplainFrom(const Json& json, const std::string& out_dir, const std::string& name);
}  // namespace

std::string ExplainDescriptor(const std::string& out_dir, const std::string& name, bool wait) {
  const std::string path = out_dir + "/final_cluster_info.json";
  DESCPIPE_EXPECTS(std::filesystem::exists(std::filesystem::symlink_status(path)),
                   "cannot read '{}': run `descpipe run ... -o {}` first (all passes)", path,
                   out_dir);
  const io::OutdirLock lock(out_dir, io::OutdirLock::Mode::kShared, wait);
  Json json;
  try {
    json = Json::parse(io::ReadRegularFile(path, 1ULL << 32));
    DESCPIPE_EXPECTS(json.is_object() && json.contains("final") && json.contains("removed"),
                     "'{}' has no lineage (\"final\", \"removed\"); rerun descpipe run", path);
    return ExplainFrom(json, out_dir, name);
  } catch (const nlohmann::json::exception& e) {  // not JSON, or a field of the wrong type
    throw InvalidInput(
        fmt::format("'{}' is not a valid lineage file ({}); rerun descpipe run", path, e.what()));
  }
}

namespace {

std::string ExplainFrom(const Json& json, const std::string& out_dir, const std::string& name) {
  const Json& removed = json.at("removed");
  const Json* final_entry = nullptr;
  for (const Json& entry : json.at("final")) {
    if (entry.at("column") == name) final_entry = &entry;
  }
  std::ostringstream out;
  if (final_entry != nullptr) {
    const Json& stands_for = (*final_entry).at("stands_for");
    out << name << ": a final descriptor (kept through all four passes).\n";
    if (stands_for.empty()) {
      out << "It stands for no removed descriptor.\n";
      return out.str();
    }
    out << "It stands for " << stands_for.size() << " removed descriptor"
        << (stands_for.size() == 1 ? "" : "s") << ":\n";
    for (const Json& entry : stands_for) {
      std::string via;
      const auto& chain = entry.at("path");
      for (std::size_t k = 1; k + 1 < chain.size(); ++k)
        via += (via.empty() ? " (via " : ", ") + chain.at(k).get<std::string>();
      if (!via.empty()) via += ")";
      out << "  " << entry.at("column").get<std::string>() << ": pass "
          << entry.at("pass").get<int>() << " (" << entry.at("pass_name").get<std::string>() << ")"
          << via << ", " << entry.at("reason").get<std::string>() << "\n";
    }
    return out.str();
  }
  if (!removed.contains(name)) {
    std::vector<std::pair<std::size_t, std::string>> close;
    auto consider = [&](const std::string& candidate) {
      const std::string a = AsciiLower(candidate), b = AsciiLower(name);
      if (a.find(b) != std::string::npos || b.find(a) != std::string::npos)
        close.emplace_back(0, candidate);
    };
    for (const Json& entry : json.at("final")) consider(entry.at("column").get<std::string>());
    for (auto it = removed.begin(); it != removed.end(); ++it) consider(it.key());
    std::string hint;
    for (std::size_t k = 0; k < close.size() && k < 5; ++k)
      hint += (k == 0 ? " (similar: " : ", ") + close[k].second;
    if (!hint.empty()) hint += ")";
    throw InvalidInput(
        fmt::format("'{}' is not an input descriptor of the run in '{}'{}", name, out_dir, hint));
  }
  const Json& entry = removed.at(name);
  out << name << ": removed in pass " << entry.at("pass").get<int>() << " ("
      << entry.at("pass_name").get<std::string>() << "): " << entry.at("reason").get<std::string>()
      << ".\n";
  const auto& chain = entry.at("path");
  for (std::size_t k = 1; k < chain.size(); ++k) {
    const std::string step = chain.at(k).get<std::string>();
    if (removed.contains(step)) {
      const Json& next = removed.at(step);
      out << "  then " << step << ": removed in pass " << next.at("pass").get<int>() << " ("
          << next.at("pass_name").get<std::string>()
          << "): " << next.at("reason").get<std::string>() << ".\n";
    } else {
      out << "  then " << step << ": a final descriptor.\n";
    }
  }
  if (entry.at("represented_by").is_null()) {
    out << "No final descriptor represents it"
        << (entry.at("pass").get<int>() == 1
                ? ": it was removed for its own statistics, not for redundancy.\n"
                : ": no remaining column explained it.\n");
  } else {
    out << "Now represented by: " << entry.at("represented_by").get<std::string>() << ".\n";
  }
  return out.str();
}

}  // namespace
}  // namespace descpipe
