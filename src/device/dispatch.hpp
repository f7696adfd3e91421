// Where a kernel runs: the one dispatch rule of the CPU code, and what a build without CUDA does
// when asked for the GPU. Internal to src/.
#pragma once

#include <utility>

#include "descpipe/context.hpp"

namespace descpipe {

/// Runs `gpu()` when `ctx` asks for the GPU (ctx.device() == kCuda; ChooseDevice has checked
/// that it is usable), else `cpu()`, and returns what it returns.
template <typename Gpu, typename Cpu>
decltype(auto) OnDevice(const Context& ctx, Gpu&& gpu, Cpu&& cpu) {
  if (ctx.device() == Device::kCuda) return std::forward<Gpu>(gpu)();
  return std::forward<Cpu>(cpu)();
}

/// Throws CudaError "<what>: descpipe was built without CUDA support ...": the body of every
/// CUDA entry point in a build without CUDA (the CPU code calls one only when asked for a GPU,
/// which ChooseDevice refuses first in such a build).
[[noreturn]] void NoCuda(const char* what);

}  // namespace descpipe
