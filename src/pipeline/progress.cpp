#include "pipeline/progress.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

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

std::chrono::milliseconds ProgressLogInterval() {
  constexpr std::chrono::milliseconds kDefault(30000);
  const char* text = std::getenv("DESCPIPE_PROGRESS_INTERVAL");
  if (text == nullptr || *text == '\0') return kDefault;
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !(seconds >= 0.0) || seconds > 1e6) {
    spdlog::warn(
        "DESCPIPE_PROGRESS_INTERVAL = '{}' is not a number of seconds in [0, 1e6]: using "
        "30",
        text);
    return kDefault;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000.0));
}

ProgressLine::ProgressLine(std::string label, ProgressStyle style, std::string unit,
                           std::chrono::milliseconds log_interval)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      style_(style),
      log_interval_(log_interval),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

ProgressLine::~ProgressLine() { Finish(); }

std::string ProgressLine::Text(std::uint64_t done, std::int64_t total,
                               std::chrono::steady_clock::time_point now) const {
  const double seconds = std::chrono::duration<double>(now - start_).count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  std::string line = fmt::format("{}: {} {}", label_, GroupThousands(done), unit_);
  if (total > 0) {
    const double fraction = static_cast<double>(done) / static_cast<double>(total);
    line = fmt::format("{}: {} / {} {} ({:.1f}%)", label_, GroupThousands(done),
                       GroupThousands(static_cast<std::uint64_t>(total)), unit_, 100.0 * fraction);
    if (rate > 0 && fraction > 0) {
      line +=
          fmt::format(", {} {}/s, ETA {:.0f}s", Human(rate), unit_,
                      std::max(0.0, static_cast<double>(total) - static_cast<double>(done)) / rate);
    }
  } else if (rate > 0) {
    line += fmt::format(", {} {}/s", Human(rate), unit_);
  }
  return line;
}

void ProgressLine::Update(std::uint64_t done, std::int64_t total) {
  if (style_ == ProgressStyle::kNone) return;
  const auto now = std::chrono::steady_clock::now();
  if (style_ == ProgressStyle::kLog) {
    // The first line one interval after the start: a pass shorter than that logs none.
    if (now - last_ < log_interval_) return;
    last_ = now;
    spdlog::info("{}", Text(done, total, now));
    return;
  }
  if (drawn_ && now - last_ < std::chrono::milliseconds(200)) return;
  last_ = now;
  std::fprintf(stderr, "\r\033[K%s", Text(done, total, now).c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Finish() {
  if (style_ == ProgressStyle::kLive && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace descpipe
