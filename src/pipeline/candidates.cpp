#include "pipeline/candidates.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <set>

namespace descpipe {

std::vector<CandidateInfo> BuildCandidates(const Pass1Result& pass1,
                                           const std::vector<std::string>& columns,
                                           const Config& config,
                                           const std::vector<double>& target_rho) {
  std::map<std::string, std::size_t> input_position;
  for (std::size_t i = 0; i < pass1.columns.size(); ++i) input_position[pass1.columns[i]] = i;
  const std::set<std::string> pinned(config.keep_columns.begin(), config.keep_columns.end());
  std::vector<CandidateInfo> candidates(columns.size());
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::size_t position = input_position.at(columns[i]);
    const ColumnStats& stats = pass1.stats[position];
    candidates[i].pinned = pinned.count(columns[i]) > 0;
    candidates[i].target_similarity =
        target_rho.empty() ? std::numeric_limits<double>::quiet_NaN() : std::fabs(target_rho[i]);
    candidates[i].missing_ratio = stats.missing_ratio;
    candidates[i].normalized_variance = pass1.decisions[position].normalized_variance;
    candidates[i].binary = stats.distinct_exact && stats.n_distinct == 2;
    candidates[i].input_position = position;
  }
  return candidates;
}

}  // namespace descpipe
