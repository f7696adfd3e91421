// Device choice (cpu | auto | cuda[:N]) and the GPU inventory; the CUDA side is device.cu.
#include "descpipe/device.hpp"

#include <spdlog/spdlog.h>

#include "descpipe/error.hpp"
#include "device/cuda_impl.hpp"
#include "device/dispatch.hpp"

namespace descpipe {

bool CudaBuilt() {
#ifdef DESCPIPE_USE_CUDA
  return true;
#else
  return false;
#endif
}

GpuInventory ListGpus() {
  return cuda_impl::ListGpus();
}  // the stub says "built without CUDA support"

std::string DescribeGpu(int id) { return cuda_impl::DescribeGpu(id); }

DeviceChoice ChooseDevice(const std::string& device, int gpu_id) {
  DeviceChoice choice;
  if (device == "cpu") {
    choice.description = "CPU (device: cpu)";
    return choice;
  }
  const bool automatic = device == "auto";
  int id = gpu_id;
  if (device.rfind("cuda:", 0) == 0) {
    const std::string digits = device.substr(5);
    DESCPIPE_EXPECTS(!digits.empty() && digits.size() <= 6 &&
                         digits.find_first_not_of("0123456789") == std::string::npos,
                     "device must be cpu, auto or cuda[:N], got '{}'", device);
    id = std::stoi(digits);
  }
  if (!CudaBuilt()) {
    if (!automatic) {
      throw CudaError(fmt::format(
          "device '{}' requested but descpipe was built without CUDA support: rebuild with "
          "-DDESCPIPE_ENABLE_CUDA=ON (docs/GPU.md), or use device: cpu or auto",
          device));
    }
    choice.description = "CPU (device: auto; this build has no CUDA support)";
    return choice;
  }
  const GpuInventory gpus = ListGpus();
  if (gpus.count == 0) {
    if (!automatic) {
      throw CudaError(fmt::format(
          "device '{}' requested but no CUDA device is available ({}); use device: cpu or auto",
          device, gpus.why_none));
    }
    choice.description = fmt::format("CPU (device: auto; no CUDA device: {})", gpus.why_none);
    return choice;
  }
  if (id < 0 || id >= gpus.count) {
    const std::string what = fmt::format(
        "GPU {} requested (device '{}', gpu_id {}) but this machine has {} CUDA "
        "device{} (0..{})",
        id, device, gpu_id, gpus.count, gpus.count == 1 ? "" : "s", gpus.count - 1);
    if (!automatic) throw CudaError(what);
    choice.description = fmt::format("CPU (device: auto; {})", what);
    return choice;
  }
  choice.device = Device::kCuda;
  choice.gpu_id = id;
  choice.description = fmt::format("GPU {} ({})", id, DescribeGpu(id));
  return choice;
}

void NoCuda(const char* what) {
  throw CudaError(fmt::format(
      "{}: descpipe was built without CUDA support (rebuild with -DDESCPIPE_ENABLE_CUDA=ON, "
      "docs/GPU.md)",
      what));
}

#ifndef DESCPIPE_USE_CUDA
namespace cuda_impl {
GpuInventory ListGpus() { return {0, "descpipe was built without CUDA support"}; }
std::string DescribeGpu(int) { NoCuda("DescribeGpu"); }
}  // namespace cuda_impl
#endif

}  // namespace descpipe
