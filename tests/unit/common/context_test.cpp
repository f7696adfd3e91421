// The Context's resources on a cluster node: threads from the CPU affinity mask and
// OMP_NUM_THREADS, the memory budget from the cgroup limit (ReadCgroupMemoryLimit on fake trees),
// and the progress log line of redirected runs.
#include "descpipe/context.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "common/memory_budget.hpp"
#include "descpipe/config.hpp"
#include "pipeline/progress.hpp"
#include "support/test_support.hpp"

namespace descpipe {
namespace {

namespace fs = std::filesystem;
using testing::Contains;
using testing::TempDir;
using testing::WriteFile;

/// Sets (or, with nullopt, unsets) an environment variable for the lifetime of the guard.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) previous_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (previous_) {
      ::setenv(name_, previous_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> previous_;
};

/// Writes `content` to root/relative, making the folders.
void Put(const std::string& root, const std::string& relative, const std::string& content) {
  const fs::path path = fs::path(root) / relative;
  fs::create_directories(path.parent_path());
  WriteFile(path.string(), content);
}

TEST(CgroupMemoryLimit, V2TakesTheTightestLimitUpTheTree) {
  TempDir root;
  Put(root.path(), "slurm/job_5/step_0/memory.max", "max\n");
  Put(root.path(), "slurm/job_5/memory.max", "2000000000\n");
  Put(root.path(), "slurm/memory.max", "8000000000\n");
  const CgroupMemoryLimit found = ReadCgroupMemoryLimit(root.path(), "0::/slurm/job_5/step_0\n");
  EXPECT_EQ(found.bytes, 2000000000u);
  EXPECT_EQ(found.file, root / "slurm/job_5/memory.max");
  // The deepest limit when it is the tightest; a limit at the root counts too.
  Put(root.path(), "slurm/job_5/step_0/memory.max", "1000000000");
  Put(root.path(), "memory.max", "500000000");
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "0::/slurm/job_5/step_0").bytes, 500000000u);
}

TEST(CgroupMemoryLimit, V2MaxMissingAndUnreadableMeanNoLimit) {
  TempDir root;
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "0::/a/b\n").bytes, 0u);  // no files at all
  Put(root.path(), "a/b/memory.max", "max\n");
  Put(root.path(), "a/memory.max", "\n");
  Put(root.path(), "memory.max", "12abc\n");
  const CgroupMemoryLimit none = ReadCgroupMemoryLimit(root.path(), "0::/a/b\n");
  EXPECT_EQ(none.bytes, 0u);
  EXPECT_TRUE(none.file.empty());
  // A folder where the file should be is no limit either.
  fs::remove(root / "a/b/memory.max");
  fs::create_directories(root / "a/b/memory.max");
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "0::/a/b\n").bytes, 0u);
  // Nothing of a missing root or an empty /proc/self/cgroup.
  EXPECT_EQ(ReadCgroupMemoryLimit(root / "absent", "0::/a/b\n").bytes, 0u);
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "").bytes, 0u);
}

TEST(CgroupMemoryLimit, V1ReadsTheMemoryHierarchy) {
  TempDir root;
  // Docker's v1 layout as seen on this kind of machine: "no limit" is PAGE_COUNTER_MAX pages.
  Put(root.path(), "memory/memory.limit_in_bytes", "9223372036854771712\n");
  Put(root.path(), "memory/process_api/d64/memory.limit_in_bytes", "3000000000\n");
  Put(root.path(), "cpu/process_api/d64/memory.limit_in_bytes", "1000\n");  // not memory's
  const std::string self = "9:name=systemd:/\n4:memory:/process_api/d64\n1:cpu:/process_api/d64\n";
  const CgroupMemoryLimit found = ReadCgroupMemoryLimit(root.path(), self);
  EXPECT_EQ(found.bytes, 3000000000u);
  EXPECT_EQ(found.file, root / "memory/process_api/d64/memory.limit_in_bytes");
  // The controller inside a list ("cpu,memory"), and the huge value alone means no limit.
  fs::remove(root / "memory/process_api/d64/memory.limit_in_bytes");
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "3:cpuacct,memory:/process_api/d64\n").bytes, 0u);
  Put(root.path(), "memory/process_api/memory.limit_in_bytes", "4096000000");
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "3:cpuacct,memory:/process_api/d64\n").bytes,
            4096000000u);
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "3:memoryx:/process_api/d64\n").bytes, 0u);
}

TEST(CgroupMemoryLimit, HybridTakesTheSmallerAndIgnoresJunk) {
  TempDir root;
  Put(root.path(), "memory/job/memory.limit_in_bytes", "6000000000");
  Put(root.path(), "job/memory.max", "5000000000");
  const std::string self = "garbage\n\n12:pids\n4:memory:/job\n0::/job\n";
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), self).bytes, 5000000000u);
  Put(root.path(), "memory/job/memory.limit_in_bytes", "4000000000");
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), self).bytes, 4000000000u);
}

TEST(CgroupMemoryLimit, PathOutsideTheNamespaceChecksOnlyTheTop) {
  TempDir root;
  Put(root.path(), "memory.max", "7000000000");
  Put(root.path(), "x/memory.max", "1000");
  // "/../x" would leave root: never read outside it.
  EXPECT_EQ(ReadCgroupMemoryLimit(root / "sub", "0::/../x\n").bytes, 0u);
  EXPECT_EQ(ReadCgroupMemoryLimit(root.path(), "0::/../../x\n").bytes, 7000000000u);
}

/// A fake cgroup root that limits this process to `bytes` whatever /proc/self/cgroup says (the
/// limit sits at the top of both hierarchies, which every path walks up to).
void FakeCgroupRoot(const std::string& root, std::uint64_t bytes) {
  Put(root, "memory.max", std::to_string(bytes) + "\n");
  Put(root, "memory/memory.limit_in_bytes", std::to_string(bytes) + "\n");
}

TEST(CgroupMemoryLimit, LowersTheDefaultBudgetAndTheCap) {
  TempDir root;
  const std::uint64_t physical = PhysicalMemoryBytes();
  const std::uint64_t limit = physical / 4;
  FakeCgroupRoot(root.path(), limit);
  const ScopedEnv env("DESCPIPE_CGROUP_ROOT", root.path());
  if (CgroupMemoryLimitOfThisProcess().bytes == 0)
    GTEST_SKIP() << "/proc/self/cgroup names no memory cgroup here";
  EXPECT_EQ(CgroupMemoryLimitOfThisProcess().bytes, limit);
  EXPECT_EQ(UsableMemoryBytes(), limit);
  const MemoryChoice automatic = ChooseMemoryLimit(0);
  EXPECT_EQ(automatic.bytes, limit / 2);
  EXPECT_TRUE(Contains(automatic.origin, "half of the cgroup memory limit")) << automatic.origin;
  EXPECT_EQ(Context(1, 42, 0).memory_limit_bytes(), limit / 2);
  EXPECT_EQ(Context(1, 42, limit + 1).memory_limit_bytes(), limit);  // lowered, with a warning
  EXPECT_EQ(Context(1, 42, 1u << 20).memory_limit_bytes(), 1u << 20);
  EXPECT_EQ(ChooseMemoryLimit(1u << 20).origin, "memory_limit option");
  EXPECT_TRUE(Contains(ChooseMemoryLimit(limit + 1).origin, "lowered to the cgroup memory limit"));
  EXPECT_NEAR(static_cast<double>(ParseByteSize("50%")), static_cast<double>(limit) / 2, 2.0);
  // Beyond the cgroup's limit, raising memory_limit cannot help: the message says so.
  const std::string message = testing::MessageOf<InvalidInput>([&] {
    RequireMemory(2.0 * static_cast<double>(limit), limit, "step needs a lot", "lower x");
  });
  EXPECT_TRUE(Contains(message, "step needs a lot but this process's cgroup memory limit"))
      << message;
  EXPECT_TRUE(Contains(message, " is " + FormatBytes(static_cast<double>(limit)) + ": lower x"))
      << message;
  EXPECT_FALSE(Contains(message, "raise memory_limit")) << message;
  // A limit above the physical memory changes nothing.
  FakeCgroupRoot(root.path(), 2 * physical);
  EXPECT_EQ(UsableMemoryBytes(), physical);
  EXPECT_EQ(ChooseMemoryLimit(0).bytes, physical / 2);
  EXPECT_EQ(ChooseMemoryLimit(0).origin, "half of the physical memory");
}

/// Restricts the calling thread to one CPU of its mask for the lifetime of the guard.
class OneCpu {
 public:
  OneCpu() {
    CPU_ZERO(&previous_);
    ok_ = sched_getaffinity(0, sizeof(previous_), &previous_) == 0;
    if (!ok_) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &previous_)) {
        CPU_SET(cpu, &one);
        break;
      }
    }
    ok_ = sched_setaffinity(0, sizeof(one), &one) == 0;
  }
  ~OneCpu() { sched_setaffinity(0, sizeof(previous_), &previous_); }
  OneCpu(const OneCpu&) = delete;
  OneCpu& operator=(const OneCpu&) = delete;
  bool ok() const { return ok_; }

 private:
  cpu_set_t previous_;
  bool ok_ = false;
};

TEST(ChooseThreads, AffinityThenOmpNumThreadsThenTheOption) {
  const ScopedEnv no_omp("OMP_NUM_THREADS", std::nullopt);
  const ThreadChoice all = ChooseThreads(0);
  EXPECT_EQ(all.threads, AvailableCpus());
  EXPECT_TRUE(Contains(all.origin, "CPU affinity mask")) << all.origin;
  {
    const OneCpu one_cpu;
    ASSERT_TRUE(one_cpu.ok());
    EXPECT_EQ(AvailableCpus(), 1);
    const ThreadChoice pinned = ChooseThreads(0);
    EXPECT_EQ(pinned.threads, 1);
    EXPECT_TRUE(Contains(pinned.origin, "CPU affinity mask (1 of ")) << pinned.origin;
    EXPECT_EQ(Context(0).threads(), 1);
    {
      const ScopedEnv omp("OMP_NUM_THREADS", "3");
      EXPECT_EQ(ChooseThreads(0).threads, 3);  // OMP_NUM_THREADS overrides the mask
      EXPECT_EQ(ChooseThreads(0).origin, "OMP_NUM_THREADS");
      EXPECT_EQ(ChooseThreads(2).threads, 2);  // and the option overrides both
      EXPECT_EQ(ChooseThreads(2).origin, "--threads / threads option");
    }
  }
  for (const char* nested : {"2,1", " 2 "}) {
    const ScopedEnv omp("OMP_NUM_THREADS", nested);
    EXPECT_EQ(ChooseThreads(0).threads, 2) << nested;
  }
  {
    // More than 4 per hardware thread from either source: capped (with a warning).
    const ScopedEnv omp("OMP_NUM_THREADS", "100000");
    const int cap = 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    EXPECT_EQ(ChooseThreads(0).threads, cap);
    EXPECT_EQ(ChooseThreads(kMaxThreads).threads, std::min(cap, kMaxThreads));
  }
  for (const char* bad : {"0", "-1", "abc", "2x", ""}) {
    const ScopedEnv omp("OMP_NUM_THREADS", bad);
    EXPECT_EQ(ChooseThreads(0).threads, all.threads) << bad;  // ignored (with a warning)
    EXPECT_TRUE(Contains(ChooseThreads(0).origin, "CPU affinity mask")) << bad;
  }
}

/// Captures what spdlog's default logger writes during the guard's life.
class CapturedLog {
 public:
  CapturedLog()
      : previous_(spdlog::default_logger()),
        sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    auto logger = std::make_shared<spdlog::logger>("captured", sink_);
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
};

TEST(ProgressLine, LogStyleWritesRowsRateAndEtaAtMostOncePerInterval) {
  CapturedLog log;
  {
    ProgressLine every("pass1", ProgressStyle::kLog, "rows", std::chrono::milliseconds(0));
    every.Update(250000, 1000000);
    every.Update(500000, 1000000);
    every.Update(7, -1);  // total unknown: no percentage, no ETA
  }
  const std::vector<std::string> lines = testing::Lines(log.text());
  ASSERT_EQ(lines.size(), 3u) << log.text();
  EXPECT_TRUE(Contains(lines[0], "info pass1: 250,000 / 1,000,000 rows (25.0%), ")) << lines[0];
  EXPECT_TRUE(Contains(lines[0], " rows/s, ETA ")) << lines[0];
  EXPECT_TRUE(Contains(lines[1], "(50.0%)")) << lines[1];
  EXPECT_TRUE(Contains(lines[2], "info pass1: 7 rows")) << lines[2];
  EXPECT_FALSE(Contains(lines[2], "ETA")) << lines[2];
  {
    // Within the interval: nothing, however many updates.
    ProgressLine hourly("pass2", ProgressStyle::kLog, "rows", std::chrono::hours(1));
    for (int i = 0; i < 1000; ++i) hourly.Update(static_cast<std::uint64_t>(i), 1000);
    ProgressLine none("pass4", ProgressStyle::kNone, "tiles", std::chrono::milliseconds(0));
    none.Update(1, 2);
  }
  EXPECT_EQ(testing::Lines(log.text()).size(), 3u) << log.text();
}

TEST(ProgressLine, IntervalFromTheEnvironment) {
  {
    const ScopedEnv unset("DESCPIPE_PROGRESS_INTERVAL", std::nullopt);
    EXPECT_EQ(ProgressLogInterval(), std::chrono::seconds(30));
  }
  {
    const ScopedEnv half("DESCPIPE_PROGRESS_INTERVAL", "0.5");
    EXPECT_EQ(ProgressLogInterval(), std::chrono::milliseconds(500));
  }
  for (const char* bad : {"abc", "-1", "1e9", "nan", "5s"}) {
    const ScopedEnv env("DESCPIPE_PROGRESS_INTERVAL", bad);
    EXPECT_EQ(ProgressLogInterval(), std::chrono::seconds(30)) << bad;
  }
}

}  // namespace
}  // namespace descpipe
