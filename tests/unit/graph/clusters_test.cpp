// Tests of redundancy clustering (ClusterColumns: star, components, Leiden) and representative
// choice (ChooseRepresentative) on hand-made similarity matrices and on random block-structured
// ones, against references written here: connected components by breadth-first search, star
// clustering by the greedy loop of its definition, and the criteria order by obvious comparisons.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/numbers.hpp"
#include "descpipe/error.hpp"
#include "descpipe/graph.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using descpipe::testing::Contains;
using descpipe::testing::MessageOf;

using Partition = std::vector<std::vector<std::size_t>>;

// ---- Test data ------------------------------------------------------------------------------

/// A symmetric n x n similarity matrix, 1 on the diagonal and 0 elsewhere until set.
struct Matrix {
  std::size_t n = 0;
  std::vector<double> values;

  explicit Matrix(std::size_t size) : n(size), values(size * size, 0.0) {
    for (std::size_t i = 0; i < n; ++i) values[i * n + i] = 1.0;
  }
  void Set(std::size_t i, std::size_t j, double value) {
    values[i * n + j] = value;
    values[j * n + i] = value;
  }
  double at(std::size_t i, std::size_t j) const { return values[i * n + j]; }
  SimilarityView view() const { return SimilarityView{values.data(), n}; }
};

/// Candidates that tie on everything but their input position (= index).
std::vector<CandidateInfo> PlainCandidates(std::size_t n) {
  std::vector<CandidateInfo> candidates(n);
  for (std::size_t i = 0; i < n; ++i) candidates[i].input_position = i;
  return candidates;
}

ClusterOptions Options(ClusterMethod method, double threshold = 0.9) {
  ClusterOptions options;
  options.method = method;
  options.threshold = threshold;
  return options;
}

bool Edge(const Matrix& sim, std::size_t i, std::size_t j, double threshold) {
  const double value = sim.at(i, j);
  return !std::isnan(value) && std::fabs(value) >= threshold;
}

/// Random n x n matrix with blocks of columns similar to each other (|sim| on a 1/256 grid, so
/// that sums of similarities are exact in any order), a few strong links between blocks (chains),
/// negative similarities and NaN pairs.
Matrix MakeBlockMatrix(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::size_t> block(n);
  std::size_t current = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (unit(rng) < 0.25) ++current;
    block[i] = current;
  }
  std::shuffle(block.begin(), block.end(), rng);
  auto grid = [&](double lo, double hi) {
    return std::round((lo + (hi - lo) * unit(rng)) * 256) / 256;
  };
  Matrix sim(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      double value;
      if (unit(rng) < 0.03) {
        value = kNaN;
      } else if (block[i] == block[j]) {
        value = grid(0.8, 1.0);
      } else if (unit(rng) < 0.02) {
        value = grid(0.9, 1.0);
      } else {
        value = grid(-0.6, 0.6);
      }
      if (unit(rng) < 0.3) value = -value;
      sim.Set(i, j, value);
    }
  }
  return sim;
}

/// Random candidates with many ties; input positions a random permutation.
std::vector<CandidateInfo> MakeCandidates(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<std::size_t> positions(n);
  std::iota(positions.begin(), positions.end(), std::size_t{0});
  std::shuffle(positions.begin(), positions.end(), rng);
  std::vector<CandidateInfo> candidates(n);
  for (std::size_t i = 0; i < n; ++i) {
    CandidateInfo& c = candidates[i];
    c.pinned = unit(rng) < 0.1;
    c.target_similarity = static_cast<double>(rng() % 3) / 4.0;
    c.missing_ratio = static_cast<double>(rng() % 3) / 10.0;
    c.normalized_variance = static_cast<double>(1 + rng() % 3) / 2.0;
    c.binary = unit(rng) < 0.3;
    c.input_position = positions[i];
  }
  return candidates;
}

// ---- Naive references -----------------------------------------------------------------------

/// Mean |similarity| of `column` to the other `members`.
double MeanSimilarity(const Matrix& sim, const std::vector<std::size_t>& members,
                      std::size_t column) {
  if (members.size() < 2) return 0.0;
  double sum = 0.0;
  for (std::size_t other : members) {
    if (other != column) sum += std::fabs(sim.at(column, other));
  }
  return sum / static_cast<double>(members.size() - 1);
}

/// < 0 when a is better than b under `criterion`, > 0 when b is, 0 on a tie.
int CompareOn(Criterion criterion, const CandidateInfo& a, const CandidateInfo& b, double mean_a,
              double mean_b) {
  auto order = [](bool a_better, bool b_better) { return a_better ? -1 : (b_better ? 1 : 0); };
  switch (criterion) {
    case Criterion::kPinned:
      return order(a.pinned && !b.pinned, b.pinned && !a.pinned);
    case Criterion::kTarget:
      return order(a.target_similarity > b.target_similarity,
                   b.target_similarity > a.target_similarity);
    case Criterion::kMissing:
      return order(a.missing_ratio < b.missing_ratio, b.missing_ratio < a.missing_ratio);
    case Criterion::kVariance:
      return order(a.normalized_variance > b.normalized_variance,
                   b.normalized_variance > a.normalized_variance);
    case Criterion::kNotBinary:
      return order(!a.binary && b.binary, !b.binary && a.binary);
    case Criterion::kMeanSimilarity:
      return order(mean_a > mean_b, mean_b > mean_a);
    case Criterion::kInputOrder:
      return order(a.input_position < b.input_position, b.input_position < a.input_position);
  }
  return 0;
}

std::string ExpectedName(Criterion criterion) {
  switch (criterion) {
    case Criterion::kPinned:
      return "pinned";
    case Criterion::kTarget:
      return "target";
    case Criterion::kMissing:
      return "missing";
    case Criterion::kVariance:
      return "variance";
    case Criterion::kNotBinary:
      return "not_binary";
    case Criterion::kMeanSimilarity:
      return "mean_similarity";
    case Criterion::kInputOrder:
      return "input_order";
  }
  return "?";
}

const Criterion kAllCriteria[] = {
    Criterion::kPinned,    Criterion::kTarget,         Criterion::kMissing,   Criterion::kVariance,
    Criterion::kNotBinary, Criterion::kMeanSimilarity, Criterion::kInputOrder};

/// The best of `members` (criteria in order, input position last) and the criterion that
/// separates it from the runner-up.
std::pair<std::size_t, std::string> RefChoose(const Matrix& sim,
                                              const std::vector<CandidateInfo>& candidates,
                                              const std::vector<std::size_t>& members,
                                              const std::vector<Criterion>& criteria) {
  auto compare = [&](std::size_t a, std::size_t b, std::string* decided) {
    const double mean_a = MeanSimilarity(sim, members, a);
    const double mean_b = MeanSimilarity(sim, members, b);
    std::vector<Criterion> order = criteria;
    order.push_back(Criterion::kInputOrder);
    for (Criterion criterion : order) {
      const int c = CompareOn(criterion, candidates[a], candidates[b], mean_a, mean_b);
      if (c != 0) {
        if (decided != nullptr) *decided = ExpectedName(criterion);
        return c;
      }
    }
    return 0;
  };
  std::vector<std::size_t> sorted = members;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](std::size_t a, std::size_t b) { return compare(a, b, nullptr) < 0; });
  if (sorted.size() == 1) return {sorted[0], "singleton"};
  std::string decided;
  compare(sorted[0], sorted[1], &decided);
  return {sorted[0], decided};
}

/// Connected components of the thresholded graph, each ascending, ordered by first member.
Partition RefComponents(const Matrix& sim, double threshold) {
  std::vector<int> component(sim.n, -1);
  Partition result;
  for (std::size_t start = 0; start < sim.n; ++start) {
    if (component[start] >= 0) continue;
    std::vector<std::size_t> members, queue = {start};
    component[start] = static_cast<int>(result.size());
    while (!queue.empty()) {
      const std::size_t v = queue.back();
      queue.pop_back();
      members.push_back(v);
      for (std::size_t w = 0; w < sim.n; ++w) {
        if (w != v && component[w] < 0 && Edge(sim, v, w, threshold)) {
          component[w] = static_cast<int>(result.size());
          queue.push_back(w);
        }
      }
    }
    std::sort(members.begin(), members.end());
    result.push_back(members);
  }
  return result;
}

struct RefCluster {
  std::size_t representative;
  std::vector<std::size_t> members;
};

/// Star clustering by its definition, for criteria without kMeanSimilarity (whose star variant
/// uses graph neighbourhoods): visit columns best first; each unassigned one absorbs every
/// unassigned, unpinned column within the threshold. Ordered by representative.
std::vector<RefCluster> RefStar(const Matrix& sim, const std::vector<CandidateInfo>& candidates,
                                const std::vector<Criterion>& criteria, double threshold) {
  std::vector<std::size_t> order(sim.n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    std::vector<Criterion> all = criteria;
    all.push_back(Criterion::kInputOrder);
    for (Criterion criterion : all) {
      const int c = CompareOn(criterion, candidates[a], candidates[b], 0.0, 0.0);
      if (c != 0) return c < 0;
    }
    return false;
  });
  std::vector<bool> assigned(sim.n, false);
  std::vector<RefCluster> clusters;
  for (std::size_t center : order) {
    if (assigned[center]) continue;
    assigned[center] = true;
    RefCluster cluster{center, {center}};
    for (std::size_t other = 0; other < sim.n; ++other) {
      if (!assigned[other] && !candidates[other].pinned && Edge(sim, center, other, threshold)) {
        assigned[other] = true;
        cluster.members.push_back(other);
      }
    }
    std::sort(cluster.members.begin(), cluster.members.end());
    clusters.push_back(cluster);
  }
  std::sort(clusters.begin(), clusters.end(), [](const RefCluster& a, const RefCluster& b) {
    return a.representative < b.representative;
  });
  return clusters;
}

Partition PartitionOf(const std::vector<Cluster>& clusters) {
  Partition result;
  for (const Cluster& cluster : clusters) result.push_back(cluster.members);
  std::sort(result.begin(), result.end());
  return result;
}

// ---- Invariants -----------------------------------------------------------------------------

bool IsCriterionName(const std::string& name) {
  for (Criterion criterion : kAllCriteria) {
    if (name == ExpectedName(criterion)) return true;
  }
  return false;
}

/// Every column in exactly one cluster; members ascending and holding the representative;
/// clusters ordered by representative; "singleton" exactly for one-member clusters; pinned
/// members other than the representative in also_kept, and nothing else there.
void ExpectWellFormed(const std::vector<Cluster>& clusters,
                      const std::vector<CandidateInfo>& candidates) {
  std::vector<int> seen(candidates.size(), 0);
  for (std::size_t k = 0; k < clusters.size(); ++k) {
    const Cluster& cluster = clusters[k];
    SCOPED_TRACE("cluster of representative " + std::to_string(cluster.representative));
    ASSERT_FALSE(cluster.members.empty());
    EXPECT_TRUE(std::is_sorted(cluster.members.begin(), cluster.members.end()));
    EXPECT_TRUE(
        std::binary_search(cluster.members.begin(), cluster.members.end(), cluster.representative));
    if (k > 0) EXPECT_LT(clusters[k - 1].representative, cluster.representative);
    for (std::size_t member : cluster.members) {
      ASSERT_LT(member, candidates.size());
      ++seen[member];
    }
    if (cluster.members.size() == 1) {
      EXPECT_EQ(cluster.decided_by, "singleton");
    } else {
      EXPECT_TRUE(IsCriterionName(cluster.decided_by)) << "decided_by " << cluster.decided_by;
    }
    std::vector<std::size_t> expected_kept;
    for (std::size_t member : cluster.members) {
      if (member != cluster.representative && candidates[member].pinned) {
        expected_kept.push_back(member);
      }
    }
    std::vector<std::size_t> kept = cluster.also_kept;
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(kept, expected_kept) << "also_kept must be the pinned non-representatives";
  }
  for (std::size_t column = 0; column < seen.size(); ++column) {
    EXPECT_EQ(seen[column], 1) << "column " << column << " appears in " << seen[column]
                               << " clusters";
  }
}

/// Every removed member (not representative, not kept) is within the threshold of its
/// representative.
void ExpectStarGuarantee(const std::vector<Cluster>& clusters, const Matrix& sim,
                         double threshold) {
  for (const Cluster& cluster : clusters) {
    for (std::size_t member : cluster.members) {
      if (member == cluster.representative) continue;
      if (std::find(cluster.also_kept.begin(), cluster.also_kept.end(), member) !=
          cluster.also_kept.end()) {
        continue;
      }
      EXPECT_TRUE(Edge(sim, cluster.representative, member, threshold))
          << "member " << member << " has similarity " << sim.at(cluster.representative, member)
          << " to its representative " << cluster.representative;
    }
  }
}

const Cluster& ClusterOf(const std::vector<Cluster>& clusters, std::size_t column) {
  for (const Cluster& cluster : clusters) {
    if (std::binary_search(cluster.members.begin(), cluster.members.end(), column)) {
      return cluster;
    }
  }
  ADD_FAILURE() << "column " << column << " in no cluster";
  static const Cluster kNone;
  return kNone;
}

// ---- Names ----------------------------------------------------------------------------------

TEST(CriterionNames, RoundTripAndDefaultOrder) {
  for (Criterion criterion : kAllCriteria) {
    EXPECT_EQ(EnumName(criterion), ExpectedName(criterion));
    EXPECT_EQ(ParseCriterion(ExpectedName(criterion)), criterion);
  }
  const std::vector<Criterion> expected(std::begin(kAllCriteria), std::end(kAllCriteria));
  EXPECT_EQ(DefaultCriteria(), expected);
  EXPECT_EQ(ClusterOptions{}.criteria, expected);
}

TEST(CriterionNames, UnknownNameListsTheValidOnes) {
  for (const std::string bad : {"", "Missing", "varience", "mean-similarity"}) {
    const std::string message = MessageOf<InvalidInput>([&] { ParseCriterion(bad); });
    for (Criterion criterion : kAllCriteria) {
      EXPECT_TRUE(Contains(message, ExpectedName(criterion))) << "for input '" << bad << "'";
    }
    if (!bad.empty()) EXPECT_TRUE(Contains(message, bad));
  }
}

TEST(ClusterMethodNames, RoundTrip) {
  const std::pair<ClusterMethod, std::string> methods[] = {
      {ClusterMethod::kStar, "star"},
      {ClusterMethod::kComponents, "components"},
      {ClusterMethod::kLeiden, "leiden"}};
  for (const auto& [method, name] : methods) {
    EXPECT_EQ(EnumName(method), name);
    EXPECT_EQ(EnumFromName<ClusterMethod>(name), method);
  }
  for (const std::string bad : {"", "louvain", "Star", "component"}) {
    EXPECT_FALSE(EnumFromName<ClusterMethod>(bad).has_value()) << bad;
  }
  EXPECT_EQ(EnumNameList<ClusterMethod>(), "star, components or leiden");
}

// ---- ChooseRepresentative: each criterion in turn --------------------------------------------

/// Two columns; column 1 (the later input position) wins on `criterion` while every later
/// criterion favours column 0, and every earlier one ties.
struct Duel {
  Criterion criterion;
  std::vector<CandidateInfo> candidates;
};

std::vector<Duel> Duels() {
  std::vector<Duel> duels;
  for (Criterion criterion : kAllCriteria) {
    if (criterion == Criterion::kMeanSimilarity || criterion == Criterion::kInputOrder) continue;
    std::vector<CandidateInfo> c = PlainCandidates(2);
    // Column 0 is better on every criterion after `criterion`.
    bool after = false;
    for (Criterion later : kAllCriteria) {
      if (later == criterion) {
        after = true;
        switch (criterion) {
          case Criterion::kPinned:
            c[1].pinned = true;
            break;
          case Criterion::kTarget:
            c[1].target_similarity = 0.9;
            c[0].target_similarity = 0.3;
            break;
          case Criterion::kMissing:
            c[1].missing_ratio = 0.0;
            c[0].missing_ratio = 0.2;
            break;
          case Criterion::kVariance:
            c[1].normalized_variance = 2.0;
            c[0].normalized_variance = 0.5;
            break;
          case Criterion::kNotBinary:
            c[0].binary = true;
            break;
          default:
            break;
        }
        continue;
      }
      if (!after) continue;
      switch (later) {
        case Criterion::kTarget:
          c[0].target_similarity = 0.8;
          c[1].target_similarity = 0.1;
          break;
        case Criterion::kMissing:
          c[0].missing_ratio = 0.0;
          c[1].missing_ratio = 0.4;
          break;
        case Criterion::kVariance:
          c[0].normalized_variance = 3.0;
          c[1].normalized_variance = 1.0;
          break;
        case Criterion::kNotBinary:
          c[1].binary = true;
          break;
        default:
          break;
      }
    }
    duels.push_back({criterion, c});
  }
  return duels;
}

TEST(RepresentativeChoice, EachDefaultCriterionDecidesInTurn) {
  Matrix sim(2);
  sim.Set(0, 1, 0.97);
  for (const Duel& duel : Duels()) {
    SCOPED_TRACE(ExpectedName(duel.criterion));
    std::string decided_by;
    EXPECT_EQ(
        ChooseRepresentative(sim.view(), duel.candidates, {0, 1}, DefaultCriteria(), &decided_by),
        1u);
    EXPECT_EQ(decided_by, ExpectedName(duel.criterion));
    // The same through ClusterColumns, with either method that makes one cluster of the pair.
    for (ClusterMethod method : {ClusterMethod::kComponents, ClusterMethod::kStar}) {
      const std::vector<Cluster> clusters =
          ClusterColumns(sim.view(), duel.candidates, Options(method));
      ASSERT_EQ(clusters.size(), 1u) << EnumName(method);
      EXPECT_EQ(clusters[0].representative, 1u) << EnumName(method);
      EXPECT_EQ(clusters[0].decided_by, ExpectedName(duel.criterion)) << EnumName(method);
    }
  }
}

TEST(RepresentativeChoice, MeanSimilarityDecidesWithinTheMembers) {
  // Column 2 (last input position) is most similar to the others: means 0.945, 0.935, 0.965.
  Matrix sim(4);
  sim.Set(0, 1, 0.92);
  sim.Set(0, 2, -0.97);
  sim.Set(1, 2, 0.96);
  sim.Set(3, 0, 0.99);  // outside the members: must not count
  sim.Set(3, 1, 0.99);
  std::vector<CandidateInfo> candidates = PlainCandidates(4);
  std::string decided_by;
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {0, 1, 2}, DefaultCriteria(), &decided_by),
            2u);
  EXPECT_EQ(decided_by, "mean_similarity");
  // Without the criterion, input order decides.
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {0, 1, 2},
                                 {Criterion::kMissing, Criterion::kInputOrder}, &decided_by),
            0u);
  EXPECT_EQ(decided_by, "input_order");
}

TEST(RepresentativeChoice, InputOrderUsesInputPositionNotIndex) {
  Matrix sim(3);
  sim.Set(0, 1, 0.95);
  sim.Set(1, 2, 0.95);
  sim.Set(0, 2, 0.95);
  std::vector<CandidateInfo> candidates = PlainCandidates(3);
  candidates[0].input_position = 7;
  candidates[1].input_position = 3;
  candidates[2].input_position = 5;
  std::string decided_by;
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {0, 1, 2}, DefaultCriteria(), &decided_by),
            1u);
  EXPECT_EQ(decided_by, "input_order");
}

TEST(RepresentativeChoice, ConfiguredOrderIsRespected) {
  Matrix sim(2);
  sim.Set(0, 1, 0.99);
  std::vector<CandidateInfo> candidates = PlainCandidates(2);
  candidates[0].missing_ratio = 0.0;  // 0 wins on missing
  candidates[1].missing_ratio = 0.1;
  candidates[0].normalized_variance = 1.0;  // 1 wins on variance
  candidates[1].normalized_variance = 2.0;
  std::string decided_by;
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {0, 1},
                                 {Criterion::kMissing, Criterion::kVariance}, &decided_by),
            0u);
  EXPECT_EQ(decided_by, "missing");
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {0, 1},
                                 {Criterion::kVariance, Criterion::kMissing}, &decided_by),
            1u);
  EXPECT_EQ(decided_by, "variance");
  // Ties on every configured criterion fall back to the input position.
  candidates[1].missing_ratio = 0.0;
  candidates[0].input_position = 9;
  EXPECT_EQ(
      ChooseRepresentative(sim.view(), candidates, {0, 1}, {Criterion::kMissing}, &decided_by), 1u);
}

TEST(RepresentativeChoice, TargetCriterion) {
  // One component of three; column 1 has the highest |rho| with the target, column 0 the fewest
  // missing values.
  Matrix sim(3);
  sim.Set(0, 1, 0.96);
  sim.Set(1, 2, 0.96);
  sim.Set(0, 2, 0.96);
  std::vector<CandidateInfo> candidates = PlainCandidates(3);
  candidates[0].target_similarity = 0.2;
  candidates[1].target_similarity = 0.8;
  candidates[2].target_similarity = 0.5;
  candidates[0].missing_ratio = 0.0;
  candidates[1].missing_ratio = 0.3;
  candidates[2].missing_ratio = 0.3;
  std::string decided_by;
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {0, 1, 2}, DefaultCriteria(), &decided_by),
            1u);
  EXPECT_EQ(decided_by, "target");
  for (ClusterMethod method : {ClusterMethod::kStar, ClusterMethod::kComponents}) {
    const std::vector<Cluster> clusters = ClusterColumns(sim.view(), candidates, Options(method));
    ASSERT_EQ(clusters.size(), 1u) << EnumName(method);
    EXPECT_EQ(clusters[0].representative, 1u) << EnumName(method);
    EXPECT_EQ(clusters[0].decided_by, "target") << EnumName(method);
  }

  // Without kTarget in the criteria the target similarity is ignored.
  std::vector<Criterion> criteria;
  for (Criterion criterion : DefaultCriteria()) {
    if (criterion != Criterion::kTarget) criteria.push_back(criterion);
  }
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {0, 1, 2}, criteria, &decided_by), 0u);
  EXPECT_EQ(decided_by, "missing");
  ClusterOptions options = Options(ClusterMethod::kComponents);
  options.criteria = criteria;
  const std::vector<Cluster> clusters = ClusterColumns(sim.view(), candidates, options);
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0].representative, 0u);
}

TEST(RepresentativeChoice, SingleMember) {
  Matrix sim(3);
  std::vector<CandidateInfo> candidates = PlainCandidates(3);
  std::string decided_by;
  EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, {2}, DefaultCriteria(), &decided_by), 2u);
  EXPECT_EQ(decided_by, "singleton");
}

TEST(RepresentativeChoice, MatchesReferenceOnRandomClusters) {
  std::mt19937_64 rng(77);
  std::vector<std::vector<Criterion>> criteria_lists = {DefaultCriteria()};
  for (int shuffle = 0; shuffle < 5; ++shuffle) {
    std::vector<Criterion> criteria(std::begin(kAllCriteria), std::end(kAllCriteria) - 1);
    std::shuffle(criteria.begin(), criteria.end(), rng);
    criteria.resize(1 + rng() % criteria.size());
    criteria.push_back(Criterion::kInputOrder);
    criteria_lists.push_back(criteria);
  }
  for (int trial = 0; trial < 40; ++trial) {
    Matrix sim = MakeBlockMatrix(25, 500 + trial);
    for (double& value : sim.values) {
      if (std::isnan(value)) value = 0.5;  // NaN inside a cluster has no agreed mean
    }
    const std::vector<CandidateInfo> candidates = MakeCandidates(25, 600 + trial);
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < 25; ++i) {
      if (rng() % 3 != 0) members.push_back(i);
    }
    if (members.empty()) members.push_back(trial % 25);
    for (const std::vector<Criterion>& criteria : criteria_lists) {
      const auto [expected, expected_by] = RefChoose(sim, candidates, members, criteria);
      std::string decided_by;
      EXPECT_EQ(ChooseRepresentative(sim.view(), candidates, members, criteria, &decided_by),
                expected)
          << "trial " << trial;
      EXPECT_EQ(decided_by, expected_by) << "trial " << trial;
    }
  }
}

// ---- ClusterColumns on hand-made matrices ----------------------------------------------------

/// a ~ b, b ~ c, a !~ c.
Matrix Chain() {
  Matrix sim(3);
  sim.Set(0, 1, 0.97);
  sim.Set(1, 2, 0.97);
  sim.Set(0, 2, 0.5);
  return sim;
}

TEST(ClusterStar, AvoidsChainingWhenTheMiddleIsNotBest) {
  const Matrix sim = Chain();
  std::vector<CandidateInfo> candidates = PlainCandidates(3);
  candidates[0].missing_ratio = 0.0;
  candidates[1].missing_ratio = 0.1;
  candidates[2].missing_ratio = 0.2;
  const std::vector<Cluster> clusters =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kStar));
  ExpectWellFormed(clusters, candidates);
  ASSERT_EQ(clusters.size(), 2u);
  EXPECT_EQ(clusters[0].representative, 0u);
  EXPECT_EQ(clusters[0].members, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(clusters[0].decided_by, "missing");
  EXPECT_EQ(clusters[1].representative, 2u);
  EXPECT_EQ(clusters[1].members, (std::vector<std::size_t>{2}));
  EXPECT_EQ(clusters[1].decided_by, "singleton");
  ExpectStarGuarantee(clusters, sim, 0.9);
}

TEST(ClusterStar, MiddleColumnAbsorbsBothEnds) {
  const Matrix sim = Chain();
  std::vector<CandidateInfo> candidates = PlainCandidates(3);
  candidates[1].missing_ratio = 0.0;
  candidates[0].missing_ratio = 0.1;
  candidates[2].missing_ratio = 0.1;
  const std::vector<Cluster> clusters =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kStar));
  ExpectWellFormed(clusters, candidates);
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0].representative, 1u);
  EXPECT_EQ(clusters[0].members, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(ClusterStar, NeighbourhoodMeanSimilarityOrdersTheVisits) {
  // Everything ties but the graph; the neighbourhood means are 0.93 (column 0), 0.96 (column 1)
  // and 0.99 (column 2), so column 2 is visited first although it comes last in input order.
  Matrix sim = Chain();
  sim.Set(0, 1, 0.93);
  sim.Set(1, 2, -0.99);  // only |similarity| counts
  const std::vector<CandidateInfo> candidates = PlainCandidates(3);
  const std::vector<Cluster> clusters =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kStar));
  ExpectWellFormed(clusters, candidates);
  ExpectStarGuarantee(clusters, sim, 0.9);
  // 2 goes first and takes 1, leaving 0 alone.
  ASSERT_EQ(clusters.size(), 2u);
  EXPECT_EQ(clusters[0].members, (std::vector<std::size_t>{0}));
  EXPECT_EQ(clusters[1].representative, 2u);
  EXPECT_EQ(clusters[1].members, (std::vector<std::size_t>{1, 2}));
}

TEST(ClusterComponents, ChainIsOneCluster) {
  const Matrix sim = Chain();
  std::vector<CandidateInfo> candidates = PlainCandidates(3);
  candidates[0].missing_ratio = 0.2;
  candidates[1].missing_ratio = 0.1;
  candidates[2].missing_ratio = 0.0;
  const std::vector<Cluster> clusters =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kComponents));
  ExpectWellFormed(clusters, candidates);
  ASSERT_EQ(clusters.size(), 1u);
  EXPECT_EQ(clusters[0].members, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(clusters[0].representative, 2u);
  EXPECT_EQ(clusters[0].decided_by, "missing");
}

TEST(ClusterColumns, ThresholdIsInclusiveAndSignIsIgnored) {
  for (ClusterMethod method :
       {ClusterMethod::kStar, ClusterMethod::kComponents, ClusterMethod::kLeiden}) {
    SCOPED_TRACE(EnumName(method));
    const std::vector<CandidateInfo> candidates = PlainCandidates(4);
    Matrix sim(4);
    sim.Set(0, 1, 0.95);                       // exactly the threshold: an edge
    sim.Set(2, 3, -0.95);                      // negative: an edge
    sim.Set(1, 2, std::nextafter(0.95, 0.0));  // just below: none
    sim.Set(0, 3, -std::nextafter(0.95, 0.0));
    const std::vector<Cluster> clusters =
        ClusterColumns(sim.view(), candidates, Options(method, 0.95));
    ExpectWellFormed(clusters, candidates);
    const Partition expected = {{0, 1}, {2, 3}};
    EXPECT_EQ(PartitionOf(clusters), expected);
  }
}

TEST(ClusterColumns, NaNSimilarityIsNoEdge) {
  for (ClusterMethod method :
       {ClusterMethod::kStar, ClusterMethod::kComponents, ClusterMethod::kLeiden}) {
    SCOPED_TRACE(EnumName(method));
    Matrix sim(4);
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t j = 0; j < 4; ++j) sim.values[i * 4 + j] = kNaN;  // diagonal too
    }
    sim.Set(1, 3, 0.99);
    const std::vector<CandidateInfo> candidates = PlainCandidates(4);
    const std::vector<Cluster> clusters = ClusterColumns(sim.view(), candidates, Options(method));
    ExpectWellFormed(clusters, candidates);
    const Partition expected = {{0}, {1, 3}, {2}};
    EXPECT_EQ(PartitionOf(clusters), expected);
  }
}

TEST(ClusterColumns, EmptyAndSingleColumn) {
  for (ClusterMethod method :
       {ClusterMethod::kStar, ClusterMethod::kComponents, ClusterMethod::kLeiden}) {
    SCOPED_TRACE(EnumName(method));
    EXPECT_TRUE(ClusterColumns(SimilarityView{}, {}, Options(method)).empty());
    const Matrix one(1);
    const std::vector<Cluster> clusters =
        ClusterColumns(one.view(), PlainCandidates(1), Options(method));
    ASSERT_EQ(clusters.size(), 1u);
    EXPECT_EQ(clusters[0].representative, 0u);
    EXPECT_EQ(clusters[0].members, (std::vector<std::size_t>{0}));
    EXPECT_TRUE(clusters[0].also_kept.empty());
    EXPECT_EQ(clusters[0].decided_by, "singleton");
  }
}

TEST(ClusterColumns, PinnedColumnsAreNeverRemoved) {
  // 0 and 1 pinned and similar to each other; 2 similar to both; 3 similar to 1 only. Columns 2
  // and 3 have fewer missing values than the pinned ones.
  Matrix sim(4);
  sim.Set(0, 1, 0.99);
  sim.Set(0, 2, 0.99);
  sim.Set(1, 2, 0.99);
  sim.Set(1, 3, 0.98);
  std::vector<CandidateInfo> candidates = PlainCandidates(4);
  candidates[0].pinned = true;
  candidates[1].pinned = true;
  candidates[0].missing_ratio = candidates[1].missing_ratio = 0.5;

  const std::vector<Cluster> star =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kStar));
  ExpectWellFormed(star, candidates);
  ExpectStarGuarantee(star, sim, 0.9);
  // Star never absorbs a pinned column: each is a representative of its own cluster.
  EXPECT_EQ(ClusterOf(star, 0).representative, 0u);
  EXPECT_EQ(ClusterOf(star, 1).representative, 1u);
  EXPECT_TRUE(candidates[ClusterOf(star, 2).representative].pinned);
  EXPECT_EQ(ClusterOf(star, 3).representative, 1u);
  EXPECT_EQ(star.size(), 2u);

  const std::vector<Cluster> components =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kComponents));
  ExpectWellFormed(components, candidates);
  ASSERT_EQ(components.size(), 1u);
  EXPECT_TRUE(components[0].representative == 0u || components[0].representative == 1u);
  EXPECT_EQ(components[0].also_kept.size(), 1u);

  const std::vector<Cluster> leiden =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kLeiden));
  ExpectWellFormed(leiden, candidates);  // also_kept holds every pinned non-representative

  // A pinned column wins its cluster even when worse on everything else.
  Matrix pair(2);
  pair.Set(0, 1, 0.99);
  std::vector<CandidateInfo> pinned_second = PlainCandidates(2);
  pinned_second[1].pinned = true;
  pinned_second[1].missing_ratio = 0.9;
  pinned_second[1].binary = true;
  for (ClusterMethod method :
       {ClusterMethod::kStar, ClusterMethod::kComponents, ClusterMethod::kLeiden}) {
    const std::vector<Cluster> clusters =
        ClusterColumns(pair.view(), pinned_second, Options(method));
    ExpectWellFormed(clusters, pinned_second);
    ASSERT_EQ(clusters.size(), 1u) << EnumName(method);
    EXPECT_EQ(clusters[0].representative, 1u) << EnumName(method);
    EXPECT_EQ(clusters[0].decided_by, "pinned") << EnumName(method);
  }
}

/// Two cliques of `size` columns (|sim| 0.99 inside) joined by one edge just above threshold.
Matrix TwoBlocks(std::size_t size) {
  Matrix sim(2 * size);
  for (std::size_t i = 0; i < 2 * size; ++i) {
    for (std::size_t j = i + 1; j < 2 * size; ++j) {
      sim.Set(i, j, (i < size) == (j < size) ? 0.99 : 0.1);
    }
  }
  sim.Set(size - 1, size, 0.96);
  return sim;
}

TEST(ClusterLeiden, SeparatesTwoDenseBlocksJoinedByOneEdge) {
  const Matrix sim = TwoBlocks(10);
  const std::vector<CandidateInfo> candidates = PlainCandidates(20);
  std::vector<std::size_t> first(10), second(10);
  std::iota(first.begin(), first.end(), std::size_t{0});
  std::iota(second.begin(), second.end(), std::size_t{10});

  // Components see one cluster: the bridge joins them.
  const std::vector<Cluster> components =
      ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kComponents));
  ASSERT_EQ(components.size(), 1u);

  for (std::uint64_t seed : {std::uint64_t{1}, std::uint64_t{42}, std::uint64_t{12345}}) {
    ClusterOptions options = Options(ClusterMethod::kLeiden);
    options.seed = seed;
    const std::vector<Cluster> leiden = ClusterColumns(sim.view(), candidates, options);
    ExpectWellFormed(leiden, candidates);
    EXPECT_EQ(PartitionOf(leiden), (Partition{first, second})) << "seed " << seed;
  }
}

TEST(ClusterLeiden, DeterministicForAFixedSeed) {
  // Overlapping blocks where several partitions have similar modularity.
  for (std::uint64_t trial = 0; trial < 5; ++trial) {
    const Matrix sim = MakeBlockMatrix(40, 900 + trial);
    const std::vector<CandidateInfo> candidates = MakeCandidates(40, 950 + trial);
    ClusterOptions options = Options(ClusterMethod::kLeiden, 0.85);
    options.seed = 7 + trial;
    const std::vector<Cluster> first = ClusterColumns(sim.view(), candidates, options);
    const std::vector<Cluster> second = ClusterColumns(sim.view(), candidates, options);
    ASSERT_EQ(first.size(), second.size());
    for (std::size_t k = 0; k < first.size(); ++k) {
      EXPECT_EQ(first[k].representative, second[k].representative);
      EXPECT_EQ(first[k].members, second[k].members);
      EXPECT_EQ(first[k].also_kept, second[k].also_kept);
      EXPECT_EQ(first[k].decided_by, second[k].decided_by);
    }
  }
}

TEST(ClusterLeiden, HighResolutionOnOneEdgeTerminatesWithSingletons) {
  // Modularity gain of joining the pair: w / m - gamma * w * w / (2 m^2) = 1 - gamma / 2 < 0 for
  // gamma = 3: the first Leiden iteration changes nothing, which must end the run.
  Matrix sim(2);
  sim.Set(0, 1, 0.99);
  ClusterOptions options = Options(ClusterMethod::kLeiden);
  options.leiden_resolution = 3.0;
  const std::vector<Cluster> clusters = ClusterColumns(sim.view(), PlainCandidates(2), options);
  EXPECT_EQ(PartitionOf(clusters), (Partition{{0}, {1}}));
  options.leiden_resolution = 1.0;
  EXPECT_EQ(PartitionOf(ClusterColumns(sim.view(), PlainCandidates(2), options)),
            (Partition{{0, 1}}));
}

/// Largest modularity gain (resolution `gamma`, weights |sim| on the thresholded graph) of moving
/// one column to another cluster or to a new one of its own.
double BestNodeMoveGain(const Matrix& sim, const std::vector<Cluster>& clusters, double threshold,
                        double gamma) {
  const std::size_t n = sim.n;
  std::vector<std::size_t> cluster_of(n);
  for (std::size_t k = 0; k < clusters.size(); ++k) {
    for (std::size_t member : clusters[k].members) cluster_of[member] = k;
  }
  std::vector<double> strength(n, 0.0), cluster_strength(clusters.size(), 0.0);
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i != j && Edge(sim, i, j, threshold)) strength[i] += std::fabs(sim.at(i, j));
    }
    cluster_strength[cluster_of[i]] += strength[i];
    m += strength[i] / 2.0;
  }
  double best = -1.0;
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> to_cluster(clusters.size(), 0.0);
    for (std::size_t j = 0; j < n; ++j) {
      if (i != j && Edge(sim, i, j, threshold))
        to_cluster[cluster_of[j]] += std::fabs(sim.at(i, j));
    }
    const std::size_t own = cluster_of[i];
    const double own_rest = cluster_strength[own] - strength[i];
    auto gain = [&](double weight_to, double strength_of) {
      return ((weight_to - to_cluster[own]) -
              gamma * strength[i] * (strength_of - own_rest) / (2.0 * m)) /
             m;
    };
    best = std::max(best, gain(0.0, 0.0));  // a new cluster of its own
    for (std::size_t k = 0; k < clusters.size(); ++k) {
      if (k != own && to_cluster[k] > 0.0)
        best = std::max(best, gain(to_cluster[k], cluster_strength[k]));
    }
  }
  return best;
}

TEST(ClusterLeiden, UntilStableLeavesNoImprovingNodeMove) {
  // leiden_iterations < 0 runs until an iteration changes nothing; such an iteration started
  // with a local-moving phase that found no move improving modularity.
  for (std::uint64_t trial = 0; trial < 20; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const Matrix sim = MakeBlockMatrix(60, 1200 + trial);
    ClusterOptions options = Options(ClusterMethod::kLeiden, 0.7);
    options.seed = trial;
    const std::vector<Cluster> clusters =
        ClusterColumns(sim.view(), MakeCandidates(60, 1300 + trial), options);
    EXPECT_LE(BestNodeMoveGain(sim, clusters, 0.7, 1.0), 1e-12);
  }
}

// ---- ClusterColumns on random block matrices -------------------------------------------------

TEST(ClusterColumns, RandomBlockMatricesAllMethods) {
  constexpr std::size_t kColumns = 40;
  constexpr double kThreshold = 0.9;
  for (std::uint64_t trial = 0; trial < 50; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const Matrix sim = MakeBlockMatrix(kColumns, 100 + trial);
    const std::vector<CandidateInfo> candidates = MakeCandidates(kColumns, 200 + trial);
    const Partition components = RefComponents(sim, kThreshold);
    std::vector<std::size_t> component_of(kColumns);
    for (std::size_t k = 0; k < components.size(); ++k) {
      for (std::size_t member : components[k]) component_of[member] = k;
    }

    // Star with the default criteria: the star guarantee, pinned columns as representatives,
    // and no two unpinned representatives within the threshold (one would have absorbed the
    // other).
    const std::vector<Cluster> star =
        ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kStar, kThreshold));
    ExpectWellFormed(star, candidates);
    ExpectStarGuarantee(star, sim, kThreshold);
    for (const Cluster& cluster : star) {
      EXPECT_TRUE(cluster.also_kept.empty());
      for (std::size_t member : cluster.members) {
        if (candidates[member].pinned) EXPECT_EQ(member, cluster.representative);
      }
      EXPECT_EQ(component_of[cluster.representative], component_of[cluster.members.front()]);
    }
    for (const Cluster& a : star) {
      for (const Cluster& b : star) {
        if (a.representative >= b.representative) continue;
        if (candidates[a.representative].pinned || candidates[b.representative].pinned) continue;
        EXPECT_FALSE(Edge(sim, a.representative, b.representative, kThreshold))
            << "representatives " << a.representative << " and " << b.representative
            << " are within the threshold";
      }
    }

    // Star without the mean-similarity criterion: exactly the greedy loop of the definition.
    ClusterOptions no_mean = Options(ClusterMethod::kStar, kThreshold);
    no_mean.criteria = {Criterion::kPinned,   Criterion::kTarget,    Criterion::kMissing,
                        Criterion::kVariance, Criterion::kNotBinary, Criterion::kInputOrder};
    const std::vector<Cluster> star_plain = ClusterColumns(sim.view(), candidates, no_mean);
    const std::vector<RefCluster> expected_star =
        RefStar(sim, candidates, no_mean.criteria, kThreshold);
    ExpectWellFormed(star_plain, candidates);
    ASSERT_EQ(star_plain.size(), expected_star.size());
    for (std::size_t k = 0; k < star_plain.size(); ++k) {
      EXPECT_EQ(star_plain[k].representative, expected_star[k].representative);
      EXPECT_EQ(star_plain[k].members, expected_star[k].members);
      if (star_plain[k].members.size() > 1) {
        const auto [best, decided_by] =
            RefChoose(sim, candidates, expected_star[k].members, no_mean.criteria);
        EXPECT_EQ(best, expected_star[k].representative);
        EXPECT_EQ(star_plain[k].decided_by, decided_by)
            << "cluster of " << star_plain[k].representative;
      }
    }

    // Components: exactly the connected components, representative as ChooseRepresentative.
    const std::vector<Cluster> connected =
        ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kComponents, kThreshold));
    ExpectWellFormed(connected, candidates);
    Partition expected_components = components;
    std::sort(expected_components.begin(), expected_components.end());
    EXPECT_EQ(PartitionOf(connected), expected_components);
    for (const Cluster& cluster : connected) {
      std::string decided_by;
      EXPECT_EQ(cluster.representative,
                ChooseRepresentative(sim.view(), candidates, cluster.members, DefaultCriteria(),
                                     &decided_by));
      EXPECT_EQ(cluster.decided_by, decided_by);
    }

    // Leiden: communities never span two components; pinned columns kept.
    const std::vector<Cluster> leiden =
        ClusterColumns(sim.view(), candidates, Options(ClusterMethod::kLeiden, kThreshold));
    ExpectWellFormed(leiden, candidates);
    EXPECT_GE(leiden.size(), connected.size());
    for (const Cluster& cluster : leiden) {
      for (std::size_t member : cluster.members) {
        EXPECT_EQ(component_of[member], component_of[cluster.representative])
            << "Leiden cluster of " << cluster.representative << " spans two components";
      }
      std::string decided_by;
      EXPECT_EQ(cluster.representative,
                ChooseRepresentative(sim.view(), candidates, cluster.members, DefaultCriteria(),
                                     &decided_by));
    }

    // Star assignment (Pass 4's default): each Leiden community split into stars, so every
    // removed member is within the threshold of its representative; the stars refine the
    // communities (same seed, same communities); pinned columns are representatives.
    for (ClusterMethod method : {ClusterMethod::kLeiden, ClusterMethod::kComponents}) {
      ClusterOptions split = Options(method, kThreshold);
      split.assignment = ClusterAssignment::kStar;
      const std::vector<Cluster> stars = ClusterColumns(sim.view(), candidates, split);
      const std::vector<Cluster>& whole = method == ClusterMethod::kLeiden ? leiden : connected;
      ExpectWellFormed(stars, candidates);
      ExpectStarGuarantee(stars, sim, kThreshold);
      EXPECT_GE(stars.size(), whole.size());
      std::vector<std::size_t> community_of(kColumns);
      for (std::size_t k = 0; k < whole.size(); ++k) {
        for (std::size_t member : whole[k].members) community_of[member] = k;
      }
      for (const Cluster& cluster : stars) {
        EXPECT_TRUE(cluster.also_kept.empty());
        for (std::size_t member : cluster.members) {
          EXPECT_EQ(community_of[member], community_of[cluster.representative])
              << "a star spans two communities";
          if (candidates[member].pinned) EXPECT_EQ(member, cluster.representative);
        }
      }
    }
  }
}

TEST(ClusterAssignment, StarSplitsAChainedCommunity) {
  // Components put the chain 0 - 1 - 2 in one cluster, where 0 (the best) is not within the
  // threshold of 2; star assignment keeps 2 as its own representative.
  const Matrix sim = Chain();
  std::vector<CandidateInfo> candidates = PlainCandidates(3);
  candidates[0].missing_ratio = 0.0;
  candidates[1].missing_ratio = 0.1;
  candidates[2].missing_ratio = 0.2;
  ClusterOptions options = Options(ClusterMethod::kComponents);
  const std::vector<Cluster> community = ClusterColumns(sim.view(), candidates, options);
  ASSERT_EQ(community.size(), 1u);
  EXPECT_EQ(community[0].representative, 0u);
  options.assignment = ClusterAssignment::kStar;
  const std::vector<Cluster> stars = ClusterColumns(sim.view(), candidates, options);
  ExpectWellFormed(stars, candidates);
  ExpectStarGuarantee(stars, sim, 0.9);
  ASSERT_EQ(stars.size(), 2u);
  EXPECT_EQ(stars[0].members, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(stars[0].decided_by, "missing");
  EXPECT_EQ(stars[1].members, (std::vector<std::size_t>{2}));
  EXPECT_EQ(stars[1].decided_by, "singleton");
}

}  // namespace
}  // namespace descpipe
