// Micro-benchmark of Pass 2's Gram step: descpipe::SpearmanFromRanks on a rank matrix against a
// direct OpenBLAS cblas_dsyrk (C = A^T A, upper half, OpenBLAS's default thread count) on the
// same n x p column-major matrix. Both are reported in GFLOP/s of the symmetric product,
// n * p * (p + 1) flops (what dsyrk needs; SpearmanFromRanks's extra work for the masked sums,
// the shifts and the final p x p pass is not credited), and the ratio is printed at the end.
// Goal (docs/PERFORMANCE.md): SpearmanFromRanks >= 60% of the dsyrk rate on 200,000 x 1,000.
//
// Shapes: 200,000 x 1,000 (1.6 GB of ranks; the size), without missing values and with
// 2% missing in every 5th column (as bench/make_corr_data.sh), and the shared real table's shape
// 4,994 x 560 with 12 columns having missing values.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/similarity.hpp"

extern "C" int openblas_get_num_threads(void);

namespace {

/// Ranks 1..n of a random permutation per column (no ties: ties do not change the work); in every
/// `missing_every`-th column (0: none) the largest 2% of the ranks become NaN, so the valid
/// entries remain the ranks 1..valid of that column, as RankInPlace would leave them.
const descpipe::ColumnMatrix& Ranks(std::size_t n, std::size_t p, std::size_t missing_every) {
  // One matrix at a time: the big shape alone is 1.6 GB. Benchmarks of one shape run in a row.
  static std::unique_ptr<descpipe::ColumnMatrix> cached;
  static std::size_t cached_key[3] = {0, 0, 0};
  if (cached && cached_key[0] == n && cached_key[1] == p && cached_key[2] == missing_every)
    return *cached;
  cached.reset();
  cached = std::make_unique<descpipe::ColumnMatrix>();
  cached->n_rows = n;
  cached->n_cols = p;
  cached->values.resize(n * p);
  const std::size_t valid = n - n / 50;
  for (std::size_t col = 0; col < p; ++col) {
    double* x = cached->column(col);
    std::iota(x, x + n, 1.0);
    std::mt19937_64 rng(1000 + col);
    std::shuffle(x, x + n, rng);
    if (missing_every != 0 && col % missing_every == 0) {
      for (std::size_t row = 0; row < n; ++row) {
        if (x[row] > static_cast<double>(valid)) x[row] = std::numeric_limits<double>::quiet_NaN();
      }
    }
  }
  cached_key[0] = n;
  cached_key[1] = p;
  cached_key[2] = missing_every;
  return *cached;
}

double SyrkFlops(std::size_t n, std::size_t p) {
  return static_cast<double>(n) * static_cast<double>(p) * static_cast<double>(p + 1);
}

std::string Shape(std::size_t n, std::size_t p, std::size_t missing_every) {
  std::string label = "n=" + std::to_string(n) + " p=" + std::to_string(p);
  if (missing_every != 0) label += " missing:every" + std::to_string(missing_every) + "th";
  return label;
}

void SetRate(benchmark::State& state, std::size_t n, std::size_t p) {
  state.counters["GFLOP"] =
      benchmark::Counter(SyrkFlops(n, p) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SpearmanFromRanks(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto p = static_cast<std::size_t>(state.range(1));
  const auto missing_every = static_cast<std::size_t>(state.range(2));
  const descpipe::ColumnMatrix& ranks = Ranks(n, p, missing_every);
  const descpipe::Context ctx;  // every hardware thread, as `descpipe run`
  for (auto _ : state) {
    std::vector<double> rho = descpipe::SpearmanFromRanks(ranks, ctx);
    benchmark::DoNotOptimize(rho.data());
  }
  SetRate(state, n, p);
  state.SetLabel(Shape(n, p, missing_every));
}

void BM_OpenBlasDsyrk(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto p = static_cast<std::size_t>(state.range(1));
  const descpipe::ColumnMatrix& ranks = Ranks(n, p, 0);
  std::vector<double> c(p * p);
  for (auto _ : state) {
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, static_cast<int>(p), static_cast<int>(n),
                1.0, ranks.values.data(), static_cast<int>(n), 0.0, c.data(), static_cast<int>(p));
    benchmark::DoNotOptimize(c.data());
  }
  SetRate(state, n, p);
  state.SetLabel(Shape(n, p, 0));
  state.counters["blas_threads"] = openblas_get_num_threads();
}

// Big shape first, dsyrk and the no-missing Spearman back to back on the same cached matrix.
BENCHMARK(BM_OpenBlasDsyrk)
    ->ArgNames({"n", "p"})
    ->Args({200000, 1000})
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpearmanFromRanks)
    ->ArgNames({"n", "p", "missing_every"})
    ->Args({200000, 1000, 0})
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpearmanFromRanks)
    ->ArgNames({"n", "p", "missing_every"})
    ->Args({200000, 1000, 5})
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
// The shared real table's shape (4,994 rows, 560 survivors, 12 with missing values).
BENCHMARK(BM_OpenBlasDsyrk)
    ->ArgNames({"n", "p"})
    ->Args({4994, 560})
    ->MinTime(0.5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpearmanFromRanks)
    ->ArgNames({"n", "p", "missing_every"})
    ->Args({4994, 560, 0})
    ->MinTime(0.5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SpearmanFromRanks)
    ->ArgNames({"n", "p", "missing_every"})
    ->Args({4994, 560, 47})
    ->MinTime(0.5)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

/// Console output as usual, plus the GFLOP/s of every run kept by shape, for the ratios.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(isatty(fileno(stdout)) ? OO_ColorTabular : OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
      const auto rate = run.counters.find("GFLOP");
      if (rate == run.counters.end()) continue;
      const bool is_blas = run.run_name.function_name.find("Dsyrk") != std::string::npos;
      (is_blas ? blas_ : descpipe_)[run.report_label] = rate->second.value;
    }
  }
  void PrintRatios() const {
    for (const auto& [label, rate] : descpipe_) {
      // "n=... p=... missing:..." is compared with dsyrk on "n=... p=...".
      const auto blas = blas_.find(label.substr(0, label.find(" missing")));
      if (blas == blas_.end()) continue;
      std::printf("SpearmanFromRanks / dsyrk  %-34s %7.1f / %7.1f GFLOP/s = %5.1f%%\n",
                  label.c_str(), rate, blas->second, 100.0 * rate / blas->second);
    }
  }

 private:
  std::map<std::string, double> descpipe_, blas_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf(
      "\n(GFLOP/s counts n*p*(p+1) flops for both; goal: SpearmanFromRanks >= 60%% of dsyrk "
      "on n=200000 p=1000 without missing values)\n");
  reporter.PrintRatios();
  benchmark::Shutdown();
  return 0;
}
