// OUTDIR as a trust boundary (see outdir.hpp).
#include "io/outdir.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>
#include <vector>

#include "descpipe/error.hpp"

namespace descpipe::io {
namespace {

std::string Errno(int error) { return std::strerror(error); }

/// What a non-regular file is, for messages.
const char* FileKind(mode_t mode) {
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a named pipe";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

/// The pid of a process holding an flock on the file (dev, ino), from /proc/locks ("1: FLOCK
/// ADVISORY WRITE 1234 fd:01:56789 0 EOF"); "unknown" when it cannot be told.
std::string LockHolder(dev_t device, ino_t inode) {
  std::ifstream locks("/proc/locks");
  const std::string wanted = fmt::format("{:02x}:{:02x}:{}", major(device), minor(device),
                                         static_cast<unsigned long long>(inode));
  for (std::string line; std::getline(locks, line);) {
    std::istringstream fields(line);
    std::string number, kind, advisory, access, pid, id;
    fields >> number >> kind;
    if (kind == "->") fields >> kind;  // a waiter: "1: -> FLOCK ..."
    fields >> advisory >> access >> pid >> id;
    if (kind == "FLOCK" && id == wanted && line.find("->") == std::string::npos) return pid;
  }
  return "unknown";
}

/// A plain file name: not empty, not "." or "..", no '/', no control character.
bool PlainName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  for (const char c : name) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

/// True when `name` is `<output>.tmp-XXXXXX` (mkostemp's six characters) or
/// `<output>.tmp-<pid>-<n>` (earlier versions) for one of `outputs`.
bool IsTemporaryOf(std::string_view name, const std::vector<std::string>& outputs) {
  const std::size_t mark = name.rfind(".tmp-");
  if (mark == std::string_view::npos) return false;
  const std::string_view base = name.substr(0, mark);
  if (std::find(outputs.begin(), outputs.end(), base) == outputs.end()) return false;
  const std::string_view tail = name.substr(mark + 5);
  const bool mkostemp = tail.size() == 6 && std::all_of(tail.begin(), tail.end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) != 0;
                        });
  const std::size_t dash = tail.find('-');
  const bool pid_counter = dash != std::string_view::npos && dash > 0 && dash + 1 < tail.size() &&
                           tail.find_first_not_of("0123456789-") == std::string_view::npos;
  return mkostemp || pid_counter;
}

}  // namespace

OutdirLock::OutdirLock(const std::string& out_dir, Mode mode, bool wait) {
  // The lock is on the directory itself: no lock file to leave behind, and a read-only OUTDIR can
  // still be locked for reading.
  fd_ = ::open(out_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) {
    throw IoError(fmt::format("cannot lock output directory '{}': {}", out_dir, Errno(errno)));
  }
  const bool exclusive = mode == Mode::kExclusive;
  const int operation = exclusive ? LOCK_EX : LOCK_SH;
  int result = ::flock(fd_, operation | LOCK_NB);
  if (result != 0 && errno == EWOULDBLOCK) {
    if (!wait) {
      struct stat info {};
      ::fstat(fd_, &info);
      const std::string holder = LockHolder(info.st_dev, info.st_ino);
      ::close(fd_);
      fd_ = -1;
      throw InvalidInput(
          fmt::format("output directory '{}' is in use by another descpipe process (pid {}{}); "
                      "wait for it to finish, or "
                      "give --wait to wait for it",
                      out_dir, holder, exclusive ? "" : ", a run writing it"));
    }
    spdlog::info("output directory '{}' is in use by another descpipe process: waiting for it",
                 out_dir);
    do {
      result = ::flock(fd_, operation);
    } while (result != 0 && errno == EINTR);
  }
  if (result != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    throw IoError(fmt::format("cannot lock output directory '{}': {}", out_dir, Errno(error)));
  }
}

OutdirLock::~OutdirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

std::string OutdirFile(const std::string& out_dir, const std::string& name) {
  std::string_view rest = name;
  constexpr std::string_view kCheckpoints = ".checkpoint/";
  if (rest.substr(0, kCheckpoints.size()) == kCheckpoints) rest.remove_prefix(kCheckpoints.size());
  DESCPIPE_EXPECTS(PlainName(rest),
                   "'{}/run_manifest.json' names the file '{}', which is not a file descpipe "
                   "writes in the output "
                   "directory; the manifest was edited or damaged",
                   out_dir, name.size() > 200 ? name.substr(0, 200) + "..." : name);
  return out_dir + "/" + name;
}

bool IsPlainFile(const std::string& path) {
  struct stat info {};
  return ::lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

std::string ReadRegularFile(const std::string& path, std::uint64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ELOOP)
      throw InvalidInput(
          fmt::format("'{}' is a symlink; descpipe reads only regular files there", path));
    throw InvalidInput(fmt::format("cannot read '{}': {}", path, Errno(error)));
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    throw InvalidInput(fmt::format("'{}' is {}, not a regular file", path, FileKind(info.st_mode)));
  }
  if (static_cast<std::uint64_t>(info.st_size) > max_bytes) {
    ::close(fd);
    throw InvalidInput(
        fmt::format("'{}' is {} bytes, more than the {} expected", path, info.st_size, max_bytes));
  }
  std::string content(static_cast<std::size_t>(info.st_size), '\0');
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t got =
        ::pread(fd, content.data() + done, content.size() - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // shrank meanwhile: what is there
    done += static_cast<std::size_t>(got);
  }
  ::close(fd);
  content.resize(done);
  return content;
}

std::size_t RemoveStaleTemporaries(const std::string& dir,
                                   const std::vector<std::string>& outputs) {
  DIR* handle = ::opendir(dir.c_str());
  if (handle == nullptr) return 0;
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(handle)) {
    if (IsTemporaryOf(entry->d_name, outputs)) stale.emplace_back(entry->d_name);
  }
  ::closedir(handle);
  std::size_t removed = 0;
  for (const std::string& name : stale) {
    struct stat info {};
    const std::string path = dir + "/" + name;
    if (::lstat(path.c_str(), &info) != 0 || !(S_ISREG(info.st_mode) || S_ISLNK(info.st_mode)))
      continue;
    if (::unlink(path.c_str()) == 0) ++removed;  // unlink: a symlink goes, never its target
  }
  return removed;
}

bool IsInsideDirectory(const std::string& path, const std::string& dir) {
  std::error_code ec;
  namespace fs = std::filesystem;
  fs::path directory = fs::weakly_canonical(fs::absolute(dir, ec), ec);
  if (ec || directory.empty()) return false;
  if (!directory.has_filename())
    directory = directory.parent_path();  // "out/": no empty last element
  const fs::path target = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) return false;
  const auto [dir_end, target_it] =
      std::mismatch(directory.begin(), directory.end(), target.begin(), target.end());
  return dir_end == directory.end();
}

void EnsureCheckpointDirectory(const std::string& out_dir) {
  const std::string path = out_dir + "/.checkpoint";
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) return;
    if (::unlink(path.c_str()) != 0) {
      throw IoError(fmt::format("'{}' is {}, not a directory, and cannot be removed: {}", path,
                                FileKind(info.st_mode), Errno(errno)));
    }
  }
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    throw IoError(fmt::format("cannot create '{}': {}", path, Errno(errno)));
  }
}

}  // namespace descpipe::io
