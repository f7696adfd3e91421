// Configuration: option table, YAML loading (descpipe's keys and the original tool's flat and
// sectioned files), `--set` overrides and validation.
#include "descpipe/config.hpp"

#include <spdlog/spdlog.h>
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
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string_view>

#include "common/memory_budget.hpp"
#include "common/text.hpp"
#include "descpipe/device.hpp"
#include "descpipe/error.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {

struct OptionValue {
  const YAML::Node& node;
  const std::string& key;  ///< as written: the option's name or its alias
};

namespace {

using Json = nlohmann::ordered_json;

std::string NodeText(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << node;
  return Shorten(out.c_str());
}

template <typename T>
T As(const OptionValue& v, const char* what) {
  try {
    return v.node.as<T>();
  } catch (const YAML::Exception&) {
    throw InvalidInput(
        fmt::format("option {} must be {}, got '{}'", v.key, what, NodeText(v.node)));
  }
}

std::vector<std::string> AsStringList(const OptionValue& v) {
  if (v.node.IsScalar()) return {v.node.as<std::string>()};
  if (v.node.IsNull()) return {};
  DESCPIPE_EXPECTS(v.node.IsSequence(), "option {} must be a list of names, got '{}'", v.key,
                   NodeText(v.node));
  std::vector<std::string> out;
  for (const auto& item : v.node) {
    out.push_back(As<std::string>(OptionValue{item, v.key}, "a list of names"));
  }
  return out;
}

/// na_values: a list of field values, each as written ("" is the empty field). YAML reads a plain
/// `null`, `~` or nothing as no value at all, not as that text: such an item is refused.
std::vector<std::string> AsNaValues(const OptionValue& v) {
  if (v.node.IsNull()) return {};
  std::vector<std::string> values;
  auto add = [&](const YAML::Node& item) {
    DESCPIPE_EXPECTS(!item.IsNull(),
                     "option {}: YAML reads a plain null, ~ or nothing as no value; quote the text "
                     "a CSV field holds (\"null\", \"~\", \"\" for the empty field), got '{}'",
                     v.key, NodeText(v.node));
    DESCPIPE_EXPECTS(item.IsScalar(), "option {} must be a list of field values, got '{}'", v.key,
                     NodeText(v.node));
    values.push_back(item.as<std::string>());
  };
  if (v.node.IsSequence()) {
    for (const auto& item : v.node) add(item);
  } else {
    add(v.node);
  }
  return values;
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
  const char* what = integer                          ? "an integer"
                     : spec.kind == OptionKind::kSize ? "a size"
                                                      : "a finite number";
  throw InvalidInput(fmt::format("option {} must be {} in {}{}, got {}", spec.name, what,
                                 RangeText(spec), Note(spec), shown));
}

/// An integer option's value, checked against its range before it is narrowed to the field's
/// type: "4294967297" is refused, not wrapped to 1. Accepts 42, -1, 1e6, 2.0 and every uint64.
long double AsInteger(const OptionValue& v) {
  const YAML::Node& node = v.node;
  const OptionSpec& spec = SpecOf(v.key);
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
      throw InvalidInput(fmt::format("option {} must be a number: an integer in {}{}, got '{}'",
                                     spec.name, RangeText(spec), Note(spec), NodeText(node)));
    }
    DESCPIPE_EXPECTS(!std::isfinite(real) || std::floor(real) == real,
                     "option {} must be an integer in {}{}, got '{}'", spec.name, RangeText(spec),
                     Note(spec), NodeText(node));
    value = real;
  }
  CheckNumber(spec, value, NodeText(node));
  return value;
}

template <typename T>
T AsInt(const OptionValue& v) {
  return static_cast<T>(AsInteger(v));  // in range: CheckNumber fits every field's type
}

double AsDouble(const OptionValue& v) {
  const double value = As<double>(v, "a number");
  CheckNumber(SpecOf(v.key), value, NodeText(v.node));
  return value;
}

bool AsBool(const OptionValue& v) { return As<bool>(v, "true or false"); }

std::vector<Criterion> AsCriteria(const OptionValue& v) {
  std::vector<Criterion> criteria;
  for (const auto& name : AsStringList(v)) criteria.push_back(ParseCriterion(AsciiLower(name)));
  DESCPIPE_EXPECTS(!criteria.empty(), "option {} must list at least one criterion", v.key);
  return criteria;
}

/// One of `choices` (any case); the error lists them: "trimmed, minmax or iqr".
template <typename T>
T Choice(const OptionValue& v, std::initializer_list<std::pair<const char*, T>> choices) {
  std::string words;
  std::size_t i = 0;
  for (const auto& choice : choices) {
    words += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + std::string(choice.first);
    ++i;
  }
  const std::string word = AsciiLower(As<std::string>(v, words.c_str()));
  for (const auto& [name, value] : choices) {
    if (word == name) return value;
  }
  throw InvalidInput(fmt::format("option {} must be {}, got '{}'", v.key, words, NodeText(v.node)));
}

/// One of the names of enum E (its NamesOf table), case-insensitively.
template <typename E>
E Choice(const OptionValue& v) {
  const std::string words = EnumNameList<E>();
  const std::string word = AsciiLower(As<std::string>(v, words.c_str()));
  if (const auto value = EnumFromName<E>(word)) return *value;
  throw InvalidInput(fmt::format("option {} must be {}, got '{}'", v.key, words, NodeText(v.node)));
}

std::uint64_t AsByteSize(const OptionValue& v) {
  std::uint64_t bytes = 0;
  try {
    bytes = ParseByteSize(As<std::string>(v, "a size such as 8GB"));
  } catch (const InvalidInput& e) {
    throw InvalidInput(fmt::format("option {}: {}", v.key, e.what()));
  }
  CheckNumber(SpecOf(v.key), static_cast<long double>(bytes),
              fmt::format("'{}' ({} bytes)", NodeText(v.node), bytes));
  return bytes;
}

/// id_columns: `auto` (or null), `none`, or a list of names (`[auto]` names a column "auto"; `[]`
/// is `none`).
void SetIdColumns(Config& c, const OptionValue& v) {
  c.id_columns.clear();
  if (v.node.IsNull()) {
    c.id_columns_mode = IdColumnsMode::kAuto;
    return;
  }
  if (v.node.IsScalar()) {
    const std::string word = AsciiLower(v.node.Scalar());
    if (word == "auto" || word == "none") {
      c.id_columns_mode = word == "auto" ? IdColumnsMode::kAuto : IdColumnsMode::kNone;
      return;
    }
  }
  DESCPIPE_EXPECTS(v.node.IsScalar() || v.node.IsSequence(),
                   "option {} must be auto, none or a list of column names, got '{}'", v.key,
                   NodeText(v.node));
  c.id_columns = AsStringList(v);
  c.id_columns_mode = c.id_columns.empty() ? IdColumnsMode::kNone : IdColumnsMode::kListed;
}

Json IdColumnsJson(const Config& c) {
  switch (c.id_columns_mode) {
    case IdColumnsMode::kAuto:
      return Json("auto");
    case IdColumnsMode::kNone:
      return Json("none");
    case IdColumnsMode::kListed:
      break;
  }
  return Json(c.id_columns);
}

Json CriteriaJson(const std::vector<Criterion>& criteria) {
  Json list = Json::array();
  for (Criterion criterion : criteria) list.push_back(EnumName(criterion));
  return list;
}

/// Keys of the original descriptor_pipeline that have no meaning in descpipe: accepted, ignored.
const std::set<std::string>& Legacy() {
  static const std::set<std::string> names = {"prefer_gpu",
                                              "gpu_batch_size",
                                              "file_independent_sampling",
                                              "force_recompute",
                                              "use_robust_variance",
                                              "use_percentile_clip",
                                              "percentile_low",
                                              "percentile_high",
                                              "binary_skewness_threshold",
                                              "m",
                                              "r",
                                              "spearman_resolution",
                                              "vif_batch_size",
                                              "rdc_d",
                                              "hsic_block_size",
                                              "hsic_memory_limit_gb",
                                              "rdc_fisher_weight",
                                              "rdc_max_weight",
                                              "rdc_cdf_resolution",
                                              "hsic_kernel_bandwidth",
                                              "hsic_use_gamma",
                                              "nonlinear_resolution",
                                              "weights",
                                              "n_consensus",
                                              "consensus_memory_limit_p",
                                              "batch_rows",
                                              "checkpoint",
                                              "verbose",
                                              "var_eps",
                                              "range_eps",
                                              "mean_eps",
                                              "iqr_multiplier",
                                              "hard_cap"};
  return names;
}

const std::set<std::string>& Sections() {
  static const std::set<std::string> names = {"io",        "filtering",  "system",   "device",
                                              "sampling",  "statistics", "spearman", "vif",
                                              "nonlinear", "graph"};
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
  if (const OptionSpec* spec = FindOptionSpec(key); spec != nullptr) {
    spec->set(config, OptionValue{value, key});
    return;
  }
  if (Legacy().count(key)) {
    std::erase_if(config.ignored_legacy, [&](const auto& entry) { return entry.first == key; });
    config.ignored_legacy.emplace_back(key, NodeText(value));
    return;
  }
  throw InvalidInput(fmt::format("unknown option {}{}{}", Shorten(key), where, Suggestion(key)));
}

/// A mapping key as text: YAML also allows lists, mappings and null as keys ("? [a]").
std::string KeyText(const YAML::Node& key, const std::string& where) {
  DESCPIPE_EXPECTS(key.IsScalar(), "option names must be words, got the key '{}'{}", NodeText(key),
                   where);
  return key.Scalar();
}

void ApplyMapping(Config& config, const YAML::Node& root, const std::string& where) {
  for (const auto& entry : root) {
    const std::string key = KeyText(entry.first, where);
    const YAML::Node& value = entry.second;
    if (Sections().count(key) && value.IsMap()) {
      for (const auto& inner : value) {
        const std::string inner_key =
            KeyText(inner.first, fmt::format(" in section {}:{}", key, where));
        ApplyKey(config, inner_key, inner.second, fmt::format(" in section {}:{}", key, where));
      }
    } else if (Sections().count(key) && value.IsNull()) {
      continue;  // an empty section ("filtering:" with every key commented out)
    } else if (Sections().count(key) && FindOptionSpec(key) == nullptr) {
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
  using G = OptionGroup;
  // In the order of docs/CONFIG.md and of run_manifest.json's "config".
  static const std::vector<OptionSpec> specs = {
      {.name = "inputs",
       .kind = K::kNames,
       .group = G::kNone,
       .default_text = "-",
       .doc = "files, directories, globs; a string or a list",
       .alias = "parquet_glob",
       .set = [](Config& c, const OptionValue& v) { c.inputs = AsStringList(v); },
       .json = [](const Config& c) { return Json(c.inputs); }},
      {.name = "output_dir",
       .kind = K::kText,
       .group = G::kNone,
       .default_text = "-",
       .doc = "output directory (`-o` on the command line)",
       .set = [](Config& c, const OptionValue& v) { c.output_dir = As<std::string>(v, "a path"); },
       .json = [](const Config& c) { return Json(c.output_dir); }},
      {.name = "union_by_name",
       .kind = K::kBool,
       .group = G::kPass0,
       .default_text = "`false`",
       .doc = "a column missing from some files reads as missing values there, instead of an error",
       .set = [](Config& c, const OptionValue& v) { c.union_by_name = AsBool(v); },
       .json = [](const Config& c) { return Json(c.union_by_name); }},
      {.name = "verify_inputs",
       .kind = K::kChoice,
       .group = G::kPass0,
       .default_text = "`full`",
       .doc = "how a resumed run recognises its inputs: `full` hashes every byte, `fast` the size, "
              "mtime, Parquet footer and 64 sampled blocks (docs/RUNS.md states both guarantees)",
       .note = "fast or full",
       .set = [](Config& c,
                 const OptionValue& v) { c.verify_inputs = Choice<InputVerification>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.verify_inputs)); }},
      {.name = "metadata_columns",
       .kind = K::kNames,
       .group = G::kPass0,
       .default_text = "`[]`",
       .doc = "metadata columns (kept in samples and exports, never descriptors)",
       .set = [](Config& c, const OptionValue& v) { c.metadata_columns = AsStringList(v); },
       .json = [](const Config& c) { return Json(c.metadata_columns); }},
      {.name = "n_metadata_cols",
       .kind = K::kInteger,
       .group = G::kPass0,
       .default_text = "unset",
       .doc = "the first N columns are metadata (used when `metadata_columns` is empty)",
       .min = 0,
       .max = 1e6,
       .value =
           [](const Config& c) { return static_cast<long double>(c.n_metadata_cols.value_or(0)); },
       .set =
           [](Config& c, const OptionValue& v) {
             if (v.node.IsNull())
               c.n_metadata_cols.reset();
             else
               c.n_metadata_cols = AsInt<int>(v);
           },
       .json =
           [](const Config& c) {
             return c.n_metadata_cols ? Json(*c.n_metadata_cols) : Json(nullptr);
           }},
      {.name = "descriptor_columns",
       .kind = K::kNames,
       .group = G::kPass0,
       .default_text = "`[]`",
       .doc = "explicit descriptor list; default: every numeric non-metadata column",
       .set = [](Config& c, const OptionValue& v) { c.descriptor_columns = AsStringList(v); },
       .json = [](const Config& c) { return Json(c.descriptor_columns); }},
      {.name = "na_values",
       .kind = K::kNames,
       .group = G::kPass0,
       .default_text = "`[\"\", NA, NaN, nan, N/A, #N/A, null, NULL, #DIV/0!, #VALUE!, #REF!, "
                       "#NAME?, #NUM!, #NULL!]`",
       .doc = "CSV: field values read as missing, matched exactly; a list given replaces the "
              "default one",
       .set = [](Config& c, const OptionValue& v) { c.na_values = AsNaValues(v); },
       .json = [](const Config& c) { return Json(c.na_values); }},
      {.name = "non_numeric",
       .kind = K::kChoice,
       .group = G::kPass0,
       .default_text = "`error`",
       .doc = "CSV: a column of numbers that also holds other text: `error` (names the file, "
              "column, line and value), `missing` (such values are missing) or `metadata` (the "
              "column is metadata)",
       .note = "error, missing or metadata",
       .set = [](Config& c, const OptionValue& v) { c.non_numeric = Choice<NonNumericPolicy>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.non_numeric)); }},
      {.name = "sample_rows",
       .kind = K::kInteger,
       .group = G::kPass0,
       .default_text = "`0` (off)",
       .doc = "one sample of N rows over all inputs",
       .min = 0,
       .max = 1e15,
       .note = "0: off",
       .value = [](const Config& c) { return static_cast<long double>(c.sample_rows); },
       .set =
           [](Config& c, const OptionValue& v) {
             c.sample_rows = v.node.IsNull() ? 0 : AsInt<std::int64_t>(v);
           },
       .json = [](const Config& c) { return Json(c.sample_rows); }},
      {.name = "sample_per_file",
       .kind = K::kInteger,
       .group = G::kPass0,
       .default_text = "`0` (off)",
       .doc = "N rows from each file (exclusive with `sample_rows`)",
       .min = 0,
       .max = 1e15,
       .note = "0: off",
       .value = [](const Config& c) { return static_cast<long double>(c.sample_per_file); },
       .set =
           [](Config& c, const OptionValue& v) {
             c.sample_per_file = v.node.IsNull() ? 0 : AsInt<std::int64_t>(v);
           },
       .json = [](const Config& c) { return Json(c.sample_per_file); }},
      {.name = "random_seed",
       .kind = K::kInteger,
       .group = G::kPass0,
       .default_text = "`42`",
       .doc = "seed of every random choice (samples, quantile sketch)",
       .min = 0,
       .max = 18446744073709551615.0L,
       .value = [](const Config& c) { return static_cast<long double>(c.random_seed); },
       .set = [](Config& c, const OptionValue& v) { c.random_seed = AsInt<std::uint64_t>(v); },
       .json = [](const Config& c) { return Json(c.random_seed); }},
      {.name = "max_missing_ratio",
       .kind = K::kReal,
       .group = G::kPass1,
       .default_text = "`0.5`",
       .doc = "remove when (null + NaN + inf) / rows is larger",
       .min = 0,
       .max = 1,
       .value = [](const Config& c) { return static_cast<long double>(c.max_missing_ratio); },
       .set = [](Config& c, const OptionValue& v) { c.max_missing_ratio = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.max_missing_ratio); }},
      {.name = "min_effective_n",
       .kind = K::kInteger,
       .group = G::kPass1,
       .default_text = "`100`",
       .doc = "remove when fewer valid values",
       .min = 0,
       .max = 1e15,
       .value = [](const Config& c) { return static_cast<long double>(c.min_effective_n); },
       .set = [](Config& c, const OptionValue& v) { c.min_effective_n = AsInt<std::int64_t>(v); },
       .json = [](const Config& c) { return Json(c.min_effective_n); }},
      {.name = "max_mode_fraction",
       .kind = K::kReal,
       .group = G::kPass1,
       .default_text = "`1.0`",
       .doc = "remove when the most frequent value covers at least this fraction (1.0: off)",
       .min = 0,
       .max = 1,
       .min_open = true,
       .note = "1: off",
       .value = [](const Config& c) { return static_cast<long double>(c.max_mode_fraction); },
       .set = [](Config& c, const OptionValue& v) { c.max_mode_fraction = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.max_mode_fraction); }},
      {.name = "variance_threshold",
       .kind = K::kReal,
       .group = G::kPass1,
       .default_text = "`0.002`",
       .doc = "remove when variance / range^2 is smaller",
       .min = 0,
       .max = 1e6,
       .value = [](const Config& c) { return static_cast<long double>(c.variance_threshold); },
       .set = [](Config& c, const OptionValue& v) { c.variance_threshold = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.variance_threshold); }},
      {.name = "range_mode",
       .kind = K::kChoice,
       .group = G::kPass1,
       .default_text = "`trimmed`",
       .doc = "`trimmed`, `minmax` or `iqr` (case-insensitive)",
       .note = "trimmed, minmax or iqr",
       .set = [](Config& c, const OptionValue& v) { c.range_mode = Choice<RangeMode>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.range_mode)); }},
      {.name = "trim_percentiles",
       .kind = K::kPercentiles,
       .group = G::kPass1,
       .default_text = "`[2.5, 97.5]`",
       .doc = "percentiles of the trimmed range, in percent",
       .min = 0,
       .max = 100,
       .note = "low < high",
       .set =
           [](Config& c, const OptionValue& v) {
             DESCPIPE_EXPECTS(v.node.IsSequence() && v.node.size() == 2,
                              "option {} must be [low, high] in percent, got '{}'", v.key,
                              NodeText(v.node));
             c.trim_low_percent = AsDouble({v.node[0], v.key});
             c.trim_high_percent = AsDouble({v.node[1], v.key});
           },
       .json =
           [](const Config& c) {
             return Json({c.trim_low_percent, c.trim_high_percent});
           }},
      {.name = "remove_binary",
       .kind = K::kBool,
       .group = G::kPass1,
       .default_text = "`false`",
       .doc = "remove columns with exactly two distinct values",
       .set = [](Config& c, const OptionValue& v) { c.remove_binary = AsBool(v); },
       .json = [](const Config& c) { return Json(c.remove_binary); }},
      {.name = "quantile_sample_size",
       .kind = K::kInteger,
       .group = G::kPass1,
       .default_text = "`65536`",
       .doc = "size m of the quantile sample (see docs/STATISTICS.md)",
       .min = 1024,
       .max = 16777216,
       .value = [](const Config& c) { return static_cast<long double>(c.quantile_sample_size); },
       .set = [](Config& c,
                 const OptionValue& v) { c.quantile_sample_size = AsInt<std::int64_t>(v); },
       .json = [](const Config& c) { return Json(c.quantile_sample_size); }},
      {.name = "spearman_threshold",
       .kind = K::kReal,
       .group = G::kPass2,
       .default_text = "`0.95`",
       .doc = "link two descriptors when |rho| >= threshold",
       .min = 0,
       .max = 1,
       .min_open = true,
       .value = [](const Config& c) { return static_cast<long double>(c.spearman_threshold); },
       .set = [](Config& c, const OptionValue& v) { c.spearman_threshold = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.spearman_threshold); }},
      {.name = "spearman_missing",
       .kind = K::kChoice,
       .group = G::kPass2,
       .default_text = "`pairwise`",
       .doc = "`pairwise` or `impute_median`",
       .note = "pairwise or impute_median",
       .set = [](Config& c,
                 const OptionValue& v) { c.spearman_missing = Choice<SpearmanMissing>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.spearman_missing)); }},
      {.name = "spearman_cluster_method",
       .kind = K::kChoice,
       .group = G::kPass2,
       .default_text = "`star`",
       .doc = "`star`, `components` or `leiden`",
       .note = "star, components or leiden",
       .set = [](Config& c,
                 const OptionValue& v) { c.spearman_cluster_method = Choice<ClusterMethod>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.spearman_cluster_method)); }},
      {.name = "representative_criteria",
       .kind = K::kCriteria,
       .group = G::kPass2,
       .default_text =
           "`[pinned, target, missing, variance, not_binary, mean_similarity, input_order]`",
       .doc = "representative-quality order",
       .set = [](Config& c, const OptionValue& v) { c.representative_criteria = AsCriteria(v); },
       .json = [](const Config& c) { return CriteriaJson(c.representative_criteria); }},
      {.name = "keep_columns",
       .kind = K::kNames,
       .group = G::kPass1,
       .default_text = "`[]`",
       .doc = "pinned descriptors: never removed by any pass",
       .set = [](Config& c, const OptionValue& v) { c.keep_columns = AsStringList(v); },
       .json = [](const Config& c) { return Json(c.keep_columns); }},
      // A role option (like metadata_columns): the target is never a descriptor, so it changes
      // Pass 1's descriptors.
      {.name = "target_column",
       .kind = K::kText,
       .group = G::kPass0,
       .default_text = "unset",
       .doc = "numeric column; representatives closer to it (|rho|) win; metadata, never a "
              "descriptor",
       .set =
           [](Config& c, const OptionValue& v) {
             c.target_column =
                 v.node.IsNull() ? std::string() : As<std::string>(v, "a column name");
           },
       .json =
           [](const Config& c) {
             return c.target_column.empty() ? Json(nullptr) : Json(c.target_column);
           }},
      {.name = "id_columns",
       .kind = K::kNames,
       .group = G::kPass0,
       .default_text = "`auto`",
       .doc = "identifier columns, metadata: `auto` (integer columns named like ids, or with "
              "distinct values in order or consecutive), `none`, or a list",
       .set = [](Config& c, const OptionValue& v) { SetIdColumns(c, v); },
       .json = [](const Config& c) { return IdColumnsJson(c); }},
      {.name = "exact",
       .kind = K::kBool,
       .group = G::kPass2,
       .default_text = "`false`",
       .doc =
           "fail instead of sampling rows when the rank matrix exceeds `memory_limit` (`--exact`)",
       .set = [](Config& c, const OptionValue& v) { c.exact = AsBool(v); },
       .json = [](const Config& c) { return Json(c.exact); }},
      {.name = "leiden_resolution",
       .kind = K::kReal,
       .group = G::kPass2,
       .default_text = "`0.5`",
       .doc = "Leiden's resolution (with `spearman_cluster_method: leiden`, and Pass 4)",
       .min = 0,
       .max = 1e6,
       .min_open = true,
       .value = [](const Config& c) { return static_cast<long double>(c.leiden_resolution); },
       .set = [](Config& c, const OptionValue& v) { c.leiden_resolution = AsDouble(v); },
       .json = [](const Config& c) { return JsonNumber(c.leiden_resolution, NonFinite::kText); }},
      {.name = "leiden_iterations",
       .kind = K::kInteger,
       .group = G::kPass2,
       .default_text = "`-1`",
       .doc = "Leiden iterations; negative: until stable",
       .min = -1,
       .max = 1000,
       .note = "-1: until stable; not 0",
       .value = [](const Config& c) { return static_cast<long double>(c.leiden_iterations); },
       .set = [](Config& c, const OptionValue& v) { c.leiden_iterations = AsInt<int>(v); },
       .json = [](const Config& c) { return Json(c.leiden_iterations); }},
      {.name = "vif_threshold",
       .kind = K::kReal,
       .group = G::kPass3,
       .default_text = "`10`",
       .doc = "remove while the largest VIF exceeds this (> 1)",
       .min = 1,
       .max = 1e15,
       .min_open = true,
       .note = "a VIF is never below 1",
       .value = [](const Config& c) { return static_cast<long double>(c.vif_threshold); },
       .set = [](Config& c, const OptionValue& v) { c.vif_threshold = AsDouble(v); },
       .json = [](const Config& c) { return JsonNumber(c.vif_threshold, NonFinite::kText); }},
      {.name = "vif_correlation",
       .kind = K::kChoice,
       .group = G::kPass2,
       .default_text = "`spearman`",
       .doc = "`spearman` (Pass 2 matrix) or `pearson` (statsmodels' VIF)",
       .note = "spearman or pearson",
       .set =
           [](Config& c, const OptionValue& v) {
             c.vif_pearson = Choice<bool>(v, {{"spearman", false}, {"pearson", true}});
           },
       .json = [](const Config& c) { return Json(c.vif_pearson ? "pearson" : "spearman"); }},
      {.name = "nonlinear_max_rows",
       .kind = K::kInteger,
       .group = G::kPass2,
       .default_text = "`20000`",
       .doc = "rows of the reproducible sample HSIC and RDC use (>= 20)",
       .min = 20,
       .max = 1e7,
       .value = [](const Config& c) { return static_cast<long double>(c.nonlinear_max_rows); },
       .set = [](Config& c,
                 const OptionValue& v) { c.nonlinear_max_rows = AsInt<std::int64_t>(v); },
       .json = [](const Config& c) { return Json(c.nonlinear_max_rows); }},
      {.name = "rdc_k",
       .kind = K::kInteger,
       .group = G::kPass4,
       .default_text = "`20`",
       .doc = "random sine features per column and draw (at most rows / 10 are used)",
       .min = 1,
       .max = 1000,
       .value = [](const Config& c) { return static_cast<long double>(c.rdc_k); },
       .set = [](Config& c, const OptionValue& v) { c.rdc_k = AsInt<int>(v); },
       .json = [](const Config& c) { return Json(c.rdc_k); }},
      {.name = "rdc_s",
       .kind = K::kReal,
       .group = G::kPass4,
       .default_text = "`1/6`",
       .doc = "scale of the RDC random projection (Lopez-Paz et al.)",
       .min = 0,
       .max = 1e6,
       .min_open = true,
       .value = [](const Config& c) { return static_cast<long double>(c.rdc_s); },
       .set = [](Config& c, const OptionValue& v) { c.rdc_s = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.rdc_s); }},
      {.name = "rdc_seeds",
       .kind = K::kInteger,
       .group = G::kPass4,
       .default_text = "`5`",
       .doc = "RDC draws averaged",
       .min = 1,
       .max = 100,
       .value = [](const Config& c) { return static_cast<long double>(c.rdc_seeds); },
       .set = [](Config& c, const OptionValue& v) { c.rdc_seeds = AsInt<int>(v); },
       .json = [](const Config& c) { return Json(c.rdc_seeds); }},
      {.name = "hsic_D",
       .kind = K::kInteger,
       .group = G::kPass4,
       .default_text = "`512`",
       .doc = "random Fourier features of the Gaussian kernel (even: cos and sin of hsic_D/2 "
              "frequencies)",
       .min = 2,
       .max = 65536,
       .note = "even: cosine and sine of hsic_D / 2 frequencies",
       .value = [](const Config& c) { return static_cast<long double>(c.hsic_D); },
       .set = [](Config& c, const OptionValue& v) { c.hsic_D = AsInt<int>(v); },
       .json = [](const Config& c) { return Json(c.hsic_D); }},
      {.name = "w_hsic",
       .kind = K::kReal,
       .group = G::kPass4,
       .default_text = "`0.5`",
       .doc = "weight of nHSIC in S; `0` skips HSIC entirely (no `pass4_hsic_matrix.npy`)",
       .min = 0,
       .max = 1e6,
       .note = "not both weights 0",
       .value = [](const Config& c) { return static_cast<long double>(c.w_hsic); },
       .set = [](Config& c, const OptionValue& v) { c.w_hsic = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.w_hsic); }},
      {.name = "w_rdc",
       .kind = K::kReal,
       .group = G::kPass4,
       .default_text = "`0.5`",
       .doc = "weight of RDC in S; `0` skips RDC entirely (not both 0)",
       .min = 0,
       .max = 1e6,
       .note = "not both weights 0",
       .value = [](const Config& c) { return static_cast<long double>(c.w_rdc); },
       .set = [](Config& c, const OptionValue& v) { c.w_rdc = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.w_rdc); }},
      {.name = "nonlinear_threshold",
       .kind = K::kReal,
       .group = G::kPass4,
       .default_text = "`0.6`",
       .doc = "edge when S >= threshold, in (0, 1]",
       .min = 0,
       .max = 1,
       .min_open = true,
       .value = [](const Config& c) { return static_cast<long double>(c.nonlinear_threshold); },
       .set = [](Config& c, const OptionValue& v) { c.nonlinear_threshold = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.nonlinear_threshold); }},
      {.name = "nonlinear_topk",
       .kind = K::kInteger,
       .group = G::kPass4,
       .default_text = "`0`",
       .doc = "> 0: keep only each column's k strongest edges (an edge stays when either end keeps "
              "it)",
       .min = 0,
       .max = 1e6,
       .note = "0: no limit",
       .value = [](const Config& c) { return static_cast<long double>(c.nonlinear_topk); },
       .alias = "topk",
       .set = [](Config& c,
                 const OptionValue& v) { c.nonlinear_topk = v.node.IsNull() ? 0 : AsInt<int>(v); },
       .json = [](const Config& c) { return Json(c.nonlinear_topk); }},
      {.name = "nonlinear_screening",
       .kind = K::kBool,
       .group = G::kPass4,
       .default_text = "`true`",
       .doc = "compute RDC first and HSIC only for pairs whose S can still reach "
              "`nonlinear_threshold` (not even nHSIC = 1 could lift the others); their nHSIC is "
              "NaN in the matrix. Star assignment only; `false`: every pair",
       .set = [](Config& c, const OptionValue& v) { c.nonlinear_screening = AsBool(v); },
       .json = [](const Config& c) { return Json(c.nonlinear_screening); }},
      {.name = "leiden_objective",
       .kind = K::kChoice,
       .group = G::kPass4,
       .default_text = "`modularity`",
       .doc =
           "`modularity` or `cpm` (constant Potts model: clusters denser than `leiden_resolution`)",
       .note = "modularity or cpm",
       .set = [](Config& c,
                 const OptionValue& v) { c.leiden_objective = Choice<LeidenObjective>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.leiden_objective)); }},
      {.name = "nonlinear_assignment",
       .kind = K::kChoice,
       .group = G::kPass4,
       .default_text = "`star`",
       .doc = "`star`: each Leiden community is split into stars around its hubs, so every removed "
              "column has S >= `nonlinear_threshold` to its representative; `community`: one "
              "representative per community (members may be far from it)",
       .note = "star or community",
       .set = [](Config& c,
                 const OptionValue& v) { c.nonlinear_assignment = Choice<ClusterAssignment>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.nonlinear_assignment)); }},
      {.name = "lineage_min_rho",
       .kind = K::kReal,
       .group = G::kPass4,
       .default_text = "`0.5`",
       .doc = "lineage: a removed descriptor not represented by a direct link is represented by "
              "the final descriptor with the largest direct |rho| when it is >= this, else "
              "by none (docs/RUNS.md, Lineage)",
       .min = 0,
       .max = 1,
       .value = [](const Config& c) { return static_cast<long double>(c.lineage_min_rho); },
       .set = [](Config& c, const OptionValue& v) { c.lineage_min_rho = AsDouble(v); },
       .json = [](const Config& c) { return Json(c.lineage_min_rho); }},
      {.name = "nonlinear_representative_criteria",
       .kind = K::kCriteria,
       .group = G::kPass4,
       .default_text =
           "`[pinned, target, mean_similarity, missing, variance, not_binary, input_order]`",
       .doc = "representative order in Pass 4; `mean_similarity` is the weighted degree inside the "
              "cluster",
       .set = [](Config& c,
                 const OptionValue& v) { c.nonlinear_representative_criteria = AsCriteria(v); },
       .json = [](const Config& c) { return CriteriaJson(c.nonlinear_representative_criteria); }},
      {.name = "threads",
       .kind = K::kInteger,
       .group = G::kNone,
       .default_text = "`0` (automatic)",
       .doc = "worker threads (`--threads`); `0`: `OMP_NUM_THREADS` when set, else the CPUs this "
              "process may run on (its affinity mask: `taskset`, Slurm and cgroup cpusets); more "
              "than 4 per hardware thread are capped, with a warning",
       .min = 0,
       .max = kMaxThreads,
       .note = "0: automatic",
       .value = [](const Config& c) { return static_cast<long double>(c.threads); },
       .set = [](Config& c, const OptionValue& v) { c.threads = AsInt<int>(v); },
       .json = [](const Config& c) { return Json(c.threads); }},
      {.name = "memory_limit",
       .kind = K::kSize,
       .group = G::kPass2,
       .default_text = "half of RAM or of the cgroup limit",
       .doc = "what the whole process may use: bytes or `8GB`, `512MiB`, `70%` (of RAM, or of the "
              "cgroup memory limit of a Slurm job or container when lower; more is lowered to "
              "that); every pass plans its buffers against it and stops with an error naming the "
              "size to raise it to when it cannot fit (docs/SPEARMAN.md, \"Memory\")",
       .min = 1048576,
       .max = 1152921504606846976.0L,
       .note = "bytes",
       .value = [](const Config& c) { return static_cast<long double>(c.memory_limit); },
       .fingerprint_after = "leiden_iterations",
       .set = [](Config& c,
                 const OptionValue& v) { c.memory_limit = v.node.IsNull() ? 0 : AsByteSize(v); },
       .json = [](const Config& c) { return Json(c.memory_limit); }},
      {.name = "device",
       .kind = K::kText,
       .group = G::kNone,
       .default_text = "`cpu`",
       .doc = "`cpu`, `auto` (a GPU when built with CUDA and one is present, else the CPU; the log "
              "says which and why), `cuda` (GPU `gpu_id`), `cuda:N`; also `--device` (docs/GPU.md)",
       .note = "cpu, auto or cuda[:N]",
       .set =
           [](Config& c, const OptionValue& v) {
             c.device = AsciiLower(As<std::string>(v, "cpu, auto or cuda[:N]"));
           },
       .json = [](const Config& c) { return Json(c.device); }},
      {.name = "gpu_id",
       .kind = K::kInteger,
       .group = G::kNone,
       .default_text = "`0`",
       .doc = "the GPU of `device: cuda` and `auto`",
       .min = 0,
       .max = 1023,
       .value = [](const Config& c) { return static_cast<long double>(c.gpu_id); },
       .set = [](Config& c, const OptionValue& v) { c.gpu_id = AsInt<int>(v); },
       .json = [](const Config& c) { return Json(c.gpu_id); }},
      {.name = "max_gpu_memory_gb",
       .kind = K::kReal,
       .group = G::kNone,
       .default_text = "`0`",
       .doc = "cap on descpipe's GPU memory in GB; `0`: 95% of the free memory. Work is tiled to "
              "fit; too small a cap is an error naming this option",
       .min = 0,
       .max = 1e6,
       .note = "0: the GPU's free memory",
       .value = [](const Config& c) { return static_cast<long double>(c.max_gpu_memory_gb); },
       .set =
           [](Config& c, const OptionValue& v) {
             c.max_gpu_memory_gb = v.node.IsNull() ? 0.0 : AsDouble(v);
           },
       .json = [](const Config& c) { return Json(c.max_gpu_memory_gb); }},
      {.name = "gpu_precision",
       .kind = K::kChoice,
       .group = G::kPass2,
       .default_text = "`fp64`",
       .doc = "arithmetic of Pass 2's products on the GPU: `fp64` (the CPU's results to 1e-9), "
              "`fp32`, `tf32` (faster, looser: docs/GPU.md)",
       .note = "fp64, fp32 or tf32",
       .set = [](Config& c, const OptionValue& v) { c.gpu_precision = Choice<GpuPrecision>(v); },
       .json = [](const Config& c) { return Json(EnumName(c.gpu_precision)); }},
  };
  return specs;
}

const OptionSpec* FindOptionSpec(const std::string& name) {
  for (const OptionSpec& spec : OptionSpecs()) {
    if (name == spec.name || (spec.alias != nullptr && name == spec.alias)) return &spec;
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

Json ConfigJson(const Config& config) {
  Json json = Json::object();
  for (const OptionSpec& spec : OptionSpecs()) json[spec.name] = spec.json(config);
  return json;
}

std::string ConfigYaml(const Config& config) {
  std::string text;
  for (const OptionSpec& spec : OptionSpecs()) {
    Json value = spec.json(config);
    // An unset size (0: the default, half of RAM) reads back as unset; JSON is YAML's flow style.
    if (spec.kind == OptionKind::kSize && value == 0) value = nullptr;
    text += fmt::format("{}: {}\n", spec.name, value.dump());
  }
  return text;
}

std::string OptionList() {
  // Markdown to plain text: no backticks, no escaped bars.
  auto plain = [](std::string text) {
    std::erase(text, '`');
    return text;
  };
  std::size_t width = 0;
  for (const OptionSpec& spec : OptionSpecs()) width = std::max(width, std::strlen(spec.name));
  std::string text;
  for (const OptionSpec& spec : OptionSpecs()) {
    text += fmt::format("{:<{}}  {}\n", spec.name, width, plain(spec.doc));
    std::string detail = "default " + plain(spec.default_text);
    if (spec.value != nullptr)
      detail += fmt::format("; {} {}", spec.kind == OptionKind::kReal ? "number" : "integer",
                            RangeText(spec));
    if (*spec.note != '\0') detail += fmt::format(" ({})", spec.note);
    if (spec.alias != nullptr) detail += fmt::format("; alias {}", spec.alias);
    text += fmt::format("{:<{}}  {}\n", "", width, detail);
  }
  return text;
}

std::vector<std::string> KnownOptionNames() {
  std::vector<std::string> names;
  for (const OptionSpec& spec : OptionSpecs()) {
    names.push_back(spec.name);
    if (spec.alias != nullptr) names.push_back(spec.alias);
  }
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
    throw InvalidInput(
        fmt::format("cannot read '{}' as a size (examples: 8GB, 512MiB, 70%)", text));
  }
  const std::string unit = AsciiLower(trimmed.substr(consumed));
  static const std::map<std::string, double> kUnits = {{"", 1.0},
                                                       {"b", 1.0},
                                                       {"kb", 1e3},
                                                       {"mb", 1e6},
                                                       {"gb", 1e9},
                                                       {"tb", 1e12},
                                                       {"kib", 1024.0},
                                                       {"mib", 1048576.0},
                                                       {"gib", 1073741824.0},
                                                       {"tib", 1099511627776.0},
                                                       {"k", 1024.0},
                                                       {"m", 1048576.0},
                                                       {"g", 1073741824.0}};
  double bytes = 0.0;
  if (unit == "%") {
    DESCPIPE_EXPECTS(value > 0 && value <= 100, "memory percentage must be in (0, 100], got '{}'",
                     text);
    bytes = static_cast<double>(UsableMemoryBytes()) * value / 100.0;
  } else {
    auto it = kUnits.find(unit);
    DESCPIPE_EXPECTS(it != kUnits.end(),
                     "unknown size unit '{}' in '{}' (use B, KB, MB, GB, MiB, GiB or %)", unit,
                     text);
    bytes = value * it->second;
  }
  DESCPIPE_EXPECTS(bytes > 0, "size '{}' must be positive", text);
  // 2^64: larger values (and inf) do not fit in std::uint64_t.
  DESCPIPE_EXPECTS(bytes < 18446744073709551616.0, "size '{}' is too large", text);
  return static_cast<std::uint64_t>(bytes);
}

Context MakeContext(const Config& config) {
  return Context(config.threads, config.random_seed, config.memory_limit);
}

Context ContextForDevice(const Context& base, const Config& config, std::string* description) {
  const DeviceChoice choice = ChooseDevice(config.device, config.gpu_id);
  if (description != nullptr) *description = choice.description;
  Context ctx = base;
  ctx.set_device(choice.device);
  GpuSettings gpu;
  gpu.id = choice.gpu_id;
  gpu.memory_limit_bytes = static_cast<std::uint64_t>(config.max_gpu_memory_gb * 1e9);
  gpu.precision = config.gpu_precision;
  ctx.set_gpu(gpu);
  if (choice.device == Device::kCuda) {
    spdlog::info("device: {}; Pass 2 products in {}; GPU memory cap {}", choice.description,
                 EnumName(gpu.precision),
                 gpu.memory_limit_bytes > 0
                     ? fmt::format("{:.1f} GB (max_gpu_memory_gb)", config.max_gpu_memory_gb)
                     : std::string("95% of the free memory (max_gpu_memory_gb: 0)"));
  } else {
    spdlog::info("device: {}", choice.description);
  }
  spdlog::info("{} thread{} ({}); memory_limit {} ({})", ctx.threads(),
               ctx.threads() == 1 ? "" : "s", ctx.threads_origin(),
               FormatBytes(static_cast<double>(ctx.memory_limit_bytes())),
               ctx.memory_limit_origin());
  return ctx;
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

void ApplyOverride(Config& config, const std::string& assignment, const std::string& origin) {
  const auto eq = assignment.find('=');
  DESCPIPE_EXPECTS(eq != std::string::npos && eq > 0, "{} expects key=value, got '{}'", origin,
                   assignment);
  std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  if (const auto dot = key.find('.');
      dot != std::string::npos && Sections().count(key.substr(0, dot))) {
    key = key.substr(dot + 1);  // "filtering.variance_threshold" -> "variance_threshold"
  }
  YAML::Node value;
  try {
    value = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw InvalidInput(
        fmt::format("{} {}: cannot read the value '{}': {}", origin, key, text, e.what()));
  }
  ApplyKey(config, key, value, " given to " + origin);
}

InputSpec Config::ToInputSpec() const {
  InputSpec spec;
  spec.patterns = inputs;
  spec.union_by_name = union_by_name;
  spec.metadata_columns = metadata_columns;
  spec.n_metadata_cols = n_metadata_cols;
  spec.descriptor_columns = descriptor_columns;
  spec.na_values = na_values;
  spec.non_numeric = non_numeric;
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
  options.nonlinear_threshold = nonlinear_threshold;
  // Screening leaves every output whole only when each removed column's S to its representative
  // is an edge (star assignment); a community member may sit below the threshold.
  options.screen_hsic = nonlinear_screening && nonlinear_assignment == ClusterAssignment::kStar;
  return options;
}

ClusterOptions Config::ToNonlinearClusterOptions() const {
  ClusterOptions options = ToClusterOptions();
  options.method = ClusterMethod::kLeiden;
  options.threshold = nonlinear_threshold;
  options.criteria = nonlinear_representative_criteria;
  options.leiden_objective = leiden_objective;
  options.assignment = nonlinear_assignment;
  return options;
}

void Config::Validate() const {
  // Every number option against its range (values set through YAML or --set were checked as they
  // were read; a library caller fills Config directly).
  for (const OptionSpec& spec : OptionSpecs()) {
    if (spec.value == nullptr) continue;
    const long double value = spec.value(*this);
    if (spec.kind == OptionKind::kSize && value == 0.0L) continue;  // unset: the default
    CheckNumber(spec, value,
                spec.kind == OptionKind::kReal ? FormatNumber(static_cast<double>(value))
                                               : fmt::format("{:.0f}", value));
  }
  DESCPIPE_EXPECTS(w_hsic + w_rdc > 0.0,
                   "w_hsic and w_rdc must be >= 0 and not both 0, got {} and {}", w_hsic, w_rdc);
  DESCPIPE_EXPECTS(
      trim_low_percent >= 0.0 && trim_low_percent < trim_high_percent && trim_high_percent <= 100.0,
      "trim_percentiles must satisfy 0 <= low < high <= 100, got [{}, {}]", trim_low_percent,
      trim_high_percent);
  DESCPIPE_EXPECTS(!na_values.empty(),
                   "na_values must name at least one field value read as missing (\"\": the "
                   "empty field)");
  DESCPIPE_EXPECTS(id_columns_mode == IdColumnsMode::kListed || id_columns.empty(),
                   "id_columns lists {} columns but its mode is {}: list them with the mode "
                   "IdColumnsMode::kListed",
                   id_columns.size(), id_columns_mode == IdColumnsMode::kAuto ? "auto" : "none");
  DESCPIPE_EXPECTS(id_columns_mode != IdColumnsMode::kListed || !id_columns.empty(),
                   "id_columns: the mode IdColumnsMode::kListed needs at least one column name");
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
