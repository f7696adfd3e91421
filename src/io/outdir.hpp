// The output directory as a trust boundary (docs/RUNS.md, "What descpipe trusts in OUTDIR"):
// one run at a time (an flock on the OUTDIR directory), names read back from OUTDIR that must be
// plain names inside it, files that must be regular files (never a symlink, FIFO or device), and
// the temporaries a killed run left behind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace descpipe::io {

/// An flock on the directory OUTDIR itself, held for the object's lifetime (and released by the
/// kernel when the process dies, so a killed run never leaves OUTDIR locked; no lock file).
///   - exclusive (`descpipe run`);
///   - shared (`apply`, `explain`): readers exclude a writer, not each other.
/// When the lock is held by another process: waits when `wait` (saying so), else throws
/// InvalidInput naming OUTDIR and the holder's pid (from /proc/locks).
class OutdirLock {
 public:
  enum class Mode { kExclusive, kShared };
  OutdirLock(const std::string& out_dir, Mode mode, bool wait);
  ~OutdirLock();
  OutdirLock(const OutdirLock&) = delete;
  OutdirLock& operator=(const OutdirLock&) = delete;

 private:
  int fd_ = -1;
};

/// `out_dir + "/" + name` when `name`, read from a file in OUTDIR (run_manifest.json), is a plain
/// name of a file descpipe writes there: "pass1_stats.csv" or ".checkpoint/pass1.json" (no other
/// directory, no "..", no absolute path, no control character). Otherwise throws InvalidInput.
std::string OutdirFile(const std::string& out_dir, const std::string& name);

/// Reads the whole file at `path`, which must be a regular file and not a symlink (a FIFO would
/// block, a device never end, a symlink lead outside OUTDIR). At most `max_bytes`.
/// @throws InvalidInput naming the path and what it is instead.
std::string ReadRegularFile(const std::string& path, std::uint64_t max_bytes = UINT64_MAX);

/// True when `path` is a regular file and not a symlink (lstat).
bool IsPlainFile(const std::string& path);

/// Removes what killed runs left in `dir` (OUTDIR or OUTDIR/.checkpoint): the temporaries
/// `<output>.tmp-XXXXXX` (AtomicPath) and `<output>.tmp-<pid>-<n>` (earlier versions) of the
/// files named in `outputs`; nothing else. Only regular files and symlinks (the link, never its
/// target). Call it while holding the exclusive lock. @returns how many were removed.
std::size_t RemoveStaleTemporaries(const std::string& dir, const std::vector<std::string>& outputs);

/// True when `path` (which need not exist) is `dir` or lies inside it, both resolved through
/// symlinks and "..".
bool IsInsideDirectory(const std::string& path, const std::string& dir);

/// Makes OUTDIR/.checkpoint a real directory: a symlink (or a file) of that name is removed, so
/// checkpoints are never written or deleted through a link that leads elsewhere.
void EnsureCheckpointDirectory(const std::string& out_dir);

}  // namespace descpipe::io
