#include "descpipe/context.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <thread>

namespace descpipe {

namespace {

/// `requested` worker threads (0: every hardware thread), at most 4 per hardware thread: more
/// only cost memory and time, and tens of thousands make OpenMP's thread creation fail.
int UsableThreads(int requested) {
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (requested <= 0) return hardware;
  const int cap = 4 * hardware;
  if (requested > cap) {
    spdlog::warn("threads = {} is more than 4 per hardware thread ({} here): using {}", requested,
                 hardware, cap);
    return cap;
  }
  return requested;
}

/// `requested` bytes (0: half of physical memory), at most the physical memory: the passes plan
/// their resident peak against this, and no process is resident beyond the machine's memory (a
/// plan above it failed with std::bad_alloc, or would be killed by the kernel, instead of getting
/// the memory model's clear error).
std::uint64_t UsableMemory(std::uint64_t requested) {
  const std::uint64_t usable = EffectiveMemoryLimit(requested);
  if (requested > usable) {  // lowered to the physical memory
    spdlog::warn(
        "memory_limit = {} bytes is more than this machine's physical memory ({:.1f} GB): using {} "
        "bytes",
        requested, static_cast<double>(usable) / 1e9, usable);
  }
  return usable;
}

}  // namespace

Context::Context(int threads, std::uint64_t seed, std::uint64_t memory_limit_bytes, Device device)
    : threads_(UsableThreads(threads)),
      seed_(seed),
      memory_limit_bytes_(UsableMemory(memory_limit_bytes)),
      device_(device) {}

std::uint64_t EffectiveMemoryLimit(std::uint64_t requested_bytes) {
  const std::uint64_t physical = PhysicalMemoryBytes();
  if (requested_bytes == 0) return physical / 2;
  return std::min(requested_bytes, physical);
}

std::uint64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) {
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size);
  }
  return 8ULL << 30;  // unknown: assume a small machine
}

std::uint64_t PeakRssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024ULL;  // reported in kB
    }
  }
  return 0;
}

bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  if (!clear) return false;
  clear << "5";  // resets VmHWM to the current RSS (Linux >= 4.0)
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace descpipe
