// Shared pieces of the .cu files: error checks that throw CudaError, the capped device-memory
// budget of one GPU operation, RAII owners of device and pinned host memory, streams, events and
// library handles. Included by .cu files only.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "descpipe/context.hpp"
#include "descpipe/error.hpp"

namespace descpipe::cuda_impl {

/// cuBLAS and cuSOLVER are loaded with dlopen on first use, not linked: loading them costs about
/// half a second per process, which every run (and every test process) would pay even on the CPU.
/// Loading fails with a CudaError naming the library (libcublas.so.13, libcusolver.so.12, ...).
struct CublasApi {
  decltype(&cublasCreate) create;
  decltype(&cublasDestroy) destroy;
  decltype(&cublasSetStream) set_stream;
  decltype(&cublasDsyrk) dsyrk;
  decltype(&cublasDgemm) dgemm;
  // cublasGemmEx has a C++ overload (cudaDataType compute type): name the C function's type.
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const void*, const void*, cudaDataType, int, const void*, cudaDataType,
                            int, const void*, void*, cudaDataType, int, cublasComputeType_t,
                            cublasGemmAlgo_t);
  decltype(&cublasGetStatusName) status_name;
  decltype(&cublasGetStatusString) status_string;
};
const CublasApi& Cublas();

struct CusolverApi {
  decltype(&cusolverDnCreate) create;
  decltype(&cusolverDnDestroy) destroy;
  decltype(&cusolverDnSetStream) set_stream;
  decltype(&cusolverDnDpotrf_bufferSize) dpotrf_buffer_size;
  decltype(&cusolverDnDpotrf) dpotrf;
  decltype(&cusolverDnDpotri_bufferSize) dpotri_buffer_size;
  decltype(&cusolverDnDpotri) dpotri;
};
const CusolverApi& Cusolver();

[[noreturn]] void ThrowCudaError(const char* call, cudaError_t status, const char* file, int line);
[[noreturn]] void ThrowCublasError(const char* call, cublasStatus_t status, const char* file,
                                   int line);
[[noreturn]] void ThrowCusolverError(const char* call, cusolverStatus_t status, const char* file,
                                     int line);

#define DESCPIPE_CUDA_CHECK(call)                                                         \
  do {                                                                                    \
    const cudaError_t descpipe_status_ = (call);                                          \
    if (descpipe_status_ != cudaSuccess)                                                  \
      ::descpipe::cuda_impl::ThrowCudaError(#call, descpipe_status_, __FILE__, __LINE__); \
  } while (false)
#define DESCPIPE_CUBLAS_CHECK(call)                                                         \
  do {                                                                                      \
    const cublasStatus_t descpipe_status_ = (call);                                         \
    if (descpipe_status_ != CUBLAS_STATUS_SUCCESS)                                          \
      ::descpipe::cuda_impl::ThrowCublasError(#call, descpipe_status_, __FILE__, __LINE__); \
  } while (false)
#define DESCPIPE_CUSOLVER_CHECK(call)                                                         \
  do {                                                                                        \
    const cusolverStatus_t descpipe_status_ = (call);                                         \
    if (descpipe_status_ != CUSOLVER_STATUS_SUCCESS)                                          \
      ::descpipe::cuda_impl::ThrowCusolverError(#call, descpipe_status_, __FILE__, __LINE__); \
  } while (false)
/// After a kernel launch: launch errors (bad configuration) surface here, not later.
#define DESCPIPE_CUDA_LAUNCHED() DESCPIPE_CUDA_CHECK(cudaGetLastError())

/// Blocks of 256 threads, at most 4096 blocks: kernels loop over their range (grid-stride).
inline unsigned GridFor(std::size_t items) {
  const std::size_t blocks = (items + 255) / 256;
  return static_cast<unsigned>(blocks == 0 ? 1 : (blocks < 4096 ? blocks : 4096));
}

/// The device memory of one GPU operation. Selects ctx.gpu().id on this thread. The cap is
/// max_gpu_memory_gb when set, else 95% of the free memory, and never more than the free memory
/// at the start. Allocate() throws CudaError naming max_gpu_memory_gb when a request exceeds the
/// cap or the driver refuses it; callers size their tiles from available() first.
class DeviceMemory {
 public:
  DeviceMemory(const Context& ctx, std::string operation);
  DeviceMemory(const DeviceMemory&) = delete;
  DeviceMemory& operator=(const DeviceMemory&) = delete;

  std::uint64_t cap() const { return cap_; }
  std::uint64_t used() const { return used_; }
  std::uint64_t available() const { return cap_ > used_ ? cap_ - used_ : 0; }
  int device() const { return device_; }
  const std::string& operation() const { return operation_; }
  void* Allocate(std::size_t bytes, const char* purpose);
  void Release(void* pointer, std::size_t bytes);
  /// CudaError: `operation` needs at least `bytes` of device memory, more than the cap allows.
  [[noreturn]] void ThrowTooSmall(std::uint64_t bytes, const std::string& purpose) const;

 private:
  int device_ = 0;
  std::uint64_t cap_ = 0;
  std::uint64_t used_ = 0;
  bool user_cap_ = false;
  std::string operation_;
};

/// `size` elements of T on the device, from a DeviceMemory; freed by the destructor.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(DeviceMemory& memory, std::size_t size, const char* purpose)
      : memory_(&memory), size_(size) {
    data_ = static_cast<T*>(memory.Allocate(size * sizeof(T), purpose));
  }
  ~DeviceArray() { reset(); }
  DeviceArray(DeviceArray&& other) noexcept { *this = std::move(other); }
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    if (this != &other) {
      reset();
      memory_ = std::exchange(other.memory_, nullptr);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  void reset() {
    if (data_ != nullptr) memory_->Release(data_, size_ * sizeof(T));
    data_ = nullptr;
    size_ = 0;
  }
  T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  DeviceMemory* memory_ = nullptr;
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

/// Page-locked host memory (cudaMallocHost): copies from it run asynchronously at full speed.
template <typename T>
class PinnedArray {
 public:
  PinnedArray() = default;
  explicit PinnedArray(std::size_t size) : size_(size) {
    if (size > 0)
      DESCPIPE_CUDA_CHECK(cudaMallocHost(reinterpret_cast<void**>(&data_), size * sizeof(T)));
  }
  ~PinnedArray() {
    if (data_ != nullptr) cudaFreeHost(data_);
  }
  PinnedArray(PinnedArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  PinnedArray& operator=(PinnedArray&& other) noexcept {
    if (this != &other) {
      if (data_ != nullptr) cudaFreeHost(data_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  T* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  T* data_ = nullptr;
  std::size_t size_ = 0;
};

class Stream {
 public:
  Stream() { DESCPIPE_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return stream_; }
  void Synchronize() const { DESCPIPE_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

/// Waits for `stream` when it goes out of scope: declared after the buffers a stream's queued work
/// uses, it keeps them alive until that work is done, also when an exception unwinds the scope.
class DrainOnExit {
 public:
  explicit DrainOnExit(const Stream& stream) : stream_(stream) {}
  ~DrainOnExit() { cudaStreamSynchronize(stream_.get()); }
  DrainOnExit(const DrainOnExit&) = delete;
  DrainOnExit& operator=(const DrainOnExit&) = delete;

 private:
  const Stream& stream_;
};

class Event {
 public:
  /// `timing`: the event can be passed to Seconds(); events used only to order work go without.
  explicit Event(bool timing = true) {
    DESCPIPE_CUDA_CHECK(
        cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
  }
  ~Event() {
    if (event_ != nullptr) cudaEventDestroy(event_);
  }
  Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  cudaEvent_t get() const { return event_; }
  void Record(cudaStream_t stream) const { DESCPIPE_CUDA_CHECK(cudaEventRecord(event_, stream)); }
  void Synchronize() const { DESCPIPE_CUDA_CHECK(cudaEventSynchronize(event_)); }

 private:
  cudaEvent_t event_ = nullptr;
};

/// Seconds between two completed events.
double Seconds(const Event& start, const Event& stop);

class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream) {
    DESCPIPE_CUBLAS_CHECK(Cublas().create(&handle_));
    const cublasStatus_t status = Cublas().set_stream(handle_, stream);
    if (status != CUBLAS_STATUS_SUCCESS) {
      Cublas().destroy(handle_);
      ThrowCublasError("cublasSetStream", status, __FILE__, __LINE__);
    }
  }
  ~CublasHandle() { Cublas().destroy(handle_); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

class CusolverHandle {
 public:
  explicit CusolverHandle(cudaStream_t stream) {
    DESCPIPE_CUSOLVER_CHECK(Cusolver().create(&handle_));
    const cusolverStatus_t status = Cusolver().set_stream(handle_, stream);
    if (status != CUSOLVER_STATUS_SUCCESS) {
      Cusolver().destroy(handle_);
      ThrowCusolverError("cusolverDnSetStream", status, __FILE__, __LINE__);
    }
  }
  ~CusolverHandle() { Cusolver().destroy(handle_); }
  CusolverHandle(const CusolverHandle&) = delete;
  CusolverHandle& operator=(const CusolverHandle&) = delete;
  cusolverDnHandle_t get() const { return handle_; }

 private:
  cusolverDnHandle_t handle_ = nullptr;
};

}  // namespace descpipe::cuda_impl
