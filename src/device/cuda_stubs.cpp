// The CUDA backend's entry points in a build without CUDA (DESCPIPE_ENABLE_CUDA=OFF): each throws
// CudaError. The CPU code never calls them unless asked for a GPU, which ChooseDevice refuses
// first in such a build; they exist so that the dispatching code is the same in both builds.
#include "descpipe/error.hpp"
#include "device/cuda_impl.hpp"

namespace descpipe::cuda_impl {
namespace {

[[noreturn]] void NoCuda(const char* what) {
  throw CudaError(fmt::format(
      "{}: descpipe was built without CUDA support (rebuild with -DDESCPIPE_ENABLE_CUDA=ON, "
      "docs/GPU.md)",
      what));
}

}  // namespace

GpuInventory ListGpus() { return {0, "descpipe was built without CUDA support"}; }
std::string DescribeGpu(int) { NoCuda("DescribeGpu"); }
void RankColumns(ColumnMatrix&, const Context&) { NoCuda("the GPU rank transform"); }

struct CorrelationSumsGpu::State {};
CorrelationSumsGpu::CorrelationSumsGpu(const std::vector<double>&, const std::vector<std::size_t>&,
                                       std::uint64_t, const Context&) {
  NoCuda("the GPU correlation sums");
}
CorrelationSumsGpu::~CorrelationSumsGpu() = default;
void CorrelationSumsGpu::Add(const double* const*, std::size_t) {
  NoCuda("the GPU correlation sums");
}
void CorrelationSumsGpu::Add(const float* const*, std::size_t) {
  NoCuda("the GPU correlation sums");
}
CorrelationSums CorrelationSumsGpu::Finish() { NoCuda("the GPU correlation sums"); }
std::size_t CorrelationSumsGpu::tile_rows() const { return 0; }
double GramReferenceSeconds(std::size_t, std::size_t, int, const Context&) {
  NoCuda("the cuBLAS reference product");
}

void ForAllProductTiles(const double*, std::size_t, std::size_t, std::size_t, std::size_t,
                        const Context&, const ProductTileFn&) {
  NoCuda("the GPU HSIC/RDC products");
}

bool InvertSpd(double*, std::size_t, const Context&) { NoCuda("the GPU VIF inverse"); }

}  // namespace descpipe::cuda_impl
