// descpipe::Table over its column source, the rules every source shares (column roles), and
// the SQL helpers of src/io.
#include "descpipe/table.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <unordered_map>

#include "descpipe/error.hpp"
#include "io/column_source.hpp"
#include "io/duckdb_handles.hpp"

namespace descpipe {

std::string QuoteIdentifier(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string QuoteLiteral(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

namespace io {

bool IsNumericType(const std::string& type) {
  static const std::set<std::string> kNumeric = {
      "BOOLEAN",   "TINYINT",  "SMALLINT", "INTEGER",  "BIGINT", "HUGEINT", "UTINYINT",
      "USMALLINT", "UINTEGER", "UBIGINT",  "UHUGEINT", "FLOAT",  "DOUBLE"};
  return kNumeric.count(type) > 0 || type.rfind("DECIMAL", 0) == 0;
}

void AssignRoles(std::vector<ColumnInfo>& columns, const InputSpec& spec, const RoleNames& names) {
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < columns.size(); ++c) index.emplace(columns[c].name, c);
  auto find_column = [&](const std::string& name, const char* option) -> std::size_t {
    auto it = index.find(name);
    DESCPIPE_EXPECTS(it != index.end(), "column \"{}\" named in {} is not in {}", name, option,
                     names.not_in);
    return it->second;
  };
  std::vector<bool> is_metadata(columns.size(), false);
  if (!spec.metadata_columns.empty()) {
    for (const auto& name : spec.metadata_columns)
      is_metadata[find_column(name, "metadata_columns")] = true;
  } else if (spec.n_metadata_cols.has_value()) {
    const int n = *spec.n_metadata_cols;
    DESCPIPE_EXPECTS(n >= 0 && static_cast<std::size_t>(n) <= columns.size(),
                     "n_metadata_cols = {} but {} has {} columns", n, names.first, columns.size());
    for (int c = 0; c < n; ++c) is_metadata[c] = true;
  } else {
    for (std::size_t c = 0; c < columns.size(); ++c) is_metadata[c] = !columns[c].numeric;
  }
  if (!spec.descriptor_columns.empty()) {
    std::set<std::string> chosen;
    for (const auto& name : spec.descriptor_columns) {
      const std::size_t c = find_column(name, "descriptor_columns");
      const ColumnInfo& info = columns[c];
      DESCPIPE_EXPECTS(info.numeric,
                       "column \"{}\" in '{}' has type {}; descriptors must be numeric", name,
                       names.first_seen[c], info.type);
      DESCPIPE_EXPECTS(!is_metadata[c] || spec.metadata_columns.empty(),
                       "column \"{}\" is listed both as metadata and as a descriptor", name);
      DESCPIPE_EXPECTS(chosen.insert(name).second,
                       "column \"{}\" is listed twice in descriptor_columns", name);
    }
    for (std::size_t c = 0; c < columns.size(); ++c) {
      columns[c].role = chosen.count(columns[c].name) ? ColumnRole::kDescriptor
                        : is_metadata[c]              ? ColumnRole::kMetadata
                                                      : ColumnRole::kIgnored;
    }
  } else {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      columns[c].role = is_metadata[c]       ? ColumnRole::kMetadata
                        : columns[c].numeric ? ColumnRole::kDescriptor
                                             : ColumnRole::kIgnored;
    }
  }
  std::size_t n_descriptors = 0;
  std::size_t n_metadata = 0;
  for (const auto& column : columns) {
    n_descriptors += column.role == ColumnRole::kDescriptor;
    n_metadata += column.role == ColumnRole::kMetadata;
  }
  DESCPIPE_EXPECTS(n_descriptors > 0,
                   "{} has no numeric descriptor column ({} columns, {} of them metadata)",
                   names.whole, columns.size(), n_metadata);
}

}  // namespace io

Table Table::Open(const InputSpec& spec, const Context& ctx) {
  Table table;
  table.source_ = io::OpenFileSource(spec, ctx);
  return table;
}

Table Table::FromMemory(MemoryTable memory, const InputSpec& roles, const Context& ctx) {
  (void)ctx;
  DESCPIPE_EXPECTS(roles.patterns.empty(),
                   "a table in memory is read with no input files (got '{}')",
                   roles.patterns.empty() ? std::string() : roles.patterns.front());
  Table table;
  table.source_ = io::OpenMemorySource(std::move(memory), roles);
  return table;
}

namespace {

/// Another source's columns and rows with other roles (Table::WithMetadata): every read goes to
/// the source it wraps.
class RolesOverride final : public io::ColumnSource {
 public:
  RolesOverride(std::shared_ptr<const io::ColumnSource> base, std::vector<ColumnInfo> columns)
      : base_(std::move(base)) {
    columns_ = std::move(columns);
    column_types_ = base_->column_types();
  }
  std::string Describe() const override { return base_->Describe(); }
  const std::vector<InputFile>& files() const override { return base_->files(); }
  const MemoryTable* memory() const override { return base_->memory(); }
  std::int64_t known_row_count() const override { return base_->known_row_count(); }
  std::vector<ScanPartition> Partitions() const override { return base_->Partitions(); }
  std::int64_t PartitionRows(const ScanPartition& partition) const override {
    return base_->PartitionRows(partition);
  }
  double LargestPartRows() const override { return base_->LargestPartRows(); }
  std::unique_ptr<io::BatchStream> Scan(const std::vector<std::string>& columns,
                                        const ScanPartition& partition,
                                        std::size_t batch_rows) const override {
    return base_->Scan(columns, partition, batch_rows);
  }
  double ScanBufferBytes(double columns, double part_rows, double prefetch) const override {
    return base_->ScanBufferBytes(columns, part_rows, prefetch);
  }
  bool PartHasColumn(std::size_t part, const std::string& name) const override {
    return base_->PartHasColumn(part, name);
  }
  std::string Sql(const io::Connection& connection) const override {
    return base_->Sql(connection);
  }
  std::size_t SqlParts() const override { return base_->SqlParts(); }
  std::string NumberedPartSql(const io::Connection& connection, std::size_t part,
                              const std::string& part_column, const std::string& row_column,
                              bool all_columns, bool& part_rows_in_order) const override {
    return base_->NumberedPartSql(connection, part, part_column, row_column, all_columns,
                                  part_rows_in_order);
  }
  std::string ReadErrorContext() const override { return base_->ReadErrorContext(); }
  const std::shared_ptr<const io::ColumnSource>& base() const { return base_; }

 private:
  std::shared_ptr<const io::ColumnSource> base_;
};

}  // namespace

Table Table::WithMetadata(const std::vector<std::string>& names) const {
  std::vector<ColumnInfo> columns = source_->columns();
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < columns.size(); ++c) index.emplace(columns[c].name, c);
  for (const std::string& name : names) {
    const auto it = index.find(name);
    DESCPIPE_EXPECTS(it != index.end(), "column \"{}\" is not a column of {}", name, Describe());
    columns[it->second].role = ColumnRole::kMetadata;
  }
  std::size_t n_descriptors = 0;
  for (const auto& column : columns) n_descriptors += column.role == ColumnRole::kDescriptor;
  std::string listed;
  for (const std::string& name : names) listed += (listed.empty() ? "\"" : ", \"") + name + "\"";
  DESCPIPE_EXPECTS(n_descriptors > 0, "{} has no descriptor column besides {}", Describe(), listed);
  Table table;
  // A wrapper of a wrapper would add a call per read for nothing: wrap the original source.
  const auto* wrapped = dynamic_cast<const RolesOverride*>(source_.get());
  table.source_ =
      std::make_shared<RolesOverride>(wrapped != nullptr ? wrapped->base() : source_, columns);
  return table;
}

namespace {

/// The largest magnitude below which every value of DuckDB type `type` converts to a distinct
/// DOUBLE: 2^53 for 64- and 128-bit integers, 10^(15 - scale) for DECIMALs of more than 15 digits
/// (any decimal of at most 15 significant digits survives the round trip through DOUBLE), and
/// infinity for the other types.
double ExactDoubleLimit(const std::string& type) {
  if (type == "BIGINT" || type == "UBIGINT" || type == "HUGEINT" || type == "UHUGEINT") {
    return 9007199254740992.0;  // 2^53
  }
  int width = 0;
  int scale = 0;
  if (std::sscanf(type.c_str(), "DECIMAL(%d,%d)", &width, &scale) == 2 && width > 15) {
    // A little below the bound: the largest values under it may round up to it as DOUBLE.
    return 0.999 * std::pow(10.0, 15 - scale);
  }
  return std::numeric_limits<double>::infinity();
}

}  // namespace

std::vector<std::string> WarnAboutMergedValues(const Table& table,
                                               const std::vector<std::string>& columns,
                                               const std::vector<double>& max_abs,
                                               const Context& ctx) {
  DESCPIPE_ASSERT(columns.size() == max_abs.size());
  const io::ColumnSource& source = table.source();
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < source.columns().size(); ++c)
    index.emplace(source.columns()[c].name, c);
  std::vector<std::size_t> checked;  // into impl.columns
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const auto it = index.find(columns[i]);
    if (it == index.end()) continue;
    double limit = std::numeric_limits<double>::infinity();
    for (const auto& type : source.column_types()[it->second])
      limit = std::min(limit, ExactDoubleLimit(type));
    if (max_abs[i] >= limit) checked.push_back(it->second);
  }
  std::vector<std::string> warnings;
  if (checked.empty()) return warnings;

  io::Database database(ctx.threads());
  io::Connection connection(database);
  const std::string context = fmt::format("counting distinct values of {}", table.Describe());
  io::Execute(connection,
              fmt::format("SET memory_limit = '{}MB'",
                          std::max<std::uint64_t>(ctx.memory_limit_bytes() / 1000000, 256)),
              "setting DuckDB's memory limit");
  const std::string from = source.Sql(connection);
  std::string counts;
  for (const std::size_t c : checked) {
    const std::string column = QuoteIdentifier(source.columns()[c].name);
    counts += fmt::format("{0}count(DISTINCT {1}), count(DISTINCT CAST({1} AS DOUBLE))",
                          counts.empty() ? "" : ", ", column);
  }
  io::Result counted;
  io::Query(connection, fmt::format("SELECT {} FROM {}", counts, from), counted, context);
  for (std::size_t k = 0; k < checked.size(); ++k) {
    const std::int64_t exact = counted.Int(2 * k, 0);
    const std::int64_t as_double = counted.Int(2 * k + 1, 0);
    if (exact == as_double) continue;
    const ColumnInfo& info = source.columns()[checked[k]];
    const std::string column = QuoteIdentifier(info.name);
    io::Result example;
    io::Query(
        connection,
        fmt::format(
            "SELECT min({0})::VARCHAR, max({0})::VARCHAR, CAST({0} AS DOUBLE)::VARCHAR FROM {1} "
            "WHERE {0} IS NOT NULL GROUP BY CAST({0} AS DOUBLE) HAVING count(DISTINCT {0}) > 1 "
            "ORDER BY 3 LIMIT 1",
            column, from),
        example, context);
    std::string types;
    for (const auto& type : source.column_types()[checked[k]])
      types += (types.empty() ? "" : "/") + type;
    std::string warning = fmt::format(
        "column \"{}\" of {}: {} distinct {} values become {} distinct DOUBLE value{}{}; integers "
        "beyond "
        "2^53 and decimals of more than 15 digits lose precision as DOUBLE, and descpipe reads "
        "descriptors "
        "as DOUBLE",
        info.name, table.Describe(), exact, types, as_double, as_double == 1 ? "" : "s",
        example.rows() > 0 ? fmt::format(" (e.g. {} and {} both read as {})", example.Text(0, 0),
                                         example.Text(1, 0), example.Text(2, 0))
                           : std::string());
    spdlog::warn("{}", warning);
    warnings.push_back(std::move(warning));
  }
  return warnings;
}

const std::vector<InputFile>& Table::files() const { return source_->files(); }
const MemoryTable* Table::memory() const { return source_->memory(); }
const std::vector<ColumnInfo>& Table::columns() const { return source_->columns(); }
std::int64_t Table::known_row_count() const { return source_->known_row_count(); }
std::vector<ScanPartition> Table::Partitions() const { return source_->Partitions(); }
std::string Table::Describe() const { return source_->Describe(); }
std::int64_t Table::PartitionRows(const ScanPartition& partition) const {
  return source_->PartitionRows(partition);
}
double Table::LargestPartitionRows() const { return source_->LargestPartRows(); }
double Table::ScanBufferBytes(double columns, double partition_rows, double prefetch) const {
  return source_->ScanBufferBytes(columns, partition_rows, prefetch);
}

std::vector<std::string> Table::descriptor_names() const {
  std::vector<std::string> names;
  for (const auto& column : columns()) {
    if (column.role == ColumnRole::kDescriptor) names.push_back(column.name);
  }
  return names;
}

std::vector<std::string> Table::metadata_names() const {
  std::vector<std::string> names;
  for (const auto& column : columns()) {
    if (column.role == ColumnRole::kMetadata) names.push_back(column.name);
  }
  return names;
}

}  // namespace descpipe
