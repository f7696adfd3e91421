// The pass orchestration: the only module that knows the order of the passes.
//
// Outputs written to the output directory (each atomically: temporary file, fsync, rename):
//   sampled_data.parquet            Pass 0, when sampling is configured
//   pass1_stats.csv                 one row per descriptor: statistics, kept, reason
//   pass1_columns.txt               kept descriptors, one per line, input order
//   pass1_variance_filtering.json   counts per reason and the options used
//   pass2_spearman_matrix.npy       Spearman matrix of the Pass 1 survivors (pass1_columns order)
//   pass2_columns.txt               Pass 2 survivors, input order
//   pass2_spearman.json             clusters, representatives, and removed -> representative
//   pass3_columns.txt               Pass 3 survivors, input order
//   pass3_vif.json                  removal order (VIF at removal, absorbed_by), final VIFs
//   pass4_hsic_matrix.npy           nHSIC of the Pass 3 survivors (pass3_columns order)
//   pass4_rdc_matrix.npy            RDC of the same (each only when its weight is > 0)
//   pass4_nonlinear.json            parameters, graph, clusters with S to the representative
//   final_descriptors.txt           the final descriptors, input order
//   final_cluster_info.json         lineage of every input descriptor (see lineage.hpp)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/context.hpp"
#include "descpipe/graph.hpp"
#include "descpipe/nonlinear.hpp"
#include "descpipe/similarity.hpp"
#include "descpipe/stats.hpp"
#include "descpipe/table.hpp"
#include "descpipe/vif.hpp"

namespace descpipe {

/// Progress callback: rows scanned so far and total rows (-1 when unknown).
using ProgressFn = std::function<void(std::uint64_t rows_done, std::int64_t rows_total)>;

struct Pass1Result {
  std::vector<std::string> columns;  ///< every descriptor, input order
  std::vector<ColumnStats> stats;    ///< parallel to columns
  std::vector<FilterDecision> decisions;
  std::vector<std::string> kept;  ///< kept descriptors, input order
  /// keep_columns that a rule would have removed: (column, the rule's reason); they are kept.
  std::vector<std::pair<std::string, RemovalReason>> pinned_overrides;
  /// The kept columns' values (rows x kept, NULL as NaN) when they were captured during the scan
  /// (RunPass1 with keep_values and small enough data); empty otherwise. Pass 2 consumes it.
  ColumnMatrix values;
  double seconds = 0.0;
};

/// One streaming scan of the descriptor columns of `table`: statistics of every column.
/// Memory: one batch of rows plus, per column, the distinct table and quantile sample.
/// With `capture` (rows = table.known_row_count(), columns = columns.size(), values allocated),
/// the values read (NULL as NaN) are also stored there, so a later pass need not read again.
std::vector<ColumnStats> ScanColumnStats(const Table& table,
                                         const std::vector<std::string>& columns,
                                         const StatsOptions& options, const Context& ctx,
                                         const ProgressFn& progress = {},
                                         ColumnMatrix* capture = nullptr);

/// Pass 1 on `table`: statistics and the removal rules. Throws InvalidInput when every column
/// would be removed (naming the rules and options responsible). With `keep_values`, the values
/// of the kept columns are kept in the result when the whole table takes at most a quarter of
/// ctx.memory_limit_bytes() and its row count is known (Parquet), saving Pass 2 a second read.
Pass1Result RunPass1(const Table& table, const Config& config, const Context& ctx,
                     const ProgressFn& progress = {}, bool keep_values = false);

/// Writes pass1_stats.csv, pass1_columns.txt and pass1_variance_filtering.json into `out_dir`.
void WritePass1Outputs(const Pass1Result& result, const Config& config, const std::string& out_dir);

/// Formats the Pass 1 table for `descpipe stats`: "table" (aligned text), "csv" or "json".
std::string FormatPass1(const Pass1Result& result, const std::string& format);

struct Pass2Result {
  std::vector<std::string> columns;  ///< Pass 1 survivors (the matrix order)
  std::vector<double> rho;           ///< columns x columns Spearman matrix, row-major
  std::vector<Cluster> clusters;     ///< indices into `columns`
  std::vector<std::string> kept;     ///< survivors, input order
  std::uint64_t rows_total = 0;      ///< rows of the (possibly Pass 0-sampled) input
  std::uint64_t rows_used = 0;       ///< rows in the rank matrix (fewer when memory-limited)
  std::string row_sample_reason;     ///< why rows were sampled ("" when all were used)
  /// How the rank matrix was held: "doubles", "doubles, row sample" or "float ranks, N reads of
  /// column blocks" (see RunPass2).
  std::string storage;
  std::vector<double> target_rho;  ///< rho of each column with target_column (empty without)
  /// Pearson matrix of `columns` (row-major), computed only when Pass 3 asks for it.
  std::vector<double> pearson;
  /// For Pass 4: the ranks of the survivors (`kept` order; NaN = missing) at a reproducible
  /// sample of at most `nonlinear_rows` of the rows used (all of them when fewer), rows in
  /// ascending order. Empty unless RunPass2 was asked for it.
  ColumnMatrix nonlinear_sample;
  double seconds = 0.0;
};

struct Pass3Result {
  std::vector<std::string> columns;  ///< Pass 2 survivors (input of Pass 3)
  VifResult vif;                     ///< indices into `columns`
  std::vector<std::string> kept;     ///< survivors, input order
  double seconds = 0.0;
};

/// Pass 2: ranks of the Pass 1 survivors (plus target_column), the Spearman matrix, clusters and
/// representatives. Memory (planned against ctx.memory_limit_bytes() before anything large is
/// allocated; docs/SPEARMAN.md, "Memory"): every row as doubles when it fits, else columns read
/// in blocks and ranks held as floats, else a reproducible row sample (config.exact: an
/// InvalidInput instead); when even the p x p matrices do not fit, an InvalidInput naming the
/// memory_limit to raise to.
/// `pass1_values` (Pass 1's captured values, handed over: std::move(pass1.values)) is used
/// instead of reading the table again when present, and released as soon as it is not needed.
/// With `nonlinear_rows` > 0, keeps that row sample of the survivors' ranks for Pass 4.
Pass2Result RunPass2(const Table& table, const Pass1Result& pass1, ColumnMatrix pass1_values,
                     const Config& config, const Context& ctx, const ProgressFn& progress = {},
                     bool pearson = false, std::size_t nonlinear_rows = 0);

/// Writes pass2_spearman_matrix.npy, pass2_columns.txt and pass2_spearman.json.
void WritePass2Outputs(const Pass2Result& result, const Config& config, const std::string& out_dir);

/// Pass 3: iterative VIF elimination on the Pass 2 survivors, with the Spearman matrix of Pass 2
/// (vif_correlation: spearman) or the Pearson matrix of the same rows (pearson).
Pass3Result RunPass3(const Pass1Result& pass1, const Pass2Result& pass2, const Config& config,
                     const Context& ctx);

/// Writes pass3_columns.txt and pass3_vif.json.
void WritePass3Outputs(const Pass3Result& result, const Config& config, const std::string& out_dir);

struct Pass4Result {
  std::vector<std::string> columns;  ///< Pass 3 survivors (the matrix order)
  NonlinearResult similarity;        ///< nHSIC, RDC and fused S over `columns`
  std::vector<double> graph;         ///< p x p edge weights: S where an edge, else 0
  std::size_t edges = 0;
  std::vector<Cluster> clusters;     ///< Leiden clusters, indices into `columns`
  std::vector<std::string> kept;     ///< the final descriptors, input order
  std::uint64_t rows_used = 0;       ///< rows of the sample HSIC and RDC saw
  std::uint64_t rows_available = 0;  ///< rows Pass 2 used (the sample's population)
  std::string row_sample_reason;     ///< why fewer rows than the sample were used ("" if not)
  std::string skipped_reason;        ///< non-empty when too few rows: every column kept
  double seconds = 0.0;
};

/// Pass 4: nHSIC and RDC of the Pass 3 survivors on Pass 2's row sample (`sample`, handed over:
/// std::move(pass2.nonlinear_sample), released when used), the fused similarity graph, Leiden
/// clusters and one representative per cluster (quality order of Pass 2, then the highest
/// weighted degree inside the cluster). Singletons survive.
Pass4Result RunPass4(const Pass1Result& pass1, const Pass2Result& pass2, ColumnMatrix sample,
                     const Pass3Result& pass3, const Config& config, const Context& ctx,
                     const ProgressFn& progress = {});

/// Writes pass4_hsic_matrix.npy, pass4_rdc_matrix.npy, pass4_nonlinear.json and
/// final_descriptors.txt.
void WritePass4Outputs(const Pass4Result& result, const Config& config, const std::string& out_dir);

enum class Stage { kPass1 = 1, kPass2 = 2, kPass3 = 3, kPass4 = 4 };

struct RunOptions {
  Stage until = Stage::kPass2;  ///< last pass to run
  bool quiet = false;
  /// Reuse the passes of an earlier run in the output directory whose fingerprint (inputs,
  /// options, version) matches and whose files are intact (run_manifest.json); later passes are
  /// computed again. false: compute everything.
  bool resume = true;
  /// When another process holds OUTDIR (docs/RUNS.md, locking): wait for it instead of failing.
  bool wait = false;
  /// Called as each pass starts with a sentence saying which pass runs and which are complete in
  /// OUTDIR (the CLI prints the last one when SIGINT or SIGTERM stops the run).
  std::function<void(const std::string&)> on_status;
  /// Called with the pass's name and its progress (`done` of `total` units, total <= 0: unknown)
  /// whenever the pass reports it, from whichever thread computes; it must be quick and must not
  /// throw (the Python package stores the values for its own thread to show).
  std::function<void(const std::string& pass, std::uint64_t done, std::int64_t total)> on_progress;
};

struct PassSummary {
  std::string name;
  std::size_t columns_in = 0;
  std::size_t columns_out = 0;
  double seconds = 0.0;
  std::uint64_t peak_rss_bytes = 0;
  bool reused = false;  ///< taken from an earlier run (resume): no time, no memory
};

struct RunResult {
  std::vector<PassSummary> passes;
  std::vector<std::string> final_columns;
};

/// Runs the pipeline described by `config` (inputs, output_dir, options) up to `options.until`.
/// Nothing is written before the inputs have been validated; every output is atomic.
RunResult RunPipeline(const Config& config, const RunOptions& options, const Context& ctx);
/// Runs the pipeline on `input`, a table already opened (from files, or from memory with
/// Table::FromMemory): `config`'s inputs and column-role options are not read again, except
/// target_column and id_columns (WithRunRoles), which every run applies to its table. The
/// outputs are those of the same table read from a file, byte for byte, except for
/// run_manifest.json's "inputs".
RunResult RunPipeline(const Table& input, const Config& config, const RunOptions& options,
                      const Context& ctx);

/// The roles a run gives besides the input options (metadata_columns, n_metadata_cols,
/// descriptor_columns): `table` with `target_column` and the identifier columns made metadata.
/// The target is never a descriptor (Pass 2 still reads it to choose representatives); naming it
/// in descriptor_columns or keep_columns is an error. id_columns `auto` looks for identifiers
/// (FindIdColumns) among the descriptors not named in descriptor_columns or keep_columns (a
/// column named there that looks like one is only warned about), and logs one warning per column
/// taken; a list takes exactly those columns; `none` takes none. `ids` (optional) receives the
/// identifier columns, each with why it was taken. RunPipeline calls it once, before Pass 0.
/// @throws InvalidInput for a target that is missing or not numeric, a listed identifier that is
/// not a column, a column named both as an identifier and as a descriptor, or no descriptor left.
Table WithRunRoles(const Table& table, const Config& config, const Context& ctx,
                   std::vector<IdColumn>* ids = nullptr);

/// The highest pass this build implements.
Stage LastImplementedStage();
/// "pass1" .. "pass4": the stages `--until` accepts, in order.
std::vector<std::string> StageNames();
/// The stage named `name` ("pass2"). @throws InvalidInput listing StageNames() otherwise.
Stage ParseStage(const std::string& name);

/// Removes the temporary files of outputs this process is writing (never a finished output).
/// Async-signal-safe: for a SIGINT/SIGTERM handler, so that a stopped command leaves nothing
/// behind (what is complete stays complete: run_manifest.json lists it).
void RemoveUnfinishedOutputs();

struct ApplyOptions {
  std::string out_dir;              ///< output directory of a finished `descpipe run`
  std::vector<std::string> inputs;  ///< tables with the same columns (files, directories, globs)
  std::string output;               ///< Parquet file to write
  Stage after = Stage::kPass4;      ///< kPass2, kPass3, or kPass4 (the final descriptors)
  bool wait = false;                ///< wait for a run that holds OUTDIR instead of failing
};

/// `descpipe apply`: writes the run's metadata columns, then the descriptors kept after
/// `options.after` (in that pass's list order: input order), for every row of `options.inputs`,
/// to a Parquet file (atomically). Reads OUTDIR/run_manifest.json for the metadata columns and
/// the input options. A column missing from the inputs, a pass the run did not complete, an
/// output that is an input or lies inside OUTDIR, or a run holding OUTDIR (unless `wait`) are
/// InvalidInput errors naming them. Reads OUTDIR under a shared lock. @returns the rows written.
std::int64_t ApplySelection(const ApplyOptions& options, const Context& ctx);

}  // namespace descpipe
