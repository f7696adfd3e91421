// The column roles a run adds to the input options: the target and the identifier columns are
// metadata, never descriptors.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"

namespace descpipe {
namespace {

const ColumnInfo* FindColumn(const Table& table, const std::string& name) {
  for (const ColumnInfo& column : table.columns()) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

Table WithRunRoles(const Table& table, const Config& config, const Context& ctx,
                   std::vector<IdColumn>* ids) {
  std::vector<std::string> metadata;  // columns that become metadata
  const std::string& target = config.target_column;
  if (!target.empty()) {
    const ColumnInfo* column = FindColumn(table, target);
    DESCPIPE_EXPECTS(column != nullptr, "target_column \"{}\" is not a column of {}", target,
                     table.Describe());
    DESCPIPE_EXPECTS(column->numeric, "target_column \"{}\" in {} has type {}; it must be numeric",
                     target, table.Describe(), column->type);
    DESCPIPE_EXPECTS(!Contains(config.descriptor_columns, target),
                     "target_column \"{}\" is also in descriptor_columns: the target is never a "
                     "descriptor (it guides the choice of representatives); remove it from "
                     "descriptor_columns",
                     target);
    DESCPIPE_EXPECTS(!Contains(config.keep_columns, target),
                     "target_column \"{}\" is also in keep_columns: the target is never a "
                     "descriptor (it guides the choice of representatives); remove it from "
                     "keep_columns",
                     target);
    if (column->role != ColumnRole::kMetadata) metadata.push_back(target);
  }

  std::vector<IdColumn> found;
  if (config.id_columns_mode == IdColumnsMode::kListed) {
    std::set<std::string> seen;
    for (const std::string& name : config.id_columns) {
      const ColumnInfo* column = FindColumn(table, name);
      DESCPIPE_EXPECTS(column != nullptr, "column \"{}\" named in id_columns is not a column of {}",
                       name, table.Describe());
      DESCPIPE_EXPECTS(seen.insert(name).second, "column \"{}\" is listed twice in id_columns",
                       name);
      for (const auto* option : {&config.descriptor_columns, &config.keep_columns}) {
        DESCPIPE_EXPECTS(!Contains(*option, name),
                         "column \"{}\" is listed both in id_columns and in {}: an identifier is "
                         "never a descriptor",
                         name,
                         option == &config.keep_columns ? "keep_columns" : "descriptor_columns");
      }
      found.push_back({name, "listed in id_columns"});
    }
  } else if (config.id_columns_mode == IdColumnsMode::kAuto) {
    std::vector<std::string> candidates;
    for (const std::string& name : table.descriptor_names()) {
      if (name != target) candidates.push_back(name);
    }
    for (IdColumn& id : FindIdColumns(table, candidates, ctx)) {
      const char* listed = Contains(config.descriptor_columns, id.name) ? "descriptor_columns"
                           : Contains(config.keep_columns, id.name)     ? "keep_columns"
                                                                        : nullptr;
      if (listed != nullptr) {
        spdlog::warn(
            "column \"{}\" looks like an identifier ({}) but is listed in {}: kept as a "
            "descriptor",
            id.name, id.reason, listed);
        continue;
      }
      spdlog::warn(
          "column \"{}\" looks like an identifier ({}); treated as metadata. Set id_columns: "
          "none, or list the identifiers, to change this",
          id.name, id.reason);
      found.push_back(std::move(id));
    }
  }
  for (const IdColumn& id : found) {
    const ColumnInfo* column = FindColumn(table, id.name);
    if (column->role != ColumnRole::kMetadata && !Contains(metadata, id.name))
      metadata.push_back(id.name);
  }
  const std::vector<std::string> descriptors = table.descriptor_names();
  const bool none_left = std::all_of(descriptors.begin(), descriptors.end(),
                                     [&](const auto& name) { return Contains(metadata, name); });
  if (none_left) {
    std::string named;
    for (const std::string& name : metadata) named += (named.empty() ? "\"" : ", \"") + name + "\"";
    throw InvalidInput(fmt::format(
        "{} has no descriptor column besides {}, which are metadata as the target or "
        "identifiers{}",
        table.Describe(), named,
        config.id_columns_mode == IdColumnsMode::kAuto
            ? " (found by id_columns: auto; set id_columns: none, or list the identifiers)"
            : ""));
  }
  if (ids != nullptr) *ids = found;
  return metadata.empty() ? table : table.WithMetadata(metadata);
}

}  // namespace descpipe
