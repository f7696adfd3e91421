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

namespace {

/// 1234567.0 -> "1.2M", 45600.0 -> "45.6k".
std::string Human(double value) {
  if (value >= 1e9) return fmt::format("{:.1f}G", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.1f}M", value / 1e6);
  if (value >= 1e3) return fmt::format("{:.1f}k", value / 1e3);
  return fmt::format("{:.0f}", value);
}

}  // namespace

ProgressLine::ProgressLine(std::string label, bool enabled, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

ProgressLine::~ProgressLine() { Finish(); }

void ProgressLine::Update(std::uint64_t done, std::int64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string line = fmt::format("{}: {} {}", label_, GroupThousands(done), unit_);
  if (total > 0) {
    const double fraction = static_cast<double>(done) / static_cast<double>(total);
    line = fmt::format("{}: {} / {} {} ({:.1f}%)", label_, GroupThousands(done),
                       GroupThousands(static_cast<std::uint64_t>(total)), unit_, 100.0 * fraction);
    if (rate > 0 && fraction > 0) {
      line += fmt::format(", {} {}/s, ETA {:.0f}s", Human(rate), unit_,
                          (static_cast<double>(total) - static_cast<double>(done)) / rate);
    }
  } else if (rate > 0) {
    line += fmt::format(", {} {}/s", Human(rate), unit_);
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
