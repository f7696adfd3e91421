// The sums of CorrelationAccumulator on the GPU (cuda_impl::CorrelationSumsGpu); spearman.cpp
// turns them into correlations exactly as it does the CPU's sums.
//
// Rows arrive in host batches and are gathered into pinned tiles of R rows x p columns (column
// c at [c * R]). Each full tile is copied to the device on a copy stream while the compute stream
// works on the previous one (two tiles in flight). On the device a tile is shifted, masked and
// squared (x, mask, x2), the incomplete columns are gathered (x_J, mask_J, x2_J), and cuBLAS adds
//   P += x^T x (DSYRK, upper),  N += mask^T mask_J,  S_i += x^T mask_J,  Q_i += x2^T mask_J,
//   S_j += mask^T x_J,  Q_j += mask^T x2_J                                           (DGEMM)
// into fp64 sums held on the device; column totals come from one block per column (a fixed
// reduction tree: deterministic). At fp32/tf32 the products of a tile are taken in fp32 (tf32:
// tensor cores, inputs rounded to 10-bit mantissas) and added into the fp64 sums.
#include <math_constants.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "device/cuda_support.cuh"
#include "similarity/spearman_cuda.hpp"

namespace descpipe::cuda_impl {
namespace {

constexpr std::size_t kMaxTileRowsFp64 = 65536;
constexpr std::size_t kMaxTileRowsFp32 = 16384;  // bounds the fp32 rounding within a tile
constexpr std::size_t kMaxStagingBytes = std::size_t{512} << 20;  // per pinned tile

template <typename T, typename C>
__global__ void PrepareTileKernel(const T* raw, std::size_t ld, std::size_t rows, std::size_t p,
                                  const double* shift, C* x, C* mask, C* x2) {
  const std::size_t total = rows * p;
  for (std::size_t e = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t col = e / rows, row = e - col * rows;
    const std::size_t at = col * ld + row;
    const double value = static_cast<double>(raw[at]);
    const bool valid = isfinite(value);
    const double shifted = valid ? value - shift[col] : 0.0;
    x[at] = static_cast<C>(shifted);
    if (mask != nullptr) {
      mask[at] = valid ? C(1) : C(0);
      x2[at] = static_cast<C>(shifted * shifted);
    }
  }
}

/// One block per column: the sum and sum of squares of its shifted valid values in the tile.
template <typename T>
__global__ void ColumnTotalsKernel(const T* raw, std::size_t ld, std::size_t rows,
                                   const double* shift, double* column_sum, double* column_square) {
  __shared__ double sums[256];
  __shared__ double squares[256];
  const std::size_t col = blockIdx.x;
  double sum = 0.0, square = 0.0;
  for (std::size_t row = threadIdx.x; row < rows; row += blockDim.x) {
    const double value = static_cast<double>(raw[col * ld + row]);
    if (isfinite(value)) {
      const double shifted = value - shift[col];
      sum += shifted;
      square += shifted * shifted;
    }
  }
  sums[threadIdx.x] = sum;
  squares[threadIdx.x] = square;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sums[threadIdx.x] += sums[threadIdx.x + half];
      squares[threadIdx.x] += squares[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    column_sum[col] += sums[0];
    column_square[col] += squares[0];
  }
}

template <typename C>
__global__ void GatherColumnsKernel(const C* x, const C* mask, const C* x2, std::size_t ld,
                                    std::size_t rows, const int* columns, std::size_t k, C* x_j,
                                    C* mask_j, C* x2_j) {
  const std::size_t total = rows * k;
  for (std::size_t e = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t t = e / rows, row = e - t * rows;
    const std::size_t from = static_cast<std::size_t>(columns[t]) * ld + row, to = t * ld + row;
    x_j[to] = x[from];
    mask_j[to] = mask[from];
    x2_j[to] = x2[from];
  }
}

__global__ void AddFloatKernel(const float* tile, std::size_t count, double* sum) {
  for (std::size_t e = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; e < count;
       e += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    sum[e] += static_cast<double>(tile[e]);
  }
}

}  // namespace

struct CorrelationSumsGpu::State {
  DeviceMemory memory;
  Stream compute, copy;
  CublasHandle blas{compute.get()};
  GpuPrecision precision = GpuPrecision::kFp64;
  std::size_t p = 0, k = 0, tile_rows = 0, compute_bytes = 8;
  std::size_t element = 0;  // bytes of the input type, fixed by the first Add
  std::size_t fill = 0;
  int slot = 0;
  std::uint64_t rows_seen = 0;
  int threads = 1;
  PinnedArray<unsigned char> staging[2];
  DeviceArray<unsigned char> raw[2];
  Event copied[2] = {Event(false), Event(false)}, consumed[2] = {Event(false), Event(false)};
  bool in_flight[2] = {false, false};
  DeviceArray<double> shift;
  DeviceArray<int> incomplete;
  DeviceArray<unsigned char> x, mask, x2, x_j, mask_j, x2_j;  // compute type (double, or float)
  DeviceArray<double> product, column_sum, column_square, joint_count, sum_i, square_i, sum_j,
      square_j;
  DeviceArray<float> tile_product, tile_masked;  // fp32/tf32 only
  std::vector<Event> copy_marks, compute_marks;  // start/stop pairs per tile

  explicit State(const Context& ctx) : memory(ctx, "the GPU Spearman/Pearson products") {}

  template <typename T>
  void Add(const T* const* columns, std::size_t rows) {
    DESCPIPE_CUDA_CHECK(cudaSetDevice(memory.device()));  // the caller's thread may have another
    if (element == 0) {
      element = sizeof(T);
      for (int s = 0; s < 2; ++s) {
        staging[s] = PinnedArray<unsigned char>(tile_rows * p * element);
        raw[s] =
            DeviceArray<unsigned char>(memory, tile_rows * p * element, "a tile of input rows");
      }
    }
    DESCPIPE_ASSERT(element == sizeof(T));  // one input type per accumulator
    std::size_t done = 0;
    while (done < rows) {
      const std::size_t take = std::min(tile_rows - fill, rows - done);
      if (in_flight[slot]) {
        copied[slot].Synchronize();  // the pinned tile may be refilled once its copy is done
        in_flight[slot] = false;
      }
      T* tile = reinterpret_cast<T*>(staging[slot].data());
      const auto n_columns = static_cast<std::int64_t>(p);
#pragma omp parallel for schedule(static) num_threads(threads)
      for (std::int64_t col = 0; col < n_columns; ++col) {
        std::memcpy(tile + static_cast<std::size_t>(col) * tile_rows + fill, columns[col] + done,
                    take * sizeof(T));
      }
      fill += take;
      done += take;
      if (fill == tile_rows) Submit<T>();
    }
    rows_seen += rows;
  }

  template <typename T>
  void Submit() {
    const std::size_t rows = fill;
    const int s = slot;
    const std::size_t ld = tile_rows;
    // Copy: after the previous tile in this slot was read by the compute stream.
    DESCPIPE_CUDA_CHECK(cudaStreamWaitEvent(copy.get(), consumed[s].get(), 0));
    copy_marks.emplace_back();
    copy_marks.back().Record(copy.get());
    // Only the filled rows of each column (all of them but in the last tile): one strided copy.
    DESCPIPE_CUDA_CHECK(cudaMemcpy2DAsync(raw[s].data(), ld * element, staging[s].data(),
                                          ld * element, rows * element, p, cudaMemcpyHostToDevice,
                                          copy.get()));
    copy_marks.emplace_back();
    copy_marks.back().Record(copy.get());
    copied[s].Record(copy.get());
    in_flight[s] = true;

    DESCPIPE_CUDA_CHECK(cudaStreamWaitEvent(compute.get(), copied[s].get(), 0));
    compute_marks.emplace_back();
    compute_marks.back().Record(compute.get());
    const T* input = reinterpret_cast<const T*>(raw[s].data());
    ColumnTotalsKernel<T><<<static_cast<unsigned>(p), 256, 0, compute.get()>>>(
        input, ld, rows, shift.data(), column_sum.data(), column_square.data());
    DESCPIPE_CUDA_LAUNCHED();
    if (precision == GpuPrecision::kFp64) {
      Products<T, double>(input, rows);
    } else {
      Products<T, float>(input, rows);
    }
    compute_marks.emplace_back();
    compute_marks.back().Record(compute.get());
    slot ^= 1;
    fill = 0;
  }

  template <typename T, typename C>
  void Products(const T* input, std::size_t rows) {
    const std::size_t ld = tile_rows;
    C* cx = reinterpret_cast<C*>(x.data());
    C* cmask = k > 0 ? reinterpret_cast<C*>(mask.data()) : nullptr;
    C* cx2 = k > 0 ? reinterpret_cast<C*>(x2.data()) : nullptr;
    PrepareTileKernel<T, C><<<GridFor(rows * p), 256, 0, compute.get()>>>(
        input, ld, rows, p, shift.data(), cx, cmask, cx2);
    DESCPIPE_CUDA_LAUNCHED();
    consumed[slot].Record(compute.get());
    C* cx_j = nullptr;
    C* cmask_j = nullptr;
    C* cx2_j = nullptr;
    if (k > 0) {
      cx_j = reinterpret_cast<C*>(x_j.data());
      cmask_j = reinterpret_cast<C*>(mask_j.data());
      cx2_j = reinterpret_cast<C*>(x2_j.data());
      GatherColumnsKernel<C><<<GridFor(rows * k), 256, 0, compute.get()>>>(
          cx, cmask, cx2, ld, rows, incomplete.data(), k, cx_j, cmask_j, cx2_j);
      DESCPIPE_CUDA_LAUNCHED();
    }
    const int ip = static_cast<int>(p), ik = static_cast<int>(k), irows = static_cast<int>(rows),
              ild = static_cast<int>(ld);
    cublasHandle_t handle = blas.get();
    // The five masked products (used when k > 0): A^T B added into C.
    const struct {
      const C* a;
      const C* b;
      double* c;
    } masked[] = {{cmask, cmask_j, joint_count.data()},
                  {cx, cmask_j, sum_i.data()},
                  {cx2, cmask_j, square_i.data()},
                  {cmask, cx_j, sum_j.data()},
                  {cmask, cx2_j, square_j.data()}};
    if constexpr (sizeof(C) == 8) {
      const double one = 1.0;
      DESCPIPE_CUBLAS_CHECK(Cublas().dsyrk(handle, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_T, ip, irows,
                                           &one, cx, ild, &one, product.data(), ip));
      if (k == 0) return;
      for (const auto& m : masked) {
        DESCPIPE_CUBLAS_CHECK(Cublas().dgemm(handle, CUBLAS_OP_T, CUBLAS_OP_N, ip, ik, irows, &one,
                                             m.a, ild, m.b, ild, &one, m.c, ip));
      }
    } else {
      const float one = 1.0f, zero = 0.0f;
      const cublasComputeType_t type =
          precision == GpuPrecision::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
      DESCPIPE_CUBLAS_CHECK(Cublas().gemm_ex(
          handle, CUBLAS_OP_T, CUBLAS_OP_N, ip, ip, irows, &one, cx, CUDA_R_32F, ild, cx,
          CUDA_R_32F, ild, &zero, tile_product.data(), CUDA_R_32F, ip, type, CUBLAS_GEMM_DEFAULT));
      AddFloatKernel<<<GridFor(p * p), 256, 0, compute.get()>>>(tile_product.data(), p * p,
                                                                product.data());
      DESCPIPE_CUDA_LAUNCHED();
      if (k == 0) return;
      for (const auto& m : masked) {
        DESCPIPE_CUBLAS_CHECK(Cublas().gemm_ex(
            handle, CUBLAS_OP_T, CUBLAS_OP_N, ip, ik, irows, &one, m.a, CUDA_R_32F, ild, m.b,
            CUDA_R_32F, ild, &zero, tile_masked.data(), CUDA_R_32F, ip, type, CUBLAS_GEMM_DEFAULT));
        AddFloatKernel<<<GridFor(p * k), 256, 0, compute.get()>>>(tile_masked.data(), p * k, m.c);
        DESCPIPE_CUDA_LAUNCHED();
      }
    }
  }
};

CorrelationSumsGpu::CorrelationSumsGpu(const std::vector<double>& shift,
                                       const std::vector<std::size_t>& incomplete,
                                       std::uint64_t expected_rows, const Context& ctx)
    : state_(std::make_unique<State>(ctx)) {
  State& s = *state_;
  s.p = shift.size();
  s.k = incomplete.size();
  s.threads = ctx.threads();
  s.precision = ctx.gpu().precision;
  s.compute_bytes = s.precision == GpuPrecision::kFp64 ? sizeof(double) : sizeof(float);
  const std::size_t p = s.p, k = s.k, c = s.compute_bytes;
  DESCPIPE_ASSERT(p > 0);  // CorrelationAccumulator keeps an empty matrix on the CPU
  DESCPIPE_EXPECTS(p < (std::size_t{1} << 31) / 4,
                   "the GPU correlation products take fewer than {} columns, got {}",
                   (std::size_t{1} << 31) / 4, p);
  // Memory: the sums (and fp32 tile products), then as many rows per tile as fit.
  std::uint64_t fixed = (p * p + 2 * p + 5 * p * k + p) * sizeof(double) + k * sizeof(int);
  if (c == sizeof(float)) fixed += (p * p + p * k) * sizeof(float);  // tile_product, tile_masked
  const std::uint64_t per_row = 2 * p * sizeof(double) + (k > 0 ? 3 * (p + k) : p) * c;
  std::uint64_t rows = s.precision == GpuPrecision::kFp64 ? kMaxTileRowsFp64 : kMaxTileRowsFp32;
  rows = std::min<std::uint64_t>(
      rows, std::max<std::uint64_t>(32, kMaxStagingBytes / (p * sizeof(double) + 1)));
  if (expected_rows > 0) rows = std::min<std::uint64_t>(rows, (expected_rows + 255) / 256 * 256);
  const std::uint64_t fit =
      s.memory.available() > fixed ? (s.memory.available() - fixed) / per_row : 0;
  if (fit < 32) {
    s.memory.ThrowTooSmall(
        fixed + 32 * per_row,
        fmt::format("the sums of {} columns ({} with missing values) and a tile of 32 rows", p, k));
  }
  rows = std::min(rows, fit);
  if (rows >= 256) rows = rows / 256 * 256;
  s.tile_rows = static_cast<std::size_t>(rows);

  // Every initial copy and zero-fill goes on the compute stream: the streams are non-blocking, so
  // work on the legacy default stream would not be ordered before the products.
  s.shift = DeviceArray<double>(s.memory, p, "column shifts");
  DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(s.shift.data(), shift.data(), p * sizeof(double),
                                      cudaMemcpyHostToDevice, s.compute.get()));
  auto zeros = [&](std::size_t count, const char* purpose) {
    DeviceArray<double> array(s.memory, count, purpose);
    DESCPIPE_CUDA_CHECK(cudaMemsetAsync(array.data(), 0, count * sizeof(double), s.compute.get()));
    return array;
  };
  s.product = zeros(p * p, "the p x p product sums");
  s.column_sum = zeros(p, "column sums");
  s.column_square = zeros(p, "column sums of squares");
  s.x = DeviceArray<unsigned char>(s.memory, s.tile_rows * p * c, "the shifted tile");
  if (k > 0) {
    std::vector<int> columns(incomplete.begin(), incomplete.end());
    s.incomplete = DeviceArray<int>(s.memory, k, "incomplete column indices");
    DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(s.incomplete.data(), columns.data(), k * sizeof(int),
                                        cudaMemcpyHostToDevice, s.compute.get()));
    s.joint_count = zeros(p * k, "joint counts");
    s.sum_i = zeros(p * k, "masked sums");
    s.square_i = zeros(p * k, "masked squares");
    s.sum_j = zeros(p * k, "masked sums");
    s.square_j = zeros(p * k, "masked squares");
    s.mask = DeviceArray<unsigned char>(s.memory, s.tile_rows * p * c, "the validity mask tile");
    s.x2 = DeviceArray<unsigned char>(s.memory, s.tile_rows * p * c, "the squared tile");
    s.x_j =
        DeviceArray<unsigned char>(s.memory, s.tile_rows * k * c, "incomplete columns of the tile");
    s.mask_j =
        DeviceArray<unsigned char>(s.memory, s.tile_rows * k * c, "incomplete columns' mask");
    s.x2_j =
        DeviceArray<unsigned char>(s.memory, s.tile_rows * k * c, "incomplete columns squared");
  }
  if (c == sizeof(float)) {
    s.tile_product = DeviceArray<float>(s.memory, p * p, "the fp32 tile product");
    if (k > 0) s.tile_masked = DeviceArray<float>(s.memory, p * k, "the fp32 masked tile product");
  }
  // consumed[] must have been recorded once before the first copy waits on it; the host vector
  // `columns` above must outlive its copy.
  s.consumed[0].Record(s.compute.get());
  s.consumed[1].Record(s.compute.get());
  s.compute.Synchronize();
}

CorrelationSumsGpu::~CorrelationSumsGpu() {
  if (state_) {  // nothing may still be running when the buffers are freed
    cudaSetDevice(state_->memory.device());
    cudaStreamSynchronize(state_->copy.get());
    cudaStreamSynchronize(state_->compute.get());
  }
}

void CorrelationSumsGpu::Add(const double* const* columns, std::size_t rows) {
  state_->Add(columns, rows);
}
void CorrelationSumsGpu::Add(const float* const* columns, std::size_t rows) {
  state_->Add(columns, rows);
}

std::size_t CorrelationSumsGpu::tile_rows() const { return state_->tile_rows; }

CorrelationSums CorrelationSumsGpu::Finish() {
  State& s = *state_;
  DESCPIPE_CUDA_CHECK(cudaSetDevice(s.memory.device()));
  if (s.fill > 0) {
    if (s.element == sizeof(float)) {
      s.Submit<float>();
    } else {
      s.Submit<double>();
    }
  }
  s.copy.Synchronize();
  s.compute.Synchronize();
  CorrelationSums sums;
  auto download = [&](const DeviceArray<double>& from, std::vector<double>& to, std::size_t count) {
    to.resize(count);
    if (count > 0)
      DESCPIPE_CUDA_CHECK(
          cudaMemcpy(to.data(), from.data(), count * sizeof(double), cudaMemcpyDeviceToHost));
  };
  const std::size_t p = s.p, k = s.k;
  download(s.product, sums.product, p * p);
  download(s.column_sum, sums.column_sum, p);
  download(s.column_square, sums.column_square, p);
  if (k > 0) {
    download(s.joint_count, sums.joint_count, p * k);
    download(s.sum_i, sums.sum_i, p * k);
    download(s.square_i, sums.square_i, p * k);
    download(s.sum_j, sums.sum_j, p * k);
    download(s.square_j, sums.square_j, p * k);
  }
  for (std::size_t e = 0; e + 1 < s.copy_marks.size(); e += 2) {
    sums.transfer_seconds += Seconds(s.copy_marks[e], s.copy_marks[e + 1]);
  }
  for (std::size_t e = 0; e + 1 < s.compute_marks.size(); e += 2) {
    sums.compute_seconds += Seconds(s.compute_marks[e], s.compute_marks[e + 1]);
  }
  sums.tile_rows = s.tile_rows;
  return sums;
}

double GramReferenceSeconds(std::size_t n, std::size_t p, int repeats, const Context& ctx) {
  DeviceMemory memory(ctx, "the cuBLAS reference product");
  Stream stream;
  CublasHandle blas(stream.get());
  const bool fp64 = ctx.gpu().precision == GpuPrecision::kFp64;
  const std::size_t c = fp64 ? sizeof(double) : sizeof(float);
  DeviceArray<unsigned char> a(memory, n * p * c, "the reference matrix");
  DeviceArray<unsigned char> product(memory, p * p * c, "the reference product");
  DESCPIPE_CUDA_CHECK(cudaMemsetAsync(a.data(), 0, n * p * c,
                                      stream.get()));  // zeros: the rate does not depend on values
  const int ip = static_cast<int>(p), in = static_cast<int>(n);
  auto run = [&] {
    if (fp64) {
      const double one = 1.0, zero = 0.0;
      DESCPIPE_CUBLAS_CHECK(Cublas().dsyrk(blas.get(), CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_T, ip, in,
                                           &one, reinterpret_cast<const double*>(a.data()), in,
                                           &zero, reinterpret_cast<double*>(product.data()), ip));
    } else {
      const float one = 1.0f, zero = 0.0f;
      const cublasComputeType_t type = ctx.gpu().precision == GpuPrecision::kTf32
                                           ? CUBLAS_COMPUTE_32F_FAST_TF32
                                           : CUBLAS_COMPUTE_32F;
      DESCPIPE_CUBLAS_CHECK(Cublas().gemm_ex(blas.get(), CUBLAS_OP_T, CUBLAS_OP_N, ip, ip, in, &one,
                                             a.data(), CUDA_R_32F, in, a.data(), CUDA_R_32F, in,
                                             &zero, product.data(), CUDA_R_32F, ip, type,
                                             CUBLAS_GEMM_DEFAULT));
    }
  };
  run();  // warm-up
  double best = 0.0;
  for (int r = 0; r < std::max(1, repeats); ++r) {
    Event start, stop;
    start.Record(stream.get());
    run();
    stop.Record(stream.get());
    stop.Synchronize();
    const double seconds = Seconds(start, stop);
    best = r == 0 ? seconds : std::min(best, seconds);
  }
  return best;
}

}  // namespace descpipe::cuda_impl
