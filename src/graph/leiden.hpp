// igraph's Leiden community detection on a thresholded similarity graph. Internal to src/graph.
#pragma once

#include <cstdint>
#include <vector>

#include "descpipe/graph.hpp"

namespace descpipe::graph {

/// Installs descpipe's igraph error handler once (igraph's default handler aborts the process):
/// errors are then returned as codes and turned into descpipe::Error by the callers.
void InstallIgraphErrorHandler();

/// Community of each column: Leiden optimising `objective` (resolution `resolution`) on the graph
/// with an edge of weight |s| between columns whose |s| >= threshold. Seeded: the same inputs
/// and seed give the same membership. Labels are arbitrary integers < n.
std::vector<std::size_t> LeidenMembership(const SimilarityView& similarity, double threshold,
                                          std::uint64_t seed, double resolution, int iterations,
                                          LeidenObjective objective = LeidenObjective::kModularity);

}  // namespace descpipe::graph
