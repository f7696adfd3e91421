// Exceptions inside OpenMP regions: one must not leave a region (std::terminate), so each
// iteration runs inside FirstFailure::Run, and the region's first exception is rethrown after it.
#pragma once

#include <atomic>
#include <exception>
#include <mutex>

namespace descpipe {

class FirstFailure {
 public:
  /// Runs `work`; an exception it throws is kept (the first one) instead of propagating.
  template <typename Work>
  void Run(Work&& work) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;  // stop early once one failed
    try {
      work();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  /// After the region: rethrows the first exception, if any.
  void Rethrow() const {
    if (failure_) std::rethrow_exception(failure_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::exception_ptr failure_;
};

}  // namespace descpipe
