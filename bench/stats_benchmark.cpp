// Micro-benchmarks of the Pass 1 kernels: ColumnStatsAccumulator::Add on the column kinds met in
// descriptor tables (continuous, low-cardinality integers, with NULLs), per value.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "descpipe/stats.hpp"

namespace {

constexpr std::size_t kBlock = 8192;
constexpr std::size_t kBlocks = 64;

struct Data {
  std::vector<double> values;
  std::vector<std::uint8_t> nulls;
  std::vector<std::uint64_t> keys;
};

Data MakeData(int kind) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> small(0, 20);
  Data data;
  data.values.resize(kBlock * kBlocks);
  data.nulls.assign(kBlock * kBlocks, 0);
  data.keys.resize(kBlock * kBlocks);
  for (std::size_t i = 0; i < data.values.size(); ++i) {
    data.values[i] = kind == 1 ? small(rng) : 1e6 + normal(rng);
    if (kind == 2 && i % 20 == 0) data.nulls[i] = 1;
    data.keys[i] = descpipe::RowSampleKey(i, 42);
  }
  return data;
}

void BM_Add(benchmark::State& state) {
  const Data data = MakeData(static_cast<int>(state.range(0)));
  descpipe::StatsOptions options;
  options.expected_rows = 2'000'000;
  // As in Pass 1: the sample candidates of a block are selected once for all its columns.
  std::vector<descpipe::SampleCandidates> candidates(kBlocks);
  for (std::size_t block = 0; block < kBlocks; ++block) {
    candidates[block].Select(data.keys.data() + block * kBlock, kBlock,
                             descpipe::SamplePrefilterBound(options));
  }
  for (auto _ : state) {
    descpipe::ColumnStatsAccumulator accumulator(options);
    for (std::size_t block = 0; block < kBlocks; ++block) {
      accumulator.Add(data.values.data() + block * kBlock, data.nulls.data() + block * kBlock,
                      kBlock, candidates[block]);
    }
    benchmark::DoNotOptimize(accumulator);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBlock * kBlocks));
}
// 0: continuous, 1: integers 0..20, 2: continuous with 5% NULL
BENCHMARK(BM_Add)->Arg(0)->Arg(1)->Arg(2);

}  // namespace

BENCHMARK_MAIN();
