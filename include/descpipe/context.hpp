// Execution context passed to every module: threads, seed, device and memory budget.
// Modules are stateless functions over data views plus a Context (RAFT's rule).
#pragma once

#include <cstdint>
#include <string>

namespace descpipe {

enum class Device { kCpu, kCuda };

class Context {
 public:
  /// @param threads  worker threads; 0 means every hardware thread.
  /// @param seed     seed of every random choice (samples, sketches).
  /// @param memory_limit_bytes  budget for large buffers; 0 means half of physical RAM.
  explicit Context(int threads = 0, std::uint64_t seed = 42, std::uint64_t memory_limit_bytes = 0,
                   Device device = Device::kCpu);

  int threads() const { return threads_; }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t memory_limit_bytes() const { return memory_limit_bytes_; }
  Device device() const { return device_; }
  /// True when progress lines may be drawn on stderr (a terminal, not --quiet).
  bool show_progress() const { return show_progress_; }
  void set_show_progress(bool value) { show_progress_ = value; }

 private:
  int threads_;
  std::uint64_t seed_;
  std::uint64_t memory_limit_bytes_;
  Device device_;
  bool show_progress_ = false;
};

/// Physical memory of this machine in bytes (from /proc/meminfo or sysconf).
std::uint64_t PhysicalMemoryBytes();

/// Peak resident set size of this process so far, in bytes (VmHWM).
std::uint64_t PeakRssBytes();

/// Resets the peak (VmHWM) to the current RSS, so the next PeakRssBytes() is the peak since now.
/// Returns false where the system does not allow it (the peak then stays the process's peak).
bool ResetPeakRss();

}  // namespace descpipe
