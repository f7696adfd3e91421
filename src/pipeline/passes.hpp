// The passes behind one interface. RunPipeline (pipeline.cpp) loops over Passes(): for each it
// reuses an earlier run's result (Load) when the manifest allows, or computes it (Compute),
// writes its outputs and checkpoints (Write) and records it in the manifest. A pass reads what
// earlier passes produced from the RunState, const, and fills its own part; what it takes over
// (a matrix handed on to save memory) is moved out explicitly in Compute.
//
// Adding a pass: a class here (passes.cpp), its entry in Passes(), an OptionGroup for its options
// (config.hpp), its Stage (pipeline.hpp), and its lineage contribution (lineage_links.hpp).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/context.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/table.hpp"
#include "pipeline/lineage_links.hpp"

namespace descpipe {

/// What the passes of one run produce and share.
struct RunState {
  Table table;                    ///< the input; Pass 0's sample once Pass 0 ran
  std::int64_t sampled_rows = 0;  ///< Pass 0's sample
  double sampling_seconds = 0.0;
  Pass1Result pass1;
  Pass2Result pass2;
  Pass3Result pass3;
  Pass4Result pass4;
  /// The survivors of the last pass run (the final descriptors after Pass 4).
  std::vector<std::string> kept;
};

/// What every pass is given besides the state.
struct PassInputs {
  const Config& config;
  const Context& ctx;
  const RunOptions& options;
};

/// One pass of the pipeline.
class Pass {
 public:
  virtual ~Pass() = default;
  /// 0..4: the manifest's stage, and the OptionGroup whose options join its fingerprint.
  virtual int stage() const = 0;
  /// "pass2": the log's prefix and the --until name.
  virtual const char* name() const = 0;
  /// "pass2_spearman": the manifest's and the summary's name.
  virtual const char* long_name() const = 0;
  /// Whether the run includes this pass (Pass 0 only when sampling is asked for).
  virtual bool Enabled(const Config& config) const {
    (void)config;
    return true;
  }
  /// Reads an earlier run's result back from OUTDIR (checkpoints and outputs, validated as
  /// untrusted input). @throws Error when they are not valid: the pass is computed instead.
  virtual void Load(const PassInputs& in, RunState& state) const = 0;
  /// Computes the pass from the earlier passes' results, reporting `progress` (units of
  /// progress_unit()).
  virtual void Compute(const PassInputs& in, RunState& state, const ProgressFn& progress) const = 0;
  /// Writes the pass's outputs and checkpoints; returns their names in OUTDIR for the manifest.
  virtual std::vector<std::string> Write(const PassInputs& in, const RunState& state) const = 0;
  /// A file Compute wrote that is removed (and forgotten by the manifest) when the run fails
  /// before the next pass completes: a sample no pass used is not kept. Empty: none.
  virtual std::string RemovedIfNextFails(const Config& config) const {
    (void)config;
    return "";
  }
  /// After Load or Compute: the table the later passes read (Pass 0 opens its sample).
  virtual void Prepare(const PassInputs& in, RunState& state) const {
    (void)in;
    (void)state;
  }
  /// After Compute: the summary (columns in and out, seconds; peak memory is the caller's), the
  /// log line and the manifest's extra fields.
  virtual PassSummary Summary(const RunState& state) const = 0;
  virtual std::string LogLine(const PassInputs& in, const RunState& state) const = 0;
  virtual nlohmann::ordered_json ManifestFields(const PassInputs& in, const RunState& state) const {
    (void)in;
    (void)state;
    return nlohmann::ordered_json::object();
  }
  /// The file in OUTDIR that lists its survivors, one per line (what `apply --after` reads);
  /// nullptr when it writes none.
  virtual const char* survivors_file() const { return nullptr; }
  /// The survivors after this pass (after Load or Compute).
  virtual std::vector<std::string> Kept(const RunState& state) const = 0;
  /// Adds this pass's removals to the lineage (final_cluster_info.json); after Compute.
  virtual void AddLineage(const PassInputs& in, const RunState& state, LineageLinks& links) const {
    (void)in;
    (void)state;
    (void)links;
  }
  /// What its progress line counts ("rows", "tiles"); nullptr: no progress line.
  virtual const char* progress_unit() const { return "rows"; }
};

/// Passes 0-4, in order.
const std::vector<std::unique_ptr<Pass>>& Passes();

}  // namespace descpipe
