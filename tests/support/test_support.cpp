#include "support/test_support.hpp"

#include <duckdb.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace descpipe::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string base = fs::temp_directory_path().string() + "/descpipe-test-XXXXXX";
  if (::mkdtemp(base.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = base;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

namespace {

struct Db {
  Db() {
    if (duckdb_open(nullptr, &database) == DuckDBError)
      throw std::runtime_error("duckdb_open failed");
    if (duckdb_connect(database, &connection) == DuckDBError)
      throw std::runtime_error("duckdb_connect failed");
  }
  ~Db() {
    duckdb_disconnect(&connection);
    duckdb_close(&database);
  }
  duckdb_database database = nullptr;
  duckdb_connection connection = nullptr;
};

}  // namespace

void RunSql(const std::string& sql) {
  Db db;
  duckdb_result result;
  const bool failed = duckdb_query(db.connection, sql.c_str(), &result) == DuckDBError;
  std::string error = failed ? duckdb_result_error(&result) : "";
  duckdb_destroy_result(&result);
  if (failed) throw std::runtime_error("test SQL failed: " + error + "\nSQL: " + sql);
}

std::string QueryScalar(const std::string& sql) {
  Db db;
  duckdb_result result;
  if (duckdb_query(db.connection, sql.c_str(), &result) == DuckDBError) {
    std::string error = duckdb_result_error(&result);
    duckdb_destroy_result(&result);
    throw std::runtime_error("test SQL failed: " + error + "\nSQL: " + sql);
  }
  char* text = duckdb_value_varchar(&result, 0, 0);
  std::string out = text ? text : "";
  duckdb_free(text);
  duckdb_destroy_result(&result);
  return out;
}

CliResult RunProgram(const std::string& program_path, const std::vector<std::string>& args,
                     int timeout_seconds) {
  TempDir capture;
  const std::string out_path = capture / "stdout";
  const std::string err_path = capture / "stderr";
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    const int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(err_fd, STDERR_FILENO);
    ::dup2(null_fd, STDIN_FILENO);
    std::vector<char*> argv;
    std::string program = program_path;
    argv.push_back(program.data());
    std::vector<std::string> copies = args;
    for (auto& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  CliResult result;
  if (timeout_seconds <= 0) {
    ::waitpid(pid, &status, 0);
  } else {
    // Poll: a short sleep keeps the latency of a fast run low without a SIGCHLD handler.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    auto pause = std::chrono::microseconds(200);
    for (;;) {
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      if (done < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        result.timed_out = true;
        break;
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(20000));
    }
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

namespace {

std::string FromEnvironment(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

}  // namespace

std::string CliPath() { return FromEnvironment("DESCPIPE_TEST_CLI", DESCPIPE_CLI_PATH); }
std::string MakeDataPath() {
  return FromEnvironment("DESCPIPE_TEST_MAKE_DATA", DESCPIPE_MAKE_DATA_PATH);
}

::testing::AssertionResult Succeeded(const CliResult& result) {
  if (result.exit_code == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "exit code " << result.exit_code << "\nstderr:\n"
                                       << result.err;
}

CliResult RunCli(const std::vector<std::string>& args, int timeout_seconds) {
  return RunProgram(CliPath(), args, timeout_seconds);
}

::testing::AssertionResult Same(double expected, double actual) {
  if (expected == actual || (std::isnan(expected) && std::isnan(actual))) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << std::setprecision(17) << "expected " << expected << ", got " << actual;
}

bool IsLogLine(const std::string& line) {
  return line.size() > 11 && line[0] == '[' && line[3] == ':' && line[6] == ':' && line[9] == ']';
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return names;
  for (const auto& entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

::testing::AssertionResult Contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

std::string SharedTablePath() {
  return FromEnvironment("DESCPIPE_TEST_SHARED_DATA", DESCPIPE_SHARED_DATA) +
         "/nci5k_rdkit.parquet";
}

}  // namespace descpipe::testing
