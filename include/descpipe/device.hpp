// Where the heavy numeric steps run: the CPU, or an NVIDIA GPU through CUDA (docs/GPU.md).
//
// The CPU path is complete on its own. A build with DESCPIPE_ENABLE_CUDA=ON adds a CUDA backend
// behind the same functions (rank transform, Spearman/Pearson Gram and masked sums, HSIC/RDC
// cross-covariances, the VIF inverse); each dispatches on Context::device().
#pragma once

#include <cstdint>
#include <string>

#include "descpipe/context.hpp"

namespace descpipe {

/// True when this build has the CUDA backend (DESCPIPE_ENABLE_CUDA=ON).
bool CudaBuilt();

/// What the CUDA runtime reports about the GPUs of this machine.
struct GpuInventory {
  int count = 0;         ///< usable devices (0 without CUDA, without a driver or without a GPU)
  std::string why_none;  ///< when count == 0: the runtime's reason ("no CUDA-capable device")
};
GpuInventory ListGpus();

/// One GPU's name and memory, e.g. "NVIDIA H100 80GB HBM3, 79.1 GB, 78.4 GB free".
std::string DescribeGpu(int id);

/// The device a run uses, from `device` (cpu | auto | cuda | cuda:N) and `gpu_id`.
struct DeviceChoice {
  Device device = Device::kCpu;
  int gpu_id = 0;
  std::string description;  ///< for the log: "GPU 0 (NVIDIA H100 ...)" or "CPU (auto: ...)"
};

/// auto: the GPU `gpu_id` when this build has CUDA and the machine has that GPU, else the CPU
/// (the description says why). cuda / cuda:N: that GPU, or CudaError when this build has no CUDA
/// support or the machine has no such device.
DeviceChoice ChooseDevice(const std::string& device, int gpu_id);

}  // namespace descpipe
