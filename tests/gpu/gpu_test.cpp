// The CUDA backend against the CPU path: the same ranks bit for bit, correlation and HSIC/RDC
// matrices within 1e-9 at fp64 (stated tolerances at fp32/tf32), the same VIF removals, and the
// same final descriptor lists on the shared real table and on planted data. Every test of the
// Gpu* suites is skipped (ctest shows "Skipped") in a build without CUDA or on a machine without a
// GPU; the Device* suite runs everywhere and checks the choice of device and its messages.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <random>

#include "descpipe/device.hpp"
#include "descpipe/error.hpp"
#include "descpipe/nonlinear.hpp"
#include "descpipe/similarity.hpp"
#include "descpipe/vif.hpp"
#include "io/npy.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

using testing::Lines;
using testing::ReadFile;
using testing::RunCli;
using testing::RunProgram;
using testing::TempDir;

constexpr double kNaNValue = std::numeric_limits<double>::quiet_NaN();
constexpr double kInfValue = std::numeric_limits<double>::infinity();

bool HaveGpu() { return CudaBuilt() && ListGpus().count > 0; }

Context CpuContext(int threads = 2) { return Context(threads, 42); }

Context GpuContext(GpuPrecision precision = GpuPrecision::kFp64, double cap_gb = 0.0) {
  Context ctx(2, 42);
  ctx.set_device(Device::kCuda);
  GpuSettings gpu;
  gpu.precision = precision;
  gpu.memory_limit_bytes = static_cast<std::uint64_t>(cap_gb * 1e9);
  ctx.set_gpu(gpu);
  return ctx;
}

class GpuTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!CudaBuilt()) GTEST_SKIP() << "built without CUDA (DESCPIPE_ENABLE_CUDA=OFF)";
    const GpuInventory gpus = ListGpus();
    if (gpus.count == 0) GTEST_SKIP() << "no CUDA device: " << gpus.why_none;
  }
};

/// n x p values with ties (rounded), NaN, +-inf, -0.0 and 0.0; column 0 all missing, column 1
/// constant, column 2 with a single valid value, the rest random with `missing` NaN share.
ColumnMatrix AwkwardMatrix(std::size_t n, std::size_t p, double missing, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform;
  ColumnMatrix m;
  m.n_rows = n;
  m.n_cols = p;
  m.values.resize(n * p);
  for (std::size_t col = 0; col < p; ++col) {
    double* x = m.column(col);
    for (std::size_t row = 0; row < n; ++row) {
      double value = normal(rng);
      if (col % 3 == 0) value = std::round(value * 4.0) / 4.0;  // many ties
      if (col % 5 == 1)
        value = static_cast<double>(static_cast<int>(uniform(rng) * 3.0));  // 0, 1, 2
      const double u = uniform(rng);
      if (u < missing)
        value = kNaNValue;
      else if (u < missing * 1.05)
        value = (row % 2 == 0) ? kInfValue : -kInfValue;
      else if (u < missing * 1.1)
        value = (row % 2 == 0) ? 0.0 : -0.0;
      x[row] = value;
    }
  }
  if (p > 3) {
    std::fill_n(m.column(0), n, kNaNValue);
    std::fill_n(m.column(1), n, 7.5);
    std::fill_n(m.column(2), n, kNaNValue);
    m.column(2)[n / 2] = 3.0;
  }
  return m;
}

void ExpectSameBits(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t e = 0; e < a.size(); ++e) {
    if (std::isnan(a[e]) || std::isnan(b[e])) {
      ASSERT_TRUE(std::isnan(a[e]) && std::isnan(b[e]))
          << "element " << e << ": " << a[e] << " vs " << b[e];
    } else {
      ASSERT_EQ(a[e], b[e]) << "element " << e;
    }
  }
}

/// Largest |a - b|, with NaN required at the same places.
double MaxDifference(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0.0;
  for (std::size_t e = 0; e < std::min(a.size(), b.size()); ++e) {
    if (std::isnan(a[e]) || std::isnan(b[e])) {
      EXPECT_TRUE(std::isnan(a[e]) && std::isnan(b[e]))
          << "element " << e << ": " << a[e] << " vs " << b[e];
      continue;
    }
    worst = std::max(worst, std::fabs(a[e] - b[e]));
  }
  return worst;
}

// ---- device choice (every build, with or without a GPU) ---------------------------------------

TEST(DeviceChoice, CpuIsAlwaysTheCpu) {
  const DeviceChoice choice = ChooseDevice("cpu", 0);
  EXPECT_EQ(choice.device, Device::kCpu);
  EXPECT_EQ(choice.description, "CPU (device: cpu)");
}

TEST(DeviceChoice, AutoSaysWhichAndWhy) {
  const DeviceChoice choice = ChooseDevice("auto", 0);
  if (HaveGpu()) {
    EXPECT_EQ(choice.device, Device::kCuda);
    EXPECT_EQ(choice.description.rfind("GPU 0 (", 0), 0u) << choice.description;
  } else {
    EXPECT_EQ(choice.device, Device::kCpu);
    EXPECT_EQ(choice.description.rfind("CPU (device: auto; ", 0), 0u) << choice.description;
    EXPECT_TRUE(
        testing::Contains(choice.description, CudaBuilt() ? "no CUDA device" : "no CUDA support"))
        << choice.description;
  }
  // auto never fails: a GPU that is not there means the CPU.
  EXPECT_EQ(ChooseDevice("auto", 4096).device, Device::kCpu);
}

TEST(DeviceChoice, CudaWithoutAUsableGpuIsAClearError) {
  const std::string message = testing::MessageOf<CudaError>([] { ChooseDevice("cuda:4096", 0); });
  if (!CudaBuilt()) {
    EXPECT_TRUE(testing::Contains(message, "built without CUDA support")) << message;
  } else if (!HaveGpu()) {
    EXPECT_TRUE(testing::Contains(message, "no CUDA device is available")) << message;
  } else {
    EXPECT_TRUE(testing::Contains(message, "this machine has")) << message;
  }
  if (!HaveGpu()) {
    EXPECT_THROW(ChooseDevice("cuda", 0), CudaError);
  }
}

TEST(DeviceChoice, CommandLineDeviceFlag) {
  TempDir dir;
  const std::string input = dir / "t.parquet";
  testing::RunSql(
      "COPY (SELECT i AS id, i * 1.5 AS a, (i % 7) * 1.0 AS b, sqrt(i) AS c FROM range(1, 200) "
      "t(i)) TO '" +
      input + "' (FORMAT parquet)");
  const auto automatic =
      RunCli({"run", input, "-o", dir / "auto", "--device", "auto", "--until", "pass2"});
  ASSERT_EQ(automatic.exit_code, 0) << automatic.err;
  EXPECT_TRUE(testing::Contains(automatic.err,
                                HaveGpu() ? "device: GPU 0 (" : "device: CPU (device: auto; "))
      << automatic.err;
  if (!HaveGpu()) {
    const auto cuda = RunCli({"run", input, "-o", dir / "cuda", "--device", "cuda"});
    EXPECT_NE(cuda.exit_code, 0);
    EXPECT_TRUE(testing::Contains(cuda.err, "error: device 'cuda' requested but ")) << cuda.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "cuda/pass1_columns.txt"));
  }
  const auto bad = RunCli({"run", input, "-o", dir / "bad", "--device", "gpu"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(testing::Contains(bad.err, "device must be cpu, auto or cuda[:N], got 'gpu'"))
      << bad.err;
}

// ---- rank transform --------------------------------------------------------------------------

TEST_F(GpuTest, RanksEqualTheCpuBitForBit) {
  for (const SpearmanMissing missing :
       {SpearmanMissing::kPairwise, SpearmanMissing::kImputeMedian}) {
    const ColumnMatrix input = AwkwardMatrix(5003, 23, 0.07, 11);
    ColumnMatrix cpu = input, gpu = input;
    RankColumns(cpu, missing, CpuContext());
    RankColumns(gpu, missing, GpuContext());
    ExpectSameBits(cpu.values, gpu.values);
  }
}

TEST_F(GpuTest, RanksInColumnGroupsUnderATinyCap) {
  const ColumnMatrix input = AwkwardMatrix(20011, 9, 0.02, 12);
  ColumnMatrix cpu = input, gpu = input;
  RankColumns(cpu, SpearmanMissing::kPairwise, CpuContext());
  RankColumns(gpu, SpearmanMissing::kPairwise,
              GpuContext(GpuPrecision::kFp64, 0.0015));  // ~2 columns a group
  ExpectSameBits(cpu.values, gpu.values);
}

// ---- Spearman / Pearson products -------------------------------------------------------------

TEST_F(GpuTest, SpearmanWithin1e9OfTheCpu) {
  for (const double missing : {0.0, 0.01, 0.2}) {
    ColumnMatrix ranks = AwkwardMatrix(9000, 140, missing, 21);
    RankColumns(ranks, SpearmanMissing::kPairwise, CpuContext());
    const std::vector<double> cpu = SpearmanFromRanks(ranks, CpuContext());
    const std::vector<double> gpu = SpearmanFromRanks(ranks, GpuContext());
    const double worst = MaxDifference(cpu, gpu);
    EXPECT_LE(worst, 1e-9) << "missing share " << missing;
    std::cout << "[ measured ] missing " << missing << ": max |rho_gpu - rho_cpu| = " << worst
              << "\n";
    // Float ranks: the same sums.
    FloatRankMatrix floats;
    floats.n_rows = ranks.n_rows;
    floats.n_cols = ranks.n_cols;
    floats.values.assign(ranks.values.begin(), ranks.values.end());
    EXPECT_LE(MaxDifference(cpu, SpearmanFromRanks(floats, GpuContext())), 1e-9);
  }
}

TEST_F(GpuTest, SpearmanInManySmallTilesUnderATinyCap) {
  ColumnMatrix ranks = AwkwardMatrix(30001, 60, 0.05, 22);
  RankColumns(ranks, SpearmanMissing::kPairwise, CpuContext());
  const std::vector<double> cpu = SpearmanFromRanks(ranks, CpuContext());
  // 0.008 GB: about 2,000 rows a tile (3,840 bytes a row for 60 columns, 57 incomplete), so 15
  // tiles and a partial last one.
  EXPECT_LE(MaxDifference(cpu, SpearmanFromRanks(ranks, GpuContext(GpuPrecision::kFp64, 0.008))),
            1e-9);
}

TEST_F(GpuTest, PearsonWithLargeOffsetsWithin1e9) {
  ColumnMatrix values = AwkwardMatrix(7000, 50, 0.03, 23);
  for (std::size_t e = 0; e < values.values.size(); ++e) values.values[e] = 1e6 + values.values[e];
  EXPECT_LE(MaxDifference(PearsonMatrix(values, CpuContext()), PearsonMatrix(values, GpuContext())),
            1e-9);
}

TEST_F(GpuTest, AccumulatorPiecesDoNotChangeTheResult) {
  ColumnMatrix ranks = AwkwardMatrix(12000, 40, 0.05, 24);
  RankColumns(ranks, SpearmanMissing::kPairwise, CpuContext());
  std::vector<double> shift(ranks.n_cols, 0.0);
  std::vector<bool> incomplete(ranks.n_cols, true);
  auto run = [&](std::size_t piece) {
    CorrelationAccumulator accumulator(shift, incomplete, GpuContext());
    std::vector<const double*> columns(ranks.n_cols);
    for (std::size_t first = 0; first < ranks.n_rows; first += piece) {
      const std::size_t rows = std::min(piece, ranks.n_rows - first);
      for (std::size_t col = 0; col < ranks.n_cols; ++col) columns[col] = ranks.column(col) + first;
      accumulator.Add(columns.data(), rows);
    }
    return accumulator.Finish();
  };
  ExpectSameBits(run(ranks.n_rows), run(777));
}

TEST_F(GpuTest, ReducedPrecisionWithinItsStatedTolerance) {
  ColumnMatrix ranks = AwkwardMatrix(20000, 80, 0.02, 25);
  RankColumns(ranks, SpearmanMissing::kPairwise, CpuContext());
  const std::vector<double> cpu = SpearmanFromRanks(ranks, CpuContext());
  const double fp32 = MaxDifference(cpu, SpearmanFromRanks(ranks, GpuContext(GpuPrecision::kFp32)));
  const double tf32 = MaxDifference(cpu, SpearmanFromRanks(ranks, GpuContext(GpuPrecision::kTf32)));
  std::cout << "[ measured ] max |rho - rho_cpu|: fp32 " << fp32 << ", tf32 " << tf32 << "\n";
  // Thresholds (docs/GPU.md): loose enough for fp32 sums over 16,384-row tiles and tf32's 10-bit
  // inputs, tight enough that any wrong product or mask would fail by orders of magnitude.
  EXPECT_LE(fp32, 1e-4);
  EXPECT_LE(tf32, 1e-2);
}

// ---- HSIC / RDC ------------------------------------------------------------------------------

ColumnMatrix DependentCopula(std::size_t n, std::size_t p, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  ColumnMatrix m;
  m.n_rows = n;
  m.n_cols = p;
  m.values.resize(n * p);
  for (std::size_t row = 0; row < n; ++row) {
    const double x = normal(rng);
    for (std::size_t col = 0; col < p; ++col) {
      double value = normal(rng);
      if (col % 4 == 1) value = x * x + 0.1 * value;
      if (col % 4 == 2) value = std::sin(3.0 * x) + 0.2 * value;
      if (col % 4 == 3 && row % 17 == 0) value = kNaNValue;
      m.values[col * n + row] = col % 4 == 0 ? x : value;
    }
  }
  CopulaTransform(m, CpuContext());
  return m;
}

TEST_F(GpuTest, NonlinearWithin1e9OfTheCpu) {
  const ColumnMatrix copula = DependentCopula(3000, 37, 31);
  NonlinearOptions options;
  const NonlinearResult cpu = NonlinearDependence(copula, options, CpuContext());
  const NonlinearResult gpu = NonlinearDependence(copula, options, GpuContext());
  EXPECT_LE(MaxDifference(cpu.hsic, gpu.hsic), 1e-9);
  EXPECT_LE(MaxDifference(cpu.rdc, gpu.rdc), 1e-9);
  EXPECT_LE(MaxDifference(cpu.fused, gpu.fused), 1e-9);
  EXPECT_EQ(cpu.hsic_basis, gpu.hsic_basis);
  EXPECT_EQ(cpu.rdc_basis, gpu.rdc_basis);
  // Streamed column tiles when the features do not fit the cap (3000 x 37 x 11 doubles ~ 9.8 MB).
  const NonlinearResult streamed =
      NonlinearDependence(copula, options, GpuContext(GpuPrecision::kFp64, 0.004));
  EXPECT_LE(MaxDifference(cpu.fused, streamed.fused), 1e-9);
}

// ---- VIF -------------------------------------------------------------------------------------

TEST_F(GpuTest, VifMatchesTheCpu) {
  ColumnMatrix values = AwkwardMatrix(4000, 60, 0.0, 41);
  // Near-collinear columns (VIF in the hundreds), never exactly dependent: with an exactly
  // singular matrix, LAPACK and cuSOLVER may disagree on whether the Cholesky factorisation fails.
  for (std::size_t row = 0; row < values.n_rows; ++row) {
    values.column(10)[row] = values.column(11)[row] + 0.05 * values.column(12)[row];
    values.column(20)[row] =
        values.column(21)[row] - values.column(22)[row] + 0.02 * values.column(23)[row];
  }
  std::vector<double> r = PearsonMatrix(values, CpuContext());
  for (double& e : r) {
    if (std::isnan(e)) e = 0.0;
  }
  const std::size_t p = values.n_cols;
  for (std::size_t i = 0; i < p; ++i) r[i * p + i] = 1.0;
  const std::vector<double> cpu = ComputeVif(r.data(), p, 1e-10, CpuContext());
  const std::vector<double> gpu = ComputeVif(r.data(), p, 1e-10, GpuContext());
  ASSERT_EQ(cpu.size(), gpu.size());
  for (std::size_t j = 0; j < p; ++j) {
    if (std::isinf(cpu[j])) {
      EXPECT_TRUE(std::isinf(gpu[j])) << j;
    } else {
      EXPECT_NEAR(gpu[j], cpu[j], 1e-9 * std::max(1.0, cpu[j])) << j;
    }
  }
  std::vector<std::size_t> rank(p);
  for (std::size_t i = 0; i < p; ++i) rank[i] = i;
  const std::vector<bool> pinned(p, false);
  VifOptions options;
  options.threshold = 2.0;
  const VifResult a = IterativeVif(r.data(), p, rank, pinned, options, CpuContext());
  const VifResult b = IterativeVif(r.data(), p, rank, pinned, options, GpuContext());
  EXPECT_EQ(a.survivors, b.survivors);
  ASSERT_EQ(a.removed.size(), b.removed.size());
  for (std::size_t e = 0; e < a.removed.size(); ++e)
    EXPECT_EQ(a.removed[e].column, b.removed[e].column) << e;
}

// ---- memory cap ------------------------------------------------------------------------------

TEST_F(GpuTest, TooSmallACapIsAClearError) {
  ColumnMatrix ranks = AwkwardMatrix(1000, 300, 0.1, 51);
  for (const auto& run : std::vector<std::function<void()>>{
           [&] { SpearmanFromRanks(ranks, GpuContext(GpuPrecision::kFp64, 1e-6)); },
           [&] {
             RankColumns(ranks, SpearmanMissing::kPairwise, GpuContext(GpuPrecision::kFp64, 1e-6));
           }}) {
    const std::string message = testing::MessageOf<CudaError>(run);
    EXPECT_TRUE(testing::Contains(message, "max_gpu_memory_gb")) << message;
  }
}

// ---- whole runs ------------------------------------------------------------------------------

/// Runs the CLI on `input` with `device`, returns the output directory.
std::string RunOn(const TempDir& dir, const std::string& input, const std::string& device,
                  const std::vector<std::string>& extra = {}) {
  const std::string out = dir / ("out_" + device);
  std::vector<std::string> args = {"run", input, "-o", out, "-q", "--device", device};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto result = RunCli(args);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  // The manifest says where the run computed.
  EXPECT_TRUE(testing::Contains(
      ReadFile(out + "/run_manifest.json"),
      device == "cpu" ? "\"device\": \"CPU (device: cpu)\"" : "\"device\": \"GPU 0 ("));
  return out;
}

void ExpectSameSelections(const std::string& cpu, const std::string& gpu) {
  for (const char* file : {"pass1_columns.txt", "pass2_columns.txt", "pass3_columns.txt",
                           "pass4_columns.txt", "final_descriptors.txt"}) {
    EXPECT_EQ(ReadFile(cpu + "/" + file), ReadFile(gpu + "/" + file)) << file;
  }
  for (const char* file :
       {"pass2_spearman_matrix.npy", "pass4_hsic_matrix.npy", "pass4_rdc_matrix.npy"}) {
    std::size_t rows = 0, cols = 0;
    const std::vector<double> a = io::ReadNpy(cpu + "/" + file, &rows, &cols);
    const std::vector<double> b = io::ReadNpy(gpu + "/" + file, &rows, &cols);
    EXPECT_LE(MaxDifference(a, b), 1e-9) << file;
  }
}

TEST_F(GpuTest, RealTableSameSelectionsAsTheCpu) {
  if (!std::filesystem::exists(testing::SharedTablePath()))
    GTEST_SKIP() << testing::SharedTablePath() << " not found";
  TempDir dir;
  ExpectSameSelections(RunOn(dir, testing::SharedTablePath(), "cpu"),
                       RunOn(dir, testing::SharedTablePath(), "cuda"));
}

TEST_F(GpuTest, PlantedTableSameSelectionsAsTheCpu) {
  TempDir dir;
  const std::string input = dir / "planted.parquet";
  ASSERT_EQ(RunProgram(testing::MakeDataPath(), {"20000", "300", input}, 300).exit_code, 0);
  ExpectSameSelections(RunOn(dir, input, "cpu"), RunOn(dir, input, "cuda"));
}

TEST_F(GpuTest, FloatRankStorageSameSelectionsAsTheCpu) {
  // memory_limit small enough that Pass 2 keeps float ranks and reads the columns in blocks.
  TempDir dir;
  const std::string input = dir / "planted.parquet";
  ASSERT_EQ(RunProgram(testing::MakeDataPath(), {"40000", "200", input}, 300).exit_code, 0);
  const std::vector<std::string> extra = {"--set", "memory_limit=50MB"};
  ExpectSameSelections(RunOn(dir, input, "cpu", extra), RunOn(dir, input, "cuda", extra));
}

}  // namespace
}  // namespace descpipe
