// Helpers shared by the tests: temporary directories, SQL through DuckDB (to write Parquet and
// CSV test data), running the descpipe executable.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "descpipe/error.hpp"

namespace descpipe::testing {

/// True in a sanitizer build (DESCPIPE_SANITIZE: GCC defines __SANITIZE_ADDRESS__). Sweeps that
/// repeat one code path many times (corrupted-file variants) run a third of their cases there.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kSanitizerBuild = true;
#else
inline constexpr bool kSanitizerBuild = false;
#endif

/// A fresh directory under $TMPDIR, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Runs SQL statements in a fresh in-memory DuckDB; fails the test (throws) on error.
void RunSql(const std::string& sql);
/// Runs a query and returns its single value as text.
std::string QueryScalar(const std::string& sql);

struct CliResult {
  int exit_code = -1;  ///< exit status, or 128 + signal number when a signal ended the process
  std::string out;
  std::string err;
  bool timed_out = false;  ///< killed (SIGKILL, exit_code 137) after `timeout_seconds`
};
/// Success when `result` exited 0; otherwise a failure showing the exit code and stderr.
::testing::AssertionResult Succeeded(const CliResult& result);
/// Runs the descpipe executable with `args` (no shell), capturing stdout and stderr. With
/// `timeout_seconds` > 0, a run still going after that long is killed and reported as timed_out,
/// so a hang fails the test instead of blocking the suite.
CliResult RunCli(const std::vector<std::string>& args, int timeout_seconds = 0);
/// The same for any program (an absolute path).
CliResult RunProgram(const std::string& program_path, const std::vector<std::string>& args,
                     int timeout_seconds = 0);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);
/// Names (not paths) of the entries of `dir`, sorted; empty when it does not exist.
std::vector<std::string> ListDir(const std::string& dir);

/// ../shared/data/nci5k_rdkit.parquet beside the repository, or the folder named by the
/// environment variable DESCPIPE_TEST_SHARED_DATA (a built tree moved to another machine).
std::string SharedTablePath();

/// The built programs, or the paths in DESCPIPE_TEST_CLI / DESCPIPE_TEST_MAKE_DATA when set (a
/// built tree moved to another machine: scripts/gpu-check.sh with a bundle).
std::string CliPath();
std::string MakeDataPath();

/// Runs `action`, expects it to throw `Exception`, returns the message ("" and a failure if not).
template <typename Exception = Error, typename Action>
std::string MessageOf(Action&& action) {
  try {
    action();
  } catch (const Exception& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

/// Success when `text` contains `part`; the failure message shows both.
::testing::AssertionResult Contains(const std::string& text, const std::string& part);

/// Equal, or both NaN (the failure message shows both with 17 digits).
::testing::AssertionResult Same(double expected, double actual);

/// A log line of the CLI on stderr ("[hh:mm:ss] level ..."), as opposed to an error message.
bool IsLogLine(const std::string& line);

/// `text` split at '\n' (no trailing empty line).
std::vector<std::string> Lines(const std::string& text);

}  // namespace descpipe::testing
