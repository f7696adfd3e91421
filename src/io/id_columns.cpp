// Identifier columns: integer columns that number the rows or the compounds (an index written by
// pandas, a PubChem CID) rather than describe the molecules. Found by name, or by their values:
// all present, integral, distinct, and in order or consecutive.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/text.hpp"
#include "descpipe/error.hpp"
#include "descpipe/table.hpp"

namespace descpipe {
namespace {

/// Rows of the first read: enough that a descriptor shows a fractional value or repeats one (a
/// count whose range is under ~500,000 repeats within 1,024 rows, by the birthday bound), so that
/// only identifiers (and a rare coincidence) are read in full. Small, because the first read
/// covers every descriptor: on a table of a few thousand rows it would cost as much as Pass 1.
constexpr std::uint64_t kFirstReadRows = 1024;

/// What one read learns about a column's values, in row order.
struct ValueSequence {
  std::uint64_t rows = 0;     ///< values seen, missing ones included
  std::uint64_t missing = 0;  ///< NULL or NaN
  bool integral = true;       ///< every present value is a finite whole number
  bool increasing = true;     ///< every present value is larger than the one before
  bool decreasing = true;     ///< every present value is smaller than the one before
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double last = std::numeric_limits<double>::quiet_NaN();
  bool repeats = false;  ///< a value seen twice (looked for in the first read only)

  void Add(const double* values, const std::uint8_t* nulls, std::size_t n) {
    rows += n;
    for (std::size_t row = 0; row < n; ++row) {
      const double x = values[row];
      if (nulls[row] != 0 || std::isnan(x)) {
        ++missing;
        continue;
      }
      integral = integral && std::isfinite(x) && std::floor(x) == x;
      if (!std::isnan(last)) {
        increasing = increasing && x > last;
        decreasing = decreasing && x < last;
      }
      last = x;
      min = std::min(min, x);
      max = std::max(max, x);
    }
  }
  /// Sets `repeats` when a present value occurs twice among these `n` (sorts a copy in `scratch`).
  void FindRepeats(const double* values, const std::uint8_t* nulls, std::size_t n,
                   std::vector<double>& scratch) {
    scratch.clear();
    for (std::size_t row = 0; row < n; ++row) {
      if (nulls[row] == 0) scratch.push_back(values[row]);
    }
    std::sort(scratch.begin(), scratch.end());
    repeats = repeats || std::adjacent_find(scratch.begin(), scratch.end()) != scratch.end();
  }
  std::uint64_t present() const { return rows - missing; }
  bool monotone() const { return increasing || decreasing; }
  /// max - min + 1 (as a double: exact below 2^53, where integral values are told apart).
  double span() const { return present() == 0 ? 0.0 : max - min + 1.0; }
  /// Whether the values can still be those of an identifier found by its values: all present,
  /// integral, and either in order or spread wide enough to be distinct.
  bool MayBeIdentifier() const {
    return missing == 0 && integral && !repeats && present() > 0 &&
           (monotone() || span() >= static_cast<double>(present()));
  }
};

/// Rows per batch: DefaultBatchRows, but no more than the table has (a small table's reads would
/// otherwise allocate, and leave to malloc, batches sized for a large one).
std::size_t BatchRows(const Table& table, std::size_t n_columns) {
  const std::size_t rows = DefaultBatchRows(n_columns);
  const std::int64_t known = table.known_row_count();
  if (known < 0) return rows;
  return std::min(rows, (static_cast<std::size_t>(known) + 255) / 256 * 256);
}

// The reads below decode on the calling thread (prefetch 0): the check of a value costs far less
// than its decoding, so a background decoder would gain little, and its thread's malloc arena kept
// a few MB more resident after every run in a process that runs many
// (MemoryTest.TwentyRunsInOneProcessDoNotGrow).

/// Reads `columns` of `table` (at most `max_rows` rows when > 0, in one batch, where repeated
/// values are looked for too) into one sequence each; returns whether the read covered every row.
bool ReadSequences(const Table& table, const std::vector<std::string>& columns,
                   std::uint64_t max_rows, std::vector<ValueSequence>& sequences) {
  sequences.assign(columns.size(), ValueSequence{});
  const std::size_t batch_rows =
      max_rows > 0 ? static_cast<std::size_t>(max_rows) : BatchRows(table, columns.size());
  ColumnReader reader(table, columns, batch_rows, 0);
  ColumnBatch batch;
  std::vector<double> scratch;
  while (max_rows == 0 || reader.rows_read() < max_rows) {
    if (!reader.Next(batch)) return true;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      ValueSequence& sequence = sequences[c];
      sequence.Add(batch.column(c), batch.nulls(c), batch.n_rows);
      if (max_rows > 0 && sequence.MayBeIdentifier() && !sequence.monotone())
        sequence.FindRepeats(batch.column(c), batch.nulls(c), batch.n_rows, scratch);
    }
  }
  const std::int64_t known = table.known_row_count();
  return known >= 0 && reader.rows_read() == static_cast<std::uint64_t>(known);
}

/// Whether every value of each of `columns` (integral, each in [min, min + span)) is distinct: one
/// bit per possible value.
std::vector<bool> AllDistinct(const Table& table, const std::vector<std::string>& columns,
                              const std::vector<ValueSequence>& sequences) {
  std::vector<std::vector<std::uint64_t>> seen(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c)
    seen[c].assign(static_cast<std::size_t>(sequences[c].span()) / 64 + 1, 0);
  std::vector<bool> distinct(columns.size(), true);
  ColumnReader reader(table, columns, BatchRows(table, columns.size()), 0);
  ColumnBatch batch;
  while (reader.Next(batch)) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      const double* values = batch.column(c);
      for (std::size_t row = 0; row < batch.n_rows && distinct[c]; ++row) {
        const auto bit = static_cast<std::uint64_t>(values[row] - sequences[c].min);
        std::uint64_t& word = seen[c][bit / 64];
        const std::uint64_t mask = std::uint64_t{1} << (bit % 64);
        distinct[c] = (word & mask) == 0;
        word |= mask;
      }
    }
  }
  return distinct;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() > suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool IsIdentifierName(const std::string& name) {
  static const std::vector<std::string> kNames = {
      "id",    "cid",    "sid",        "index",  "idx",        "original_index",   "row",
      "rowid", "row_id", "row_number", "rownum", "unnamed: 0", "__index_level_0__"};
  const std::string lower = AsciiLower(name);
  for (const std::string& known : kNames) {
    if (lower == known) return true;
  }
  return EndsWith(lower, "_id") || EndsWith(lower, "_idx") || EndsWith(lower, "_index");
}

std::vector<IdColumn> FindIdColumns(const Table& table, const std::vector<std::string>& candidates,
                                    const Context& ctx) {
  (void)ctx;  // one reader thread: the reads are short, or of a few columns
  std::vector<IdColumn> found;
  if (candidates.empty()) return found;

  // First read: the first rows of every candidate.
  std::vector<ValueSequence> first;
  const bool whole = ReadSequences(table, candidates, kFirstReadRows, first);
  std::vector<std::string> left;
  for (std::size_t c = 0; c < candidates.size(); ++c) {
    const bool by_name =
        first[c].integral && first[c].present() > 0 && IsIdentifierName(candidates[c]);
    if (by_name || first[c].MayBeIdentifier()) left.push_back(candidates[c]);
  }
  if (left.empty()) return found;

  // Then every row of the few left (the first read already saw every row of a small table).
  std::vector<ValueSequence> sequences;
  if (whole) {
    for (std::size_t c = 0; c < candidates.size(); ++c) {
      if (std::find(left.begin(), left.end(), candidates[c]) != left.end())
        sequences.push_back(first[c]);
    }
  } else {
    spdlog::info("id_columns: reading every row of {} column{} that may be identifiers",
                 left.size(), left.size() == 1 ? "" : "s");
    ReadSequences(table, left, 0, sequences);
  }
  const std::uint64_t rows = sequences.front().rows;
  const bool values_count = rows >= static_cast<std::uint64_t>(kMinIdentifierRows);

  // A consecutive column out of order is distinct only if no value repeats: one more read.
  std::vector<std::string> unordered;
  std::vector<ValueSequence> unordered_sequences;
  for (std::size_t c = 0; c < left.size(); ++c) {
    const ValueSequence& s = sequences[c];
    if (values_count && s.MayBeIdentifier() && !s.monotone() &&
        s.span() == static_cast<double>(rows)) {
      unordered.push_back(left[c]);
      unordered_sequences.push_back(s);
    }
  }
  const std::vector<bool> distinct =
      unordered.empty() ? std::vector<bool>() : AllDistinct(table, unordered, unordered_sequences);

  for (std::size_t c = 0; c < left.size(); ++c) {
    const ValueSequence& s = sequences[c];
    const bool consecutive = s.span() == static_cast<double>(rows);
    std::string by_values;
    if (values_count && s.MayBeIdentifier()) {
      if (s.monotone()) {
        by_values = fmt::format("all {} values distinct and {}", rows,
                                consecutive    ? "consecutive"
                                : s.increasing ? "increasing"
                                               : "decreasing");
      } else if (consecutive) {
        const auto at = std::find(unordered.begin(), unordered.end(), left[c]);
        if (distinct[static_cast<std::size_t>(at - unordered.begin())])
          by_values = fmt::format("all {} values distinct and consecutive", rows);
      }
    }
    const bool by_name = s.integral && s.present() > 0 && IsIdentifierName(left[c]);
    if (!by_name && by_values.empty()) continue;
    std::string reason = by_name ? "named like an identifier, with integer values" : "";
    if (!by_values.empty()) reason += (reason.empty() ? "" : "; ") + by_values;
    found.push_back({left[c], reason});
  }
  return found;
}

}  // namespace descpipe
