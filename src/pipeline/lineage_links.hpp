// The lineage of a run, pass by pass: each pass adds why it removed each column and in favour of
// which (its lineage contribution), and WriteLineage follows the links to the final descriptors
// (final_cluster_info.json, read by `descpipe explain`).
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/pipeline.hpp"

namespace descpipe {

/// Why one column was removed, and in favour of which.
struct LineageLink {
  int pass = 0;
  std::string reason;
  std::string linked_to;  ///< empty: none
  std::string measure;    ///< empty: none
  double value = std::nan("");
};

/// Removed column -> its link.
using LineageLinks = std::map<std::string, LineageLink>;

/// The contributions of Passes 1-4.
void AddPass1Links(const Pass1Result& pass1, const Config& config, LineageLinks& links);
void AddPass2Links(const Pass2Result& pass2, const Config& config, LineageLinks& links);
void AddPass3Links(const Pass3Result& pass3, const Config& config, LineageLinks& links);
void AddPass4Links(const Pass4Result& pass4, const Config& config, LineageLinks& links);

/// Writes final_cluster_info.json and lineage.csv for the input descriptors `inputs` (input
/// order), of which `kept` are final and every other one has its link in `links`. The direct
/// measures come from Pass 2's Spearman matrix (rho, R^2 on the final set) and Pass 4's fused
/// similarity (S); the representative rule is documented in descpipe/lineage.hpp.
void WriteLineage(const std::vector<std::string>& inputs, const std::vector<std::string>& kept,
                  const LineageLinks& links, const Pass2Result& pass2, const Pass4Result& pass4,
                  const Config& config, const std::string& out_dir);

}  // namespace descpipe
