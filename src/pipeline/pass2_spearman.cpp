// Pass 2: Spearman matrix of the Pass 1 survivors and redundancy clusters.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <functional>
#include <set>

#include "common/memory.hpp"
#include "descpipe/error.hpp"
#include "descpipe/pipeline.hpp"
#include "descpipe/similarity.hpp"
#include "io/atomic_file.hpp"
#include "io/npy.hpp"
#include "pipeline/candidates.hpp"
#include "pipeline/outputs.hpp"

namespace descpipe {
namespace {

/// Keeps rows whose key is below a bound chosen so that the expected count is a few standard
/// deviations under `capacity`; any excess (vanishingly rare) is cut at the capacity. Both depend
/// only on the seed and row positions.
struct RowSelector {
  std::uint64_t bound = UINT64_MAX;
  std::uint64_t capacity = 0;
  std::uint64_t seed = 0;
  bool all = true;
  bool Keep(std::uint64_t row) const { return all || RowSampleKey(row, seed) < bound; }
};

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
  ColumnReader reader(table, columns, DefaultBatchRows(columns.size()));
  ColumnBatch batch;
  std::vector<const double*> pointers(columns.size());
  while (reader.Next(batch)) {
    for (std::size_t col = 0; col < columns.size(); ++col) pointers[col] = batch.column(col);  // NULL is NaN
    accumulator.Add(pointers.data(), batch.n_rows);
    progress(static_cast<std::int64_t>(reader.rows_read()));
  }
  return accumulator.Finish();
}

}  // namespace


Pass2Result RunPass2(const Table& table, Pass1Result& pass1, const Config& config,
                     const Context& ctx, const ProgressFn& progress, bool pearson,
                     std::size_t nonlinear_rows) {
  const auto start = std::chrono::steady_clock::now();
  Pass2Result result;
  result.columns = pass1.kept;
  const std::size_t p = result.columns.size();

  // The target joins the rank matrix as an extra column when it is not a survivor.
  std::vector<std::string> read_columns = result.columns;
  std::size_t target_index = SIZE_MAX;
  if (!config.target_column.empty()) {
    const auto it = std::find(result.columns.begin(), result.columns.end(), config.target_column);
    if (it != result.columns.end()) {
      target_index = static_cast<std::size_t>(it - result.columns.begin());
    } else {
      const auto& all = table.columns();
      const auto column = std::find_if(all.begin(), all.end(),
                                       [&](const ColumnInfo& c) { return c.name == config.target_column; });
      DESCPIPE_EXPECTS(column != all.end(), "target_column \"{}\" is not a column of {}",
                       config.target_column, table.Describe());
      DESCPIPE_EXPECTS(column->numeric, "target_column \"{}\" in {} has type {}; it must be numeric",
                       config.target_column, table.Describe(), column->type);
      target_index = read_columns.size();
      read_columns.push_back(config.target_column);
    }
  }
  const std::size_t width = read_columns.size();

  // Storage of the rank matrix: the first of these that fits memory_limit.
  //  1. Every row as doubles (n x width x 8): the values are read once (or handed over by
  //     Pass 1), Pearson is taken from them, then they are ranked in place.
  //  2. Every row as float ranks (n x width x 4; exact, see FloatRankMatrix): the columns are read
  //     in blocks that fit the rest of the budget, each block ranked as doubles and stored as
  //     floats. Same ranks, so the same Spearman matrix bit for bit as 1. Pearson (when asked)
  //     from one more streaming read.
  //  3. A reproducible row sample, stored as in 1.
  const std::uint64_t n_total = static_cast<std::uint64_t>(pass1.stats.empty() ? 0 : pass1.stats.front().n_total);
  result.rows_total = n_total;
  const double limit = static_cast<double>(ctx.memory_limit_bytes());
  const double rows = static_cast<double>(n_total);
  const double wide = static_cast<double>(width);
  // p x p sums and results of the correlation steps.
  const double reserve = 6.0 * 8.0 * wide * wide;
  const double doubles_needed = rows * wide * 8.0;
  const double floats_needed = rows * wide * 4.0;
  const double block_budget = std::min(limit - floats_needed - reserve, limit / 4.0);
  RowSelector selector;
  selector.seed = ctx.seed();
  selector.capacity = n_total;
  bool use_float_ranks = false;
  std::size_t block_columns = width;
  if (doubles_needed + reserve > limit) {
    if (n_total <= kMaxFloatRankRows && block_budget >= rows * 8.0) {
      use_float_ranks = true;
      block_columns = std::min<std::size_t>(width, static_cast<std::size_t>(block_budget / (rows * 8.0)));
    } else {
      DESCPIPE_EXPECTS(!config.exact,
                       "the Spearman rank matrix needs {:.1f} GB ({} rows x {} columns as float ranks) but "
                       "memory_limit is {:.1f} GB; raise memory_limit or drop --exact to use a row sample",
                       (floats_needed + reserve + rows * 8.0) / 1e9, n_total, width, limit / 1e9);
      const double capacity = std::floor(limit / (wide * 8.0));
      const double expected = std::max(1.0, capacity - 6.0 * std::sqrt(capacity));
      selector.all = false;
      selector.capacity = static_cast<std::uint64_t>(capacity);
      selector.bound = static_cast<std::uint64_t>(std::ldexp(expected / rows, 64));
      result.row_sample_reason = fmt::format(
          "rank matrix of {} rows x {} columns ({:.1f} GB as float ranks) exceeds memory_limit ({:.1f} GB)",
          n_total, width, (floats_needed + reserve + rows * 8.0) / 1e9, limit / 1e9);
      spdlog::warn("pass2: {}: using a reproducible sample of about {:.0f} rows (seed {})",
                   result.row_sample_reason, expected, ctx.seed());
    }
  }
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };

  ColumnMatrix matrix;     // storage 1 and 3: values, then ranks
  FloatRankMatrix ranks32;  // storage 2
  if (use_float_ranks) {
    pass1.values = ColumnMatrix{};
    const std::size_t blocks = (width + block_columns - 1) / block_columns;
    result.storage = fmt::format("float ranks, {} read{} of column blocks", blocks, blocks == 1 ? "" : "s");
    spdlog::info("pass2: {} rows x {} columns: ranks stored as floats ({:.1f} GB), columns read in {} block{} of "
                 "at most {}", n_total, width, floats_needed / 1e9, blocks, blocks == 1 ? "" : "s", block_columns);
    ranks32.n_rows = static_cast<std::size_t>(n_total);
    ranks32.n_cols = width;
    ResizeLarge(ranks32.values, ranks32.n_rows * width);
    const std::int64_t total_work = static_cast<std::int64_t>(n_total * (blocks + (pearson ? 1 : 0)));
    // One buffer for every block: its pages are faulted in once, not once per block.
    ColumnMatrix values;
    values.n_rows = ranks32.n_rows;
    ResizeLarge(values.values, values.n_rows * std::min(block_columns, width));
    for (std::size_t block = 0; block < blocks; ++block) {
      const std::size_t first = block * block_columns;
      const std::size_t count = std::min(block_columns, width - first);
      const std::vector<std::string> names(read_columns.begin() + static_cast<std::ptrdiff_t>(first),
                                           read_columns.begin() + static_cast<std::ptrdiff_t>(first + count));
      values.n_cols = count;
      ColumnReader reader(table, names, DefaultBatchRows(count));
      ColumnBatch batch;
      std::size_t filled = 0;
      while (reader.Next(batch)) {
        DESCPIPE_EXPECTS(filled + batch.n_rows <= values.n_rows, "{} has more rows than Pass 1 counted ({})",
                         table.Describe(), n_total);
        for (std::size_t col = 0; col < count; ++col) {
          const double* source = batch.column(col);
          const std::uint8_t* nulls = batch.nulls(col);
          double* target = values.column(col) + filled;
          for (std::size_t row = 0; row < batch.n_rows; ++row) {
            target[row] = nulls[row] ? std::numeric_limits<double>::quiet_NaN() : source[row];
          }
        }
        filled += batch.n_rows;
        if (progress) progress(static_cast<std::int64_t>(block * n_total + filled), total_work);
      }
      DESCPIPE_EXPECTS(filled == values.n_rows, "{} has {} rows, Pass 1 counted {}", table.Describe(), filled,
                       n_total);
      RankColumns(values, config.spearman_missing, ctx);
      for (std::size_t col = 0; col < count; ++col) {
        std::copy_n(values.column(col), values.n_rows, ranks32.column(first + col));  // exact as floats
      }
      spdlog::debug("pass2: column block {}/{} read and ranked ({:.3f} s)", block + 1, blocks, elapsed());
    }
    std::vector<double>().swap(values.values);  // the block buffer is not needed by the Pearson read
    if (pearson) {
      result.pearson = StreamingPearson(table, pass1, result.columns, ctx, [&](std::int64_t done) {
        if (progress) progress(static_cast<std::int64_t>(blocks * n_total) + done, total_work);
      });
      spdlog::debug("pass2: Pearson matrix for Pass 3 by a streaming read ({:.3f} s)", elapsed());
    }
    result.rows_used = n_total;
  } else {
    result.storage = selector.all ? "doubles" : "doubles, row sample";
    // Pass 1's captured values when they hold every row and column needed; else read the columns
    // into a column-major matrix (rows beyond the capacity are dropped).
    std::size_t filled = 0;
    if (selector.all && width == p && pass1.values.n_cols == p && pass1.values.n_rows == n_total) {
      matrix = std::move(pass1.values);
      filled = matrix.n_rows;
      if (progress) progress(static_cast<std::int64_t>(n_total), static_cast<std::int64_t>(n_total));
    } else {
      pass1.values = ColumnMatrix{};  // not usable: release it before allocating the matrix
      matrix.n_cols = width;
      matrix.n_rows = static_cast<std::size_t>(selector.capacity);
      ResizeLarge(matrix.values, matrix.n_rows * width);
      ColumnReader reader(table, read_columns, DefaultBatchRows(width));
      ColumnBatch batch;
      std::vector<std::size_t> picked;
      while (reader.Next(batch)) {
        picked.clear();
        for (std::size_t row = 0; row < batch.n_rows && filled + picked.size() < matrix.n_rows; ++row) {
          if (selector.Keep(batch.first_row + row)) picked.push_back(row);
        }
        for (std::size_t col = 0; col < width; ++col) {
          const double* source = batch.column(col);
          const std::uint8_t* nulls = batch.nulls(col);
          double* target = matrix.values.data() + col * matrix.n_rows + filled;
          for (std::size_t k = 0; k < picked.size(); ++k) {
            target[k] = nulls[picked[k]] ? std::numeric_limits<double>::quiet_NaN() : source[picked[k]];
          }
        }
        filled += picked.size();
        if (progress) progress(static_cast<std::int64_t>(reader.rows_read()), static_cast<std::int64_t>(n_total));
      }
    }
    // Compact when fewer rows were kept than allocated (sampling): columns move down in place.
    if (filled < matrix.n_rows) {
      for (std::size_t col = 1; col < width; ++col) {
        std::copy_n(matrix.values.data() + col * matrix.n_rows, filled, matrix.values.data() + col * filled);
      }
      matrix.n_rows = filled;
      ShrinkLarge(matrix.values, filled * width);
    }
    result.rows_used = filled;
    spdlog::debug("pass2: read {} rows x {} columns ({:.3f} s)", filled, width, elapsed());

    // Pearson of the values (for Pass 3), before they are replaced by ranks.
    if (pearson) {
      std::vector<double> all = PearsonMatrix(matrix, ctx);
      result.pearson.resize(p * p);
      for (std::size_t i = 0; i < p; ++i) std::copy_n(all.data() + i * width, p, result.pearson.data() + i * p);
      spdlog::debug("pass2: Pearson matrix for Pass 3 ({:.3f} s)", elapsed());
    }

    RankColumns(matrix, config.spearman_missing, ctx);
    spdlog::debug("pass2: ranked ({:.3f} s)", elapsed());
  }
  std::vector<double> rho_all = use_float_ranks ? SpearmanFromRanks(ranks32, ctx) : SpearmanFromRanks(matrix, ctx);
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
  }

  // Candidates, then clusters.
  const std::vector<CandidateInfo> candidates = BuildCandidates(pass1, result.columns, config, result.target_rho);
  result.clusters = ClusterColumns(SimilarityView{result.rho.data(), p}, candidates, config.ToClusterOptions());
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
    const std::vector<std::size_t> rows = RowsWithSmallestKeys(rows_used, nonlinear_rows, ctx.seed() ^ 0x504153533450ULL);
    ColumnMatrix& sample = result.nonlinear_sample;
    sample.n_rows = rows.size();
    sample.n_cols = kept.size();
    ResizeLarge(sample.values, sample.n_rows * sample.n_cols);
    for (std::size_t k = 0; k < kept.size(); ++k) {
      double* target = sample.column(k);
      if (use_float_ranks) {
        const float* source = ranks32.column(kept[k]);
        for (std::size_t i = 0; i < rows.size(); ++i) target[i] = static_cast<double>(source[rows[i]]);
      } else {
        const double* source = matrix.column(kept[k]);
        for (std::size_t i = 0; i < rows.size(); ++i) target[i] = source[rows[i]];
      }
    }
  }
  std::vector<double>().swap(matrix.values);  // the rank matrix is no longer needed
  std::vector<float>().swap(ranks32.values);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

void WritePass2Outputs(const Pass2Result& result, const Config& config, const std::string& out_dir) {
  const std::size_t p = result.columns.size();
  io::WriteNpyAtomic(out_dir + "/pass2_spearman_matrix.npy", result.rho.data(), p, p);
  std::string columns;
  for (const auto& name : result.kept) columns += name + "\n";
  io::WriteFileAtomic(out_dir + "/pass2_columns.txt", columns);

  auto number = [](double value) -> nlohmann::ordered_json {
    if (std::isnan(value)) return nullptr;
    return value;
  };
  nlohmann::ordered_json json;
  json["pass"] = 2;
  json["threshold"] = config.spearman_threshold;
  json["method"] = ClusterMethodName(config.spearman_cluster_method);
  json["missing"] = config.spearman_missing == SpearmanMissing::kPairwise ? "pairwise" : "impute_median";
  nlohmann::ordered_json criteria = nlohmann::ordered_json::array();
  for (Criterion criterion : config.representative_criteria) criteria.push_back(CriterionName(criterion));
  json["representative_criteria"] = criteria;
  json["keep_columns"] = config.keep_columns;
  json["target_column"] = config.target_column.empty() ? nlohmann::ordered_json(nullptr)
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
      const bool survives = member == rep || std::find(cluster.also_kept.begin(), cluster.also_kept.end(),
                                                       member) != cluster.also_kept.end();
      members.push_back({{"column", result.columns[member]},
                         {"rho_to_representative", number(result.rho[member * p + rep])},
                         {"kept", survives}});
      if (!survives) removed[result.columns[member]] = result.columns[rep];
    }
    entry["members"] = members;
    if (!result.target_rho.empty()) entry["representative_rho_to_target"] = number(result.target_rho[rep]);
    clusters.push_back(entry);
  }
  json["clusters"] = clusters;
  json["removed"] = removed;
  io::WriteFileAtomic(out_dir + "/pass2_spearman.json", json.dump(2) + "\n");
}

}  // namespace descpipe
