// Pass 3 kernel: IterativeVif full elimination on correlation matrices with latent-factor
// structure (p columns from p/10 factors plus noise, so most columns are removed), p = 300 and
// p = 2,000. Goal (issue Pass 3): p = 2,000 full elimination under 5 s on this machine.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "descpipe/similarity.hpp"
#include "descpipe/vif.hpp"

namespace {

/// Pearson correlation of n rows of p columns, each a mix of a few of p/10 latent factors.
std::vector<double> FactorCorrelation(std::size_t p, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::size_t factors = std::max<std::size_t>(2, p / 10);
  std::vector<double> latent(n * factors);
  for (double& value : latent) value = normal(rng);
  descpipe::ColumnMatrix data;
  data.n_rows = n;
  data.n_cols = p;
  data.values.resize(n * p);
  std::uniform_int_distribution<std::size_t> pick(0, factors - 1);
  for (std::size_t col = 0; col < p; ++col) {
    const std::size_t a = pick(rng), b = pick(rng);
    const double noise = 0.05 + 0.5 * static_cast<double>(col % 7) / 7.0;
    for (std::size_t row = 0; row < n; ++row) {
      data.values[col * n + row] =
          latent[row * factors + a] + 0.5 * latent[row * factors + b] + noise * normal(rng);
    }
  }
  return descpipe::PearsonMatrix(data, descpipe::Context(1));
}

void BM_IterativeVif(benchmark::State& state) {
  const auto p = static_cast<std::size_t>(state.range(0));
  const std::vector<double> correlation = FactorCorrelation(p, 4 * p, 11);
  std::vector<std::size_t> quality(p);
  for (std::size_t i = 0; i < p; ++i) quality[i] = i;
  const std::vector<bool> pinned(p, false);
  descpipe::VifResult result;
  for (auto _ : state) {
    result = descpipe::IterativeVif(correlation.data(), p, quality, pinned, descpipe::VifOptions{});
    benchmark::DoNotOptimize(result);
  }
  state.counters["removed"] = static_cast<double>(result.removed.size());
  state.counters["refreshes"] = static_cast<double>(result.refreshes);
}
BENCHMARK(BM_IterativeVif)->Arg(300)->Arg(2000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
