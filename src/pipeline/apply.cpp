// descpipe apply: the metadata and the descriptors kept by a finished run, for any table with the
// same columns (a test set, new molecules).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/table.hpp"
#include "io/atomic_file.hpp"
#include "io/outdir.hpp"
#include "pipeline/passes.hpp"

namespace descpipe {
namespace {
namespace fs = std::filesystem;

struct StageFiles {
  const char* pass;     ///< the manifest entry that must be complete
  const char* columns;  ///< the column list it wrote
};

/// The pass that ran as `stage` and the list of its survivors.
StageFiles FilesOf(Stage stage) {
  for (const auto& pass : Passes()) {
    if (pass->stage() == static_cast<int>(stage) && stage >= Stage::kPass2 &&
        pass->survivors_file() != nullptr) {
      return {pass->long_name(), pass->survivors_file()};
    }
  }
  throw InvalidInput("--after must be pass2, pass3 or final");
}

}  // namespace

std::int64_t ApplySelection(const ApplyOptions& options, const Context& ctx) {
  const std::string manifest_path = options.out_dir + "/run_manifest.json";
  DESCPIPE_EXPECTS(fs::exists(fs::symlink_status(manifest_path)),
                   "cannot read '{}': '{}' is not the output directory of a descpipe run",
                   manifest_path, options.out_dir);
  DESCPIPE_EXPECTS(
      !io::IsInsideDirectory(options.output, options.out_dir),
      "the output '{}' lies inside the run's output directory '{}': apply never writes there (it "
      "would replace the run's own files); choose a path outside it",
      options.output, options.out_dir);
  OutputFormatOf(options.output);  // an output name of unknown format fails before any work
  // A run writing OUTDIR now would change the lists under us: read under a shared lock.
  const io::OutdirLock lock(options.out_dir, io::OutdirLock::Mode::kShared, options.wait);
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(io::ReadRegularFile(manifest_path, 1ULL << 30));
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(
        fmt::format("'{}' is not valid JSON ({}); rerun descpipe run", manifest_path, e.what()));
  }
  const StageFiles files = FilesOf(options.after);
  bool complete = false;
  std::vector<std::string> metadata;
  InputSpec spec;
  std::string target;  // a metadata column that new molecules may lack
  try {
    for (const auto& pass : manifest.at("passes"))
      complete = complete || pass.at("pass") == files.pass;
    const auto& columns = manifest.at("columns");
    metadata = columns.at("metadata").get<std::vector<std::string>>();
    if (columns.contains("target_column") && !columns.at("target_column").is_null())
      target = columns.at("target_column").get<std::string>();
    const auto& config = manifest.at("config");
    spec.union_by_name = config.at("union_by_name").get<bool>();
    // CSV inputs are read as the run read its inputs; runs before these options had no
    // na_values, and read CSV columns with their sniffed types (the defaults come nearest).
    if (config.contains("na_values"))
      spec.na_values = config.at("na_values").get<std::vector<std::string>>();
    if (config.contains("non_numeric")) {
      const auto policy =
          EnumFromName<NonNumericPolicy>(config.at("non_numeric").get<std::string>());
      DESCPIPE_EXPECTS(policy.has_value(),
                       "'{}' names an unknown non_numeric '{}'; rerun descpipe run", manifest_path,
                       config.at("non_numeric").get<std::string>());
      spec.non_numeric = *policy;
    }
  } catch (const nlohmann::json::exception& e) {
    throw InvalidInput(
        fmt::format("'{}' is damaged ({}); rerun descpipe run", manifest_path, e.what()));
  }
  DESCPIPE_EXPECTS(
      complete,
      "the run in '{}' did not complete {} (was it stopped with --until?); rerun descpipe run",
      options.out_dir, files.pass);
  const std::string list_path = options.out_dir + "/" + files.columns;
  const std::vector<std::string> descriptors = io::ReadLines(list_path);
  DESCPIPE_EXPECTS(!descriptors.empty(), "'{}' lists no descriptor", list_path);

  // The run's metadata (its identifier columns included: the manifest lists what the run decided,
  // nothing is detected again) must be in the inputs, except the target: new molecules may have
  // no measured value yet. It is written when present.
  spec.patterns = options.inputs;
  for (const std::string& name : metadata) {
    if (name != target) spec.metadata_columns.push_back(name);
  }
  if (spec.metadata_columns.empty()) spec.n_metadata_cols = 0;
  spec.descriptor_columns = descriptors;
  Table table = [&] {
    try {
      return Table::Open(spec, ctx);
    } catch (const InvalidInput& e) {
      throw InvalidInput(fmt::format("{} (the columns come from {} and the run's metadata columns)",
                                     e.what(), list_path));
    }
  }();
  const bool has_target =
      !target.empty() &&
      std::any_of(table.columns().begin(), table.columns().end(),
                  [&](const ColumnInfo& column) { return column.name == target; });
  if (!target.empty() && !has_target)
    spdlog::info("apply: the run's target_column \"{}\" is not in {}: written without it", target,
                 table.Describe());
  std::vector<std::string> columns;
  for (const std::string& name : metadata) {
    if (name != target || has_target) columns.push_back(name);
  }
  const std::size_t n_metadata = columns.size();
  columns.insert(columns.end(), descriptors.begin(), descriptors.end());
  const std::int64_t rows = WriteColumns(table, columns, options.output, ctx);
  spdlog::info("apply: wrote {} rows x {} columns ({} metadata, {} descriptors after {}) to {}",
               rows, columns.size(), n_metadata, descriptors.size(), files.pass, options.output);
  return rows;
}

}  // namespace descpipe
