// Execution context passed to every module: threads, seed, device and memory budget.
// Modules are stateless functions over data views plus a Context (RAFT's rule).
#pragma once

#include <cstdint>
#include <string>

#include "descpipe/enum_names.hpp"

namespace descpipe {

enum class Device { kCpu, kCuda };

/// Arithmetic of the GPU's large matrix products (Spearman/Pearson Gram and masked sums).
/// fp64 gives the CPU's answers to rounding (1e-9); fp32 and tf32 trade accuracy for speed
/// (docs/GPU.md states their tolerances). Every other GPU step is fp64 whatever this says.
enum class GpuPrecision { kFp64, kFp32, kTf32 };

inline const EnumNames<GpuPrecision>& NamesOf(GpuPrecision) {
  static const EnumNames<GpuPrecision> names = {
      {"fp64", GpuPrecision::kFp64}, {"fp32", GpuPrecision::kFp32}, {"tf32", GpuPrecision::kTf32}};
  return names;
}

/// The GPU a run uses and how much of its memory (used when device() == Device::kCuda).
struct GpuSettings {
  int id = 0;  ///< CUDA device ordinal
  std::uint64_t memory_limit_bytes =
      0;  ///< cap on descpipe's device memory; 0: free memory less 5%
  GpuPrecision precision = GpuPrecision::kFp64;
};

class Context {
 public:
  /// @param threads  worker threads; 0 means every hardware thread; at most 4 per hardware thread
  ///                 (more are capped, with a warning).
  /// @param seed     seed of every random choice (samples, sketches).
  /// @param memory_limit_bytes  budget for large buffers; 0 means half of physical RAM; more than
  ///                 the physical memory is lowered to it (with a warning).
  explicit Context(int threads = 0, std::uint64_t seed = 42, std::uint64_t memory_limit_bytes = 0,
                   Device device = Device::kCpu);

  int threads() const { return threads_; }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t memory_limit_bytes() const { return memory_limit_bytes_; }
  Device device() const { return device_; }
  void set_device(Device device) { device_ = device; }
  const GpuSettings& gpu() const { return gpu_; }
  void set_gpu(const GpuSettings& gpu) { gpu_ = gpu; }
  /// True when progress lines may be drawn on stderr (a terminal, not --quiet).
  bool show_progress() const { return show_progress_; }
  void set_show_progress(bool value) { show_progress_ = value; }

 private:
  int threads_;
  std::uint64_t seed_;
  std::uint64_t memory_limit_bytes_;
  Device device_;
  GpuSettings gpu_;
  bool show_progress_ = false;
};

/// The memory budget a Context has for a requested memory_limit: 0 means half of physical memory,
/// more than the physical memory is lowered to it.
std::uint64_t EffectiveMemoryLimit(std::uint64_t requested_bytes);

/// Physical memory of this machine in bytes (from /proc/meminfo or sysconf).
std::uint64_t PhysicalMemoryBytes();

/// Peak resident set size of this process so far, in bytes (VmHWM).
std::uint64_t PeakRssBytes();

/// Resets the peak (VmHWM) to the current RSS, so the next PeakRssBytes() is the peak since now.
/// Returns false where the system does not allow it (the peak then stays the process's peak).
bool ResetPeakRss();

}  // namespace descpipe
