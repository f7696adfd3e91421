// A table held in memory (Table::FromMemory, the column source a Python caller's DataFrame comes
// through) gives the same run as the same table read from Parquet: every output byte for byte,
// and run_manifest.json equal but for what names the input (its "inputs" and the fingerprints
// derived from them); Pass 0's sample holds the same rows in the same order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "descpipe/config.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/table.hpp"
#include "io/fingerprint.hpp"
#include "support/test_support.hpp"

namespace descpipe::testing {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

/// The buffers of an in-memory copy of a Parquet file, column by column in its own type.
struct Buffers {
  std::vector<std::vector<double>> doubles;
  std::vector<std::vector<float>> floats;
  std::vector<std::vector<std::int64_t>> int64s;
  std::vector<std::vector<std::int32_t>> int32s;
  std::vector<std::vector<std::uint8_t>> bools;
  std::vector<std::vector<std::string>> texts;
  std::vector<std::vector<std::uint8_t>> nulls;
};

/// Reads every column of `path` into memory: numeric columns through the library's reader (values
/// and NULLs), text columns through DuckDB. Integer and float columns keep their type, so that
/// the in-memory table converts them as DuckDB does.
MemoryTable LoadIntoMemory(const std::string& path, const Context& ctx) {
  InputSpec spec;
  spec.patterns = {path};
  const Table file = Table::Open(spec, ctx);
  auto buffers = std::make_shared<Buffers>();
  MemoryTable table;
  table.name = "nci";
  table.n_rows = static_cast<std::size_t>(file.known_row_count());
  // Reserve so that pointers into the vectors stay valid.
  const std::size_t n = file.columns().size();
  for (auto* v : {&buffers->bools, &buffers->nulls}) v->reserve(n);
  buffers->doubles.reserve(n);
  buffers->floats.reserve(n);
  buffers->int64s.reserve(n);
  buffers->int32s.reserve(n);
  buffers->texts.reserve(n);
  // Every numeric column in one scan.
  std::vector<std::string> numeric;
  for (const ColumnInfo& info : file.columns()) {
    if (info.numeric) numeric.push_back(info.name);
  }
  std::vector<std::vector<double>> read_values(numeric.size());
  std::vector<std::vector<std::uint8_t>> read_nulls(numeric.size());
  {
    ColumnReader reader(file, numeric, 1000);
    ColumnBatch batch;
    while (reader.Next(batch)) {
      for (std::size_t k = 0; k < numeric.size(); ++k) {
        read_values[k].insert(read_values[k].end(), batch.column(k),
                              batch.column(k) + batch.n_rows);
        read_nulls[k].insert(read_nulls[k].end(), batch.nulls(k), batch.nulls(k) + batch.n_rows);
      }
    }
  }
  std::size_t next_numeric = 0;
  for (const ColumnInfo& info : file.columns()) {
    MemoryColumn column;
    column.name = info.name;
    if (!info.numeric) {
      const std::string source =
          " FROM read_parquet(" + QuoteLiteral(path) + ", file_row_number = true)";
      EXPECT_EQ(QueryScalar("SELECT count(*)" + source + " WHERE " + QuoteIdentifier(info.name) +
                            " IS NULL"),
                "0");
      const std::string values =
          QueryScalar("SELECT string_agg(" + QuoteIdentifier(info.name) +
                      "::VARCHAR, chr(1) ORDER BY file_row_number)" + source);
      auto& texts = buffers->texts.emplace_back();
      std::size_t start = 0;
      while (true) {
        const std::size_t end = values.find('\x01', start);
        texts.push_back(values.substr(start, end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
      EXPECT_EQ(texts.size(), table.n_rows);
      column.type = MemoryType::kText;
      column.data = texts.data();
      table.columns.push_back(column);
      continue;
    }
    std::vector<double> values = std::move(read_values[next_numeric]);
    auto& nulls = buffers->nulls.emplace_back(std::move(read_nulls[next_numeric]));
    ++next_numeric;
    column.is_null = std::memchr(nulls.data(), 1, nulls.size()) ? nulls.data() : nullptr;
    // A DECIMAL reads as the DOUBLE DuckDB converts it to (a DataFrame holds it as float64).
    if (info.type == "DOUBLE" || info.type.rfind("DECIMAL", 0) == 0) {
      column.type = MemoryType::kFloat64;
      column.data = buffers->doubles.emplace_back(std::move(values)).data();
    } else if (info.type == "FLOAT") {
      column.type = MemoryType::kFloat32;
      column.data = buffers->floats.emplace_back(values.begin(), values.end()).data();
    } else if (info.type == "BIGINT") {
      column.type = MemoryType::kInt64;
      auto& ints = buffers->int64s.emplace_back(values.size());
      for (std::size_t r = 0; r < values.size(); ++r)
        ints[r] = nulls[r] ? 0 : static_cast<std::int64_t>(values[r]);
      column.data = ints.data();
    } else if (info.type == "INTEGER") {
      column.type = MemoryType::kInt32;
      auto& ints = buffers->int32s.emplace_back(values.size());
      for (std::size_t r = 0; r < values.size(); ++r)
        ints[r] = nulls[r] ? 0 : static_cast<std::int32_t>(values[r]);
      column.data = ints.data();
    } else if (info.type == "BOOLEAN") {
      column.type = MemoryType::kBool;
      auto& bools = buffers->bools.emplace_back(values.size());
      for (std::size_t r = 0; r < values.size(); ++r) bools[r] = values[r] != 0.0;
      column.data = bools.data();
    } else {
      ADD_FAILURE() << "column " << info.name << " has type " << info.type
                    << ", which this test does not copy";
    }
    table.columns.push_back(column);
  }
  table.owner = buffers;
  return table;
}

/// What names the input, or is not a result (times, memory, thread count).
void DropInputIdentity(Json& value) {
  if (value.is_object()) {
    for (const char* key : {"inputs", "fingerprint", "seconds", "peak_rss_bytes", "xxh3_64",
                            "size_bytes", "threads"}) {
      value.erase(key);
    }
    for (auto& [key, child] : value.items()) DropInputIdentity(child);
  } else if (value.is_array()) {
    for (auto& child : value) DropInputIdentity(child);
  }
}

/// Compares two output directories: every file but the checkpoints byte for byte, the manifest
/// without what identifies the input.
void ExpectSameOutputs(const std::string& from_file, const std::string& from_memory) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(from_file)) {
    if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
  }
  ASSERT_GT(names.size(), 5u);
  for (const auto& entry : fs::directory_iterator(from_memory)) {
    if (entry.is_regular_file()) {
      EXPECT_TRUE(fs::exists(fs::path(from_file) / entry.path().filename()))
          << entry.path() << " is written only for the table in memory";
    }
  }
  for (const std::string& name : names) {
    const fs::path other = fs::path(from_memory) / name;
    ASSERT_TRUE(fs::exists(other)) << name << " is not written for the table in memory";
    if (name == "run_manifest.json") {
      Json a = Json::parse(ReadFile(from_file + "/" + name));
      Json b = Json::parse(ReadFile(other));
      EXPECT_TRUE(a["inputs"].contains("files"));
      EXPECT_EQ(b["inputs"]["files"][0]["memory"], "nci");
      DropInputIdentity(a);
      DropInputIdentity(b);
      EXPECT_NE(a["config"]["output_dir"], b["config"]["output_dir"]);
      a["config"].erase("output_dir");
      b["config"].erase("output_dir");
      EXPECT_EQ(a.dump(1), b.dump(1));
    } else if (name == "sampled_data.parquet") {
      // The same rows in the same order; the column types are the table's in memory (this test
      // holds DECIMAL columns as float64, as a DataFrame would), so compare values.
      auto rows = [](const std::string& path) {
        return "SELECT * EXCLUDE (file_row_number), file_row_number FROM read_parquet(" +
               QuoteLiteral(path) + ", file_row_number = true)";
      };
      const std::string a = rows(from_file + "/" + name), b = rows(other.string());
      EXPECT_EQ(QueryScalar("SELECT count(*) FROM (" + a + ")"),
                QueryScalar("SELECT count(*) FROM (" + b + ")"));
      EXPECT_EQ(QueryScalar("SELECT count(*) FROM (" + a + " EXCEPT ALL " + b + ")"), "0");
      EXPECT_EQ(QueryScalar("SELECT count(*) FROM (" + b + " EXCEPT ALL " + a + ")"), "0");
    } else {
      EXPECT_TRUE(ReadFile(from_file + "/" + name) == ReadFile(other))
          << name << " differs between the Parquet file and the table in memory";
    }
  }
}

void CheckSameRun(const std::string& parquet, Config config) {
  TempDir dir;
  const Context ctx = MakeContext(config);
  RunOptions options;
  options.until = Stage::kPass4;
  options.quiet = true;

  config.inputs = {parquet};
  config.output_dir = dir / "from_file";
  const RunResult from_file = RunPipeline(config, options, ctx);

  MemoryTable memory = LoadIntoMemory(parquet, ctx);
  const double* first_double = nullptr;
  for (const MemoryColumn& column : memory.columns) {
    if (column.type == MemoryType::kFloat64 && first_double == nullptr)
      first_double = static_cast<const double*>(column.data);
  }
  config.inputs.clear();
  config.output_dir = dir / "from_memory";
  const Table table = Table::FromMemory(memory, config.ToInputSpec(), ctx);
  // The table is read where it lies: the Table refers to the caller's buffers.
  ASSERT_NE(first_double, nullptr);
  for (const MemoryColumn& column : table.memory()->columns) {
    if (column.type == MemoryType::kFloat64) {
      EXPECT_EQ(column.data, first_double);
      break;
    }
  }
  const RunResult from_memory = RunPipeline(table, config, options, ctx);
  EXPECT_EQ(from_file.final_columns, from_memory.final_columns);
  ASSERT_FALSE(from_memory.final_columns.empty());
  ExpectSameOutputs(dir / "from_file", dir / "from_memory");

  // The same table again: every pass is reused (the table's content is its fingerprint).
  const RunResult again = RunPipeline(table, config, options, ctx);
  for (const PassSummary& pass : again.passes) EXPECT_TRUE(pass.reused) << pass.name;
  EXPECT_EQ(again.final_columns, from_memory.final_columns);
}

TEST(InMemoryTable, RealTableGivesTheSameBytesAsParquet) {
  Config config;
  config.threads = 2;
  CheckSameRun(SharedTablePath(), config);
}

// Every pass away from its defaults, Pass 0's sample included (drawn from the table in memory by
// the same keyed hash as from the file), on a planted table with integer and text columns.
TEST(InMemoryTable, PlantedTableWithOptionsGivesTheSameBytesAsParquet) {
  TempDir dir;
  const std::string parquet = dir / "planted.parquet";
  const CliResult made = RunProgram(MakeDataPath(), {"3000", "200", parquet}, 120);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  Config config;
  for (const char* setting :
       {"metadata_columns=[mol_id, smiles]", "sample_rows=2500", "range_mode=iqr",
        "remove_binary=true", "spearman_missing=impute_median", "target_column=ind0000_normal",
        "vif_correlation=pearson", "vif_threshold=5", "nonlinear_max_rows=1500", "random_seed=7",
        "threads=2"}) {
    ApplyOverride(config, setting);
  }
  CheckSameRun(parquet, config);
}

TEST(InMemoryTable, BadTablesAreClearErrors) {
  const Context ctx(1);
  std::vector<double> values = {1, 2, 3};
  std::vector<std::string> texts = {"a", "b", "c"};
  auto make = [&](std::vector<MemoryColumn> columns, std::size_t rows = 3) {
    MemoryTable table;
    table.name = "df";
    table.n_rows = rows;
    table.columns = std::move(columns);
    return table;
  };
  const MemoryColumn x{"x", MemoryType::kFloat64, values.data(), nullptr};
  const MemoryColumn text{"id", MemoryType::kText, texts.data(), nullptr};
  auto message = [&](MemoryTable table, InputSpec roles = {}) {
    return MessageOf<InvalidInput>([&] { Table::FromMemory(std::move(table), roles, ctx); });
  };
  EXPECT_EQ(message(make({x, x})), "in-memory table 'df' has more than one column named \"x\"");
  EXPECT_EQ(message(make({x, {"X", MemoryType::kFloat64, values.data(), nullptr}})),
            "in-memory table 'df' has columns \"x\" and \"X\", whose names differ only by case "
            "(DuckDB matches column names case-insensitively): rename one");
  EXPECT_EQ(message(make({x}, 0)), "in-memory table 'df' has zero rows");
  EXPECT_EQ(
      message(make({text})),
      "in-memory table 'df' has no numeric descriptor column (1 columns, 1 of them metadata)");
  EXPECT_EQ(message(make({{"y", MemoryType::kInt64, nullptr, nullptr}})),
            "column \"y\" of in-memory table 'df' has no data");
  InputSpec roles;
  roles.descriptor_columns = {"id"};
  EXPECT_EQ(
      message(make({x, text}), roles),
      "column \"id\" in 'in-memory table 'df'' has type VARCHAR; descriptors must be numeric");
  roles.descriptor_columns = {"nope"};
  EXPECT_EQ(message(make({x, text}), roles),
            "column \"nope\" named in descriptor_columns is not in in-memory table 'df'");
  roles = {};
  roles.patterns = {"x.parquet"};
  EXPECT_EQ(message(make({x}), roles),
            "a table in memory is read with no input files (got 'x.parquet')");
}

// Columns of every numeric type read as DOUBLE, NULLs as NaN with their flag; float64 columns
// without NULLs are handed out where they lie.
TEST(InMemoryTable, ReaderConvertsEveryTypeAndPointsAtFloat64) {
  const Context ctx(1);
  const std::size_t n = 2500;
  std::vector<double> f64(n);
  std::vector<float> f32(n);
  std::vector<std::int64_t> i64(n);
  std::vector<std::uint16_t> u16(n);
  std::vector<std::uint8_t> flags(n), missing(n, 0);
  for (std::size_t r = 0; r < n; ++r) {
    f64[r] = 0.5 * static_cast<double>(r);
    f32[r] = static_cast<float>(r) + 0.25f;
    i64[r] = -static_cast<std::int64_t>(r) * 1000;
    u16[r] = static_cast<std::uint16_t>(r % 65536);
    flags[r] = r % 3 == 0;
  }
  missing[7] = missing[2400] = 1;
  MemoryTable memory;
  memory.n_rows = n;
  memory.columns = {{"f64", MemoryType::kFloat64, f64.data(), nullptr},
                    {"f32", MemoryType::kFloat32, f32.data(), nullptr},
                    {"i64", MemoryType::kInt64, i64.data(), missing.data()},
                    {"u16", MemoryType::kUInt16, u16.data(), nullptr},
                    {"flag", MemoryType::kBool, flags.data(), nullptr},
                    {"f64_missing", MemoryType::kFloat64, f64.data(), missing.data()}};
  const Table table = Table::FromMemory(memory, InputSpec{}, ctx);
  EXPECT_EQ(table.descriptor_names().size(), 6u);
  EXPECT_EQ(table.columns()[3].type, "USMALLINT");
  ColumnReader reader(table, table.descriptor_names(), 1024);
  ColumnBatch batch;
  std::size_t rows = 0;
  while (reader.Next(batch)) {
    EXPECT_EQ(batch.first_row, rows);
    EXPECT_EQ(batch.column(0), f64.data() + rows);  // not copied
    for (std::size_t r = 0; r < batch.n_rows; ++r) {
      const std::size_t row = rows + r;
      EXPECT_EQ(batch.column(1)[r], static_cast<double>(f32[row]));
      EXPECT_EQ(batch.column(3)[r], static_cast<double>(u16[row]));
      EXPECT_EQ(batch.column(4)[r], row % 3 == 0 ? 1.0 : 0.0);
      for (const std::size_t c : {std::size_t{2}, std::size_t{5}}) {
        EXPECT_EQ(batch.nulls(c)[r], missing[row]);
        if (missing[row]) {
          EXPECT_TRUE(std::isnan(batch.column(c)[r]));
        } else {
          EXPECT_EQ(batch.column(c)[r], c == 2 ? static_cast<double>(i64[row]) : f64[row]);
        }
      }
    }
    rows += batch.n_rows;
  }
  EXPECT_EQ(rows, n);
}

// Columns of a row-major matrix (a NumPy array's columns): strided, copied batch by batch into the
// same values as packed columns; a stride shorter than a value is an error.
TEST(InMemoryTable, StridedColumnsReadAsPacked) {
  const Context ctx(1);
  const std::size_t n = 2500;
  const std::size_t width = 3;
  std::vector<double> rows_major(n * width);
  std::vector<std::int32_t> ints(n * 2);
  std::vector<std::uint8_t> missing(n, 0);
  missing[10] = 1;
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t c = 0; c < width; ++c) {
      rows_major[r * width + c] = static_cast<double>(r * 10 + c) * 0.5;
    }
    ints[r * 2] = static_cast<std::int32_t>(r) - 7;
    ints[r * 2 + 1] = -1;
  }
  MemoryTable memory;
  memory.name = "matrix";
  memory.n_rows = n;
  for (std::size_t c = 0; c < width; ++c) {
    memory.columns.push_back({"c" + std::to_string(c), MemoryType::kFloat64, rows_major.data() + c,
                              c == 1 ? missing.data() : nullptr, width * sizeof(double)});
  }
  memory.columns.push_back(
      {"i", MemoryType::kInt32, ints.data(), nullptr, 2 * sizeof(std::int32_t)});
  const Table table = Table::FromMemory(memory, InputSpec{}, ctx);
  ColumnReader reader(table, table.descriptor_names(), 1000);
  ColumnBatch batch;
  std::size_t done = 0;
  while (reader.Next(batch)) {
    for (std::size_t r = 0; r < batch.n_rows; ++r) {
      const std::size_t row = done + r;
      for (std::size_t c = 0; c < width; ++c) {
        if (c == 1 && missing[row]) {
          EXPECT_TRUE(std::isnan(batch.column(c)[r]));
          EXPECT_EQ(batch.nulls(c)[r], 1);
        } else {
          EXPECT_EQ(batch.column(c)[r], rows_major[row * width + c]) << row << " " << c;
        }
      }
      EXPECT_EQ(batch.column(width)[r], static_cast<double>(ints[row * 2]));
    }
    done += batch.n_rows;
  }
  EXPECT_EQ(done, n);
  // The SQL side (Pass 0's sample, apply's export) reads the same values.
  TempDir dir;
  const std::string out = dir / "strided.parquet";
  EXPECT_EQ(WriteColumns(table, {"c0", "c1", "i"}, out, ctx), static_cast<std::int64_t>(n));
  const std::string source = "read_parquet(" + QuoteLiteral(out) + ", file_row_number = true)";
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + source +
                        " WHERE c0 <> file_row_number * 5.0 OR i <> file_row_number - 7 OR c1 IS "
                        "DISTINCT FROM CASE WHEN file_row_number = 10 THEN NULL ELSE "
                        "file_row_number * 5.0 + 0.5 END"),
            "0");

  memory.columns[0].stride = 4;
  EXPECT_EQ(MessageOf<InvalidInput>([&] { Table::FromMemory(memory, InputSpec{}, ctx); }),
            "column \"c0\" of in-memory table 'matrix' has a stride of 4 bytes, less than one "
            "DOUBLE value or on a text column");
}

// The SQL side of a table in memory (DuckDB reads it through a table function): apply's export
// writes its rows in order, with NULLs and text; the check for integers that DOUBLE merges sees
// them as in a file.
TEST(InMemoryTable, ExportAndMergedValuesGoThroughDuckDb) {
  const Context ctx(2);
  TempDir dir;
  const std::size_t n = 3000;  // more than one DuckDB vector
  std::vector<std::uint64_t> big(n);
  std::vector<double> x(n);
  std::vector<std::string> names(n);
  std::vector<std::uint8_t> missing(n, 0);
  for (std::size_t r = 0; r < n; ++r) {
    big[r] = (1ULL << 60) + r;  // distinct, but only n / 256 distinct DOUBLEs
    x[r] = static_cast<double>(r) / 7.0;
    names[r] = "m" + std::to_string(r);
  }
  missing[5] = 1;
  MemoryTable memory;
  memory.name = "df";
  memory.n_rows = n;
  memory.columns = {{"id", MemoryType::kText, names.data(), nullptr},
                    {"big", MemoryType::kUInt64, big.data(), nullptr},
                    {"x", MemoryType::kFloat64, x.data(), missing.data()}};
  const Table table = Table::FromMemory(memory, InputSpec{}, ctx);
  EXPECT_EQ(table.metadata_names(), std::vector<std::string>{"id"});

  const std::vector<std::string> warnings =
      WarnAboutMergedValues(table, {"big", "x"}, {std::ldexp(1.0, 60), 500.0}, ctx);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("column \"big\" of in-memory table 'df': 3000 distinct UBIGINT"),
            std::string::npos)
      << warnings[0];

  const std::string out = dir / "subset.parquet";
  EXPECT_EQ(WriteColumns(table, {"id", "x"}, out, ctx), static_cast<std::int64_t>(n));
  const std::string source = "read_parquet(" + QuoteLiteral(out) + ", file_row_number = true)";
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + source +
                        " WHERE id <> 'm' || file_row_number OR x IS DISTINCT FROM "
                        "CASE WHEN file_row_number = 5 THEN NULL ELSE file_row_number / 7.0 END"),
            "0");
}

}  // namespace
}  // namespace descpipe::testing
