// run_manifest.json (see manifest.hpp).
#include "pipeline/manifest.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "descpipe/error.hpp"
#include "descpipe/version.hpp"
#include "io/atomic_file.hpp"

namespace descpipe {
namespace {

using Json = nlohmann::ordered_json;

Json Criteria(const std::vector<Criterion>& criteria) {
  Json list = Json::array();
  for (Criterion criterion : criteria) list.push_back(CriterionName(criterion));
  return list;
}

Json NumberOrText(double value) {
  if (std::isfinite(value)) return value;
  return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
}

const char* RangeName(RangeMode mode) {
  switch (mode) {
    case RangeMode::kTrimmed: return "trimmed";
    case RangeMode::kMinMax: return "minmax";
    case RangeMode::kIqr: return "iqr";
  }
  return "unknown";
}

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

/// FNV-1a 64 of `size` bytes, continuing from `hash` (kFnvOffset to start).
std::uint64_t Fnv1a64(const char* bytes, std::size_t size, std::uint64_t hash) {
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(bytes[i]);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

/// Hashes a file's bytes in 1 MiB chunks.
std::string HashFile(const std::string& path, std::uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  DESCPIPE_EXPECTS(in.good(), "cannot read the output '{}' to record it in the manifest", path);
  std::uint64_t hash = kFnvOffset;
  std::vector<char> buffer(1 << 20);
  *size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(in.gcount());
    hash = Fnv1a64(buffer.data(), got, hash);
    *size += got;
  }
  return fmt::format("{:016x}", hash);
}

}  // namespace

std::string Fnv1a64Hex(const std::string& bytes) {
  return fmt::format("{:016x}", Fnv1a64(bytes.data(), bytes.size(), kFnvOffset));
}

Json ConfigJson(const Config& c) {
  Json json;
  json["inputs"] = c.inputs;
  json["output_dir"] = c.output_dir;
  json["union_by_name"] = c.union_by_name;
  json["metadata_columns"] = c.metadata_columns;
  json["n_metadata_cols"] = c.n_metadata_cols ? Json(*c.n_metadata_cols) : Json(nullptr);
  json["descriptor_columns"] = c.descriptor_columns;
  json["sample_rows"] = c.sample_rows;
  json["sample_per_file"] = c.sample_per_file;
  json["random_seed"] = c.random_seed;
  json["max_missing_ratio"] = c.max_missing_ratio;
  json["min_effective_n"] = c.min_effective_n;
  json["max_mode_fraction"] = c.max_mode_fraction;
  json["variance_threshold"] = c.variance_threshold;
  json["range_mode"] = RangeName(c.range_mode);
  json["trim_percentiles"] = {c.trim_low_percent, c.trim_high_percent};
  json["remove_binary"] = c.remove_binary;
  json["quantile_sample_size"] = c.quantile_sample_size;
  json["spearman_threshold"] = c.spearman_threshold;
  json["spearman_missing"] = c.spearman_missing == SpearmanMissing::kPairwise ? "pairwise" : "impute_median";
  json["spearman_cluster_method"] = ClusterMethodName(c.spearman_cluster_method);
  json["representative_criteria"] = Criteria(c.representative_criteria);
  json["keep_columns"] = c.keep_columns;
  json["target_column"] = c.target_column.empty() ? Json(nullptr) : Json(c.target_column);
  json["exact"] = c.exact;
  json["leiden_resolution"] = NumberOrText(c.leiden_resolution);
  json["leiden_iterations"] = c.leiden_iterations;
  json["vif_threshold"] = NumberOrText(c.vif_threshold);
  json["vif_correlation"] = c.vif_pearson ? "pearson" : "spearman";
  json["nonlinear_max_rows"] = c.nonlinear_max_rows;
  json["rdc_k"] = c.rdc_k;
  json["rdc_s"] = c.rdc_s;
  json["rdc_seeds"] = c.rdc_seeds;
  json["hsic_D"] = c.hsic_D;
  json["w_hsic"] = c.w_hsic;
  json["w_rdc"] = c.w_rdc;
  json["nonlinear_threshold"] = c.nonlinear_threshold;
  json["nonlinear_topk"] = c.nonlinear_topk;
  json["leiden_objective"] = LeidenObjectiveName(c.leiden_objective);
  json["nonlinear_representative_criteria"] = Criteria(c.nonlinear_representative_criteria);
  json["threads"] = c.threads;
  json["memory_limit"] = c.memory_limit;
  json["device"] = c.device;
  json["gpu_id"] = c.gpu_id;
  json["max_gpu_memory_gb"] = c.max_gpu_memory_gb;
  json["gpu_precision"] = GpuPrecisionName(c.gpu_precision);
  return json;
}

Manifest::Manifest(const Table& table, const Config& config) : out_dir_(config.output_dir) {
  {
    std::ifstream in(out_dir_ + "/run_manifest.json");
    if (in.good()) {
      try {
        const Json previous = Json::parse(in);
        if (previous.contains("passes") && previous.at("passes").is_array()) previous_passes_ = previous.at("passes");
      } catch (const nlohmann::json::exception&) {
        // An unreadable manifest (edited by hand, or from another program): nothing is reused.
      }
    }
  }
  json_["descpipe_version"] = Version();
  json_["duckdb_version"] = DuckDbVersion();
  Json files = Json::array();
  for (const InputFile& file : table.files()) {
    files.push_back({{"path", file.path},
                     {"format", file.format == FileFormat::kParquet ? "parquet" : "csv"},
                     {"size_bytes", file.size_bytes},
                     {"mtime_ns", file.mtime_ns},
                     {"rows", file.row_count}});
  }
  Json inputs;
  inputs["files"] = files;
  inputs["fingerprint"] = Fnv1a64Hex(files.dump());
  json_["inputs"] = inputs;
  json_["columns"] = {{"metadata", table.metadata_names()}, {"descriptors", table.descriptor_names().size()}};
  const Json all = ConfigJson(config);
  json_["config"] = all;
  json_["passes"] = Json::array();

  // The options each stage reads (besides those of the stages before it). memory_limit is read
  // by Passes 2 and 4 (it can make them use fewer rows).
  const std::vector<std::vector<const char*>> groups = {
      {"union_by_name", "metadata_columns", "n_metadata_cols", "descriptor_columns", "sample_rows",
       "sample_per_file", "random_seed"},
      {"max_missing_ratio", "min_effective_n", "max_mode_fraction", "variance_threshold", "range_mode",
       "trim_percentiles", "remove_binary", "quantile_sample_size", "keep_columns"},
      {"spearman_threshold", "spearman_missing", "spearman_cluster_method", "representative_criteria",
       "target_column", "exact", "leiden_resolution", "leiden_iterations", "memory_limit", "vif_correlation",
       "nonlinear_max_rows", "gpu_precision"},
      {"vif_threshold"},
      {"rdc_k", "rdc_s", "rdc_seeds", "hsic_D", "w_hsic", "w_rdc", "nonlinear_threshold", "nonlinear_topk",
       "leiden_objective", "nonlinear_representative_criteria"}};
  std::string cumulative = std::string(Version()) + "|" + inputs["fingerprint"].get<std::string>();
  for (const auto& group : groups) {
    Json options;
    for (const char* key : group) options[key] = all.at(key);
    cumulative += "|" + options.dump();
    option_groups_.push_back(cumulative);
  }
}

std::string Manifest::Fingerprint(int stage) const {
  DESCPIPE_ASSERT(stage >= 0 && stage < static_cast<int>(option_groups_.size()));
  return Fnv1a64Hex(option_groups_[static_cast<std::size_t>(stage)]);
}

const Json* Manifest::PreviousEntry(int stage) const {
  for (const auto& entry : previous_passes_) {
    if (entry.contains("stage") && entry.at("stage") == stage) return &entry;
  }
  return nullptr;
}

bool Manifest::CanReuse(int stage, std::string* why) const {
  const Json* entry = PreviousEntry(stage);
  if (entry == nullptr) {
    *why = "no earlier result in the output directory";
    return false;
  }
  if (entry->value("fingerprint", "") != Fingerprint(stage)) {
    *why = "its inputs or options changed";
    return false;
  }
  for (const auto& output : entry->value("outputs", Json::array())) {
    const std::string name = output.value("file", "");
    std::error_code ec;
    if (!std::filesystem::is_regular_file(out_dir_ + "/" + name, ec)) {
      *why = fmt::format("{} is missing", name);
      return false;
    }
    std::uint64_t size = 0;
    if (HashFile(out_dir_ + "/" + name, &size) != output.value("fnv1a64", "") ||
        size != output.value("size_bytes", std::uint64_t{0})) {
      *why = fmt::format("{} changed since it was written", name);
      return false;
    }
  }
  return true;
}

void Manifest::RemoveStaleOutputs(int stage) const {
  for (const auto& entry : previous_passes_) {
    if (!entry.contains("stage") || entry.at("stage").get<int>() < stage) continue;
    for (const auto& output : entry.value("outputs", Json::array())) {
      std::error_code ec;
      std::filesystem::remove(out_dir_ + "/" + output.value("file", ""), ec);  // absent is fine
    }
  }
}

PassSummary Manifest::Reuse(int stage) {
  const Json* previous = PreviousEntry(stage);
  DESCPIPE_ASSERT(previous != nullptr);
  Json entry = *previous;
  entry["status"] = "reused";
  json_["passes"].push_back(entry);
  Save();
  PassSummary summary;
  summary.name = entry.value("pass", "");
  summary.columns_in = entry.value("columns_in", std::size_t{0});
  summary.columns_out = entry.value("columns_out", std::size_t{0});
  summary.seconds = 0.0;
  summary.peak_rss_bytes = 0;
  summary.reused = true;
  return summary;
}

void Manifest::RecordPass(int stage, const PassSummary& summary, const std::vector<std::string>& outputs,
                          Json extra) {
  Json entry;
  entry["pass"] = summary.name;
  entry["stage"] = stage;
  entry["status"] = "computed";
  entry["fingerprint"] = Fingerprint(stage);
  entry["columns_in"] = summary.columns_in;
  entry["columns_out"] = summary.columns_out;
  entry["seconds"] = summary.seconds;
  entry["peak_rss_bytes"] = summary.peak_rss_bytes;
  if (!device_.empty()) entry["device"] = device_;
  Json files = Json::array();
  for (const std::string& name : outputs) {
    std::uint64_t size = 0;
    const std::string hash = HashFile(out_dir_ + "/" + name, &size);
    files.push_back({{"file", name}, {"size_bytes", size}, {"fnv1a64", hash}});
  }
  entry["outputs"] = files;
  for (auto it = extra.begin(); it != extra.end(); ++it) entry[it.key()] = it.value();
  json_["passes"].push_back(entry);
  Save();
}

void Manifest::SetDevice(const std::string& description) {
  device_ = description;
  json_["device"] = description;
}

void Manifest::Save() const { io::WriteFileAtomic(out_dir_ + "/run_manifest.json", json_.dump(2) + "\n"); }

}  // namespace descpipe
