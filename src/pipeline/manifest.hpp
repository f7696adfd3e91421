// OUTDIR/run_manifest.json: what a run read, with which options, and what each pass wrote.
// Internal to src/pipeline.
//
// {
//   "descpipe_version", "duckdb_version",
//   "inputs": { "files": [ {path, format, size_bytes, mtime_ns, rows, xxh3_64 (or xxh3_64_sampled)}
//   ],
//               "verify_inputs", "fingerprint": hex },
//   "columns": { "metadata": [names], "descriptors": count, "target_column": name or null,
//                "id_columns": [ {name, reason} ] },
//   "config": every option's value as given, defaults included (ConfigJson; threads 0 and
//             memory_limit 0 mean automatic),
//   "resources": { "threads", "threads_from", "memory_limit_bytes", "memory_limit_from",
//                  "physical_memory_bytes", "cgroup_memory_limit_bytes" (null: none) }: what the
//                run used (the Context) and where it came from; in no fingerprint,
//   "passes": [ { "pass", "fingerprint", "columns_in", "columns_out", "seconds",
//                 "peak_rss_bytes", "outputs": [ {file, size_bytes, xxh3_64} ], ... } ]
// }
// A pass's fingerprint hashes the descpipe version, the inputs' fingerprint (their contents: see
// verify_inputs) and every option that pass or an earlier one reads (never `threads`: outputs do
// not depend on it). The manifest is rewritten atomically after each pass, once that pass's
// outputs are all in place. Everything read back from an earlier manifest is untrusted: a file
// name must be a plain name inside OUTDIR (io::OutdirFile), a field of the wrong type counts as
// absent, and a damaged manifest means nothing is reused.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/table.hpp"

namespace descpipe {

class Manifest {
 public:
  /// Hashes the inputs (config.verify_inputs). The passes of OUTDIR's existing manifest become
  /// candidates for reuse (and their files for removal).
  Manifest(const Table& table, const Config& config, const Context& ctx);

  /// The fingerprint of pass `stage` (0 = sampling .. 4).
  std::string Fingerprint(int stage) const;
  /// True when the previous manifest holds pass `stage` with the same fingerprint and every one
  /// of its recorded files is present with the recorded size and hash; otherwise `why` says what
  /// differs.
  bool CanReuse(int stage, std::string* why) const;
  /// Records pass `stage` as reused (its previous entry) and saves; returns that entry's summary.
  PassSummary Reuse(int stage);
  /// Deletes the files the previous manifest recorded for passes >= `stage`: they no longer
  /// match this run (which may also stop before rewriting them, with --until).
  void RemoveStaleOutputs(int stage) const;
  /// Records a finished pass and its output files (names inside the output directory; each is
  /// hashed), then rewrites OUTDIR/run_manifest.json atomically.
  void RecordPass(int stage, const PassSummary& summary, const std::vector<std::string>& outputs,
                  nlohmann::ordered_json extra = nlohmann::ordered_json::object());
  /// Removes pass `stage` from this run's list and saves: its outputs are being deleted (the
  /// sample of a run that fails before Pass 1 completes).
  void Forget(int stage);
  /// Writes OUTDIR/run_manifest.json atomically (the passes recorded so far).
  void Save() const;
  /// Records the target and the identifier columns (WithRunRoles) in "columns"; call before Save.
  void SetRoles(const std::string& target_column, const std::vector<IdColumn>& id_columns);
  /// The device this run computes on ("CPU (device: cpu)", "GPU 0 (NVIDIA ...)"): recorded at the
  /// top and in each pass computed from now on (a reused pass keeps the device it was computed on).
  void SetDevice(const std::string& description);

 private:
  struct RecordedOutput {
    std::string name;  ///< as recorded ("pass1_stats.csv", ".checkpoint/pass1.json")
    std::string path;  ///< inside OUTDIR (checked)
    std::uint64_t size = 0;
    std::string hash;
  };
  struct PreviousPass {
    int stage = -1;
    std::string fingerprint;
    std::vector<RecordedOutput> outputs;  ///< the names that are plain names inside OUTDIR
    std::string problem;                  ///< non-empty: never reused (e.g. a name outside OUTDIR)
    nlohmann::ordered_json entry;         ///< copied into this run's manifest when reused
  };

  void LoadPrevious();
  const PreviousPass* PreviousEntry(int stage) const;

  std::string out_dir_;
  int threads_ = 1;
  nlohmann::ordered_json json_;
  std::vector<PreviousPass> previous_;
  std::vector<std::string> option_groups_;  ///< per stage: the JSON text of its options
  std::string device_;
};

}  // namespace descpipe
