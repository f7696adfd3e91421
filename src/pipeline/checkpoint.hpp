// Checkpoints: each pass's complete result, saved beside its outputs so that a later run can
// reuse the pass (resume) and still run the passes after it. Internal to src/pipeline.
//
// Files (in OUTDIR/.checkpoint/, written atomically, recorded with their hashes in the manifest):
//   pass1.json                 Pass1Result without the captured values
//   pass2.json                 Pass2Result's clusters, target rho and row counts
//   pass2_pearson.npy          Pass2Result::pearson (only when computed)
//   pass2_nonlinear_rows.npy   Pass2Result::nonlinear_sample (only when kept)
//   pass3.json                 Pass3Result
// The Spearman matrix and column lists are read back from the pass outputs themselves. Doubles
// are written as JSON numbers in their shortest round-trip form ("nan", "inf", "-inf" as text),
// so a loaded result equals the computed one bit for bit.
#pragma once

#include <string>
#include <vector>

#include "descpipe/pipeline.hpp"

namespace descpipe {

/// The checkpoint files of `stage` (1..3) as written for `result`, relative to OUTDIR.
std::vector<std::string> SavePass1(const Pass1Result& result, const std::string& out_dir);
std::vector<std::string> SavePass2(const Pass2Result& result, const std::string& out_dir);
std::vector<std::string> SavePass3(const Pass3Result& result, const std::string& out_dir);

// The loaders treat every file as untrusted input (a forged checkpoint with a matching hash in a
// forged manifest must not crash a run): indices, counts, shapes and names are checked against
// each other and against the run's own columns; anything inconsistent is an InvalidInput saying
// what, and the run computes the pass instead.

/// `descriptors`: the run's descriptor columns, which Pass 1's checkpoint must list exactly.
Pass1Result LoadPass1(const std::string& out_dir, const std::vector<std::string>& descriptors);
/// Needs the Pass 1 result (its survivors are Pass 2's columns).
Pass2Result LoadPass2(const std::string& out_dir, const Pass1Result& pass1);
Pass3Result LoadPass3(const std::string& out_dir, const Pass2Result& pass2);
/// final_descriptors.txt, which must be Pass 3 survivors in their order.
std::vector<std::string> LoadFinalDescriptors(const std::string& out_dir, const Pass3Result& pass3);

}  // namespace descpipe
