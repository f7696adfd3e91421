// Progress line on stderr ("pass1: 1,234,567 / 2,000,000 rows (61.7%), 1.2M rows/s, ETA 3s"),
// drawn only when enabled (stderr is a terminal and not --quiet), at most 5 times a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace descpipe {

class ProgressLine {
 public:
  /// `unit` names what is counted ("rows", "tiles").
  ProgressLine(std::string label, bool enabled, std::string unit = "rows");
  ~ProgressLine();
  void Update(std::uint64_t done, std::int64_t total);
  /// Clears the line.
  void Finish();

 private:
  std::string label_;
  std::string unit_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_;
};

/// 1234567 -> "1,234,567".
std::string GroupThousands(std::uint64_t value);

}  // namespace descpipe
