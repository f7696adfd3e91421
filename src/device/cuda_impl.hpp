// The CUDA backend's device entry points (device/device.cu). Each module declares its own CUDA
// entry points beside it (stats/ranks_cuda.hpp, stats/vif_cuda.hpp, similarity/spearman_cuda.hpp,
// similarity/nonlinear_cuda.hpp), defined in the .cu beside the .cpp that calls them; a build
// without CUDA defines them in that .cpp to throw CudaError (NoCuda, device/dispatch.hpp). Only
// standard C++ types cross these headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "descpipe/context.hpp"
#include "descpipe/device.hpp"

namespace descpipe::cuda_impl {

GpuInventory ListGpus();
std::string DescribeGpu(int id);

}  // namespace descpipe::cuda_impl
