// What Passes 2 and 3 know about each descriptor when choosing representatives. Internal.
#pragma once

#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/graph.hpp"
#include "descpipe/pipeline.hpp"

namespace descpipe {

/// CandidateInfo of each of `columns` (names of Pass 1 descriptors): pinned from keep_columns,
/// missing ratio, normalised variance and binary from Pass 1, input position, and
/// |target_rho[i]| as target similarity (NaN when `target_rho` is empty).
std::vector<CandidateInfo> BuildCandidates(const Pass1Result& pass1,
                                           const std::vector<std::string>& columns,
                                           const Config& config,
                                           const std::vector<double>& target_rho);

}  // namespace descpipe
