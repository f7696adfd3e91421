// Error hierarchy of descpipe. Library code throws only these types; the CLI turns them into
// "error: <message>" on stderr and a non-zero exit code.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace descpipe {

/// Base class of every error descpipe throws. The message says what, where and which values.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// The user's input (data, config, command line) is invalid.
class InvalidInput : public Error {
 public:
  using Error::Error;
};

/// A file could not be read or written.
class IoError : public Error {
 public:
  using Error::Error;
};

/// A numeric computation failed (singular matrix, overflow...).
class NumericalError : public Error {
 public:
  using Error::Error;
};

/// A CUDA call failed, or CUDA was requested in a build without it.
class CudaError : public Error {
 public:
  using Error::Error;
};

/// The caller asked the run to stop (Context::set_stop_flag; Python's Ctrl-C). What was complete
/// stays complete in OUTDIR and a later run resumes from it.
class Stopped : public Error {
 public:
  using Error::Error;
};

/// An internal invariant was violated: a bug in descpipe, never a user mistake.
class InternalError : public Error {
 public:
  using Error::Error;
};

}  // namespace descpipe

/// Checks user input; throws descpipe::InvalidInput with a formatted message when `cond` is false.
#define DESCPIPE_EXPECTS(cond, ...)                                          \
  do {                                                                       \
    if (!(cond)) throw ::descpipe::InvalidInput(::fmt::format(__VA_ARGS__)); \
  } while (false)

/// Checks an internal invariant; never use it for user input.
#define DESCPIPE_ASSERT(cond)                                                              \
  do {                                                                                     \
    if (!(cond))                                                                           \
      throw ::descpipe::InternalError(                                                     \
          ::fmt::format("internal error: {} failed at {}:{}", #cond, __FILE__, __LINE__)); \
  } while (false)
