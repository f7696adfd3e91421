// Redundancy clusters over a similarity matrix and the choice of their representatives.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "descpipe/error.hpp"
#include "descpipe/graph.hpp"
#include "graph/leiden.hpp"

namespace descpipe {
namespace {

bool IsEdge(double similarity, double threshold) {
  return !std::isnan(similarity) && std::fabs(similarity) >= threshold;
}

/// Compares two candidates; `context_mean[k]` is candidate k's mean |similarity| in the context
/// of the comparison. Returns <0 when a is better, >0 when b is, and the deciding criterion.
int Compare(std::size_t a, std::size_t b, const std::vector<CandidateInfo>& info,
            const std::vector<double>& context_mean, const std::vector<Criterion>& criteria,
            Criterion* decided) {
  // Higher is better for these; NaN counts as lowest.
  auto higher = [](double x, double y) {
    const double xv = std::isnan(x) ? -std::numeric_limits<double>::infinity() : x;
    const double yv = std::isnan(y) ? -std::numeric_limits<double>::infinity() : y;
    return xv > yv ? -1 : (xv < yv ? 1 : 0);
  };
  for (Criterion criterion : criteria) {
    int order = 0;
    const CandidateInfo& x = info[a];
    const CandidateInfo& y = info[b];
    switch (criterion) {
      case Criterion::kPinned:
        order = x.pinned == y.pinned ? 0 : (x.pinned ? -1 : 1);
        break;
      case Criterion::kTarget:
        order = higher(x.target_similarity, y.target_similarity);
        break;
      case Criterion::kMissing:
        order =
            x.missing_ratio < y.missing_ratio ? -1 : (x.missing_ratio > y.missing_ratio ? 1 : 0);
        break;
      case Criterion::kVariance:
        order = higher(x.normalized_variance, y.normalized_variance);
        break;
      case Criterion::kNotBinary:
        order = x.binary == y.binary ? 0 : (x.binary ? 1 : -1);
        break;
      case Criterion::kMeanSimilarity:
        order = higher(context_mean[a], context_mean[b]);
        break;
      case Criterion::kInputOrder:
        order = x.input_position < y.input_position ? -1
                                                    : (x.input_position > y.input_position ? 1 : 0);
        break;
    }
    if (order != 0) {
      if (decided != nullptr) *decided = criterion;
      return order;
    }
  }
  if (decided != nullptr) *decided = Criterion::kInputOrder;
  return a < b ? -1 : (a > b ? 1 : 0);  // same input position: fall back to the index
}

/// Criteria with input_order appended when missing, so that the order is total.
std::vector<Criterion> Complete(std::vector<Criterion> criteria) {
  if (std::find(criteria.begin(), criteria.end(), Criterion::kInputOrder) == criteria.end()) {
    criteria.push_back(Criterion::kInputOrder);
  }
  return criteria;
}

/// Mean |similarity| of each member to the other members (NaN similarity counts as 0).
void MeanWithin(const SimilarityView& similarity, const std::vector<std::size_t>& members,
                std::vector<double>& context_mean) {
  for (std::size_t a : members) {
    double total = 0.0;
    for (std::size_t b : members) {
      if (a == b) continue;
      const double value = similarity.at(a, b);
      if (!std::isnan(value)) total += std::fabs(value);
    }
    context_mean[a] = members.size() > 1 ? total / static_cast<double>(members.size() - 1) : 0.0;
  }
}

/// The best member and the criterion separating it from the runner-up.
std::size_t Best(const std::vector<std::size_t>& members, const std::vector<CandidateInfo>& info,
                 const std::vector<double>& context_mean, const std::vector<Criterion>& criteria,
                 std::string* decided_by) {
  DESCPIPE_ASSERT(!members.empty());
  std::size_t best = members.front();
  for (std::size_t k : members) {
    if (Compare(k, best, info, context_mean, criteria, nullptr) < 0) best = k;
  }
  if (decided_by != nullptr) {
    if (members.size() == 1) {
      *decided_by = "singleton";
    } else {
      std::size_t runner_up = members.front() == best ? members[1] : members.front();
      for (std::size_t k : members) {
        if (k != best && Compare(k, runner_up, info, context_mean, criteria, nullptr) < 0)
          runner_up = k;
      }
      Criterion decided = Criterion::kInputOrder;
      Compare(best, runner_up, info, context_mean, criteria, &decided);
      *decided_by = EnumName(decided);
    }
  }
  return best;
}

/// Star assignment: columns are visited in `order` (best first); each one not yet assigned becomes
/// a representative and absorbs every unassigned, unpinned neighbour (an edge in `neighbours`)
/// with the same `label` (all columns when `label` is null). Every absorbed column is therefore
/// joined to its own representative by an edge. `decided_by` compares the representative with the
/// best other member under `context_mean`.
void AddStars(const std::vector<std::size_t>& order,
              const std::vector<std::vector<std::size_t>>& neighbours,
              const std::vector<std::size_t>* label, const std::vector<CandidateInfo>& info,
              const std::vector<double>& context_mean, const std::vector<Criterion>& criteria,
              std::vector<Cluster>& clusters) {
  std::vector<bool> assigned(info.size(), false);
  for (std::size_t rep : order) {
    if (assigned[rep]) continue;
    Cluster cluster;
    cluster.representative = rep;
    cluster.members.push_back(rep);
    assigned[rep] = true;
    for (std::size_t j : neighbours[rep]) {
      if (assigned[j] || info[j].pinned) continue;
      if (label != nullptr && (*label)[j] != (*label)[rep]) continue;
      cluster.members.push_back(j);
      assigned[j] = true;
    }
    std::sort(cluster.members.begin(), cluster.members.end());
    if (cluster.members.size() == 1) {
      cluster.decided_by = "singleton";
    } else {
      std::size_t runner_up = SIZE_MAX;
      for (std::size_t k : cluster.members) {
        if (k == rep) continue;
        if (runner_up == SIZE_MAX ||
            Compare(k, runner_up, info, context_mean, criteria, nullptr) < 0) {
          runner_up = k;
        }
      }
      Criterion decided = Criterion::kInputOrder;
      Compare(rep, runner_up, info, context_mean, criteria, &decided);
      cluster.decided_by = EnumName(decided);
    }
    clusters.push_back(std::move(cluster));
  }
}

/// Columns 0..n-1 in representative-quality order under `context_mean`.
std::vector<std::size_t> OrderBy(const std::vector<CandidateInfo>& info,
                                 const std::vector<double>& context_mean,
                                 const std::vector<Criterion>& criteria) {
  std::vector<std::size_t> order(info.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return Compare(a, b, info, context_mean, criteria, nullptr) < 0;
  });
  return order;
}

/// Builds the clusters of a partition (`label[k]` per column). kCommunity: one cluster per part,
/// its representative by the criteria (mean similarity within the part), pinned members kept
/// besides it. kStar: each part split into stars around its best members (AddStars within the
/// part, mean similarity within the part), so every removed member has an edge to its
/// representative.
std::vector<Cluster> FromPartition(const SimilarityView& similarity,
                                   const std::vector<CandidateInfo>& info,
                                   const std::vector<std::size_t>& label,
                                   const std::vector<std::vector<std::size_t>>& neighbours,
                                   const std::vector<Criterion>& criteria,
                                   ClusterAssignment assignment) {
  const std::size_t n = info.size();
  std::vector<std::vector<std::size_t>> groups;
  std::vector<std::size_t> group_of_label(n, SIZE_MAX);
  for (std::size_t k = 0; k < n; ++k) {  // groups numbered by their first column: deterministic
    if (group_of_label[label[k]] == SIZE_MAX) {
      group_of_label[label[k]] = groups.size();
      groups.emplace_back();
    }
    groups[group_of_label[label[k]]].push_back(k);
  }
  std::vector<double> context_mean(n, 0.0);
  std::vector<Cluster> clusters;
  if (assignment == ClusterAssignment::kStar) {
    for (const auto& members : groups) MeanWithin(similarity, members, context_mean);
    AddStars(OrderBy(info, context_mean, criteria), neighbours, &label, info, context_mean,
             criteria, clusters);
  } else {
    for (auto& members : groups) {
      MeanWithin(similarity, members, context_mean);
      Cluster cluster;
      cluster.members = members;
      cluster.representative = Best(members, info, context_mean, criteria, &cluster.decided_by);
      for (std::size_t k : members) {
        if (k != cluster.representative && info[k].pinned) cluster.also_kept.push_back(k);
      }
      clusters.push_back(std::move(cluster));
    }
  }
  std::sort(clusters.begin(), clusters.end(),
            [](const Cluster& a, const Cluster& b) { return a.representative < b.representative; });
  return clusters;
}

std::size_t Find(std::vector<std::size_t>& parent, std::size_t k) {
  while (parent[k] != k) {
    parent[k] = parent[parent[k]];
    k = parent[k];
  }
  return k;
}

}  // namespace

Criterion ParseCriterion(const std::string& name) {
  if (const auto criterion = EnumFromName<Criterion>(name)) return *criterion;
  throw InvalidInput(fmt::format("unknown representative criterion '{}' (valid: {})", name,
                                 EnumNameList<Criterion>(", ")));
}

std::vector<Criterion> DefaultCriteria() {
  std::vector<Criterion> criteria;
  for (const auto& entry : NamesOf(Criterion{})) criteria.push_back(entry.value);
  return criteria;
}

std::vector<std::size_t> QualityOrder(const std::vector<CandidateInfo>& candidates,
                                      const std::vector<Criterion>& criteria) {
  const std::vector<double> no_context(candidates.size(), 0.0);
  const std::vector<Criterion> complete = Complete(criteria);
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return Compare(a, b, candidates, no_context, complete, nullptr) < 0;
  });
  return order;
}

std::size_t ChooseRepresentative(const SimilarityView& similarity,
                                 const std::vector<CandidateInfo>& candidates,
                                 const std::vector<std::size_t>& members,
                                 const std::vector<Criterion>& criteria, std::string* decided_by) {
  std::vector<double> context_mean(candidates.size(), 0.0);
  MeanWithin(similarity, members, context_mean);
  return Best(members, candidates, context_mean, Complete(criteria), decided_by);
}

std::uint64_t CountEdges(const SimilarityView& similarity, double threshold) {
  std::uint64_t edges = 0;
  for (std::size_t i = 0; i < similarity.n; ++i) {
    for (std::size_t j = i + 1; j < similarity.n; ++j)
      edges += IsEdge(similarity.at(i, j), threshold) ? 1 : 0;
  }
  return edges;
}

double ClusterPeakBytes(std::size_t n, std::uint64_t edges, ClusterMethod method) {
  const double columns = static_cast<double>(n), links = static_cast<double>(edges);
  // Adjacency: two entries of 8 bytes per edge, up to twice that in vector capacity; per column
  // the list header, a label, a mean, an order entry and the clusters' member lists.
  double bytes = 32.0 * links + 96.0 * columns;
  if (method == ClusterMethod::kLeiden) {
    // igraph: the edge list and weights as pushed (capacity up to 2x: 48 bytes), the graph's
    // from/to and index vectors (32), strengths, and Leiden's neighbour lists and aggregated
    // graphs (measured: 102 bytes per edge on the complete graph of 2,000 columns).
    bytes += 256.0 * links + 256.0 * columns;
  }
  return bytes;
}

std::vector<Cluster> ClusterColumns(const SimilarityView& similarity,
                                    const std::vector<CandidateInfo>& candidates,
                                    const ClusterOptions& options) {
  const std::size_t n = candidates.size();
  DESCPIPE_ASSERT(similarity.n == n);
  const std::vector<Criterion> criteria = Complete(options.criteria);
  std::vector<std::vector<std::size_t>> neighbours(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i != j && IsEdge(similarity.at(i, j), options.threshold)) neighbours[i].push_back(j);
    }
  }

  if (options.method == ClusterMethod::kComponents || options.method == ClusterMethod::kLeiden) {
    std::vector<std::size_t> label(n);
    if (options.method == ClusterMethod::kComponents) {
      std::vector<std::size_t> parent(n);
      std::iota(parent.begin(), parent.end(), 0);
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j : neighbours[i]) {
          const std::size_t a = Find(parent, i), b = Find(parent, j);
          if (a != b) parent[std::max(a, b)] = std::min(a, b);
        }
      }
      for (std::size_t i = 0; i < n; ++i) label[i] = Find(parent, i);
    } else {
      label = graph::LeidenMembership(similarity, options.threshold, options.seed,
                                      options.leiden_resolution, options.leiden_iterations,
                                      options.leiden_objective);
    }
    return FromPartition(similarity, candidates, label, neighbours, criteria, options.assignment);
  }

  // Star: visit columns in quality order, the mean similarity taken over each neighbourhood.
  std::vector<double> neighbourhood_mean(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    double total = 0.0;
    for (std::size_t j : neighbours[i]) total += std::fabs(similarity.at(i, j));
    neighbourhood_mean[i] =
        neighbours[i].empty() ? 0.0 : total / static_cast<double>(neighbours[i].size());
  }
  std::vector<Cluster> clusters;
  AddStars(OrderBy(candidates, neighbourhood_mean, criteria), neighbours, nullptr, candidates,
           neighbourhood_mean, criteria, clusters);
  std::sort(clusters.begin(), clusters.end(),
            [](const Cluster& a, const Cluster& b) { return a.representative < b.representative; });
  return clusters;
}

}  // namespace descpipe
