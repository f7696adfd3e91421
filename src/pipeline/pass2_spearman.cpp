// Pass 2: Spearman matrix of the Pass 1 survivors and redundancy clusters.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/memory.hpp"
#include "common/memory_budget.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/similarity.hpp"
#include "io/atomic_file.hpp"
#include "io/npy.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {
namespace {

/// The smallest row sample Pass 2 takes when every row does not fit (all rows when fewer): below
/// it, rho's sampling error (~1 / sqrt(rows)) would blur the clusters at spearman_threshold.
constexpr double kMinSampleRows = 1000.0;

/// Keeps rows whose key is below a bound chosen so that the expected count is a few standard
/// deviations under `capacity`; any excess (vanishingly rare) is cut at the capacity. Both depend
/// only on the seed and row positions.
struct RowSelector {
  std::uint64_t bound = UINT64_MAX;
  std::uint64_t capacity = 0;
  std::uint64_t seed = 0;
  bool all = true;
  bool Keep(std::uint64_t row) const { return all || RowSampleKey(row, seed) < bound; }

  /// A sample of at most `rows` (< table_rows) of `table_rows` rows: about rows - 6 sqrt(rows) of
  /// them are expected under the bound. The fraction is below 1, so the bound fits in 64 bits.
  static RowSelector Sample(std::uint64_t rows, std::uint64_t table_rows, std::uint64_t seed) {
    RowSelector selector;
    selector.all = false;
    selector.seed = seed;
    selector.capacity = rows;
    const double capacity = static_cast<double>(rows);
    const double expected = std::max(1.0, capacity - 6.0 * std::sqrt(capacity));
    const double fraction = std::min(expected / static_cast<double>(table_rows), 1.0 - 0x1.0p-52);
    selector.bound = static_cast<std::uint64_t>(std::ldexp(fraction, 64));
    return selector;
  }
  double Expected() const {
    const double capacity = static_cast<double>(this->capacity);
    return all ? capacity : std::max(1.0, capacity - 6.0 * std::sqrt(capacity));
  }
};

/// Batches decoded ahead by the reads of column blocks: none. The reading thread only copies the
/// values, so decoding ahead gains little, and DuckDB then holds one row group's column chunks
/// instead of two (half the reader's memory on tall tables).
constexpr std::size_t kBlockPrefetch = 0;

/// Rows per batch for a Pass 2 read of `columns` columns of a table of `table_rows` rows: the
/// reader's usual size, never more than the table has (a batch of 1,024 rows for a 3-row table
/// would only waste memory; the results do not depend on the batch size).
std::size_t BatchRows(std::size_t columns, std::uint64_t table_rows) {
  return std::max<std::size_t>(1, std::min<std::uint64_t>(DefaultBatchRows(columns), table_rows));
}

/// What Pass 2 will hold at its peak, phase by phase (docs/SPEARMAN.md, "Memory"), for a rank
/// matrix of `held` rows stored with `cell` bytes per value, read `block` columns at a time.
struct Pass2Memory {
  double base = 0;            ///< the process, plus per-column bookkeeping of every pass
  double rows = 0;            ///< rows of the table
  double width = 0;           ///< columns of the rank matrix (survivors + target)
  double survivors = 0;       ///< Pass 1 survivors
  double incomplete = 0;      ///< columns of the rank matrix with missing values
  double file_rows = 0;       ///< rows of the largest input file (DuckDB decodes its row groups)
  double nonlinear_rows = 0;  ///< Pass 4's row sample (0: none)
  double threads = 1;
  bool pearson = false;
  const Table* table = nullptr;  ///< what a scan holds besides its batches depends on the source

  /// A reader of `columns` columns, decoding `prefetch` batches ahead.
  double Scan(double columns, double prefetch = kBlockPrefetch) const {
    const double batch = static_cast<double>(
        BatchRows(static_cast<std::size_t>(columns), static_cast<std::uint64_t>(rows)));
    return table->ScanBufferBytes(columns, file_rows, prefetch) +
           ReaderBatchBytes(columns, batch, prefetch);
  }
  double Square(double n) const { return 8.0 * n * n; }
  double Correlation(double columns) const {
    return CorrelationPeakBytes(static_cast<std::size_t>(columns),
                                static_cast<std::size_t>(incomplete));
  }
  /// The p x p part: the largest of the correlation steps (with the Pearson matrix held for
  /// Pass 3), the copy without the target column, and writing the .npy outputs (each written
  /// through a copy of the matrix).
  double Matrices(double held) const {
    const double pear = pearson ? Square(survivors) : 0.0;
    const double copy = width != survivors ? Square(survivors) : 0.0;
    const double sample =
        nonlinear_rows > 0 ? 8.0 * std::min(held, nonlinear_rows) * survivors : 0.0;
    const double rho = Square(survivors) + 8.0 * width;
    return std::max({(pearson ? Correlation(width) + copy : 0.0), pear + Correlation(width),
                     pear + Square(width) + copy,
                     pear + rho + sample + std::max(Square(survivors), sample)});
  }
  /// Everything but the graph (checked when its edges are known) for `held` rows of `cell`
  /// bytes, read `block` columns at a time; `float_ranks`: the values are read into a block
  /// buffer of doubles and ranked there (storage 2), and Pearson comes from a streaming read.
  double Peak(double held, double cell, double block, bool float_ranks) const {
    const double matrix = cell * held * width;
    const double rank = std::min(threads, float_ranks ? block : width) *
                        RankScratchBytes(static_cast<std::size_t>(held));
    const double read = matrix + Scan(block) + (float_ranks ? 8.0 * held * block + rank : 0.0);
    // Pass 4's sample is drawn while the rank matrix is alive (keys of every row held).
    const double keys =
        nonlinear_rows > 0 && held > nonlinear_rows ? 16.0 * held + 8.0 * nonlinear_rows : 0.0;
    double peak =
        std::max({read, matrix + (float_ranks ? 0.0 : rank + (pearson ? Square(survivors) : 0.0)),
                  matrix + Matrices(held) + keys});
    if (float_ranks && pearson)
      peak = std::max(peak, matrix + Correlation(survivors) + Scan(survivors, 2.0));
    return base + peak;
  }
  /// The widest block (at most `width`) whose read fits `limit`, or 0 when not even one column.
  double Block(double held, double cell, bool float_ranks, double limit) const {
    auto fits = [&](double block) {
      const double matrix = cell * held * width;
      const double rank =
          std::min(threads, block) * RankScratchBytes(static_cast<std::size_t>(held));
      return base + matrix + Scan(block) + (float_ranks ? 8.0 * held * block + rank : 0.0) <= limit;
    };
    if (fits(width)) return width;
    double low = 0, high = width;  // fits(low) (or low == 0), !fits(high)
    while (high - low > 1) {
      const double mid = std::floor((low + high) / 2);
      (fits(mid) ? low : high) = mid;
    }
    return low;
  }
};

/// Reads `names` into columns [first, first + names.size()) of `matrix` at the rows `selector`
/// keeps (NULL as NaN), up to matrix.n_rows rows. @returns the rows filled.
std::size_t ReadColumnBlock(const Table& table, const std::vector<std::string>& names,
                            std::size_t first, const RowSelector& selector,
                            std::uint64_t table_rows, ColumnMatrix& matrix,
                            const std::function<void(std::uint64_t)>& progress) {
  ColumnReader reader(table, names, BatchRows(names.size(), table_rows), kBlockPrefetch);
  ColumnBatch batch;
  std::vector<std::size_t> picked;
  std::size_t filled = 0;
  while (reader.Next(batch)) {
    picked.clear();
    for (std::size_t row = 0; row < batch.n_rows && filled + picked.size() < matrix.n_rows; ++row) {
      if (selector.Keep(batch.first_row + row)) picked.push_back(row);
    }
    DESCPIPE_EXPECTS(!selector.all || filled + batch.n_rows <= matrix.n_rows,
                     "{} has more rows than Pass 1 counted ({})", table.Describe(), table_rows);
    // Every row of the batch kept: a copy (a NULL's value is already NaN, ColumnBatch).
    const bool whole = picked.size() == batch.n_rows;
    for (std::size_t col = 0; col < names.size(); ++col) {
      const double* source = batch.column(col);
      const std::uint8_t* nulls = batch.nulls(col);
      double* target = matrix.column(first + col) + filled;
      if (whole) {
        std::memcpy(target, source, batch.n_rows * sizeof(double));
        continue;
      }
      for (std::size_t k = 0; k < picked.size(); ++k) {
        target[k] = nulls[picked[k]] ? std::numeric_limits<double>::quiet_NaN() : source[picked[k]];
      }
    }
    filled += picked.size();
    if (progress) progress(reader.rows_read());
  }
  return filled;
}

/// Pearson matrix of `columns` by one streaming read (storage 2): each batch goes through the
/// correlation accumulator; shifts and incompleteness come from Pass 1's statistics (+-inf counts
/// as missing, as in PearsonMatrix).
std::vector<double> StreamingPearson(const Table& table, const Pass1Result& pass1,
                                     const std::vector<std::string>& columns, const Context& ctx,
                                     const std::function<void(std::int64_t)>& progress) {
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < pass1.columns.size(); ++i) index[pass1.columns[i]] = i;
  std::vector<double> shift(columns.size(), 0.0);
  std::vector<bool> incomplete(columns.size(), false);
  std::uint64_t table_rows = 0;
  for (std::size_t col = 0; col < columns.size(); ++col) {
    const ColumnStats& stats = pass1.stats.at(index.at(columns[col]));
    table_rows = static_cast<std::uint64_t>(stats.n_total);
    shift[col] = std::isfinite(stats.mean) ? stats.mean : 0.0;
    incomplete[col] = stats.n_valid < stats.n_total;
  }
  CorrelationAccumulator accumulator(std::move(shift), incomplete, ctx, table_rows);
  ColumnReader reader(table, columns, BatchRows(columns.size(), table_rows));
  ColumnBatch batch;
  std::vector<const double*> pointers(columns.size());
  while (reader.Next(batch)) {
    for (std::size_t col = 0; col < columns.size(); ++col)
      pointers[col] = batch.column(col);  // NULL is NaN
    accumulator.Add(pointers.data(), batch.n_rows);
    progress(static_cast<std::int64_t>(reader.rows_read()));
  }
  return accumulator.Finish();
}

enum class Storage { kDoubles, kFloatRanks, kSample };

/// How Pass 2 holds its rank matrix: the storage, the widest column blocks a read fits (0: no read,
/// Pass 1's values are the matrix), the rows and the ranking threads.
struct RankPlan {
  Pass2Memory model;
  Storage storage = Storage::kDoubles;
  double block = 0;
  RowSelector selector;
  int threads = 1;
  std::string row_sample_reason;  ///< why rows are sampled ("" when every row is held)
};

/// The ranks of the columns: doubles (`matrix`) or exact floats (`ranks32`).
struct Ranked {
  ColumnMatrix matrix;
  FloatRankMatrix ranks32;
  bool float_ranks = false;
};

/// The columns Pass 2 ranks: Pass 1's survivors, then target_column when it is not one of them
/// (`target_index`: its position, SIZE_MAX without a target).
std::vector<std::string> RankedColumns(const Table& table,
                                       const std::vector<std::string>& survivors,
                                       const Config& config, std::size_t& target_index) {
  std::vector<std::string> read_columns = survivors;
  target_index = SIZE_MAX;
  if (!config.target_column.empty()) {
    const auto it = std::find(survivors.begin(), survivors.end(), config.target_column);
    if (it != survivors.end()) {
      target_index = static_cast<std::size_t>(it - survivors.begin());
    } else {
      const auto& all = table.columns();
      const auto column = std::find_if(all.begin(), all.end(), [&](const ColumnInfo& c) {
        return c.name == config.target_column;
      });
      DESCPIPE_EXPECTS(column != all.end(), "target_column \"{}\" is not a column of {}",
                       config.target_column, table.Describe());
      DESCPIPE_EXPECTS(column->numeric,
                       "target_column \"{}\" in {} has type {}; it must be numeric",
                       config.target_column, table.Describe(), column->type);
      target_index = read_columns.size();
      read_columns.push_back(config.target_column);
    }
  }
  return read_columns;
}

/// Pass 2's memory plan (see "Memory" in RunPass2): how the rank matrix of `read_columns` (the
/// first `p` of them Pass 1's survivors) over `n_total` rows is held, read and ranked.
/// `captured`: Pass 1's values hold every row and column.
RankPlan PlanRankMatrix(const Table& table, const Pass1Result& pass1,
                        const std::vector<std::string>& read_columns, std::size_t p,
                        std::uint64_t n_total, bool captured, bool pearson,
                        std::size_t nonlinear_rows, const Config& config, const Context& ctx) {
  RankPlan out;
  const std::size_t width = read_columns.size();
  Pass2Memory& model = out.model;
  Storage& storage = out.storage;
  double& block = out.block;
  RowSelector& selector = out.selector;
  std::map<std::string, std::size_t> pass1_index;
  for (std::size_t i = 0; i < pass1.columns.size(); ++i) pass1_index[pass1.columns[i]] = i;
  model.base = ProcessBaseBytes(ctx.threads()) +
               kBookkeepingBytesPerColumn * static_cast<double>(pass1.columns.size());
  model.rows = static_cast<double>(n_total);
  model.width = static_cast<double>(width);
  model.survivors = static_cast<double>(p);
  for (const std::string& name : read_columns) {
    const auto it = pass1_index.find(name);  // a metadata target has no statistics: may miss values
    model.incomplete += it == pass1_index.end() ||
                        pass1.stats[it->second].n_valid < pass1.stats[it->second].n_total;
  }
  model.file_rows = table.LargestPartitionRows();
  model.nonlinear_rows = static_cast<double>(nonlinear_rows);
  model.table = &table;
  model.threads = std::max(1, ctx.threads());
  model.pearson = pearson;
  const double limit = static_cast<double>(ctx.memory_limit_bytes());
  const double rows = static_cast<double>(n_total);

  // How every row is held, when it can be: Pass 1's values, doubles or float ranks, with the widest
  // column blocks that fit. False when none fits.
  auto every_row_fits = [&](const Pass2Memory& plan, Storage* storage, double* block) {
    if (captured && plan.Peak(rows, 8.0, 0.0, false) <= limit) {
      *storage = Storage::kDoubles;
      *block = 0;  // no read: Pass 1's values are the matrix
      return true;
    }
    if ((*block = plan.Block(rows, 8.0, false, limit)) >= 1 &&
        plan.Peak(rows, 8.0, *block, false) <= limit) {
      *storage = Storage::kDoubles;
      return true;
    }
    if (n_total <= kMaxFloatRankRows && (*block = plan.Block(rows, 4.0, true, limit)) >= 1 &&
        plan.Peak(rows, 4.0, *block, true) <= limit) {
      *storage = Storage::kFloatRanks;
      return true;
    }
    return false;
  };
  auto sample_fits = [&](const Pass2Memory& plan, double held) {
    const double widest = plan.Block(held, 8.0, false, limit);
    return widest >= 1 && plan.Peak(held, 8.0, widest, false) <= limit;
  };
  // Whether rows are sampled, and how many, changes the result: it is decided on the plan of one
  // thread, so that it never depends on the thread count. Then ranking uses as many of the
  // threads as fit (the storage and the blocks do not change the result).
  Pass2Memory single = model;
  single.threads = 1;
  single.base = ProcessBaseBytes(1) + (model.base - ProcessBaseBytes(ctx.threads()));
  selector.seed = ctx.seed();
  selector.capacity = n_total;
  if (!every_row_fits(single, &storage, &block)) {
    const double minimum = std::min(rows, kMinSampleRows);
    // The least that holds every row (float ranks, one column per read) or, without --exact, the
    // smallest sample.
    const double every_row = n_total <= kMaxFloatRankRows ? single.Peak(rows, 4.0, 1.0, true)
                                                          : single.Peak(rows, 8.0, 1.0, false);
    const double smallest = single.Peak(minimum, 8.0, 1.0, false);
    if (config.exact) {
      RequireMemory(
          every_row, ctx.memory_limit_bytes(),
          fmt::format("pass 2 needs {} to rank every one of the {} rows of {} columns (--exact)",
                      FormatBytes(every_row), n_total, width),
          "drop --exact to use a row sample");
    }
    RequireMemory(
        smallest, ctx.memory_limit_bytes(),
        fmt::format(
            "pass 2 needs {} ({} for the {} x {} correlation matrices of {} columns, the rest for "
            "{} rows and the process)",
            FormatBytes(smallest), FormatBytes(single.Matrices(0)), width, width, width,
            minimum < rows ? fmt::format("a sample of at least {} of the {}",
                                         static_cast<std::uint64_t>(minimum), n_total)
                           : fmt::format("all {}", n_total)),
        "remove columns");
    // The most rows that fit: Peak grows with the rows.
    double low = minimum, high = rows;  // sample_fits(low), !sample_fits(high)
    while (high - low > 1) {
      const double mid = std::floor((low + high) / 2);
      (sample_fits(single, mid) ? low : high) = mid;
    }
    storage = Storage::kSample;
    selector = RowSelector::Sample(static_cast<std::uint64_t>(low), n_total, ctx.seed());
    out.row_sample_reason = fmt::format(
        "every row of {} rows x {} columns needs {} (at least {} as float ranks) but memory_limit "
        "is {}",
        n_total, width, FormatBytes(single.Peak(rows, 8.0, 1.0, false)), FormatBytes(every_row),
        FormatBytes(limit));
    spdlog::warn("pass2: {}: using a reproducible sample of about {:.0f} of the {} rows (seed {})",
                 out.row_sample_reason, selector.Expected(), n_total, ctx.seed());
  }
  // Ranking threads: the most (up to ctx.threads()) whose scratch fits beside the rest.
  const double held_rows = static_cast<double>(selector.capacity);
  int rank_threads = std::max(1, ctx.threads());
  for (;; --rank_threads) {
    model.threads = rank_threads;
    Storage chosen = storage;
    double chosen_block = 0;
    const bool fits = storage == Storage::kSample
                          ? sample_fits(model, held_rows) &&
                                (chosen_block = model.Block(held_rows, 8.0, false, limit)) >= 1
                          : every_row_fits(model, &chosen, &chosen_block);
    if (fits) {
      storage = chosen;
      block = chosen_block;
      break;
    }
    if (rank_threads == 1) {
      const double needed = storage == Storage::kSample
                                ? model.Peak(held_rows, 8.0, 1.0, false)
                                : model.Peak(rows, 4.0, 1.0, n_total <= kMaxFloatRankRows);
      RequireMemory(needed, ctx.memory_limit_bytes(),
                    fmt::format("pass 2 with {} threads needs {} for {} rows x {} columns",
                                ctx.threads(), FormatBytes(needed), selector.capacity, width),
                    "use fewer threads");
      break;
    }
  }
  out.threads = rank_threads;
  return out;
}

/// Reads (or takes over Pass 1's values) and ranks the columns as `plan` says; fills the
/// result's storage, rows_used and (with `pearson`) Pearson matrix.
Ranked ReadAndRank(const Table& table, const Pass1Result& pass1, ColumnMatrix pass1_values,
                   const std::vector<std::string>& read_columns, std::size_t p,
                   std::uint64_t n_total, const RankPlan& plan, bool pearson, const Config& config,
                   const Context& ctx, const ProgressFn& progress,
                   const std::function<double()>& elapsed, Pass2Result& result) {
  const std::size_t width = read_columns.size();
  const Pass2Memory& model = plan.model;
  const Storage storage = plan.storage;
  const double block = plan.block;
  const RowSelector& selector = plan.selector;
  const int rank_threads = plan.threads;
  const double limit = static_cast<double>(ctx.memory_limit_bytes());
  const double rows = static_cast<double>(n_total);
  const double held_rows = static_cast<double>(selector.capacity);
  Ranked ranked;
  ColumnMatrix& matrix = ranked.matrix;       // storage 1 and 3: values, then ranks
  FloatRankMatrix& ranks32 = ranked.ranks32;  // storage 2
  const Context rank_ctx = ctx.WithThreads(rank_threads);
  if (rank_threads < ctx.threads()) {
    spdlog::info("pass2: ranking with {} of the {} threads to fit memory_limit ({})", rank_threads,
                 ctx.threads(), FormatBytes(limit));
  }
  if (block > 0 || storage != Storage::kDoubles)
    pass1_values = ColumnMatrix{};  // not used: release it first
  const std::size_t block_columns = std::max<std::size_t>(1, static_cast<std::size_t>(block));
  const std::size_t blocks = block > 0 ? (width + block_columns - 1) / block_columns : 0;
  spdlog::debug(
      "pass2: memory plan {} of memory_limit {} ({} read{})",
      FormatBytes(storage == Storage::kFloatRanks ? model.Peak(rows, 4.0, block, true)
                                                  : model.Peak(held_rows, 8.0, block, false)),
      FormatBytes(limit), blocks, blocks == 1 ? "" : "s");

  ranked.float_ranks = storage == Storage::kFloatRanks;
  if (ranked.float_ranks) {
    result.storage =
        fmt::format("float ranks, {} read{} of column blocks", blocks, blocks == 1 ? "" : "s");
    spdlog::info(
        "pass2: {} rows x {} columns: ranks stored as floats ({}), columns read in {} block{} of "
        "at most {}",
        n_total, width, FormatBytes(rows * model.width * 4.0), blocks, blocks == 1 ? "" : "s",
        block_columns);
    ranks32.n_rows = static_cast<std::size_t>(n_total);
    ranks32.n_cols = width;
    ResizeLarge(ranks32.values, ranks32.n_rows * width);
    const std::int64_t total_work =
        static_cast<std::int64_t>(n_total * (blocks + (pearson ? 1 : 0)));
    // One buffer for every block: its pages are faulted in once, not once per block.
    ColumnMatrix values;
    values.n_rows = ranks32.n_rows;
    ResizeLarge(values.values, values.n_rows * std::min(block_columns, width));
    for (std::size_t b = 0; b < blocks; ++b) {
      const std::size_t first = b * block_columns;
      const std::size_t count = std::min(block_columns, width - first);
      const std::vector<std::string> names(
          read_columns.begin() + static_cast<std::ptrdiff_t>(first),
          read_columns.begin() + static_cast<std::ptrdiff_t>(first + count));
      values.n_cols = count;
      const std::size_t filled =
          ReadColumnBlock(table, names, 0, selector, n_total, values, [&](std::uint64_t done) {
            if (progress) progress(static_cast<std::int64_t>(b * n_total + done), total_work);
          });
      DESCPIPE_EXPECTS(filled == values.n_rows, "{} has {} rows, Pass 1 counted {}",
                       table.Describe(), filled, n_total);
      RankColumns(values, config.spearman_missing, rank_ctx);
      for (std::size_t col = 0; col < count; ++col) {
        std::copy_n(values.column(col), values.n_rows,
                    ranks32.column(first + col));  // exact as floats
      }
      spdlog::debug("pass2: column block {}/{} read and ranked ({:.3f} s)", b + 1, blocks,
                    elapsed());
    }
    std::vector<double>().swap(
        values.values);  // the block buffer is not needed by the Pearson read
    if (pearson) {
      result.pearson = StreamingPearson(table, pass1, result.columns, ctx, [&](std::int64_t done) {
        if (progress) progress(static_cast<std::int64_t>(blocks * n_total) + done, total_work);
      });
      spdlog::debug("pass2: Pearson matrix for Pass 3 by a streaming read ({:.3f} s)", elapsed());
    }
    result.rows_used = n_total;
  } else {
    result.storage = selector.all ? "doubles" : "doubles, row sample";
    if (blocks > 1) {
      result.storage += fmt::format(", {} reads of column blocks", blocks);
      spdlog::info(
          "pass2: {} columns read in {} blocks of at most {} (the reader's buffers for every "
          "column "
          "do not fit memory_limit {})",
          width, blocks, block_columns, FormatBytes(limit));
    }
    std::size_t filled = 0;
    if (blocks == 0) {  // Pass 1's captured values hold every row and column needed
      matrix = std::move(pass1_values);
      filled = matrix.n_rows;
      if (progress)
        progress(static_cast<std::int64_t>(n_total), static_cast<std::int64_t>(n_total));
    } else {
      matrix.n_cols = width;
      matrix.n_rows = static_cast<std::size_t>(selector.capacity);
      ResizeLarge(matrix.values, matrix.n_rows * width);
      const auto total_work = static_cast<std::int64_t>(n_total * blocks);
      for (std::size_t b = 0; b < blocks; ++b) {
        const std::size_t first = b * block_columns;
        const std::size_t count = std::min(block_columns, width - first);
        const std::vector<std::string> names(
            read_columns.begin() + static_cast<std::ptrdiff_t>(first),
            read_columns.begin() + static_cast<std::ptrdiff_t>(first + count));
        const std::size_t block_filled = ReadColumnBlock(
            table, names, first, selector, n_total, matrix, [&](std::uint64_t done) {
              if (progress) progress(static_cast<std::int64_t>(b * n_total + done), total_work);
            });
        // Every read keeps the same rows (the selection depends on row positions only).
        DESCPIPE_EXPECTS(b == 0 || block_filled == filled,
                         "{} changed while it was read ({} rows, then {})", table.Describe(),
                         filled, block_filled);
        filled = block_filled;
      }
      DESCPIPE_EXPECTS(!selector.all || filled == n_total, "{} has {} rows, Pass 1 counted {}",
                       table.Describe(), filled, n_total);
    }
    // Compact when fewer rows were kept than allocated (sampling): columns move down in place.
    if (filled < matrix.n_rows) {
      for (std::size_t col = 1; col < width; ++col) {
        std::copy_n(matrix.values.data() + col * matrix.n_rows, filled,
                    matrix.values.data() + col * filled);
      }
      matrix.n_rows = filled;
      ShrinkLarge(matrix.values, filled * width);
    }
    result.rows_used = filled;
    spdlog::debug("pass2: read {} rows x {} columns ({:.3f} s)", filled, width, elapsed());

    // Pearson of the values (for Pass 3), before they are replaced by ranks.
    if (pearson) {
      std::vector<double> all = PearsonMatrix(matrix, ctx);
      if (width == p) {
        result.pearson = std::move(all);
      } else {
        result.pearson.resize(p * p);
        for (std::size_t i = 0; i < p; ++i)
          std::copy_n(all.data() + i * width, p, result.pearson.data() + i * p);
      }
      spdlog::debug("pass2: Pearson matrix for Pass 3 ({:.3f} s)", elapsed());
    }

    RankColumns(matrix, config.spearman_missing, rank_ctx);
    spdlog::debug("pass2: ranked ({:.3f} s)", elapsed());
  }
  return ranked;
}

/// The Spearman matrix of the ranks (and the target's rho), the clusters and their
/// representatives, and Pass 4's row sample of the survivors' ranks; releases the ranks.
void ClusterRankedColumns(Ranked& ranked, const Pass1Result& pass1, std::size_t p,
                          std::size_t width, std::size_t target_index, double base_bytes,
                          std::size_t nonlinear_rows, const Config& config, const Context& ctx,
                          const std::function<double()>& elapsed, Pass2Result& result) {
  ColumnMatrix& matrix = ranked.matrix;
  FloatRankMatrix& ranks32 = ranked.ranks32;
  const bool use_float_ranks = ranked.float_ranks;
  std::vector<double> rho_all =
      use_float_ranks ? SpearmanFromRanks(ranks32, ctx) : SpearmanFromRanks(matrix, ctx);
  spdlog::debug("pass2: Spearman matrix ({:.3f} s)", elapsed());

  if (target_index != SIZE_MAX) {
    result.target_rho.resize(p);
    for (std::size_t i = 0; i < p; ++i) result.target_rho[i] = rho_all[i * width + target_index];
  }
  if (width == p) {
    result.rho = std::move(rho_all);
  } else {  // drop the extra target column
    result.rho.resize(p * p);
    for (std::size_t i = 0; i < p; ++i) {
      std::copy_n(rho_all.data() + i * width, p, result.rho.data() + i * p);
    }
    std::vector<double>().swap(rho_all);
  }

  // Candidates, then clusters: the graph's size is known once rho is, and checked first.
  const std::vector<CandidateInfo> candidates =
      BuildCandidates(pass1, result.columns, config, result.target_rho);
  const SimilarityView similarity{result.rho.data(), p};
  const ClusterOptions cluster_options = config.ToClusterOptions();
  const std::uint64_t edges = CountEdges(similarity, cluster_options.threshold);
  const double held =
      base_bytes +
      8.0 * static_cast<double>(matrix.values.size() + result.pearson.size() + result.rho.size()) +
      4.0 * static_cast<double>(ranks32.values.size());
  RequireMemory(
      held + ClusterPeakBytes(p, edges, cluster_options.method), ctx.memory_limit_bytes(),
      fmt::format("pass 2 needs {} to cluster {} columns joined by {} pairs with |rho| >= "
                  "spearman_threshold {} "
                  "({}: {} for the graph)",
                  FormatBytes(held + ClusterPeakBytes(p, edges, cluster_options.method)), p, edges,
                  cluster_options.threshold, EnumName(cluster_options.method),
                  FormatBytes(ClusterPeakBytes(p, edges, cluster_options.method))),
      cluster_options.method == ClusterMethod::kLeiden ? "use spearman_cluster_method: star" : "");
  result.clusters = ClusterColumns(similarity, candidates, cluster_options);
  spdlog::debug("pass2: clustered ({:.3f} s)", elapsed());
  std::vector<std::size_t> kept;
  for (const Cluster& cluster : result.clusters) {
    kept.push_back(cluster.representative);
    kept.insert(kept.end(), cluster.also_kept.begin(), cluster.also_kept.end());
  }
  std::sort(kept.begin(), kept.end());
  for (std::size_t index : kept) result.kept.push_back(result.columns[index]);
  if (nonlinear_rows > 0) {
    // Salted ("PASS4P"): not the rows of Pass 2's own memory-limited sample.
    const std::size_t rows_used = static_cast<std::size_t>(result.rows_used);
    const std::vector<std::size_t> rows =
        RowsWithSmallestKeys(rows_used, nonlinear_rows, ctx.seed() ^ 0x504153533450ULL);
    ColumnMatrix& sample = result.nonlinear_sample;
    sample.n_rows = rows.size();
    sample.n_cols = kept.size();
    ResizeLarge(sample.values, sample.n_rows * sample.n_cols);
    for (std::size_t k = 0; k < kept.size(); ++k) {
      double* target = sample.column(k);
      if (use_float_ranks) {
        const float* source = ranks32.column(kept[k]);
        for (std::size_t i = 0; i < rows.size(); ++i)
          target[i] = static_cast<double>(source[rows[i]]);
      } else {
        const double* source = matrix.column(kept[k]);
        for (std::size_t i = 0; i < rows.size(); ++i) target[i] = source[rows[i]];
      }
    }
  }
  std::vector<double>().swap(matrix.values);  // the rank matrix is no longer needed
  std::vector<float>().swap(ranks32.values);
  ReleaseFreedMemory();  // the outputs are written next, through copies of the matrices
}

}  // namespace

Pass2Result RunPass2(const Table& table, const Pass1Result& pass1, ColumnMatrix pass1_values,
                     const Config& config, const Context& ctx, const ProgressFn& progress,
                     bool pearson, std::size_t nonlinear_rows) {
  const auto start = std::chrono::steady_clock::now();
  const std::function<double()> elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  ReleaseFreedMemory();
  Pass2Result result;
  result.columns = pass1.kept;
  const std::size_t p = result.columns.size();
  std::size_t target_index = SIZE_MAX;
  const std::vector<std::string> read_columns =
      RankedColumns(table, result.columns, config, target_index);
  const std::size_t width = read_columns.size();
  const std::uint64_t n_total =
      static_cast<std::uint64_t>(pass1.stats.empty() ? 0 : pass1.stats.front().n_total);
  result.rows_total = n_total;

  // Memory (docs/SPEARMAN.md, "Memory"): the rank matrix is held in the first of these that fits
  // memory_limit together with everything else Pass 2 holds at its peak (Pass2Memory):
  //  1. Every row as doubles (n x width x 8): handed over by Pass 1 or read (in column blocks when
  //     the reader's buffers for every column do not fit); Pearson is taken from the values, then
  //     they are ranked in place.
  //  2. Every row as float ranks (n x width x 4; exact, see FloatRankMatrix): the columns are read
  //     in blocks into a buffer of doubles, each block ranked there and stored as floats. Same
  //     ranks, so the same Spearman matrix bit for bit as 1. Pearson (when asked) from one more
  //     streaming read.
  //  3. A reproducible row sample of doubles, read as in 1: the most rows that fit, at least
  //     kMinSampleRows.
  // When not even the smallest sample fits, or with `exact` when 1 and 2 do not, InvalidInput
  // says which memory_limit would do.
  const bool captured =
      pass1_values.n_cols == p && pass1_values.n_rows == n_total && width == p && n_total > 0;
  const RankPlan plan = PlanRankMatrix(table, pass1, read_columns, p, n_total, captured, pearson,
                                       nonlinear_rows, config, ctx);
  result.row_sample_reason = plan.row_sample_reason;
  Ranked ranked = ReadAndRank(table, pass1, std::move(pass1_values), read_columns, p, n_total, plan,
                              pearson, config, ctx, progress, elapsed, result);
  ClusterRankedColumns(ranked, pass1, p, width, target_index, plan.model.base, nonlinear_rows,
                       config, ctx, elapsed, result);
  result.seconds = elapsed();
  return result;
}

void WritePass2Outputs(const Pass2Result& result, const Config& config,
                       const std::string& out_dir) {
  const std::size_t p = result.columns.size();
  io::WriteNpyAtomic(out_dir + "/pass2_spearman_matrix.npy", result.rho.data(), p, p);
  std::string columns;
  for (const auto& name : result.kept) columns += name + "\n";
  io::WriteFileAtomic(out_dir + "/pass2_columns.txt", columns);

  nlohmann::ordered_json json;
  json["pass"] = 2;
  json["threshold"] = config.spearman_threshold;
  json["method"] = EnumName(config.spearman_cluster_method);
  json["missing"] =
      config.spearman_missing == SpearmanMissing::kPairwise ? "pairwise" : "impute_median";
  nlohmann::ordered_json criteria = nlohmann::ordered_json::array();
  for (Criterion criterion : config.representative_criteria)
    criteria.push_back(EnumName(criterion));
  json["representative_criteria"] = criteria;
  json["keep_columns"] = config.keep_columns;
  json["target_column"] = config.target_column.empty()
                              ? nlohmann::ordered_json(nullptr)
                              : nlohmann::ordered_json(config.target_column);
  json["input_columns"] = p;
  json["output_columns"] = result.kept.size();
  json["removed_columns"] = p - result.kept.size();
  nlohmann::ordered_json rows;
  rows["total"] = result.rows_total;
  rows["used"] = result.rows_used;
  rows["sampled"] = !result.row_sample_reason.empty();
  if (!result.row_sample_reason.empty()) {
    rows["reason"] = result.row_sample_reason;
    rows["seed"] = config.random_seed;
  }
  json["rows"] = rows;
  nlohmann::ordered_json clusters = nlohmann::ordered_json::array();
  nlohmann::ordered_json removed = nlohmann::ordered_json::object();
  for (const Cluster& cluster : result.clusters) {
    if (cluster.members.size() == 1) continue;  // singletons: kept, nothing to explain
    nlohmann::ordered_json entry;
    const std::size_t rep = cluster.representative;
    entry["representative"] = result.columns[rep];
    entry["decided_by"] = cluster.decided_by;
    nlohmann::ordered_json members = nlohmann::ordered_json::array();
    for (std::size_t member : cluster.members) {
      const bool survives =
          member == rep || std::find(cluster.also_kept.begin(), cluster.also_kept.end(), member) !=
                               cluster.also_kept.end();
      members.push_back({{"column", result.columns[member]},
                         {"rho_to_representative", JsonNumber(result.rho[member * p + rep])},
                         {"kept", survives}});
      if (!survives) removed[result.columns[member]] = result.columns[rep];
    }
    entry["members"] = members;
    if (!result.target_rho.empty())
      entry["representative_rho_to_target"] = JsonNumber(result.target_rho[rep]);
    clusters.push_back(entry);
  }
  json["clusters"] = clusters;
  json["removed"] = removed;
  io::WriteFileAtomic(out_dir + "/pass2_spearman.json", json.dump(2) + "\n");
  ReleaseFreedMemory();  // the checkpoint writes its own copies next
}

}  // namespace descpipe
