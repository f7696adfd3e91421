// Pass 4: nonlinear dependence (nHSIC, RDC) of the Pass 3 survivors, Leiden clusters, final set.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <tuple>

#include "common/memory.hpp"
#include "common/memory_budget.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "device/dispatch.hpp"
#include "io/atomic_file.hpp"
#include "io/npy.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {
namespace {

constexpr std::size_t kMinimumRows = 20;

/// Edge weights: S where S >= threshold (and, with topk > 0, the edge is among the topk
/// strongest of either end; ties by position), else 0. The diagonal is 0.
std::vector<double> GraphWeights(const std::vector<double>& s, std::size_t p, double threshold,
                                 int topk, std::size_t* edges) {
  std::vector<double> graph(p * p, 0.0);
  std::vector<bool> keep(p * p, false);
  std::vector<std::size_t> neighbours;
  for (std::size_t i = 0; i < p; ++i) {
    neighbours.clear();
    for (std::size_t j = 0; j < p; ++j) {
      if (j != i && s[i * p + j] >= threshold) neighbours.push_back(j);
    }
    if (topk > 0 && neighbours.size() > static_cast<std::size_t>(topk)) {
      std::stable_sort(neighbours.begin(), neighbours.end(),
                       [&](std::size_t a, std::size_t b) { return s[i * p + a] > s[i * p + b]; });
      neighbours.resize(static_cast<std::size_t>(topk));
    }
    for (std::size_t j : neighbours) keep[i * p + j] = keep[j * p + i] = true;
  }
  *edges = 0;
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = 0; j < p; ++j) {
      if (!keep[i * p + j]) continue;
      graph[i * p + j] = s[i * p + j];
      if (i < j) ++*edges;
    }
  }
  return graph;
}

}  // namespace

Pass4Result RunPass4(const Pass1Result& pass1, const Pass2Result& pass2, ColumnMatrix sample,
                     const Pass3Result& pass3, const Config& config, const Context& ctx,
                     const ProgressFn& progress) {
  const auto start = std::chrono::steady_clock::now();
  Pass4Result result;
  result.columns = pass3.kept;
  const std::size_t p = result.columns.size();

  // The sample's columns are Pass 2's survivors; take the Pass 3 survivors among them.
  DESCPIPE_ASSERT(sample.n_cols == pass2.kept.size());
  std::map<std::string, std::size_t> sample_column;
  for (std::size_t k = 0; k < pass2.kept.size(); ++k) sample_column[pass2.kept[k]] = k;
  std::map<std::string, std::size_t> pass2_index;
  for (std::size_t k = 0; k < pass2.columns.size(); ++k) pass2_index[pass2.columns[k]] = k;
  result.rows_available = pass2.rows_used;
  ReleaseFreedMemory();

  // Memory (docs/NONLINEAR.md, "All pairs at once"): what earlier passes still hold, the copula
  // (rows x p) and NonlinearDependence's features and matrices, planned with kPlannedDirections
  // basis directions (checked again with the real count). When the sample's rows do not fit
  // memory_limit, fewer rows (a keyed-hash subsample of the sample) are used.
  NonlinearOptions options = config.ToNonlinearOptions();
  const double held_by_passes =
      kBookkeepingBytesPerColumn * static_cast<double>(pass1.columns.size()) +
      8.0 * static_cast<double>(pass2.rho.size() + pass2.target_rho.size());
  const double limit = static_cast<double>(ctx.memory_limit_bytes());
  const double sample_bytes = 8.0 * static_cast<double>(sample.values.size());
  auto peak = [&](double rows, int threads) {
    const double copula = 8.0 * rows * static_cast<double>(p);
    const auto n = static_cast<std::size_t>(rows);
    return ProcessBaseBytes(threads) + held_by_passes + copula +
           std::max({sample_bytes + 8.0 * rows, static_cast<double>(threads) * RankScratchBytes(n),
                     NonlinearPeakBytes(n, p, kPlannedDirections, options, threads)});
  };
  // The rows change the result: they are chosen on the plan of one thread, so that they never
  // depend on the thread count; then the work uses as many threads as fit.
  std::vector<std::size_t> rows(sample.n_rows);
  std::iota(rows.begin(), rows.end(), 0);
  if (p > 1 && peak(static_cast<double>(rows.size()), 1) > limit) {
    const double minimum = static_cast<double>(std::min(rows.size(), kMinimumRows));
    const double all_rows = peak(static_cast<double>(rows.size()), 1);
    if (config.exact) {
      RequireMemory(
          all_rows, ctx.memory_limit_bytes(),
          fmt::format(
              "pass 4 needs {} for nHSIC and RDC of {} rows x {} columns (features of up to {} "
              "basis directions per column and {} x {} matrices) (--exact)",
              FormatBytes(all_rows), rows.size(), p, kPlannedDirections, p, p),
          "lower nonlinear_max_rows or drop --exact");
    }
    if (peak(minimum, 1) > limit) {
      // Not even the fewest rows fit: name what drives the rest, the basis (hsic_D, rdc_k) or
      // the p x p matrices (the columns).
      const double basis = NonlinearBasisBytes(static_cast<std::size_t>(minimum), options);
      const double matrices = 32.0 * static_cast<double>(p) * static_cast<double>(p);
      const bool hsic_basis = options.w_hsic > 0.0 && basis > matrices &&
                              basis == NonlinearBasisBytes(static_cast<std::size_t>(minimum), [&] {
                                NonlinearOptions hsic_only = options;
                                hsic_only.w_rdc = 0.0;
                                return hsic_only;
                              }());
      RequireMemory(
          peak(minimum, 1), ctx.memory_limit_bytes(),
          basis > matrices
              ? fmt::format(
                    "pass 4 needs {} for the {} basis of {} = {} features ({} x {} Gram matrix and "
                    "eigenvectors: {})",
                    FormatBytes(peak(minimum, 1)), hsic_basis ? "nHSIC" : "RDC",
                    hsic_basis ? "hsic_D" : "rdc_k", hsic_basis ? options.hsic_D : options.rdc_k,
                    hsic_basis ? options.hsic_D : options.rdc_k,
                    hsic_basis ? options.hsic_D : options.rdc_k, FormatBytes(basis))
              : fmt::format(
                    "pass 4 needs {} for nHSIC and RDC of {} columns on even {} rows ({} x {} "
                    "matrices)",
                    FormatBytes(peak(minimum, 1)), p, static_cast<std::size_t>(minimum), p, p),
          basis > matrices ? (hsic_basis ? "lower hsic_D" : "lower rdc_k") : "remove columns");
    }
    double low = minimum,
           high = static_cast<double>(rows.size());  // peak(low) fits, peak(high) does not
    while (high - low > 1) {
      const double mid = std::floor((low + high) / 2);
      (peak(mid, 1) <= limit ? low : high) = mid;
    }
    const auto keep = static_cast<std::size_t>(low);
    rows =
        RowsWithSmallestKeys(rows.size(), keep, ctx.seed() ^ 0x4d454d4f5259ULL);  // "MEMORY" salt
    result.row_sample_reason =
        fmt::format("{} rows x {} columns need {} but memory_limit is {}: {} rows used",
                    sample.n_rows, p, FormatBytes(all_rows), FormatBytes(limit), rows.size());
    spdlog::warn("pass4: {}", result.row_sample_reason);
  }
  int threads = std::max(1, ctx.threads());
  while (threads > 1 && peak(static_cast<double>(rows.size()), threads) > limit) --threads;
  if (p > 1) {
    RequireMemory(
        peak(static_cast<double>(rows.size()), threads), ctx.memory_limit_bytes(),
        fmt::format("pass 4 with {} threads needs {} for {} rows x {} columns", ctx.threads(),
                    FormatBytes(peak(static_cast<double>(rows.size()), threads)), rows.size(), p),
        "use fewer threads");
  }
  if (threads < ctx.threads()) {
    spdlog::info("pass4: {} of the {} threads to fit memory_limit ({})", threads, ctx.threads(),
                 FormatBytes(limit));
  }
  const Context work_ctx = ctx.WithThreads(threads);
  options.held_bytes = ProcessBaseBytes(threads) + held_by_passes;
  result.rows_used = rows.size();

  ColumnMatrix copula;
  copula.n_rows = rows.size();
  copula.n_cols = p;
  ResizeLarge(copula.values, copula.n_rows * p);
  for (std::size_t k = 0; k < p; ++k) {
    const double* source = sample.column(sample_column.at(result.columns[k]));
    double* target = copula.column(k);
    for (std::size_t i = 0; i < rows.size(); ++i) target[i] = source[rows[i]];
  }
  sample = ColumnMatrix{};  // used: release it
  std::vector<std::size_t>().swap(rows);
  ReleaseFreedMemory();

  auto skip = [&](std::string reason, bool expected) {
    result.skipped_reason = std::move(reason);
    if (expected) {
      spdlog::info("pass4: {}", result.skipped_reason);
    } else {
      spdlog::warn("pass4: {}", result.skipped_reason);
    }
    result.similarity.n_cols = p;
    if (options.w_hsic > 0.0) result.similarity.hsic.assign(p * p, std::nan(""));
    if (options.w_rdc > 0.0) result.similarity.rdc.assign(p * p, std::nan(""));
    result.similarity.fused.assign(p * p, 0.0);
  };
  if (p <= 1) {
    skip(p == 0 ? "no descriptor left by pass 3: nothing to compare"
                : fmt::format("1 descriptor left by pass 3 ({}): nothing to compare; kept",
                              result.columns[0]),
         true);
  } else if (copula.n_rows < kMinimumRows) {
    skip(fmt::format("only {} rows (HSIC and RDC need at least {}): every column kept",
                     copula.n_rows, kMinimumRows),
         false);
  } else {
    CopulaTransform(copula, work_ctx);
    result.similarity = NonlinearDependence(copula, options, work_ctx, progress);
    spdlog::debug(
        "pass4: {} rows x {} columns: features {:.3f} s, products and reductions {:.3f} s ({})",
        copula.n_rows, p, result.similarity.feature_seconds, result.similarity.product_seconds,
        OnDevice(
            ctx, [] { return "GPU"; }, [] { return "CPU"; }));
  }
  copula = ColumnMatrix{};
  ReleaseFreedMemory();

  // The graph: p x p weights and marks, then Leiden over its edges; and writing the outputs (each
  // matrix through a copy).
  const double held =
      options.held_bytes +
      8.0 * static_cast<double>(result.similarity.hsic.size() + result.similarity.rdc.size() +
                                result.similarity.fused.size());
  const double square = 8.0 * static_cast<double>(p) * static_cast<double>(p);
  RequireMemory(held + 2.0 * square + square / 8.0, ctx.memory_limit_bytes(),
                fmt::format("pass 4 needs {} for the similarity graph of {} columns",
                            FormatBytes(held + 2.0 * square + square / 8.0), p),
                "remove columns");
  result.graph = GraphWeights(result.similarity.fused, p, config.nonlinear_threshold,
                              config.nonlinear_topk, &result.edges);
  std::vector<double> target_rho;
  for (std::size_t k = 0; k < p && !pass2.target_rho.empty(); ++k) {
    target_rho.push_back(pass2.target_rho[pass2_index.at(result.columns[k])]);
  }
  const std::vector<CandidateInfo> candidates =
      BuildCandidates(pass1, result.columns, config, target_rho);
  const ClusterOptions cluster_options = config.ToNonlinearClusterOptions();
  const SimilarityView graph{result.graph.data(), p};
  const double cluster_bytes =
      ClusterPeakBytes(p, CountEdges(graph, cluster_options.threshold), cluster_options.method);
  RequireMemory(
      held + square + cluster_bytes, ctx.memory_limit_bytes(),
      fmt::format(
          "pass 4 needs {} to cluster {} columns joined by {} edges at S >= nonlinear_threshold {} "
          "({} for Leiden)",
          FormatBytes(held + square + cluster_bytes), p, result.edges, cluster_options.threshold,
          FormatBytes(cluster_bytes)),
      "raise nonlinear_threshold or set nonlinear_topk");
  result.clusters = ClusterColumns(graph, candidates, cluster_options);
  std::vector<std::size_t> kept;
  for (const Cluster& cluster : result.clusters) {
    kept.push_back(cluster.representative);
    kept.insert(kept.end(), cluster.also_kept.begin(), cluster.also_kept.end());
  }
  std::sort(kept.begin(), kept.end());
  for (std::size_t index : kept) result.kept.push_back(result.columns[index]);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void WritePass4Outputs(const Pass4Result& result, const Config& config,
                       const std::string& out_dir) {
  const std::size_t p = result.columns.size();
  const NonlinearResult& similarity = result.similarity;
  // A measure with weight 0 is not computed: no matrix, and none left from an earlier run. A
  // measure with a weight gets its p x p file even for p = 0 or 1 (RunPipeline lists it).
  for (const auto& [name, matrix, weight] :
       {std::tuple{"pass4_hsic_matrix.npy", &similarity.hsic, config.w_hsic},
        std::tuple{"pass4_rdc_matrix.npy", &similarity.rdc, config.w_rdc}}) {
    const std::string path = out_dir + "/" + name;
    if (weight > 0.0) {
      DESCPIPE_ASSERT(matrix->size() == p * p);
      io::WriteNpyAtomic(path, matrix->data(), p, p);
    } else {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  }

  const NonlinearOptions options = config.ToNonlinearOptions();
  nlohmann::ordered_json json;
  json["pass"] = 4;
  nlohmann::ordered_json parameters;
  parameters["rows_used"] = result.rows_used;
  parameters["rows_available"] = result.rows_available;
  parameters["nonlinear_max_rows"] = config.nonlinear_max_rows;
  if (!result.row_sample_reason.empty()) parameters["rows_reason"] = result.row_sample_reason;
  parameters["random_seed"] = config.random_seed;
  parameters["copula"] = "average rank / valid values";
  parameters["missing"] = "features centred over valid rows; a missing row contributes zero";
  parameters["w_hsic"] = config.w_hsic;
  parameters["w_rdc"] = config.w_rdc;
  parameters["hsic_D"] = config.hsic_D;
  parameters["hsic_kernel"] = "gaussian on the copula, bandwidth = median heuristic 1 - 1/sqrt(2)";
  parameters["hsic_bandwidth"] = options.hsic_bandwidth;
  parameters["hsic_basis"] = similarity.hsic_basis;
  parameters["rdc_k"] = config.rdc_k;
  parameters["rdc_k_used"] = similarity.rdc_k_used;
  parameters["rdc_s"] = config.rdc_s;
  parameters["rdc_seeds"] = config.rdc_seeds;
  parameters["rdc_ridge"] = options.rdc_ridge;
  parameters["rdc_basis"] = similarity.rdc_basis;
  parameters["nonlinear_threshold"] = config.nonlinear_threshold;
  parameters["nonlinear_topk"] = config.nonlinear_topk;
  parameters["nonlinear_screening"] = config.nonlinear_screening;
  parameters["leiden_objective"] = EnumName(config.leiden_objective);
  parameters["nonlinear_assignment"] = EnumName(config.nonlinear_assignment);
  parameters["leiden_resolution"] = config.leiden_resolution;
  parameters["leiden_iterations"] = config.leiden_iterations;
  nlohmann::ordered_json criteria = nlohmann::ordered_json::array();
  for (Criterion criterion : config.nonlinear_representative_criteria)
    criteria.push_back(EnumName(criterion));
  parameters["nonlinear_representative_criteria"] = criteria;
  parameters["mean_similarity"] = "weighted degree inside the cluster / (members - 1)";
  json["parameters"] = parameters;
  if (!result.skipped_reason.empty()) json["skipped"] = result.skipped_reason;
  json["input_columns"] = p;
  json["output_columns"] = result.kept.size();
  json["removed_columns"] = p - result.kept.size();
  json["edges"] = result.edges;
  if (options.screen_hsic && !similarity.hsic.empty() && !similarity.rdc.empty()) {
    // The pairs whose S could not reach the threshold, whatever their nHSIC: NaN in
    // pass4_hsic_matrix.npy (docs/NONLINEAR.md, "Screening").
    nlohmann::ordered_json screening;
    screening["rdc_below"] =
        (config.nonlinear_threshold * (config.w_hsic + config.w_rdc) - config.w_hsic) /
        config.w_rdc;
    screening["pairs"] = p * (p - 1) / 2;
    screening["pairs_screened"] = similarity.screened_pairs;
    screening["hsic_tiles"] = similarity.hsic_tiles.tiles;
    screening["hsic_tiles_by_pairs"] = similarity.hsic_tiles.by_pairs;
    screening["hsic_tiles_skipped"] = similarity.hsic_tiles.skipped;
    json["hsic_screening"] = screening;
  } else if (!similarity.hsic.empty()) {
    json["hsic_screening"] = !config.nonlinear_screening ? "off (nonlinear_screening: false)"
                             : similarity.rdc.empty()
                                 ? "off: w_rdc is 0, no RDC to screen with"
                                 : "off: community assignment reports S below the threshold";
  }

  auto value = [&](const std::vector<double>& matrix, std::size_t i,
                   std::size_t j) -> nlohmann::ordered_json {
    if (matrix.empty()) return nullptr;
    return JsonNumber(matrix[i * p + j]);
  };
  nlohmann::ordered_json clusters = nlohmann::ordered_json::array();
  nlohmann::ordered_json removed = nlohmann::ordered_json::object();
  for (const Cluster& cluster : result.clusters) {
    if (cluster.members.size() == 1) continue;  // singletons: kept, nothing to explain
    const std::size_t rep = cluster.representative;
    nlohmann::ordered_json entry;
    entry["representative"] = result.columns[rep];
    entry["decided_by"] = cluster.decided_by;
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    for (std::size_t member : cluster.members) {
      const bool survives =
          member == rep || std::find(cluster.also_kept.begin(), cluster.also_kept.end(), member) !=
                               cluster.also_kept.end();
      double degree = 0.0;
      for (std::size_t other : cluster.members)
        degree += other == member ? 0.0 : result.graph[member * p + other];
      members.push_back({{"column", result.columns[member]},
                         {"s_to_representative", value(similarity.fused, member, rep)},
                         {"hsic_to_representative", value(similarity.hsic, member, rep)},
                         {"rdc_to_representative", value(similarity.rdc, member, rep)},
                         {"weighted_degree", degree},
                         {"kept", survives}});
      if (!survives) removed[result.columns[member]] = result.columns[rep];
    }
    entry["members"] = members;
    clusters.push_back(entry);
  }
  json["clusters"] = clusters;
  json["removed"] = removed;
  // The graph Leiden clustered, [a, b, S] for each edge (a before b in Pass 3's order): the
  // report draws it as it was, without recomputing S or the threshold and top-k rules.
  nlohmann::ordered_json edge_list = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < p && !result.graph.empty(); ++i) {
    for (std::size_t j = i + 1; j < p; ++j) {
      if (result.graph[i * p + j] != 0.0) {
        edge_list.push_back(
            {result.columns[i], result.columns[j], JsonNumber(result.graph[i * p + j])});
      }
    }
  }
  json["edge_list"] = edge_list;
  io::WriteFileAtomic(out_dir + "/pass4_nonlinear.json", json.dump(2) + "\n");

  std::string columns;
  for (const auto& name : result.kept) columns += name + "\n";
  io::WriteFileAtomic(out_dir + "/final_descriptors.txt", columns);
}

}  // namespace descpipe
