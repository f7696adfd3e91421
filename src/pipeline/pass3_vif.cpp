// Pass 3: iterative VIF elimination on the Pass 2 survivors.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/memory_budget.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "io/atomic_file.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {

Pass3Result RunPass3(const Pass1Result& pass1, const Pass2Result& pass2, const Config& config,
                     const Context& ctx) {
  const auto start = std::chrono::steady_clock::now();
  Pass3Result result;
  result.columns = pass2.kept;
  const std::size_t p = result.columns.size();
  // The Pass 2 matrix (over pass2.columns) restricted to its survivors.
  const std::vector<double>& source = config.vif_pearson ? pass2.pearson : pass2.rho;
  DESCPIPE_ASSERT(source.size() == pass2.columns.size() * pass2.columns.size());
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < pass2.columns.size(); ++i) index[pass2.columns[i]] = i;
  std::vector<std::size_t> rows(p);
  for (std::size_t i = 0; i < p; ++i) rows[i] = index.at(result.columns[i]);
  // Memory: what Pass 2 still holds, the restricted matrix (none when Pass 2 kept every column),
  // the factor and the inverse, checked before they are allocated.
  ReleaseFreedMemory();
  const bool subset = p != pass2.columns.size();
  const double held =
      ProcessBaseBytes(ctx.threads()) +
      kBookkeepingBytesPerColumn * static_cast<double>(pass1.columns.size()) +
      8.0 * static_cast<double>(pass2.rho.size() + pass2.pearson.size() + pass2.target_rho.size() +
                                pass2.nonlinear_sample.values.size());
  const double needed = held +
                        (subset ? 8.0 * static_cast<double>(p) * static_cast<double>(p) : 0.0) +
                        VifPeakBytes(p);
  RequireMemory(
      needed, ctx.memory_limit_bytes(),
      fmt::format(
          "pass 3 needs {} for the VIF of {} columns ({} x {} correlation matrix, its Cholesky "
          "factor and inverse)",
          FormatBytes(needed), p, p, p),
      "");
  std::vector<double> restricted;
  if (subset) {
    restricted.resize(p * p);
    for (std::size_t i = 0; i < p; ++i) {
      for (std::size_t j = 0; j < p; ++j)
        restricted[i * p + j] = source[rows[i] * pass2.columns.size() + rows[j]];
    }
  }
  const double* correlation = subset ? restricted.data() : source.data();
  if (p <= 1) {
    spdlog::info("pass3: {} left by pass 2: no VIF to compute; kept",
                 p == 0 ? std::string("no descriptor")
                        : fmt::format("1 descriptor ({})", result.columns[0]));
  }

  // Representative-quality order of Pass 2 (mean similarity is cluster-specific: left out here).
  std::vector<double> target_rho;
  for (std::size_t i = 0; i < p && !pass2.target_rho.empty(); ++i)
    target_rho.push_back(pass2.target_rho[rows[i]]);
  const std::vector<CandidateInfo> candidates =
      BuildCandidates(pass1, result.columns, config, target_rho);
  const std::vector<std::size_t> order = QualityOrder(candidates, config.representative_criteria);
  std::vector<std::size_t> quality_rank(p);
  for (std::size_t k = 0; k < p; ++k) quality_rank[order[k]] = k;
  std::vector<bool> pinned(p);
  for (std::size_t i = 0; i < p; ++i) pinned[i] = candidates[i].pinned;

  VifOptions options;
  options.threshold = config.vif_threshold;
  try {
    result.vif = IterativeVif(correlation, p, quality_rank, pinned, options, ctx);
  } catch (const NumericalError& e) {
    throw NumericalError(
        fmt::format("{} (are some keep_columns linear combinations of each other?)", e.what()));
  }
  for (std::size_t index_kept : result.vif.survivors)
    result.kept.push_back(result.columns[index_kept]);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void WritePass3Outputs(const Pass3Result& result, const Config& config,
                       const std::string& out_dir) {
  std::string columns;
  for (const auto& name : result.kept) columns += name + "\n";
  io::WriteFileAtomic(out_dir + "/pass3_columns.txt", columns);
  auto number = [](double value) { return JsonNumber(value, NonFinite::kNanNullInfText); };
  nlohmann::ordered_json json;
  json["pass"] = 3;
  json["threshold"] = config.vif_threshold;
  json["correlation"] = config.vif_pearson ? "pearson" : "spearman";
  json["input_columns"] = result.columns.size();
  json["output_columns"] = result.kept.size();
  json["removed_columns"] = result.vif.removed.size();
  json["refreshes"] = result.vif.refreshes;
  nlohmann::ordered_json removed = nlohmann::ordered_json::array();
  for (const VifRemoval& removal : result.vif.removed) {
    nlohmann::ordered_json entry;
    entry["column"] = result.columns[removal.column];
    entry["vif"] = number(removal.vif);
    entry["singular"] = removal.singular;
    if (removal.singular) {
      entry["singular_kind"] =
          NotPositiveDefinite(removal) ? "not_positive_definite" : "linear_combination";
      entry["residual_variance"] = number(removal.residual_variance);
    }
    entry["absorbed_by"] = removal.absorbed_by < result.columns.size()
                               ? nlohmann::ordered_json(result.columns[removal.absorbed_by])
                               : nlohmann::ordered_json(nullptr);
    if (!removal.singular) entry["partial_correlation"] = number(removal.partial_correlation);
    removed.push_back(entry);
  }
  json["removal_order"] = removed;
  nlohmann::ordered_json final_vif = nlohmann::ordered_json::object();
  for (std::size_t k = 0; k < result.vif.survivors.size(); ++k) {
    final_vif[result.columns[result.vif.survivors[k]]] = number(result.vif.final_vif[k]);
  }
  json["final_vif"] = final_vif;
  io::WriteFileAtomic(out_dir + "/pass3_vif.json", json.dump(2) + "\n");
}

}  // namespace descpipe
