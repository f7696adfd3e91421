// Table::Open (files, schema, column roles), ColumnReader (batches, NULL/NaN/inf, values) and
// WriteSample (Pass 0), on small Parquet and CSV files written by DuckDB from SQL.
#include "descpipe/table.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/error.hpp"
#include "io/column_source.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Contains;
using testing::Lines;
using testing::MessageOf;

namespace fs = std::filesystem;
using testing::ListDir;
using testing::QueryScalar;
using testing::ReadFile;
using testing::RunSql;
using testing::TempDir;
using testing::WriteFile;

/// Writes the result of `select` to `path` as Parquet.
void WriteParquet(const std::string& path, const std::string& select) {
  RunSql("COPY (" + select + ") TO " + QuoteLiteral(path) + " (FORMAT parquet)");
}

/// Writes the result of `select` to `path` as CSV with a header line.
void WriteCsv(const std::string& path, const std::string& select) {
  RunSql("COPY (" + select + ") TO " + QuoteLiteral(path) + " (FORMAT csv, HEADER true)");
}

InputSpec Spec(std::vector<std::string> patterns) {
  InputSpec spec;
  spec.patterns = std::move(patterns);
  return spec;
}

const ColumnInfo& Column(const Table& table, const std::string& name) {
  for (const auto& column : table.columns()) {
    if (column.name == name) return column;
  }
  throw std::runtime_error("no column " + name);
}

/// Everything a ColumnReader returns, per column, plus the shape of every batch.
struct ReadResult {
  std::vector<std::vector<double>> values;
  std::vector<std::vector<std::uint8_t>> nulls;
  std::vector<std::size_t> batch_rows;
  std::vector<std::uint64_t> first_rows;
  std::uint64_t rows_read = 0;
};

/// Drains `reader`, which streams `columns` in batches of `batch_rows`.
ReadResult Drain(ColumnReader& reader, const std::vector<std::string>& columns,
                 std::size_t batch_rows) {
  ReadResult result;
  result.values.resize(columns.size());
  result.nulls.resize(columns.size());
  ColumnBatch batch;
  while (reader.Next(batch)) {
    EXPECT_EQ(batch.n_columns, columns.size());
    EXPECT_EQ(batch.capacity, batch_rows);
    EXPECT_LE(batch.n_rows, batch_rows);
    result.batch_rows.push_back(batch.n_rows);
    result.first_rows.push_back(batch.first_row);
    for (std::size_t c = 0; c < columns.size(); ++c) {
      result.values[c].insert(result.values[c].end(), batch.column(c),
                              batch.column(c) + batch.n_rows);
      result.nulls[c].insert(result.nulls[c].end(), batch.nulls(c), batch.nulls(c) + batch.n_rows);
    }
  }
  EXPECT_FALSE(reader.Next(batch)) << "Next() after the end must stay false";
  result.rows_read = reader.rows_read();
  return result;
}

ReadResult ReadAll(const Table& table, const std::vector<std::string>& columns,
                   std::size_t batch_rows, std::size_t prefetch = 2) {
  ColumnReader reader(table, columns, batch_rows, prefetch);
  return Drain(reader, columns, batch_rows);
}

ReadResult ReadPartition(const Table& table, const std::vector<std::string>& columns,
                         const ScanPartition& partition, std::size_t batch_rows) {
  ColumnReader reader(table, columns, partition, batch_rows);
  return Drain(reader, columns, batch_rows);
}

/// Replaces every occurrence of `from` by `to` (same length) in a file: used to give two Parquet
/// columns the same name, which DuckDB itself refuses to write.
void PatchBytes(const std::string& path, const std::string& from, const std::string& to) {
  ASSERT_EQ(from.size(), to.size());
  std::string bytes = ReadFile(path);
  std::size_t count = 0;
  for (std::size_t pos = bytes.find(from); pos != std::string::npos; pos = bytes.find(from, pos)) {
    bytes.replace(pos, from.size(), to);
    ++count;
  }
  ASSERT_GT(count, 0u);
  WriteFile(path, bytes);
}

class TableTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ / name; }
  TempDir dir_;
  Context ctx_{1};
};

// ---- column roles
// ----------------------------------------------------------------------------------

TEST_F(TableTest, NonNumericColumnsAreMetadataByDefault) {
  const std::string path = Path("t.parquet");
  WriteParquet(path,
               "SELECT 'm' || range AS id, range * 0.5 AS a, 'CCO' AS smiles, range::INTEGER AS b "
               "FROM range(10)");
  const Table table = Table::Open(Spec({path}), ctx_);
  ASSERT_EQ(table.files().size(), 1u);
  EXPECT_EQ(table.files()[0].path, path);
  EXPECT_EQ(table.files()[0].row_count, 10);
  EXPECT_EQ(table.files()[0].size_bytes, fs::file_size(path));
  EXPECT_EQ(table.files().at(0).format, FileFormat::kParquet);
  EXPECT_EQ(table.known_row_count(), 10);
  ASSERT_EQ(table.columns().size(), 4u);
  EXPECT_EQ(table.columns()[0].name, "id");
  EXPECT_EQ(table.columns()[1].name, "a");
  EXPECT_EQ(table.columns()[2].name, "smiles");
  EXPECT_EQ(table.columns()[3].name, "b");
  EXPECT_EQ(table.metadata_names(), (std::vector<std::string>{"id", "smiles"}));
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Column(table, "id").role, ColumnRole::kMetadata);
  EXPECT_EQ(Column(table, "a").role, ColumnRole::kDescriptor);
  EXPECT_TRUE(Contains(table.Describe(), path));
}

TEST_F(TableTest, ExplicitMetadataColumns) {
  const std::string path = Path("t.parquet");
  WriteParquet(path,
               "SELECT 'm' || range AS id, range::INTEGER AS batch, range * 2.0 AS a, 'x' AS note, "
               "range * 3.0 AS b FROM range(10)");
  InputSpec spec = Spec({path});
  spec.metadata_columns = {"id", "batch"};
  const Table table = Table::Open(spec, ctx_);
  EXPECT_EQ(table.metadata_names(), (std::vector<std::string>{"id", "batch"}));
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"a", "b"}));
  // A non-numeric column that is not named as metadata is neither.
  EXPECT_EQ(Column(table, "note").role, ColumnRole::kIgnored);
}

TEST_F(TableTest, FirstNColumnsAreMetadata) {
  const std::string path = Path("t.parquet");
  WriteParquet(path,
               "SELECT 'm' || range AS id, range::INTEGER AS idx, range * 2.0 AS a, 'x' AS note, "
               "range * 3.0 AS b FROM range(10)");
  InputSpec spec = Spec({path});
  spec.n_metadata_cols = 2;
  Table table = Table::Open(spec, ctx_);
  EXPECT_EQ(table.metadata_names(), (std::vector<std::string>{"id", "idx"}));
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Column(table, "note").role, ColumnRole::kIgnored);

  spec.n_metadata_cols = 0;
  table = Table::Open(spec, ctx_);
  EXPECT_TRUE(table.metadata_names().empty());
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"idx", "a", "b"}));

  spec.n_metadata_cols = 6;
  const std::string message = MessageOf<InvalidInput>([&] { Table::Open(spec, ctx_); });
  EXPECT_TRUE(Contains(message, "n_metadata_cols = 6"));
  EXPECT_TRUE(Contains(message, "5 columns"));
}

TEST_F(TableTest, ExplicitDescriptorColumns) {
  const std::string path = Path("t.parquet");
  WriteParquet(path,
               "SELECT 'm' || range AS id, range * 1.0 AS a, range * 2.0 AS b, range * 3.0 AS c "
               "FROM range(10)");
  InputSpec spec = Spec({path});
  spec.descriptor_columns = {"c", "a"};
  const Table table = Table::Open(spec, ctx_);
  // Input order, not the order of the option.
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(table.metadata_names(), (std::vector<std::string>{"id"}));
  EXPECT_EQ(Column(table, "b").role, ColumnRole::kIgnored);
}

TEST_F(TableTest, BadColumnSelectionsNameTheColumnAndTheFile) {
  const std::string path = Path("t.parquet");
  WriteParquet(path,
               "SELECT 'm' || range AS id, range * 1.0 AS a, range * 2.0 AS b FROM range(10)");

  InputSpec missing_meta = Spec({path});
  missing_meta.metadata_columns = {"id", "nope"};
  std::string message = MessageOf<InvalidInput>([&] { Table::Open(missing_meta, ctx_); });
  EXPECT_TRUE(Contains(message, "\"nope\""));
  EXPECT_TRUE(Contains(message, "metadata_columns"));
  EXPECT_TRUE(Contains(message, path));

  InputSpec missing_descriptor = Spec({path});
  missing_descriptor.descriptor_columns = {"a", "MolWt"};
  message = MessageOf<InvalidInput>([&] { Table::Open(missing_descriptor, ctx_); });
  EXPECT_TRUE(Contains(message, "\"MolWt\""));
  EXPECT_TRUE(Contains(message, "descriptor_columns"));
  EXPECT_TRUE(Contains(message, path));

  InputSpec varchar_descriptor = Spec({path});
  varchar_descriptor.descriptor_columns = {"id"};
  message = MessageOf<InvalidInput>([&] { Table::Open(varchar_descriptor, ctx_); });
  EXPECT_TRUE(Contains(message, "\"id\""));
  EXPECT_TRUE(Contains(message, "VARCHAR"));
  EXPECT_TRUE(Contains(message, "numeric"));

  InputSpec twice = Spec({path});
  twice.descriptor_columns = {"a", "a"};
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { Table::Open(twice, ctx_); }), "twice"));

  InputSpec both = Spec({path});
  both.metadata_columns = {"id", "a"};
  both.descriptor_columns = {"a"};
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { Table::Open(both, ctx_); }),
                       "both as metadata and as a descriptor"));
}

TEST_F(TableTest, NoNumericColumnIsAnError) {
  const std::string path = Path("t.parquet");
  WriteParquet(path, "SELECT 'm' || range AS id, 'x' AS smiles FROM range(10)");
  const std::string message = MessageOf<InvalidInput>([&] { Table::Open(Spec({path}), ctx_); });
  EXPECT_TRUE(Contains(message, "no numeric descriptor"));
  EXPECT_TRUE(Contains(message, path));
}

// ---- types
// -----------------------------------------------------------------------------------------

TEST_F(TableTest, TypeClassification) {
  const std::string path = Path("types.parquet");
  WriteParquet(
      path,
      "SELECT 'x' AS s, 1::INTEGER AS i, 2::BIGINT AS b, 1.5::DOUBLE AS d, 2.5::FLOAT AS f, "
      "3.25::DECIMAL(10,2) AS dec, true AS bo, DATE '2020-01-01' AS dt, 1::TINYINT AS ti, "
      "1::SMALLINT AS si, 1::UBIGINT AS ub, TIMESTAMP '2020-01-01 10:00:00' AS ts");
  InputSpec spec = Spec({path});
  spec.metadata_columns = {"s"};
  const Table table = Table::Open(spec, ctx_);
  const std::vector<std::pair<std::string, std::string>> numeric = {
      {"i", "INTEGER"},  {"b", "BIGINT"},          {"d", "DOUBLE"},
      {"f", "FLOAT"},    {"dec", "DECIMAL(10,2)"}, {"bo", "BOOLEAN"},
      {"ti", "TINYINT"}, {"si", "SMALLINT"},       {"ub", "UBIGINT"}};
  for (const auto& [name, type] : numeric) {
    EXPECT_EQ(Column(table, name).type, type) << name;
    EXPECT_TRUE(Column(table, name).numeric) << name;
    EXPECT_EQ(Column(table, name).role, ColumnRole::kDescriptor) << name;
  }
  for (const char* name : {"s", "dt", "ts"}) {
    EXPECT_FALSE(Column(table, name).numeric) << name;
    EXPECT_NE(Column(table, name).role, ColumnRole::kDescriptor) << name;
  }
  EXPECT_EQ(Column(table, "s").type, "VARCHAR");
  EXPECT_EQ(Column(table, "dt").type, "DATE");
  EXPECT_EQ(table.descriptor_names(),
            (std::vector<std::string>{"i", "b", "d", "f", "dec", "bo", "ti", "si", "ub"}));
}

TEST_F(TableTest, ValuesEqualTheSource) {
  const std::string path = Path("values.parquet");
  WriteParquet(
      path,
      "SELECT * FROM (VALUES "
      "(1::INTEGER, 1099511627777::BIGINT, 0.1::FLOAT, 12.345::DECIMAL(10,3), true, 1e300::DOUBLE),"
      "(-7::INTEGER, -1::BIGINT, -2.5::FLOAT, -0.001::DECIMAL(10,3), false, -4.9e-324::DOUBLE)"
      ") t(i, b, f, dec, bo, d)");
  const Table table = Table::Open(Spec({path}), ctx_);
  const std::vector<std::string> columns = {"i", "b", "f", "dec", "bo", "d"};
  const ReadResult read = ReadAll(table, columns, 256);
  ASSERT_EQ(read.values[0].size(), 2u);
  EXPECT_EQ(read.values[0][0], 1.0);
  EXPECT_EQ(read.values[0][1], -7.0);
  EXPECT_EQ(read.values[1][0], 1099511627777.0);
  EXPECT_EQ(read.values[1][1], -1.0);
  EXPECT_EQ(read.values[2][0], static_cast<double>(0.1f));
  EXPECT_EQ(read.values[2][1], -2.5);
  EXPECT_DOUBLE_EQ(read.values[3][0], 12.345);
  EXPECT_DOUBLE_EQ(read.values[3][1], -0.001);
  EXPECT_EQ(read.values[4][0], 1.0);  // booleans read as 0/1
  EXPECT_EQ(read.values[4][1], 0.0);
  EXPECT_EQ(read.values[5][0], 1e300);
  EXPECT_EQ(read.values[5][1], -4.9e-324);
  for (const auto& nulls : read.nulls) {
    for (std::uint8_t flag : nulls) EXPECT_EQ(flag, 0);
  }
}

// ---- ColumnReader batches
// --------------------------------------------------------------------------

TEST_F(TableTest, BatchesHaveExactSizes) {
  const std::string path = Path("rows.parquet");
  WriteParquet(path, "SELECT range * 0.5 AS a, range::BIGINT AS b FROM range(5000)");
  const Table table = Table::Open(Spec({path}), ctx_);
  // 3000 spans DuckDB's 2048-row chunks; 300 and 1 cut them.
  for (const std::size_t batch_rows : {std::size_t{300}, std::size_t{3000}, std::size_t{1},
                                       std::size_t{5000}, std::size_t{8192}}) {
    const ReadResult read = ReadAll(table, {"b", "a"}, batch_rows);
    const std::size_t n_batches = (5000 + batch_rows - 1) / batch_rows;
    ASSERT_EQ(read.batch_rows.size(), n_batches) << batch_rows;
    for (std::size_t i = 0; i < n_batches; ++i) {
      EXPECT_EQ(read.batch_rows[i], i + 1 < n_batches ? batch_rows : 5000 - batch_rows * i);
      EXPECT_EQ(read.first_rows[i], i * batch_rows);
    }
    EXPECT_EQ(read.rows_read, 5000u);
    ASSERT_EQ(read.values[0].size(), 5000u);
    bool all_equal = true;
    for (std::size_t row = 0; row < 5000; ++row) {
      all_equal = all_equal && read.values[0][row] == static_cast<double>(row) &&
                  read.values[1][row] == 0.5 * static_cast<double>(row);
    }
    EXPECT_TRUE(all_equal) << "batch_rows " << batch_rows;
  }
}

TEST_F(TableTest, PrefetchDoesNotChangeBatchesOrValues) {
  const std::string first = Path("p1.parquet");
  const std::string second = Path("p2.parquet");
  RunSql("COPY (SELECT range * 1.0 AS a FROM range(6000)) TO " + QuoteLiteral(first) +
         " (FORMAT parquet, ROW_GROUP_SIZE 1000)");
  RunSql("COPY (SELECT (6000 + range) * 1.0 AS a FROM range(4000)) TO " + QuoteLiteral(second) +
         " (FORMAT parquet, ROW_GROUP_SIZE 1000)");
  const Table table = Table::Open(Spec({first, second}), ctx_);
  const ReadResult direct = ReadAll(table, {"a"}, 700, 0);
  ASSERT_EQ(direct.values[0].size(), 10000u);
  for (std::size_t row = 0; row < 10000; ++row) {
    ASSERT_EQ(direct.values[0][row], static_cast<double>(row)) << row;
  }
  for (const std::size_t prefetch : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    const ReadResult ahead = ReadAll(table, {"a"}, 700, prefetch);
    EXPECT_EQ(ahead.batch_rows, direct.batch_rows) << prefetch;
    EXPECT_EQ(ahead.first_rows, direct.first_rows) << prefetch;
    EXPECT_EQ(ahead.values, direct.values) << prefetch;
    EXPECT_EQ(ahead.rows_read, 10000u);
  }
}

TEST_F(TableTest, ReaderStoppedEarlyShutsDown) {
  WriteParquet(Path("rows.parquet"), "SELECT range * 1.0 AS a FROM range(20000)");
  const Table table = Table::Open(Spec({Path("rows.parquet")}), ctx_);
  ColumnBatch batch;
  {
    ColumnReader reader(table, {"a"}, 256, 2);
    ASSERT_TRUE(reader.Next(batch));
    EXPECT_EQ(reader.rows_read(), 256u);
  }  // the prefetching thread must stop here, not hang or crash
  EXPECT_EQ(batch.n_rows, 256u);
  EXPECT_EQ(batch.column(0)[255], 255.0);
}

TEST_F(TableTest, PartitionsCoverTheTableInOrder) {
  WriteParquet(Path("a.parquet"), "SELECT range * 1.0 AS x, range * 2.0 AS y FROM range(1500)");
  WriteParquet(Path("b.parquet"), "SELECT 1.0 AS x, 1.0 AS y FROM range(0)");
  WriteParquet(Path("c.parquet"), "SELECT (1500 + range) * 1.0 AS x FROM range(700)");  // no y
  InputSpec spec = Spec({Path("a.parquet"), Path("b.parquet"), Path("c.parquet")});
  spec.union_by_name = true;
  const Table table = Table::Open(spec, ctx_);
  const std::vector<ScanPartition> partitions = table.Partitions();
  ASSERT_EQ(partitions.size(), 3u);
  EXPECT_EQ(partitions[0].file_idx, 0);
  EXPECT_EQ(partitions[0].first_global_row, 0u);
  EXPECT_EQ(partitions[1].file_idx, 1);
  EXPECT_EQ(partitions[1].first_global_row, 1500u);
  EXPECT_EQ(partitions[2].file_idx, 2);
  EXPECT_EQ(partitions[2].first_global_row, 1500u);
  EXPECT_TRUE(table.source().PartHasColumn(0, "y"));
  EXPECT_FALSE(table.source().PartHasColumn(2, "y"));

  const ReadResult whole = ReadAll(table, {"x", "y"}, 512);
  ReadResult joined;
  joined.values.resize(2);
  joined.nulls.resize(2);
  for (const ScanPartition& partition : partitions) {
    const ReadResult part = ReadPartition(table, {"x", "y"}, partition, 512);
    if (!part.first_rows.empty()) {
      // Batches count from the partition's first row, in global row numbers.
      EXPECT_EQ(part.first_rows.front(), partition.first_global_row);
    }
    for (std::size_t c = 0; c < 2; ++c) {
      joined.values[c].insert(joined.values[c].end(), part.values[c].begin(), part.values[c].end());
      joined.nulls[c].insert(joined.nulls[c].end(), part.nulls[c].begin(), part.nulls[c].end());
    }
  }
  ASSERT_EQ(joined.values[0].size(), 2200u);
  EXPECT_EQ(joined.values[0], whole.values[0]);
  EXPECT_EQ(joined.nulls, whole.nulls);
  for (std::size_t row = 0; row < 2200; ++row) {
    ASSERT_EQ(joined.values[0][row], static_cast<double>(row));
    ASSERT_EQ(joined.nulls[1][row], row < 1500 ? 0 : 1) << row;  // y is missing from c.parquet
  }
}

TEST_F(TableTest, CsvIsOnePartition) {
  WriteCsv(Path("a.csv"), "SELECT range * 1.0 AS x FROM range(30)");
  WriteCsv(Path("b.csv"), "SELECT range * 1.0 AS x FROM range(20)");
  const Table table = Table::Open(Spec({Path("a.csv"), Path("b.csv")}), ctx_);
  const std::vector<ScanPartition> partitions = table.Partitions();
  ASSERT_EQ(partitions.size(), 1u);
  EXPECT_LT(partitions[0].file_idx, 0);
  const ReadResult read = ReadPartition(table, {"x"}, partitions[0], 16);
  EXPECT_EQ(read.rows_read, 50u);
  EXPECT_EQ(read.values[0][30], 0.0);
}

TEST_F(TableTest, ReadErrorsReachTheCaller) {
  // A CSV file rewritten after Table::Open typed its columns: row 25000 now holds text, which
  // DuckDB only meets while streaming (on the prefetching thread): Next() must throw, naming the
  // file.
  const std::string path = Path("late_text.csv");
  WriteCsv(path, "SELECT range AS a FROM range(30000)");
  const Table table = Table::Open(Spec({path}), ctx_);
  WriteCsv(
      path,
      "SELECT CASE WHEN range = 25000 THEN 'abc' ELSE range::VARCHAR END AS a FROM range(30000)");
  for (const std::size_t prefetch : {std::size_t{0}, std::size_t{2}}) {
    const std::string message = MessageOf<IoError>([&] { ReadAll(table, {"a"}, 1000, prefetch); });
    EXPECT_TRUE(Contains(message, path)) << prefetch;
    EXPECT_TRUE(Contains(message, "abc")) << prefetch;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST_F(TableTest, CsvTextAmongNumbersFollowsNonNumeric) {
  // "abc" on row 25000 (line 25002), after the rows DuckDB's sniffer looks at; "NA" is missing.
  const std::string path = Path("late_text.csv");
  WriteCsv(path,
           "SELECT CASE WHEN range = 25000 THEN 'abc' WHEN range = 3 THEN 'NA' ELSE "
           "range::VARCHAR END AS a, range % 7 AS b FROM range(30000)");
  InputSpec spec = Spec({path});
  const std::string message = MessageOf<InvalidInput>([&] { Table::Open(spec, ctx_); });
  for (const std::string part : {path, std::string("\"a\""), std::string("\"abc\" on line 25002"),
                                 std::string("non_numeric")}) {
    EXPECT_TRUE(Contains(message, part)) << part << " not in: " << message;
  }
  spec.non_numeric = NonNumericPolicy::kMissing;
  const Table missing = Table::Open(spec, ctx_);
  EXPECT_EQ(missing.descriptor_names(), (std::vector<std::string>{"a", "b"}));
  const ReadResult read = ReadAll(missing, {"a"}, 1000);
  ASSERT_EQ(read.values[0].size(), 30000u);
  for (std::size_t row = 0; row < 30000; ++row) {
    const bool is_missing = row == 3 || row == 25000;
    ASSERT_EQ(read.nulls[0][row], is_missing ? 1 : 0) << row;
    if (!is_missing) ASSERT_EQ(read.values[0][row], static_cast<double>(row)) << row;
  }
  spec.non_numeric = NonNumericPolicy::kMetadata;
  const Table metadata = Table::Open(spec, ctx_);
  EXPECT_EQ(metadata.metadata_names(), (std::vector<std::string>{"a"}));
  EXPECT_EQ(metadata.descriptor_names(), (std::vector<std::string>{"b"}));
  // Named as metadata, the column is not checked.
  spec.non_numeric = NonNumericPolicy::kError;
  spec.metadata_columns = {"a"};
  EXPECT_EQ(Table::Open(spec, ctx_).descriptor_names(), (std::vector<std::string>{"b"}));
}

TEST_F(TableTest, OutputFormatFromTheExtension) {
  EXPECT_EQ(OutputFormatOf("a/x.parquet"), OutputFormat::kParquet);
  EXPECT_EQ(OutputFormatOf("x.PQ"), OutputFormat::kParquet);
  EXPECT_EQ(OutputFormatOf("x.parq"), OutputFormat::kParquet);
  EXPECT_EQ(OutputFormatOf("x.csv"), OutputFormat::kCsv);
  EXPECT_EQ(OutputFormatOf("dir.parquet/x.Csv"), OutputFormat::kCsv);
  EXPECT_EQ(OutputFormatOf("x.csv.gz"), OutputFormat::kCsvGzip);
  for (const std::string path :
       {"x.txt", "x.gz", "x.tsv", "csv", ".csv", "x.csv/", "x.parquet.tmp"}) {
    const std::string message = MessageOf<InvalidInput>([&] { OutputFormatOf(path); });
    EXPECT_TRUE(Contains(message, ".csv.gz")) << path << ": " << message;
  }
}

TEST_F(TableTest, NullNanAndInfinity) {
  const std::string path = Path("special.parquet");
  WriteParquet(path,
               "SELECT * FROM (VALUES (1.0, 10::INTEGER), (NULL, NULL), ('nan'::DOUBLE, 3), "
               "('inf'::DOUBLE, 4), ('-inf'::DOUBLE, NULL), (6.0, 6)) t(x, k)");
  const Table table = Table::Open(Spec({path}), ctx_);
  const ReadResult read = ReadAll(table, {"x", "k"}, 4);
  ASSERT_EQ(read.values[0].size(), 6u);
  const auto& x = read.values[0];
  const auto& x_null = read.nulls[0];
  EXPECT_EQ(x[0], 1.0);
  EXPECT_EQ(x_null[0], 0);
  EXPECT_EQ(x_null[1], 1);
  EXPECT_TRUE(std::isnan(x[1]));  // SQL NULL reads as NaN with is_null = 1
  EXPECT_TRUE(std::isnan(x[2]));
  EXPECT_EQ(x_null[2], 0);  // a stored NaN is not NULL
  EXPECT_EQ(x[3], std::numeric_limits<double>::infinity());
  EXPECT_EQ(x_null[3], 0);
  EXPECT_EQ(x[4], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(x_null[4], 0);
  EXPECT_EQ(x[5], 6.0);
  const std::vector<std::uint8_t> k_nulls = {0, 1, 0, 0, 1, 0};
  EXPECT_EQ(read.nulls[1], k_nulls);
  EXPECT_EQ(read.values[1][0], 10.0);
  EXPECT_TRUE(std::isnan(read.values[1][4]));
  EXPECT_EQ(read.values[1][5], 6.0);
}

TEST_F(TableTest, NullsAcrossChunkBoundaries) {
  const std::string path = Path("nulls.parquet");
  WriteParquet(
      path, "SELECT CASE WHEN range % 7 = 3 THEN NULL ELSE range * 1.0 END AS x FROM range(5000)");
  const Table table = Table::Open(Spec({path}), ctx_);
  const ReadResult read = ReadAll(table, {"x"}, 1500);
  ASSERT_EQ(read.values[0].size(), 5000u);
  std::size_t wrong = 0;
  for (std::size_t row = 0; row < 5000; ++row) {
    const bool null = row % 7 == 3;
    if (read.nulls[0][row] != (null ? 1 : 0)) ++wrong;
    if (!null && read.values[0][row] != static_cast<double>(row)) ++wrong;
    if (null && !std::isnan(read.values[0][row])) ++wrong;
  }
  EXPECT_EQ(wrong, 0u);
}

// ---- files, globs and directories
// ------------------------------------------------------------------

TEST_F(TableTest, GlobMatchesFilesInSortedOrder) {
  fs::create_directories(Path("data"));
  WriteParquet(Path("data/part-2.parquet"), "SELECT range * 1.0 AS a FROM range(2)");
  WriteParquet(Path("data/part-10.parquet"), "SELECT range * 1.0 AS a FROM range(3)");
  WriteParquet(Path("data/part-1.parquet"), "SELECT range * 1.0 AS a FROM range(2)");
  WriteFile(Path("data/notes.txt"), "not data");
  const Table table = Table::Open(Spec({Path("data/part-*.parquet")}), ctx_);
  ASSERT_EQ(table.files().size(), 3u);
  EXPECT_EQ(table.files()[0].path, Path("data/part-1.parquet"));
  EXPECT_EQ(table.files()[1].path, Path("data/part-10.parquet"));
  EXPECT_EQ(table.files()[2].path, Path("data/part-2.parquet"));
  EXPECT_EQ(table.known_row_count(), 7);
  EXPECT_TRUE(Contains(table.Describe(), "3 Parquet files"));

  const std::string message =
      MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("data/*.nothing.parquet")}), ctx_); });
  EXPECT_TRUE(Contains(message, "no file matches"));
  EXPECT_TRUE(Contains(message, Path("data/*.nothing.parquet")));
}

TEST_F(TableTest, DirectoryIsReadRecursively) {
  fs::create_directories(Path("data/sub"));
  WriteParquet(Path("data/b.parquet"), "SELECT range * 1.0 AS a FROM range(4)");
  WriteParquet(Path("data/sub/c.parquet"), "SELECT range * 1.0 AS a FROM range(5)");
  WriteParquet(Path("data/a.parquet"), "SELECT range * 1.0 AS a FROM range(3)");
  WriteFile(Path("data/README.md"), "ignored");
  const Table table = Table::Open(Spec({Path("data")}), ctx_);
  ASSERT_EQ(table.files().size(), 3u);
  EXPECT_EQ(table.files()[0].path, Path("data/a.parquet"));
  EXPECT_EQ(table.files()[1].path, Path("data/b.parquet"));
  EXPECT_EQ(table.files()[2].path, Path("data/sub/c.parquet"));
  EXPECT_EQ(table.known_row_count(), 12);

  fs::create_directories(Path("empty"));
  WriteFile(Path("empty/notes.txt"), "x");
  const std::string message =
      MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("empty")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("empty")));
  EXPECT_TRUE(Contains(message, "no .parquet or .csv"));
}

TEST_F(TableTest, SameFileNamedTwiceIsReadOnce) {
  WriteParquet(Path("a.parquet"), "SELECT range * 1.0 AS a FROM range(4)");
  const Table table = Table::Open(Spec({Path("a.parquet"), Path("*.parquet")}), ctx_);
  EXPECT_EQ(table.files().size(), 1u);
  EXPECT_EQ(table.known_row_count(), 4);
}

TEST_F(TableTest, PathProblems) {
  std::string message =
      MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("absent.parquet")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("absent.parquet")));
  EXPECT_TRUE(Contains(message, "does not exist"));

  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { Table::Open(Spec({}), ctx_); }), "no input"));

  WriteFile(Path("data.txt"), "a\n1\n");
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("data.txt")}), ctx_); });
  EXPECT_TRUE(Contains(message, "cannot tell the format"));

  WriteParquet(Path("a.parquet"), "SELECT range * 1.0 AS a FROM range(4)");
  WriteCsv(Path("b.csv"), "SELECT range * 1.0 AS a FROM range(4)");
  message = MessageOf<InvalidInput>([&] {
    Table::Open(Spec({Path("a.parquet"), Path("b.csv")}), ctx_);
  });
  EXPECT_TRUE(Contains(message, "mix Parquet and CSV"));
}

TEST_F(TableTest, GarbageAndTruncatedParquetNameTheFile) {
  WriteFile(Path("garbage.parquet"), "this is not a parquet file at all");
  std::string message = MessageOf([&] { Table::Open(Spec({Path("garbage.parquet")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("garbage.parquet")));
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;

  WriteParquet(Path("full.parquet"), "SELECT range * 1.0 AS a, range * 2.0 AS b FROM range(2000)");
  const std::string bytes = ReadFile(Path("full.parquet"));
  WriteFile(Path("half.parquet"), bytes.substr(0, bytes.size() / 2));
  message = MessageOf([&] { Table::Open(Spec({Path("half.parquet")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("half.parquet")));
}

// ---- several files -----------------------------------------------------------------------------

TEST_F(TableTest, FilesAreMatchedByColumnName) {
  const std::string first = Path("f1.parquet");
  const std::string second = Path("f2.parquet");
  WriteParquet(first,
               "SELECT 'a' || range AS id, range::INTEGER AS x, range * 10.0 AS y FROM range(100)");
  // Other column order and another numeric type for x.
  WriteParquet(
      second,
      "SELECT range * 10.0 + 5 AS y, 'b' || range AS id, (1000 + range) * 1.0 AS x FROM range(50)");
  const Table table = Table::Open(Spec({first, second}), ctx_);
  ASSERT_EQ(table.columns().size(), 3u);
  EXPECT_EQ(table.columns()[0].name, "id");
  EXPECT_EQ(table.columns()[1].name, "x");
  EXPECT_EQ(table.columns()[2].name, "y");
  EXPECT_EQ(Column(table, "x").type, "DOUBLE");  // INTEGER + DOUBLE
  EXPECT_EQ(table.known_row_count(), 150);
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"x", "y"}));

  const ReadResult read = ReadAll(table, {"y", "x"}, 64);
  ASSERT_EQ(read.values[0].size(), 150u);
  std::size_t wrong = 0;
  for (std::size_t row = 0; row < 150; ++row) {
    const double r = static_cast<double>(row < 100 ? row : row - 100);
    const double x = row < 100 ? r : 1000 + r;
    const double y = row < 100 ? 10 * r : 10 * r + 5;
    if (read.values[0][row] != y || read.values[1][row] != x) ++wrong;
  }
  EXPECT_EQ(wrong, 0u);
}

TEST_F(TableTest, FilesAreReadInTheOrderGiven) {
  WriteParquet(Path("a.parquet"), "SELECT 1.0 AS v FROM range(3)");
  WriteParquet(Path("b.parquet"), "SELECT 2.0 AS v FROM range(2)");
  const Table table = Table::Open(Spec({Path("b.parquet"), Path("a.parquet")}), ctx_);
  const ReadResult read = ReadAll(table, {"v"}, 16);
  EXPECT_EQ(read.values[0], (std::vector<double>{2, 2, 1, 1, 1}));
}

TEST_F(TableTest, ColumnMissingFromOneFile) {
  const std::string first = Path("f1.parquet");
  const std::string second = Path("f2.parquet");
  WriteParquet(first,
               "SELECT 'a' || range AS id, range * 1.0 AS x, range * 2.0 AS y FROM range(4)");
  WriteParquet(second, "SELECT 'b' || range AS id, range * 1.0 AS x FROM range(3)");
  const std::string message = MessageOf<InvalidInput>([&] {
    Table::Open(Spec({first, second}), ctx_);
  });
  EXPECT_TRUE(Contains(message, "\"y\""));
  EXPECT_TRUE(Contains(message, second));
  EXPECT_TRUE(Contains(message, "union_by_name"));

  InputSpec spec = Spec({first, second});
  spec.union_by_name = true;
  const Table table = Table::Open(spec, ctx_);
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"x", "y"}));
  const ReadResult read = ReadAll(table, {"y"}, 16);
  EXPECT_EQ(read.nulls[0], (std::vector<std::uint8_t>{0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(read.values[0][3], 6.0);
}

TEST_F(TableTest, IgnoredColumnMayBeMissingFromSomeFiles) {
  WriteParquet(Path("f1.parquet"),
               "SELECT 'a' || range AS id, 'n' AS note, range * 1.0 AS x FROM range(4)");
  WriteParquet(Path("f2.parquet"), "SELECT 'b' || range AS id, range * 1.0 AS x FROM range(3)");
  InputSpec spec = Spec({Path("f1.parquet"), Path("f2.parquet")});
  spec.metadata_columns = {"id"};
  const Table table = Table::Open(spec, ctx_);  // "note" is not used: no error
  EXPECT_EQ(Column(table, "note").role, ColumnRole::kIgnored);
  EXPECT_EQ(ReadAll(table, {"x"}, 16).values[0].size(), 7u);
}

TEST_F(TableTest, NumericInOneFileTextInAnotherIsAnError) {
  WriteParquet(Path("f1.parquet"), "SELECT range * 1.0 AS x FROM range(4)");
  WriteParquet(Path("f2.parquet"), "SELECT 'text' AS x FROM range(3)");
  const std::string message = MessageOf<InvalidInput>([&] {
    Table::Open(Spec({Path("f1.parquet"), Path("f2.parquet")}), ctx_);
  });
  EXPECT_TRUE(Contains(message, "\"x\""));
  EXPECT_TRUE(Contains(message, Path("f1.parquet")));
  EXPECT_TRUE(Contains(message, Path("f2.parquet")));
  EXPECT_TRUE(Contains(message, "VARCHAR"));
}

// ---- awkward column names
// ------------------------------------------------------------------------

TEST_F(TableTest, AwkwardColumnNamesWorkEndToEnd) {
  const std::vector<std::string> names = {"a b",    "q\"uote", "it's", "Δμ_ñ",
                                          "select", "from",    "x,y",  "MolWt"};
  std::string select = "SELECT 'm' || range AS " + QuoteIdentifier("my id");
  for (std::size_t i = 0; i < names.size(); ++i) {
    select += ", (range * " + std::to_string(i + 1) + ")::DOUBLE AS " + QuoteIdentifier(names[i]);
  }
  const std::string path = Path("names.parquet");
  WriteParquet(path, select + " FROM range(20)");

  Table table = Table::Open(Spec({path}), ctx_);
  EXPECT_EQ(table.metadata_names(), (std::vector<std::string>{"my id"}));
  EXPECT_EQ(table.descriptor_names(), names);
  const ReadResult read = ReadAll(table, names, 8);
  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_EQ(read.values[i].size(), 20u) << names[i];
    EXPECT_EQ(read.values[i][19], 19.0 * static_cast<double>(i + 1)) << names[i];
  }

  InputSpec spec = Spec({path});
  spec.metadata_columns = {"my id"};
  spec.descriptor_columns = {"select", "it's", "q\"uote"};
  table = Table::Open(spec, ctx_);
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"q\"uote", "it's", "select"}));
}

TEST(Quoting, IdentifiersAndLiterals) {
  EXPECT_EQ(QuoteIdentifier("a"), "\"a\"");
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteIdentifier("it's"), "\"it's\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("a\"b"), "'a\"b'");
  EXPECT_EQ(QueryScalar("SELECT " + QuoteLiteral("x'y''z") + " AS " + QuoteIdentifier("from")),
            "x'y''z");
}

// ---- CSV ---------------------------------------------------------------------------------------

TEST_F(TableTest, CsvInput) {
  const std::string path = Path("t.csv");
  WriteCsv(
      path,
      "SELECT 'm' || range AS id, range * 0.25 AS a, CASE WHEN range % 3 = 0 THEN NULL ELSE range "
      "END AS b FROM range(12)");
  const Table table = Table::Open(Spec({path}), ctx_);
  EXPECT_EQ(table.files().at(0).format, FileFormat::kCsv);
  EXPECT_EQ(table.files()[0].row_count, -1);
  EXPECT_EQ(table.known_row_count(), -1);
  EXPECT_EQ(table.metadata_names(), (std::vector<std::string>{"id"}));
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"a", "b"}));
  const ReadResult read = ReadAll(table, {"a", "b"}, 5);
  EXPECT_EQ(read.batch_rows, (std::vector<std::size_t>{5, 5, 2}));
  ASSERT_EQ(read.values[0].size(), 12u);
  for (std::size_t row = 0; row < 12; ++row) {
    EXPECT_EQ(read.values[0][row], 0.25 * static_cast<double>(row));
    EXPECT_EQ(read.nulls[1][row], row % 3 == 0 ? 1 : 0) << row;
    if (row % 3 != 0) EXPECT_EQ(read.values[1][row], static_cast<double>(row));
  }
}

TEST_F(TableTest, SeveralCsvFilesByColumnName) {
  WriteCsv(Path("a.csv"),
           "SELECT 'a' || range AS id, range * 1.0 AS x, range * 2.0 AS y FROM range(3)");
  WriteCsv(Path("b.csv"),
           "SELECT range * 20.0 AS y, 'b' || range AS id, range * 10.0 AS x FROM range(2)");
  const Table table = Table::Open(Spec({Path("*.csv")}), ctx_);
  EXPECT_EQ(table.files().size(), 2u);
  const ReadResult read = ReadAll(table, {"x", "y"}, 16);
  EXPECT_EQ(read.values[0], (std::vector<double>{0, 1, 2, 0, 10}));
  EXPECT_EQ(read.values[1], (std::vector<double>{0, 2, 4, 0, 20}));
}

// ---- zero rows and duplicate names -------------------------------------------------------------

TEST_F(TableTest, ZeroRowsIsAnError) {
  WriteParquet(Path("empty.parquet"), "SELECT 'x' AS id, 1.0 AS a FROM range(0)");
  std::string message =
      MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("empty.parquet")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("empty.parquet")));
  EXPECT_TRUE(Contains(message, "zero rows"));

  WriteFile(Path("header.csv"), "id,a,b\n");
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("header.csv")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("header.csv")));
  EXPECT_TRUE(Contains(message, "zero rows"));
}

TEST_F(TableTest, EmptyParquetAmongOthersIsFine) {
  WriteParquet(Path("a.parquet"), "SELECT 1.0 AS a FROM range(0)");
  WriteParquet(Path("b.parquet"), "SELECT range * 1.0 AS a FROM range(3)");
  const Table table = Table::Open(Spec({Path("a.parquet"), Path("b.parquet")}), ctx_);
  EXPECT_EQ(table.known_row_count(), 3);
  EXPECT_EQ(ReadAll(table, {"a"}, 16).values[0], (std::vector<double>{0, 1, 2}));
}

TEST_F(TableTest, DuckDbRenamesDuplicateAliasesWhenWriting) {
  // DuckDB does not write duplicate names: it renames the second "a" to "a_1". Such a file is
  // valid input with two distinct columns.
  WriteParquet(Path("dup.parquet"), "SELECT range * 1.0 AS a, range * 2.0 AS a FROM range(5)");
  const Table table = Table::Open(Spec({Path("dup.parquet")}), ctx_);
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"a", "a_1"}));
}

TEST_F(TableTest, DuplicateColumnNamesAreAnError) {
  const std::string parquet = Path("dup.parquet");
  WriteParquet(
      parquet,
      "SELECT 'm' || range AS id, range * 1.0 AS dupcolX1, range * 2.0 AS dupcolX2 FROM range(5)");
  PatchBytes(parquet, "dupcolX2", "dupcolX1");
  std::string message = MessageOf<InvalidInput>([&] { Table::Open(Spec({parquet}), ctx_); });
  EXPECT_TRUE(Contains(message, parquet));
  EXPECT_TRUE(Contains(message, "more than one column named \"dupcolX1\""));

  const std::string csv = Path("dup.csv");
  WriteFile(csv, "id,a,b,a\nx,1,2,3\ny,4,5,6\n");
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({csv}), ctx_); });
  EXPECT_TRUE(Contains(message, csv));
  EXPECT_TRUE(Contains(message, "more than one column named \"a\""));
}

// ---- WriteSample (Pass 0) ----------------------------------------------------------------------

class SampleTest : public TableTest {
 protected:
  void SetUp() override {
    // Four files of different sizes; seq is the global row index, id names file and row.
    const std::vector<int> sizes = {250, 300, 200, 10};
    int offset = 0;
    for (std::size_t f = 0; f < sizes.size(); ++f) {
      const std::string path = Path("in/part-" + std::to_string(f) + ".parquet");
      fs::create_directories(Path("in"));
      WriteParquet(
          path, "SELECT 'f" + std::to_string(f) + "_' || range AS id, (" + std::to_string(offset) +
                    " + range)::BIGINT AS seq, sin(range * 1.3 + " + std::to_string(f) +
                    ") AS a, 'L' || (range % 3) AS label, (range % 5)::INTEGER AS g FROM range(" +
                    std::to_string(sizes[f]) + ")");
      offset += sizes[f];
    }
    total_rows_ = offset;
    table_ = std::make_unique<Table>(Table::Open(Spec({Path("in")}), ctx_));
  }

  /// Every row of a sample file in file order, as "id:seq:a:label:g;...".
  static std::string Content(const std::string& path) {
    return QueryScalar(
        "SELECT string_agg(id || ':' || seq || ':' || a || ':' || label || ':' || g, ';' ORDER BY "
        "file_row_number) FROM read_parquet(" +
        QuoteLiteral(path) + ", file_row_number = true)");
  }
  static std::int64_t Rows(const std::string& path) {
    return std::stoll(QueryScalar("SELECT count(*) FROM read_parquet(" + QuoteLiteral(path) + ")"));
  }

  std::unique_ptr<Table> table_;
  int total_rows_ = 0;
};

TEST_F(SampleTest, SameSeedGivesTheSameFile) {
  const SampleSpec spec{50, 0, 7};
  EXPECT_EQ(WriteSample(*table_, spec, Path("s1.parquet"), ctx_), 50);
  EXPECT_EQ(WriteSample(*table_, spec, Path("s2.parquet"), ctx_), 50);
  EXPECT_EQ(Rows(Path("s1.parquet")), 50);
  const std::string content = Content(Path("s1.parquet"));
  EXPECT_FALSE(content.empty());
  EXPECT_EQ(content, Content(Path("s2.parquet")));
}

TEST_F(SampleTest, ThreadCountDoesNotChangeTheRows) {
  const SampleSpec spec{80, 0, 11};
  WriteSample(*table_, spec, Path("t1.parquet"), Context(1, 3));
  WriteSample(*table_, spec, Path("t2.parquet"), Context(2, 99));
  EXPECT_EQ(Content(Path("t1.parquet")), Content(Path("t2.parquet")));

  const SampleSpec per_file{0, 15, 11};
  WriteSample(*table_, per_file, Path("p1.parquet"), Context(1));
  WriteSample(*table_, per_file, Path("p2.parquet"), Context(2));
  EXPECT_EQ(Content(Path("p1.parquet")), Content(Path("p2.parquet")));
}

TEST_F(SampleTest, RowsAreThoseWithTheSmallestKeys) {
  // Reference: a top-N over (hash(seed, file, row), file, row), the definition in sampler.cpp.
  auto keyed = [&](std::uint64_t seed) {
    std::string sql;
    for (int f = 0; f < 4; ++f) {
      if (f > 0) sql += " UNION ALL ";
      sql += "SELECT id, " + std::to_string(f) + " AS f, file_row_number AS r, hash(" +
             std::to_string(seed) + "::UBIGINT, " + std::to_string(f) +
             ", file_row_number) AS k FROM read_parquet(" +
             QuoteLiteral(Path("in/part-" + std::to_string(f) + ".parquet")) +
             ", file_row_number = true)";
    }
    return sql;
  };
  auto ids = [](const std::string& path) {
    return QueryScalar("SELECT string_agg(id, ',' ORDER BY file_row_number) FROM read_parquet(" +
                       QuoteLiteral(path) + ", file_row_number = true)");
  };
  WriteSample(*table_, SampleSpec{70, 0, 5}, Path("r.parquet"), ctx_);
  EXPECT_EQ(ids(Path("r.parquet")),
            QueryScalar("SELECT string_agg(id, ',' ORDER BY f, r) FROM (SELECT * FROM (" +
                        keyed(5) + ") ORDER BY k, f, r LIMIT 70)"));
  WriteSample(*table_, SampleSpec{0, 12, 5}, Path("f.parquet"), ctx_);
  EXPECT_EQ(ids(Path("f.parquet")), QueryScalar("SELECT string_agg(id, ',' ORDER BY f, r) FROM "
                                                "(SELECT *, row_number() OVER (PARTITION BY f "
                                                "ORDER BY k, r) AS n FROM (" +
                                                keyed(5) + ")) WHERE n <= 12"));
  // More rows asked than there are: every row, in input order.
  EXPECT_EQ(WriteSample(*table_, SampleSpec{10000, 0, 5}, Path("all.parquet"), ctx_), total_rows_);
  EXPECT_EQ(ids(Path("all.parquet")),
            QueryScalar("SELECT string_agg(id, ',' ORDER BY f, r) FROM (" + keyed(5) + ")"));
}

TEST_F(SampleTest, SeedChangesTheRows) {
  WriteSample(*table_, SampleSpec{50, 0, 7}, Path("a.parquet"), ctx_);
  WriteSample(*table_, SampleSpec{50, 0, 8}, Path("b.parquet"), ctx_);
  EXPECT_NE(Content(Path("a.parquet")), Content(Path("b.parquet")));
}

TEST_F(SampleTest, SampleIsASpreadSubsetInInputOrderWithEveryColumn) {
  const std::string out = Path("s.parquet");
  ASSERT_EQ(WriteSample(*table_, SampleSpec{60, 0, 42}, out, ctx_), 60);
  // Every column, metadata included, in input order.
  EXPECT_EQ(
      QueryScalar("SELECT string_agg(column_name, ',') FROM (DESCRIBE SELECT * FROM read_parquet(" +
                  QuoteLiteral(out) + "))"),
      "id,seq,a,label,g");
  const std::string in = QuoteLiteral(Path("in/*.parquet"));
  const std::string sample = "read_parquet(" + QuoteLiteral(out) + ", file_row_number = true)";
  // Distinct rows, each equal to an input row.
  EXPECT_EQ(QueryScalar("SELECT count(DISTINCT seq) FROM " + sample), "60");
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + sample + " s JOIN read_parquet(" + in +
                        ") i USING (id, seq, a, label, g)"),
            "60");
  // Written in input order.
  EXPECT_EQ(
      QueryScalar("SELECT count(*) FROM (SELECT seq, lag(seq) OVER (ORDER BY file_row_number) AS "
                  "previous FROM " +
                  sample + ") WHERE seq <= previous"),
      "0");
  // Drawn from the whole input, not its first rows.
  EXPECT_GT(std::stoll(QueryScalar("SELECT max(seq) FROM " + sample)), 400);
  EXPECT_GE(std::stoll(QueryScalar("SELECT count(DISTINCT split_part(id, '_', 1)) FROM " + sample)),
            3);
  // Nothing else is left beside the output.
  EXPECT_EQ(ListDir(dir_.path()), (std::vector<std::string>{"in", "s.parquet"}));
}

TEST_F(SampleTest, NeverMoreRowsThanRequestedOrAvailable) {
  EXPECT_EQ(WriteSample(*table_, SampleSpec{1, 0, 42}, Path("one.parquet"), ctx_), 1);
  EXPECT_EQ(Rows(Path("one.parquet")), 1);
  EXPECT_EQ(WriteSample(*table_, SampleSpec{100000, 0, 42}, Path("all.parquet"), ctx_),
            total_rows_);
  EXPECT_EQ(Rows(Path("all.parquet")), total_rows_);
  EXPECT_EQ(QueryScalar("SELECT count(DISTINCT seq) FROM " + QuoteLiteral(Path("all.parquet"))),
            std::to_string(total_rows_));
}

TEST_F(SampleTest, SamplePerFile) {
  const std::string out = Path("per_file.parquet");
  // The last file has 10 rows: all of them.
  EXPECT_EQ(WriteSample(*table_, SampleSpec{0, 20, 42}, out, ctx_), 70);
  EXPECT_EQ(QueryScalar(
                "SELECT string_agg(n::VARCHAR, ',' ORDER BY f) FROM (SELECT split_part(id, '_', 1) "
                "AS f, count(*) AS n FROM " +
                QuoteLiteral(out) + " GROUP BY f)"),
            "20,20,20,10");
}

TEST_F(SampleTest, CsvInput) {
  WriteCsv(Path("c.csv"), "SELECT 'r' || range AS id, range * 1.0 AS a FROM range(100)");
  const Table csv = Table::Open(Spec({Path("c.csv")}), ctx_);
  const std::string out = Path("c.parquet");
  EXPECT_EQ(WriteSample(csv, SampleSpec{10, 0, 3}, out, ctx_), 10);
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + QuoteLiteral(out) +
                        " WHERE id = 'r' || CAST(a AS INTEGER)"),
            "10");
  const std::string again = Path("c2.parquet");
  WriteSample(csv, SampleSpec{10, 0, 3}, again, Context(2));
  EXPECT_EQ(QueryScalar("SELECT string_agg(id, ',') FROM " + QuoteLiteral(out)),
            QueryScalar("SELECT string_agg(id, ',') FROM " + QuoteLiteral(again)));
}

TEST_F(SampleTest, BadSpecs) {
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] {
                         WriteSample(*table_, SampleSpec{0, 0, 1}, Path("x.parquet"), ctx_);
                       }),
                       "sample_rows"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] {
                         WriteSample(*table_, SampleSpec{5, 5, 1}, Path("x.parquet"), ctx_);
                       }),
                       "exclusive"));
  const std::string input = table_->files()[0].path;
  const std::string before = ReadFile(input);
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] {
                         WriteSample(*table_, SampleSpec{5, 0, 1}, input, ctx_);
                       }),
                       "also an input"));
  EXPECT_EQ(ReadFile(input), before);
  EXPECT_FALSE(fs::exists(Path("x.parquet")));
}

// ---- file names DuckDB would glob, one file under several names, non-regular inputs -------------

namespace io_names {

/// Values of column "a" read through a Table opened on `patterns`, in input order.
std::vector<double> ColumnA(const std::vector<std::string>& patterns, const Context& ctx) {
  const Table table = Table::Open(Spec(patterns), ctx);
  return ReadAll(table, {"a"}, 64).values[0];
}

/// Changes the working directory for the lifetime of the object.
class WorkingDirectory {
 public:
  explicit WorkingDirectory(const std::string& dir) : previous_(fs::current_path()) {
    fs::current_path(dir);
  }
  ~WorkingDirectory() { fs::current_path(previous_); }
  WorkingDirectory(const WorkingDirectory&) = delete;
  WorkingDirectory& operator=(const WorkingDirectory&) = delete;

 private:
  fs::path previous_;
};

}  // namespace io_names

TEST(DuckDbFilePath, EscapesWhatDuckDbWouldExpand) {
  EXPECT_EQ(io::DuckDbFilePath("/d/g1.parquet"), "/d/g1.parquet");
  EXPECT_EQ(io::DuckDbFilePath("/d/g[1].parquet"), "/d/g[[]1].parquet");
  EXPECT_EQ(io::DuckDbFilePath("/d/s*.parquet"), "/d/s[*].parquet");
  EXPECT_EQ(io::DuckDbFilePath("d[2]/q?.csv"), "d[[]2]/q[?].csv");
  EXPECT_EQ(io::DuckDbFilePath("~x.parquet"), "./~x.parquet");
  EXPECT_EQ(io::DuckDbFilePath("a:b.parquet"), "./a:b.parquet");
  EXPECT_EQ(io::DuckDbWritePath("~out/s[1].parquet"), "./~out/s[1].parquet");
  EXPECT_EQ(io::DuckDbWritePath("/d/~s.parquet"), "/d/~s.parquet");
  // DuckDB takes the first component of an absolute path literally.
  EXPECT_EQ(io::DuckDbFilePath("/d[1]/x.parquet"), "/d[1]/x.parquet");
  EXPECT_EQ(io::DuckDbFilePath("/x[1].parquet"), "/x[1].parquet");
  EXPECT_EQ(io::FileLiteral("/d/it's[1].parquet"), "'/d/it''s[[]1].parquet'");
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([] { io::DuckDbFilePath("/d/a\\b[1].parquet"); }),
                       "backslash"));
}

TEST_F(TableTest, GlobCharactersInFileNamesAreLiteral) {
  // Each file has its own row count and values: a file read for another shows.
  WriteParquet(Path("g[1].parquet"), "SELECT range * 1.0 + 100 AS a FROM range(2)");
  WriteParquet(Path("g1.parquet"), "SELECT range * 1.0 + 200 AS a FROM range(3)");
  WriteParquet(Path("s*.parquet"), "SELECT range * 1.0 + 300 AS a FROM range(4)");
  WriteParquet(Path("s1.parquet"), "SELECT range * 1.0 + 400 AS a FROM range(5)");
  WriteParquet(Path("s2.parquet"), "SELECT range * 1.0 + 500 AS a FROM range(6)");
  WriteParquet(Path("q?.parquet"), "SELECT range * 1.0 + 600 AS a FROM range(7)");
  WriteParquet(Path("it's \"[x]\".parquet"), "SELECT range * 1.0 + 700 AS a FROM range(8)");

  EXPECT_EQ(io_names::ColumnA({Path("g[1].parquet")}, ctx_), (std::vector<double>{100, 101}));
  EXPECT_EQ(io_names::ColumnA({Path("s*.parquet")}, ctx_),
            (std::vector<double>{300, 301, 302, 303}));
  EXPECT_EQ(io_names::ColumnA({Path("q?.parquet")}, ctx_).size(), 7u);
  EXPECT_EQ(io_names::ColumnA({Path("it's \"[x]\".parquet")}, ctx_).size(), 8u);
  // The row count (Parquet metadata) and the per-file partitions too.
  const Table table = Table::Open(Spec({Path("g[1].parquet"), Path("s*.parquet")}), ctx_);
  EXPECT_EQ(table.known_row_count(), 6);
  const auto partitions = table.Partitions();
  ASSERT_EQ(partitions.size(), 2u);
  EXPECT_EQ(ReadPartition(table, {"a"}, partitions[1], 16).values[0],
            (std::vector<double>{300, 301, 302, 303}));
  // Pass 0 and `apply` read the same files.
  EXPECT_EQ(WriteSample(table, SampleSpec{100, 0, 1}, Path("sample.parquet"), ctx_), 6);
  EXPECT_EQ(
      QueryScalar("SELECT sum(a) FROM read_parquet(" + QuoteLiteral(Path("sample.parquet")) + ")"),
      "1407.0");
  EXPECT_EQ(WriteColumns(table, {"a"}, Path("columns.parquet"), ctx_), 6);

  // A pattern that is not an existing path still globs; a directory lists every name once.
  EXPECT_EQ(Table::Open(Spec({Path("s?.parquet")}), ctx_).files().size(), 3u);
  fs::create_directories(Path("dir"));
  for (const std::string name : {"g[1].parquet", "g1.parquet", "s*.parquet", "s1.parquet"}) {
    fs::copy_file(Path(name), Path("dir/" + name));
  }
  const Table directory = Table::Open(Spec({Path("dir")}), ctx_);
  EXPECT_EQ(directory.files().size(), 4u);
  EXPECT_EQ(directory.known_row_count(), 2 + 3 + 4 + 5);
  EXPECT_EQ(ReadAll(directory, {"a"}, 64).values[0].size(), 14u);
}

TEST_F(TableTest, GlobCharactersInDirectoryNamesAreLiteral) {
  fs::create_directories(Path("d[1]"));
  fs::create_directories(Path("d1"));
  WriteParquet(Path("d[1]/x.parquet"), "SELECT range * 1.0 AS a FROM range(2)");
  WriteParquet(Path("d1/x.parquet"), "SELECT range * 1.0 AS a FROM range(3)");
  EXPECT_EQ(io_names::ColumnA({Path("d[1]/x.parquet")}, ctx_).size(), 2u);
  EXPECT_EQ(io_names::ColumnA({Path("d[1]")}, ctx_).size(), 2u);
}

TEST_F(TableTest, GlobCharactersInCsvNamesAreLiteral) {
  WriteCsv(Path("g[1].csv"), "SELECT range * 1.0 + 100 AS a FROM range(2)");
  WriteCsv(Path("g1.csv"), "SELECT range * 1.0 + 200 AS a FROM range(3)");
  WriteCsv(Path("s*.csv"), "SELECT range * 1.0 + 300 AS a FROM range(4)");
  WriteCsv(Path("s1.csv"), "SELECT range * 1.0 + 400 AS a FROM range(5)");
  WriteCsv(Path("s2.csv"), "SELECT range * 1.0 + 500 AS a FROM range(6)");
  EXPECT_EQ(io_names::ColumnA({Path("g[1].csv")}, ctx_), (std::vector<double>{100, 101}));
  EXPECT_EQ(io_names::ColumnA({Path("s*.csv")}, ctx_), (std::vector<double>{300, 301, 302, 303}));
  const Table table = Table::Open(Spec({Path("s*.csv")}), ctx_);
  EXPECT_EQ(WriteSample(table, SampleSpec{100, 0, 1}, Path("sample.parquet"), ctx_), 4);
}

TEST_F(TableTest, LeadingTildeIsNotTheHomeDirectory) {
  // DuckDB reads "~x.parquet" as "$HOME" + "x.parquet".
  WriteParquet(Path("~x.parquet"), "SELECT range * 1.0 AS a FROM range(3)");
  const io_names::WorkingDirectory inside(dir_.path());
  EXPECT_EQ(io_names::ColumnA({"~x.parquet"}, ctx_).size(), 3u);
  // Outputs written by DuckDB too (Pass 0, `apply`): not "$HOME" + "s.parquet".
  const Table table = Table::Open(Spec({"~x.parquet"}), ctx_);
  EXPECT_EQ(WriteSample(table, SampleSpec{2, 0, 1}, "~s.parquet", ctx_), 2);
  EXPECT_EQ(
      QueryScalar("SELECT count(*) FROM read_parquet(" + io::FileLiteral(Path("~s.parquet")) + ")"),
      "2");
  EXPECT_EQ(WriteColumns(table, {"a"}, "~c.parquet", ctx_), 3);
  EXPECT_EQ(
      QueryScalar("SELECT count(*) FROM read_parquet(" + io::FileLiteral(Path("~c.parquet")) + ")"),
      "3");
}

TEST_F(TableTest, OneFileUnderSeveralNamesIsReadOnce) {
  fs::create_directories(Path("in"));
  WriteParquet(Path("in/a.parquet"), "SELECT range * 1.0 AS a FROM range(4)");
  WriteParquet(Path("in/b.parquet"), "SELECT range * 1.0 + 10 AS a FROM range(2)");
  fs::create_symlink(Path("in/a.parquet"), Path("link.parquet"));
  const Table table =
      Table::Open(Spec({Path("in/a.parquet"), Path("in/./a.parquet"), Path("in/../in/a.parquet"),
                        Path("link.parquet"), Path("in"), Path("in/*.parquet"),
                        dir_.path() + "//in/b.parquet"}),
                  ctx_);
  ASSERT_EQ(table.files().size(), 2u);
  EXPECT_EQ(table.files()[0].path, Path("in/a.parquet"));  // first-seen order and spelling
  EXPECT_EQ(table.files()[1].path, Path("in/b.parquet"));
  EXPECT_EQ(table.known_row_count(), 6);
  EXPECT_EQ(ReadAll(table, {"a"}, 64).values[0], (std::vector<double>{0, 1, 2, 3, 10, 11}));

  WriteCsv(Path("c.csv"), "SELECT range * 1.0 AS a FROM range(5)");
  EXPECT_EQ(io_names::ColumnA(
                {Path("c.csv"), Path("./c.csv"),
                 dir_.path() + "/../" + fs::path(dir_.path()).filename().string() + "/c.csv"},
                ctx_)
                .size(),
            5u);
}

TEST_F(TableTest, InputsThatAreNotRegularFilesAreNamed) {
  const std::string fifo = Path("pipe.parquet");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string message = MessageOf<InvalidInput>([&] { Table::Open(Spec({fifo}), ctx_); });
  EXPECT_TRUE(Contains(message, fifo));
  EXPECT_TRUE(Contains(message, "not a regular file (a named pipe)"));
  // Found in a directory: named too, never opened (opening would block). DuckDB's glob lists
  // regular files only: a pattern matches the good file alone.
  fs::create_directories(Path("dir"));
  ASSERT_EQ(::mkfifo(Path("dir/pipe.parquet").c_str(), 0600), 0);
  WriteParquet(Path("dir/good.parquet"), "SELECT 1.0 AS a");
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("dir")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("dir/pipe.parquet")));
  EXPECT_TRUE(Contains(message, "named pipe"));
  const Table globbed = Table::Open(Spec({Path("dir/*.parquet")}), ctx_);
  ASSERT_EQ(globbed.files().size(), 1u);
  EXPECT_EQ(globbed.files()[0].path, Path("dir/good.parquet"));

  if (fs::exists("/dev/zero")) {
    message = MessageOf<InvalidInput>([&] { Table::Open(Spec({"/dev/zero"}), ctx_); });
    EXPECT_TRUE(Contains(message, "'/dev/zero' is not a regular file (a character device)"));
  }

  fs::create_symlink(Path("absent.parquet"), Path("dangling.parquet"));
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("dangling.parquet")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("dangling.parquet")));
  EXPECT_TRUE(Contains(message, "dangling symlink"));
  EXPECT_TRUE(Contains(message, Path("absent.parquet")));

  fs::create_symlink(Path("loop2.parquet"), Path("loop1.parquet"));
  fs::create_symlink(Path("loop1.parquet"), Path("loop2.parquet"));
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({Path("loop1.parquet")}), ctx_); });
  EXPECT_TRUE(Contains(message, Path("loop1.parquet")));
  EXPECT_TRUE(Contains(message, "symlink loop"));

  if (::geteuid() != 0) {  // root may enter any directory
    fs::create_directories(Path("closed"));
    WriteParquet(Path("closed/a.parquet"), "SELECT 1.0 AS a");
    fs::permissions(Path("closed"), fs::perms::none);
    message = MessageOf<IoError>([&] { Table::Open(Spec({Path("closed/a.parquet")}), ctx_); });
    fs::permissions(Path("closed"), fs::perms::owner_all);
    EXPECT_TRUE(Contains(message, Path("closed/a.parquet")));
    EXPECT_TRUE(Contains(message, "permission denied"));
  }
}

// ---- column names DuckDB would change -----------------------------------------------------------

/// Gives column `from` of a DuckDB-written Parquet file the name `to` (any length) by rewriting the
/// Thrift strings of the footer and its length: DuckDB refuses to write empty or case-duplicate
/// names itself.
void RenameParquetColumn(const std::string& path, const std::string& from, const std::string& to) {
  ASSERT_LT(from.size(), 128u);
  ASSERT_LT(to.size(), 128u);
  const std::string bytes = ReadFile(path);
  std::uint32_t footer_length = 0;
  std::memcpy(&footer_length, bytes.data() + bytes.size() - 8, 4);  // little-endian hosts
  const std::size_t footer_start = bytes.size() - 8 - footer_length;
  std::string footer = bytes.substr(footer_start, footer_length);
  const std::string needle = std::string(1, static_cast<char>(from.size())) + from;
  const std::string replacement = std::string(1, static_cast<char>(to.size())) + to;
  std::size_t count = 0;
  for (std::size_t pos = footer.find(needle); pos != std::string::npos;
       pos = footer.find(needle, pos + replacement.size())) {
    footer.replace(pos, needle.size(), replacement);
    ++count;
  }
  ASSERT_GT(count, 0u);
  std::string length(4, '\0');
  const auto new_length = static_cast<std::uint32_t>(footer.size());
  std::memcpy(length.data(), &new_length, 4);
  WriteFile(path, bytes.substr(0, footer_start) + footer + length + "PAR1");
}

TEST_F(TableTest, NamesDifferingOnlyByCaseAreAnError) {
  const std::string parquet = Path("case.parquet");
  WriteParquet(
      parquet,
      "SELECT 'm' || range AS id, range * 1.0 AS mass, range * 2.0 AS other FROM range(5)");
  RenameParquetColumn(parquet, "other", "MASS");
  std::string message = MessageOf<InvalidInput>([&] { Table::Open(Spec({parquet}), ctx_); });
  EXPECT_TRUE(Contains(message, parquet));
  EXPECT_TRUE(Contains(message, "\"mass\" and \"MASS\""));
  EXPECT_TRUE(Contains(message, "differ only by case"));

  const std::string csv = Path("case.csv");
  WriteFile(csv, "id,Mass,mass\nx,1,2\ny,4,5\n");
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({csv}), ctx_); });
  EXPECT_TRUE(Contains(message, csv));
  EXPECT_TRUE(Contains(message, "\"Mass\" and \"mass\""));

  // Across files: DuckDB's union_by_name would match them as one column.
  WriteParquet(Path("a.parquet"), "SELECT range * 1.0 AS mass FROM range(3)");
  WriteParquet(Path("b.parquet"), "SELECT range * 1.0 AS MASS FROM range(3)");
  for (const bool union_by_name : {false, true}) {
    InputSpec spec = Spec({Path("a.parquet"), Path("b.parquet")});
    spec.union_by_name = union_by_name;
    message = MessageOf<InvalidInput>([&] { Table::Open(spec, ctx_); });
    EXPECT_TRUE(Contains(message, "column \"mass\" in '" + Path("a.parquet") +
                                      "' and column \"MASS\" in '" + Path("b.parquet") +
                                      "' differ only by case"))
        << message;
  }
}

TEST_F(TableTest, EmptyColumnNameIsAnError) {
  const std::string csv = Path("empty_name.csv");
  WriteFile(csv, "id,,b\nx,1,2\ny,4,5\n");
  std::string message = MessageOf<InvalidInput>([&] { Table::Open(Spec({csv}), ctx_); });
  EXPECT_TRUE(Contains(message, csv));
  EXPECT_TRUE(Contains(message, "empty name (column 2 of 3)"));

  const std::string parquet = Path("empty_name.parquet");
  WriteParquet(
      parquet,
      "SELECT 'm' || range AS id, range * 1.0 AS nameless, range * 2.0 AS b FROM range(5)");
  RenameParquetColumn(parquet, "nameless", "");
  message = MessageOf<InvalidInput>([&] { Table::Open(Spec({parquet}), ctx_); });
  EXPECT_TRUE(Contains(message, parquet));
  EXPECT_TRUE(Contains(message, "empty name (column 2 of 3)"));
}

// ---- conversion to DOUBLE merging distinct values
// ------------------------------------------------

/// WarnAboutMergedValues over every descriptor of `table`, with max_abs computed as Pass 1 does.
std::vector<std::string> MergeWarnings(const Table& table, const Context& ctx) {
  const std::vector<std::string> columns = table.descriptor_names();
  const ReadResult read = ReadAll(table, columns, 1024);
  std::vector<double> max_abs;
  for (const auto& values : read.values) {
    double largest = std::numeric_limits<double>::quiet_NaN();
    for (const double value : values) {
      if (!std::isnan(value) && !(std::fabs(value) <= largest)) largest = std::fabs(value);
    }
    max_abs.push_back(largest);
  }
  return WarnAboutMergedValues(table, columns, max_abs, ctx);
}

TEST_F(TableTest, ConversionMergingDistinctValuesIsWarnedAbout) {
  // Seven distinct UBIGINT values around 2^63 are one DOUBLE.
  const std::string path = Path("big.parquet");
  WriteParquet(
      path,
      "SELECT range * 1.0 AS a, (9223372036854775808::UBIGINT + (range % 7)::UBIGINT) AS big, "
      "(range % 5)::BIGINT AS small, (range::BIGINT * 2048 + 9007199254740992) AS spaced FROM "
      "range(70)");
  const Table table = Table::Open(Spec({path}), ctx_);
  EXPECT_EQ(ReadAll(table, {"big"}, 128).values[0], std::vector<double>(70, 9223372036854775808.0));
  const std::vector<std::string> warnings = MergeWarnings(table, ctx_);
  ASSERT_EQ(warnings.size(), 1u);  // not "small", nor "spaced" (exact as DOUBLE beyond 2^53)
  EXPECT_TRUE(Contains(warnings[0], "column \"big\""));
  EXPECT_TRUE(Contains(warnings[0], "7 distinct UBIGINT values become 1 distinct DOUBLE value"));
  EXPECT_TRUE(Contains(warnings[0], "9223372036854775808 and 9223372036854775814"));

  // An ordinary table costs nothing and says nothing.
  WriteParquet(Path("ordinary.parquet"),
               "SELECT range * 1.0 AS a, range::BIGINT AS n, (range * 1000)::DECIMAL(18, 3) AS d "
               "FROM range(50)");
  EXPECT_TRUE(MergeWarnings(Table::Open(Spec({Path("ordinary.parquet")}), ctx_), ctx_).empty());

  // Two BIGINTs one apart beyond 2^53, and DECIMAL(18,3) values 0.001 apart near 10^14, in CSV
  // (DuckDB types them BIGINT and DOUBLE: the decimals are merged by DuckDB itself) and Parquet.
  WriteFile(Path("big.csv"), "a,n\n1,9007199254740993\n2,9007199254740992\n3,5\n");
  const std::vector<std::string> csv =
      MergeWarnings(Table::Open(Spec({Path("big.csv")}), ctx_), ctx_);
  ASSERT_EQ(csv.size(), 1u);
  EXPECT_TRUE(Contains(csv[0], "column \"n\""));
  EXPECT_TRUE(Contains(csv[0], "3 distinct BIGINT values become 2 distinct DOUBLE values"));
  WriteParquet(Path("decimal.parquet"),
               "SELECT range * 1.0 AS a, CAST(substr(x, 1, 15) || '.' || substr(x, 16) AS "
               "DECIMAL(18, 3)) AS d "
               "FROM (SELECT range, (123456789012345678 + range)::VARCHAR AS x FROM range(4))");
  const std::vector<std::string> decimal =
      MergeWarnings(Table::Open(Spec({Path("decimal.parquet")}), ctx_), ctx_);
  ASSERT_EQ(decimal.size(), 1u);
  EXPECT_TRUE(Contains(decimal[0], "column \"d\""));
  EXPECT_TRUE(Contains(decimal[0], "DECIMAL(18,3)"));
}

// ---- sampling: helper columns never collide with the table's ------------------------------------

TEST_F(TableTest, SampleHelperColumnsNeverCollide) {
  fs::create_directories(Path("in"));
  for (int f = 0; f < 2; ++f) {
    WriteParquet(
        Path("in/part-" + std::to_string(f) + ".parquet"),
        "SELECT 'f" + std::to_string(f) +
            "_' || range AS id, (range % 3)::INTEGER AS __descpipe_file, (range * 7)::BIGINT AS "
            "\"__DESCPIPE_ROW\", sin(range) AS a FROM range(500)");
  }
  const Table table = Table::Open(Spec({Path("in")}), ctx_);
  const std::string out = Path("s.parquet");
  ASSERT_EQ(WriteSample(table, SampleSpec{300, 0, 42}, out, ctx_), 300);
  const std::string sample = "read_parquet(" + QuoteLiteral(out) + ")";
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + sample), "300");
  EXPECT_EQ(QueryScalar("SELECT string_agg(column_name, ',') FROM (DESCRIBE SELECT * FROM " +
                        sample + ")"),
            "id,__descpipe_file,__DESCPIPE_ROW,a");
  // The user's columns hold their own values.
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + sample +
                        " WHERE __descpipe_file <> CAST(split_part(id, '_', 2) AS INTEGER) % 3 OR "
                        "__DESCPIPE_ROW <> CAST(split_part(id, '_', 2) AS BIGINT) * 7"),
            "0");
  EXPECT_EQ(WriteSample(table, SampleSpec{0, 40, 42}, Path("p.parquet"), ctx_), 80);

  // A column named file_row_number (read_parquet's option of that name is then refused).
  WriteParquet(
      Path("frn.parquet"),
      "SELECT 'm' || range AS id, (range * 3)::BIGINT AS File_Row_Number, cos(range) AS a FROM "
      "range(400)");
  const Table frn = Table::Open(Spec({Path("frn.parquet")}), ctx_);
  ASSERT_EQ(WriteSample(frn, SampleSpec{100, 0, 42}, Path("frn_s.parquet"), ctx_), 100);
  EXPECT_EQ(QueryScalar("SELECT count(*) FROM " + QuoteLiteral(Path("frn_s.parquet")) +
                        " WHERE File_Row_Number = CAST(substr(id, 2) AS BIGINT) * 3"),
            "100");
  const std::string again = Path("frn_again.parquet");
  WriteSample(frn, SampleSpec{100, 0, 42}, again, Context(2));
  EXPECT_EQ(QueryScalar("SELECT string_agg(id, ',') FROM " + QuoteLiteral(Path("frn_s.parquet"))),
            QueryScalar("SELECT string_agg(id, ',') FROM " + QuoteLiteral(again)));
}

}  // namespace
}  // namespace descpipe
