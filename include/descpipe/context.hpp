// Execution context passed to every module: threads, seed, device and memory budget.
// Modules are stateless functions over data views plus a Context (RAFT's rule).
#pragma once

#include <atomic>
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

/// How progress is shown on stderr while a pass computes.
enum class ProgressStyle {
  kNone,  ///< nothing (--quiet, library default)
  kLive,  ///< one line redrawn in place, at most 5 times a second (stderr is a terminal)
  kLog,   ///< a log line at most every 30 s per pass (stderr is a file: batch jobs' logs)
};

class Context {
 public:
  /// @param threads  worker threads; 0 means automatic (ChooseThreads: OMP_NUM_THREADS when set,
  ///                 else the CPUs of this process's affinity mask); at most 4 per hardware
  ///                 thread (more are capped, with a warning).
  /// @param seed     seed of every random choice (samples, sketches).
  /// @param memory_limit_bytes  budget for large buffers; 0 means half of the memory this process
  ///                 may use (UsableMemoryBytes: physical memory, or the cgroup limit when lower);
  ///                 more than that memory is lowered to it (with a warning).
  explicit Context(int threads = 0, std::uint64_t seed = 42, std::uint64_t memory_limit_bytes = 0,
                   Device device = Device::kCpu);

  int threads() const { return threads_; }
  /// Where threads() came from ("--threads / threads option", "OMP_NUM_THREADS", "CPU affinity
  /// mask (2 of 8 CPUs)"): logged and recorded in run_manifest.json.
  const std::string& threads_origin() const { return threads_origin_; }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t memory_limit_bytes() const { return memory_limit_bytes_; }
  /// Where memory_limit_bytes() came from ("memory_limit option", "half of the physical memory",
  /// "half of the cgroup memory limit").
  const std::string& memory_limit_origin() const { return memory_limit_origin_; }
  Device device() const { return device_; }
  void set_device(Device device) { device_ = device; }
  const GpuSettings& gpu() const { return gpu_; }
  void set_gpu(const GpuSettings& gpu) { gpu_ = gpu; }
  /// How progress is shown while a pass computes (the CLI: kLive on a terminal, kLog when stderr
  /// is redirected, kNone with --quiet).
  ProgressStyle progress_style() const { return progress_style_; }
  void set_progress_style(ProgressStyle style) { progress_style_ = style; }
  /// A flag another thread sets to stop the run (nullptr: none). It is read at safe points
  /// (between batches of a scan, tiles of a matrix, VIF steps and passes), at least every second
  /// or so of work, where ThrowIfStopped() throws Stopped; the flag must outlive the run.
  void set_stop_flag(const std::atomic<bool>* flag) { stop_flag_ = flag; }
  const std::atomic<bool>* stop_flag() const { return stop_flag_; }
  /// @throws Stopped when the stop flag is set.
  void ThrowIfStopped() const;
  /// This context with `threads` worker threads (as ChooseThreads(threads) gives them) and
  /// everything else the same: seed, memory budget, device, GPU, progress style, stop flag. For
  /// a step that runs fewer threads to fit memory_limit.
  Context WithThreads(int threads) const;

 private:
  int threads_;
  std::string threads_origin_;
  std::uint64_t seed_;
  std::uint64_t memory_limit_bytes_;
  std::string memory_limit_origin_;
  Device device_;
  GpuSettings gpu_;
  ProgressStyle progress_style_ = ProgressStyle::kNone;
  const std::atomic<bool>* stop_flag_ = nullptr;
};

/// @throws Stopped when `stop_flag` (Context::stop_flag; nullptr: none) is set. For code that
/// keeps the flag instead of its Context.
void ThrowIfStopped(const std::atomic<bool>* stop_flag);

/// A thread count and where it came from.
struct ThreadChoice {
  int threads = 1;
  std::string origin;
};

/// The worker threads for a requested count: `requested` > 0 is taken as given; 0 means
/// OMP_NUM_THREADS when it is set to a positive integer (the first of a comma list; anything else
/// is ignored with a warning), else the CPUs this process may run on (AvailableCpus: taskset,
/// Slurm and cgroup cpusets). Either way at most 4 per hardware thread (more are capped, with a
/// warning): more only cost memory and time.
ThreadChoice ChooseThreads(int requested);

/// The CPUs in this process's affinity mask (sched_getaffinity), at least 1; the number of
/// hardware threads where the mask cannot be read.
int AvailableCpus();

/// A memory budget and where it came from.
struct MemoryChoice {
  std::uint64_t bytes = 0;
  std::string origin;
};

/// The memory budget for a requested memory_limit: 0 means half of UsableMemoryBytes(); more than
/// UsableMemoryBytes() is lowered to it (no warning here: the Context warns).
MemoryChoice ChooseMemoryLimit(std::uint64_t requested_bytes);

/// The memory budget a Context has for a requested memory_limit (ChooseMemoryLimit(...).bytes).
std::uint64_t EffectiveMemoryLimit(std::uint64_t requested_bytes);

/// A cgroup memory limit: `bytes` 0 when there is none.
struct CgroupMemoryLimit {
  std::uint64_t bytes = 0;
  std::string file;  ///< the file that set it (memory.max or memory.limit_in_bytes)
};

/// The tightest cgroup memory limit of a process whose /proc/self/cgroup reads `self_cgroup`,
/// with the cgroup file systems under `root` (normally /sys/fs/cgroup): cgroup v2 ("0::/path")
/// reads root/path/memory.max and that of every ancestor up to root ("max": no limit); cgroup v1
/// ("N:memory:/path", or a list of controllers containing memory) reads
/// root/memory/path/memory.limit_in_bytes and its ancestors' up to root/memory (values of 2^62
/// and more mean no limit). The minimum of every number found; missing or unreadable files are
/// no limit. A path with ".." components (a cgroup outside this namespace) checks only the top.
CgroupMemoryLimit ReadCgroupMemoryLimit(const std::string& root, const std::string& self_cgroup);

/// ReadCgroupMemoryLimit for this process: /proc/self/cgroup, under /sys/fs/cgroup or the folder
/// named by the environment variable DESCPIPE_CGROUP_ROOT (a test hook: a fake cgroup tree).
CgroupMemoryLimit CgroupMemoryLimitOfThisProcess();

/// The memory this process may use: the physical memory, or the cgroup memory limit (a Slurm or
/// container allocation) when that is lower.
std::uint64_t UsableMemoryBytes();

/// Physical memory of this machine in bytes (from /proc/meminfo or sysconf).
std::uint64_t PhysicalMemoryBytes();

/// Peak resident set size of this process so far, in bytes (VmHWM).
std::uint64_t PeakRssBytes();

/// Resets the peak (VmHWM) to the current RSS, so the next PeakRssBytes() is the peak since now.
/// Returns false where the system does not allow it (the peak then stays the process's peak).
bool ResetPeakRss();

}  // namespace descpipe
