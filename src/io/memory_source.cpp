// A table the caller holds in memory (one io::ColumnSource implementation, see
// column_source.hpp). Scans point at float64 columns where they lie and convert other numeric
// types batch by batch; SQL work (Pass 0's sample, apply's export, the merged-values check) reads
// the table through a DuckDB table function registered on the connection that runs it.
#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>

#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "io/column_source.hpp"
#include "io/duckdb_handles.hpp"

namespace descpipe {

namespace {

/// What descpipe knows of each MemoryType: DuckDB's name and type for it, and its size.
struct TypeInfo {
  MemoryType type;
  const char* name;
  duckdb_type duckdb;
  std::size_t bytes;
};

constexpr TypeInfo kTypes[] = {
    {MemoryType::kFloat64, "DOUBLE", DUCKDB_TYPE_DOUBLE, 8},
    {MemoryType::kFloat32, "FLOAT", DUCKDB_TYPE_FLOAT, 4},
    {MemoryType::kInt64, "BIGINT", DUCKDB_TYPE_BIGINT, 8},
    {MemoryType::kInt32, "INTEGER", DUCKDB_TYPE_INTEGER, 4},
    {MemoryType::kInt16, "SMALLINT", DUCKDB_TYPE_SMALLINT, 2},
    {MemoryType::kInt8, "TINYINT", DUCKDB_TYPE_TINYINT, 1},
    {MemoryType::kUInt64, "UBIGINT", DUCKDB_TYPE_UBIGINT, 8},
    {MemoryType::kUInt32, "UINTEGER", DUCKDB_TYPE_UINTEGER, 4},
    {MemoryType::kUInt16, "USMALLINT", DUCKDB_TYPE_USMALLINT, 2},
    {MemoryType::kUInt8, "UTINYINT", DUCKDB_TYPE_UTINYINT, 1},
    {MemoryType::kBool, "BOOLEAN", DUCKDB_TYPE_BOOLEAN, 1},
    {MemoryType::kText, "VARCHAR", DUCKDB_TYPE_VARCHAR, sizeof(std::string)},
};

const TypeInfo& InfoOf(MemoryType type) {
  for (const TypeInfo& info : kTypes) {
    if (info.type == type) return info;
  }
  throw InvalidInput(fmt::format("unknown in-memory column type {}", static_cast<int>(type)));
}

}  // namespace

const char* MemoryTypeName(MemoryType type) { return InfoOf(type).name; }
std::size_t MemoryTypeBytes(MemoryType type) { return InfoOf(type).bytes; }

namespace io {
namespace {

constexpr const char* kFunctionName = "descpipe_memory_table";

/// The bytes from one value of `column` to the next.
std::size_t StrideOf(const MemoryColumn& column) {
  return column.stride != 0 ? column.stride : MemoryTypeBytes(column.type);
}

bool Packed(const MemoryColumn& column) {
  return column.stride == 0 || column.stride == MemoryTypeBytes(column.type);
}

/// `n` values of `column` from row `first` as double; a NULL reads as NaN with null byte 1.
void ToDouble(const MemoryColumn& column, std::size_t first, std::size_t n, double* values,
              std::uint8_t* nulls) {
  const std::size_t stride = StrideOf(column);
  const char* base = static_cast<const char*>(column.data) + first * stride;
  auto convert = [&](auto typed) {
    using T = decltype(typed);
    for (std::size_t row = 0; row < n; ++row) {
      T value;
      std::memcpy(&value, base + row * stride, sizeof(T));
      values[row] = static_cast<double>(value);
    }
  };
  switch (column.type) {
    case MemoryType::kFloat64:
      if (Packed(column)) {
        std::memcpy(values, base, n * sizeof(double));
      } else {
        convert(double{});
      }
      break;
    case MemoryType::kFloat32:
      convert(float{});
      break;
    case MemoryType::kInt64:
      convert(std::int64_t{});
      break;
    case MemoryType::kInt32:
      convert(std::int32_t{});
      break;
    case MemoryType::kInt16:
      convert(std::int16_t{});
      break;
    case MemoryType::kInt8:
      convert(std::int8_t{});
      break;
    case MemoryType::kUInt64:
      convert(std::uint64_t{});
      break;
    case MemoryType::kUInt32:
      convert(std::uint32_t{});
      break;
    case MemoryType::kUInt16:
      convert(std::uint16_t{});
      break;
    case MemoryType::kUInt8:
    case MemoryType::kBool:
      convert(std::uint8_t{});
      break;
    case MemoryType::kText:
      DESCPIPE_ASSERT(false);
  }
  if (column.is_null == nullptr) {
    std::memset(nulls, 0, n);
    return;
  }
  std::memcpy(nulls, column.is_null + first, n);
  for (std::size_t row = 0; row < n; ++row) {
    if (nulls[row]) values[row] = std::numeric_limits<double>::quiet_NaN();
  }
}

/// Batches of some columns of a table in memory. A float64 column without a NULL in the batch is
/// handed out where it lies; the others are converted into the batch's buffers.
class MemoryBatchStream final : public BatchStream {
 public:
  MemoryBatchStream(const MemoryTable& table, std::vector<std::size_t> columns,
                    std::size_t batch_rows)
      : table_(table),
        columns_(std::move(columns)),
        batch_rows_(batch_rows),
        no_nulls_(batch_rows, 0) {
    for (const std::size_t c : columns_) decodes_ |= table_.columns[c].type != MemoryType::kFloat64;
  }

  bool decodes() const override { return decodes_; }

  bool Fill(ColumnBatch& batch) override {
    const std::size_t n = std::min(batch_rows_, table_.n_rows - next_row_);
    if (n == 0) return false;
    batch.n_rows = n;
    batch.n_columns = columns_.size();
    batch.capacity = batch_rows_;
    batch.first_row = next_row_;
    batch.column_data.resize(columns_.size());
    batch.null_data.resize(columns_.size());
    // Buffers only for the columns that need converting, allocated once.
    std::size_t converted = 0;
    copy_.resize(columns_.size());
    for (std::size_t k = 0; k < columns_.size(); ++k) {
      copy_[k] = NeedsCopy(k, n);
      converted += copy_[k];
    }
    if (batch.values.size() < converted * batch_rows_) {
      batch.values.resize(converted * batch_rows_);
      batch.is_null.resize(converted * batch_rows_);
    }
    std::size_t slot = 0;
    for (std::size_t k = 0; k < columns_.size(); ++k) {
      const MemoryColumn& column = table_.columns[columns_[k]];
      if (!copy_[k]) {
        batch.column_data[k] = static_cast<const double*>(column.data) + next_row_;
        batch.null_data[k] = no_nulls_.data();
        continue;
      }
      double* values = batch.values.data() + slot * batch_rows_;
      std::uint8_t* nulls = batch.is_null.data() + slot * batch_rows_;
      ToDouble(column, next_row_, n, values, nulls);
      batch.column_data[k] = values;
      batch.null_data[k] = nulls;
      ++slot;
    }
    next_row_ += n;
    return true;
  }

 private:
  bool NeedsCopy(std::size_t k, std::size_t n) const {
    const MemoryColumn& column = table_.columns[columns_[k]];
    return column.type != MemoryType::kFloat64 || !Packed(column) ||
           (column.is_null != nullptr && std::memchr(column.is_null + next_row_, 1, n) != nullptr);
  }

  const MemoryTable& table_;
  std::vector<std::size_t> columns_;
  std::size_t batch_rows_;
  std::size_t next_row_ = 0;
  bool decodes_ = false;
  std::vector<std::uint8_t> no_nulls_;
  std::vector<std::uint8_t> copy_;  ///< per column of this batch: converted into the buffers
};

// ---- The DuckDB table function: descpipe_memory_table(row_column) ------------------------------
// Every column of the table (a VARCHAR for text), followed by the row number (BIGINT) named
// `row_column` unless it is ''. Single-threaded, rows in order, with projection pushdown.

struct ScanBind {
  const MemoryTable* table = nullptr;
  bool row_numbers = false;
};

struct ScanState {
  std::vector<idx_t> projected;  ///< output column k is table column projected[k] (n: row number)
  std::size_t next_row = 0;
};

void BindScan(duckdb_bind_info info) {
  const auto* table = static_cast<const MemoryTable*>(duckdb_bind_get_extra_info(info));
  duckdb_value parameter = duckdb_bind_get_parameter(info, 0);
  char* text = duckdb_get_varchar(parameter);
  const std::string row_column = text == nullptr ? std::string() : std::string(text);
  duckdb_free(text);
  duckdb_destroy_value(&parameter);
  for (const MemoryColumn& column : table->columns) {
    duckdb_logical_type type = duckdb_create_logical_type(InfoOf(column.type).duckdb);
    duckdb_bind_add_result_column(info, column.name.c_str(), type);
    duckdb_destroy_logical_type(&type);
  }
  auto* bind = new ScanBind{table, !row_column.empty()};
  if (bind->row_numbers) {
    duckdb_logical_type type = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_bind_add_result_column(info, row_column.c_str(), type);
    duckdb_destroy_logical_type(&type);
  }
  duckdb_bind_set_cardinality(info, table->n_rows, true);
  duckdb_bind_set_bind_data(info, bind, [](void* data) { delete static_cast<ScanBind*>(data); });
}

void InitScan(duckdb_init_info info) {
  auto* state = new ScanState;
  const idx_t n = duckdb_init_get_column_count(info);
  for (idx_t k = 0; k < n; ++k) state->projected.push_back(duckdb_init_get_column_index(info, k));
  duckdb_init_set_max_threads(info, 1);
  duckdb_init_set_init_data(info, state, [](void* data) { delete static_cast<ScanState*>(data); });
}

void Scan(duckdb_function_info info, duckdb_data_chunk output) {
  const auto* bind = static_cast<const ScanBind*>(duckdb_function_get_bind_data(info));
  auto* state = static_cast<ScanState*>(duckdb_function_get_init_data(info));
  const MemoryTable& table = *bind->table;
  const std::size_t first = state->next_row;
  const std::size_t n = std::min<std::size_t>(duckdb_vector_size(), table.n_rows - first);
  for (std::size_t k = 0; k < state->projected.size(); ++k) {
    duckdb_vector out = duckdb_data_chunk_get_vector(output, k);
    const idx_t index = state->projected[k];
    if (index >= table.columns.size()) {  // the row number
      auto* rows = static_cast<std::int64_t*>(duckdb_vector_get_data(out));
      for (std::size_t row = 0; row < n; ++row) rows[row] = static_cast<std::int64_t>(first + row);
      continue;
    }
    const MemoryColumn& column = table.columns[index];
    switch (column.type) {
      case MemoryType::kText: {
        const auto* texts = static_cast<const std::string*>(column.data) + first;
        for (std::size_t row = 0; row < n; ++row) {
          duckdb_vector_assign_string_element_len(out, row, texts[row].data(), texts[row].size());
        }
        break;
      }
      case MemoryType::kBool: {
        auto* values = static_cast<bool*>(duckdb_vector_get_data(out));
        const std::size_t stride = StrideOf(column);
        const auto* source = static_cast<const std::uint8_t*>(column.data) + first * stride;
        for (std::size_t row = 0; row < n; ++row) values[row] = source[row * stride] != 0;
        break;
      }
      default: {
        const std::size_t bytes = MemoryTypeBytes(column.type);
        const std::size_t stride = StrideOf(column);
        const char* source = static_cast<const char*>(column.data) + first * stride;
        auto* target = static_cast<char*>(duckdb_vector_get_data(out));
        if (stride == bytes) {
          std::memcpy(target, source, n * bytes);
        } else {
          for (std::size_t row = 0; row < n; ++row) {
            std::memcpy(target + row * bytes, source + row * stride, bytes);
          }
        }
      }
    }
    if (column.is_null != nullptr && std::memchr(column.is_null + first, 1, n) != nullptr) {
      duckdb_vector_ensure_validity_writable(out);
      std::uint64_t* validity = duckdb_vector_get_validity(out);
      for (std::size_t row = 0; row < n; ++row) {
        if (column.is_null[first + row]) duckdb_validity_set_row_invalid(validity, row);
      }
    }
  }
  state->next_row += n;
  duckdb_data_chunk_set_size(output, n);
}

/// A table in memory.
class MemorySource final : public ColumnSource {
 public:
  MemoryTable table_;
  using ColumnSource::column_types_;
  using ColumnSource::columns_;

  std::string Describe() const override { return fmt::format("in-memory table '{}'", table_.name); }
  const std::vector<InputFile>& files() const override {
    static const std::vector<InputFile> kNone;
    return kNone;
  }
  const MemoryTable* memory() const override { return &table_; }
  std::int64_t known_row_count() const override { return static_cast<std::int64_t>(table_.n_rows); }
  /// One partition, so that every statistic is computed as for one Parquet file of the same rows.
  std::vector<ScanPartition> Partitions() const override { return {ScanPartition{}}; }
  std::int64_t PartitionRows(const ScanPartition&) const override { return known_row_count(); }
  double LargestPartRows() const override { return static_cast<double>(table_.n_rows); }
  double ScanBufferBytes(double, double, double) const override { return 0.0; }
  bool PartHasColumn(std::size_t, const std::string&) const override { return true; }

  std::unique_ptr<BatchStream> Scan(const std::vector<std::string>& columns,
                                    const ScanPartition& partition,
                                    std::size_t batch_rows) const override {
    DESCPIPE_ASSERT(partition.file_idx < 0 && partition.first_global_row == 0);
    std::unordered_map<std::string, std::size_t> index;
    for (std::size_t c = 0; c < table_.columns.size(); ++c)
      index.emplace(table_.columns[c].name, c);
    std::vector<std::size_t> chosen;
    for (const std::string& name : columns) {
      const auto it = index.find(name);
      DESCPIPE_EXPECTS(it != index.end(), "column \"{}\" is not in {}", name, Describe());
      DESCPIPE_EXPECTS(table_.columns[it->second].type != MemoryType::kText,
                       "column \"{}\" of {} holds text: it cannot be read as numbers", name,
                       Describe());
      chosen.push_back(it->second);
    }
    return std::make_unique<MemoryBatchStream>(table_, std::move(chosen), batch_rows);
  }

  std::string Sql(const Connection& connection) const override {
    Register(connection);
    return fmt::format("{}('')", kFunctionName);
  }
  std::size_t SqlParts() const override { return 1; }
  std::string NumberedPartSql(const Connection& connection, std::size_t part,
                              const std::string& part_column, const std::string& row_column,
                              bool all_columns, bool& part_rows_in_order) const override {
    DESCPIPE_ASSERT(part == 0);
    Register(connection);
    part_rows_in_order = true;
    const std::string source = fmt::format("{}({})", kFunctionName, QuoteLiteral(row_column));
    if (all_columns) {
      return fmt::format("SELECT *, 0 AS {} FROM {}", QuoteIdentifier(part_column), source);
    }
    return fmt::format("SELECT 0 AS {}, {} FROM {}", QuoteIdentifier(part_column),
                       QuoteIdentifier(row_column), source);
  }
  std::string ReadErrorContext() const override { return "reading " + Describe(); }

 private:
  /// Registers the table function on `connection`, once per connection.
  void Register(const Connection& connection) const {
    duckdb_table_function function = duckdb_create_table_function();
    duckdb_table_function_set_name(function, kFunctionName);
    duckdb_logical_type text = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    duckdb_table_function_add_parameter(function, text);
    duckdb_destroy_logical_type(&text);
    duckdb_table_function_set_extra_info(function, const_cast<MemoryTable*>(&table_), nullptr);
    duckdb_table_function_set_bind(function, BindScan);
    duckdb_table_function_set_init(function, InitScan);
    duckdb_table_function_set_function(function, io::Scan);
    duckdb_table_function_supports_projection_pushdown(function, true);
    // A second registration on the same connection fails: the first one stays and is the same.
    duckdb_register_table_function(connection.handle(), function);
    duckdb_destroy_table_function(&function);
  }
};

}  // namespace

std::shared_ptr<ColumnSource> OpenMemorySource(MemoryTable table, const InputSpec& roles) {
  auto source = std::make_shared<MemorySource>();
  const std::string described = fmt::format("in-memory table '{}'", table.name);
  DESCPIPE_EXPECTS(!table.columns.empty(), "{} has no columns", described);
  DESCPIPE_EXPECTS(table.n_rows > 0, "{} has zero rows", described);
  std::unordered_map<std::string, std::string> by_lower;
  for (const MemoryColumn& column : table.columns) {
    DESCPIPE_EXPECTS(!column.name.empty(), "{} has a column with an empty name: name it",
                     described);
    DESCPIPE_EXPECTS(column.name.find_first_of("\r\n") == std::string::npos,
                     "{} has a column name with a line break (\"{}\"): rename it", described,
                     column.name);
    const auto [it, inserted] = by_lower.emplace(AsciiLower(column.name), column.name);
    DESCPIPE_EXPECTS(inserted || it->second != column.name,
                     "{} has more than one column named \"{}\"", described, column.name);
    DESCPIPE_EXPECTS(inserted,
                     "{} has columns \"{}\" and \"{}\", whose names differ only by case (DuckDB "
                     "matches column names case-insensitively): rename one",
                     described, it->second, column.name);
    DESCPIPE_EXPECTS(column.data != nullptr, "column \"{}\" of {} has no data", column.name,
                     described);
    DESCPIPE_EXPECTS(column.stride == 0 || (column.type != MemoryType::kText &&
                                            column.stride >= MemoryTypeBytes(column.type)),
                     "column \"{}\" of {} has a stride of {} bytes, less than one {} value or "
                     "on a text column",
                     column.name, described, column.stride, MemoryTypeName(column.type));
    const bool numeric = column.type != MemoryType::kText;
    source->columns_.push_back(
        {column.name, MemoryTypeName(column.type), numeric, ColumnRole::kIgnored});
    source->column_types_.push_back({MemoryTypeName(column.type)});
  }
  AssignRoles(source->columns_, roles,
              RoleNames{std::vector<std::string>(table.columns.size(), described), described,
                        described, described});
  source->table_ = std::move(table);
  return source;
}

}  // namespace io
}  // namespace descpipe
