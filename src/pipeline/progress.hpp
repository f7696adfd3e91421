// Progress of a pass on stderr: "pass1: 1,234,567 / 2,000,000 rows (61.7%), 1.2M rows/s, ETA 3s".
// ProgressStyle::kLive redraws one line in place at most 5 times a second (stderr is a terminal);
// kLog writes it as an info log line at most once every 30 s per pass (stderr is a batch job's
// log file), so a long pass shows it is alive and how far it got; kNone writes nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "descpipe/context.hpp"

namespace descpipe {

/// The interval between two kLog lines of one pass: 30 s, or the seconds (a number >= 0) in the
/// environment variable DESCPIPE_PROGRESS_INTERVAL (a test hook: 0 logs every update).
std::chrono::milliseconds ProgressLogInterval();

class ProgressLine {
 public:
  /// `unit` names what is counted ("rows", "tiles"); `log_interval`: the least time between two
  /// kLog lines (the first comes one interval after the start).
  ProgressLine(std::string label, ProgressStyle style, std::string unit = "rows",
               std::chrono::milliseconds log_interval = ProgressLogInterval());
  ~ProgressLine();
  /// `done` of `total` units (total <= 0: unknown; the line then has no percentage or ETA).
  void Update(std::uint64_t done, std::int64_t total);
  /// Clears a live line.
  void Finish();

 private:
  std::string Text(std::uint64_t done, std::int64_t total,
                   std::chrono::steady_clock::time_point now) const;

  std::string label_;
  std::string unit_;
  ProgressStyle style_;
  std::chrono::milliseconds log_interval_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

/// 1234567 -> "1,234,567".
std::string GroupThousands(std::uint64_t value);

}  // namespace descpipe
