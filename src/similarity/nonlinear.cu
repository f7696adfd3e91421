// The cross-covariance products of HSIC and RDC on the GPU (cuda_impl::ForAllProductTiles).
//
// A (n x width, the stacked features of every column) goes to the device once when it fits the
// memory cap; otherwise its column tiles are copied as needed (tile i stays while the tiles
// j >= i pass). Each product tile C = A_i^T A_j (DGEMM) is copied back into one of two pinned
// buffers while the next tile is computed, and handed to the caller's reduction on the host.
#include <algorithm>

#include "device/cuda_support.cuh"
#include "similarity/nonlinear_cuda.hpp"

namespace descpipe::cuda_impl {

void ForAllProductTiles(const double* a, std::size_t n, std::size_t width, std::size_t tile_width,
                        std::size_t block, const Context& ctx, const ProductTileFn& tile) {
  if (n == 0 || width == 0) return;
  DESCPIPE_ASSERT(block > 0 && tile_width >= block && tile_width % block == 0 &&
                  width % block == 0);
  DeviceMemory memory(ctx, "the GPU HSIC/RDC products");
  Stream stream;
  CublasHandle blas(stream.get());
  const std::uint64_t column_bytes = n * sizeof(double);
  // Resident: all of A and two product tiles. Streamed: two column tiles of A and two products;
  // the tile narrows (in whole blocks) until that fits.
  std::size_t w = std::min(tile_width, width);
  auto product_bytes = [](std::size_t tile) {
    return 2 * static_cast<std::uint64_t>(tile) * tile * sizeof(double);
  };
  const bool resident = width * column_bytes + product_bytes(w) <= memory.available();
  if (!resident) {
    while (w > block && 2 * w * column_bytes + product_bytes(w) > memory.available()) w -= block;
    if (2 * w * column_bytes + product_bytes(w) > memory.available()) {
      memory.ThrowTooSmall(2 * w * column_bytes + product_bytes(w),
                           fmt::format("two blocks of {} features over {} rows", w, n));
    }
  }
  DeviceArray<double> whole, tile_i, tile_j;
  if (resident) {
    whole = DeviceArray<double>(memory, width * n, "the stacked features");
    DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(whole.data(), a, width * column_bytes,
                                        cudaMemcpyHostToDevice, stream.get()));
  } else {
    tile_i = DeviceArray<double>(memory, w * n, "a column tile of the features");
    tile_j = DeviceArray<double>(memory, w * n, "a column tile of the features");
  }
  DeviceArray<double> products[2] = {DeviceArray<double>(memory, w * w, "a product tile"),
                                     DeviceArray<double>(memory, w * w, "a product tile")};
  PinnedArray<double> host[2] = {PinnedArray<double>(w * w), PinnedArray<double>(w * w)};
  Event ready[2] = {Event(false), Event(false)};
  const DrainOnExit drain(
      stream);  // after every buffer above: queued work ends before they are freed

  struct Pending {
    std::size_t i0, j0, ni, nj;
  };
  Pending pending[2] = {};
  bool waiting[2] = {false, false};
  auto deliver = [&](int s) {
    ready[s].Synchronize();
    waiting[s] = false;
    tile(pending[s].i0, pending[s].j0, pending[s].ni, pending[s].nj, host[s].data(), pending[s].ni);
  };

  const std::size_t tiles = (width + w - 1) / w;
  int s = 0;
  std::size_t loaded_i = SIZE_MAX;
  const double one = 1.0, zero = 0.0;
  for (std::size_t ti = 0; ti < tiles; ++ti) {
    const std::size_t i0 = ti * w, ni = std::min(w, width - i0);
    const double* a_i = nullptr;
    if (resident) {
      a_i = whole.data() + i0 * n;
    } else {
      if (loaded_i != ti) {
        // In stream order: after the products that still read the previous tile.
        DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(tile_i.data(), a + i0 * n, ni * column_bytes,
                                            cudaMemcpyHostToDevice, stream.get()));
        loaded_i = ti;
      }
      a_i = tile_i.data();
    }
    for (std::size_t tj = ti; tj < tiles; ++tj) {
      const std::size_t j0 = tj * w, nj = std::min(w, width - j0);
      const double* a_j = nullptr;
      if (resident) {
        a_j = whole.data() + j0 * n;
      } else if (tj == ti) {
        a_j = a_i;
      } else {
        DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(tile_j.data(), a + j0 * n, nj * column_bytes,
                                            cudaMemcpyHostToDevice, stream.get()));
        a_j = tile_j.data();
      }
      if (waiting[s]) deliver(s);  // frees this slot's buffers (its copy is complete)
      DESCPIPE_CUBLAS_CHECK(Cublas().dgemm(
          blas.get(), CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(ni), static_cast<int>(nj),
          static_cast<int>(n), &one, a_i, static_cast<int>(n), a_j, static_cast<int>(n), &zero,
          products[s].data(), static_cast<int>(ni)));
      DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(host[s].data(), products[s].data(),
                                          ni * nj * sizeof(double), cudaMemcpyDeviceToHost,
                                          stream.get()));
      ready[s].Record(stream.get());
      pending[s] = {i0, j0, ni, nj};
      waiting[s] = true;
      s ^= 1;
      if (waiting[s]) deliver(s);  // the previous tile, while this one is computed
    }
  }
  for (int last = 0; last < 2; ++last) {
    if (waiting[s]) deliver(s);
    s ^= 1;
  }
}

}  // namespace descpipe::cuda_impl
