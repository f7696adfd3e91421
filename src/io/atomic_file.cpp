#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "descpipe/error.hpp"
#include "io/outdir.hpp"

namespace descpipe::io {
namespace fs = std::filesystem;

namespace {

void FsyncDirectory(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort for directories on filesystems that refuse it
  ::fsync(fd);
  ::close(fd);
}

/// The process's umask, read without changing it (umask(2) can only set it).
mode_t CurrentUmask() {
  static const mode_t mask = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("Umask:", 0) == 0)
        return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
    }
    return static_cast<mode_t>(022);
  }();
  return mask;
}

/// The temporaries RemoveTemporariesNow may unlink: fixed slots, so that the signal handler reads
/// them without locks or allocation. A slot holds a path while `used` is 2 (1: being written).
constexpr int kSlots = 64;
constexpr std::size_t kSlotPath = 4096;
struct Slot {
  std::atomic<int> used{0};
  char path[kSlotPath];
};
Slot g_slots[kSlots];

int Register(const std::string& path) {
  if (path.size() >= kSlotPath) return -1;
  for (int slot = 0; slot < kSlots; ++slot) {
    int expected = 0;
    if (g_slots[slot].used.compare_exchange_strong(expected, 1)) {
      std::memcpy(g_slots[slot].path, path.c_str(), path.size() + 1);
      g_slots[slot].used.store(2);
      return slot;
    }
  }
  return -1;  // more than 64 at once: that one is left to RemoveStaleTemporaries
}

void Unregister(int slot) {
  if (slot >= 0) g_slots[slot].used.store(0);
}

}  // namespace

void RemoveTemporariesNow() {
  for (Slot& slot : g_slots) {
    if (slot.used.load() == 2) ::unlink(slot.path);
  }
}

AtomicPath::AtomicPath(std::string final_path) : final_path_(std::move(final_path)) {
  std::string pattern = final_path_ + ".tmp-XXXXXX";
  fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd_ < 0)
    throw IoError(fmt::format("cannot write '{}': {}", final_path_, std::strerror(errno)));
  temp_path_ = std::move(pattern);
  slot_ = Register(temp_path_);
  ::fchmod(fd_, 0666 & ~CurrentUmask());  // mkostemp makes 0600; outputs are ordinary files
}

AtomicPath::~AtomicPath() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
  Unregister(slot_);
}

void AtomicPath::Commit() {
  // fsync flushes the file whichever descriptor wrote it (ours, or DuckDB's through the path).
  if (::fsync(fd_) != 0 || ::close(fd_) != 0) {
    fd_ = -1;
    throw IoError(fmt::format("cannot write '{}': {}", final_path_, std::strerror(errno)));
  }
  fd_ = -1;
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    throw IoError(fmt::format("cannot write '{}': {}", final_path_, std::strerror(errno)));
  }
  committed_ = true;
  Unregister(slot_);
  slot_ = -1;
  const fs::path parent = fs::path(final_path_).parent_path();
  FsyncDirectory(parent.empty() ? "." : parent.string());
}

void WriteFileAtomic(const std::string& path, const std::string& content) {
  AtomicPath target(path);
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(target.fd(), content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    }
    written += static_cast<std::size_t>(n);
  }
  target.Commit();
}

void EnsureOutputDirectory(const std::string& dir) {
  DESCPIPE_EXPECTS(!dir.empty(), "no output directory given: use -o OUTDIR or output_dir");
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    DESCPIPE_EXPECTS(fs::is_directory(dir, ec),
                     "output directory '{}' exists and is not a directory", dir);
  } else {
    fs::create_directories(dir, ec);
    if (ec)
      throw IoError(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw IoError(
        fmt::format("output directory '{}' is not writable: {}", dir, std::strerror(errno)));
  }
}

std::vector<std::string> ReadLines(const std::string& path) {
  const std::string content = ReadRegularFile(path);
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < content.size()) {
    std::size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    if (end > start) lines.push_back(content.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace descpipe::io
