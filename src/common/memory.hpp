// Large buffers (matrices of gigabytes): transparent huge pages, and giving back a shrunk tail.
//
// The first write to each page of a fresh allocation is a page fault. With 4 KiB pages that is
// 262,144 faults per GiB; on the VMs we measured a fault costs ~13 us, so zero-filling a 4 GB
// vector took 13.8 s, against 0.4-1.8 s with 2 MiB transparent huge pages (docs/PERFORMANCE.md,
// "Scale"). Linux hands out huge pages only to regions that ask (`madvise(MADV_HUGEPAGE)`) unless
// /sys/kernel/mm/transparent_hugepage/enabled is "always", so the large buffers ask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace descpipe {

/// Buffers from this size on ask for huge pages (smaller ones come from malloc's heap, where
/// advice would cover neighbours).
inline constexpr std::size_t kHugePageMinBytes = std::size_t{32} << 20;
inline constexpr std::size_t kHugePageBytes = std::size_t{2} << 20;

/// Asks for transparent huge pages on the 2 MiB-aligned part of [data, data + bytes) that has not
/// been touched yet. Advice only: no effect on the contents, and none where the kernel ignores it.
inline void AdviseHugePages(void* data, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (data == nullptr || bytes < kHugePageMinBytes) return;
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const std::uintptr_t last = (begin + bytes) & ~(kHugePageBytes - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#else
  (void)data;
  (void)bytes;
#endif
}

/// `v.resize(n)` for large buffers: the new storage asks for huge pages before it is first written.
template <typename T>
void ResizeLarge(std::vector<T>& v, std::size_t n) {
  if (n > v.capacity()) {
    v.reserve(n);  // allocates; nothing beyond size() is written yet
    AdviseHugePages(v.data() + v.size(), (n - v.size()) * sizeof(T));
  }
  v.resize(n);
}

/// `v.resize(n)` with n <= size(), giving the pages of the dropped tail back to the system without
/// the copy (and fresh page faults) of shrink_to_fit. The capacity stays; only the whole pages
/// after the new end are released, and they read as zeros if the vector grows again.
template <typename T>
void ShrinkLarge(std::vector<T>& v, std::size_t n) {
  if (n >= v.size()) return;
  const std::size_t old_size = v.size();
  v.resize(n);
#if defined(__linux__)
  const auto end = reinterpret_cast<std::uintptr_t>(v.data() + n);
  const auto old_end = reinterpret_cast<std::uintptr_t>(v.data() + old_size);
  constexpr std::uintptr_t kPage = 4096;
  const std::uintptr_t first = (end + kPage - 1) & ~(kPage - 1);
  const std::uintptr_t last = old_end & ~(kPage - 1);
  if (last > first && last - first >= kHugePageMinBytes) {
    madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
#else
  (void)old_size;
  v.shrink_to_fit();
#endif
}

}  // namespace descpipe
