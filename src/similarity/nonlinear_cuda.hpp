// The CUDA entry points of the HSIC/RDC products (similarity/nonlinear.cu).
// Every function takes the GPU, its memory cap and the precision from ctx.gpu(), allocates what it
// needs from that cap (CudaError naming max_gpu_memory_gb when it does not fit) and releases
// everything before it returns. Defined in the .cu beside the .cpp that calls it; a build without
// CUDA defines it in that .cpp to throw CudaError (device/dispatch.hpp, NoCuda). Only standard C++
// types cross this header.
#pragma once

#include <cstddef>
#include <functional>

#include "descpipe/context.hpp"

namespace descpipe::cuda_impl {

/// Receives one tile of A^T A: rows i0..i0+ni and columns j0..j0+nj (matrix columns of A), with
/// element (a, b) of the tile at product[b * ld + a]. Called on the calling thread, in order.
using ProductTileFn = std::function<void(std::size_t i0, std::size_t j0, std::size_t ni,
                                         std::size_t nj, const double* product, std::size_t ld)>;

/// Every tile (i0 <= j0) of A^T A for the column-major host matrix A (n x width, leading
/// dimension n), tiles of at most `tile_width` matrix columns, computed with DGEMM on the GPU.
/// Tile edges fall on multiples of `block` (tile_width and width are multiples of it), so no
/// block of `block` columns is split. A stays on the device when it fits the memory cap, else
/// its column tiles are streamed (narrower tiles when needed); each product tile is copied back
/// to pinned memory while the next one is computed.
void ForAllProductTiles(const double* a, std::size_t n, std::size_t width, std::size_t tile_width,
                        std::size_t block, const Context& ctx, const ProductTileFn& tile);

}  // namespace descpipe::cuda_impl
