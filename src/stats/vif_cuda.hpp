// The CUDA entry point of the VIF inverse (stats/vif.cu).
// Every function takes the GPU, its memory cap and the precision from ctx.gpu(), allocates what it
// needs from that cap (CudaError naming max_gpu_memory_gb when it does not fit) and releases
// everything before it returns. Defined in the .cu beside the .cpp that calls it; a build without
// CUDA defines it in that .cpp to throw CudaError (device/dispatch.hpp, NoCuda). Only standard C++
// types cross this header.
#pragma once

#include <cstddef>

#include "descpipe/context.hpp"

namespace descpipe::cuda_impl {

/// LAPACK's dpotrf("L") then dpotri("L") on the column-major m x m `matrix`, with cuSOLVER: the
/// lower triangle then holds the inverse of the symmetric positive-definite matrix, the upper is
/// left as it was. Returns false (matrix unspecified) when the Cholesky factorisation fails.
bool InvertSpd(double* matrix, std::size_t m, const Context& ctx);

}  // namespace descpipe::cuda_impl
