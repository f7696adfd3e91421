// make_data: a planted descriptor table and its ground truth, for benchmarks and recovery tests.
//
//   descpipe_make_data ROWS COLS OUT.parquet [--seed S (0..63)] [--threads T]
//
// Writes OUT.parquet (mol_id, smiles, then COLS descriptors) through DuckDB, and OUT.truth.json
// beside it: every column's kind, group and expected fate. Values are functions of (row, seed,
// column salt) through DuckDB's hash() of one integer, so the same arguments give the same table on
// any machine with the same DuckDB, whatever the thread count. Kinds (shares of COLS; the rest
// independent):
//   constant            4%  3.0 on every row                          -> removed by Pass 1
//   high_missing        4%  70% NULL, else normal                     -> removed by Pass 1
//   near_duplicate     30%  groups of 4 around a normal base B: B, 1 + 2.5 B + 0.15 N, exp(0.4 B),
//                           round(B, 2); |rho| >= 0.99 within a group  -> 1 survivor (Pass 2)
//   linear             15%  triples X1, X2 (normal), 0.8 X1 + 0.6 X2 + 0.05 N: VIF ~ 25
//                                                                      -> 2 survivors (Pass 3)
//   nonlinear          10%  sets of 4 around x = U(-1, 1): x, x^2 + 0.05 N, sin(3x) + 0.05 N,
//                           (x > 0.3) + 0.1 N; |rho| < 0.9 between any two -> 1 survivor (Pass 4)
//   independent        rest normal, uniform, integer counts 0..29, lognormal, normal with 1% NULL
//                                                                      -> all kept
// Column order is a seeded shuffle, so groups are not contiguous.
#include <duckdb.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Column {
  std::string name;
  std::string sql;
  std::string kind;
  std::string group;   // empty: none
  std::string expect;  // removed_pass1 | keep | group
};

struct Group {
  std::string name;
  std::string kind;
  std::vector<std::string> members;
  int survivors;
  int removed_by_pass;
};

std::uint64_t SplitMix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Planner {
 public:
  explicit Planner(std::uint64_t seed) : seed_(seed) {}

  /// Uniform on [0, 1) from 53 bits of hash((row * 64 + seed) * 65536 + salt). One integer
  /// argument: DuckDB's multi-argument hash() combines the per-argument hashes so that two salts
  /// give strongly correlated values.
  std::string Uniform(std::uint64_t salt) const {
    return "((hash((i * 64 + " + std::to_string(seed_) + ") * 65536 + " + std::to_string(salt) +
           ") >> 11)::DOUBLE * 1.1102230246251565e-16)";
  }
  /// Standard normal by Box-Muller on two uniforms.
  std::string Normal(std::uint64_t salt) const {
    return "(sqrt(-2.0 * ln(1.0 - " + Uniform(salt) + ")) * cos(6.283185307179586 * " +
           Uniform(salt + 1) + "))";
  }
  std::uint64_t NextSalt() {
    salt_ += 2;
    if (salt_ >= 65536) {
      std::fprintf(stderr, "error: too many columns for the salt space\n");
      std::exit(2);
    }
    return salt_;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t salt_ = 0;
};

std::string Padded(std::size_t value, int width) {
  std::string text = std::to_string(value);
  return std::string(text.size() < static_cast<std::size_t>(width) ? width - text.size() : 0, '0') +
         text;
}

/// Adds one planted group: its member columns (name + suffix) and its entry in the truth.
void AddGroup(const std::string& name, const std::string& kind, int survivors, int removed_by_pass,
              const std::vector<std::pair<std::string, std::string>>& members,
              std::vector<Column>& columns, std::vector<Group>& groups) {
  Group group{name, kind, {}, survivors, removed_by_pass};
  for (const auto& [suffix, sql] : members) {
    columns.push_back({name + suffix, sql, kind, name, "group"});
    group.members.push_back(name + suffix);
  }
  groups.push_back(group);
}

void Plan(std::size_t cols, std::uint64_t seed, std::vector<Column>& columns,
          std::vector<Group>& groups) {
  Planner planner(seed);
  const std::size_t n_constant = std::max<std::size_t>(1, cols * 4 / 100);
  const std::size_t n_missing = std::max<std::size_t>(1, cols * 4 / 100);
  const std::size_t n_duplicate = cols * 30 / 100 / 4;
  const std::size_t n_linear = cols * 15 / 100 / 3;
  const std::size_t n_nonlinear = cols * 10 / 100 / 4;
  const std::size_t used =
      n_constant + n_missing + 4 * n_duplicate + 3 * n_linear + 4 * n_nonlinear;
  if (n_duplicate == 0 || n_linear == 0 || n_nonlinear == 0 || used > cols) {
    std::fprintf(stderr, "error: COLS must be at least 40, so that every planted kind appears\n");
    std::exit(2);
  }
  const std::size_t n_independent = cols - used;

  for (std::size_t k = 0; k < n_constant; ++k) {
    columns.push_back({"const_" + Padded(k, 4), "3.0", "constant", "", "removed_pass1"});
  }
  for (std::size_t k = 0; k < n_missing; ++k) {
    const std::string sql = "CASE WHEN " + planner.Uniform(planner.NextSalt()) +
                            " < 0.7 THEN NULL ELSE " + planner.Normal(planner.NextSalt()) + " END";
    columns.push_back({"missing_" + Padded(k, 4), sql, "high_missing", "", "removed_pass1"});
  }
  for (std::size_t g = 0; g < n_duplicate; ++g) {
    const std::string name = "dup" + Padded(g, 4);
    const std::string base = planner.Normal(planner.NextSalt());
    const std::vector<std::pair<std::string, std::string>> members = {
        {"_a", base},
        {"_b", "1.0 + 2.5 * " + base + " + 0.15 * " + planner.Normal(planner.NextSalt())},
        {"_c", "exp(0.4 * " + base + ")"},
        {"_d", "round(" + base + ", 2)"}};
    AddGroup(name, "near_duplicate", 1, 2, members, columns, groups);
  }
  for (std::size_t g = 0; g < n_linear; ++g) {
    const std::string name = "lin" + Padded(g, 4);
    const std::string x1 = planner.Normal(planner.NextSalt());
    const std::string x2 = planner.Normal(planner.NextSalt());
    const std::vector<std::pair<std::string, std::string>> members = {
        {"_x1", x1},
        {"_x2", x2},
        {"_sum",
         "0.8 * " + x1 + " + 0.6 * " + x2 + " + 0.05 * " + planner.Normal(planner.NextSalt())}};
    AddGroup(name, "linear", 2, 3, members, columns, groups);
  }
  for (std::size_t g = 0; g < n_nonlinear; ++g) {
    const std::string name = "nl" + Padded(g, 4);
    const std::string x = "(2.0 * " + planner.Uniform(planner.NextSalt()) + " - 1.0)";
    const std::vector<std::pair<std::string, std::string>> members = {
        {"_x", x},
        {"_sq", x + " * " + x + " + 0.05 * " + planner.Normal(planner.NextSalt())},
        {"_sin", "sin(3.0 * " + x + ") + 0.05 * " + planner.Normal(planner.NextSalt())},
        {"_step", "(" + x + " > 0.3)::DOUBLE + 0.1 * " + planner.Normal(planner.NextSalt())}};
    AddGroup(name, "nonlinear", 1, 4, members, columns, groups);
  }
  const char* kinds[] = {"normal", "uniform", "count", "lognormal", "normal_missing"};
  for (std::size_t k = 0; k < n_independent; ++k) {
    const std::size_t kind = k % 5;
    std::string sql;
    switch (kind) {
      case 0:
        sql = planner.Normal(planner.NextSalt());
        break;
      case 1:
        sql = planner.Uniform(planner.NextSalt());
        break;
      case 2:
        sql = "floor(30.0 * " + planner.Uniform(planner.NextSalt()) + ")::INTEGER";
        break;
      case 3:
        sql = "exp(" + planner.Normal(planner.NextSalt()) + ")";
        break;
      default:
        sql = "CASE WHEN " + planner.Uniform(planner.NextSalt()) + " < 0.01 THEN NULL ELSE " +
              planner.Normal(planner.NextSalt()) + " END";
    }
    columns.push_back({"ind" + Padded(k, 4) + "_" + kinds[kind], sql, "independent", "", "keep"});
  }
  // Seeded Fisher-Yates (std::shuffle's algorithm is not specified by the standard).
  std::uint64_t state = seed ^ 0x6D616B655F646174ULL;
  for (std::size_t k = columns.size(); k > 1; --k) {
    const std::size_t j = SplitMix64(state) % k;
    std::swap(columns[k - 1], columns[j]);
  }
}

std::string Quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

int Usage() {
  std::fprintf(stderr,
               "usage: descpipe_make_data ROWS COLS OUT.parquet [--seed S] [--threads T]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  std::uint64_t seed = 1;
  std::string threads;
  for (int k = 1; k < argc; ++k) {
    const std::string arg = argv[k];
    if (arg == "--seed" && k + 1 < argc) {
      seed = std::strtoull(argv[++k], nullptr, 10);
    } else if (arg == "--threads" && k + 1 < argc) {
      threads = argv[++k];
    } else if (!arg.empty() && arg[0] == '-') {
      return Usage();
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 3) return Usage();
  if (seed >= 64) {
    std::fprintf(stderr, "error: --seed must be 0..63\n");
    return 2;
  }
  const long long rows = std::atoll(positional[0].c_str());
  const long long cols = std::atoll(positional[1].c_str());
  const std::string out = positional[2];
  if (rows <= 0 || cols <= 0) return Usage();
  std::string stem = out;
  if (stem.size() > 8 && stem.compare(stem.size() - 8, 8, ".parquet") == 0)
    stem.resize(stem.size() - 8);
  const std::string truth_path = stem + ".truth.json";

  std::vector<Column> columns;
  std::vector<Group> groups;
  Plan(static_cast<std::size_t>(cols), seed, columns, groups);

  std::string select =
      "'MOL' || lpad(i::VARCHAR, 9, '0') AS mol_id, repeat('C', 1 + (i % 17)::INTEGER) || 'O' AS "
      "smiles";
  for (const Column& column : columns)
    select += ",\n  " + column.sql + " AS \"" + column.name + "\"";
  const std::string tmp = out + ".tmp";
  const std::string sql = "COPY (SELECT " + select + "\nFROM range(" + std::to_string(rows) +
                          ") t(i)) TO " + Quote(tmp) + " (FORMAT parquet, ROW_GROUP_SIZE 122880)";

  duckdb_database database;
  duckdb_connection connection;
  if (duckdb_open(nullptr, &database) == DuckDBError ||
      duckdb_connect(database, &connection) == DuckDBError) {
    std::fprintf(stderr, "error: cannot open DuckDB\n");
    return 1;
  }
  int status = 0;
  std::vector<std::string> statements;
  if (!threads.empty()) statements.push_back("SET threads = " + threads);
  statements.push_back("SET preserve_insertion_order = true");
  statements.push_back(sql);
  for (const std::string& statement : statements) {
    duckdb_result result;
    if (duckdb_query(connection, statement.c_str(), &result) == DuckDBError) {
      std::fprintf(stderr, "error: writing %s: %s\n", out.c_str(), duckdb_result_error(&result));
      status = 1;
    }
    duckdb_destroy_result(&result);
    if (status != 0) break;
  }
  duckdb_disconnect(&connection);
  duckdb_close(&database);
  if (status != 0) {
    std::filesystem::remove(tmp);
    return status;
  }

  nlohmann::ordered_json truth;
  truth["rows"] = rows;
  truth["descriptors"] = cols;
  truth["seed"] = seed;
  truth["metadata_columns"] = {"mol_id", "smiles"};
  nlohmann::ordered_json column_list = nlohmann::ordered_json::array();
  for (const Column& column : columns) {
    column_list.push_back({{"name", column.name},
                           {"kind", column.kind},
                           {"group", column.group.empty() ? nlohmann::ordered_json(nullptr)
                                                          : nlohmann::ordered_json(column.group)},
                           {"expect", column.expect}});
  }
  nlohmann::ordered_json group_list = nlohmann::ordered_json::array();
  for (const Group& group : groups) {
    group_list.push_back({{"name", group.name},
                          {"kind", group.kind},
                          {"members", group.members},
                          {"survivors", group.survivors},
                          {"removed_by_pass", group.removed_by_pass}});
  }
  truth["columns"] = column_list;
  truth["groups"] = group_list;
  {
    std::ofstream file(truth_path + ".tmp");
    file << truth.dump(1) << "\n";
    if (!file.good()) {
      std::fprintf(stderr, "error: cannot write %s\n", truth_path.c_str());
      return 1;
    }
  }
  std::filesystem::rename(truth_path + ".tmp", truth_path);
  std::filesystem::rename(tmp, out);
  std::printf("%s: %lld rows x %lld descriptors; truth in %s\n", out.c_str(), rows, cols,
              truth_path.c_str());
  return 0;
}
