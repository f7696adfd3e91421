// Configuration: option table, YAML loading (descpipe's keys and the original tool's flat and
// sectioned files), `--set` overrides and validation.
#include "descpipe/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <ios>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {
namespace {

using Setter = std::function<void(Config&, const YAML::Node&, const std::string&)>;

std::string NodeText(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << node;
  return Shorten(out.c_str());
}

template <typename T>
T As(const YAML::Node& node, const std::string& key, const char* what) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw InvalidInput(fmt::format("option {} must be {}, got '{}'", key, what, NodeText(node)));
  }
}

std::vector<std::string> AsStringList(const YAML::Node& node, const std::string& key) {
  if (node.IsScalar()) return {node.as<std::string>()};
  if (node.IsNull()) return {};
  DESCPIPE_EXPECTS(node.IsSequence(), "option {} must be a list of names, got '{}'", key, NodeText(node));
  std::vector<std::string> out;
  for (const auto& item : node) out.push_back(As<std::string>(item, key, "a list of names"));
  return out;
}

const OptionSpec& SpecOf(const std::string& key) {
  const OptionSpec* spec = FindOptionSpec(key);
  DESCPIPE_ASSERT(spec != nullptr);
  return *spec;
}

std::string Note(const OptionSpec& spec) {
  return *spec.note == '\0' ? std::string() : fmt::format(" ({})", spec.note);
}

/// Throws unless `value` lies in the range of `spec` (and obeys its extra rule); `shown` is the
/// value as the user wrote it. Compared as long double: exact for every 64-bit integer.
void CheckNumber(const OptionSpec& spec, long double value, const std::string& shown) {
  const bool integer = spec.kind == OptionKind::kInteger;
  const bool in_range = std::isfinite(value) && value <= static_cast<long double>(spec.max) &&
                        (spec.min_open ? value > spec.min : value >= spec.min);
  bool extra = true;
  if (in_range && std::string_view(spec.name) == "hsic_D") extra = std::fmod(value, 2.0L) == 0.0L;
  if (in_range && std::string_view(spec.name) == "leiden_iterations") extra = value != 0.0L;
  if (in_range && extra) return;
  const char* what = integer ? "an integer" : spec.kind == OptionKind::kSize ? "a size" : "a finite number";
  throw InvalidInput(
      fmt::format("option {} must be {} in {}{}, got {}", spec.name, what, RangeText(spec), Note(spec), shown));
}

/// An integer option's value, checked against its range before it is narrowed to the field's
/// type: "4294967297" is refused, not wrapped to 1. Accepts 42, -1, 1e6, 2.0 and every uint64.
long double AsInteger(const YAML::Node& node, const std::string& key) {
  const OptionSpec& spec = SpecOf(key);
  const std::string text = node.IsScalar() ? node.Scalar() : std::string();
  long double value = 0.0L;
  std::int64_t signed_value = 0;
  std::uint64_t unsigned_value = 0;
  const char* end = text.data() + text.size();
  // Whole text, and in range of the type (on overflow from_chars also consumes every digit).
  auto whole = [&](auto& out) {
    const auto [ptr, error] = std::from_chars(text.data(), end, out);
    return !text.empty() && ptr == end && error == std::errc();
  };
  if (whole(signed_value)) {
    value = static_cast<long double>(signed_value);
  } else if (whole(unsigned_value)) {
    value = static_cast<long double>(unsigned_value);
  } else {
    double real = 0.0;
    try {
      real = node.as<double>();
    } catch (const YAML::Exception&) {
      throw InvalidInput(fmt::format("option {} must be a number: an integer in {}{}, got '{}'", spec.name,
                                     RangeText(spec), Note(spec), NodeText(node)));
    }
    DESCPIPE_EXPECTS(!std::isfinite(real) || std::floor(real) == real,
                     "option {} must be an integer in {}{}, got '{}'", spec.name, RangeText(spec), Note(spec),
                     NodeText(node));
    value = real;
  }
  CheckNumber(spec, value, NodeText(node));
  return value;
}

template <typename T>
T AsInt(const YAML::Node& node, const std::string& key) {
  return static_cast<T>(AsInteger(node, key));  // in range: CheckNumber fits every field's type
}

double AsDouble(const YAML::Node& node, const std::string& key) {
  const double value = As<double>(node, key, "a number");
  CheckNumber(SpecOf(key), value, NodeText(node));
  return value;
}

bool AsBool(const YAML::Node& node, const std::string& key) {
  return As<bool>(node, key, "true or false");
}

/// Options descpipe implements now.
const std::map<std::string, Setter>& Implemented() {
  static const std::map<std::string, Setter> table = {
      {"inputs", [](Config& c, const YAML::Node& n, const std::string& k) { c.inputs = AsStringList(n, k); }},
      {"parquet_glob", [](Config& c, const YAML::Node& n, const std::string& k) { c.inputs = AsStringList(n, k); }},
      {"output_dir", [](Config& c, const YAML::Node& n, const std::string& k) { c.output_dir = As<std::string>(n, k, "a path"); }},
      {"union_by_name", [](Config& c, const YAML::Node& n, const std::string& k) { c.union_by_name = AsBool(n, k); }},
      {"verify_inputs", [](Config& c, const YAML::Node& n, const std::string& k) {
         const std::string mode = AsciiLower(As<std::string>(n, k, "fast or full"));
         if (mode == "fast") c.verify_inputs = InputVerification::kFast;
         else if (mode == "full") c.verify_inputs = InputVerification::kFull;
         else throw InvalidInput(fmt::format("option {} must be fast or full, got '{}'", k, NodeText(n))); }},
      {"metadata_columns", [](Config& c, const YAML::Node& n, const std::string& k) { c.metadata_columns = AsStringList(n, k); }},
      {"n_metadata_cols", [](Config& c, const YAML::Node& n, const std::string& k) {
         if (n.IsNull()) { c.n_metadata_cols.reset(); return; }
         c.n_metadata_cols = AsInt<int>(n, k); }},
      {"descriptor_columns", [](Config& c, const YAML::Node& n, const std::string& k) { c.descriptor_columns = AsStringList(n, k); }},
      {"sample_rows", [](Config& c, const YAML::Node& n, const std::string& k) { c.sample_rows = n.IsNull() ? 0 : AsInt<std::int64_t>(n, k); }},
      {"sample_per_file", [](Config& c, const YAML::Node& n, const std::string& k) { c.sample_per_file = n.IsNull() ? 0 : AsInt<std::int64_t>(n, k); }},
      {"random_seed", [](Config& c, const YAML::Node& n, const std::string& k) {
         c.random_seed = AsInt<std::uint64_t>(n, k); }},
      {"max_missing_ratio", [](Config& c, const YAML::Node& n, const std::string& k) { c.max_missing_ratio = AsDouble(n, k); }},
      {"min_effective_n", [](Config& c, const YAML::Node& n, const std::string& k) { c.min_effective_n = AsInt<std::int64_t>(n, k); }},
      {"max_mode_fraction", [](Config& c, const YAML::Node& n, const std::string& k) { c.max_mode_fraction = AsDouble(n, k); }},
      {"variance_threshold", [](Config& c, const YAML::Node& n, const std::string& k) { c.variance_threshold = AsDouble(n, k); }},
      {"range_mode", [](Config& c, const YAML::Node& n, const std::string& k) {
         const std::string mode = AsciiLower(As<std::string>(n, k, "trimmed, minmax or iqr"));
         if (mode == "trimmed") c.range_mode = RangeMode::kTrimmed;
         else if (mode == "minmax") c.range_mode = RangeMode::kMinMax;
         else if (mode == "iqr") c.range_mode = RangeMode::kIqr;
         else throw InvalidInput(fmt::format("option {} must be trimmed, minmax or iqr, got '{}'", k, NodeText(n))); }},
      {"trim_percentiles", [](Config& c, const YAML::Node& n, const std::string& k) {
         DESCPIPE_EXPECTS(n.IsSequence() && n.size() == 2, "option {} must be [low, high] in percent, got '{}'", k, NodeText(n));
         c.trim_low_percent = AsDouble(n[0], k);
         c.trim_high_percent = AsDouble(n[1], k); }},
      {"remove_binary", [](Config& c, const YAML::Node& n, const std::string& k) { c.remove_binary = AsBool(n, k); }},
      {"quantile_sample_size", [](Config& c, const YAML::Node& n, const std::string& k) { c.quantile_sample_size = AsInt<std::int64_t>(n, k); }},
      {"spearman_threshold", [](Config& c, const YAML::Node& n, const std::string& k) { c.spearman_threshold = AsDouble(n, k); }},
      {"spearman_missing", [](Config& c, const YAML::Node& n, const std::string& k) {
         const std::string mode = AsciiLower(As<std::string>(n, k, "pairwise or impute_median"));
         if (mode == "pairwise") c.spearman_missing = SpearmanMissing::kPairwise;
         else if (mode == "impute_median") c.spearman_missing = SpearmanMissing::kImputeMedian;
         else throw InvalidInput(fmt::format("option {} must be pairwise or impute_median, got '{}'", k, NodeText(n))); }},
      {"spearman_cluster_method", [](Config& c, const YAML::Node& n, const std::string& k) {
         c.spearman_cluster_method = ParseClusterMethod(AsciiLower(As<std::string>(n, k, "star, components or leiden"))); }},
      {"representative_criteria", [](Config& c, const YAML::Node& n, const std::string& k) {
         std::vector<Criterion> criteria;
         for (const auto& name : AsStringList(n, k)) criteria.push_back(ParseCriterion(AsciiLower(name)));
         DESCPIPE_EXPECTS(!criteria.empty(), "option {} must list at least one criterion", k);
         c.representative_criteria = criteria; }},
      {"keep_columns", [](Config& c, const YAML::Node& n, const std::string& k) { c.keep_columns = AsStringList(n, k); }},
      {"target_column", [](Config& c, const YAML::Node& n, const std::string& k) {
         c.target_column = n.IsNull() ? std::string() : As<std::string>(n, k, "a column name"); }},
      {"exact", [](Config& c, const YAML::Node& n, const std::string& k) { c.exact = AsBool(n, k); }},
      {"leiden_resolution", [](Config& c, const YAML::Node& n, const std::string& k) { c.leiden_resolution = AsDouble(n, k); }},
      {"leiden_iterations", [](Config& c, const YAML::Node& n, const std::string& k) { c.leiden_iterations = AsInt<int>(n, k); }},
      {"vif_threshold", [](Config& c, const YAML::Node& n, const std::string& k) { c.vif_threshold = AsDouble(n, k); }},
      {"vif_correlation", [](Config& c, const YAML::Node& n, const std::string& k) {
         const std::string mode = AsciiLower(As<std::string>(n, k, "spearman or pearson"));
         if (mode == "spearman") c.vif_pearson = false;
         else if (mode == "pearson") c.vif_pearson = true;
         else throw InvalidInput(fmt::format("option {} must be spearman or pearson, got '{}'", k, NodeText(n))); }},
      {"nonlinear_max_rows", [](Config& c, const YAML::Node& n, const std::string& k) { c.nonlinear_max_rows = AsInt<std::int64_t>(n, k); }},
      {"rdc_k", [](Config& c, const YAML::Node& n, const std::string& k) { c.rdc_k = AsInt<int>(n, k); }},
      {"rdc_s", [](Config& c, const YAML::Node& n, const std::string& k) { c.rdc_s = AsDouble(n, k); }},
      {"rdc_seeds", [](Config& c, const YAML::Node& n, const std::string& k) { c.rdc_seeds = AsInt<int>(n, k); }},
      {"hsic_D", [](Config& c, const YAML::Node& n, const std::string& k) { c.hsic_D = AsInt<int>(n, k); }},
      {"w_hsic", [](Config& c, const YAML::Node& n, const std::string& k) { c.w_hsic = AsDouble(n, k); }},
      {"w_rdc", [](Config& c, const YAML::Node& n, const std::string& k) { c.w_rdc = AsDouble(n, k); }},
      {"nonlinear_threshold", [](Config& c, const YAML::Node& n, const std::string& k) { c.nonlinear_threshold = AsDouble(n, k); }},
      {"nonlinear_topk", [](Config& c, const YAML::Node& n, const std::string& k) {
         c.nonlinear_topk = n.IsNull() ? 0 : AsInt<int>(n, k); }},
      {"topk", [](Config& c, const YAML::Node& n, const std::string& k) {
         c.nonlinear_topk = n.IsNull() ? 0 : AsInt<int>(n, k); }},
      {"nonlinear_representative_criteria", [](Config& c, const YAML::Node& n, const std::string& k) {
         std::vector<Criterion> criteria;
         for (const auto& name : AsStringList(n, k)) criteria.push_back(ParseCriterion(AsciiLower(name)));
         DESCPIPE_EXPECTS(!criteria.empty(), "option {} must list at least one criterion", k);
         c.nonlinear_representative_criteria = criteria; }},
      {"leiden_objective", [](Config& c, const YAML::Node& n, const std::string& k) {
         c.leiden_objective = ParseLeidenObjective(AsciiLower(As<std::string>(n, k, "modularity or cpm"))); }},
      {"threads", [](Config& c, const YAML::Node& n, const std::string& k) { c.threads = AsInt<int>(n, k); }},
      {"memory_limit", [](Config& c, const YAML::Node& n, const std::string& k) {
         if (n.IsNull()) { c.memory_limit = 0; return; }
         std::uint64_t bytes = 0;
         try {
           bytes = ParseByteSize(As<std::string>(n, k, "a size such as 8GB"));
         } catch (const InvalidInput& e) {
           throw InvalidInput(fmt::format("option {}: {}", k, e.what()));
         }
         CheckNumber(SpecOf(k), static_cast<long double>(bytes), fmt::format("'{}' ({} bytes)", NodeText(n), bytes));
         c.memory_limit = bytes; }},
      {"device", [](Config& c, const YAML::Node& n, const std::string& k) { c.device = AsciiLower(As<std::string>(n, k, "cpu, auto or cuda[:N]")); }},
      {"gpu_id", [](Config& c, const YAML::Node& n, const std::string& k) { c.gpu_id = AsInt<int>(n, k); }},
      {"max_gpu_memory_gb", [](Config& c, const YAML::Node& n, const std::string& k) {
         c.max_gpu_memory_gb = n.IsNull() ? 0.0 : AsDouble(n, k); }},
      {"gpu_precision", [](Config& c, const YAML::Node& n, const std::string& k) {
         const std::string mode = AsciiLower(As<std::string>(n, k, "fp64, fp32 or tf32"));
         if (mode == "fp64") c.gpu_precision = GpuPrecision::kFp64;
         else if (mode == "fp32") c.gpu_precision = GpuPrecision::kFp32;
         else if (mode == "tf32") c.gpu_precision = GpuPrecision::kTf32;
         else throw InvalidInput(fmt::format("option {} must be fp64, fp32 or tf32, got '{}'", k, NodeText(n))); }},
  };
  return table;
}

/// Options of passes this build does not run yet: accepted, reported as not yet used.
const std::set<std::string>& Future() {
  static const std::set<std::string> names = {};
  return names;
}

/// Keys of the original descriptor_pipeline that have no meaning in descpipe: accepted, ignored.
const std::set<std::string>& Legacy() {
  static const std::set<std::string> names = {
      "prefer_gpu", "gpu_batch_size", "file_independent_sampling", "force_recompute",
      "use_robust_variance", "use_percentile_clip", "percentile_low", "percentile_high",
      "binary_skewness_threshold", "m", "r", "spearman_resolution", "vif_batch_size", "rdc_d",
      "hsic_block_size", "hsic_memory_limit_gb", "rdc_fisher_weight", "rdc_max_weight",
      "rdc_cdf_resolution", "hsic_kernel_bandwidth", "hsic_use_gamma", "nonlinear_resolution",
      "weights", "n_consensus", "consensus_memory_limit_p", "batch_rows", "checkpoint", "verbose",
      "var_eps", "range_eps", "mean_eps", "iqr_multiplier", "hard_cap"};
  return names;
}

const std::set<std::string>& Sections() {
  static const std::set<std::string> names = {"io", "filtering", "system", "device", "sampling",
                                              "statistics", "spearman", "vif", "nonlinear", "graph"};
  return names;
}

std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Suggestion(const std::string& key) {
  if (key.size() > 100) return "";  // no option name is that long (and the distance is quadratic)
  std::string best;
  std::size_t best_distance = SIZE_MAX;
  for (const auto& name : KnownOptionNames()) {
    const std::size_t distance = EditDistance(AsciiLower(key), name);
    if (distance < best_distance) {
      best_distance = distance;
      best = name;
    }
  }
  if (best_distance <= std::max<std::size_t>(2, key.size() / 3)) {
    return fmt::format(" (did you mean {}?)", best);
  }
  return "";
}

void ApplyKey(Config& config, const std::string& key, const YAML::Node& value,
              const std::string& where) {
  const auto& implemented = Implemented();
  if (auto it = implemented.find(key); it != implemented.end()) {
    it->second(config, value, key);
    return;
  }
  auto record = [&](std::vector<std::pair<std::string, std::string>>& list) {
    std::erase_if(list, [&](const auto& entry) { return entry.first == key; });
    list.emplace_back(key, NodeText(value));
  };
  if (Future().count(key)) {
    record(config.not_yet_used);
    return;
  }
  if (Legacy().count(key)) {
    record(config.ignored_legacy);
    return;
  }
  throw InvalidInput(fmt::format("unknown option {}{}{}", Shorten(key), where, Suggestion(key)));
}

/// A mapping key as text: YAML also allows lists, mappings and null as keys ("? [a]").
std::string KeyText(const YAML::Node& key, const std::string& where) {
  DESCPIPE_EXPECTS(key.IsScalar(), "option names must be words, got the key '{}'{}", NodeText(key), where);
  return key.Scalar();
}

void ApplyMapping(Config& config, const YAML::Node& root, const std::string& where) {
  for (const auto& entry : root) {
    const std::string key = KeyText(entry.first, where);
    const YAML::Node& value = entry.second;
    if (Sections().count(key) && value.IsMap()) {
      for (const auto& inner : value) {
        const std::string inner_key = KeyText(inner.first, fmt::format(" in section {}:{}", key, where));
        ApplyKey(config, inner_key, inner.second, fmt::format(" in section {}:{}", key, where));
      }
    } else if (Sections().count(key) && value.IsNull()) {
      continue;  // an empty section ("filtering:" with every key commented out)
    } else if (Sections().count(key) && !Implemented().count(key)) {
      throw InvalidInput(fmt::format("section {}:{} must be a mapping of option: value, got '{}'",
                                     key, where, NodeText(value)));
    } else {
      ApplyKey(config, key, value, where);
    }
  }
}

}  // namespace

const std::vector<OptionSpec>& OptionSpecs() {
  using K = OptionKind;
  // Getters for Validate: the stored value of each number option.
#define DESCPIPE_VALUE(field) [](const Config& c) { return static_cast<long double>(c.field); }
  static const std::vector<OptionSpec> specs = {
      {"inputs", K::kNames},
      {"output_dir", K::kText},
      {"union_by_name", K::kBool},
      {"verify_inputs", K::kChoice, 0, 0, false, "fast or full"},
      {"metadata_columns", K::kNames},
      {"n_metadata_cols", K::kInteger, 0, 1e6, false, "",
       [](const Config& c) { return static_cast<long double>(c.n_metadata_cols.value_or(0)); }},
      {"descriptor_columns", K::kNames},
      {"sample_rows", K::kInteger, 0, 1e15, false, "0: off", DESCPIPE_VALUE(sample_rows)},
      {"sample_per_file", K::kInteger, 0, 1e15, false, "0: off", DESCPIPE_VALUE(sample_per_file)},
      {"random_seed", K::kInteger, 0, 18446744073709551615.0L, false, "", DESCPIPE_VALUE(random_seed)},
      {"max_missing_ratio", K::kReal, 0, 1, false, "", DESCPIPE_VALUE(max_missing_ratio)},
      {"min_effective_n", K::kInteger, 0, 1e15, false, "", DESCPIPE_VALUE(min_effective_n)},
      {"max_mode_fraction", K::kReal, 0, 1, true, "1: off", DESCPIPE_VALUE(max_mode_fraction)},
      {"variance_threshold", K::kReal, 0, 1e6, false, "", DESCPIPE_VALUE(variance_threshold)},
      {"range_mode", K::kChoice, 0, 0, false, "trimmed, minmax or iqr"},
      {"trim_percentiles", K::kPercentiles, 0, 100, false, "low < high"},
      {"remove_binary", K::kBool},
      {"quantile_sample_size", K::kInteger, 1024, 16777216, false, "", DESCPIPE_VALUE(quantile_sample_size)},
      {"spearman_threshold", K::kReal, 0, 1, true, "", DESCPIPE_VALUE(spearman_threshold)},
      {"spearman_missing", K::kChoice, 0, 0, false, "pairwise or impute_median"},
      {"spearman_cluster_method", K::kChoice, 0, 0, false, "star, components or leiden"},
      {"representative_criteria", K::kCriteria},
      {"keep_columns", K::kNames},
      {"target_column", K::kText},
      {"exact", K::kBool},
      {"leiden_resolution", K::kReal, 0, 1e6, true, "", DESCPIPE_VALUE(leiden_resolution)},
      {"leiden_iterations", K::kInteger, -1, 1000, false, "-1: until stable; not 0", DESCPIPE_VALUE(leiden_iterations)},
      {"vif_threshold", K::kReal, 1, 1e15, true, "a VIF is never below 1", DESCPIPE_VALUE(vif_threshold)},
      {"vif_correlation", K::kChoice, 0, 0, false, "spearman or pearson"},
      {"nonlinear_max_rows", K::kInteger, 20, 1e7, false, "", DESCPIPE_VALUE(nonlinear_max_rows)},
      {"w_hsic", K::kReal, 0, 1e6, false, "not both weights 0", DESCPIPE_VALUE(w_hsic)},
      {"w_rdc", K::kReal, 0, 1e6, false, "not both weights 0", DESCPIPE_VALUE(w_rdc)},
      {"hsic_D", K::kInteger, 2, 65536, false, "even: cosine and sine of hsic_D / 2 frequencies", DESCPIPE_VALUE(hsic_D)},
      {"rdc_k", K::kInteger, 1, 1000, false, "", DESCPIPE_VALUE(rdc_k)},
      {"rdc_s", K::kReal, 0, 1e6, true, "", DESCPIPE_VALUE(rdc_s)},
      {"rdc_seeds", K::kInteger, 1, 100, false, "", DESCPIPE_VALUE(rdc_seeds)},
      {"nonlinear_threshold", K::kReal, 0, 1, true, "", DESCPIPE_VALUE(nonlinear_threshold)},
      {"nonlinear_topk", K::kInteger, 0, 1e6, false, "0: no limit", DESCPIPE_VALUE(nonlinear_topk)},
      {"leiden_objective", K::kChoice, 0, 0, false, "modularity or cpm"},
      {"nonlinear_representative_criteria", K::kCriteria},
      {"threads", K::kInteger, 0, kMaxThreads, false, "0: all cores", DESCPIPE_VALUE(threads)},
      // 0 (the default: half of physical RAM) is what an unset memory_limit stores; Validate
      // lets it through, a written value must be at least 1 MiB.
      {"memory_limit", K::kSize, 1048576, 1152921504606846976.0L, false, "bytes", DESCPIPE_VALUE(memory_limit)},
      {"device", K::kText, 0, 0, false, "cpu, auto or cuda[:N]"},
      {"gpu_id", K::kInteger, 0, 1023, false, "", DESCPIPE_VALUE(gpu_id)},
      {"max_gpu_memory_gb", K::kReal, 0, 1e6, false, "0: the GPU's free memory", DESCPIPE_VALUE(max_gpu_memory_gb)},
      {"gpu_precision", K::kChoice, 0, 0, false, "fp64, fp32 or tf32"},
  };
#undef DESCPIPE_VALUE
  return specs;
}

const OptionSpec* FindOptionSpec(const std::string& name) {
  const std::string canonical = name == "topk" ? "nonlinear_topk" : name == "parquet_glob" ? "inputs" : name;
  for (const OptionSpec& spec : OptionSpecs()) {
    if (canonical == spec.name) return &spec;
  }
  return nullptr;
}

std::string RangeText(const OptionSpec& spec) {
  auto number = [&](long double value) {
    if (spec.kind != OptionKind::kReal) return fmt::format("{:.0f}", value);
    return fmt::format("{}", static_cast<double>(value));
  };
  return fmt::format("{}{}, {}]", spec.min_open ? "(" : "[", number(spec.min), number(spec.max));
}

std::vector<std::string> KnownOptionNames() {
  std::vector<std::string> names;
  for (const auto& [name, setter] : Implemented()) names.push_back(name);
  for (const auto& name : Future()) names.push_back(name);
  for (const auto& name : Legacy()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::uint64_t ParseByteSize(const std::string& text) {
  std::string trimmed;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) trimmed += c;
  }
  std::size_t consumed = 0;
  double value = 0.0;
  try {
    value = std::stod(trimmed, &consumed);
  } catch (const std::exception&) {
    throw InvalidInput(fmt::format("cannot read '{}' as a size (examples: 8GB, 512MiB, 70%)", text));
  }
  const std::string unit = AsciiLower(trimmed.substr(consumed));
  static const std::map<std::string, double> kUnits = {
      {"", 1.0}, {"b", 1.0}, {"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
      {"kib", 1024.0}, {"mib", 1048576.0}, {"gib", 1073741824.0}, {"tib", 1099511627776.0},
      {"k", 1024.0}, {"m", 1048576.0}, {"g", 1073741824.0}};
  double bytes = 0.0;
  if (unit == "%") {
    DESCPIPE_EXPECTS(value > 0 && value <= 100, "memory percentage must be in (0, 100], got '{}'", text);
    bytes = static_cast<double>(PhysicalMemoryBytes()) * value / 100.0;
  } else {
    auto it = kUnits.find(unit);
    DESCPIPE_EXPECTS(it != kUnits.end(), "unknown size unit '{}' in '{}' (use B, KB, MB, GB, MiB, GiB or %)",
                     unit, text);
    bytes = value * it->second;
  }
  DESCPIPE_EXPECTS(bytes > 0, "size '{}' must be positive", text);
  // 2^64: larger values (and inf) do not fit in std::uint64_t.
  DESCPIPE_EXPECTS(bytes < 18446744073709551616.0, "size '{}' is too large", text);
  return static_cast<std::uint64_t>(bytes);
}

Config LoadConfigFile(const std::string& path, Config base) {
  // Read here, not with YAML::LoadFile: its stream leaks a buffer when the read fails (a
  // directory opens as a file and fails on the first read with EISDIR). A pipe (`<(...)`) is fine.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw IoError(fmt::format("cannot read config file '{}': it is a directory", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw IoError(fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
  std::ostringstream text;
  if (in.peek() != std::ifstream::traits_type::eof()) text << in.rdbuf();
  if (in.bad()) throw IoError(fmt::format("cannot read config file '{}': read error", path));
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    throw InvalidInput(fmt::format("config file '{}' is not valid YAML: {}", path, e.what()));
  }
  if (root.IsNull()) return base;
  DESCPIPE_EXPECTS(root.IsMap(), "config file '{}' must be a mapping of option: value", path);
  ApplyMapping(base, root, fmt::format(" in '{}'", path));
  return base;
}

void ApplyOverride(Config& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  DESCPIPE_EXPECTS(eq != std::string::npos && eq > 0, "--set expects key=value, got '{}'", assignment);
  std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  if (const auto dot = key.find('.'); dot != std::string::npos && Sections().count(key.substr(0, dot))) {
    key = key.substr(dot + 1);  // "filtering.variance_threshold" -> "variance_threshold"
  }
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InvalidInput(fmt::format("--set {}: cannot read the value '{}': {}", key, text, e.what()));
  }
  ApplyKey(config, key, value, " given to --set");
}

InputSpec Config::ToInputSpec() const {
  InputSpec spec;
  spec.patterns = inputs;
  spec.union_by_name = union_by_name;
  spec.metadata_columns = metadata_columns;
  spec.n_metadata_cols = n_metadata_cols;
  spec.descriptor_columns = descriptor_columns;
  return spec;
}

StatsOptions Config::ToStatsOptions() const {
  StatsOptions options;
  options.trim_low_percent = trim_low_percent;
  options.trim_high_percent = trim_high_percent;
  options.quantile_sample_size = static_cast<std::size_t>(quantile_sample_size);
  return options;
}

FilterOptions Config::ToFilterOptions() const {
  FilterOptions options;
  options.max_missing_ratio = max_missing_ratio;
  options.min_effective_n = min_effective_n;
  options.max_mode_fraction = max_mode_fraction;
  options.variance_threshold = variance_threshold;
  options.range_mode = range_mode;
  options.remove_binary = remove_binary;
  return options;
}

ClusterOptions Config::ToClusterOptions() const {
  ClusterOptions options;
  options.method = spearman_cluster_method;
  options.threshold = spearman_threshold;
  options.criteria = representative_criteria;
  options.seed = random_seed;
  options.leiden_resolution = leiden_resolution;
  options.leiden_iterations = leiden_iterations;
  return options;
}

NonlinearOptions Config::ToNonlinearOptions() const {
  NonlinearOptions options;
  options.rdc_k = rdc_k;
  options.rdc_s = rdc_s;
  options.rdc_seeds = rdc_seeds;
  options.hsic_D = hsic_D;
  options.w_hsic = w_hsic;
  options.w_rdc = w_rdc;
  options.seed = random_seed;
  return options;
}

ClusterOptions Config::ToNonlinearClusterOptions() const {
  ClusterOptions options = ToClusterOptions();
  options.method = ClusterMethod::kLeiden;
  options.threshold = nonlinear_threshold;
  options.criteria = nonlinear_representative_criteria;
  options.leiden_objective = leiden_objective;
  return options;
}

void Config::Validate() const {
  // Every number option against its range (values set through YAML or --set were checked as they
  // were read; a library caller fills Config directly).
  for (const OptionSpec& spec : OptionSpecs()) {
    if (spec.value == nullptr) continue;
    const long double value = spec.value(*this);
    if (spec.kind == OptionKind::kSize && value == 0.0L) continue;  // unset: the default
    CheckNumber(spec, value, spec.kind == OptionKind::kReal ? FormatNumber(static_cast<double>(value))
                                                            : fmt::format("{:.0f}", value));
  }
  DESCPIPE_EXPECTS(w_hsic + w_rdc > 0.0, "w_hsic and w_rdc must be >= 0 and not both 0, got {} and {}", w_hsic,
                   w_rdc);
  DESCPIPE_EXPECTS(trim_low_percent >= 0.0 && trim_low_percent < trim_high_percent &&
                       trim_high_percent <= 100.0,
                   "trim_percentiles must satisfy 0 <= low < high <= 100, got [{}, {}]",
                   trim_low_percent, trim_high_percent);
  DESCPIPE_EXPECTS(!(sample_rows > 0 && sample_per_file > 0),
                   "sample_rows ({}) and sample_per_file ({}) are exclusive: set only one",
                   sample_rows, sample_per_file);
  const bool cuda_device =
      device == "cuda" ||
      (device.rfind("cuda:", 0) == 0 && device.size() > 5 && device.size() <= 9 &&
       device.find_first_not_of("0123456789", 5) == std::string::npos);
  DESCPIPE_EXPECTS(device == "cpu" || device == "auto" || cuda_device,
                   "device must be cpu, auto or cuda[:N], got '{}'", device);
}

}  // namespace descpipe
