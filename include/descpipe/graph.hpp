// Similarity graphs and redundancy clusters: thresholded similarity, representative choice,
// star clustering, connected components (union-find) and Leiden (igraph).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "descpipe/enum_names.hpp"

namespace descpipe {

/// What is known about each candidate representative (one entry per column).
struct CandidateInfo {
  bool pinned = false;             ///< in keep_columns: always survives
  double target_similarity = 0.0;  ///< |rho| with target_column (NaN or unused without one)
  double missing_ratio = 0.0;
  double normalized_variance = 0.0;
  bool binary = false;
  std::size_t input_position = 0;  ///< position among the input descriptors
};

/// Criteria of the representative-quality order, tried in the configured order.
enum class Criterion {
  kPinned,          ///< "pinned": in keep_columns first
  kTarget,          ///< "target": higher |rho| with target_column (skipped without a target)
  kMissing,         ///< "missing": lower missing_ratio
  kVariance,        ///< "variance": higher normalized variance
  kNotBinary,       ///< "not_binary": non-binary first
  kMeanSimilarity,  ///< "mean_similarity": higher mean |similarity| to the rest of its cluster
  kInputOrder,      ///< "input_order": earlier input position (always decides)
};

inline const EnumNames<Criterion>& NamesOf(Criterion) {
  static const EnumNames<Criterion> names = {
      {"pinned", Criterion::kPinned},         {"target", Criterion::kTarget},
      {"missing", Criterion::kMissing},       {"variance", Criterion::kVariance},
      {"not_binary", Criterion::kNotBinary},  {"mean_similarity", Criterion::kMeanSimilarity},
      {"input_order", Criterion::kInputOrder}};
  return names;
}
/// Parses a criterion name; throws InvalidInput listing the valid names.
Criterion ParseCriterion(const std::string& name);
/// pinned, target, missing, variance, not_binary, mean_similarity, input_order.
std::vector<Criterion> DefaultCriteria();

/// A symmetric p x p similarity matrix (row-major; only |value| matters, NaN means none).
struct SimilarityView {
  const double* values = nullptr;
  std::size_t n = 0;
  double at(std::size_t i, std::size_t j) const { return values[i * n + j]; }
};

enum class ClusterMethod { kStar, kComponents, kLeiden };
inline const EnumNames<ClusterMethod>& NamesOf(ClusterMethod) {
  static const EnumNames<ClusterMethod> names = {{"star", ClusterMethod::kStar},
                                                 {"components", ClusterMethod::kComponents},
                                                 {"leiden", ClusterMethod::kLeiden}};
  return names;
}

/// What Leiden optimises: modularity (node weights = strengths, resolution gamma / 2m) or the
/// constant Potts model (unit node weights, resolution gamma: a cluster's internal edge density
/// must exceed gamma).
enum class LeidenObjective { kModularity, kCpm };
inline const EnumNames<LeidenObjective>& NamesOf(LeidenObjective) {
  static const EnumNames<LeidenObjective> names = {{"modularity", LeidenObjective::kModularity},
                                                   {"cpm", LeidenObjective::kCpm}};
  return names;
}

/// How leiden and components clusters become removals. community: one representative per
/// cluster, every other unpinned member removed (a member may be far from its representative: the
/// clusters are joined by chains of edges). star: each cluster is split into stars around its best
/// members (as the star method does over the whole graph), so every removed member has an edge,
/// |similarity| >= threshold, to its own representative.
enum class ClusterAssignment { kStar, kCommunity };
inline const EnumNames<ClusterAssignment>& NamesOf(ClusterAssignment) {
  static const EnumNames<ClusterAssignment> names = {{"star", ClusterAssignment::kStar},
                                                     {"community", ClusterAssignment::kCommunity}};
  return names;
}

struct ClusterOptions {
  ClusterMethod method = ClusterMethod::kStar;
  double threshold = 0.95;  ///< edge when |similarity| >= threshold
  std::vector<Criterion> criteria = DefaultCriteria();
  std::uint64_t seed = 42;  ///< Leiden's random seed
  double leiden_resolution = 1.0;
  int leiden_iterations = -1;  ///< < 0: until stable
  LeidenObjective leiden_objective = LeidenObjective::kModularity;
  /// leiden and components only (star clusters are stars already).
  ClusterAssignment assignment = ClusterAssignment::kCommunity;
};

/// One cluster: its representative and every member (representative included, ascending).
struct Cluster {
  std::size_t representative = 0;
  std::vector<std::size_t> members;
  /// Members that survive besides the representative (pinned columns are never removed).
  std::vector<std::size_t> also_kept;
  /// The criterion that put the representative ahead of the runner-up ("singleton" when alone).
  std::string decided_by;
};

/// Clusters the columns of `similarity` and picks one representative per cluster.
/// - star: columns are visited in representative-quality order (mean similarity taken over each
///   column's graph neighbourhood); each unassigned one becomes a representative and absorbs every
///   unassigned, unpinned column with |similarity| >= threshold to it. Every removed column is
///   therefore within the threshold of its representative.
/// - components: connected components of the thresholded graph.
/// - leiden: igraph's Leiden (leiden_objective, weights |similarity|, seeded) on the thresholded
///   graph.
/// components and leiden clusters are then split into stars when `assignment` is kStar.
/// Clusters are returned ordered by representative. Deterministic: ties are broken by input
/// position, never by thread or hash order.
std::vector<Cluster> ClusterColumns(const SimilarityView& similarity,
                                    const std::vector<CandidateInfo>& candidates,
                                    const ClusterOptions& options);

/// Pairs i < j of `similarity` with |value| >= threshold (NaN: none): the edges ClusterColumns
/// links at that threshold.
std::uint64_t CountEdges(const SimilarityView& similarity, double threshold);

/// Bytes ClusterColumns holds at its peak for `n` columns and `edges` edges: the adjacency lists
/// (both directions, vector growth included) and per-column vectors; with Leiden also igraph's
/// edge list, weights, graph indices and the working copies of its aggregation steps. Not
/// counted: the similarity matrix itself.
double ClusterPeakBytes(std::size_t n, std::uint64_t edges, ClusterMethod method);

/// Every candidate, best first, under `criteria` without the cluster-specific mean_similarity
/// (as every mean similarity were equal); input_order always decides last.
std::vector<std::size_t> QualityOrder(const std::vector<CandidateInfo>& candidates,
                                      const std::vector<Criterion>& criteria);

/// The best of `members` under `criteria` (mean similarity taken within `members`), and the
/// criterion that separated it from the runner-up ("singleton" for one member).
std::size_t ChooseRepresentative(const SimilarityView& similarity,
                                 const std::vector<CandidateInfo>& candidates,
                                 const std::vector<std::size_t>& members,
                                 const std::vector<Criterion>& criteria, std::string* decided_by);

}  // namespace descpipe
