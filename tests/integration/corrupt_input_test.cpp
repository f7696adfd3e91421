// Corrupted Parquet, malformed CSV and unusable output directories through the executable. A bad
// input must end in descpipe's clean error (exit code 2, exactly one "error: " line on stderr that
// names the file, no output left behind) within a time limit; a corruption that still decodes
// (a flipped bit in a data page has no checksum to catch it) may instead give a complete run.
// Never a signal, a hang, exit code 3 (an unexpected std::exception) or a partial output.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "descpipe/table.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::Contains;
using testing::IsLogLine;
using testing::Lines;
using testing::ListDir;
using testing::QueryScalar;
using testing::ReadFile;
using testing::RunCli;
using testing::RunSql;
using testing::TempDir;
using testing::WriteFile;

/// A run that takes longer has hung: the valid 6,000-row input needs about a second.
constexpr int kTimeoutSeconds = 60;
/// Seed of every random offset and byte below: the variants are the same on every run.
constexpr std::uint32_t kSeed = 20240611;

/// What a run ended as: the clean error, a complete run, or anything else (a defect).
enum class Outcome { kCleanError, kSucceeded, kBroken };

class CorruptInputTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_ / name; }

  /// Runs `descpipe run INPUT -o OUT` (OUT fresh for every call) and classifies the result; on
  /// kBroken, `problem` says what broke the contract, with the whole stderr.
  Outcome Run(const std::string& input, std::string* problem, std::string* error_line = nullptr,
              std::vector<std::string> extra_args = {}) {
    const std::string out = Path("out-" + std::to_string(++runs_));
    std::vector<std::string> args = {"run", input, "-o", out, "-q"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    const CliResult result = RunCli(args, kTimeoutSeconds);
    last_out_ = out;
    std::ostringstream why;
    const auto broken = [&](const std::string& what) {
      why << what << " (exit code " << result.exit_code << ")\nstderr:\n" << result.err;
      *problem = why.str();
      return Outcome::kBroken;
    };
    if (result.timed_out)
      return broken("hung: killed after " + std::to_string(kTimeoutSeconds) + " s");
    if (result.exit_code == 0) {
      const std::string missing = MissingOutputs(out);
      if (!missing.empty()) return broken("exit code 0 but incomplete outputs: " + missing);
      if (Contains(result.err, "error: ")) return broken("exit code 0 with an error line");
      return Outcome::kSucceeded;
    }
    if (result.exit_code != 2) return broken("not descpipe's clean error exit code 2");
    std::string line;
    for (const std::string& each : Lines(result.err)) {
      if (each.rfind("error: ", 0) == 0) {
        if (!line.empty()) return broken("more than one error line");
        line = each;
      } else if (!IsLogLine(each)) {
        return broken("stray stderr line \"" + each + "\"");
      }
    }
    if (line.empty()) return broken("no error line");
    if (result.err.back() != '\n') return broken("stderr does not end with a newline");
    if (!Contains(line, input)) return broken("the error line does not name " + input);
    const std::string left = LeftBehind(out);
    if (!left.empty()) return broken("a failed run left " + left + " in " + out);
    if (error_line != nullptr) *error_line = line;
    return Outcome::kCleanError;
  }

  /// Expects the clean error and returns its line ("" after a failure).
  std::string RunFails(const std::string& input, std::vector<std::string> extra_args = {}) {
    std::string problem;
    std::string line;
    const Outcome outcome = Run(input, &problem, &line, std::move(extra_args));
    EXPECT_EQ(outcome, Outcome::kCleanError)
        << input << (outcome == Outcome::kSucceeded ? ": the run succeeded" : ": " + problem);
    return line;
  }

  void RunSucceeds(const std::string& input, std::vector<std::string> extra_args = {}) {
    std::string problem;
    std::string line;
    const Outcome outcome = Run(input, &problem, &line, std::move(extra_args));
    EXPECT_EQ(outcome, Outcome::kSucceeded)
        << input << (outcome == Outcome::kCleanError ? ": " + line : ": " + problem);
  }

  /// Names of the outputs of a complete run absent from `out`, and any temporary file there.
  static std::string MissingOutputs(const std::string& out) {
    std::string missing;
    for (const char* name :
         {"pass1_stats.csv", "pass1_columns.txt", "pass1_variance_filtering.json",
          "pass2_columns.txt", "pass2_spearman.json", "pass2_spearman_matrix.npy",
          "pass3_columns.txt", "pass3_vif.json", "pass4_hsic_matrix.npy", "pass4_rdc_matrix.npy",
          "pass4_nonlinear.json", "final_descriptors.txt", "final_cluster_info.json", "lineage.csv",
          "run_manifest.json"}) {
      if (!fs::is_regular_file(out + "/" + name)) missing += std::string(" ") + name;
    }
    for (const std::string& name : ListDir(out)) {
      if (name.find(".tmp") != std::string::npos) missing += " (temporary file " + name + ")";
    }
    return missing;
  }

  /// The files a failed run left in `out`: "" when none. A directory is allowed (resume keeps
  /// its checkpoints in OUTDIR/.checkpoint), and so is the manifest that a run writes before
  /// Pass 1 while it lists no pass (it says that no pass finished).
  static std::string LeftBehind(const std::string& out) {
    std::string left;
    for (const std::string& name : ListDir(out)) {
      if (fs::is_directory(out + "/" + name)) continue;
      if (name == "run_manifest.json") {
        try {
          const auto manifest = nlohmann::json::parse(ReadFile(out + "/" + name));
          if (manifest.at("passes").empty()) continue;
        } catch (const std::exception&) {
          // Not a manifest that says "no pass": listed below as left behind.
        }
      }
      left += (left.empty() ? "" : ", ") + name;
    }
    return left;
  }

  TempDir dir_;
  int runs_ = 0;
  std::string last_out_;
};

// ---- corrupted Parquet
// ---------------------------------------------------------------------------

/// Pass 4 on fewer rows and features: a complete run on the valid file takes about 0.2 s instead
/// of 0.8 s, and about a third of the variants below run to the end.
const std::vector<std::string> kFastPass4 = {
    "--set", "nonlinear_max_rows=1000", "--set", "hsic_D=64", "--set", "rdc_seeds=1"};

/// A corrupted copy of the valid file; `must_fail` when no reader may accept it (the footer or
/// its length or magic is gone or wrong), else a complete run is allowed too.
struct Variant {
  std::string name;
  std::string bytes;
  bool must_fail;
};

class CorruptParquetTest : public CorruptInputTest {
 protected:
  void SetUp() override {
    // 6,000 rows in three row groups (DuckDB rounds ROW_GROUP_SIZE up to 2,048), an id and ten
    // numeric columns of several types, one with NULLs and two dictionary-encoded.
    path_ = Path("valid.parquet");
    RunSql(
        "COPY (SELECT 'm' || range AS id, range * 1.0 AS c0, sin(range) AS c1, cos(range) * 100 AS "
        "c2, (range % 13) * 1.0 AS c3, sqrt(range) AS c4, ln(range + 1) AS c5, "
        "((range * range) % 97)::DOUBLE AS c6, (range % 2)::INTEGER AS c7, CASE WHEN range % 11 = "
        "0 "
        "THEN NULL ELSE range * 0.5 END AS c8, (hash(range) % 1000)::BIGINT AS c9 FROM "
        "range(6000)) "
        "TO " +
        QuoteLiteral(path_) + " (FORMAT parquet, ROW_GROUP_SIZE 2048)");
    bytes_ = ReadFile(path_);
    ASSERT_GT(bytes_.size(), 1000u);
    ASSERT_EQ(bytes_.substr(0, 4), "PAR1");
    ASSERT_EQ(bytes_.substr(bytes_.size() - 4), "PAR1");
    std::uint32_t footer_length = 0;
    std::memcpy(&footer_length, bytes_.data() + bytes_.size() - 8, 4);  // little-endian hosts
    footer_length_ = footer_length;
    ASSERT_LT(footer_length_ + 12, bytes_.size());
    footer_start_ = bytes_.size() - 8 - footer_length_;

    // Column chunks "row_group:page offset:dictionary offset (or -1):compressed size".
    const std::string chunks = QueryScalar(
        "SELECT string_agg(row_group_id || ':' || data_page_offset || ':' || "
        "coalesce(dictionary_page_offset, -1) || ':' || total_compressed_size, ',' ORDER BY "
        "row_group_id, column_id) FROM parquet_metadata(" +
        QuoteLiteral(path_) + ")");
    std::istringstream list(chunks);
    for (std::string item; std::getline(list, item, ',');) {
      Chunk chunk;
      ASSERT_EQ(std::sscanf(item.c_str(), "%d:%lld:%lld:%lld", &chunk.row_group, &chunk.data_page,
                            &chunk.dictionary_page, &chunk.size),
                4)
          << item;
      chunks_.push_back(chunk);
    }
    ASSERT_EQ(chunks_.size(), 33u) << chunks;  // 3 row groups x 11 columns
    ASSERT_EQ(chunks_.back().row_group, 2);
  }

  struct Chunk {
    int row_group = 0;
    long long data_page = 0;
    long long dictionary_page = -1;
    long long size = 0;
  };

  /// Start and end of row group `row_group` in the file.
  std::pair<std::size_t, std::size_t> RowGroupRange(int row_group) const {
    std::size_t begin = bytes_.size();
    std::size_t end = 0;
    for (const Chunk& chunk : chunks_) {
      if (chunk.row_group != row_group) continue;
      const long long start = chunk.dictionary_page >= 0 ? chunk.dictionary_page : chunk.data_page;
      begin = std::min(begin, static_cast<std::size_t>(start));
      end = std::max(end, static_cast<std::size_t>(start + chunk.size));
    }
    return {begin, end};
  }

  Variant Truncated(const std::string& name, std::size_t length) const {
    return {name + "_len" + std::to_string(length), bytes_.substr(0, length), true};
  }

  /// The file with `replacement` written over the bytes at `offset`.
  Variant Overwritten(const std::string& name, std::size_t offset, const std::string& replacement,
                      bool must_fail) const {
    std::string bytes = bytes_;
    bytes.replace(offset, replacement.size(), replacement);
    return {name + "_at" + std::to_string(offset), bytes, must_fail};
  }

  Variant Flipped(const std::string& name, std::size_t offset, unsigned char mask,
                  bool must_fail) const {
    return Overwritten(
        name, offset,
        std::string(1, static_cast<char>(static_cast<unsigned char>(bytes_[offset]) ^ mask)),
        must_fail);
  }

  static std::string FooterLength(std::uint32_t length) {
    std::string out(4, '\0');
    std::memcpy(out.data(), &length, 4);
    return out;
  }

  /// Runs every variant, expects the clean error or (unless must_fail) a complete run, and prints
  /// how many ended each way; `error_lines`, when given, receives every clean error's line.
  void RunVariants(const std::vector<Variant>& variants,
                   std::vector<std::string>* error_lines = nullptr) {
    int failed_cleanly = 0;
    int succeeded = 0;
    int broken = 0;
    std::string succeeded_names;
    // Under the sanitizers every third variant runs (each test still covers every region of the
    // file it damages) at a third of the cost; the release suite runs them all.
    const std::size_t stride = testing::kSanitizerBuild ? 3 : 1;
    std::size_t ran = 0;
    for (std::size_t variant_idx = 0; variant_idx < variants.size(); variant_idx += stride) {
      ++ran;
      const Variant& variant = variants[variant_idx];
      const std::string path = Path(variant.name + ".parquet");
      WriteFile(path, variant.bytes);
      std::string problem;
      std::string error_line;
      switch (Run(path, &problem, &error_line, kFastPass4)) {
        case Outcome::kCleanError:
          ++failed_cleanly;
          if (error_lines != nullptr) error_lines->push_back(error_line);
          break;
        case Outcome::kSucceeded:
          ++succeeded;
          succeeded_names += " " + variant.name;
          EXPECT_FALSE(variant.must_fail) << variant.name << ": a run on this file must fail";
          break;
        case Outcome::kBroken:
          ++broken;
          ADD_FAILURE() << variant.name << ": " << problem;
          break;
      }
      fs::remove(path);
    }
    std::cout << "[ variants ] " << ran << " of " << variants.size()
              << " corrupted files: " << failed_cleanly << " clean errors, " << succeeded
              << " complete runs, " << broken << " broken"
              << (succeeded_names.empty() ? "" : "\n[ readable ]" + succeeded_names) << "\n";
    RecordProperty("clean_errors", failed_cleanly);
    RecordProperty("complete_runs", succeeded);
  }

  /// Overwrites of the magic numbers, the footer length, the footer and page headers.
  std::vector<Variant> FooterHeaderAndMagicVariants() const {
    const std::size_t size = bytes_.size();
    std::vector<Variant> variants;
    // The leading magic: readers seek to the footer; a wrong leading magic need not be noticed.
    variants.push_back(Flipped("leading_magic0", 0, 0x01, false));
    variants.push_back(Overwritten("leading_magic_zeroed", 0, std::string(4, '\0'), false));
    // The trailing magic and the footer length: every reader checks them.
    for (std::size_t byte_idx = 0; byte_idx < 4; ++byte_idx) {
      variants.push_back(Flipped("trailing_magic", size - 4 + byte_idx, 0x20, true));
    }
    variants.push_back(Overwritten("trailing_magic_zeroed", size - 4, std::string(4, '\0'), true));
    variants.push_back(Overwritten("footer_length_zero", size - 8, FooterLength(0), true));
    variants.push_back(Overwritten("footer_length_max", size - 8, FooterLength(0xFFFFFFFFu), true));
    variants.push_back(Overwritten("footer_length_file_size", size - 8,
                                   FooterLength(static_cast<std::uint32_t>(size)), true));
    variants.push_back(Overwritten("footer_length_file_size_less_8", size - 8,
                                   FooterLength(static_cast<std::uint32_t>(size - 8)), true));
    variants.push_back(Overwritten("footer_length_plus_1", size - 8,
                                   FooterLength(static_cast<std::uint32_t>(footer_length_ + 1)),
                                   true));
    variants.push_back(Overwritten("footer_length_minus_1", size - 8,
                                   FooterLength(static_cast<std::uint32_t>(footer_length_ - 1)),
                                   true));
    variants.push_back(Flipped("footer_length_high_byte", size - 5, 0x80, true));
    variants.push_back(Overwritten("footer_length_half", size - 8,
                                   FooterLength(static_cast<std::uint32_t>(footer_length_ / 2)),
                                   true));

    // The footer (FileMetaData, Thrift compact): flips at its start and at random places, runs of
    // random bytes, and the whole footer zeroed. A flip in a statistic or a name can be harmless.
    std::mt19937 rng(kSeed + 1);
    const auto random_bytes = [&](std::size_t count) {
      std::string out(count, '\0');
      for (char& byte : out) byte = static_cast<char>(rng() & 0xFF);
      return out;
    };
    variants.push_back(Flipped("footer_first_byte", footer_start_, 0xFF, false));
    variants.push_back(Flipped("footer_second_byte", footer_start_ + 1, 0x10, false));
    for (int draw = 0; draw < 8; ++draw) {
      const std::size_t offset = footer_start_ + rng() % footer_length_;
      variants.push_back(
          Flipped("footer_flip", offset, static_cast<unsigned char>(1u << (rng() % 8)), false));
    }
    for (int draw = 0; draw < 4; ++draw) {
      const std::size_t offset = footer_start_ + rng() % (footer_length_ - 16);
      variants.push_back(Overwritten("footer_random16", offset, random_bytes(16), false));
    }
    variants.push_back(
        Overwritten("footer_zeroed", footer_start_, std::string(footer_length_, '\0'), true));

    // Page headers (Thrift compact, before every data and dictionary page): type, sizes, counts.
    for (const std::size_t chunk_idx : {0u, 7u, 13u, 32u}) {
      const Chunk& chunk = chunks_[chunk_idx];
      const std::string name = "page_header" + std::to_string(chunk_idx);
      for (const std::size_t byte_idx : {0u, 1u, 2u, 4u, 7u}) {
        variants.push_back(
            Flipped(name, static_cast<std::size_t>(chunk.data_page) + byte_idx, 0x41, false));
      }
      variants.push_back(Overwritten(name + "_random8", static_cast<std::size_t>(chunk.data_page),
                                     random_bytes(8), false));
      if (chunk.dictionary_page >= 0) {
        variants.push_back(Flipped(name + "_dictionary",
                                   static_cast<std::size_t>(chunk.dictionary_page) + 2, 0x41,
                                   false));
      }
    }
    return variants;
  }

  std::string path_;
  std::string bytes_;
  std::size_t footer_length_ = 0;
  std::size_t footer_start_ = 0;
  std::vector<Chunk> chunks_;
};

TEST_F(CorruptParquetTest, ValidFileRuns) { RunSucceeds(path_, kFastPass4); }

TEST_F(CorruptParquetTest, Truncations) {
  const std::size_t size = bytes_.size();
  std::vector<Variant> variants = {
      Truncated("empty", 0),
      Truncated("magic_part", 2),
      Truncated("magic_only", 4),
      Truncated("magic_and_a_byte", 5),
      Truncated("first_page_header", static_cast<std::size_t>(chunks_[0].data_page) + 6),
      Truncated("eight_bytes", 8),
      Truncated("no_trailing_magic", size - 4),
      Truncated("half_trailing_magic", size - 2),
      Truncated("last_byte", size - 1),
      Truncated("no_footer_length", size - 8),
      Truncated("half_footer_length", size - 6),
      Truncated("footer_start", footer_start_),
      Truncated("footer_first_byte", footer_start_ + 1),
      Truncated("footer_half", footer_start_ + footer_length_ / 2),
      Truncated("footer_less_a_byte", size - 9),
  };
  for (int row_group = 0; row_group < 3; ++row_group) {
    const auto [begin, end] = RowGroupRange(row_group);
    const std::string name = "row_group" + std::to_string(row_group);
    variants.push_back(Truncated(name + "_start", begin));
    variants.push_back(Truncated(name + "_middle", (begin + end) / 2));
    variants.push_back(Truncated(name + "_end", end));
  }
  std::mt19937 rng(kSeed);
  for (int draw = 0; draw < 6; ++draw)
    variants.push_back(Truncated("random", 9 + rng() % (size - 9)));
  ASSERT_GE(variants.size(), 30u);
  RunVariants(variants);
}

TEST_F(CorruptParquetTest, FooterHeaderAndMagicOverwrites) {
  const std::vector<Variant> variants = FooterHeaderAndMagicVariants();
  ASSERT_GE(variants.size(), 50u);
  RunVariants(variants);
}

// Among the footer and page-header variants above (the file name is F), DuckDB's and Thrift's
// messages used to reach the terminal as they were: "cannot read Parquet file 'F': don't know what
// type: \x0f" with the raw byte 0x0f, and "reading 'F': TProtocolException: Invalid data" (errors
// met while a pass reads) that did not say that F is a damaged Parquet file. Every error line must
// be printable text that says "Parquet".
TEST_F(CorruptParquetTest, CorruptionMessagesAreReadable) {
  std::vector<std::string> error_lines;
  RunVariants(FooterHeaderAndMagicVariants(), &error_lines);
  for (const std::string& line : error_lines) {
    EXPECT_TRUE(Contains(line, "Parquet"));
    for (const char c : line) {
      EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "a control character in: " << line;
    }
  }
}

TEST_F(CorruptParquetTest, DataPageOverwrites) {
  // Bytes inside the (Snappy-compressed) page data, past the page header: Parquet has no page
  // checksum by default, so a flip may decode to other values, or break the decompression.
  std::mt19937 rng(kSeed + 2);
  std::vector<Variant> variants;
  for (int draw = 0; draw < 14; ++draw) {
    const Chunk& chunk = chunks_[rng() % chunks_.size()];
    const std::size_t start = static_cast<std::size_t>(chunk.data_page) + 32;
    const std::size_t end = static_cast<std::size_t>(
        (chunk.dictionary_page >= 0 ? chunk.dictionary_page : chunk.data_page) + chunk.size);
    if (end <= start + 1) continue;
    const std::size_t offset = start + rng() % (end - start);
    variants.push_back(
        Flipped("data_flip", offset, static_cast<unsigned char>(1u << (rng() % 8)), false));
  }
  for (int draw = 0; draw < 6; ++draw) {
    const std::size_t offset = 4 + rng() % (footer_start_ - 4 - 64);
    std::string junk(64, '\0');
    for (char& byte : junk) byte = static_cast<char>(rng() & 0xFF);
    variants.push_back(Overwritten("random64", offset, junk, false));
  }
  // A whole row group zeroed, and a whole column chunk zeroed.
  const auto [begin, end] = RowGroupRange(1);
  variants.push_back(
      Overwritten("row_group1_zeroed", begin, std::string(end - begin, '\0'), false));
  variants.push_back(Overwritten("chunk2_zeroed", static_cast<std::size_t>(chunks_[2].data_page),
                                 std::string(static_cast<std::size_t>(chunks_[2].size), '\0'),
                                 false));
  ASSERT_GE(variants.size(), 20u);
  RunVariants(variants);
}

// ---- malformed CSV
// -------------------------------------------------------------------------------

class MalformedCsvTest : public CorruptInputTest {
 protected:
  /// "id,a,b,c" and `rows` rows "m<i>,<i>,<i % 7>,<i*i % 101>"; `edit(i, line)` may change row i.
  template <typename Edit>
  std::string Csv(const std::string& name, int rows, Edit edit,
                  const std::string& header = "id,a,b,c") {
    std::string text = header + "\n";
    for (int row = 0; row < rows; ++row) {
      std::string line = "m" + std::to_string(row) + "," + std::to_string(row) + "," +
                         std::to_string(row % 7) + "," + std::to_string((row * row) % 101);
      edit(row, line);
      text += line + "\n";
    }
    const std::string path = Path(name);
    WriteFile(path, text);
    return path;
  }
  std::string Csv(const std::string& name, int rows) {
    return Csv(name, rows, [](int, std::string&) {});
  }

  /// The descriptors of the last run's pass1_stats.csv, in order.
  std::vector<std::string> LastDescriptors() const {
    std::vector<std::string> names;
    const std::vector<std::string> lines = Lines(ReadFile(last_out_ + "/pass1_stats.csv"));
    for (std::size_t line_idx = 1; line_idx < lines.size(); ++line_idx) {
      names.push_back(lines[line_idx].substr(0, lines[line_idx].find(',')));
    }
    return names;
  }
  /// n_total of the first descriptor of the last run.
  std::string LastRowCount() const {
    const std::vector<std::string> lines = Lines(ReadFile(last_out_ + "/pass1_stats.csv"));
    if (lines.size() < 2) return "";
    const std::string& row = lines[1];
    const std::size_t first = row.find(',');
    return row.substr(first + 1, row.find(',', first + 1) - first - 1);
  }
};

TEST_F(MalformedCsvTest, UnquotedStrayQuoteIsText) {
  // No field is quoted, so the sniffer picks no quote character and '"m1499' is just an id.
  const std::string path = Csv("stray_quote.csv", 3000, [](int row, std::string& line) {
    if (row == 1499) line = "\"" + line;
  });
  RunSucceeds(path, {"--set", "id_columns=none"});  // a is the row number: an identifier
  EXPECT_EQ(LastDescriptors(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(LastRowCount(), "3000");
}

/// Quotes the id of every row but `open_row`, whose quote never closes.
auto QuotedIds(int open_row) {
  return [open_row](int row, std::string& line) {
    const std::size_t comma = line.find(',');
    line = "\"" + line.substr(0, comma) + (row == open_row ? "" : "\"") + line.substr(comma);
  };
}

TEST_F(MalformedCsvTest, UnterminatedQuoteInsideTheSniffedRowsIsText) {
  // With the open quote in the sniffed rows, no quote character parses every row, so the sniffer
  // takes none: ids keep their quotes, the numbers are read as they are.
  RunSucceeds(Csv("unterminated.csv", 3000, QuotedIds(1499)),
              {"--set", "id_columns=none"});  // a is the row number: an identifier
  EXPECT_EQ(LastDescriptors(), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(LastRowCount(), "3000");
}

TEST_F(MalformedCsvTest, UnterminatedQuoteAfterTheSniffedRows) {
  // DuckDB sniffs the first 20,480 rows and takes '"' as the quote; row 25,000 (line 25,002)
  // opens one that never closes.
  const std::string error = RunFails(Csv("late_unterminated.csv", 30000, QuotedIds(25000)));
  EXPECT_TRUE(Contains(error, "25002"));
  EXPECT_TRUE(Contains(error, "unterminated quote"));
}

TEST_F(MalformedCsvTest, RaggedRowsAreACleanError) {
  // A row with a field too many or too few inside the sniffed rows: the sniffer finds no
  // consistent dialect.
  for (const std::string& tail : {std::string(",9"), std::string("")}) {
    const std::string path =
        Csv(tail.empty() ? "too_few.csv" : "too_many.csv", 3000, [&](int row, std::string& line) {
          if (row != 1499) return;
          line = tail.empty() ? line.substr(0, line.rfind(',')) : line + tail;
        });
    RunFails(path);
  }
}

// For a row with one field too few or too many at line 1,501 of 3,001 (or ten rows with ';' for ','
// there), DuckDB's sniffer finds no dialect that parses every sniffed row and falls back to one
// VARCHAR column holding whole lines; descpipe used to say "'.../too_few.csv' has no numeric
// descriptor column (1 columns, 1 of them metadata)". It now reads the file again with the
// header's dialect, so that the error names the line.
TEST_F(MalformedCsvTest, RaggedRowMessageNamesTheLine) {
  const std::string path = Csv("too_few.csv", 3000, [](int row, std::string& line) {
    if (row == 1499) line = line.substr(0, line.rfind(','));
  });
  const std::string error = RunFails(path);
  EXPECT_TRUE(Contains(error, "1501")) << error;
  EXPECT_TRUE(Contains(error, "Expected Number of Columns: 4")) << error;
}

TEST_F(MalformedCsvTest, RaggedRowAfterTheSniffedRows) {
  // DuckDB sniffs the first 20,480 rows; row 25,000 has a field too few.
  const std::string path = Csv("late_ragged.csv", 30000, [](int row, std::string& line) {
    if (row == 25000) line = line.substr(0, line.rfind(','));
  });
  const std::string error = RunFails(path);
  EXPECT_TRUE(Contains(error, "25002"));  // line 1 is the header
  EXPECT_TRUE(Contains(error, "Expected Number of Columns: 4"));
}

TEST_F(MalformedCsvTest, TextInsideTheSniffedRowsFollowsNonNumeric) {
  // The sniffer sees "hello" and types "a" VARCHAR; descpipe decides over every row: one text
  // value among numbers is an error naming it, or, with non_numeric: metadata, the column is
  // metadata. (Text after the sniffed rows: BadInputTest.NonNumericValueAfterTheSniffedRows.)
  const std::string path = Csv("text.csv", 3000, [](int row, std::string& line) {
    if (row == 1500) line = "m1500,hello,1,5";
  });
  const std::string error = RunFails(path);
  EXPECT_TRUE(Contains(error, "\"a\"")) << error;
  EXPECT_TRUE(Contains(error, "\"hello\" on line 1502")) << error;
  RunSucceeds(path, {"--set", "non_numeric=metadata"});
  EXPECT_EQ(LastDescriptors(), (std::vector<std::string>{"b", "c"}));
}

TEST_F(MalformedCsvTest, EmbeddedNul) {
  // A NUL inside a number, within the sniffed rows or after them, is a value that is not a
  // number: the error names the file, the column, the line and the value (NUL as \x00).
  for (const int row_with_nul : {1500, 25000}) {
    const std::string path = Csv("nul" + std::to_string(row_with_nul) + ".csv", row_with_nul + 5000,
                                 [&](int row, std::string& line) {
                                   if (row == row_with_nul)
                                     line = "m1,15" + std::string(1, '\0') + "00,2,28";
                                 });
    const std::string error = RunFails(path);
    EXPECT_TRUE(Contains(error, "\"a\"")) << error;
    EXPECT_TRUE(Contains(error, "\"15\\x0000\" on line " + std::to_string(row_with_nul + 2)))
        << error;
  }
  // With non_numeric: metadata the column is metadata, as any text column.
  RunSucceeds(Path("nul1500.csv"), {"--set", "non_numeric=metadata"});
  EXPECT_EQ(LastDescriptors(), (std::vector<std::string>{"b", "c"}));
}

TEST_F(MalformedCsvTest, InvalidUtf8) {
  const std::string path = Csv("latin1.csv", 3000, [](int row, std::string& line) {
    if (row == 1500)
      line =
          "m\xe9\xff"
          "1500,1500,2,28";
  });
  const std::string error = RunFails(path);
  EXPECT_TRUE(Contains(error, "1502")) << "the line number";  // line 1 is the header
  EXPECT_TRUE(Contains(error, "utf-8"));
}

// DuckDB gives the right line number but quotes the line before it:
//   CSV Error on Line: 1502; Original Line: m1499,1499,1,54; Invalid unicode (byte sequence
//   mismatch) detected. This file is not utf-8 encoded.
// (line 1,502 is "m\xe9\xff1500,1500,2,28"; "m1499,..." is line 1,501): no wrong line is quoted.
TEST_F(MalformedCsvTest, InvalidUtf8QuotesTheRightLine) {
  const std::string path = Csv("latin1.csv", 3000, [](int row, std::string& line) {
    if (row == 1500)
      line =
          "m\xe9\xff"
          "1500,1500,2,28";
  });
  const std::string error = RunFails(path);
  EXPECT_FALSE(Contains(error, "m1499,1499,1,54"));
}

TEST_F(MalformedCsvTest, EmptyFile) {
  const std::string path = Path("empty.csv");
  WriteFile(path, "");
  EXPECT_TRUE(Contains(RunFails(path), "zero rows"));
}

TEST_F(MalformedCsvTest, ParquetFileNamedCsv) {
  const std::string path = Path("table.csv");
  RunSql(
      "COPY (SELECT 'm' || range AS id, range * 1.0 AS a, sin(range) AS b FROM range(3000)) TO " +
      QuoteLiteral(path) + " (FORMAT parquet)");
  EXPECT_TRUE(Contains(RunFails(path), "CSV"));
}

TEST_F(MalformedCsvTest, SemicolonsInAFewRows) {
  // Ten rows in the middle use ';': each is one field where four are expected.
  const std::string path = Csv("some_semicolons.csv", 3000, [](int row, std::string& line) {
    if (row >= 1500 && row < 1510)
      for (char& c : line)
        if (c == ',') c = ';';
  });
  // The first of them is named.
  const std::string error = RunFails(path);
  EXPECT_TRUE(Contains(error, "1502")) << error;
}

TEST_F(MalformedCsvTest, SemicolonHeader) {
  // The header uses ';', the rows ','. The sniffer skips the header line and takes the first row
  // "m0,0,0,0" as the header, whose two "0" are caught as a duplicate column name; see
  // SemicolonHeaderWithDistinctFirstRow for a first row without a repeated value.
  const std::string path = Csv(
      "semicolon_header.csv", 3000, [](int, std::string&) {}, "id;a;b;c");
  RunFails(path);
}

// Same file with a first row "m0,10,3,7": DuckDB's sniffer skips the ';' header line as a preamble
// and takes that row as the header. It used to succeed silently on 3,000 of 3,001 rows with
// descriptors named "10", "3" and "7"; descpipe now checks that the sniffer skipped no line.
TEST_F(MalformedCsvTest, SemicolonHeaderWithDistinctFirstRow) {
  const std::string path = Csv(
      "semicolon_header.csv", 3001,
      [](int row, std::string& line) {
        if (row == 0) line = "m0,10,3,7";
      },
      "id;a;b;c");
  std::string problem;
  std::string error;
  const Outcome outcome = Run(path, &problem, &error);
  ASSERT_NE(outcome, Outcome::kBroken) << problem;
  EXPECT_EQ(outcome, Outcome::kCleanError);
  EXPECT_TRUE(Contains(error, "skips the first 1 line")) << error;
}

// When the second half of the file uses ';' instead of ',', DuckDB's sniffer picks ';', skips the
// first 1,501 lines as a preamble and takes the data row "m1499;1499;1;54" as the header. It used
// to succeed silently on 1,500 of 3,000 rows with descriptors "1499", "1" and "54"; descpipe now
// checks that the sniffer skipped no line.
TEST_F(MalformedCsvTest, DelimiterChangesHalfway) {
  const std::string path = Csv("delimiter_change.csv", 3000, [](int row, std::string& line) {
    if (row >= 1499)
      for (char& c : line)
        if (c == ',') c = ';';
  });
  std::string problem;
  std::string error;
  const Outcome outcome = Run(path, &problem, &error);
  ASSERT_NE(outcome, Outcome::kBroken) << problem;
  EXPECT_EQ(outcome, Outcome::kCleanError);
  EXPECT_TRUE(Contains(error, "skips the first 1500 lines")) << error;
  EXPECT_TRUE(Contains(error, "same delimiter")) << error;
}

// ---- not a regular file -------------------------------------------------------------------------

TEST_F(CorruptInputTest, NamedPipeInputFailsWithoutWaiting) {
  // Opening a FIFO with no writer would block forever; descpipe must refuse it before that.
  for (const std::string name : {"pipe.parquet", "pipe.csv"}) {
    const std::string path = Path(name);
    ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
    RunFails(path);
  }
}

// A named pipe (or another non-regular file) given as input used to give "input
// '.../pipe.parquet' does not exist" although it exists.
TEST_F(CorruptInputTest, NamedPipeInputMessage) {
  const std::string path = Path("pipe.parquet");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0) << path;
  const std::string error = RunFails(path);
  EXPECT_FALSE(Contains(error, "does not exist"));
  EXPECT_TRUE(Contains(error, "is not a regular file (a named pipe)")) << error;
}

// ---- output directory
// ---------------------------------------------------------------------------- (An output directory
// that is an existing regular file is BadInputTest.OutputDirectoryIsAFile.)

class OutputDirectoryTest : public CorruptInputTest {
 protected:
  void SetUp() override {
    input_ = Path("input.parquet");
    RunSql(
        "COPY (SELECT 'm' || range AS id, range * 0.5 AS a, sin(range) AS b, (range % 7) * 1.0 AS "
        "c "
        "FROM range(200)) TO " +
        QuoteLiteral(input_) + " (FORMAT parquet)");
  }

  /// `descpipe run INPUT -o out_dir`: the clean error, its line (contract checked as above, with
  /// OUT being `out_dir`).
  std::string RunFailsWithOut(const std::string& input, const std::string& out_dir) {
    const CliResult result = RunCli({"run", input, "-o", out_dir, "-q"}, kTimeoutSeconds);
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.exit_code, 2) << result.err;
    const std::vector<std::string> lines = Lines(result.err);
    EXPECT_EQ(lines.size(), 1u) << result.err;
    const std::string line = lines.empty() ? "" : lines.front();
    EXPECT_EQ(line.rfind("error: ", 0), 0u) << line;
    EXPECT_TRUE(Contains(line, out_dir));
    return line;
  }

  std::string input_;
};

TEST_F(OutputDirectoryTest, ParentNotWritable) {
  if (::geteuid() == 0) GTEST_SKIP() << "root writes into any directory";
  const std::string parent = Path("read_only");
  fs::create_directory(parent);
  fs::permissions(parent, fs::perms::owner_read | fs::perms::owner_exec);
  const std::string out = parent + "/out";
  const std::string error = RunFailsWithOut(input_, out);
  fs::permissions(parent, fs::perms::owner_all);
  EXPECT_TRUE(Contains(error, "cannot create output directory")) << error;
  EXPECT_FALSE(fs::exists(out));
}

TEST_F(OutputDirectoryTest, OutputDirectoryIsTheInputFile) {
  const std::string before = ReadFile(input_);
  const std::string error = RunFailsWithOut(input_, input_);
  EXPECT_TRUE(Contains(error, "is the input file")) << error;
  EXPECT_EQ(ReadFile(input_), before);
  EXPECT_EQ(ListDir(dir_.path()), (std::vector<std::string>{"input.parquet"}));
}

TEST_F(OutputDirectoryTest, InputInsideTheOutputDirectory) {
  const std::string out = Path("out");
  fs::create_directory(out);
  const std::string inside = out + "/input.parquet";
  fs::copy_file(input_, inside);
  const std::string error = RunFailsWithOut(inside, out);
  EXPECT_TRUE(Contains(error, inside)) << error;
  EXPECT_TRUE(Contains(error, "inside the output directory")) << error;
  EXPECT_EQ(ListDir(out), (std::vector<std::string>{"input.parquet"}));
  // Also when the input is named by its directory.
  const std::string by_directory = RunFailsWithOut(out, out);
  EXPECT_TRUE(Contains(by_directory, "inside the output directory")) << by_directory;
  EXPECT_EQ(ListDir(out), (std::vector<std::string>{"input.parquet"}));
}

TEST_F(OutputDirectoryTest, PathThroughARegularFile) {
  const std::string file = Path("a_file");
  WriteFile(file, "not a directory");
  const std::string out = file + "/sub";
  const std::string error = RunFailsWithOut(input_, out);
  EXPECT_TRUE(Contains(error, "Not a directory")) << error;
  EXPECT_EQ(ReadFile(file), "not a directory");
  // Two levels below the file too.
  RunFailsWithOut(input_, file + "/sub/deeper");
}

}  // namespace
}  // namespace descpipe
