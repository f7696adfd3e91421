// run_manifest.json (see manifest.hpp).
#include "pipeline/manifest.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <type_traits>

#include "descpipe/error.hpp"
#include "descpipe/version.hpp"
#include "io/atomic_file.hpp"
#include "io/fingerprint.hpp"
#include "io/outdir.hpp"

namespace descpipe {
namespace {

using Json = nlohmann::ordered_json;

}  // namespace

Manifest::Manifest(const Table& table, const Config& config, const Context& ctx)
    : out_dir_(config.output_dir), threads_(ctx.threads()) {
  LoadPrevious();
  json_["descpipe_version"] = Version();
  json_["duckdb_version"] = DuckDbVersion();
  // Each input by its content (docs/RUNS.md): a same-size edit with the mtime put back is seen.
  // With verify_inputs: full the fingerprint is the hash of every byte, so touching a file does
  // not make a run compute again; with fast, the mtime joins the sampled hash.
  const bool full = config.verify_inputs == InputVerification::kFull;
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t hashed = 0;
  Json files = Json::array();
  Json identity = Json::array();
  if (const MemoryTable* memory = table.memory(); memory != nullptr) {
    // A table in memory: always hashed whole (it is in memory already).
    const std::string content = io::HashMemoryTable(*memory);
    files.push_back({{"memory", memory->name},
                     {"rows", memory->n_rows},
                     {"columns", memory->columns.size()},
                     {"xxh3_64", content}});
    identity.push_back({{"memory_rows", memory->n_rows}, {"content", content}});
  }
  for (const InputFile& file : table.files()) {
    std::uint64_t size = file.size_bytes;
    const std::string content = full ? io::HashFile(file.path, &size, ctx.threads())
                                     : io::SampledFileHash(file.path, file.format);
    hashed += full ? size : 0;
    DESCPIPE_EXPECTS(size == file.size_bytes,
                     "input '{}' changed while it was being read ({} bytes, then {})", file.path,
                     file.size_bytes, size);
    files.push_back({{"path", file.path},
                     {"format", file.format == FileFormat::kParquet ? "parquet" : "csv"},
                     {"size_bytes", file.size_bytes},
                     {"mtime_ns", file.mtime_ns},
                     {"rows", file.row_count},
                     {full ? "xxh3_64" : "xxh3_64_sampled", content}});
    Json id = {{"path", file.path}, {"size_bytes", file.size_bytes}, {"content", content}};
    if (!full) id["mtime_ns"] = file.mtime_ns;
    identity.push_back(id);
  }
  if (full) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::debug("inputs: hashed {:.1f} MB in {:.2f} s (verify_inputs: full)",
                  static_cast<double>(hashed) / 1e6, seconds);
  }
  Json inputs;
  inputs["files"] = files;
  inputs["verify_inputs"] = full ? "full" : "fast";
  inputs["fingerprint"] = io::HashText(identity.dump());
  json_["inputs"] = inputs;
  json_["columns"] = {{"metadata", table.metadata_names()},
                      {"descriptors", table.descriptor_names().size()}};
  const Json all = ConfigJson(config);
  json_["config"] = all;
  // What the run used where the config says "automatic" (threads 0, memory_limit 0), and why.
  // Outside the fingerprints: outputs do not depend on the threads, and an automatic budget that
  // follows the machine or the job's cgroup must not make a resumed run compute again.
  const CgroupMemoryLimit cgroup = CgroupMemoryLimitOfThisProcess();
  json_["resources"] = {
      {"threads", ctx.threads()},
      {"threads_from", ctx.threads_origin()},
      {"memory_limit_bytes", ctx.memory_limit_bytes()},
      {"memory_limit_from", ctx.memory_limit_origin()},
      {"physical_memory_bytes", PhysicalMemoryBytes()},
      {"cgroup_memory_limit_bytes", cgroup.bytes > 0 ? Json(cgroup.bytes) : Json(nullptr)}};
  json_["passes"] = Json::array();

  // The options each stage reads (besides those of the stages before it): the registry's groups,
  // in registry order (an option with fingerprint_after goes right after that option).
  std::vector<std::vector<const char*>> groups(5);
  for (const OptionSpec& spec : OptionSpecs()) {
    if (spec.group == OptionGroup::kNone) continue;
    auto& group = groups[static_cast<std::size_t>(spec.group)];
    auto at = group.end();
    if (spec.fingerprint_after != nullptr) {
      at = std::find_if(group.begin(), group.end(), [&](const char* name) {
        return std::string_view(name) == spec.fingerprint_after;
      });
      DESCPIPE_ASSERT(at != group.end());
      ++at;
    }
    group.insert(at, spec.name);
  }
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
  return io::HashText(option_groups_[static_cast<std::size_t>(stage)]);
}

namespace {

/// `json[key]` when it holds a T, else `fallback`: nothing read back from OUTDIR is trusted to
/// have the type this version wrote.
template <typename T>
T Field(const Json& json, const char* key, T fallback) {
  if (!json.is_object() || !json.contains(key)) return fallback;
  const Json& value = json.at(key);
  if constexpr (std::is_same_v<T, std::string>) {
    return value.is_string() ? value.get<std::string>() : fallback;
  } else if constexpr (std::is_integral_v<T>) {
    return value.is_number_integer() && (value.is_number_unsigned() ||
                                         value.get<std::int64_t>() >= 0 || std::is_signed_v<T>)
               ? value.get<T>()
               : fallback;
  } else {
    return value.is_number() ? value.get<T>() : fallback;
  }
}

}  // namespace

void Manifest::LoadPrevious() {
  const std::string path = out_dir_ + "/run_manifest.json";
  if (!std::filesystem::exists(std::filesystem::symlink_status(path))) return;
  Json previous;
  try {
    previous = Json::parse(io::ReadRegularFile(path, 1ULL << 30));
  } catch (const std::exception& e) {  // unreadable, not a regular file, or not JSON
    spdlog::warn("{} cannot be read ({}): nothing of the earlier run is reused", path, e.what());
    return;
  }
  if (!previous.is_object() || !previous.contains("passes") || !previous.at("passes").is_array()) {
    spdlog::warn("{} lists no passes: nothing of the earlier run is reused", path);
    return;
  }
  for (const Json& entry : previous.at("passes")) {
    PreviousPass pass;
    pass.stage = Field<int>(entry, "stage", -1);
    if (pass.stage < 0 || pass.stage > 4) continue;
    pass.fingerprint = Field<std::string>(entry, "fingerprint", "");
    pass.entry = entry;
    const Json outputs =
        entry.is_object() && entry.contains("outputs") ? entry.at("outputs") : Json();
    if (!outputs.is_array()) pass.problem = "its list of outputs is damaged";
    for (const Json& output : outputs.is_array() ? outputs : Json::array()) {
      RecordedOutput recorded;
      recorded.name = Field<std::string>(output, "file", "");
      recorded.size = Field<std::uint64_t>(output, "size_bytes", UINT64_MAX);
      recorded.hash = Field<std::string>(output, "xxh3_64", "");
      try {
        recorded.path = io::OutdirFile(out_dir_, recorded.name);
      } catch (const InvalidInput& e) {
        // A manifest naming "../x" or "/etc/x": never reused, and never deleted.
        spdlog::warn("{}", e.what());
        pass.problem = "the manifest names a file outside the output directory";
        continue;
      }
      pass.outputs.push_back(std::move(recorded));
    }
    previous_.push_back(std::move(pass));
  }
}

const Manifest::PreviousPass* Manifest::PreviousEntry(int stage) const {
  for (const PreviousPass& pass : previous_) {
    if (pass.stage == stage) return &pass;
  }
  return nullptr;
}

bool Manifest::CanReuse(int stage, std::string* why) const {
  const PreviousPass* pass = PreviousEntry(stage);
  if (pass == nullptr) {
    *why = "no earlier result in the output directory";
    return false;
  }
  if (pass->fingerprint != Fingerprint(stage)) {
    *why = "its inputs or options changed";
    return false;
  }
  if (!pass->problem.empty()) {
    *why = pass->problem;
    return false;
  }
  for (const RecordedOutput& output : pass->outputs) {
    if (!io::IsPlainFile(output.path)) {
      *why = fmt::format("{} is missing (or not a regular file)", output.name);
      return false;
    }
    std::uint64_t size = 0;
    if (io::HashFile(output.path, &size, threads_) != output.hash || size != output.size) {
      *why = fmt::format("{} changed since it was written", output.name);
      return false;
    }
  }
  return true;
}

void Manifest::RemoveStaleOutputs(int stage) const {
  for (const PreviousPass& pass : previous_) {
    if (pass.stage < stage) continue;
    for (const RecordedOutput& output : pass.outputs) {
      // unlink: a symlink placed under an output's name goes, never what it points to.
      if (::unlink(output.path.c_str()) != 0 && errno != ENOENT) {
        spdlog::warn("cannot remove the stale output {}: {}", output.path, std::strerror(errno));
      }
    }
  }
}

PassSummary Manifest::Reuse(int stage) {
  const PreviousPass* previous = PreviousEntry(stage);
  DESCPIPE_ASSERT(previous != nullptr);
  Json entry = previous->entry;
  entry["status"] = "reused";
  json_["passes"].push_back(entry);
  Save();
  PassSummary summary;
  summary.name = Field<std::string>(entry, "pass", "");
  summary.columns_in = Field<std::size_t>(entry, "columns_in", 0);
  summary.columns_out = Field<std::size_t>(entry, "columns_out", 0);
  summary.seconds = 0.0;
  summary.peak_rss_bytes = 0;
  summary.reused = true;
  return summary;
}

void Manifest::RecordPass(int stage, const PassSummary& summary,
                          const std::vector<std::string>& outputs, Json extra) {
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
    const std::string hash = io::HashFile(io::OutdirFile(out_dir_, name), &size, threads_);
    files.push_back({{"file", name}, {"size_bytes", size}, {"xxh3_64", hash}});
  }
  entry["outputs"] = files;
  for (auto it = extra.begin(); it != extra.end(); ++it) entry[it.key()] = it.value();
  json_["passes"].push_back(entry);
  Save();
}

void Manifest::SetRoles(const std::string& target_column, const std::vector<IdColumn>& id_columns) {
  Json ids = Json::array();
  for (const IdColumn& id : id_columns) ids.push_back({{"name", id.name}, {"reason", id.reason}});
  json_["columns"]["target_column"] = target_column.empty() ? Json(nullptr) : Json(target_column);
  json_["columns"]["id_columns"] = ids;
}

void Manifest::SetDevice(const std::string& description) {
  device_ = description;
  json_["device"] = description;
}

void Manifest::Forget(int stage) {
  Json kept = Json::array();
  for (const Json& entry : json_["passes"]) {
    if (Field<int>(entry, "stage", -1) != stage) kept.push_back(entry);
  }
  json_["passes"] = kept;
  Save();
}

void Manifest::Save() const {
  io::WriteFileAtomic(out_dir_ + "/run_manifest.json", json_.dump(2) + "\n");
}

}  // namespace descpipe
