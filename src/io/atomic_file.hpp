// Atomic output files: write to a temporary name in the same directory, fsync, rename.
// A reader never sees a partial file under the final name.
#pragma once

#include <string>
#include <vector>

namespace descpipe::io {

/// A temporary file beside `final_path`, `<final_path>.tmp-XXXXXX`, created by mkostemp (O_EXCL:
/// a symlink or file planted under that name is never followed or reused) with the usual
/// permissions (0666 less the umask). Commit() renames it into place; the destructor removes it
/// when Commit() was never called (error paths leave nothing behind). A run killed meanwhile
/// leaves the temporary, which the next run in that OUTDIR removes (RemoveStaleTemporaries).
/// Others (DuckDB's COPY) may write the file through temp_path(): it exists and is ours.
class AtomicPath {
 public:
  explicit AtomicPath(std::string final_path);
  ~AtomicPath();
  AtomicPath(const AtomicPath&) = delete;
  AtomicPath& operator=(const AtomicPath&) = delete;

  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }
  /// The open temporary file (write through it, or through temp_path()).
  int fd() const { return fd_; }
  /// fsyncs the temporary file, renames it to the final path and fsyncs the directory.
  void Commit();

 private:
  std::string final_path_;
  std::string temp_path_;
  int fd_ = -1;
  int slot_ = -1;  ///< its entry in the table RemoveTemporariesNow reads (-1: none free)
  bool committed_ = false;
};

/// Removes every AtomicPath temporary of this process that is not yet committed. Async-signal-
/// safe (unlink only): the CLI calls it from its SIGINT/SIGTERM handler, so an interrupted
/// command leaves no temporary behind.
void RemoveTemporariesNow();

/// Writes `content` to `path` atomically. @throws IoError naming the path.
void WriteFileAtomic(const std::string& path, const std::string& content);

/// The non-empty lines of the text file `path` (column lists such as pass2_columns.txt).
/// @throws InvalidInput naming the path when it cannot be read.
std::vector<std::string> ReadLines(const std::string& path);

/// Creates `dir` (and parents) if needed and checks it is a writable directory.
/// @throws IoError / InvalidInput naming the path.
void EnsureOutputDirectory(const std::string& dir);

}  // namespace descpipe::io
