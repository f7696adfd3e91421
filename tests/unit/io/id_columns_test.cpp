// Identifier columns (FindIdColumns, IsIdentifierName) and Table::WithMetadata, on Parquet files
// written by DuckDB from SQL and on the shared RDKit table.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/error.hpp"
#include "descpipe/table.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Contains;
using testing::MessageOf;
using testing::RunSql;
using testing::TempDir;

void WriteIdTable(const std::string& path, const std::string& select) {
  RunSql("COPY (" + select + ") TO " + QuoteLiteral(path) + " (FORMAT parquet)");
}

/// name -> reason of every identifier FindIdColumns finds among the descriptors of `path`.
std::map<std::string, std::string> Found(const std::string& path, const Context& ctx) {
  InputSpec spec;
  spec.patterns = {path};
  const Table table = Table::Open(spec, ctx);
  std::map<std::string, std::string> found;
  for (const IdColumn& id : FindIdColumns(table, table.descriptor_names(), ctx))
    found[id.name] = id.reason;
  return found;
}

TEST(IdentifierName, IdsIndexesAndRowNumbers) {
  for (const char* name : {"id", "ID", "CID", "sid", "Index", "idx", "original_index", "row",
                           "rowid", "row_id", "ROW_NUMBER", "rownum", "mol_id", "compound_ID",
                           "sample_idx", "orig_index", "Unnamed: 0", "__index_level_0__"}) {
    EXPECT_TRUE(IsIdentifierName(name)) << name;
  }
  // Descriptors of RDKit, Mordred and PaDEL whose names come close.
  for (const char* name : {"MaxEStateIndex",
                           "MinEStateIndex",
                           "BalabanJ",
                           "Ipc",
                           "AvgIpc",
                           "fr_amide",
                           "NumHDonors",
                           "MID",
                           "AMID",
                           "MID_h",
                           "AMID_C",
                           "MID_N",
                           "Xch-3d",
                           "nAcid",
                           "SpAbs_A",
                           "GATS1dv",
                           "ETA_dEpsilon_A",
                           "WTPT-1",
                           "Kier1",
                           "nRot",
                           "RotRatio",
                           "topoShape",
                           "Zagreb",
                           "idx2",
                           "ids",
                           "identity",
                           "index_of_refraction",
                           "rows",
                           "_id",
                           "grid",
                           "acid",
                           "valid"}) {
    EXPECT_FALSE(IsIdentifierName(name)) << name;
  }
}

// No RDKit descriptor of the shared table is taken for an identifier, by name or by values.
TEST(IdentifierName, NoRdkitDescriptorOfTheSharedTable) {
  InputSpec spec;
  spec.patterns = {testing::SharedTablePath()};
  const Context ctx(2);
  const Table table = Table::Open(spec, ctx);
  const std::vector<std::string> descriptors = table.descriptor_names();
  EXPECT_EQ(descriptors.size(), 609u);
  for (const std::string& name : descriptors) EXPECT_FALSE(IsIdentifierName(name)) << name;
  EXPECT_TRUE(FindIdColumns(table, descriptors, ctx).empty());
  // mol_id is text ("m0", "m1", ...): metadata already.
  EXPECT_EQ(table.metadata_names(), (std::vector<std::string>{"mol_id", "smiles"}));
}

class IdColumnsTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ / name; }
  TempDir dir_;
  Context ctx_{2};
};

TEST_F(IdColumnsTest, ByValuesAndByName) {
  const std::string path = Path("t.parquet");
  // 200 rows. perm: 1..200 out of order; perm_dup: the same with 101 twice and no 100 (the span
  // is still 200); cid: sorted with gaps; rev: decreasing.
  WriteIdTable(path,
               "SELECT range AS row_number_like, 1000 + range * range AS compound, "
               "500 - 2 * range AS rev, (range * 7919) % 200 + 1 AS perm, "
               "CASE WHEN (range * 7919) % 200 + 1 = 100 THEN 101 ELSE (range * 7919) % 200 + 1 "
               "END AS perm_dup, range % 7 AS count, range * 0.5 AS half, "
               "CASE WHEN range = 3 THEN NULL ELSE range END AS with_null, "
               "CASE WHEN range = 3 THEN NULL ELSE range % 5 END AS row_id, "
               "range * 0.5 AS sample_idx, range::DOUBLE AS as_double, "
               "(hash(range) % 1000000)::BIGINT AS hashed, 'x' || range AS name "
               "FROM range(200)");
  const auto found = Found(path, ctx_);
  EXPECT_EQ(found.size(), 6u);
  EXPECT_EQ(found.at("row_number_like"), "all 200 values distinct and consecutive");
  EXPECT_EQ(found.at("compound"), "all 200 values distinct and increasing");
  EXPECT_EQ(found.at("rev"), "all 200 values distinct and decreasing");
  EXPECT_EQ(found.at("perm"), "all 200 values distinct and consecutive");
  EXPECT_EQ(found.at("as_double"), "all 200 values distinct and consecutive");
  // By name: integers, a missing value allowed, repeats allowed.
  EXPECT_EQ(found.at("row_id"), "named like an identifier, with integer values");
  // perm_dup (a repeat), count (repeats), half and sample_idx (fractions), with_null (missing),
  // hashed (distinct but neither in order nor consecutive) are not identifiers.
}

TEST_F(IdColumnsTest, NameAndValuesTogether) {
  const std::string path = Path("t.parquet");
  WriteIdTable(path, "SELECT range AS CID, range * 0.1 AS a FROM range(50)");
  EXPECT_EQ(Found(path, ctx_).at("CID"),
            "named like an identifier, with integer values; all 50 values distinct and "
            "consecutive");
}

// In a small table, distinct increasing integers are a homologous series as likely as a row
// number: only names count.
TEST_F(IdColumnsTest, SmallTablesOnlyByName) {
  const std::string path = Path("t.parquet");
  WriteIdTable(path, "SELECT range + 1 AS n_carbons, range AS idx, range * 0.3 AS a FROM range(" +
                         std::to_string(kMinIdentifierRows - 1) + ")");
  const auto found = Found(path, ctx_);
  EXPECT_EQ(found.size(), 1u);
  EXPECT_EQ(found.count("idx"), 1u);
  WriteIdTable(path, "SELECT range + 1 AS n_carbons, range * 0.3 AS a FROM range(" +
                         std::to_string(kMinIdentifierRows) + ")");
  EXPECT_EQ(Found(path, ctx_).count("n_carbons"), 1u);
}

// Past the first read (1,024 rows), even past 65,536: a column in order there and not later, and a
// consecutive column out of order (checked by the bitmap), over every row and over two files.
TEST_F(IdColumnsTest, EveryRowIsChecked) {
  const std::string a = Path("a.parquet");
  const std::string b = Path("b.parquet");
  const std::string select =
      "SELECT range AS seq, CASE WHEN range < 66000 THEN range ELSE 0 END AS late_repeat, "
      "(range * 7919) % 70000 AS shuffled, "
      "CASE WHEN range = 69000 THEN 2 ELSE (range * 7919) % 70000 END AS late_duplicate, "
      "CASE WHEN range = 68000 THEN 0.5 ELSE range END AS late_fraction, "
      "(range % 13)::DOUBLE AS a FROM range(70000)";
  WriteIdTable(a, select + " WHERE range < 40000");
  WriteIdTable(b, select + " WHERE range >= 40000");
  InputSpec spec;
  spec.patterns = {a, b};
  const Table table = Table::Open(spec, ctx_);
  std::map<std::string, std::string> found;
  for (const IdColumn& id : FindIdColumns(table, table.descriptor_names(), ctx_))
    found[id.name] = id.reason;
  EXPECT_EQ(found.size(), 2u);
  EXPECT_EQ(found.at("seq"), "all 70000 values distinct and consecutive");
  EXPECT_EQ(found.at("shuffled"), "all 70000 values distinct and consecutive");
}

TEST_F(IdColumnsTest, WithMetadataSwitchesRolesAndReadsTheSameRows) {
  const std::string path = Path("t.parquet");
  WriteIdTable(path,
               "SELECT 'm' || range AS name, range AS CID, range * 0.5 AS a, "
               "range * range AS b FROM range(30)");
  InputSpec spec;
  spec.patterns = {path};
  const Table table = Table::Open(spec, ctx_);
  const Table switched = table.WithMetadata({"CID"});
  EXPECT_EQ(switched.descriptor_names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(switched.metadata_names(), (std::vector<std::string>{"name", "CID"}));
  EXPECT_EQ(table.descriptor_names(), (std::vector<std::string>{"CID", "a", "b"}));  // unchanged
  EXPECT_EQ(switched.Describe(), table.Describe());
  EXPECT_EQ(switched.known_row_count(), 30);
  // Twice: still one wrapper over the file source, and the earlier switch is kept.
  const Table twice = switched.WithMetadata({"b"});
  EXPECT_EQ(twice.descriptor_names(), (std::vector<std::string>{"a"}));
  ColumnReader reader(twice, {"CID", "b"}, 1024);
  ColumnBatch batch;
  ASSERT_TRUE(reader.Next(batch));
  ASSERT_EQ(batch.n_rows, 30u);
  EXPECT_EQ(batch.column(0)[7], 7.0);
  EXPECT_EQ(batch.column(1)[7], 49.0);
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] { (void)table.WithMetadata({"nope"}); }),
                       "column \"nope\" is not a column of"));
  EXPECT_TRUE(Contains(MessageOf<InvalidInput>([&] {
                         (void)table.WithMetadata({"CID", "a", "b"});
                       }),
                       "has no descriptor column besides \"CID\", \"a\", \"b\""));
}

}  // namespace
}  // namespace descpipe
