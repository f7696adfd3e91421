// Lineage: why each input descriptor was removed and which final descriptor stands for it now.
//
// final_cluster_info.json (written by the pipeline after Pass 4) holds:
//   "input_descriptors": count, "final_descriptors": count,
//   "final": [ { "column": F, "stands_for": [ link..., each with "path" ] } ]   (input order)
//   "removed": { X: link }                                                      (input order)
// where a link is
//   { "column": X, "pass": 1..4, "pass_name": "statistics" | "spearman" | "vif" | "nonlinear",
//     "reason": a sentence, "linked_to": Y or null, "measure": "spearman_rho" |
//     "partial_correlation" | "nonlinear_similarity" | null, "value": number or null,
//     "represented_by": F or null, "path": [X, Y, ..., F] }
// Y is the column X was removed in favour of (its cluster representative in Passes 2 and 4, the
// remaining column with the largest |partial correlation| in Pass 3); following linked_to until a
// final descriptor gives represented_by. Pass 1 removals (and Pass 3 removals that no column
// explains) are represented by nothing. Every input descriptor is either in "final" or in
// "removed", exactly once.
#pragma once

#include <string>

namespace descpipe {

/// The story of descriptor `name` from OUTDIR/final_cluster_info.json, for a person: the pass
/// that removed it and why, each step of its path, and the final descriptor that represents it
/// now; for a final descriptor, the descriptors it stands for. Throws InvalidInput when the file
/// is missing or unreadable, or `name` is not an input descriptor of that run (with the closest
/// names). Reads under OUTDIR's shared lock: a run writing OUTDIR makes it fail at once, or wait
/// for the run with `wait`.
std::string ExplainDescriptor(const std::string& out_dir, const std::string& name,
                              bool wait = false);

}  // namespace descpipe
