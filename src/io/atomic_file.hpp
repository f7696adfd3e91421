// Atomic output files: write to a temporary name in the same directory, fsync, rename.
// A reader never sees a partial file under the final name.
#pragma once

#include <string>
#include <vector>

namespace descpipe::io {

/// A temporary path beside `final_path`; Commit() renames it into place, the destructor removes
/// it when Commit() was never called (error paths leave nothing behind).
class AtomicPath {
 public:
  explicit AtomicPath(std::string final_path);
  ~AtomicPath();
  AtomicPath(const AtomicPath&) = delete;
  AtomicPath& operator=(const AtomicPath&) = delete;

  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }
  /// fsyncs the temporary file, renames it to the final path and fsyncs the directory.
  void Commit();

 private:
  std::string final_path_;
  std::string temp_path_;
  bool committed_ = false;
};

/// Writes `content` to `path` atomically. @throws IoError naming the path.
void WriteFileAtomic(const std::string& path, const std::string& content);

/// The non-empty lines of the text file `path` (column lists such as pass2_columns.txt).
/// @throws InvalidInput naming the path when it cannot be read.
std::vector<std::string> ReadLines(const std::string& path);

/// Creates `dir` (and parents) if needed and checks it is a writable directory.
/// @throws IoError / InvalidInput naming the path.
void EnsureOutputDirectory(const std::string& dir);

}  // namespace descpipe::io
