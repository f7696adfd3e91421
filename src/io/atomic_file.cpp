#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "descpipe/error.hpp"

namespace descpipe::io {
namespace fs = std::filesystem;

namespace {

void FsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) return;  // best effort for directories on filesystems that refuse it
  ::fsync(fd);
  ::close(fd);
}

std::string UniqueSuffix() {
  static std::atomic<unsigned> counter{0};
  return fmt::format(".tmp-{}-{}", ::getpid(), counter.fetch_add(1));
}

}  // namespace

AtomicPath::AtomicPath(std::string final_path)
    : final_path_(std::move(final_path)), temp_path_(final_path_ + UniqueSuffix()) {}

AtomicPath::~AtomicPath() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_path_, ec);
  }
}

void AtomicPath::Commit() {
  FsyncPath(temp_path_, false);
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    throw IoError(fmt::format("cannot write '{}': {}", final_path_, std::strerror(errno)));
  }
  committed_ = true;
  const fs::path parent = fs::path(final_path_).parent_path();
  FsyncPath(parent.empty() ? "." : parent.string(), true);
}

void WriteFileAtomic(const std::string& path, const std::string& content) {
  AtomicPath target(path);
  const int fd = ::open(target.temp_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(saved)));
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw IoError(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
  }
  target.Commit();
}

void EnsureOutputDirectory(const std::string& dir) {
  DESCPIPE_EXPECTS(!dir.empty(), "no output directory given: use -o OUTDIR or output_dir");
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    DESCPIPE_EXPECTS(fs::is_directory(dir, ec), "output directory '{}' exists and is not a directory", dir);
  } else {
    fs::create_directories(dir, ec);
    if (ec) throw IoError(fmt::format("cannot create output directory '{}': {}", dir, ec.message()));
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    throw IoError(fmt::format("output directory '{}' is not writable: {}", dir, std::strerror(errno)));
  }
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  DESCPIPE_EXPECTS(in.good(), "cannot read '{}'", path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace descpipe::io
