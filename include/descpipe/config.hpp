// Run configuration: every option of every pass, its default, and loading from YAML (descpipe's
// own flat keys, plus the original descriptor_pipeline's flat and sectioned files) and from
// `--set key=value` overrides.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/graph.hpp"
#include "descpipe/nonlinear.hpp"
#include "descpipe/similarity.hpp"
#include "descpipe/stats.hpp"
#include "descpipe/table.hpp"

namespace descpipe {

/// How a resumed run checks that an input file is the one an earlier run read (docs/RUNS.md).
enum class InputVerification {
  kFast,  ///< size, mtime, the Parquet footer (or a CSV's first and last MiB) and 64 sampled blocks
  kFull,  ///< size, mtime and a hash of every byte
};
inline const EnumNames<InputVerification>& NamesOf(InputVerification) {
  static const EnumNames<InputVerification> names = {{"fast", InputVerification::kFast},
                                                     {"full", InputVerification::kFull}};
  return names;
}

/// What `id_columns` says about identifier columns (integer columns that number rows or compounds).
enum class IdColumnsMode {
  kAuto,    ///< found by name or values among the descriptors (FindIdColumns)
  kNone,    ///< none: every numeric column may be a descriptor
  kListed,  ///< exactly the columns of Config::id_columns
};

struct Config {
  // Input / output
  std::vector<std::string> inputs;  ///< files, directories, globs (`parquet_glob` maps here)
  std::string output_dir;
  bool union_by_name = false;
  InputVerification verify_inputs = InputVerification::kFull;
  std::vector<std::string> metadata_columns;
  std::optional<int> n_metadata_cols;
  std::vector<std::string> descriptor_columns;
  std::vector<std::string> na_values = DefaultNaValues();   ///< CSV: values read as missing
  NonNumericPolicy non_numeric = NonNumericPolicy::kError;  ///< CSV: text among numbers

  // Pass 0
  std::int64_t sample_rows = 0;
  std::int64_t sample_per_file = 0;
  std::uint64_t random_seed = 42;

  // Pass 1
  double max_missing_ratio = 0.5;
  std::int64_t min_effective_n = 100;
  double max_mode_fraction = 1.0;
  double variance_threshold = 0.002;
  RangeMode range_mode = RangeMode::kTrimmed;
  double trim_low_percent = 2.5;
  double trim_high_percent = 97.5;
  bool remove_binary = false;
  std::int64_t quantile_sample_size = 65536;

  // Pass 2
  double spearman_threshold = 0.95;
  SpearmanMissing spearman_missing = SpearmanMissing::kPairwise;
  ClusterMethod spearman_cluster_method = ClusterMethod::kStar;
  std::vector<Criterion> representative_criteria = DefaultCriteria();
  std::vector<std::string> keep_columns;  ///< pinned: always survive
  /// Representatives closer to it win (criterion target); always metadata, never a descriptor.
  std::string target_column;
  IdColumnsMode id_columns_mode = IdColumnsMode::kAuto;  ///< identifier columns: metadata
  std::vector<std::string> id_columns;                   ///< kListed: the identifier columns
  bool exact = false;  ///< fail instead of sampling rows when the rank matrix exceeds memory_limit
  double leiden_resolution = 0.5;  ///< Leiden (Pass 2 with leiden, Pass 4); docs/NONLINEAR.md
  int leiden_iterations = -1;      ///< < 0: until stable

  // Pass 3
  double vif_threshold = 10.0;
  bool vif_pearson = false;  ///< vif_correlation: false = spearman (Pass 2 matrix), true = pearson

  // Pass 4
  std::int64_t nonlinear_max_rows = 20000;  ///< rows of the reproducible sample HSIC/RDC use
  int rdc_k = 20;
  double rdc_s = 1.0 / 6.0;
  int rdc_seeds = 5;
  int hsic_D = 512;
  double w_hsic = 0.5;
  double w_rdc = 0.5;
  double nonlinear_threshold =
      0.6;                 ///< edge when the fused similarity S >= this (docs/NONLINEAR.md)
  int nonlinear_topk = 0;  ///< > 0: keep only each column's k strongest edges
  /// Skip HSIC where RDC shows S cannot reach nonlinear_threshold (nHSIC NaN there); star
  /// assignment only (community reports S to representatives below the threshold).
  bool nonlinear_screening = true;
  LeidenObjective leiden_objective = LeidenObjective::kModularity;
  /// star: Leiden communities split into stars, every removed column has S >= nonlinear_threshold
  /// to its representative; community: one representative per community (earlier versions).
  ClusterAssignment nonlinear_assignment = ClusterAssignment::kStar;
  /// Lineage: a removed column that no direct link represents is represented by the final
  /// descriptor with the largest |rho| to it when that is at least this (descpipe/lineage.hpp).
  double lineage_min_rho = 0.5;
  /// Pass 4 representatives: the cluster hub (highest weighted degree, "mean_similarity") comes
  /// right after pinned and target, because Pass 4's members are dependent, not duplicates.
  std::vector<Criterion> nonlinear_representative_criteria = {
      Criterion::kPinned,   Criterion::kTarget,    Criterion::kMeanSimilarity, Criterion::kMissing,
      Criterion::kVariance, Criterion::kNotBinary, Criterion::kInputOrder};

  // System
  int threads = 0;                 ///< 0: OMP_NUM_THREADS, else the CPUs of the affinity mask
  std::uint64_t memory_limit = 0;  ///< bytes; 0: half of min(physical RAM, cgroup memory limit)
  std::string device = "cpu";      ///< cpu | auto | cuda[:N] (docs/GPU.md)
  int gpu_id = 0;                  ///< the GPU of `device: cuda` and `auto` (cuda:N overrides)
  double max_gpu_memory_gb = 0.0;  ///< cap on GPU memory in GB (1e9 bytes); 0: free memory less 5%
  GpuPrecision gpu_precision = GpuPrecision::kFp64;  ///< fp64 | fp32 | tf32 (Pass 2's products)

  /// Keys of the original tool that descpipe accepts and ignores (name = value).
  std::vector<std::pair<std::string, std::string>> ignored_legacy;

  InputSpec ToInputSpec() const;
  StatsOptions ToStatsOptions() const;
  FilterOptions ToFilterOptions() const;
  ClusterOptions ToClusterOptions() const;
  NonlinearOptions ToNonlinearOptions() const;
  /// Pass 4's graph: Leiden with leiden_objective at nonlinear_threshold.
  ClusterOptions ToNonlinearClusterOptions() const;

  /// Checks ranges and combinations (e.g. 0 <= max_missing_ratio <= 1); throws InvalidInput.
  void Validate() const;
};

/// What kind of value an option takes.
enum class OptionKind {
  kInteger,      ///< whole number in [min, max]
  kReal,         ///< finite number in [min, max] (or (min, max] with min_open)
  kSize,         ///< byte size ("8GB", "70%") in [min, max] bytes
  kBool,         ///< true / false
  kChoice,       ///< one of the words in `choices`
  kText,         ///< one string (a path, a column name)
  kNames,        ///< a list of names (a single name is a list of one)
  kPercentiles,  ///< [low, high], percent
  kCriteria,     ///< a list of representative criteria
};

/// Which pass's fingerprint an option joins (docs/RUNS.md): changing it recomputes that pass and
/// every later one. kNone: it does not change any result (threads, device, paths given elsewhere).
enum class OptionGroup { kNone = -1, kPass0 = 0, kPass1 = 1, kPass2 = 2, kPass3 = 3, kPass4 = 4 };

/// A value as written in YAML or `--set`, with the key it was given for (defined in config.cpp).
struct OptionValue;

/// The option registry: each option declared once (OptionSpecs()), with everything derived from
/// it: parsing (YAML, sections, `--set`, aliases, "did you mean"), range checks and their errors,
/// the effective values in run_manifest.json (`json`), the pass fingerprints (`group`),
/// `descpipe config --list` and docs/CONFIG.md's option tables (a unit test compares them).
/// Adding an option: one entry here plus its use (DEVELOPERS.md shows one).
///
/// Numbers are checked against [min, max] before they are stored, so nothing is truncated or
/// clipped on the way; Config::Validate checks the stored values again (library callers fill
/// Config directly). Out of range is an InvalidInput naming the option, the value and the range.
struct OptionSpec {
  const char* name;
  OptionKind kind;
  OptionGroup group;         ///< the pass whose fingerprint it joins
  const char* default_text;  ///< the default as docs/CONFIG.md shows it (Markdown)
  const char* doc;           ///< one line: docs/CONFIG.md's meaning column (Markdown)
  long double min = 0.0L;    ///< numbers: the smallest value accepted (exact for 64-bit integers)
  long double max = 0.0L;    ///< numbers: the largest value accepted
  bool min_open = false;     ///< numbers: min itself is refused, "(min, max]"
  const char* note = "";     ///< what else holds ("even", "-1: until stable", the choices)
  /// The stored value of a number option, for Validate (nullptr: not a number).
  long double (*value)(const Config&) = nullptr;
  const char* alias = nullptr;  ///< another accepted name (the original tool's), or nullptr
  /// Hashed right after this option in its group's fingerprint instead of at its own place
  /// (memory_limit: kept where earlier versions hashed it, so their OUTDIRs still resume).
  const char* fingerprint_after = nullptr;
  /// Parses and checks a value, then stores it in the Config.
  void (*set)(Config&, const OptionValue&) = nullptr;
  /// The effective value as JSON (run_manifest.json's "config", `descpipe config`).
  nlohmann::ordered_json (*json)(const Config&) = nullptr;
};

/// One entry per option descpipe implements (aliases excluded), in docs/CONFIG.md order (which is
/// also the order of run_manifest.json's "config").
const std::vector<OptionSpec>& OptionSpecs();

/// The entry of option `name` (aliases resolved: `topk`, `parquet_glob`), or nullptr.
const OptionSpec* FindOptionSpec(const std::string& name);

/// "[2, 65536]", "(0, 1]": the range of a number option, for messages and docs.
std::string RangeText(const OptionSpec& spec);

/// Largest `threads` value accepted; a run uses at most 4 x the hardware threads (warning).
inline constexpr int kMaxThreads = 4096;

/// The Context a run with `config` uses: its threads, random_seed and memory_limit (the one place
/// they pass from Config to Context). RunPipeline refuses a Context whose seed or memory budget
/// differs from its Config's: the manifest's fingerprints would not describe the run.
Context MakeContext(const Config& config);

/// `base` with the device, GPU, GPU memory cap and precision of `config` (ChooseDevice); logs
/// the choice, the threads and the memory budget (and where they came from) at info level and
/// stores the device's description in `description` when given.
Context ContextForDevice(const Context& base, const Config& config,
                         std::string* description = nullptr);

/// Loads a YAML file on top of `base`. Accepts flat keys and sections (io:, filtering:, system:,
/// device:, sampling:, spearman:, vif:, nonlinear:, graph:). Unknown keys are an error with a
/// "did you mean" suggestion.
Config LoadConfigFile(const std::string& path, Config base = {});

/// Applies one `key=value` override (value parsed as YAML: 0.01, true, [a, b]). `origin` names
/// where it came from in messages ("--set"; the Python package: "a keyword argument").
void ApplyOverride(Config& config, const std::string& assignment,
                   const std::string& origin = "--set");

/// Every option's value as the run was given it, defaults included (`threads: 0` and
/// `memory_limit: 0` mean automatic), in registry order (run_manifest.json's "config"; the values
/// a run used are in its "resources").
nlohmann::ordered_json ConfigJson(const Config& config);

/// The effective configuration as YAML that --config reads back (`descpipe config`): one
/// `name: value` line per option, in registry order.
std::string ConfigYaml(const Config& config);

/// Every option with its default and one-line doc (`descpipe config --list`).
std::string OptionList();

/// Every option name descpipe knows, for help texts and suggestions.
std::vector<std::string> KnownOptionNames();

/// Parses a byte size: "8GB", "512MiB", "1e9", "70%" (of UsableMemoryBytes(): physical RAM, or
/// the cgroup memory limit when lower).
std::uint64_t ParseByteSize(const std::string& text);

}  // namespace descpipe
