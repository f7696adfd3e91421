// Lineage: why each input descriptor was removed and which final descriptor stands for it now.
//
// final_cluster_info.json (written by the pipeline after Pass 4) holds:
//   "input_descriptors": count, "final_descriptors": count, "lineage_min_rho": number,
//   "final": [ { "column": F, "stands_for": [ record... ] } ]   (input order)
//   "removed": { X: record }                                    (input order)
// where a record is
//   { "column": X, "pass": 1..4, "pass_name": "statistics" | "spearman" | "vif" | "nonlinear",
//     "reason": a sentence, "linked_to": Y or null, "measure": "spearman_rho" |
//     "partial_correlation" | "nonlinear_similarity" | null, "value": number or null,
//     "path": [X, Y, ...], "represented_by": F or null,
//     "representative_rule": "removal_link" | "similarity_chain" | "closest_final" | null,
//     "rho_to_representative", "s_to_representative", "r2_on_final": number or null,
//     "closest_final": C or null, "rho_to_closest_final": number or null }
// Y is the column X was removed in favour of (its cluster representative in Passes 2 and 4, the
// remaining column with the largest |partial correlation| in Pass 3); "path" follows linked_to
// from X until a final descriptor or a column removed in favour of nothing (the removal chain).
//
// Who represents X now is decided from direct measures, never from the chain alone:
//   1. the end of the removal chain, when it is final and every link of the chain is a similarity
//      within its pass's threshold (Pass 2: |rho| >= spearman_threshold; Pass 4: S >=
//      nonlinear_threshold): "removal_link" for one link (Y itself), "similarity_chain" for a
//      Pass 2 link then a Pass 4 link (a Pass 2 link means nearly the same ranks, and Pass 4's S
//      depends on the ranks only). A VIF link (a partial correlation) never counts;
//   2. "closest_final": otherwise the final descriptor with the largest |Spearman rho| to X (the
//      first in input order among equals), when that |rho| >= lineage_min_rho;
//   3. none (null) otherwise, and always for Pass 1 removals (removed for their own statistics).
// rho_to_representative is Spearman's rho from Pass 2's matrix; s_to_representative the fused
// nonlinear similarity of Pass 4 (known when X and F were both Pass 4 columns, i.e. X was removed
// in Pass 4); r2_on_final the R^2 of X's ranks regressed on the final descriptors' ranks (from
// Pass 2's matrix: how much of X the final set still carries, jointly), for every removal after
// Pass 1. closest_final is the final descriptor with the largest |rho| to X, whatever the rule.
// Every input descriptor is either in "final" or in "removed", exactly once; a final descriptor's
// "stands_for" lists the records it represents.
//
// lineage.csv holds the same, one row per input descriptor (input order): descriptor, fate
// (final | removed), pass, pass_name, reason, removed_in_favour_of, represented_by,
// representative_rule, rho_to_representative, s_to_representative, r2_on_final, closest_final,
// rho_to_closest_final (empty fields for none).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace descpipe {

/// The story of descriptor `name` from OUTDIR/final_cluster_info.json, for a person: the pass
/// that removed it and why, each step of its path, and the final descriptor that represents it
/// now; for a final descriptor, the descriptors it stands for. Throws InvalidInput when the file
/// is missing or unreadable, or `name` is not an input descriptor of that run (with the closest
/// names). Reads under OUTDIR's shared lock: a run writing OUTDIR makes it fail at once, or wait
/// for the run with `wait`.
std::string ExplainDescriptor(const std::string& out_dir, const std::string& name,
                              bool wait = false);

/// ExplainDescriptor's text for every input descriptor of `lineage_json` (the text of
/// `path`, OUTDIR/final_cluster_info.json, already read), final descriptors first, then removed
/// ones, each in input order. Throws InvalidInput naming `path` when it is not a valid lineage.
std::vector<std::pair<std::string, std::string>> ExplainEveryDescriptor(
    const std::string& lineage_json, const std::string& path, const std::string& out_dir);

}  // namespace descpipe
