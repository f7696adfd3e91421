#include "descpipe/context.hpp"

#include <sched.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "descpipe/error.hpp"

namespace descpipe {

namespace {

/// `count` threads (from the setting `name`), at most 4 per hardware thread: more only cost
/// memory and time, and tens of thousands make OpenMP's thread creation fail.
int CapThreads(int count, const char* name) {
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int cap = 4 * hardware;
  if (count > cap) {
    spdlog::warn("{} = {} is more than 4 per hardware thread ({} here): using {}", name, count,
                 hardware, cap);
    return cap;
  }
  return count;
}

/// OMP_NUM_THREADS as a thread count: its first entry ("8" or "8,2": the outer level of nested
/// regions) when that is a positive integer, else 0 (unset, or ignored with a warning).
int OmpNumThreads() {
  const char* text = std::getenv("OMP_NUM_THREADS");
  if (text == nullptr || *text == '\0') return 0;
  std::string first(text);
  first = first.substr(0, first.find(','));
  const std::size_t begin = first.find_first_not_of(" \t");
  const std::size_t end = first.find_last_not_of(" \t");
  first = begin == std::string::npos ? "" : first.substr(begin, end - begin + 1);
  int value = 0;
  const auto [rest, ec] = std::from_chars(first.data(), first.data() + first.size(), value);
  if (ec != std::errc() || rest != first.data() + first.size() || value <= 0 || first.empty()) {
    spdlog::warn("OMP_NUM_THREADS = '{}' is not a positive integer: ignored", text);
    return 0;
  }
  return value;
}

/// The first line of `path` without surrounding blanks; "" when it cannot be read.
std::string FirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return "";
  const std::size_t begin = line.find_first_not_of(" \t\r");
  const std::size_t end = line.find_last_not_of(" \t\r");
  return begin == std::string::npos ? "" : line.substr(begin, end - begin + 1);
}

/// The byte limit in a cgroup file: a decimal number below 2^62 (cgroup v1 writes
/// 9223372036854771712, PAGE_COUNTER_MAX pages, for "no limit"; v2 writes "max"), else 0.
std::uint64_t LimitIn(const std::string& path) {
  const std::string text = FirstLine(path);
  std::uint64_t value = 0;
  const auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || rest != text.data() + text.size()) return 0;
  return value < (std::uint64_t{1} << 62) ? value : 0;
}

/// Lowers `found` to the limit in `file` (when it has one).
void TakeTighter(CgroupMemoryLimit& found, const std::string& file) {
  const std::uint64_t bytes = LimitIn(file);
  if (bytes > 0 && (found.bytes == 0 || bytes < found.bytes)) {
    found.bytes = bytes;
    found.file = file;
  }
}

/// `directory`/`file` for the cgroup at `path` ("/a/b") and each of its ancestors up to
/// `directory` itself. Components ".." (a cgroup outside this namespace) leave only the top.
std::vector<std::string> FilesUpTheTree(const std::string& directory, const std::string& path,
                                        const std::string& file) {
  std::vector<std::string> components;
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      components.clear();
      break;
    }
    components.push_back(part);
  }
  std::vector<std::string> files;
  for (std::size_t depth = components.size() + 1; depth-- > 0;) {
    std::string folder = directory;
    for (std::size_t i = 0; i < depth; ++i) folder += "/" + components[i];
    files.push_back(folder + "/" + file);
  }
  return files;
}

std::string DescribeBytes(std::uint64_t bytes) {
  return fmt::format("{:.1f} GB", static_cast<double>(bytes) / 1e9);
}

}  // namespace

void ThrowIfStopped(const std::atomic<bool>* stop_flag) {
  if (stop_flag != nullptr && stop_flag->load(std::memory_order_relaxed)) {
    throw Stopped("stopped on request");
  }
}

void Context::ThrowIfStopped() const { descpipe::ThrowIfStopped(stop_flag_); }

Context Context::WithThreads(int threads) const {
  Context limited = *this;
  ThreadChoice choice = ChooseThreads(threads);
  limited.threads_ = choice.threads;
  limited.threads_origin_ = std::move(choice.origin);
  return limited;
}

Context::Context(int threads, std::uint64_t seed, std::uint64_t memory_limit_bytes, Device device)
    : seed_(seed), device_(device) {
  ThreadChoice thread_choice = ChooseThreads(threads);
  threads_ = thread_choice.threads;
  threads_origin_ = std::move(thread_choice.origin);
  MemoryChoice memory = ChooseMemoryLimit(memory_limit_bytes);
  // The passes plan their resident peak against this budget: a plan above the memory the process
  // may use would fail with std::bad_alloc, or be killed by the kernel (or the job's cgroup),
  // instead of getting the memory model's clear error.
  if (memory_limit_bytes > memory.bytes) {
    const CgroupMemoryLimit cgroup = CgroupMemoryLimitOfThisProcess();
    const bool by_cgroup = cgroup.bytes > 0 && cgroup.bytes < PhysicalMemoryBytes();
    spdlog::warn(
        "memory_limit = {} bytes is more than {} ({}): using {} bytes", memory_limit_bytes,
        by_cgroup ? "this process's cgroup memory limit" : "this machine's physical memory",
        DescribeBytes(memory.bytes), memory.bytes);
  }
  memory_limit_bytes_ = memory.bytes;
  memory_limit_origin_ = std::move(memory.origin);
}

int AvailableCpus() {
  // A cpu_set_t holds 1024 CPUs; larger machines need a larger mask (EINVAL until it fits).
  for (int cpus = 1024; cpus <= (1 << 20); cpus *= 2) {
    cpu_set_t* mask = CPU_ALLOC(static_cast<std::size_t>(cpus));
    if (mask == nullptr) break;
    const std::size_t size = CPU_ALLOC_SIZE(static_cast<std::size_t>(cpus));
    CPU_ZERO_S(size, mask);
    const int status = sched_getaffinity(0, size, mask);
    const int count = status == 0 ? CPU_COUNT_S(size, mask) : 0;
    const int error = errno;
    CPU_FREE(mask);
    if (status == 0) return std::max(1, count);
    if (error != EINVAL) break;
  }
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ThreadChoice ChooseThreads(int requested) {
  ThreadChoice choice;
  if (requested > 0) {
    choice.origin = "--threads / threads option";
    choice.threads = CapThreads(requested, "threads");
    return choice;
  }
  if (const int omp = OmpNumThreads(); omp > 0) {
    choice.origin = "OMP_NUM_THREADS";
    choice.threads = CapThreads(omp, "OMP_NUM_THREADS");
    return choice;
  }
  const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  choice.threads = AvailableCpus();
  choice.origin = fmt::format("CPU affinity mask ({} of {} CPUs)", choice.threads,
                              std::max(hardware, choice.threads));
  return choice;
}

MemoryChoice ChooseMemoryLimit(std::uint64_t requested_bytes) {
  const std::uint64_t physical = PhysicalMemoryBytes();
  const CgroupMemoryLimit cgroup = CgroupMemoryLimitOfThisProcess();
  const bool by_cgroup = cgroup.bytes > 0 && cgroup.bytes < physical;
  const std::uint64_t usable = by_cgroup ? cgroup.bytes : physical;
  const char* whole = by_cgroup ? "the cgroup memory limit" : "the physical memory";
  MemoryChoice choice;
  if (requested_bytes == 0) {
    choice.bytes = usable / 2;
    choice.origin = fmt::format("half of {}", whole);
    if (by_cgroup) choice.origin += fmt::format(" ({})", cgroup.file);
  } else if (requested_bytes > usable) {
    choice.bytes = usable;
    choice.origin = fmt::format("memory_limit option, lowered to {}", whole);
  } else {
    choice.bytes = requested_bytes;
    choice.origin = "memory_limit option";
  }
  return choice;
}

std::uint64_t EffectiveMemoryLimit(std::uint64_t requested_bytes) {
  return ChooseMemoryLimit(requested_bytes).bytes;
}

CgroupMemoryLimit ReadCgroupMemoryLimit(const std::string& root, const std::string& self_cgroup) {
  CgroupMemoryLimit found;
  std::stringstream lines(self_cgroup);
  std::string line;
  while (std::getline(lines, line)) {
    // "hierarchy-ID:controller-list:cgroup-path"; the path may itself contain ':'.
    const std::size_t first = line.find(':');
    const std::size_t second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    const std::string id = line.substr(0, first);
    const std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    while (!path.empty() && (path.back() == '\r' || path.back() == ' ')) path.pop_back();
    if (id == "0" && controllers.empty()) {  // cgroup v2 (the unified hierarchy)
      for (const std::string& file : FilesUpTheTree(root, path, "memory.max"))
        TakeTighter(found, file);
      continue;
    }
    std::stringstream names(controllers);
    std::string name;
    while (std::getline(names, name, ',')) {
      if (name != "memory") continue;
      for (const std::string& file :
           FilesUpTheTree(root + "/memory", path, "memory.limit_in_bytes"))
        TakeTighter(found, file);
    }
  }
  return found;
}

CgroupMemoryLimit CgroupMemoryLimitOfThisProcess() {
  const char* root = std::getenv("DESCPIPE_CGROUP_ROOT");
  std::ifstream in("/proc/self/cgroup");
  std::stringstream text;
  if (in) text << in.rdbuf();
  return ReadCgroupMemoryLimit(root != nullptr && *root != '\0' ? root : "/sys/fs/cgroup",
                               text.str());
}

std::uint64_t UsableMemoryBytes() {
  const std::uint64_t physical = PhysicalMemoryBytes();
  const std::uint64_t cgroup = CgroupMemoryLimitOfThisProcess().bytes;
  return cgroup > 0 && cgroup < physical ? cgroup : physical;
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
