// Pass 4 kernel end to end: CopulaTransform + NonlinearDependence (all-pairs nHSIC + RDC) on a
// generated n x p table. Goal (issue Pass 4): p = 500, n = 20,000 under 60 s and 2 GB peak RSS
// on the project machine. bench/nonlinear_vs_textbook.sh runs it against a per-pair loop of the
// textbook RDC (bench/rdc_textbook.py) on the same data.
//
// Usage: descpipe_nonlinear_bench N P [THREADS] [--w-hsic X] [--w-rdc Y] [--csv FILE]
//                                 [--csv-only] [--matrices PREFIX]
//   THREADS      Context threads (default 0: every hardware thread)
//   --w-hsic X   NonlinearOptions::w_hsic (default 0.5; 0 skips HSIC)
//   --w-rdc Y    NonlinearOptions::w_rdc (default 0.5; 0 skips RDC)
//   --csv FILE   writes the generated table (header c0000.., %.17g) before computing
//   --csv-only   stops after writing the table
//   --matrices PREFIX  writes PREFIX_hsic.f64 and PREFIX_rdc.f64 (p x p, row-major, raw
//                little-endian doubles) after the timed part
//
// Data (seeded, std::mt19937_64): p / 10 latent normals z_g; column j belongs to group g = j / 10
// (latent z_g) and has kind j % 10:
//   0 z            1 z^2 + 0.2e         2 sin(3z) + 0.2e       3 exp(z) + 0.2e
//   4 floor(z) (integer, ~7 values)      5 independent normal   6 round(2|z| + 0.5e) (integer)
//   7 independent integer 0..4           8 |z| + 0.3e           9 0.5z + 0.5z_{g+1} + 0.2e
// with e fresh N(0, 1) noise per column; no missing values.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/nonlinear.hpp"
#include "descpipe/similarity.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

descpipe::ColumnMatrix Generate(std::size_t n, std::size_t p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> small_int(0, 4);
  const std::size_t groups = std::max<std::size_t>(1, (p + 9) / 10);
  std::vector<double> latent(groups * n);
  for (double& value : latent) value = normal(rng);
  descpipe::ColumnMatrix data;
  data.n_rows = n;
  data.n_cols = p;
  data.values.resize(n * p);
  for (std::size_t j = 0; j < p; ++j) {
    const std::size_t g = j / 10;
    const double* z = latent.data() + g * n;
    const double* z_next = latent.data() + ((g + 1) % groups) * n;
    double* column = data.column(j);
    for (std::size_t i = 0; i < n; ++i) {
      const double x = z[i];
      double value = 0.0;
      switch (j % 10) {
        case 0:
          value = x;
          break;
        case 1:
          value = x * x + 0.2 * normal(rng);
          break;
        case 2:
          value = std::sin(3.0 * x) + 0.2 * normal(rng);
          break;
        case 3:
          value = std::exp(x) + 0.2 * normal(rng);
          break;
        case 4:
          value = std::floor(x);
          break;
        case 5:
          value = normal(rng);
          break;
        case 6:
          value = std::round(2.0 * std::fabs(x) + 0.5 * normal(rng));
          break;
        case 7:
          value = small_int(rng);
          break;
        case 8:
          value = std::fabs(x) + 0.3 * normal(rng);
          break;
        default:
          value = 0.5 * x + 0.5 * z_next[i] + 0.2 * normal(rng);
          break;
      }
      column[i] = value;
    }
  }
  return data;
}

void WriteCsv(const descpipe::ColumnMatrix& data, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  for (std::size_t j = 0; j < data.n_cols; ++j) std::fprintf(file, "%sc%04zu", j > 0 ? "," : "", j);
  std::fputc('\n', file);
  char buffer[64];
  for (std::size_t i = 0; i < data.n_rows; ++i) {
    for (std::size_t j = 0; j < data.n_cols; ++j) {
      const int length = std::snprintf(buffer, sizeof buffer, "%.17g", data.column(j)[i]);
      if (j > 0) std::fputc(',', file);
      std::fwrite(buffer, 1, static_cast<std::size_t>(length), file);
    }
    std::fputc('\n', file);
  }
  std::fclose(file);
}

void WriteMatrix(const std::vector<double>& matrix, const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr ||
      std::fwrite(matrix.data(), sizeof(double), matrix.size(), file) != matrix.size()) {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
    std::exit(1);
  }
  std::fclose(file);
}

/// Mean of the off-diagonal entries (i, j), i < j, of a p x p matrix whose columns i and j have
/// kinds (a, b) and (same group or not).
double MeanOf(const std::vector<double>& m, std::size_t p, bool same_group, int kind_a,
              int kind_b) {
  double sum = 0.0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < p; ++i) {
    for (std::size_t j = i + 1; j < p; ++j) {
      if ((i / 10 == j / 10) != same_group) continue;
      const int a = static_cast<int>(i % 10), b = static_cast<int>(j % 10);
      if (!((a == kind_a && b == kind_b) || (a == kind_b && b == kind_a))) continue;
      sum += m[i * p + j];
      ++count;
    }
  }
  return count > 0 ? sum / static_cast<double>(count) : std::nan("");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> positional;
  descpipe::NonlinearOptions options;
  std::string csv, matrices;
  bool csv_only = false;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    auto next = [&]() -> std::string {
      if (a + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", arg.c_str());
        std::exit(2);
      }
      return argv[++a];
    };
    if (arg == "--w-hsic")
      options.w_hsic = std::stod(next());
    else if (arg == "--w-rdc")
      options.w_rdc = std::stod(next());
    else if (arg == "--csv")
      csv = next();
    else if (arg == "--csv-only")
      csv_only = true;
    else if (arg == "--matrices")
      matrices = next();
    else if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr, "unknown option %s\n", arg.c_str());
      return 2;
    } else
      positional.push_back(arg);
  }
  if (positional.size() < 2 || positional.size() > 3) {
    std::fprintf(stderr,
                 "usage: %s N P [THREADS] [--w-hsic X] [--w-rdc Y] [--csv FILE] [--csv-only] "
                 "[--matrices PREFIX]\n",
                 argv[0]);
    return 2;
  }
  const auto n = static_cast<std::size_t>(std::stoull(positional[0]));
  const auto p = static_cast<std::size_t>(std::stoull(positional[1]));
  const descpipe::Context ctx(positional.size() > 2 ? std::stoi(positional[2]) : 0);

  const auto t_generate = Clock::now();
  descpipe::ColumnMatrix data = Generate(n, p, 20261127);
  const auto t_generated = Clock::now();
  std::printf("data           : %zu rows x %zu columns, generated in %.2f s\n", n, p,
              Seconds(t_generate, t_generated));
  if (!csv.empty()) {
    WriteCsv(data, csv);
    std::printf("csv            : %s (%.2f s)\n", csv.c_str(), Seconds(t_generated, Clock::now()));
  }
  if (csv_only) return 0;
  std::printf(
      "options        : threads %d, rdc_k %d, rdc_seeds %d, hsic_D %d, w_hsic %g, w_rdc %g\n",
      ctx.threads(), options.rdc_k, options.rdc_seeds, options.hsic_D, options.w_hsic,
      options.w_rdc);
  const double rss_data = static_cast<double>(descpipe::PeakRssBytes());
  std::fflush(stdout);

  // Round boundaries (HSIC's product, then one per RDC draw) from the progress callback: the
  // callback reports (round * tiles + done, rounds * tiles), so a round ends when done == tiles.
  const int rounds = (options.w_hsic > 0.0 ? 1 : 0) + (options.w_rdc > 0.0 ? options.rdc_seeds : 0);
  std::vector<Clock::time_point> boundaries;
  std::mutex boundary_mutex;
  auto progress = [&](std::uint64_t value, std::int64_t total) {
    const auto tiles = static_cast<std::uint64_t>(total / rounds);
    if (tiles > 0 && value % tiles == 0) {
      std::lock_guard<std::mutex> lock(boundary_mutex);
      boundaries.push_back(Clock::now());
    }
  };

  const auto t0 = Clock::now();
  descpipe::CopulaTransform(data, ctx);
  const auto t1 = Clock::now();
  const descpipe::NonlinearResult result =
      descpipe::NonlinearDependence(data, options, ctx, progress);
  const auto t2 = Clock::now();
  const double peak = static_cast<double>(descpipe::PeakRssBytes());

  std::printf(
      "bases          : hsic_basis %zu (of %d features), rdc_basis %zu (of rdc_k_used %d)\n",
      result.hsic_basis, options.hsic_D, result.rdc_basis, result.rdc_k_used);
  std::printf("copula         : %8.3f s\n", Seconds(t0, t1));
  if (static_cast<int>(boundaries.size()) == rounds) {
    auto previous = t1;
    int b = 0;
    if (options.w_hsic > 0.0) {
      std::printf("  hsic         : %8.3f s  (basis, features, products)\n",
                  Seconds(previous, boundaries[0]));
      previous = boundaries[b++];
    }
    if (options.w_rdc > 0.0) {
      std::printf("  rdc          : %8.3f s  (%d draws:", Seconds(previous, boundaries.back()),
                  options.rdc_seeds);
      for (; b < rounds; ++b) {
        std::printf(" %.2f", Seconds(previous, boundaries[static_cast<std::size_t>(b)]));
        previous = boundaries[static_cast<std::size_t>(b)];
      }
      std::printf(" s)\n");
    }
  }
  std::printf("nonlinear      : %8.3f s  (NonlinearDependence)\n", Seconds(t1, t2));
  std::printf("total          : %8.3f s  (copula + nonlinear)\n", Seconds(t0, t2));
  std::printf("peak rss       : %8.1f MB (after generating the data: %.1f MB)\n", peak / 1e6,
              rss_data / 1e6);
  // Machine-readable line for the bench script.
  std::printf(
      "RESULT n=%zu p=%zu threads=%d copula_s=%.4f nonlinear_s=%.4f total_s=%.4f "
      "peak_rss_bytes=%.0f "
      "hsic_basis=%zu rdc_basis=%zu\n",
      n, p, ctx.threads(), Seconds(t0, t1), Seconds(t1, t2), Seconds(t0, t2), peak,
      result.hsic_basis, result.rdc_basis);

  if (!result.rdc.empty() && p >= 20) {
    std::printf("mean RDC / nHSIC by pair kind (same latent unless noted):\n");
    const struct {
      const char* name;
      bool same;
      int a, b;
    } kinds[] = {{"z vs z^2+e", true, 0, 1},
                 {"z vs sin(3z)+e", true, 0, 2},
                 {"z vs exp(z)+e", true, 0, 3},
                 {"z vs floor(z)", true, 0, 4},
                 {"z vs indep normal", true, 0, 5},
                 {"z vs round(2|z|+e)", true, 0, 6},
                 {"indep normal vs indep int", false, 5, 7},
                 {"z vs z (other group)", false, 0, 0}};
    for (const auto& k : kinds) {
      std::printf("  %-26s RDC %.3f", k.name, MeanOf(result.rdc, p, k.same, k.a, k.b));
      if (!result.hsic.empty())
        std::printf("  nHSIC %.3f", MeanOf(result.hsic, p, k.same, k.a, k.b));
      std::printf("\n");
    }
  }
  if (!matrices.empty()) {
    if (!result.hsic.empty()) WriteMatrix(result.hsic, matrices + "_hsic.f64");
    if (!result.rdc.empty()) WriteMatrix(result.rdc, matrices + "_rdc.f64");
  }
  return 0;
}
