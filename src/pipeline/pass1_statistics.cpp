// Pass 1: one streaming scan for the statistics of every descriptor, then the removal rules.
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <optional>
#include <thread>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <nlohmann/json.hpp>

#include "common/memory.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "io/atomic_file.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {

namespace {

/// Statistics of every column over one partition, batch by batch in row order.
std::vector<ColumnStatsAccumulator> ScanPartitionStats(const Table& table,
                                                       const std::vector<std::string>& columns,
                                                       const ScanPartition& partition,
                                                       const StatsOptions& options,
                                                       const Context& ctx,
                                                       std::atomic<std::uint64_t>& rows_done,
                                                       ColumnMatrix* capture) {
  std::vector<ColumnStatsAccumulator> accumulators(columns.size(), ColumnStatsAccumulator(options));
  const std::size_t batch_rows = DefaultBatchRows(columns.size());
  // A file that fits in one batch gains nothing from decoding ahead.
  const std::int64_t file_rows =
      partition.file_idx >= 0 ? table.files()[static_cast<std::size_t>(partition.file_idx)].row_count : -1;
  const std::size_t prefetch = file_rows >= 0 && file_rows <= static_cast<std::int64_t>(batch_rows) ? 0 : 2;
  ColumnReader reader(table, columns, partition, batch_rows, prefetch);
  ColumnBatch batch;
  std::vector<std::uint64_t> keys;
  SampleCandidates candidates;
  const std::uint64_t prefilter = SamplePrefilterBound(options);
  while (reader.Next(batch)) {
    keys.resize(batch.n_rows);
    for (std::size_t row = 0; row < batch.n_rows; ++row) {
      keys[row] = RowSampleKey(batch.first_row + row, ctx.seed());
    }
    candidates.Select(keys.data(), batch.n_rows, prefilter);
    for (std::size_t column_idx = 0; column_idx < columns.size(); ++column_idx) {
      accumulators[column_idx].Add(batch.column(column_idx), batch.nulls(column_idx), batch.n_rows,
                                   candidates);
      if (capture != nullptr) {  // partitions write disjoint row ranges: no lock needed
        DESCPIPE_ASSERT(batch.first_row + batch.n_rows <= capture->n_rows);
        std::copy_n(batch.column(column_idx), batch.n_rows,
                    capture->column(column_idx) + batch.first_row);
      }
    }
    rows_done += batch.n_rows;
  }
  return accumulators;
}

}  // namespace

std::vector<ColumnStats> ScanColumnStats(const Table& table, const std::vector<std::string>& columns,
                                         const StatsOptions& options, const Context& ctx,
                                         const ProgressFn& progress, ColumnMatrix* capture) {
  DESCPIPE_ASSERT(!columns.empty());
  DESCPIPE_ASSERT(capture == nullptr ||
                  (capture->n_cols == columns.size() &&
                   static_cast<std::int64_t>(capture->n_rows) == table.known_row_count() &&
                   capture->values.size() == capture->n_rows * capture->n_cols));
  StatsOptions effective = options;
  // Each column may hold up to 1.25 * m (key, value) pairs of quantile sample: keep all of them
  // within a quarter of the memory budget.
  const std::uint64_t per_column_budget = ctx.memory_limit_bytes() / 4 / columns.size();
  const std::size_t affordable = static_cast<std::size_t>(per_column_budget / 20);
  if (affordable < effective.quantile_sample_size) {
    effective.quantile_sample_size = std::max<std::size_t>(1024, affordable);
    spdlog::warn("quantile sample reduced to {} values per column to fit the memory limit",
                 effective.quantile_sample_size);
  }
  if (table.known_row_count() > 0) effective.expected_rows = static_cast<std::uint64_t>(table.known_row_count());

  // Partitions (Parquet files) are scanned in parallel, each by one decoding thread (DuckDB)
  // feeding one statistics thread, and merged strictly in input order: the result depends on
  // the files, not on the thread count.
  const std::vector<ScanPartition> partitions = table.Partitions();
  // Each worker is two busy threads (decoding and statistics).
  const std::size_t n_workers = std::min<std::size_t>(
      std::max<std::size_t>(1, static_cast<std::size_t>(ctx.threads()) / 2), partitions.size());
  std::vector<std::optional<std::vector<ColumnStatsAccumulator>>> finished(partitions.size());
  std::mutex mutex;
  std::condition_variable ready;
  std::atomic<std::size_t> next_partition{0};
  std::atomic<std::uint64_t> rows_done{0};
  std::atomic<bool> stop{false};
  std::exception_ptr failure;
  auto worker = [&] {
    while (!stop) {
      const std::size_t k = next_partition++;
      if (k >= partitions.size()) return;
      try {
        auto result = ScanPartitionStats(table, columns, partitions[k], effective, ctx, rows_done, capture);
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
  for (std::size_t t = 0; t < n_workers; ++t) threads.emplace_back(worker);

  std::vector<ColumnStatsAccumulator> total(columns.size(), ColumnStatsAccumulator(effective));
  for (std::size_t k = 0; k < partitions.size(); ++k) {
    std::vector<ColumnStatsAccumulator> part;
    {
      std::unique_lock<std::mutex> lock(mutex);
      while (!finished[k].has_value() && !failure) {
        ready.wait_for(lock, std::chrono::milliseconds(200));
        if (progress) progress(rows_done.load(), table.known_row_count());
      }
      if (failure) break;
      part = std::move(*finished[k]);
      finished[k].reset();
    }
    for (std::size_t column_idx = 0; column_idx < columns.size(); ++column_idx) {
      total[column_idx].Merge(part[column_idx]);
    }
    if (progress) progress(rows_done.load(), table.known_row_count());
  }
  stop = true;
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
  DESCPIPE_EXPECTS(rows_done.load() > 0, "{} has zero rows", table.Describe());

  std::vector<ColumnStats> stats;
  stats.reserve(columns.size());
  for (auto& accumulator : total) {
    stats.push_back(accumulator.Finalize());
    accumulator = ColumnStatsAccumulator(effective);  // release the sample now
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
  const bool capture = keep_values && rows > 0 && bytes <= static_cast<double>(ctx.memory_limit_bytes()) / 4;
  if (capture) {
    captured.n_rows = static_cast<std::size_t>(rows);
    captured.n_cols = result.columns.size();
    ResizeLarge(captured.values, captured.n_rows * captured.n_cols);
  }
  result.stats = ScanColumnStats(table, result.columns, config.ToStatsOptions(), ctx, progress,
                                 capture ? &captured : nullptr);
  // Descriptors are read as DOUBLE: warn when that merges distinct values (integers beyond 2^53).
  // Here, because the range of every column is now known at no cost: only columns that reach
  // 2^53 are counted, by one more query.
  std::vector<double> max_abs;
  for (const ColumnStats& column : result.stats) {
    max_abs.push_back(std::max(std::fabs(column.min), std::fabs(column.max)));
  }
  WarnAboutMergedValues(table, result.columns, max_abs, ctx);
  const FilterOptions filter = config.ToFilterOptions();
  const std::set<std::string> pinned(config.keep_columns.begin(), config.keep_columns.end());
  for (const auto& name : pinned) {
    DESCPIPE_EXPECTS(std::find(result.columns.begin(), result.columns.end(), name) != result.columns.end(),
                     "keep_columns names \"{}\", which is not a descriptor of {}", name, table.Describe());
  }
  std::map<std::string, std::size_t> removed_by_reason;
  for (std::size_t i = 0; i < result.columns.size(); ++i) {
    result.decisions.push_back(DecideColumn(result.stats[i], filter));
    if (!result.decisions.back().kept() && pinned.count(result.columns[i])) {
      // Pinned columns always survive; the rule that would have removed it is reported.
      result.pinned_overrides.emplace_back(result.columns[i], result.decisions.back().reason);
      spdlog::warn("pass1: {} would be removed ({}) but is in keep_columns: kept", result.columns[i],
                   ReasonName(result.decisions.back().reason));
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
        {"missing", "max_missing_ratio"},       {"too_few_valid", "min_effective_n"},
        {"quasi_constant", "max_mode_fraction"}, {"low_variance", "variance_threshold"},
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
        options.empty() ? "constant columns carry no information: check the input and descriptor_columns"
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

void WritePass1Outputs(const Pass1Result& result, const Config& config, const std::string& out_dir) {
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
  for (RemovalReason reason : {RemovalReason::kMissing, RemovalReason::kTooFewValid,
                               RemovalReason::kConstant, RemovalReason::kQuasiConstant,
                               RemovalReason::kLowVariance, RemovalReason::kBinary}) {
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
  options["range_mode"] = RangeModeName(config.range_mode);
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
