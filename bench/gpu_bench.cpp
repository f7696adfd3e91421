// The GPU kernels against the CPU and against cuBLAS itself (scripts/gpu-check.sh, docs/GPU.md).
//   descpipe_gpu_bench ROWS COLS [--missing FRACTION] [--rank-columns K] [--no-cpu]
// On ROWS x COLS random float "ranks" (a FRACTION of the columns with 1% missing values):
//  - gram: Pass 2's products (CorrelationSumsGpu, as SpearmanFromRanks on float ranks) at fp64,
//    fp32 and tf32: device compute time (preparation kernels + cuBLAS, CUDA events), host-to-
//    device copies, wall time; and the reference, one cuBLAS call (DSYRK at fp64, GEMM at
//    fp32/tf32) on the same shape already on the device. Share = reference / compute.
//  - the CPU's SpearmanFromRanks on the same matrix (unless --no-cpu), all threads.
//  - ranks: RankColumns of K columns (default 50) on the GPU and on the CPU.
// Prints one line per measurement, "key: value ...", then "json: {...}" for scripts.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/device.hpp"
#include "descpipe/similarity.hpp"
#include "similarity/spearman_cuda.hpp"

namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

descpipe::Context GpuContext(descpipe::GpuPrecision precision) {
  descpipe::Context ctx;
  ctx.set_device(descpipe::Device::kCuda);
  descpipe::GpuSettings gpu;
  gpu.precision = precision;
  ctx.set_gpu(gpu);
  return ctx;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s ROWS COLS [--missing FRACTION] [--rank-columns K] [--no-cpu]\n",
                 argv[0]);
    return 2;
  }
  const std::size_t n = std::strtoull(argv[1], nullptr, 10);
  const std::size_t p = std::strtoull(argv[2], nullptr, 10);
  double missing_share = 0.0;
  std::size_t rank_columns = 50;
  bool cpu = true;
  for (int a = 3; a < argc; ++a) {
    if (std::strcmp(argv[a], "--missing") == 0 && a + 1 < argc) {
      missing_share = std::atof(argv[++a]);
    } else if (std::strcmp(argv[a], "--rank-columns") == 0 && a + 1 < argc) {
      rank_columns = std::strtoull(argv[++a], nullptr, 10);
    } else if (std::strcmp(argv[a], "--no-cpu") == 0) {
      cpu = false;
    } else {
      std::fprintf(stderr, "unknown argument %s\n", argv[a]);
      return 2;
    }
  }
  try {
    const descpipe::GpuInventory gpus = descpipe::ListGpus();
    if (gpus.count == 0) {
      std::fprintf(stderr, "no GPU: %s\n", gpus.why_none.c_str());
      return 3;
    }
    std::printf("device: %s\n", descpipe::DescribeGpu(0).c_str());
    std::printf("shape: %zu rows x %zu columns, %.0f%% of the columns with 1%% missing\n", n, p,
                missing_share * 100);

    descpipe::FloatRankMatrix ranks;
    ranks.n_rows = n;
    ranks.n_cols = p;
    ranks.values.resize(n * p);
    std::vector<bool> incomplete(p, false);
    std::vector<double> shift(p, (static_cast<double>(n) + 1.0) / 2.0);
    {
      // SplitMix64 per column: 2e9 values in seconds (the timed steps do not depend on the values).
      std::vector<std::thread> workers;
      const unsigned n_threads = std::max(1u, std::thread::hardware_concurrency());
      for (std::size_t col = 0; col < p; ++col) {
        incomplete[col] = static_cast<double>(col) < missing_share * static_cast<double>(p);
      }
      for (unsigned t = 0; t < n_threads; ++t) {
        workers.emplace_back([&, t] {
          for (std::size_t col = t; col < p; col += n_threads) {
            std::uint64_t state = 0x9e3779b97f4a7c15ULL * (col + 1);
            float* x = ranks.column(col);
            for (std::size_t row = 0; row < n; ++row) {
              std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
              z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
              z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
              z ^= z >> 31;
              x[row] = (incomplete[col] && row % 100 == 7) ? std::nanf("")
                                                           : static_cast<float>(z % n) + 1.5f;
            }
          }
        });
      }
      for (std::thread& worker : workers) worker.join();
    }
    std::vector<std::size_t> incomplete_list;
    for (std::size_t col = 0; col < p; ++col) {
      if (incomplete[col]) incomplete_list.push_back(col);
    }
    std::vector<const float*> columns(p);
    for (std::size_t col = 0; col < p; ++col) columns[col] = ranks.column(col);

    std::string json = "{\"rows\": " + std::to_string(n) + ", \"cols\": " + std::to_string(p);
    const double flops =
        static_cast<double>(n) * static_cast<double>(p) * static_cast<double>(p + 1);  // SYRK
    for (const auto precision : {descpipe::GpuPrecision::kFp64, descpipe::GpuPrecision::kFp32,
                                 descpipe::GpuPrecision::kTf32}) {
      const descpipe::Context ctx = GpuContext(precision);
      const char* name = descpipe::EnumName(precision);
      double wall = 0.0;
      descpipe::cuda_impl::CorrelationSums sums;
      {
        const auto start = std::chrono::steady_clock::now();
        descpipe::cuda_impl::CorrelationSumsGpu gram(shift, incomplete_list, n, ctx);
        gram.Add(columns.data(), n);
        sums = gram.Finish();
        wall = Since(start);
      }
      const double reference = descpipe::cuda_impl::GramReferenceSeconds(n, p, 3, ctx);
      const double share = reference / sums.compute_seconds;
      std::printf(
          "gram %s: compute %.3f s (%.1f TFLOP/s), copies %.3f s, wall %.3f s, tiles of %zu rows; "
          "cuBLAS alone "
          "%.3f s (%.1f TFLOP/s): %.0f%% of the cuBLAS rate\n",
          name, sums.compute_seconds, flops / sums.compute_seconds / 1e12, sums.transfer_seconds,
          wall, sums.tile_rows, reference, flops / reference / 1e12, share * 100.0);
      json += std::string(", \"gram_") + name +
              "_compute_s\": " + std::to_string(sums.compute_seconds) + ", \"gram_" + name +
              "_wall_s\": " + std::to_string(wall) + ", \"gram_" + name +
              "_cublas_s\": " + std::to_string(reference) + ", \"gram_" + name +
              "_share\": " + std::to_string(share);
    }
    if (cpu) {
      const descpipe::Context ctx;  // every hardware thread
      const auto start = std::chrono::steady_clock::now();
      const std::vector<double> rho = descpipe::SpearmanFromRanks(ranks, ctx);
      const double seconds = Since(start);
      std::printf("gram cpu: %.3f s with %d threads (%.2f TFLOP/s)\n", seconds, ctx.threads(),
                  flops / seconds / 1e12);
      json += ", \"gram_cpu_s\": " + std::to_string(seconds);
    }
    {
      const std::size_t k = std::min(rank_columns, p);
      descpipe::ColumnMatrix values;
      values.n_rows = n;
      values.n_cols = k;
      values.values.assign(ranks.values.begin(),
                           ranks.values.begin() + static_cast<std::ptrdiff_t>(n * k));
      descpipe::ColumnMatrix copy = values;
      auto start = std::chrono::steady_clock::now();
      descpipe::RankColumns(values, descpipe::SpearmanMissing::kPairwise,
                            GpuContext(descpipe::GpuPrecision::kFp64));
      const double gpu_seconds = Since(start);
      start = std::chrono::steady_clock::now();
      descpipe::RankColumns(copy, descpipe::SpearmanMissing::kPairwise, descpipe::Context());
      const double cpu_seconds = Since(start);
      bool same = true;
      for (std::size_t e = 0; e < values.values.size() && same; ++e) {
        same = values.values[e] == copy.values[e] ||
               (std::isnan(values.values[e]) && std::isnan(copy.values[e]));
      }
      std::printf("ranks: %zu columns, GPU %.3f s (copies included), CPU %.3f s: %.1fx; %s\n", k,
                  gpu_seconds, cpu_seconds, cpu_seconds / gpu_seconds,
                  same ? "identical ranks" : "RANKS DIFFER");
      json += ", \"ranks_gpu_s\": " + std::to_string(gpu_seconds) +
              ", \"ranks_cpu_s\": " + std::to_string(cpu_seconds) +
              ", \"ranks_identical\": " + (same ? "true" : "false");
      if (!same) return 1;
    }
    std::printf("json: %s}\n", json.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
