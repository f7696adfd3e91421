// Lineage of every input descriptor (final_cluster_info.json) and `descpipe explain`.
#include "descpipe/lineage.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/vif.hpp"
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
    // A column singular because the matrix is not positive definite is explained by nothing.
    const bool absorbed =
        removal.absorbed_by < pass3.columns.size() && !NotPositiveDefinite(removal);
    if (absorbed) {
      link.linked_to = pass3.columns[removal.absorbed_by];
      link.measure = "partial_correlation";
      link.value = removal.partial_correlation;
    }
    const std::string vif =
        NotPositiveDefinite(removal)
            ? fmt::format(
                  "singular (VIF = inf): the {} correlation matrix is not positive definite with "
                  "this column and the better ones kept (residual variance {:.3g} < 0; pairwise "
                  "correlations need not be consistent), so its VIF is undefined",
                  config.vif_pearson ? "Pearson" : "Spearman", removal.residual_variance)
        : removal.singular
            ? std::string("singular (VIF = inf): a linear combination of better columns kept")
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
      link.reason =
          config.nonlinear_assignment == ClusterAssignment::kStar
              ? fmt::format(
                    "S = {} (nHSIC {}, RDC {}) >= nonlinear_threshold {} to {}, the representative "
                    "of its star of {} within a Leiden community (chosen by {})",
                    Fixed(link.value), measure(pass4.similarity.hsic),
                    measure(pass4.similarity.rdc), FormatNumber(config.nonlinear_threshold),
                    link.linked_to, cluster.members.size(), cluster.decided_by)
              : fmt::format(
                    "in the Leiden cluster of {} ({} members, edges at S >= nonlinear_threshold "
                    "{}); S = {} (nHSIC {}, RDC {}) to that representative (chosen by {})",
                    link.linked_to, cluster.members.size(),
                    FormatNumber(config.nonlinear_threshold), Fixed(link.value),
                    measure(pass4.similarity.hsic), measure(pass4.similarity.rdc),
                    cluster.decided_by);
      links[pass4.columns[member]] = link;
    }
  }
}

namespace {

/// Direct measures between input descriptors, from the matrices the passes computed.
class DirectMeasures {
 public:
  DirectMeasures(const Pass2Result& pass2, const Pass4Result& pass4)
      : pass2_(pass2), pass4_(pass4) {
    if (pass2.rho.size() == pass2.columns.size() * pass2.columns.size()) {
      for (std::size_t k = 0; k < pass2.columns.size(); ++k) rho_index_[pass2.columns[k]] = k;
    }
    if (pass4.similarity.fused.size() == pass4.columns.size() * pass4.columns.size()) {
      for (std::size_t k = 0; k < pass4.columns.size(); ++k) s_index_[pass4.columns[k]] = k;
    }
  }
  /// Spearman rho of Pass 2's matrix (NaN when either column is not in it).
  double Rho(const std::string& a, const std::string& b) const {
    const auto i = rho_index_.find(a), j = rho_index_.find(b);
    if (i == rho_index_.end() || j == rho_index_.end()) return std::nan("");
    return pass2_.rho[i->second * pass2_.columns.size() + j->second];
  }
  /// Pass 4's fused similarity S (NaN when either column is not a Pass 4 column).
  double S(const std::string& a, const std::string& b) const {
    const auto i = s_index_.find(a), j = s_index_.find(b);
    if (i == s_index_.end() || j == s_index_.end()) return std::nan("");
    return pass4_.similarity.fused[i->second * pass4_.columns.size() + j->second];
  }
  /// R^2 of each of `columns` on the final descriptors `finals` (rank correlations, Pass 2's
  /// matrix); NaN for a column not in it.
  std::map<std::string, double> RSquaredOnFinal(const std::vector<std::string>& columns,
                                                const std::vector<std::string>& finals) const {
    std::map<std::string, double> r2;
    std::vector<std::size_t> basis, targets;
    for (const auto& name : finals) {
      const auto it = rho_index_.find(name);
      if (it != rho_index_.end()) basis.push_back(it->second);
    }
    std::vector<std::string> named;
    for (const auto& name : columns) {
      const auto it = rho_index_.find(name);
      if (it == rho_index_.end()) continue;
      targets.push_back(it->second);
      named.push_back(name);
    }
    const std::vector<double> values =
        ExplainedVariance(pass2_.rho.data(), pass2_.columns.size(), basis, targets);
    for (std::size_t k = 0; k < named.size(); ++k) r2[named[k]] = values[k];
    return r2;
  }

 private:
  const Pass2Result& pass2_;
  const Pass4Result& pass4_;
  std::unordered_map<std::string, std::size_t> rho_index_;
  std::unordered_map<std::string, std::size_t> s_index_;
};

/// Who represents a removed descriptor now, and the direct measures to it (docs/RUNS.md,
/// "Lineage").
struct Representation {
  std::string represented_by;  ///< empty: none
  const char* rule = nullptr;  ///< "removal_link" | "similarity_chain" | "closest_final" | null
  double rho = std::nan("");   ///< Spearman rho to represented_by
  double s = std::nan("");     ///< fused S to represented_by (Pass 4 columns only)
  std::string closest;         ///< final descriptor with the largest |rho| (empty: none)
  double closest_rho = std::nan("");
  double r2 = std::nan("");  ///< R^2 on the final set (rank correlations)
};

/// True when `link` is a similarity within its pass's threshold: |rho| >= spearman_threshold
/// (Pass 2) or S >= nonlinear_threshold (Pass 4). VIF links (partial correlations) never are.
bool StrongLink(const LineageLink& link, const Config& config) {
  if (std::isnan(link.value)) return false;
  return (link.pass == 2 && std::fabs(link.value) >= config.spearman_threshold) ||
         (link.pass == 4 && link.value >= config.nonlinear_threshold);
}

Representation Represent(const std::string& column, const std::vector<std::string>& path,
                         const LineageLinks& links, const std::vector<std::string>& finals,
                         const std::set<std::string>& final_set, const DirectMeasures& measures,
                         const Config& config) {
  Representation out;
  const LineageLink& link = links.at(column);
  if (link.pass < 2) return out;
  for (const std::string& final : finals) {  // input order: the first of equal |rho| wins
    const double rho = measures.Rho(column, final);
    if (!std::isnan(rho) && (out.closest.empty() || std::fabs(rho) > std::fabs(out.closest_rho))) {
      out.closest = final;
      out.closest_rho = rho;
    }
  }
  // 1. The end of the removal chain when it is final and every link of the chain is a similarity
  //    within its pass's threshold: one link (Pass 2 or 4), or a Pass 2 link then a Pass 4 link.
  //    A Pass 2 link (|rho| >= spearman_threshold: nearly the same ranks) keeps Pass 4's S, which
  //    depends on the ranks only, so the chain stays a similarity.
  bool strong = path.size() >= 2 && final_set.count(path.back()) > 0;
  for (std::size_t k = 0; strong && k + 1 < path.size(); ++k)
    strong = StrongLink(links.at(path[k]), config);
  if (strong) {
    out.represented_by = path.back();
    out.rule = path.size() == 2 ? "removal_link" : "similarity_chain";
  }
  // 2. Otherwise the final descriptor most rank-correlated with it, when |rho| >= lineage_min_rho.
  if (out.represented_by.empty() && !out.closest.empty() &&
      std::fabs(out.closest_rho) >= config.lineage_min_rho) {
    out.represented_by = out.closest;
    out.rule = "closest_final";
  }
  if (!out.represented_by.empty()) {
    out.rho = measures.Rho(column, out.represented_by);
    out.s = measures.S(column, out.represented_by);
  }
  return out;
}

/// Shortest text that reads back as the same double; empty for NaN.
std::string CsvNumber(double value) {
  if (std::isnan(value)) return "";
  return fmt::format("{}", value);
}

}  // namespace

void WriteLineage(const std::vector<std::string>& inputs, const std::vector<std::string>& kept,
                  const LineageLinks& links, const Pass2Result& pass2, const Pass4Result& pass4,
                  const Config& config, const std::string& out_dir) {
  const std::vector<std::string>& columns = inputs;
  const std::set<std::string> final_set(kept.begin(), kept.end());
  DESCPIPE_ASSERT(links.size() + final_set.size() == columns.size());
  std::vector<std::string> finals;  // input order
  std::vector<std::string> removed_after_pass1;
  for (const std::string& column : columns) {
    if (final_set.count(column)) {
      finals.push_back(column);
    } else if (links.at(column).pass >= 2) {
      removed_after_pass1.push_back(column);
    }
  }
  const DirectMeasures measures(pass2, pass4);
  const std::map<std::string, double> r2 = measures.RSquaredOnFinal(removed_after_pass1, finals);

  Json removed = Json::object();
  std::map<std::string, Json> stands_for;  // final -> records
  std::string csv =
      "descriptor,fate,pass,pass_name,reason,removed_in_favour_of,represented_by,"
      "representative_rule,rho_to_representative,s_to_representative,r2_on_final,closest_final,"
      "rho_to_closest_final\n";
  for (const std::string& column : columns) {
    const auto it = links.find(column);
    if (it == links.end()) {
      DESCPIPE_ASSERT(final_set.count(column));
      csv += CsvCell(column) + ",final,,,,,,,,,,,\n";
      continue;
    }
    const LineageLink& link = it->second;
    // The removal chain: follow linked_to to a final descriptor (each step goes to a later pass,
    // or to a later removal within Pass 3, so the walk ends) or to a column linked to nothing.
    std::vector<std::string> path{column};
    std::string current = column;
    for (std::size_t step = 0; step <= columns.size(); ++step) {
      const auto next = links.find(current);
      if (next == links.end() || next->second.linked_to.empty()) break;
      current = next->second.linked_to;
      path.push_back(current);
    }
    Representation rep = Represent(column, path, links, finals, final_set, measures, config);
    if (const auto r = r2.find(column); r != r2.end()) rep.r2 = r->second;
    DESCPIPE_ASSERT(rep.represented_by.empty() || final_set.count(rep.represented_by));

    Json entry;
    entry["column"] = column;
    entry["pass"] = link.pass;
    entry["pass_name"] = PassName(link.pass);
    entry["reason"] = link.reason;
    entry["linked_to"] = link.linked_to.empty() ? Json(nullptr) : Json(link.linked_to);
    entry["measure"] = link.measure.empty() ? Json(nullptr) : Json(link.measure);
    entry["value"] = JsonNumber(link.value);
    entry["path"] = path;
    entry["represented_by"] = rep.represented_by.empty() ? Json(nullptr) : Json(rep.represented_by);
    entry["representative_rule"] = rep.rule == nullptr ? Json(nullptr) : Json(rep.rule);
    entry["rho_to_representative"] = JsonNumber(rep.rho);
    entry["s_to_representative"] = JsonNumber(rep.s);
    entry["r2_on_final"] = JsonNumber(rep.r2);
    entry["closest_final"] = rep.closest.empty() ? Json(nullptr) : Json(rep.closest);
    entry["rho_to_closest_final"] = JsonNumber(rep.closest_rho);
    if (!rep.represented_by.empty()) stands_for[rep.represented_by].push_back(entry);
    removed[column] = std::move(entry);

    csv += fmt::format("{},removed,{},{},{},{},{},{},{},{},{},{},{}\n", CsvCell(column), link.pass,
                       PassName(link.pass), CsvCell(link.reason), CsvCell(link.linked_to),
                       CsvCell(rep.represented_by), rep.rule == nullptr ? "" : rep.rule,
                       CsvNumber(rep.rho), CsvNumber(rep.s), CsvNumber(rep.r2),
                       CsvCell(rep.closest), CsvNumber(rep.closest_rho));
  }
  Json final_entries = Json::array();
  for (const std::string& column : finals) {
    Json entry;
    entry["column"] = column;
    const auto it = stands_for.find(column);
    entry["stands_for"] = it == stands_for.end() ? Json::array() : it->second;
    final_entries.push_back(entry);
  }
  Json json;
  json["input_descriptors"] = columns.size();
  json["final_descriptors"] = final_set.size();
  json["lineage_min_rho"] = config.lineage_min_rho;
  json["final"] = final_entries;
  json["removed"] = removed;
  io::WriteFileAtomic(out_dir + "/final_cluster_info.json", json.dump(2) + "\n");
  io::WriteFileAtomic(out_dir + "/lineage.csv", csv);
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

std::vector<std::pair<std::string, std::string>> ExplainEveryDescriptor(
    const std::string& lineage_json, const std::string& path, const std::string& out_dir) {
  std::vector<std::pair<std::string, std::string>> texts;
  try {
    const Json json = Json::parse(lineage_json);
    DESCPIPE_EXPECTS(json.is_object() && json.contains("final") && json.contains("removed"),
                     "'{}' has no lineage (\"final\", \"removed\"); rerun descpipe run", path);
    for (const Json& entry : json.at("final")) {
      const std::string name = entry.at("column").get<std::string>();
      texts.emplace_back(name, ExplainFrom(json, out_dir, name));
    }
    for (auto it = json.at("removed").begin(); it != json.at("removed").end(); ++it) {
      texts.emplace_back(it.key(), ExplainFrom(json, out_dir, it.key()));
    }
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(
        fmt::format("'{}' is not a valid lineage file ({}); rerun descpipe run", path, e.what()));
  }
  return texts;
}

namespace {

/// " (rho = 0.97, S = 0.71 directly)" from a record's direct measures ("" when none).
std::string DirectText(const Json& entry) {
  std::string text;
  for (const auto& [key, label] :
       {std::pair<const char*, const char*>{"rho_to_representative", "rho"},
        {"s_to_representative", "S"}}) {
    if (entry.contains(key) && entry.at(key).is_number())
      text += fmt::format("{}{} = {}", text.empty() ? "" : ", ", label,
                          Fixed(entry.at(key).get<double>()));
  }
  return text.empty() ? text : " (" + text + " directly)";
}

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
      const std::string rule =
          entry.contains("representative_rule") && entry.at("representative_rule").is_string()
              ? entry.at("representative_rule").get<std::string>()
              : "";
      std::string how;
      if (rule == "similarity_chain") {
        const auto& chain = entry.at("path");
        for (std::size_t k = 1; k + 1 < chain.size(); ++k)
          how += (how.empty() ? ", via " : ", ") + chain.at(k).get<std::string>();
      } else if (rule == "closest_final") {
        how = ", the final descriptor closest to it";
      }
      out << "  " << entry.at("column").get<std::string>() << ": pass "
          << entry.at("pass").get<int>() << " (" << entry.at("pass_name").get<std::string>() << ")"
          << how << DirectText(entry) << ": " << entry.at("reason").get<std::string>() << "\n";
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
  const auto number = [&](const char* key) {
    return entry.contains(key) && entry.at(key).is_number() ? entry.at(key).get<double>()
                                                            : std::nan("");
  };
  if (entry.at("pass").get<int>() == 1) {
    out << "No final descriptor represents it: it was removed for its own statistics, not for "
           "redundancy.\n";
    return out.str();
  }
  if (entry.at("represented_by").is_null()) {
    out << "No final descriptor represents it";
    if (entry.contains("closest_final") && entry.at("closest_final").is_string()) {
      out << ": the closest is " << entry.at("closest_final").get<std::string>()
          << " (|rho| = " << Fixed(std::fabs(number("rho_to_closest_final")));
      if (json.contains("lineage_min_rho"))
        out << " < lineage_min_rho " << FormatNumber(json.at("lineage_min_rho").get<double>());
      out << ")";
    }
    out << ".\n";
  } else {
    const std::string rule =
        entry.contains("representative_rule") && entry.at("representative_rule").is_string()
            ? entry.at("representative_rule").get<std::string>()
            : "";
    out << "Now represented by: " << entry.at("represented_by").get<std::string>()
        << DirectText(entry)
        << (rule == "removal_link" ? ", the column it was removed in favour of"
            : rule == "similarity_chain"
                ? ", through its removal chain (each step a similarity within its threshold)"
            : rule == "closest_final" ? ", the final descriptor closest to it"
                                      : "")
        << ".\n";
  }
  if (!std::isnan(number("r2_on_final"))) {
    out << "The final descriptors together explain R^2 = " << Fixed(number("r2_on_final"))
        << " of its ranks.\n";
  }
  return out.str();
}

}  // namespace
}  // namespace descpipe
