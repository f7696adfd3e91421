// Pass results saved and loaded for resume (see checkpoint.hpp).
#include "pipeline/checkpoint.hpp"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "descpipe/error.hpp"
#include "io/atomic_file.hpp"
#include "io/npy.hpp"

namespace descpipe {
namespace {

using Json = nlohmann::ordered_json;
constexpr const char* kDir = ".checkpoint";

Json Num(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return value;
}

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

std::string Path(const std::string& out_dir, const std::string& name) { return out_dir + "/" + kDir + "/" + name; }

void WriteJson(const std::string& out_dir, const std::string& name, const Json& json) {
  std::filesystem::create_directories(out_dir + "/" + kDir);
  io::WriteFileAtomic(Path(out_dir, name), json.dump() + "\n");
}

Json ReadJson(const std::string& out_dir, const std::string& name) {
  std::ifstream in(Path(out_dir, name));
  DESCPIPE_EXPECTS(in.good(), "cannot read the checkpoint '{}'", Path(out_dir, name));
  try {
    return Json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(fmt::format("checkpoint '{}' is not valid JSON: {}", Path(out_dir, name), e.what()));
  }
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
    stats.push_back({s.n_total, s.n_null, s.n_nan, s.n_inf, s.n_valid, Num(s.missing_ratio), Num(s.mean),
                     Num(s.variance), Num(s.std), Num(s.min), Num(s.max), Num(s.q_low), Num(s.q_high), Num(s.q25),
                     Num(s.q75), s.quantiles_exact, s.n_distinct, s.distinct_exact, Num(s.mode_value),
                     Num(s.mode_fraction), s.mode_exact});
  }
  json["stats"] = stats;
  Json decisions = Json::array();
  for (const FilterDecision& d : result.decisions) {
    decisions.push_back({static_cast<int>(d.reason), Num(d.range), Num(d.normalized_variance)});
  }
  json["decisions"] = decisions;
  Json pinned = Json::array();
  for (const auto& [column, reason] : result.pinned_overrides) pinned.push_back({column, static_cast<int>(reason)});
  json["pinned_overrides"] = pinned;
  json["seconds"] = result.seconds;
  WriteJson(out_dir, "pass1.json", json);
  return {std::string(kDir) + "/pass1.json"};
}

Pass1Result LoadPass1(const std::string& out_dir) {
  const Json json = ReadJson(out_dir, "pass1.json");
  Pass1Result result;
  result.columns = json.at("columns").get<std::vector<std::string>>();
  result.kept = json.at("kept").get<std::vector<std::string>>();
  for (const auto& row : json.at("stats")) {
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
    result.stats.push_back(s);
  }
  for (const auto& row : json.at("decisions")) {
    FilterDecision d;
    d.reason = static_cast<RemovalReason>(row.at(0).get<int>());
    d.range = Real(row.at(1));
    d.normalized_variance = Real(row.at(2));
    result.decisions.push_back(d);
  }
  for (const auto& entry : json.at("pinned_overrides")) {
    result.pinned_overrides.emplace_back(entry.at(0).get<std::string>(),
                                         static_cast<RemovalReason>(entry.at(1).get<int>()));
  }
  result.seconds = json.at("seconds").get<double>();
  DESCPIPE_EXPECTS(result.stats.size() == result.columns.size() && result.decisions.size() == result.columns.size(),
                   "checkpoint '{}' is inconsistent", Path(out_dir, "pass1.json"));
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
    io::WriteNpyAtomic(Path(out_dir, "pass2_nonlinear_rows.npy"), result.nonlinear_sample.values.data(),
                       result.nonlinear_sample.n_cols, result.nonlinear_sample.n_rows);
    files.push_back(std::string(kDir) + "/pass2_nonlinear_rows.npy");
  }
  WriteJson(out_dir, "pass2.json", json);
  return files;
}

Pass2Result LoadPass2(const std::string& out_dir, const Pass1Result& pass1) {
  const Json json = ReadJson(out_dir, "pass2.json");
  Pass2Result result;
  result.columns = pass1.kept;
  const std::size_t p = result.columns.size();
  std::size_t rows = 0, cols = 0;
  result.rho = io::ReadNpy(out_dir + "/pass2_spearman_matrix.npy", &rows, &cols);
  DESCPIPE_EXPECTS(rows == p && cols == p, "'{}/pass2_spearman_matrix.npy' is {} x {}, expected {} x {}", out_dir,
                   rows, cols, p, p);
  result.kept = io::ReadLines(out_dir + "/pass2_columns.txt");
  result.clusters = ClustersOf(json.at("clusters"));
  result.target_rho = RealsOf(json.at("target_rho"));
  result.rows_total = json.at("rows_total").get<std::uint64_t>();
  result.rows_used = json.at("rows_used").get<std::uint64_t>();
  result.row_sample_reason = json.at("row_sample_reason").get<std::string>();
  result.seconds = json.at("seconds").get<double>();
  if (json.at("pearson").get<bool>()) {
    result.pearson = io::ReadNpy(Path(out_dir, "pass2_pearson.npy"), &rows, &cols);
    DESCPIPE_EXPECTS(rows == p && cols == p, "checkpoint pass2_pearson.npy has the wrong shape");
  }
  const auto n_rows = json.at("nonlinear_rows").get<std::size_t>();
  const auto n_cols = json.at("nonlinear_cols").get<std::size_t>();
  if (n_cols > 0) {
    result.nonlinear_sample.values = io::ReadNpy(Path(out_dir, "pass2_nonlinear_rows.npy"), &rows, &cols);
    DESCPIPE_EXPECTS(rows == n_cols && cols == n_rows, "checkpoint pass2_nonlinear_rows.npy has the wrong shape");
    result.nonlinear_sample.n_rows = n_rows;
    result.nonlinear_sample.n_cols = n_cols;
  }
  return result;
}

std::vector<std::string> SavePass3(const Pass3Result& result, const std::string& out_dir) {
  Json json;
  Json removed = Json::array();
  for (const VifRemoval& r : result.vif.removed) {
    removed.push_back({r.column, Num(r.vif), r.singular,
                       r.absorbed_by == static_cast<std::size_t>(-1) ? Json(nullptr) : Json(r.absorbed_by),
                       Num(r.partial_correlation)});
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
  const Json json = ReadJson(out_dir, "pass3.json");
  Pass3Result result;
  result.columns = pass2.kept;
  for (const auto& row : json.at("removed")) {
    VifRemoval r;
    r.column = row.at(0).get<std::size_t>();
    r.vif = Real(row.at(1));
    r.singular = row.at(2).get<bool>();
    if (!row.at(3).is_null()) r.absorbed_by = row.at(3).get<std::size_t>();
    r.partial_correlation = Real(row.at(4));
    result.vif.removed.push_back(r);
  }
  result.vif.survivors = json.at("survivors").get<std::vector<std::size_t>>();
  result.vif.final_vif = RealsOf(json.at("final_vif"));
  result.vif.refreshes = json.at("refreshes").get<std::size_t>();
  result.seconds = json.at("seconds").get<double>();
  for (std::size_t index : result.vif.survivors) {
    DESCPIPE_EXPECTS(index < result.columns.size(), "checkpoint '{}' is inconsistent", Path(out_dir, "pass3.json"));
    result.kept.push_back(result.columns[index]);
  }
  return result;
}

}  // namespace descpipe
