// Pass 1: one streaming scan for the statistics of every descriptor, then the removal rules.
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "common/memory.hpp"
#include "common/memory_budget.hpp"
#include "common/parallel.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "io/atomic_file.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {

namespace {

/// Rows per batch for a file of `file_rows` rows (-1: unknown): the reader's usual size, but never
/// more than the file has. One batch either way (the same statistics), without the memory of
/// 1,024 rows x 20,000 columns for a 3-row file.
std::size_t ScanBatchRows(std::size_t columns, std::int64_t file_rows) {
  const std::size_t rows = DefaultBatchRows(columns);
  return file_rows > 0 ? std::min(rows, static_cast<std::size_t>(file_rows)) : rows;
}

/// What the Pass 1 scan holds at its peak (docs/SPEARMAN.md, "Memory") when it reads `block`
/// columns at a time with quantile samples of `m` values: the process, the captured values, and
/// per worker the reader (DuckDB's scan buffers and the batches) and one accumulator per column
/// of the block, plus the accumulators the partitions are merged into.
double ScanPeakBytes(const Table& table, std::size_t block, std::size_t workers, std::size_t m,
                     double capture_bytes, int threads) {
  const double columns = static_cast<double>(block);
  const double file_columns = static_cast<double>(table.columns().size());
  const std::int64_t known = table.known_row_count();
  double reader = 0;
  for (const ScanPartition& partition : table.Partitions()) {
    const std::int64_t part_rows = table.PartitionRows(partition);
    const double rows = part_rows >= 0 ? static_cast<double>(part_rows) : kRowGroupRows;
    const double batch = static_cast<double>(ScanBatchRows(block, part_rows));
    const double prefetch = part_rows >= 0 && rows <= batch ? 0.0 : 2.0;
    reader = std::max(reader, table.ScanBufferBytes(columns, rows, prefetch) +
                                  ReaderBatchBytes(columns, batch, prefetch));
  }
  // One accumulator: the distinct-value table (768 slots of value and count), every valid value
  // while there are at most m (vector growth: up to twice as many), and the bottom-m sample
  // reserved at 1.25 m + 1 (key, value) pairs when the column has more rows than m (growing by
  // doubling when the row count is unknown).
  const double rows =
      known >= 0 ? static_cast<double>(known) : std::numeric_limits<double>::infinity();
  const double sample = static_cast<double>(m);
  const double accumulator =
      sizeof(ColumnStatsAccumulator) + 768.0 * 16.0 + 16.0 * std::min(sample, rows) +
      (rows > sample ? 16.0 * std::min(1.25 * sample + 1.0, rows) * (known >= 0 ? 1.0 : 2.0) : 0.0);
  const double sets = static_cast<double>(workers) + (table.Partitions().size() > 1 ? 1.0 : 0.0);
  return ProcessBaseBytes(threads) + kBookkeepingBytesPerColumn * file_columns + capture_bytes +
         static_cast<double>(workers) * reader + sets * columns * accumulator;
}

/// Workers of the scan: each is two busy threads (decoding and statistics), one per partition.
std::size_t ScanWorkers(const Table& table, const Context& ctx) {
  return std::min<std::size_t>(
      std::max<std::size_t>(1, static_cast<std::size_t>(ctx.threads()) / 2),
      table.Partitions().size());
}

/// How the scan fits memory_limit: every column in one read when it can, else the widest blocks
/// of columns that fit (one read of the table each; the statistics of a column do not depend on
/// the block it is read in), with as many workers as fit. The configured quantile sample size
/// `m` is halved (down to 1,024) only when not even one column fits with one worker and one
/// thread: the samples change the statistics, so they never depend on the thread count.
struct ScanPlan {
  std::size_t block = 0;    ///< columns per read (0: none fits)
  std::size_t workers = 1;  ///< partitions read at once
  std::size_t m = 0;        ///< quantile sample size
  double peak = 0;          ///< ScanPeakBytes
};

/// The widest block (at most `columns`) that fits memory_limit, 0 when not even one column does.
std::size_t WidestBlock(const Table& table, std::size_t columns, std::size_t workers, std::size_t m,
                        double capture_bytes, int threads, const Context& ctx) {
  const double limit = static_cast<double>(ctx.memory_limit_bytes());
  auto fits = [&](std::size_t block) {
    return ScanPeakBytes(table, block, workers, m, capture_bytes, threads) <= limit;
  };
  if (fits(columns)) return columns;
  std::size_t low = 0, high = columns;  // fits(low) or low == 0; !fits(high)
  while (high - low > 1) {
    const std::size_t mid = (low + high) / 2;
    (fits(mid) ? low : high) = mid;
  }
  return low;
}

/// The plan for `columns` columns; with `throw_if_not`, the InvalidInput that names what
/// memory_limit would do when not even one column fits.
ScanPlan PlanScan(const Table& table, std::size_t columns, std::size_t configured,
                  double capture_bytes, const Context& ctx, bool throw_if_not) {
  ScanPlan plan;
  for (plan.m = configured; plan.m > 1024; plan.m = std::max<std::size_t>(1024, plan.m / 2)) {
    if (WidestBlock(table, columns, 1, plan.m, capture_bytes, 1, ctx) > 0) break;
  }
  for (plan.workers = ScanWorkers(table, ctx);; --plan.workers) {
    plan.block =
        WidestBlock(table, columns, plan.workers, plan.m, capture_bytes, ctx.threads(), ctx);
    if (plan.block > 0 || plan.workers == 1) break;
  }
  plan.peak = ScanPeakBytes(table, std::max<std::size_t>(plan.block, 1), plan.workers, plan.m,
                            capture_bytes, ctx.threads());
  if (plan.block == 0 && throw_if_not) {
    RequireMemory(plan.peak, ctx.memory_limit_bytes(),
                  fmt::format("pass 1 needs {} to read even one column of {} ({} rows{})",
                              FormatBytes(plan.peak), table.Describe(), table.known_row_count(),
                              capture_bytes > 0 ? fmt::format(", {} of values kept for pass 2",
                                                              FormatBytes(capture_bytes))
                                                : std::string()),
                  "");
  }
  return plan;
}

/// Statistics of every column over one partition, batch by batch in row order.
std::vector<ColumnStatsAccumulator> ScanPartitionStats(
    const Table& table, const std::vector<std::string>& columns, const ScanPartition& partition,
    const StatsOptions& options, const Context& ctx, std::atomic<std::uint64_t>& rows_done,
    ColumnMatrix* capture, std::size_t capture_first) {
  std::vector<ColumnStatsAccumulator> accumulators(columns.size(), ColumnStatsAccumulator(options));
  const std::int64_t file_rows = table.PartitionRows(partition);
  const std::size_t batch_rows = ScanBatchRows(columns.size(), file_rows);
  // A file that fits in one batch gains nothing from decoding ahead.
  const std::size_t prefetch =
      file_rows >= 0 && file_rows <= static_cast<std::int64_t>(batch_rows) ? 0 : 2;
  ColumnReader reader(table, columns, partition, batch_rows, prefetch);
  ColumnBatch batch;
  std::vector<std::uint64_t> keys;
  SampleCandidates candidates;
  const std::uint64_t prefilter = SamplePrefilterBound(options);
  while (reader.Next(batch)) {
    ctx.ThrowIfStopped();
    keys.resize(batch.n_rows);
    for (std::size_t row = 0; row < batch.n_rows; ++row) {
      keys[row] = RowSampleKey(batch.first_row + row, ctx.seed());
    }
    candidates.Select(keys.data(), batch.n_rows, prefilter);
    for (std::size_t column_idx = 0; column_idx < columns.size(); ++column_idx) {
      // A batch of thousands of columns takes up to half a second while the quantile samples
      // fill: a stop request is also looked at every 64 columns.
      if (column_idx % 64 == 63) ctx.ThrowIfStopped();
      accumulators[column_idx].Add(batch.column(column_idx), batch.nulls(column_idx), batch.n_rows,
                                   candidates);
      if (capture != nullptr) {  // partitions write disjoint row ranges: no lock needed
        DESCPIPE_ASSERT(batch.first_row + batch.n_rows <= capture->n_rows);
        std::copy_n(batch.column(column_idx), batch.n_rows,
                    capture->column(capture_first + column_idx) + batch.first_row);
      }
    }
    rows_done += batch.n_rows;
  }
  return accumulators;
}

}  // namespace

namespace {

/// The statistics of `columns` (columns [first, first + size) of the scan) in one read of every
/// partition. `progress` gets the rows done in this read.
std::vector<ColumnStats> ScanBlockStats(const Table& table, const std::vector<std::string>& columns,
                                        const StatsOptions& effective, const Context& ctx,
                                        const std::function<void(std::uint64_t)>& progress,
                                        ColumnMatrix* capture, std::size_t first,
                                        std::size_t n_workers) {
  // Partitions (Parquet files) are scanned in parallel, each by one decoding thread (DuckDB)
  // feeding one statistics thread, and merged strictly in input order: the result depends on
  // the files, not on the thread count.
  const std::vector<ScanPartition> partitions = table.Partitions();
  std::vector<std::optional<std::vector<ColumnStatsAccumulator>>> finished(partitions.size());
  std::mutex mutex;
  std::condition_variable ready;
  std::atomic<std::size_t> next_partition{0};
  std::atomic<std::uint64_t> rows_done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  std::size_t merged = 0;  // partitions merged so far (under `mutex`)
  auto worker = [&] {
    while (!stop) {
      const std::size_t k = next_partition++;
      if (k >= partitions.size()) return;
      {
        // At most n_workers partitions' accumulators exist besides the total (the memory plan):
        // a worker waits while the partitions before its own are still to be merged.
        std::unique_lock<std::mutex> lock(mutex);
        ready.wait(lock, [&] { return stop || k < merged + n_workers; });
        if (stop) return;
      }
      try {
        auto result = ScanPartitionStats(table, columns, partitions[k], effective, ctx, rows_done,
                                         capture, first);
        std::lock_guard<std::mutex> lock(mutex);
        finished[k] = std::move(result);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failure) failure = std::current_exception();
        stop = true;
      }
      ready.notify_all();
    }
  };
  std::vector<std::thread> threads;
  // Stops and joins the workers on every way out, a stop requested through `progress` included.
  auto join_workers = [&] {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    ready.notify_all();
    for (auto& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  };
  struct Joiner {
    std::function<void()> join;
    ~Joiner() { join(); }
  } joiner{join_workers};
  for (std::size_t t = 0; t < n_workers; ++t) threads.emplace_back(worker);

  std::vector<ColumnStatsAccumulator> total;  // the first partition's, then the others merged in
  for (std::size_t k = 0; k < partitions.size(); ++k) {
    std::vector<ColumnStatsAccumulator> part;
    {
      std::unique_lock<std::mutex> lock(mutex);
      while (!finished[k].has_value() && !failure) {
        ready.wait_for(lock, std::chrono::milliseconds(200));
        if (progress) progress(rows_done.load());
      }
      if (failure) break;
      part = std::move(*finished[k]);
      finished[k].reset();
    }
    if (k == 0) {
      total = std::move(part);  // what merging it into empty accumulators would give
    } else {
      for (std::size_t column_idx = 0; column_idx < columns.size(); ++column_idx) {
        total[column_idx].Merge(part[column_idx]);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      merged = k + 1;
    }
    ready.notify_all();
    if (progress) progress(rows_done.load());
  }
  join_workers();
  if (failure) std::rethrow_exception(failure);
  DESCPIPE_EXPECTS(rows_done.load() > 0, "{} has zero rows", table.Describe());

  // Finalising sorts each column's quantile sample (seconds for 1,000 columns of 65,536 values):
  // the columns are independent, so they are finalised on the run's threads, each into its own
  // slot (the same results whatever the thread count).
  std::vector<ColumnStats> stats(columns.size());
  FirstFailure finalising;
  const auto n_columns = static_cast<std::int64_t>(total.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(std::max(1, ctx.threads()))
  for (std::int64_t c = 0; c < n_columns; ++c) {
    finalising.Run([&] {
      ctx.ThrowIfStopped();
      const auto column = static_cast<std::size_t>(c);
      stats[column] = total[column].Finalize();
      total[column] = ColumnStatsAccumulator(effective);  // release the sample now
    });
  }
  finalising.Rethrow();
  std::vector<ColumnStatsAccumulator>().swap(total);
  ReleaseFreedMemory();
  return stats;
}

}  // namespace

std::vector<ColumnStats> ScanColumnStats(const Table& table,
                                         const std::vector<std::string>& columns,
                                         const StatsOptions& options, const Context& ctx,
                                         const ProgressFn& progress, ColumnMatrix* capture) {
  DESCPIPE_ASSERT(!columns.empty());
  DESCPIPE_ASSERT(capture == nullptr ||
                  (capture->n_cols == columns.size() &&
                   static_cast<std::int64_t>(capture->n_rows) == table.known_row_count() &&
                   capture->values.size() == capture->n_rows * capture->n_cols));
  ReleaseFreedMemory();
  // Memory (ScanPeakBytes): columns are read in blocks when the readers' buffers and statistics
  // of every column do not fit memory_limit together; the statistics of a column do not depend on
  // the block it is read in.
  const double capture_bytes =
      capture != nullptr ? 8.0 * static_cast<double>(capture->values.size()) : 0.0;
  const ScanPlan plan =
      PlanScan(table, columns.size(), options.quantile_sample_size, capture_bytes, ctx, true);
  StatsOptions effective = options;
  if (plan.m < effective.quantile_sample_size) {
    effective.quantile_sample_size = plan.m;
    spdlog::warn("pass1: quantile samples reduced to {} values per column to fit memory_limit ({})",
                 plan.m, FormatBytes(static_cast<double>(ctx.memory_limit_bytes())));
  }
  if (table.known_row_count() > 0)
    effective.expected_rows = static_cast<std::uint64_t>(table.known_row_count());
  if (plan.workers < ScanWorkers(table, ctx)) {
    spdlog::info("pass1: {} of the files read at once (not {}) to fit memory_limit ({})",
                 plan.workers, ScanWorkers(table, ctx),
                 FormatBytes(static_cast<double>(ctx.memory_limit_bytes())));
  }
  const std::size_t blocks = (columns.size() + plan.block - 1) / plan.block;
  if (blocks > 1) {
    spdlog::info("pass1: {} columns read in {} blocks of at most {} to fit memory_limit ({})",
                 columns.size(), blocks, plan.block,
                 FormatBytes(static_cast<double>(ctx.memory_limit_bytes())));
  }
  spdlog::debug("pass1: memory model {} ({} columns per read, {} workers, quantile samples of {})",
                FormatBytes(plan.peak), plan.block, plan.workers, plan.m);
  const std::int64_t known = table.known_row_count();
  std::vector<ColumnStats> stats;
  stats.reserve(columns.size());
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t first = b * plan.block;
    const std::size_t count = std::min(plan.block, columns.size() - first);
    const std::vector<std::string> names(
        columns.begin() + static_cast<std::ptrdiff_t>(first),
        columns.begin() + static_cast<std::ptrdiff_t>(first + count));
    std::vector<ColumnStats> part = ScanBlockStats(
        table, names, effective, ctx,
        [&](std::uint64_t done) {
          if (!progress) return;
          if (known < 0) {
            progress(done, -1);
          } else {
            const auto rows = static_cast<std::uint64_t>(known);
            progress(b * rows + done, static_cast<std::int64_t>(rows * blocks));
          }
        },
        capture, first, plan.workers);
    stats.insert(stats.end(), part.begin(), part.end());
  }
  return stats;
}

Pass1Result RunPass1(const Table& table, const Config& config, const Context& ctx,
                     const ProgressFn& progress, bool keep_values) {
  const auto start = std::chrono::steady_clock::now();
  Pass1Result result;
  result.columns = table.descriptor_names();
  ColumnMatrix captured;
  const std::int64_t rows = table.known_row_count();
  const double bytes = static_cast<double>(std::max<std::int64_t>(rows, 0)) *
                       static_cast<double>(result.columns.size()) * sizeof(double);
  // Captured only when the values take at most a quarter of memory_limit and the scan's plan
  // holds them without smaller quantile samples than it would use without them.
  const StatsOptions stats_options = config.ToStatsOptions();
  bool capture =
      keep_values && rows > 0 && bytes <= static_cast<double>(ctx.memory_limit_bytes()) / 4;
  if (capture) {
    const std::size_t columns = result.columns.size();
    const ScanPlan without =
        PlanScan(table, columns, stats_options.quantile_sample_size, 0.0, ctx, false);
    const ScanPlan with =
        PlanScan(table, columns, stats_options.quantile_sample_size, bytes, ctx, false);
    capture = with.block > 0 && with.block == without.block && with.m == without.m;
  }
  if (capture) {
    captured.n_rows = static_cast<std::size_t>(rows);
    captured.n_cols = result.columns.size();
    ResizeLarge(captured.values, captured.n_rows * captured.n_cols);
  }
  result.stats = ScanColumnStats(table, result.columns, stats_options, ctx, progress,
                                 capture ? &captured : nullptr);
  ReleaseFreedMemory();
  // Descriptors are read as DOUBLE: warn when that merges distinct values (integers beyond 2^53).
  // Here, because the range of every column is now known at no cost: only columns that reach
  // 2^53 are counted, by one more query.
  std::vector<double> max_abs;
  for (const ColumnStats& column : result.stats) {
    max_abs.push_back(std::max(std::fabs(column.min), std::fabs(column.max)));
  }
  ctx.ThrowIfStopped();
  WarnAboutMergedValues(table, result.columns, max_abs, ctx);
  ctx.ThrowIfStopped();
  const FilterOptions filter = config.ToFilterOptions();
  const std::set<std::string> pinned(config.keep_columns.begin(), config.keep_columns.end());
  for (const auto& name : pinned) {
    DESCPIPE_EXPECTS(
        std::find(result.columns.begin(), result.columns.end(), name) != result.columns.end(),
        "keep_columns names \"{}\", which is not a descriptor of {}", name, table.Describe());
  }
  std::map<std::string, std::size_t> removed_by_reason;
  for (std::size_t i = 0; i < result.columns.size(); ++i) {
    result.decisions.push_back(DecideColumn(result.stats[i], filter));
    if (!result.decisions.back().kept() && pinned.count(result.columns[i])) {
      // Pinned columns always survive; the rule that would have removed it is reported.
      result.pinned_overrides.emplace_back(result.columns[i], result.decisions.back().reason);
      spdlog::warn("pass1: {} would be removed ({}) but is in keep_columns: kept",
                   result.columns[i], ReasonName(result.decisions.back().reason));
      result.decisions.back().reason = RemovalReason::kKept;
    }
    if (result.decisions.back().kept()) {
      result.kept.push_back(result.columns[i]);
    } else {
      ++removed_by_reason[ReasonName(result.decisions.back().reason)];
    }
  }
  if (result.kept.empty()) {
    std::string counts;
    for (const auto& [reason, count] : removed_by_reason) {
      counts += fmt::format("{}{} {}", counts.empty() ? "" : ", ", count, reason);
    }
    static const std::map<std::string, std::string> kOption = {
        {"missing", "max_missing_ratio"},
        {"too_few_valid", "min_effective_n"},
        {"quasi_constant", "max_mode_fraction"},
        {"low_variance", "variance_threshold"},
        {"binary", "remove_binary"}};
    std::string options;
    for (const auto& [reason, count] : removed_by_reason) {
      if (auto it = kOption.find(reason); it != kOption.end()) {
        options += fmt::format("{}{}", options.empty() ? "" : ", ", it->second);
      }
    }
    throw InvalidInput(fmt::format(
        "Pass 1 would remove all {} descriptors of {} ({}); {}", result.columns.size(),
        table.Describe(), counts,
        options.empty()
            ? "constant columns carry no information: check the input and descriptor_columns"
            : "relax " + options));
  }
  if (capture) {
    // Keep the survivors' columns only, moved down in place (they are in the same order).
    std::size_t out = 0;
    for (std::size_t i = 0; i < result.columns.size(); ++i) {
      if (!result.decisions[i].kept()) continue;
      if (out != i) {
        std::copy_n(captured.column(i), captured.n_rows, captured.column(out));
      }
      ++out;
    }
    captured.n_cols = out;
    ShrinkLarge(captured.values, captured.n_rows * out);  // no copy: the tail's pages go back
    result.values = std::move(captured);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void WritePass1Outputs(const Pass1Result& result, const Config& config,
                       const std::string& out_dir) {
  io::WriteFileAtomic(out_dir + "/pass1_stats.csv", FormatPass1(result, "csv"));
  std::string columns;
  for (const auto& name : result.kept) columns += name + "\n";
  io::WriteFileAtomic(out_dir + "/pass1_columns.txt", columns);

  nlohmann::ordered_json json;
  json["pass"] = 1;
  json["input_columns"] = result.columns.size();
  json["output_columns"] = result.kept.size();
  json["removed_columns"] = result.columns.size() - result.kept.size();
  nlohmann::ordered_json by_reason = nlohmann::ordered_json::object();
  for (RemovalReason reason :
       {RemovalReason::kMissing, RemovalReason::kTooFewValid, RemovalReason::kConstant,
        RemovalReason::kQuasiConstant, RemovalReason::kLowVariance, RemovalReason::kBinary}) {
    by_reason[ReasonName(reason)] = 0;
  }
  nlohmann::ordered_json removed = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < result.columns.size(); ++i) {
    const FilterDecision& decision = result.decisions[i];
    if (decision.kept()) continue;
    by_reason[ReasonName(decision.reason)] = by_reason[ReasonName(decision.reason)].get<int>() + 1;
    removed.push_back({{"column", result.columns[i]},
                       {"reason", ReasonName(decision.reason)},
                       {"detail", RemovalDetail(result.stats[i], decision, config)}});
  }
  json["removed_by_reason"] = by_reason;
  json["n_rows"] = result.stats.empty() ? 0 : result.stats.front().n_total;
  nlohmann::ordered_json options;
  options["max_missing_ratio"] = config.max_missing_ratio;
  options["min_effective_n"] = config.min_effective_n;
  options["max_mode_fraction"] = config.max_mode_fraction;
  options["variance_threshold"] = config.variance_threshold;
  options["range_mode"] = EnumName(config.range_mode);
  options["trim_percentiles"] = {config.trim_low_percent, config.trim_high_percent};
  options["remove_binary"] = config.remove_binary;
  options["quantile_sample_size"] = config.quantile_sample_size;
  json["options"] = options;
  json["removed"] = removed;
  nlohmann::ordered_json overrides = nlohmann::ordered_json::array();
  for (const auto& [column, reason] : result.pinned_overrides) {
    overrides.push_back({{"column", column}, {"would_be_removed_as", ReasonName(reason)}});
  }
  json["kept_because_pinned"] = overrides;
  io::WriteFileAtomic(out_dir + "/pass1_variance_filtering.json", json.dump(2) + "\n");
}

}  // namespace descpipe
