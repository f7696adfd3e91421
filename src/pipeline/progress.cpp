#include "pipeline/progress.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace descpipe {

std::string GroupThousands(std::uint64_t value) {
  std::string digits = std::to_string(value);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

ProgressLine::ProgressLine(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), start_(std::chrono::steady_clock::now()), last_(start_) {}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Update(std::uint64_t done, std::int64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string line = fmt::format("{}: {} rows", label_, GroupThousands(done));
  if (total > 0) {
    const double fraction = static_cast<double>(done) / static_cast<double>(total);
    line = fmt::format("{}: {} / {} rows ({:.1f}%)", label_, GroupThousands(done),
                       GroupThousands(static_cast<std::uint64_t>(total)), 100.0 * fraction);
    if (rate > 0 && fraction > 0) {
      line += fmt::format(", {:.2g} rows/s, ETA {:.0f}s", rate,
                          (static_cast<double>(total) - static_cast<double>(done)) / rate);
    }
  } else if (rate > 0) {
    line += fmt::format(", {:.2g} rows/s", rate);
  }
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Finish() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace descpipe
