// The memory model shared by the passes: what `memory_limit` covers, the fixed costs every pass
// pays (the process itself, DuckDB's scan buffers), and the one error every pass raises when its
// plan does not fit. docs/SPEARMAN.md ("Memory") states the model and what was measured.
//
// `memory_limit` bounds the peak resident memory of the whole process (VmHWM): each pass adds
// the bytes it will hold at its peak (its own buffers, what earlier passes still hold, the reader)
// to kProcessBaseBytes and checks the sum before it allocates anything large. Sizes are in bytes
// and computed in double, so no product of options and table sizes can overflow.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "descpipe/context.hpp"
#include "descpipe/error.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace descpipe {

/// Resident memory of the process before a pass allocates anything: the binary and its libraries
/// (21 MB for `descpipe --version`), DuckDB's database, thread stacks, OpenBLAS's buffers and the
/// allocator. A whole run on a 200 x 20 table peaks at 43-49 MB with 1 to 32 threads (the CLI keeps
/// one malloc arena); this leaves a margin. What a thread allocates for its work (rank scratch,
/// feature batches, tile products) is counted where it is allocated.
inline constexpr double kProcessBaseBytes = 64e6;
/// Per thread beyond kBaseThreads (stack pages, OpenMP and OpenBLAS bookkeeping): up to 32
/// threads the difference was below 1 MB in all, inside kProcessBaseBytes.
inline constexpr double kThreadBytes = 256e3;
inline constexpr int kBaseThreads = 32;

/// Rows of a Parquet row group as DuckDB writes them (its default ROW_GROUP_SIZE); DuckDB decodes
/// a column chunk of up to this many rows at once.
inline constexpr double kRowGroupRows = 122880.0;

/// The fixed part of every pass: kProcessBaseBytes plus kThreadBytes per thread beyond
/// kBaseThreads (so that plans, and the row samples they decide, do not depend on the thread
/// count up to there).
inline double ProcessBaseBytes(int threads) {
  return kProcessBaseBytes + kThreadBytes * std::max(0, threads - kBaseThreads);
}

/// DuckDB's memory for streaming `columns` columns of files of at most `file_rows` rows, read
/// with `prefetch` batches decoded ahead (ColumnReader): its vectors of up to 2,048 rows (scan,
/// cast, result) and the decoded column chunk of a row group, twice when decoding runs ahead
/// across row groups. Measured per column: 21 kB for a 3-row file, 74 kB for 2,000 rows, and at
/// 300,000 rows (row groups of 122,880) 1.1 MB without prefetch and 2.1-2.4 MB with it.
/// Modelled as 32 kB + 24 bytes per row up to 2,048 + 12 (24 with prefetch) per row of a row
/// group. Files written with larger row groups (pyarrow's default is 1M rows) need more. Each
/// read also holds the file's schema and footer, 5 kB per column of the file whichever columns
/// it reads (measured: reading 500 of the 20,000 columns of a 3-row file took 105 MB, all of them
/// 428 MB). CSV (`csv`; its rows are unknown: pass kRowGroupRows) adds DuckDB's read buffers,
/// 2 x 32 MB.
inline double DuckDbScanBytes(double columns, double file_rows, double prefetch,
                              double file_columns, bool csv) {
  const double rows = std::max(file_rows, 0.0);
  return columns * (32e3 + 24.0 * std::min(rows, 2048.0) +
                    (prefetch > 0 ? 24.0 : 12.0) * std::min(rows, kRowGroupRows)) +
         5e3 * file_columns + (csv ? 64e6 : 0.0);
}

/// Per column of the input: its name, type and role in the table, its statistics and decision,
/// and its entries in maps and JSON (kept by every pass).
inline constexpr double kBookkeepingBytesPerColumn = 1000.0;

/// The batches of a ColumnReader: `prefetch + 1` batches of `batch_rows` rows (double value and
/// a null byte per entry).
inline double ReaderBatchBytes(double columns, double batch_rows, double prefetch) {
  return (prefetch + 1.0) * batch_rows * columns * 9.0;
}

/// Gives the free memory of the allocator's heaps back to the system. glibc keeps what small and
/// mid-sized allocations free (Pass 1's per-column statistics, DuckDB's scan buffers) inside its
/// arenas: 130-200 MB of a 3,000-column Pass 1 stayed resident into Pass 2 without this. Called
/// where a pass has freed a large part of what it held, so that the next step's plan starts from
/// the memory it counts.
inline void ReleaseFreedMemory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

/// "1.3 GB", "300 MB", "12 kB": decimal units, as memory_limit reads them.
inline std::string FormatBytes(double bytes) {
  if (bytes >= 1e12) return fmt::format("{:.1f} TB", bytes / 1e12);
  if (bytes >= 1e9) return fmt::format("{:.1f} GB", bytes / 1e9);
  if (bytes >= 1e6) return fmt::format("{:.0f} MB", bytes / 1e6);
  return fmt::format("{:.0f} kB", bytes / 1e3);
}

/// A value to suggest for memory_limit that covers `bytes`, rounded up and written as the option
/// takes it: "1.3GB" (0.1 GB steps below 10 GB, whole GB above), "470MB" (10 MB steps from
/// 100 MB, whole MB below).
inline std::string SuggestedLimit(double bytes) {
  if (bytes >= 10e9) return fmt::format("{:.0f}GB", std::ceil(bytes / 1e9));
  if (bytes >= 1e9) return fmt::format("{:.1f}GB", std::ceil(bytes / 1e8) / 10.0);
  if (bytes >= 100e6) return fmt::format("{:.0f}MB", std::ceil(bytes / 1e7) * 10.0);
  return fmt::format("{:.0f}MB", std::max(1.0, std::ceil(bytes / 1e6)));
}

/// Throws InvalidInput unless `needed` (the whole process's peak, base included) fits in
/// `limit`: "<what> needs <needed> ... but memory_limit is <limit>: raise memory_limit to at least
/// <needed> (<alternative>)", or "... but this machine has <physical> of physical memory:
/// <alternative>" (or "... but this process's cgroup memory limit is <limit>", a Slurm job's or
/// container's allocation) when the limit is all the process may use already. `what` names the
/// step and the sizes that drive it, `alternative` the options that shrink it ("" for none).
inline void RequireMemory(double needed, std::uint64_t limit, const std::string& what,
                          const std::string& alternative) {
  if (needed <= static_cast<double>(limit)) return;
  // The Context lowers memory_limit to the usable memory: raising it cannot help then.
  const std::uint64_t physical_bytes = PhysicalMemoryBytes();
  const std::uint64_t usable_bytes = UsableMemoryBytes();
  const double usable = static_cast<double>(usable_bytes);
  if (needed > usable && static_cast<double>(limit) >= usable) {
    throw InvalidInput(fmt::format(
        "{} but {} {}{}{}", what,
        usable_bytes < physical_bytes ? "this process's cgroup memory limit (its job's or "
                                        "container's allocation) is"
                                      : "this machine has",
        FormatBytes(usable), usable_bytes < physical_bytes ? "" : " of physical memory",
        alternative.empty() ? "" : ": " + alternative));
  }
  throw InvalidInput(fmt::format("{} but memory_limit is {}: raise memory_limit to at least {}{}",
                                 what, FormatBytes(static_cast<double>(limit)),
                                 SuggestedLimit(needed),
                                 alternative.empty() ? "" : " (or " + alternative + ")"));
}

}  // namespace descpipe
