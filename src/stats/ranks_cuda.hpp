// The CUDA entry point of the rank transform (stats/ranks.cu).
// Every function takes the GPU, its memory cap and the precision from ctx.gpu(), allocates what it
// needs from that cap (CudaError naming max_gpu_memory_gb when it does not fit) and releases
// everything before it returns. Defined in the .cu beside the .cpp that calls it; a build without
// CUDA defines it in that .cpp to throw CudaError (device/dispatch.hpp, NoCuda). Only standard C++
// types cross this header.
#pragma once

#include "descpipe/column_matrix.hpp"
#include "descpipe/context.hpp"

namespace descpipe::cuda_impl {

/// Replaces every column of `matrix` by its average ranks among its finite values (NaN and +-inf
/// become NaN), as RankInPlace does, bit for bit: a radix sort per column on the GPU
/// (cub::DeviceRadixSort), ties found by run-length encoding.
void RankColumns(ColumnMatrix& matrix, const Context& ctx);

}  // namespace descpipe::cuda_impl
