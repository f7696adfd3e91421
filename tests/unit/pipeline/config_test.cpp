// Configuration: YAML files (descpipe's flat keys, the original descriptor_pipeline's flat and
// sectioned files), `--set` overrides, validation and byte sizes.
#include "descpipe/config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "pipeline/outputs.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Contains;
using testing::Lines;
using testing::MessageOf;

using testing::TempDir;
using testing::WriteFile;
using Entries = std::vector<std::pair<std::string, std::string>>;

/// Writes `yaml` to a temporary file and loads it on top of `base`.
Config LoadYaml(const std::string& yaml, Config base = {}) {
  TempDir dir;
  const std::string path = dir / "config.yaml";
  WriteFile(path, yaml);
  return LoadConfigFile(path, std::move(base));
}

std::string ValueOf(const Entries& entries, const std::string& key) {
  for (const auto& [name, value] : entries) {
    if (name == key) return value;
  }
  return "<absent>";
}

// ---- descpipe's own flat keys ------------------------------------------------------------------

TEST(ConfigFile, FlatDescpipeKeysSetEveryField) {
  const Config config = LoadYaml(R"(
inputs: [a.parquet, "dir/*.parquet"]
output_dir: results
union_by_name: true
metadata_columns: [id, smiles]
descriptor_columns: [MolWt, TPSA]
sample_rows: 1000
random_seed: 7
max_missing_ratio: 0.25
min_effective_n: 50
max_mode_fraction: 0.9
variance_threshold: 0.01
range_mode: minmax
trim_percentiles: [1, 99]
remove_binary: true
quantile_sample_size: 4096
threads: 3
memory_limit: 512MiB
device: auto
)");
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"a.parquet", "dir/*.parquet"}));
  EXPECT_EQ(config.output_dir, "results");
  EXPECT_TRUE(config.union_by_name);
  EXPECT_EQ(config.metadata_columns, (std::vector<std::string>{"id", "smiles"}));
  EXPECT_EQ(config.descriptor_columns, (std::vector<std::string>{"MolWt", "TPSA"}));
  EXPECT_EQ(config.sample_rows, 1000);
  EXPECT_EQ(config.random_seed, 7u);
  EXPECT_DOUBLE_EQ(config.max_missing_ratio, 0.25);
  EXPECT_EQ(config.min_effective_n, 50);
  EXPECT_DOUBLE_EQ(config.max_mode_fraction, 0.9);
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.01);
  EXPECT_EQ(config.range_mode, RangeMode::kMinMax);
  EXPECT_DOUBLE_EQ(config.trim_low_percent, 1.0);
  EXPECT_DOUBLE_EQ(config.trim_high_percent, 99.0);
  EXPECT_TRUE(config.remove_binary);
  EXPECT_EQ(config.quantile_sample_size, 4096);
  EXPECT_EQ(config.threads, 3);
  EXPECT_EQ(config.memory_limit, 512ULL << 20);
  EXPECT_EQ(config.device, "auto");
  EXPECT_TRUE(config.ignored_legacy.empty());
  config.Validate();
}

TEST(ConfigFile, EmptyFileKeepsTheBase) {
  Config base;
  base.variance_threshold = 0.123;
  base.inputs = {"x.parquet"};
  const Config config = LoadYaml("", base);
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.123);
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"x.parquet"}));
}

TEST(ConfigFile, KeysNotInTheFileKeepTheirBaseValue) {
  Config base;
  base.max_missing_ratio = 0.75;
  base.output_dir = "from-base";
  const Config config = LoadYaml("variance_threshold: 0.05\n", base);
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.05);
  EXPECT_DOUBLE_EQ(config.max_missing_ratio, 0.75);
  EXPECT_EQ(config.output_dir, "from-base");
}

TEST(ConfigFile, SingleNameIsAListOfOne) {
  const Config config = LoadYaml("inputs: data.parquet\nmetadata_columns: id\n");
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"data.parquet"}));
  EXPECT_EQ(config.metadata_columns, (std::vector<std::string>{"id"}));
}

TEST(ConfigFile, NullResetsOptionalValues) {
  Config base;
  base.n_metadata_cols = 3;
  base.sample_rows = 10;
  const Config config = LoadYaml("n_metadata_cols: null\nsample_rows: ~\n", base);
  EXPECT_FALSE(config.n_metadata_cols.has_value());
  EXPECT_EQ(config.sample_rows, 0);
}

// ---- the original tool's flat keys
// ---------------------------------------------------------------

TEST(ConfigFile, OriginalToolFlatKeys) {
  Config base;
  base.trim_low_percent = 10.0;  // so that [2.5, 97.5] below must really be read
  base.trim_high_percent = 90.0;
  base.range_mode = RangeMode::kIqr;
  const Config config = LoadYaml(R"(
parquet_glob: "data/descriptors_*.parquet"
output_dir: "results/run1"
n_metadata_cols: 2
variance_threshold: 0.002
max_missing_ratio: 0.3
min_effective_n: 200
range_mode: TRIMMED
trim_percentiles: [2.5, 97.5]
remove_binary: true
random_seed: 123
sample_per_file: 5000
prefer_gpu: true
m: 64
r: 3
)",
                                 base);
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"data/descriptors_*.parquet"}));
  EXPECT_EQ(config.output_dir, "results/run1");
  ASSERT_TRUE(config.n_metadata_cols.has_value());
  EXPECT_EQ(*config.n_metadata_cols, 2);
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.002);
  EXPECT_DOUBLE_EQ(config.max_missing_ratio, 0.3);
  EXPECT_EQ(config.min_effective_n, 200);
  EXPECT_EQ(config.range_mode, RangeMode::kTrimmed);
  EXPECT_DOUBLE_EQ(config.trim_low_percent, 2.5);
  EXPECT_DOUBLE_EQ(config.trim_high_percent, 97.5);
  EXPECT_TRUE(config.remove_binary);
  EXPECT_EQ(config.random_seed, 123u);
  EXPECT_EQ(config.sample_per_file, 5000);
  EXPECT_EQ(ValueOf(config.ignored_legacy, "prefer_gpu"), "true");
  EXPECT_EQ(ValueOf(config.ignored_legacy, "m"), "64");
  EXPECT_EQ(ValueOf(config.ignored_legacy, "r"), "3");
  config.Validate();
}

TEST(ConfigFile, RangeModeIgnoresCase) {
  Config iqr;
  iqr.range_mode = RangeMode::kIqr;  // the default is trimmed: start elsewhere
  EXPECT_EQ(LoadYaml("range_mode: TRIMMED\n", iqr).range_mode, RangeMode::kTrimmed);
  EXPECT_EQ(LoadYaml("range_mode: MinMax\n").range_mode, RangeMode::kMinMax);
  EXPECT_EQ(LoadYaml("range_mode: IQR\n").range_mode, RangeMode::kIqr);
  EXPECT_EQ(LoadYaml("range_mode: iqr\n").range_mode, RangeMode::kIqr);
}

// ---- the original tool's sectioned form ------------------------------------------------------

TEST(ConfigFile, SectionedForm) {
  const Config config = LoadYaml(R"(
io:
  parquet_glob: ["a.parquet", "b.parquet"]
  output_dir: out
  n_metadata_cols: 1
filtering:
  variance_threshold: 0.05
  range_mode: IQR
  trim_percentiles: [5, 95]
  remove_binary: true
  max_missing_ratio: 0.4
system:
  threads: 3
  memory_limit: 2GB
  random_seed: 9
device:
  prefer_gpu: false
  gpu_id: 1
spearman:
  spearman_threshold: 0.9
vif:
  vif_threshold: 10
)");
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"a.parquet", "b.parquet"}));
  EXPECT_EQ(config.output_dir, "out");
  EXPECT_EQ(config.n_metadata_cols.value_or(-1), 1);
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.05);
  EXPECT_EQ(config.range_mode, RangeMode::kIqr);
  EXPECT_DOUBLE_EQ(config.trim_low_percent, 5.0);
  EXPECT_DOUBLE_EQ(config.trim_high_percent, 95.0);
  EXPECT_TRUE(config.remove_binary);
  EXPECT_DOUBLE_EQ(config.max_missing_ratio, 0.4);
  EXPECT_EQ(config.threads, 3);
  EXPECT_EQ(config.memory_limit, 2000000000ULL);
  EXPECT_EQ(config.random_seed, 9u);
  // device: as a mapping is a section, not the device option.
  EXPECT_EQ(config.device, "cpu");
  EXPECT_EQ(ValueOf(config.ignored_legacy, "prefer_gpu"), "false");
  EXPECT_EQ(config.gpu_id, 1);
  EXPECT_DOUBLE_EQ(config.spearman_threshold, 0.9);
  EXPECT_DOUBLE_EQ(config.vif_threshold, 10.0);
  config.Validate();
}

TEST(ConfigFile, DeviceAsScalarIsTheDeviceOption) {
  EXPECT_EQ(LoadYaml("device: auto\n").device, "auto");
  EXPECT_EQ(LoadYaml("device: CUDA:1\n").device, "cuda:1");
  EXPECT_EQ(LoadYaml("system:\n  device: auto\n").device, "auto");
}

TEST(ConfigFile, EmptySectionIsAccepted) {
  // An original config with every key of a section commented out.
  const Config config = LoadYaml("filtering:\n#  variance_threshold: 0.1\nio:\n  output_dir: o\n");
  EXPECT_EQ(config.output_dir, "o");
  EXPECT_DOUBLE_EQ(config.variance_threshold, Config{}.variance_threshold);
}

TEST(ConfigFile, SectionThatIsNotAMappingIsAnError) {
  const std::string message = MessageOf<InvalidInput>([] { LoadYaml("io: 3\n"); });
  EXPECT_TRUE(Contains(message, "io"));
  EXPECT_TRUE(Contains(message, "mapping"));
}

// ---- unknown keys ------------------------------------------------------------------------------

TEST(ConfigFile, UnknownKeySuggestsTheClosestOption) {
  TempDir dir;
  const std::string path = dir / "typo.yaml";
  WriteFile(path, "variance_treshold: 0.1\n");
  const std::string message = MessageOf<InvalidInput>([&] { LoadConfigFile(path); });
  EXPECT_TRUE(Contains(message, "variance_treshold"));
  EXPECT_TRUE(Contains(message, "did you mean variance_threshold"));
  EXPECT_TRUE(Contains(message, path));

  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("n_metdata_cols: 2\n"); }),
                       "did you mean n_metadata_cols"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("max_mising_ratio: 0.2\n"); }),
                       "did you mean max_missing_ratio"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("parquet_globs: x\n"); }),
                       "did you mean parquet_glob"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("Remove_Binary: true\n"); }),
                       "did you mean remove_binary"));
}

TEST(ConfigFile, UnknownKeyFarFromEveryOptionHasNoSuggestion) {
  const std::string message =
      MessageOf<InvalidInput>([] { LoadYaml("completely_unrelated_setting_name: 1\n"); });
  EXPECT_TRUE(Contains(message, "unknown option completely_unrelated_setting_name"));
  EXPECT_FALSE(Contains(message, "did you mean"));
}

TEST(ConfigFile, UnknownKeyInsideASectionNamesTheSection) {
  const std::string message = MessageOf<InvalidInput>(
      [] { LoadYaml("io:\n  output_dir: o\nfiltering:\n  varance_threshold: 0.1\n"); });
  EXPECT_TRUE(Contains(message, "varance_threshold"));
  EXPECT_TRUE(Contains(message, "section filtering"));
  EXPECT_TRUE(Contains(message, "did you mean variance_threshold"));
}

// ---- options of later passes and legacy keys
// -----------------------------------------------------

TEST(ConfigFile, GpuOptions) {
  const Config config = LoadYaml(R"(
gpu_id: 1
max_gpu_memory_gb: 8.5
gpu_precision: TF32
)");
  EXPECT_EQ(config.gpu_id, 1);
  EXPECT_DOUBLE_EQ(config.max_gpu_memory_gb, 8.5);
  EXPECT_EQ(config.gpu_precision, GpuPrecision::kTf32);
  EXPECT_TRUE(config.ignored_legacy.empty());
  const Config defaults;
  EXPECT_EQ(defaults.gpu_id, 0);
  EXPECT_DOUBLE_EQ(defaults.max_gpu_memory_gb, 0.0);
  EXPECT_EQ(defaults.gpu_precision, GpuPrecision::kFp64);
  EXPECT_EQ(LoadYaml("gpu_precision: fp32\n").gpu_precision, GpuPrecision::kFp32);
  EXPECT_EQ(LoadYaml("gpu_precision: fp64\n").gpu_precision, GpuPrecision::kFp64);
  EXPECT_DOUBLE_EQ(LoadYaml("max_gpu_memory_gb: null\n").max_gpu_memory_gb, 0.0);
  const std::string message = MessageOf<InvalidInput>([] { LoadYaml("gpu_precision: fp16\n"); });
  EXPECT_TRUE(Contains(message, "gpu_precision must be fp64, fp32 or tf32, got 'fp16'")) << message;
}

TEST(ConfigFile, Pass2Options) {
  const Config config = LoadYaml(R"(
spearman_threshold: 0.8
spearman_missing: IMPUTE_MEDIAN
spearman_cluster_method: leiden
representative_criteria: [pinned, variance, input_order]
keep_columns: [MolWt, TPSA]
target_column: activity
exact: true
leiden_resolution: 1.5
leiden_iterations: 4
)");
  EXPECT_DOUBLE_EQ(config.spearman_threshold, 0.8);
  EXPECT_EQ(config.spearman_missing, SpearmanMissing::kImputeMedian);
  EXPECT_EQ(config.spearman_cluster_method, ClusterMethod::kLeiden);
  EXPECT_EQ(
      config.representative_criteria,
      (std::vector<Criterion>{Criterion::kPinned, Criterion::kVariance, Criterion::kInputOrder}));
  EXPECT_EQ(config.keep_columns, (std::vector<std::string>{"MolWt", "TPSA"}));
  EXPECT_EQ(config.target_column, "activity");
  EXPECT_TRUE(config.exact);
  EXPECT_DOUBLE_EQ(config.leiden_resolution, 1.5);
  EXPECT_EQ(config.leiden_iterations, 4);
  config.Validate();
  EXPECT_TRUE(
      Contains(MessageOf<InvalidInput>([] { LoadYaml("spearman_cluster_method: blobs\n"); }),
               "must be star, components or leiden, got 'blobs'"));
  EXPECT_TRUE(Contains(
      MessageOf<InvalidInput>([] { LoadYaml("representative_criteria: [pinned, luck]\n"); }),
      "luck"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("spearman_missing: drop\n"); }),
                       "pairwise or impute_median"));
  Config bad;
  bad.spearman_threshold = 1.5;
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { bad.Validate(); }), "spearman_threshold"));
}

TEST(ConfigFile, LegacyKeysAreIgnored) {
  const Config config = LoadYaml(R"(
prefer_gpu: true
m: 16
r: 2
gpu_batch_size: 4096
force_recompute: false
use_robust_variance: true
)");
  EXPECT_EQ(config.ignored_legacy.size(), 6u);
  EXPECT_EQ(ValueOf(config.ignored_legacy, "prefer_gpu"), "true");
  EXPECT_EQ(ValueOf(config.ignored_legacy, "m"), "16");
  EXPECT_EQ(ValueOf(config.ignored_legacy, "r"), "2");
  EXPECT_EQ(ValueOf(config.ignored_legacy, "gpu_batch_size"), "4096");
}

TEST(ConfigFile, RepeatedGpuIdKeepsTheLastValue) {
  Config config = LoadYaml("gpu_id: 8\ndevice:\n  gpu_id: 7\n");
  EXPECT_EQ(config.gpu_id, 7);
  ApplyOverride(config, "gpu_id=6");
  EXPECT_EQ(config.gpu_id, 6);
}

TEST(ConfigFile, Pass4Options) {
  Config config = LoadYaml(R"(
nonlinear:
  nonlinear_max_rows: 5000
  rdc_k: 12
  rdc_s: 0.25
  rdc_seeds: 3
  hsic_D: 64
  w_hsic: 0.0
  w_rdc: 1.0
  nonlinear_threshold: 0.7
  topk: 5
graph:
  leiden_objective: CPM
  leiden_resolution: 0.2
)");
  EXPECT_EQ(config.nonlinear_max_rows, 5000);
  EXPECT_EQ(config.rdc_k, 12);
  EXPECT_DOUBLE_EQ(config.rdc_s, 0.25);
  EXPECT_EQ(config.rdc_seeds, 3);
  EXPECT_EQ(config.hsic_D, 64);
  EXPECT_DOUBLE_EQ(config.w_hsic, 0.0);
  EXPECT_DOUBLE_EQ(config.w_rdc, 1.0);
  EXPECT_DOUBLE_EQ(config.nonlinear_threshold, 0.7);
  EXPECT_EQ(config.nonlinear_topk, 5);
  EXPECT_EQ(config.leiden_objective, LeidenObjective::kCpm);
  EXPECT_NO_THROW(config.Validate());
  const NonlinearOptions options = config.ToNonlinearOptions();
  EXPECT_EQ(options.rdc_k, 12);
  EXPECT_EQ(options.hsic_D, 64);
  EXPECT_DOUBLE_EQ(options.w_hsic, 0.0);
  const ClusterOptions graph = config.ToNonlinearClusterOptions();
  EXPECT_EQ(graph.method, ClusterMethod::kLeiden);
  EXPECT_DOUBLE_EQ(graph.threshold, 0.7);
  EXPECT_EQ(graph.leiden_objective, LeidenObjective::kCpm);
  EXPECT_DOUBLE_EQ(graph.leiden_resolution, 0.2);

  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("leiden_objective: surprise\n"); }),
                       "must be modularity or cpm, got 'surprise'"));
  for (const char* bad : {"hsic_D=7", "hsic_D=0", "rdc_k=0", "rdc_seeds=0", "rdc_s=0", "w_hsic=-1",
                          "nonlinear_threshold=0", "nonlinear_threshold=1.5", "nonlinear_topk=-1",
                          "nonlinear_max_rows=10"}) {
    // Refused as the value is read (range checks come before the value is stored).
    Config bad_config;
    const std::string key = std::string(bad).substr(0, std::string(bad).find('='));
    EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { ApplyOverride(bad_config, bad); }), key))
        << bad;
  }
  Config no_weight;
  ApplyOverride(no_weight, "w_hsic=0");
  ApplyOverride(no_weight, "w_rdc=0");
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { no_weight.Validate(); }), "not both 0"));
}

TEST(ConfigFile, KnownOptionNamesAreSortedUniqueAndComplete) {
  const std::vector<std::string> names = KnownOptionNames();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end());
  // Every registry name and alias, and the original tool's ignored keys; nothing else.
  std::size_t expected = 0;
  for (const OptionSpec& spec : OptionSpecs()) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), spec.name)) << spec.name;
    expected += 1;
    if (spec.alias != nullptr) {
      EXPECT_TRUE(std::binary_search(names.begin(), names.end(), spec.alias)) << spec.alias;
      expected += 1;
    }
  }
  std::size_t legacy = 0;
  for (const std::string& name : names) {
    if (FindOptionSpec(name) != nullptr) continue;
    Config config;
    ApplyOverride(config, name + "=1");
    ASSERT_EQ(config.ignored_legacy.size(), 1u) << name << " is neither an option nor a legacy key";
    ++legacy;
  }
  EXPECT_EQ(names.size(), expected + legacy);
}

// ---- wrong types and broken files
// ----------------------------------------------------------------

TEST(ConfigFile, WrongTypesGiveAClearError) {
  struct Case {
    const char* yaml;
    const char* key;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"variance_threshold: abc\n", "variance_threshold", "a number"},
      {"variance_threshold: [1, 2]\n", "variance_threshold", "a number"},
      {"remove_binary: maybe\n", "remove_binary", "true or false"},
      {"union_by_name: 3\n", "union_by_name", "true or false"},
      {"n_metadata_cols: 2.5\n", "n_metadata_cols", "an integer"},
      {"min_effective_n: many\n", "min_effective_n", "a number"},
      {"trim_percentiles: 5\n", "trim_percentiles", "[low, high]"},
      {"trim_percentiles: [1, 2, 3]\n", "trim_percentiles", "[low, high]"},
      {"trim_percentiles: [low, 99]\n", "trim_percentiles", "a number"},
      {"metadata_columns: {a: 1}\n", "metadata_columns", "a list of names"},
      {"metadata_columns: [[a]]\n", "metadata_columns", "a list of names"},
      {"range_mode: linear\n", "range_mode", "trimmed, minmax or iqr"},
      {"random_seed: -1\n", "random_seed", "in [0, 18446744073709551615], got -1"},
      {"memory_limit: lots\n", "memory_limit", "'lots' as a size"},
      {"output_dir: [a, b]\n", "output_dir", "a path"},
      {"sample_rows: 1.5\n", "sample_rows", "an integer"},
  };
  for (const Case& c : cases) {
    const std::string message = MessageOf<InvalidInput>([&] { LoadYaml(c.yaml); });
    EXPECT_TRUE(Contains(message, c.key)) << c.yaml;
    EXPECT_TRUE(Contains(message, c.expected)) << c.yaml;
  }
}

TEST(ConfigFile, InvalidYamlNamesTheFile) {
  TempDir dir;
  const std::string path = dir / "broken.yaml";
  WriteFile(path, "filtering: [1\n");
  const std::string message = MessageOf<InvalidInput>([&] { LoadConfigFile(path); });
  EXPECT_TRUE(Contains(message, path));
  EXPECT_TRUE(Contains(message, "not valid YAML"));
}

TEST(ConfigFile, RootMustBeAMapping) {
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("- a\n- b\n"); }), "mapping"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("just a string\n"); }), "mapping"));
}

// Found by Fuzz.OptionsAndTables: a key that is a list, a mapping or null was a YAML conversion
// exception (exit code 3), at the top and inside a section.
TEST(ConfigFile, KeysThatAreNotWordsAreAClearError) {
  for (const char* yaml :
       {"? [a]\n: 1\n", "{a: 1}: 2\n", "~: 1\n", "filtering:\n  ? [a]\n  : 1\n"}) {
    const std::string message = MessageOf<InvalidInput>([&] { LoadYaml(yaml); });
    EXPECT_TRUE(Contains(message, "option names must be words")) << yaml;
  }
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("filtering:\n  ? [a]\n  : 1\n"); }),
                       "in section filtering"));
}

TEST(ConfigFile, MissingFileIsAnIoErrorNamingIt) {
  TempDir dir;
  const std::string path = dir / "absent.yaml";
  const std::string message = MessageOf<IoError>([&] { LoadConfigFile(path); });
  EXPECT_TRUE(Contains(message, path));
}

// Found by Fuzz.OptionsAndTables: a directory given as the config file was a std::ios_base::failure
// from the first read (exit code 3).
TEST(ConfigFile, DirectoryIsAnIoErrorNamingIt) {
  TempDir dir;
  const std::string message = MessageOf<IoError>([&] { LoadConfigFile(dir.path()); });
  EXPECT_TRUE(Contains(message, "cannot read config file '" + dir.path() + "'"));
  EXPECT_TRUE(Contains(message, "directory"));
}

// ---- --set overrides ---------------------------------------------------------------------------

TEST(ConfigOverride, FlatKeys) {
  Config config;
  ApplyOverride(config, "variance_threshold=0.01");
  ApplyOverride(config, "remove_binary=true");
  ApplyOverride(config, "range_mode=MINMAX");
  ApplyOverride(config, "n_metadata_cols=3");
  ApplyOverride(config, "output_dir=some/dir");
  ApplyOverride(config, "memory_limit=1GiB");
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.01);
  EXPECT_TRUE(config.remove_binary);
  EXPECT_EQ(config.range_mode, RangeMode::kMinMax);
  EXPECT_EQ(config.n_metadata_cols.value_or(-1), 3);
  EXPECT_EQ(config.output_dir, "some/dir");
  EXPECT_EQ(config.memory_limit, 1ULL << 30);
}

TEST(ConfigOverride, DottedSectionKeys) {
  Config config;
  ApplyOverride(config, "filtering.variance_threshold=0.03");
  ApplyOverride(config, "system.threads=4");
  ApplyOverride(config, "io.parquet_glob=data/*.parquet");
  ApplyOverride(config, "spearman.spearman_threshold=0.7");
  ApplyOverride(config, "device.prefer_gpu=true");
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.03);
  EXPECT_EQ(config.threads, 4);
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"data/*.parquet"}));
  EXPECT_DOUBLE_EQ(config.spearman_threshold, 0.7);
  EXPECT_EQ(ValueOf(config.ignored_legacy, "prefer_gpu"), "true");
}

TEST(ConfigOverride, ListValues) {
  Config config;
  ApplyOverride(config, "metadata_columns=[id, name]");
  ApplyOverride(config, "descriptor_columns=[\"a b\", c]");
  ApplyOverride(config, "trim_percentiles=[5, 95]");
  ApplyOverride(config, "inputs=[x.parquet, y.parquet]");
  EXPECT_EQ(config.metadata_columns, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(config.descriptor_columns, (std::vector<std::string>{"a b", "c"}));
  EXPECT_DOUBLE_EQ(config.trim_low_percent, 5.0);
  EXPECT_DOUBLE_EQ(config.trim_high_percent, 95.0);
  EXPECT_EQ(config.inputs, (std::vector<std::string>{"x.parquet", "y.parquet"}));
}

TEST(ConfigOverride, OverridesAFileValue) {
  Config config = LoadYaml("variance_threshold: 0.2\nmax_missing_ratio: 0.1\n");
  ApplyOverride(config, "variance_threshold=0.3");
  EXPECT_DOUBLE_EQ(config.variance_threshold, 0.3);
  EXPECT_DOUBLE_EQ(config.max_missing_ratio, 0.1);
}

TEST(ConfigOverride, Errors) {
  Config config;
  EXPECT_TRUE(
      Contains(MessageOf<InvalidInput>([&] { ApplyOverride(config, "novalue"); }), "key=value"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { ApplyOverride(config, "=3"); }), "key=value"));
  const std::string typo =
      MessageOf<InvalidInput>([&] { ApplyOverride(config, "variance_treshold=0.1"); });
  EXPECT_TRUE(Contains(typo, "did you mean variance_threshold"));
  EXPECT_TRUE(Contains(typo, "--set"));
  const std::string wrong_type =
      MessageOf<InvalidInput>([&] { ApplyOverride(config, "variance_threshold=abc"); });
  EXPECT_TRUE(Contains(wrong_type, "variance_threshold"));
  EXPECT_TRUE(Contains(wrong_type, "a number"));
  EXPECT_TRUE(
      Contains(MessageOf<InvalidInput>([&] { ApplyOverride(config, "metadata_columns=[a, b"); }),
               "cannot read the value"));
  EXPECT_TRUE(Contains(
      MessageOf<InvalidInput>([&] { ApplyOverride(config, "nosuchsection.variance_threshold=1"); }),
      "unknown option"));
  // A failed override leaves the option as it was.
  EXPECT_DOUBLE_EQ(config.variance_threshold, Config{}.variance_threshold);
}

// ---- Validate
// ------------------------------------------------------------------------------------

TEST(ConfigValidate, DefaultsAndBoundariesAreValid) {
  Config config;
  config.Validate();
  config.max_missing_ratio = 0.0;
  config.variance_threshold = 0.0;
  config.trim_low_percent = 0.0;
  config.trim_high_percent = 100.0;
  config.max_mode_fraction = 1.0;
  config.quantile_sample_size = 1024;
  config.n_metadata_cols = 0;
  config.Validate();
  config.max_missing_ratio = 1.0;
  for (const char* device : {"cpu", "auto", "cuda", "cuda:0", "cuda:12"}) {
    config.device = device;
    EXPECT_NO_THROW(config.Validate()) << device;
  }
}

TEST(ConfigValidate, RejectsBadRanges) {
  struct Case {
    const char* name;
    void (*change)(Config&);
  };
  const std::vector<Case> cases = {
      {"max_missing_ratio", [](Config& c) { c.max_missing_ratio = -0.1; }},
      {"max_missing_ratio", [](Config& c) { c.max_missing_ratio = 1.5; }},
      {"max_missing_ratio", [](Config& c) { c.max_missing_ratio = std::nan(""); }},
      {"min_effective_n", [](Config& c) { c.min_effective_n = -1; }},
      {"max_mode_fraction", [](Config& c) { c.max_mode_fraction = 0.0; }},
      {"max_mode_fraction", [](Config& c) { c.max_mode_fraction = 1.5; }},
      {"variance_threshold", [](Config& c) { c.variance_threshold = -0.001; }},
      {"variance_threshold", [](Config& c) { c.variance_threshold = std::nan(""); }},
      {"variance_threshold", [](Config& c) { c.variance_threshold = HUGE_VAL; }},
      {"trim_percentiles",
       [](Config& c) {
         c.trim_low_percent = 50.0;
         c.trim_high_percent = 50.0;
       }},
      {"trim_percentiles",
       [](Config& c) {
         c.trim_low_percent = 90.0;
         c.trim_high_percent = 10.0;
       }},
      {"trim_percentiles", [](Config& c) { c.trim_low_percent = -1.0; }},
      {"trim_percentiles", [](Config& c) { c.trim_high_percent = 100.5; }},
      {"sample_rows", [](Config& c) { c.sample_rows = -1; }},
      {"sample_per_file", [](Config& c) { c.sample_per_file = -5; }},
      {"exclusive",
       [](Config& c) {
         c.sample_rows = 10;
         c.sample_per_file = 10;
       }},
      {"quantile_sample_size", [](Config& c) { c.quantile_sample_size = 100; }},
      {"threads", [](Config& c) { c.threads = -2; }},
      {"n_metadata_cols", [](Config& c) { c.n_metadata_cols = -1; }},
      {"device", [](Config& c) { c.device = "gpu"; }},
      {"device", [](Config& c) { c.device = "cudax"; }},
      {"device", [](Config& c) { c.device = "cuda:"; }},
      {"device", [](Config& c) { c.device = "cuda:one"; }},
      {"gpu_id", [](Config& c) { c.gpu_id = -1; }},
      {"max_gpu_memory_gb", [](Config& c) { c.max_gpu_memory_gb = -2.0; }},
  };
  for (const Case& c : cases) {
    Config config;
    c.change(config);
    const std::string message = MessageOf<InvalidInput>([&] { config.Validate(); });
    EXPECT_TRUE(Contains(message, c.name));
  }
}

TEST(ConfigValidate, ValuesLoadedFromYamlAreCheckedAsTheyAreRead) {
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { LoadYaml("max_missing_ratio: 2\n"); }),
                       "option max_missing_ratio must be a finite number in [0, 1], got 2"));
}

// ---- ranges: every option, every kind of bad value --------------------------------------------

TEST(ConfigRanges, EveryImplementedOptionHasASpecAndEverySpecASetter) {
  const std::vector<std::string> names = KnownOptionNames();
  for (const OptionSpec& spec : OptionSpecs()) {
    EXPECT_TRUE(std::binary_search(names.begin(), names.end(), spec.name)) << spec.name;
    const bool number = spec.kind == OptionKind::kInteger || spec.kind == OptionKind::kReal ||
                        spec.kind == OptionKind::kSize;
    EXPECT_EQ(number, spec.value != nullptr) << spec.name << ": a number option needs its getter";
    if (number) EXPECT_LT(spec.min, spec.max) << spec.name;
  }
  // Every option --set accepts (legacy keys aside) is described.
  for (const std::string& name : names) {
    Config config;
    try {
      ApplyOverride(config, name + "=null");
    } catch (const InvalidInput&) {
    }
    const bool legacy = !config.ignored_legacy.empty();
    EXPECT_TRUE(legacy || FindOptionSpec(name) != nullptr) << name;
  }
}

TEST(ConfigRanges, NumbersOutsideTheirRangeAreRefusedNamingOptionValueAndRange) {
  for (const OptionSpec& spec : OptionSpecs()) {
    if (spec.kind != OptionKind::kInteger && spec.kind != OptionKind::kReal) continue;
    const std::string range = RangeText(spec);
    std::vector<std::string> values = {
        ".inf",   "-.inf",      ".nan",        "1e308",
        "-1e308", "4294967297", "-4294967295", "18446744073709551617"};
    values.push_back(fmt::format("{}", spec.max * 2 + 1));
    values.push_back(fmt::format("{}", spec.min - 1));
    if (spec.min_open) values.push_back(fmt::format("{}", spec.min));
    for (const std::string& value : values) {
      Config config;
      std::string message;
      try {
        ApplyOverride(config, std::string(spec.name) + "=" + value);
        // Accepted: then the value must really be in range (e.g. 4294967297 for sample_rows).
        EXPECT_NO_THROW(config.Validate()) << spec.name << "=" << value;
        continue;
      } catch (const InvalidInput& e) {
        message = e.what();
      }
      EXPECT_TRUE(Contains(message, spec.name)) << message;
      EXPECT_TRUE(Contains(message, range)) << message;
      EXPECT_TRUE(Contains(message, value)) << message;
    }
  }
}

TEST(ConfigRanges, NothingIsTruncatedToThirtyTwoBits) {
  // Each of these used to be accepted as another value (the issue's examples).
  for (const char* assignment :
       {"threads=4294967297", "hsic_D=4294967298", "nonlinear_topk=-4294967295", "rdc_k=4294967297",
        "gpu_id=4294967296", "n_metadata_cols=4294967298", "leiden_iterations=4294967297",
        "rdc_seeds=1000000", "leiden_iterations=1e9", "w_hsic=.inf", "w_hsic=1e308",
        "leiden_resolution=.inf", "hsic_D=1e8", "vif_threshold=1", "vif_threshold=.nan",
        "threads=65536"}) {
    Config config;
    const std::string key = std::string(assignment).substr(0, std::string(assignment).find('='));
    const std::string message = MessageOf<InvalidInput>([&] { ApplyOverride(config, assignment); });
    EXPECT_TRUE(Contains(message, "option " + key + " must be")) << message;
  }
}

TEST(ConfigRanges, DocsListEveryRangeAsTheCodeHasIt) {
  const std::vector<std::string> lines =
      Lines(testing::ReadFile(std::string(DESCPIPE_SOURCE_DIR) + "/docs/CONFIG.md"));
  for (const OptionSpec& spec : OptionSpecs()) {
    if (spec.value == nullptr) continue;
    const std::string cell = "| `" + std::string(spec.name) + "` |";
    const auto line = std::find_if(lines.begin(), lines.end(), [&](const std::string& text) {
      return text.rfind(cell, 0) == 0 && Contains(text, RangeText(spec));
    });
    EXPECT_NE(line, lines.end()) << spec.name << " " << RangeText(spec)
                                 << " is not in docs/CONFIG.md's ranges";
  }
}

// ---- the option registry ------------------------------------------------------------------

// docs/CONFIG.md's option tables are the registry: one row per option, in registry order,
// `| \`name\` (alias \`x\`) | default | doc |`, and no other row.
TEST(OptionRegistry, DocsTablesAreTheRegistry) {
  const std::vector<std::string> lines =
      Lines(testing::ReadFile(std::string(DESCPIPE_SOURCE_DIR) + "/docs/CONFIG.md"));
  std::vector<std::string> rows;
  bool in_tables = false;
  for (const std::string& line : lines) {
    if (line.rfind("## ", 0) == 0)
      in_tables = line != "## Accepted values" && line.rfind("## Original", 0) != 0;
    if (in_tables && line.rfind("| `", 0) == 0) rows.push_back(line);
  }
  std::vector<std::string> expected;
  for (const OptionSpec& spec : OptionSpecs()) {
    std::string doc = spec.doc;
    std::string escaped;
    for (char c : doc) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
    std::string name = fmt::format("`{}`", spec.name);
    if (spec.alias != nullptr) name += fmt::format(" (alias `{}`)", spec.alias);
    expected.push_back(fmt::format("| {} | {} | {} |", name, spec.default_text, escaped));
  }
  ASSERT_EQ(rows.size(), expected.size())
      << "docs/CONFIG.md has " << rows.size() << " option rows, the registry " << expected.size()
      << " options";
  for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], expected[i]) << "row " << i;
}

// Every option joins a pass's fingerprint unless it cannot change a result; each pass has some.
TEST(OptionRegistry, EveryOptionHasAGroup) {
  const std::set<std::string> outside = {"inputs", "output_dir", "threads",
                                         "device", "gpu_id",     "max_gpu_memory_gb"};
  std::set<int> groups;
  for (const OptionSpec& spec : OptionSpecs()) {
    EXPECT_EQ(spec.group == OptionGroup::kNone, outside.count(spec.name) == 1) << spec.name;
    EXPECT_GE(static_cast<int>(spec.group), -1) << spec.name;
    EXPECT_LE(static_cast<int>(spec.group), 4) << spec.name;
    groups.insert(static_cast<int>(spec.group));
    EXPECT_NE(spec.set, nullptr) << spec.name;
    EXPECT_NE(spec.json, nullptr) << spec.name;
    EXPECT_NE(std::string(spec.doc), "") << spec.name;
    EXPECT_NE(std::string(spec.default_text), "") << spec.name;
  }
  EXPECT_EQ(groups, (std::set<int>{-1, 0, 1, 2, 3, 4}));
}

// The manifest's "config" is the registry, in its order, with every option's default.
TEST(OptionRegistry, ConfigJsonHasEveryOptionInRegistryOrder) {
  const nlohmann::ordered_json json = ConfigJson(Config{});
  ASSERT_EQ(json.size(), OptionSpecs().size());
  std::size_t i = 0;
  for (const auto& [key, value] : json.items()) EXPECT_EQ(key, OptionSpecs()[i++].name);
  EXPECT_EQ(json.at("hsic_D"), 512);
  EXPECT_EQ(json.at("target_column"), nullptr);
  EXPECT_EQ(json.at("trim_percentiles"), nlohmann::ordered_json({2.5, 97.5}));
  EXPECT_EQ(json.at("range_mode"), "trimmed");
}

// `descpipe config` prints YAML that --config reads back to the same configuration.
TEST(OptionRegistry, ConfigYamlReadsBackToTheSameConfig) {
  Config config;
  for (const char* assignment :
       {"inputs=[a.parquet, b.csv]", "hsic_D=128", "memory_limit=2GB", "target_column=t",
        "range_mode=iqr", "n_metadata_cols=2", "vif_correlation=pearson", "topk=3",
        "random_seed=18446744073709551615", "representative_criteria=[variance, input_order]",
        "verify_inputs=fast", "gpu_precision=tf32", "rdc_s=0.3333333333333333"}) {
    ApplyOverride(config, assignment);
  }
  const std::string yaml = ConfigYaml(config);
  EXPECT_TRUE(Contains(yaml, "hsic_D: 128\n")) << yaml;
  EXPECT_TRUE(Contains(yaml, "nonlinear_topk: 3\n")) << yaml;
  const Config back = LoadYaml(yaml);
  EXPECT_EQ(ConfigJson(back).dump(), ConfigJson(config).dump());
  // Defaults too (an unset memory_limit is written as null).
  EXPECT_TRUE(Contains(ConfigYaml(Config{}), "memory_limit: null\n"));
  EXPECT_EQ(ConfigJson(LoadYaml(ConfigYaml(Config{}))).dump(), ConfigJson(Config{}).dump());
}

TEST(OptionRegistry, OptionListNamesEveryOptionWithDefaultAndRange) {
  const std::string list = OptionList();
  for (const OptionSpec& spec : OptionSpecs())
    EXPECT_TRUE(Contains(list, std::string(spec.name) + " ")) << spec.name;
  EXPECT_TRUE(Contains(list, "default 512; integer [2, 65536]")) << list;
  EXPECT_TRUE(Contains(list, "alias topk")) << list;
  EXPECT_FALSE(Contains(list, "`")) << list;
}

TEST(ConfigRanges, IntegersAcceptEveryExactForm) {
  Config config;
  ApplyOverride(config, "random_seed=18446744073709551615");
  EXPECT_EQ(config.random_seed, 18446744073709551615ULL);
  ApplyOverride(config, "random_seed=9007199254740993");  // not a double: read exactly
  EXPECT_EQ(config.random_seed, 9007199254740993ULL);
  ApplyOverride(config, "sample_rows=1e6");
  EXPECT_EQ(config.sample_rows, 1000000);
  ApplyOverride(config, "hsic_D=64.0");
  EXPECT_EQ(config.hsic_D, 64);
  ApplyOverride(config, "leiden_iterations=-1");
  EXPECT_EQ(config.leiden_iterations, -1);
  EXPECT_TRUE(Contains(
      MessageOf<InvalidInput>([&] { ApplyOverride(config, "leiden_iterations=0"); }), "not 0"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { ApplyOverride(config, "hsic_D=6.5"); }),
                       "an integer"));
  config.Validate();
}

TEST(ConfigRanges, MemoryLimitBelowOneMebibyteIsRefused) {
  for (const char* text : {"0.4B", "1000", "1KB", "0.9MiB"}) {
    Config config;
    const std::string message = MessageOf<InvalidInput>(
        [&] { ApplyOverride(config, std::string("memory_limit=") + text); });
    EXPECT_TRUE(Contains(message, "memory_limit")) << message;
    EXPECT_TRUE(Contains(message, text)) << message;
    EXPECT_TRUE(Contains(message, "[1048576,")) << message;
    EXPECT_EQ(config.memory_limit, 0u);
  }
  Config config;
  ApplyOverride(config, "memory_limit=1MiB");
  EXPECT_EQ(config.memory_limit, 1048576u);
}

TEST(ConfigRanges, ValidateChecksWhatALibraryCallerStored) {
  Config config;
  config.hsic_D = 1 << 20;
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { config.Validate(); }),
                       "hsic_D must be an integer in [2, 65536]"));
  config = Config{};
  config.w_rdc = HUGE_VAL;
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { config.Validate(); }), "got inf"));
  config = Config{};
  config.hsic_D = 63;
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { config.Validate(); }), "even"));
  config = Config{};
  config.memory_limit = 1000;  // a caller's 1000 bytes is below the floor; 0 is the default
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { config.Validate(); }), "memory_limit"));
  config.memory_limit = 0;
  EXPECT_NO_THROW(config.Validate());
}

// ---- conversions -------------------------------------------------------------------------------

TEST(ConfigConversions, CarryTheOptions) {
  Config config;
  config.inputs = {"a.parquet"};
  config.union_by_name = true;
  config.metadata_columns = {"id"};
  config.n_metadata_cols = 2;
  config.descriptor_columns = {"x", "y"};
  config.trim_low_percent = 1.0;
  config.trim_high_percent = 99.0;
  config.quantile_sample_size = 2048;
  config.max_missing_ratio = 0.2;
  config.min_effective_n = 7;
  config.max_mode_fraction = 0.95;
  config.variance_threshold = 0.04;
  config.range_mode = RangeMode::kIqr;
  config.remove_binary = true;

  const InputSpec spec = config.ToInputSpec();
  EXPECT_EQ(spec.patterns, config.inputs);
  EXPECT_TRUE(spec.union_by_name);
  EXPECT_EQ(spec.metadata_columns, config.metadata_columns);
  EXPECT_EQ(spec.n_metadata_cols, config.n_metadata_cols);
  EXPECT_EQ(spec.descriptor_columns, config.descriptor_columns);

  const StatsOptions stats = config.ToStatsOptions();
  EXPECT_DOUBLE_EQ(stats.trim_low_percent, 1.0);
  EXPECT_DOUBLE_EQ(stats.trim_high_percent, 99.0);
  EXPECT_EQ(stats.quantile_sample_size, 2048u);

  const FilterOptions filter = config.ToFilterOptions();
  EXPECT_DOUBLE_EQ(filter.max_missing_ratio, 0.2);
  EXPECT_EQ(filter.min_effective_n, 7);
  EXPECT_DOUBLE_EQ(filter.max_mode_fraction, 0.95);
  EXPECT_DOUBLE_EQ(filter.variance_threshold, 0.04);
  EXPECT_EQ(filter.range_mode, RangeMode::kIqr);
  EXPECT_TRUE(filter.remove_binary);
}

// ---- ParseByteSize -----------------------------------------------------------------------------

TEST(ParseByteSize, UnitsAndNumbers) {
  EXPECT_EQ(ParseByteSize("8GB"), 8000000000ULL);
  EXPECT_EQ(ParseByteSize("8gb"), 8000000000ULL);
  EXPECT_EQ(ParseByteSize("512MiB"), 512ULL << 20);
  EXPECT_EQ(ParseByteSize("1e9"), 1000000000ULL);
  EXPECT_EQ(ParseByteSize("1.5 GiB"), 3ULL << 29);
  EXPECT_EQ(ParseByteSize("100"), 100ULL);
  EXPECT_EQ(ParseByteSize("100B"), 100ULL);
  EXPECT_EQ(ParseByteSize("4k"), 4096ULL);
  EXPECT_EQ(ParseByteSize("2KB"), 2000ULL);
  EXPECT_EQ(ParseByteSize("3m"), 3ULL << 20);
  EXPECT_EQ(ParseByteSize("1TiB"), 1ULL << 40);
}

TEST(ParseByteSize, PercentOfPhysicalMemory) {
  // Of the physical memory, or of the cgroup memory limit when lower (context_test.cpp).
  const double physical = static_cast<double>(UsableMemoryBytes());
  EXPECT_NEAR(static_cast<double>(ParseByteSize("70%")), 0.7 * physical, 2.0);
  EXPECT_NEAR(static_cast<double>(ParseByteSize("100%")), physical, 2.0);
  EXPECT_NEAR(static_cast<double>(ParseByteSize("12.5 %")), 0.125 * physical, 2.0);
}

TEST(ParseByteSize, RejectsNonsense) {
  for (const char* text :
       {"", "abc", "GB", "12XB", "0", "0GB", "-1GB", "0%", "150%", "-5%", "nan", "inf", "1e30TB"}) {
    const std::string message = MessageOf<InvalidInput>([&] { ParseByteSize(text); });
    EXPECT_FALSE(message.empty()) << text;
    if (*text != '\0') EXPECT_TRUE(Contains(message, text));
  }
}

}  // namespace
}  // namespace descpipe

namespace descpipe {
namespace {

// Seed and memory budget pass from Config to Context in one place (MakeContext); RunPipeline
// refuses a Context that disagrees, before it reads or writes anything.
TEST(ConfigContext, RunPipelineRefusesAContextThatDisagreesWithItsConfig) {
  Config config;
  config.inputs = {"/nonexistent/descpipe-input.parquet"};
  config.output_dir = "/nonexistent/descpipe-out";
  config.random_seed = 7;
  config.memory_limit = 64ULL << 20;
  const Context made = MakeContext(config);
  EXPECT_EQ(made.seed(), 7u);
  EXPECT_EQ(made.memory_limit_bytes(), 64ULL << 20);

  const std::string seed = MessageOf<InvalidInput>(
      [&] { RunPipeline(config, RunOptions{}, Context(0, 42, 64ULL << 20)); });
  EXPECT_TRUE(Contains(seed, "seed 42 differs from random_seed 7")) << seed;
  const std::string memory =
      MessageOf<InvalidInput>([&] { RunPipeline(config, RunOptions{}, Context(0, 7)); });
  EXPECT_TRUE(Contains(memory, "differs from memory_limit")) << memory;
  // The Context MakeContext gives passes the check: the next error is the missing input.
  const std::string input = MessageOf<Error>([&] { RunPipeline(config, RunOptions{}, made); });
  EXPECT_FALSE(Contains(input, "MakeContext")) << input;
  EXPECT_TRUE(Contains(input, "descpipe-input.parquet")) << input;
}

}  // namespace
}  // namespace descpipe

namespace descpipe {
namespace {

TEST(JsonNumber, NonFiniteValuesFollowTheirPolicy) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(JsonNumber(0.25).dump(), "0.25");
  EXPECT_EQ(JsonNumber(0.1, NonFinite::kText).dump(), "0.1");
  EXPECT_TRUE(JsonNumber(nan).is_null());
  EXPECT_TRUE(JsonNumber(-inf).is_null());
  EXPECT_EQ(JsonNumber(nan, NonFinite::kText), "nan");
  EXPECT_EQ(JsonNumber(inf, NonFinite::kText), "inf");
  EXPECT_EQ(JsonNumber(-inf, NonFinite::kText), "-inf");
  EXPECT_TRUE(JsonNumber(nan, NonFinite::kNanNullInfText).is_null());
  EXPECT_EQ(JsonNumber(inf, NonFinite::kNanNullInfText), "inf");
}

// id_columns: auto (default, or null), none, a list; `[]` is none; a lone name is a list of one.
TEST(OptionRegistry, IdColumnsAutoNoneOrAList) {
  Config config;
  EXPECT_EQ(config.id_columns_mode, IdColumnsMode::kAuto);
  ApplyOverride(config, "id_columns=none");
  EXPECT_EQ(config.id_columns_mode, IdColumnsMode::kNone);
  EXPECT_EQ(ConfigJson(config).at("id_columns"), "none");
  ApplyOverride(config, "id_columns=[CID, original_index]");
  EXPECT_EQ(config.id_columns_mode, IdColumnsMode::kListed);
  EXPECT_EQ(config.id_columns, (std::vector<std::string>{"CID", "original_index"}));
  EXPECT_EQ(ConfigJson(config).at("id_columns"), nlohmann::ordered_json({"CID", "original_index"}));
  ApplyOverride(config, "id_columns=AUTO");
  EXPECT_EQ(config.id_columns_mode, IdColumnsMode::kAuto);
  EXPECT_TRUE(config.id_columns.empty());
  ApplyOverride(config, "id_columns=CID");
  EXPECT_EQ(config.id_columns, (std::vector<std::string>{"CID"}));
  ApplyOverride(config, "id_columns=[auto]");  // a column named "auto"
  EXPECT_EQ(config.id_columns_mode, IdColumnsMode::kListed);
  EXPECT_EQ(LoadYaml(ConfigYaml(config)).id_columns, (std::vector<std::string>{"auto"}));
  ApplyOverride(config, "id_columns=[]");
  EXPECT_EQ(config.id_columns_mode, IdColumnsMode::kNone);
  ApplyOverride(config, "id_columns=null");
  EXPECT_EQ(config.id_columns_mode, IdColumnsMode::kAuto);
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { ApplyOverride(config, "id_columns={a: 1}"); }),
                       "option id_columns must be auto, none or a list of column names"));
  // A library caller's inconsistent fields.
  Config listed_without_names;
  listed_without_names.id_columns_mode = IdColumnsMode::kListed;
  EXPECT_THROW(listed_without_names.Validate(), InvalidInput);
  Config names_without_list;
  names_without_list.id_columns = {"CID"};
  EXPECT_THROW(names_without_list.Validate(), InvalidInput);
}

}  // namespace
}  // namespace descpipe
