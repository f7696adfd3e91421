// The VIF inverse on the GPU (cuda_impl::InvertSpd): Cholesky factorisation and inversion with
// cuSOLVER (potrf, potri), the same LAPACK steps vif.cpp takes on the CPU.
#include <algorithm>

#include "device/cuda_support.cuh"
#include "stats/vif_cuda.hpp"

namespace descpipe::cuda_impl {

bool InvertSpd(double* matrix, std::size_t m, const Context& ctx) {
  if (m == 0) return true;
  DeviceMemory memory(ctx, "the GPU VIF inverse");
  Stream stream;
  CusolverHandle solver(stream.get());
  const int n = static_cast<int>(m);
  DeviceArray<double> a(memory, m * m, "the correlation submatrix");
  DeviceArray<int> info(memory, 1, "cuSOLVER status");
  DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(a.data(), matrix, m * m * sizeof(double),
                                      cudaMemcpyHostToDevice, stream.get()));
  int factor_work = 0, inverse_work = 0;
  DESCPIPE_CUSOLVER_CHECK(Cusolver().dpotrf_buffer_size(solver.get(), CUBLAS_FILL_MODE_LOWER, n,
                                                        a.data(), n, &factor_work));
  DESCPIPE_CUSOLVER_CHECK(Cusolver().dpotri_buffer_size(solver.get(), CUBLAS_FILL_MODE_LOWER, n,
                                                        a.data(), n, &inverse_work));
  DeviceArray<double> work(memory,
                           static_cast<std::size_t>(std::max({factor_work, inverse_work, 1})),
                           "cuSOLVER workspace");
  int status = 0;
  DESCPIPE_CUSOLVER_CHECK(Cusolver().dpotrf(solver.get(), CUBLAS_FILL_MODE_LOWER, n, a.data(), n,
                                            work.data(), static_cast<int>(work.size()),
                                            info.data()));
  DESCPIPE_CUDA_CHECK(
      cudaMemcpyAsync(&status, info.data(), sizeof(int), cudaMemcpyDeviceToHost, stream.get()));
  stream.Synchronize();
  if (status != 0) return false;
  DESCPIPE_CUSOLVER_CHECK(Cusolver().dpotri(solver.get(), CUBLAS_FILL_MODE_LOWER, n, a.data(), n,
                                            work.data(), static_cast<int>(work.size()),
                                            info.data()));
  DESCPIPE_CUDA_CHECK(
      cudaMemcpyAsync(&status, info.data(), sizeof(int), cudaMemcpyDeviceToHost, stream.get()));
  DESCPIPE_CUDA_CHECK(cudaMemcpyAsync(matrix, a.data(), m * m * sizeof(double),
                                      cudaMemcpyDeviceToHost, stream.get()));
  stream.Synchronize();
  return status == 0;
}

}  // namespace descpipe::cuda_impl
