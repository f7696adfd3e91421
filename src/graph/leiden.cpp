// Leiden through igraph (Traag, Waltman & van Eck, "From Louvain to Leiden", Sci. Rep. 2019).
// Modularity is optimised as igraph documents it: node weights = strengths and resolution
// gamma / (2 m), where m is the total edge weight. CPM: unit node weights, resolution gamma.
#include "graph/leiden.hpp"

#include <igraph.h>

#include <cmath>
#include <mutex>
#include <vector>

#include "descpipe/error.hpp"

namespace descpipe::graph {
namespace {

void Check(igraph_error_t code, const char* what) {
  if (code != IGRAPH_SUCCESS) {
    throw NumericalError(fmt::format("igraph failed in {}: {}", what, igraph_strerror(code)));
  }
}

/// Owns igraph objects for the duration of a call.
struct IgraphObjects {
  igraph_t graph;
  igraph_vector_int_t edges;
  igraph_vector_t weights;
  igraph_vector_t strengths;
  igraph_vector_int_t membership;
  bool graph_made = false;
  IgraphObjects() {
    igraph_vector_int_init(&edges, 0);
    igraph_vector_init(&weights, 0);
    igraph_vector_init(&strengths, 0);
    igraph_vector_int_init(&membership, 0);
  }
  ~IgraphObjects() {
    if (graph_made) igraph_destroy(&graph);
    igraph_vector_int_destroy(&edges);
    igraph_vector_destroy(&weights);
    igraph_vector_destroy(&strengths);
    igraph_vector_int_destroy(&membership);
  }
  IgraphObjects(const IgraphObjects&) = delete;
  IgraphObjects& operator=(const IgraphObjects&) = delete;
};

std::mutex& IgraphMutex() {
  static std::mutex mutex;  // igraph's default RNG and error state are global
  return mutex;
}

}  // namespace

void InstallIgraphErrorHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Never abort the process: errors come back as codes (Check turns them into exceptions).
    igraph_set_error_handler(igraph_error_handler_ignore);
    igraph_set_warning_handler(igraph_warning_handler_ignore);
  });
}

std::vector<std::size_t> LeidenMembership(const SimilarityView& similarity, double threshold,
                                          std::uint64_t seed, double resolution, int iterations,
                                          LeidenObjective objective) {
  InstallIgraphErrorHandler();
  std::lock_guard<std::mutex> lock(IgraphMutex());
  const std::size_t n = similarity.n;
  std::vector<std::size_t> label(n);
  IgraphObjects objects;
  double total_weight = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      const double value = similarity.at(i, j);
      if (std::isnan(value) || std::fabs(value) < threshold) continue;
      Check(igraph_vector_int_push_back(&objects.edges, static_cast<igraph_integer_t>(i)),
            "building the graph");
      Check(igraph_vector_int_push_back(&objects.edges, static_cast<igraph_integer_t>(j)),
            "building the graph");
      Check(igraph_vector_push_back(&objects.weights, std::fabs(value)), "building the graph");
      total_weight += std::fabs(value);
    }
  }
  if (total_weight == 0.0) {  // no edge: every column is its own community
    for (std::size_t i = 0; i < n; ++i) label[i] = i;
    return label;
  }
  Check(igraph_create(&objects.graph, &objects.edges, static_cast<igraph_integer_t>(n),
                      IGRAPH_UNDIRECTED),
        "igraph_create");
  objects.graph_made = true;
  const bool modularity = objective == LeidenObjective::kModularity;
  if (modularity) {
    Check(igraph_strength(&objects.graph, &objects.strengths, igraph_vss_all(), IGRAPH_ALL,
                          IGRAPH_LOOPS, &objects.weights),
          "igraph_strength");
  }
  const double gamma = modularity ? resolution / (2.0 * total_weight) : resolution;
  // Same seed, same result (igraph's Leiden draws from the default RNG).
  igraph_rng_seed(igraph_rng_default(), static_cast<igraph_uint_t>(seed));
  igraph_integer_t clusters = 0;
  igraph_real_t quality = 0.0;
  auto run = [&](bool start, int n_iterations) {
    Check(igraph_community_leiden(&objects.graph, &objects.weights,
                                  modularity ? &objects.strengths : nullptr, gamma, /*beta=*/0.01,
                                  start, static_cast<igraph_integer_t>(n_iterations),
                                  &objects.membership, &clusters, &quality),
          "igraph_community_leiden");
  };
  if (iterations >= 0) {
    run(false, iterations);
  } else {
    // Not igraph's own negative n_iterations: igraph 0.10.2 (issue #2798) stops after the first
    // iteration that changes the partition, and loops forever when the first one changes nothing
    // (e.g. a resolution above 1 on a single edge). One iteration at a time instead, until one
    // changes nothing; quality only increases, the cap guards against rounding ties.
    constexpr int kMaxIterations = 1000;
    run(false, 1);
    std::vector<igraph_integer_t> previous(n);
    for (int iteration = 1; iteration < kMaxIterations; ++iteration) {
      for (std::size_t i = 0; i < n; ++i) {
        previous[i] = VECTOR(objects.membership)[static_cast<igraph_integer_t>(i)];
      }
      run(true, 1);
      bool changed = false;
      for (std::size_t i = 0; i < n && !changed; ++i) {
        changed = previous[i] != VECTOR(objects.membership)[static_cast<igraph_integer_t>(i)];
      }
      if (!changed) break;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    label[i] =
        static_cast<std::size_t>(VECTOR(objects.membership)[static_cast<igraph_integer_t>(i)]);
  }
  return label;
}

}  // namespace descpipe::graph
