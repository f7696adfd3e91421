// The CUDA runtime side of device choice, and the helpers of cuda_support.cuh.
#include <dlfcn.h>
#include <fmt/format.h>

#include "device/cuda_impl.hpp"
#include "device/cuda_support.cuh"

namespace descpipe::cuda_impl {

void ThrowCudaError(const char* call, cudaError_t status, const char* file, int line) {
  throw CudaError(fmt::format("CUDA error {} ({}) in {} at {}:{}", cudaGetErrorName(status),
                              cudaGetErrorString(status), call, file, line));
}

void ThrowCublasError(const char* call, cublasStatus_t status, const char* file, int line) {
  throw CudaError(fmt::format("cuBLAS error {} ({}) in {} at {}:{}", Cublas().status_name(status),
                              Cublas().status_string(status), call, file, line));
}

namespace {

/// dlopen of `soname`, then of the same file in the CUDA toolkit's library folder of the build.
void* OpenCudaLibrary(const std::string& soname, const char* what) {
  void* library = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    dlerror();  // clear: the fallback's error is the one reported
    const std::string fallback = std::string(DESCPIPE_CUDA_LIBRARY_DIR) + "/" + soname;
    library = dlopen(fallback.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* error = dlerror();
      throw CudaError(fmt::format(
          "{} ({}) could not be loaded: {}; it comes with the CUDA toolkit: add its folder "
          "to LD_LIBRARY_PATH, or use device: cpu",
          what, soname, error != nullptr ? error : "not found"));
    }
  }
  return library;
}

template <typename Function>
void Resolve(void* library, const char* symbol, const char* what, Function& target) {
  void* address = dlsym(library, symbol);
  if (address == nullptr)
    throw CudaError(fmt::format("{} has no function {}: a CUDA version mismatch?", what, symbol));
  target = reinterpret_cast<Function>(address);
}

}  // namespace

const CublasApi& Cublas() {
  static const CublasApi api = [] {
    const char* what = "cuBLAS";
    void* library = OpenCudaLibrary(fmt::format("libcublas.so.{}", CUBLAS_VER_MAJOR), what);
    CublasApi loaded{};
    Resolve(library, "cublasCreate_v2", what, loaded.create);
    Resolve(library, "cublasDestroy_v2", what, loaded.destroy);
    Resolve(library, "cublasSetStream_v2", what, loaded.set_stream);
    Resolve(library, "cublasDsyrk_v2", what, loaded.dsyrk);
    Resolve(library, "cublasDgemm_v2", what, loaded.dgemm);
    Resolve(library, "cublasGemmEx", what, loaded.gemm_ex);
    Resolve(library, "cublasGetStatusName", what, loaded.status_name);
    Resolve(library, "cublasGetStatusString", what, loaded.status_string);
    return loaded;  // the library stays loaded for the life of the process
  }();
  return api;
}

const CusolverApi& Cusolver() {
  static const CusolverApi api = [] {
    const char* what = "cuSOLVER";
    void* library = OpenCudaLibrary(fmt::format("libcusolver.so.{}", CUSOLVER_VER_MAJOR), what);
    CusolverApi loaded{};
    Resolve(library, "cusolverDnCreate", what, loaded.create);
    Resolve(library, "cusolverDnDestroy", what, loaded.destroy);
    Resolve(library, "cusolverDnSetStream", what, loaded.set_stream);
    Resolve(library, "cusolverDnDpotrf_bufferSize", what, loaded.dpotrf_buffer_size);
    Resolve(library, "cusolverDnDpotrf", what, loaded.dpotrf);
    Resolve(library, "cusolverDnDpotri_bufferSize", what, loaded.dpotri_buffer_size);
    Resolve(library, "cusolverDnDpotri", what, loaded.dpotri);
    return loaded;
  }();
  return api;
}

void ThrowCusolverError(const char* call, cusolverStatus_t status, const char* file, int line) {
  throw CudaError(
      fmt::format("cuSOLVER error {} in {} at {}:{}", static_cast<int>(status), call, file, line));
}

double Seconds(const Event& start, const Event& stop) {
  float milliseconds = 0.0f;
  DESCPIPE_CUDA_CHECK(cudaEventElapsedTime(&milliseconds, start.get(), stop.get()));
  return static_cast<double>(milliseconds) / 1e3;
}

namespace {

std::string Gigabytes(std::uint64_t bytes) {
  return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9);
}

}  // namespace

DeviceMemory::DeviceMemory(const Context& ctx, std::string operation)
    : device_(ctx.gpu().id), operation_(std::move(operation)) {
  DESCPIPE_CUDA_CHECK(cudaSetDevice(device_));
  std::size_t free_bytes = 0, total_bytes = 0;
  DESCPIPE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  const auto free_cap = static_cast<std::uint64_t>(static_cast<double>(free_bytes) * 0.95);
  user_cap_ = ctx.gpu().memory_limit_bytes > 0;
  cap_ = user_cap_ ? std::min<std::uint64_t>(ctx.gpu().memory_limit_bytes, free_cap) : free_cap;
}

void* DeviceMemory::Allocate(std::size_t bytes, const char* purpose) {
  if (bytes == 0) return nullptr;
  if (used_ + bytes > cap_) ThrowTooSmall(used_ + bytes, purpose);
  void* pointer = nullptr;
  const cudaError_t status = cudaMalloc(&pointer, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the (non-sticky) allocation error
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw CudaError(
        fmt::format("GPU out of memory on cuda:{}: {} could not allocate {} for {} ({} already "
                    "allocated, {} free of {}: "
                    "{}); lower max_gpu_memory_gb (now {}) so that descpipe works in smaller "
                    "tiles, or use device: cpu",
                    device_, operation_, Gigabytes(bytes), purpose, Gigabytes(used_),
                    Gigabytes(free_bytes), Gigabytes(total_bytes), cudaGetErrorString(status),
                    user_cap_ ? Gigabytes(cap_) : "0, the free memory"));
  }
  used_ += bytes;
  return pointer;
}

void DeviceMemory::Release(void* pointer, std::size_t bytes) {
  if (pointer == nullptr) return;
  cudaFree(pointer);  // never throws from a destructor; a failure here leaves a sticky error for
                      // the next check
  used_ -= bytes;
}

void DeviceMemory::ThrowTooSmall(std::uint64_t bytes, const std::string& purpose) const {
  throw CudaError(
      fmt::format("GPU memory: {} needs at least {} on cuda:{} ({}) but the cap is {} ({}); raise "
                  "max_gpu_memory_gb, free "
                  "memory on the GPU, or use device: cpu",
                  operation_, Gigabytes(bytes), device_, purpose, Gigabytes(cap_),
                  user_cap_ ? "max_gpu_memory_gb, or 95% of the free memory when lower"
                            : "95% of the free memory"));
}

GpuInventory ListGpus() {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return {0, fmt::format("{}: {}", cudaGetErrorName(status), cudaGetErrorString(status))};
  }
  if (count == 0) return {0, "the CUDA runtime reports no device"};
  return {count, ""};
}

std::string DescribeGpu(int id) {
  cudaDeviceProp properties{};
  DESCPIPE_CUDA_CHECK(cudaGetDeviceProperties(&properties, id));
  DESCPIPE_CUDA_CHECK(cudaSetDevice(id));
  std::size_t free_bytes = 0, total_bytes = 0;
  DESCPIPE_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  return fmt::format("{}, compute capability {}.{}, {} free of {}", properties.name,
                     properties.major, properties.minor, Gigabytes(free_bytes),
                     Gigabytes(total_bytes));
}

}  // namespace descpipe::cuda_impl
