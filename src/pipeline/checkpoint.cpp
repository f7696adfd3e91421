// Pass results saved and loaded for resume (see checkpoint.hpp).
#include "pipeline/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "descpipe/error.hpp"
#include "io/atomic_file.hpp"
#include "io/npy.hpp"
#include "io/outdir.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kDir = ".checkpoint";

Json Num(double value) { return JsonNumber(value, NonFinite::kText); }

double Real(const Json& json) {
  if (json.is_string()) {
    const std::string text = json.get<std::string>();
    if (text == "nan") return std::nan("");
    if (text == "inf") return HUGE_VAL;
    if (text == "-inf") return -HUGE_VAL;
    throw InvalidInput(fmt::format("checkpoint holds '{}' where a number belongs", text));
  }
  return json.get<double>();
}

Json Reals(const std::vector<double>& values) {
  Json list = Json::array();
  for (double value : values) list.push_back(Num(value));
  return list;
}

std::vector<double> RealsOf(const Json& list) {
  std::vector<double> values;
  values.reserve(list.size());
  for (const auto& value : list) values.push_back(Real(value));
  return values;
}

std::string Path(const std::string& out_dir, const std::string& name) {
  return out_dir + "/" + kDir + "/" + name;
}

void WriteJson(const std::string& out_dir, const std::string& name, const Json& json) {
  io::EnsureCheckpointDirectory(out_dir);
  io::WriteFileAtomic(Path(out_dir, name), json.dump() + "\n");
}

Json ReadJson(const std::string& out_dir, const std::string& name) {
  try {
    return Json::parse(io::ReadRegularFile(Path(out_dir, name)));
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(
        fmt::format("checkpoint '{}' is not valid JSON: {}", Path(out_dir, name), e.what()));
  }
}

/// Runs `load`, turning a missing key or a value of the wrong type (nlohmann's exceptions) into
/// InvalidInput naming the checkpoint: nothing read back from OUTDIR is trusted.
template <typename Load>
auto Checked(const std::string& what, Load load) {
  try {
    return load();
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(fmt::format("{} is damaged: {}", what, e.what()));
  }
}

/// Throws InvalidInput naming `what` unless `condition`.
void Require(bool condition, const std::string& what, const char* problem) {
  if (!condition) throw InvalidInput(fmt::format("{} is damaged: {}", what, problem));
}

/// True when `indices` are distinct and each below `bound`.
bool DistinctBelow(const std::vector<std::size_t>& indices, std::size_t bound) {
  std::vector<bool> seen(bound, false);
  for (std::size_t index : indices) {
    if (index >= bound || seen[index]) return false;
    seen[index] = true;
  }
  return true;
}

/// Clusters over `p` columns: every column in exactly one cluster, members ascending, the
/// representative and also_kept among the members; returns the survivors (representatives and
/// also_kept), ascending.
std::vector<std::size_t> CheckClusters(const std::vector<Cluster>& clusters, std::size_t p,
                                       const std::string& what) {
  std::vector<std::size_t> all;
  std::vector<std::size_t> survivors;
  for (const Cluster& cluster : clusters) {
    Require(
        !cluster.members.empty() && std::is_sorted(cluster.members.begin(), cluster.members.end()),
        what, "a cluster's members are not listed in order");
    auto member = [&](std::size_t index) {
      return std::binary_search(cluster.members.begin(), cluster.members.end(), index);
    };
    Require(member(cluster.representative), what,
            "a representative is not a member of its cluster");
    for (std::size_t kept : cluster.also_kept) {
      Require(member(kept) && kept != cluster.representative, what,
              "a kept column is not a member of its cluster");
    }
    all.insert(all.end(), cluster.members.begin(), cluster.members.end());
    survivors.push_back(cluster.representative);
    survivors.insert(survivors.end(), cluster.also_kept.begin(), cluster.also_kept.end());
  }
  Require(all.size() == p && DistinctBelow(all, p), what,
          "its clusters do not cover every column exactly once");
  std::sort(survivors.begin(), survivors.end());
  Require(DistinctBelow(survivors, p), what, "a column is kept twice");
  return survivors;
}

/// `names[index]` for every index in `indices`.
std::vector<std::string> NamesOf(const std::vector<std::size_t>& indices,
                                 const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (std::size_t index : indices) out.push_back(names.at(index));
  return out;
}

Json ClustersJson(const std::vector<Cluster>& clusters) {
  Json list = Json::array();
  for (const Cluster& cluster : clusters) {
    list.push_back({{"representative", cluster.representative},
                    {"members", cluster.members},
                    {"also_kept", cluster.also_kept},
                    {"decided_by", cluster.decided_by}});
  }
  return list;
}

std::vector<Cluster> ClustersOf(const Json& list) {
  std::vector<Cluster> clusters;
  for (const auto& entry : list) {
    Cluster cluster;
    cluster.representative = entry.at("representative").get<std::size_t>();
    cluster.members = entry.at("members").get<std::vector<std::size_t>>();
    cluster.also_kept = entry.at("also_kept").get<std::vector<std::size_t>>();
    cluster.decided_by = entry.at("decided_by").get<std::string>();
    clusters.push_back(std::move(cluster));
  }
  return clusters;
}

}  // namespace

std::vector<std::string> SavePass1(const Pass1Result& result, const std::string& out_dir) {
  Json json;
  json["columns"] = result.columns;
  json["kept"] = result.kept;
  Json stats = Json::array();
  for (const ColumnStats& s : result.stats) {
    stats.push_back({s.n_total,         s.n_null,
                     s.n_nan,           s.n_inf,
                     s.n_valid,         Num(s.missing_ratio),
                     Num(s.mean),       Num(s.variance),
                     Num(s.std),        Num(s.min),
                     Num(s.max),        Num(s.q_low),
                     Num(s.q_high),     Num(s.q25),
                     Num(s.q75),        s.quantiles_exact,
                     s.n_distinct,      s.distinct_exact,
                     Num(s.mode_value), Num(s.mode_fraction),
                     s.mode_exact});
  }
  json["stats"] = stats;
  Json decisions = Json::array();
  for (const FilterDecision& d : result.decisions) {
    decisions.push_back({static_cast<int>(d.reason), Num(d.range), Num(d.normalized_variance)});
  }
  json["decisions"] = decisions;
  Json pinned = Json::array();
  for (const auto& [column, reason] : result.pinned_overrides)
    pinned.push_back({column, static_cast<int>(reason)});
  json["pinned_overrides"] = pinned;
  json["seconds"] = result.seconds;
  WriteJson(out_dir, "pass1.json", json);
  return {std::string(kDir) + "/pass1.json"};
}

Pass1Result LoadPass1(const std::string& out_dir, const std::vector<std::string>& descriptors) {
  const std::string what = fmt::format("checkpoint '{}'", Path(out_dir, "pass1.json"));
  const Json json = ReadJson(out_dir, "pass1.json");
  Pass1Result result = Checked(what, [&] {
    Pass1Result loaded;
    loaded.columns = json.at("columns").get<std::vector<std::string>>();
    loaded.kept = json.at("kept").get<std::vector<std::string>>();
    for (const auto& row : json.at("stats")) {
      Require(row.is_array() && row.size() == 21, what, "a statistics row does not have 21 values");
      ColumnStats s;
      s.n_total = row.at(0).get<std::int64_t>();
      s.n_null = row.at(1).get<std::int64_t>();
      s.n_nan = row.at(2).get<std::int64_t>();
      s.n_inf = row.at(3).get<std::int64_t>();
      s.n_valid = row.at(4).get<std::int64_t>();
      s.missing_ratio = Real(row.at(5));
      s.mean = Real(row.at(6));
      s.variance = Real(row.at(7));
      s.std = Real(row.at(8));
      s.min = Real(row.at(9));
      s.max = Real(row.at(10));
      s.q_low = Real(row.at(11));
      s.q_high = Real(row.at(12));
      s.q25 = Real(row.at(13));
      s.q75 = Real(row.at(14));
      s.quantiles_exact = row.at(15).get<bool>();
      s.n_distinct = row.at(16).get<std::int64_t>();
      s.distinct_exact = row.at(17).get<bool>();
      s.mode_value = Real(row.at(18));
      s.mode_fraction = Real(row.at(19));
      s.mode_exact = row.at(20).get<bool>();
      Require(s.n_total >= 0 && s.n_null >= 0 && s.n_nan >= 0 && s.n_inf >= 0 && s.n_valid >= 0 &&
                  s.n_null + s.n_nan + s.n_inf + s.n_valid == s.n_total,
              what, "a column's counts do not add up");
      loaded.stats.push_back(s);
    }
    for (const auto& row : json.at("decisions")) {
      FilterDecision d;
      const int reason = row.at(0).get<int>();
      Require(reason >= static_cast<int>(RemovalReason::kKept) &&
                  reason <= static_cast<int>(RemovalReason::kBinary),
              what, "a removal reason is out of range");
      d.reason = static_cast<RemovalReason>(reason);
      d.range = Real(row.at(1));
      d.normalized_variance = Real(row.at(2));
      loaded.decisions.push_back(d);
    }
    for (const auto& entry : json.at("pinned_overrides")) {
      const int reason = entry.at(1).get<int>();
      Require(reason > static_cast<int>(RemovalReason::kKept) &&
                  reason <= static_cast<int>(RemovalReason::kBinary),
              what, "a removal reason is out of range");
      loaded.pinned_overrides.emplace_back(entry.at(0).get<std::string>(),
                                           static_cast<RemovalReason>(reason));
    }
    loaded.seconds = json.at("seconds").get<double>();
    return loaded;
  });
  Require(result.columns == descriptors, what, "its columns are not the descriptors of the input");
  Require(result.stats.size() == result.columns.size() &&
              result.decisions.size() == result.columns.size(),
          what, "it does not hold one statistics row and one decision per column");
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < result.columns.size(); ++i) {
    if (result.decisions[i].kept()) kept.push_back(result.columns[i]);
    Require(result.stats[i].n_total == result.stats.front().n_total, what,
            "its columns have different row counts");
  }
  Require(result.kept == kept && !kept.empty(), what,
          "its kept columns are not those its decisions keep");
  for (const auto& [column, reason] : result.pinned_overrides) {
    Require(std::find(kept.begin(), kept.end(), column) != kept.end(), what,
            "a pinned column is not kept");
  }
  return result;
}

std::vector<std::string> SavePass2(const Pass2Result& result, const std::string& out_dir) {
  std::vector<std::string> files = {std::string(kDir) + "/pass2.json"};
  Json json;
  json["clusters"] = ClustersJson(result.clusters);
  json["target_rho"] = Reals(result.target_rho);
  json["rows_total"] = result.rows_total;
  json["rows_used"] = result.rows_used;
  json["row_sample_reason"] = result.row_sample_reason;
  json["seconds"] = result.seconds;
  json["pearson"] = !result.pearson.empty();
  json["nonlinear_rows"] = result.nonlinear_sample.n_rows;
  json["nonlinear_cols"] = result.nonlinear_sample.n_cols;
  std::filesystem::create_directories(out_dir + "/" + kDir);
  if (!result.pearson.empty()) {
    const std::size_t p = result.columns.size();
    io::WriteNpyAtomic(Path(out_dir, "pass2_pearson.npy"), result.pearson.data(), p, p);
    files.push_back(std::string(kDir) + "/pass2_pearson.npy");
  }
  if (result.nonlinear_sample.n_cols > 0) {
    // Stored as the column-major buffer it is: "rows" of the .npy are the columns.
    io::WriteNpyAtomic(Path(out_dir, "pass2_nonlinear_rows.npy"),
                       result.nonlinear_sample.values.data(), result.nonlinear_sample.n_cols,
                       result.nonlinear_sample.n_rows);
    files.push_back(std::string(kDir) + "/pass2_nonlinear_rows.npy");
  }
  WriteJson(out_dir, "pass2.json", json);
  return files;
}

Pass2Result LoadPass2(const std::string& out_dir, const Pass1Result& pass1) {
  const std::string what = fmt::format("the Pass 2 result in '{}'", out_dir);
  const Json json = ReadJson(out_dir, "pass2.json");
  Pass2Result result;
  result.columns = pass1.kept;
  const std::size_t p = result.columns.size();
  std::size_t rows = 0, cols = 0;
  result.rho = io::ReadNpy(out_dir + "/pass2_spearman_matrix.npy", &rows, &cols);
  DESCPIPE_EXPECTS(rows == p && cols == p,
                   "'{}/pass2_spearman_matrix.npy' is {} x {}, expected {} x {}", out_dir, rows,
                   cols, p, p);
  for (double rho : result.rho)
    Require(std::isnan(rho) || std::fabs(rho) <= 1.0 + 1e-9, what, "|rho| > 1");
  result.kept = io::ReadLines(out_dir + "/pass2_columns.txt");
  std::size_t n_rows = 0, n_cols = 0;
  bool pearson = false;
  Checked(what, [&] {
    result.clusters = ClustersOf(json.at("clusters"));
    result.target_rho = RealsOf(json.at("target_rho"));
    result.rows_total = json.at("rows_total").get<std::uint64_t>();
    result.rows_used = json.at("rows_used").get<std::uint64_t>();
    result.row_sample_reason = json.at("row_sample_reason").get<std::string>();
    result.seconds = json.at("seconds").get<double>();
    pearson = json.at("pearson").get<bool>();
    n_rows = json.at("nonlinear_rows").get<std::size_t>();
    n_cols = json.at("nonlinear_cols").get<std::size_t>();
    return 0;
  });
  const std::vector<std::size_t> survivors = CheckClusters(result.clusters, p, what);
  Require(result.kept == NamesOf(survivors, result.columns), what,
          "pass2_columns.txt does not list its clusters' representatives");
  Require(result.target_rho.empty() || result.target_rho.size() == p, what,
          "target correlations of the wrong size");
  Require(result.rows_used <= result.rows_total, what, "it used more rows than the table has");
  if (pearson) {
    result.pearson = io::ReadNpy(Path(out_dir, "pass2_pearson.npy"), &rows, &cols);
    Require(rows == p && cols == p, what, "pass2_pearson.npy has the wrong shape");
  }
  if (n_cols > 0) {
    Require(n_cols == result.kept.size() && n_rows <= result.rows_used, what,
            "the Pass 4 row sample has the wrong shape");
    result.nonlinear_sample.values =
        io::ReadNpy(Path(out_dir, "pass2_nonlinear_rows.npy"), &rows, &cols);
    Require(rows == n_cols && cols == n_rows, what, "pass2_nonlinear_rows.npy has the wrong shape");
    result.nonlinear_sample.n_rows = n_rows;
    result.nonlinear_sample.n_cols = n_cols;
  }
  return result;
}

std::vector<std::string> SavePass3(const Pass3Result& result, const std::string& out_dir) {
  Json json;
  Json removed = Json::array();
  for (const VifRemoval& r : result.vif.removed) {
    removed.push_back(
        {r.column, Num(r.vif), r.singular,
         r.absorbed_by == static_cast<std::size_t>(-1) ? Json(nullptr) : Json(r.absorbed_by),
         Num(r.partial_correlation), Num(r.residual_variance)});
  }
  json["removed"] = removed;
  json["survivors"] = result.vif.survivors;
  json["final_vif"] = Reals(result.vif.final_vif);
  json["refreshes"] = result.vif.refreshes;
  json["seconds"] = result.seconds;
  WriteJson(out_dir, "pass3.json", json);
  return {std::string(kDir) + "/pass3.json"};
}

Pass3Result LoadPass3(const std::string& out_dir, const Pass2Result& pass2) {
  const std::string what = fmt::format("checkpoint '{}'", Path(out_dir, "pass3.json"));
  const Json json = ReadJson(out_dir, "pass3.json");
  Pass3Result result;
  result.columns = pass2.kept;
  const std::size_t p = result.columns.size();
  Checked(what, [&] {
    for (const auto& row : json.at("removed")) {
      VifRemoval r;
      r.column = row.at(0).get<std::size_t>();
      r.vif = Real(row.at(1));
      r.singular = row.at(2).get<bool>();
      if (!row.at(3).is_null()) {
        r.absorbed_by = row.at(3).get<std::size_t>();
        Require(r.absorbed_by < p, what, "a removed column is absorbed by a column out of range");
      }
      r.partial_correlation = Real(row.at(4));
      // Absent in checkpoints of earlier versions: the residual is then unknown (NaN).
      if (row.size() > 5) r.residual_variance = Real(row.at(5));
      result.vif.removed.push_back(r);
    }
    result.vif.survivors = json.at("survivors").get<std::vector<std::size_t>>();
    result.vif.final_vif = RealsOf(json.at("final_vif"));
    result.vif.refreshes = json.at("refreshes").get<std::size_t>();
    result.seconds = json.at("seconds").get<double>();
    return 0;
  });
  std::vector<std::size_t> all = result.vif.survivors;
  for (const VifRemoval& removal : result.vif.removed) all.push_back(removal.column);
  Require(all.size() == p && DistinctBelow(all, p), what,
          "its removed and surviving columns are not every column once");
  Require(std::is_sorted(result.vif.survivors.begin(), result.vif.survivors.end()) &&
              result.vif.final_vif.size() == result.vif.survivors.size(),
          what, "its survivors are not in order or lack their VIF");
  result.kept = NamesOf(result.vif.survivors, result.columns);
  Require(io::ReadLines(out_dir + "/pass3_columns.txt") == result.kept, what,
          "pass3_columns.txt does not list its survivors");
  return result;
}

std::vector<std::string> LoadFinalDescriptors(const std::string& out_dir,
                                              const Pass3Result& pass3) {
  const std::vector<std::string> final_columns = io::ReadLines(out_dir + "/final_descriptors.txt");
  // A subsequence of Pass 3's survivors (input order, each once), empty only when they are.
  std::size_t next = 0;
  for (const std::string& name : final_columns) {
    while (next < pass3.kept.size() && pass3.kept[next] != name) ++next;
    Require(next < pass3.kept.size(), fmt::format("'{}/final_descriptors.txt'", out_dir),
            "it lists a column that did not survive Pass 3, or lists columns out of order");
    ++next;
  }
  Require(!final_columns.empty() || pass3.kept.empty(),
          fmt::format("'{}/final_descriptors.txt'", out_dir), "it lists no descriptor");
  return final_columns;
}

}  // namespace descpipe
