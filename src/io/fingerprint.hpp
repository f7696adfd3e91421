// Content hashes: of input files (what a resumed run checks before it reuses a pass) and of the
// outputs a pass wrote (what it checks before it trusts them). XXH3-64 (xxHash, Debian's
// libxxhash), ~20 GB/s per core: the disk, not the hash, sets the cost (docs/RUNS.md).
#pragma once

#include <cstdint>
#include <string>

#include "descpipe/table.hpp"

namespace descpipe::io {

/// XXH3-64 of `bytes`, as 16 hex digits.
std::string HashText(const std::string& bytes);

/// Hash of every byte of the regular file `path` (a symlink is followed), as 16 hex digits;
/// `*size` receives the bytes hashed. The file is read in 8 MiB chunks, on up to `threads`
/// threads; the result is XXH3-64 over the chunks' XXH3-64 digests, so it does not depend on the
/// thread count. @throws IoError naming the path.
std::string HashFile(const std::string& path, std::uint64_t* size, int threads = 1);

/// HashFile's digest of a file's content already in memory (the report checks what it read).
std::string HashFileContent(const std::string& bytes);

/// What verify_inputs: fast reads of an input file: its size, the Parquet footer (schema, row
/// groups, every column chunk's offsets, sizes and statistics; for CSV the first and last MiB)
/// and 64 blocks of 64 KiB evenly spaced over the file. Detects any change of size, of the
/// footer or of a sampled byte; not a same-size change elsewhere that leaves the footer as it was.
std::string SampledFileHash(const std::string& path, FileFormat format);

/// Hash of a table in memory: its row count, and every column's name, type, values (text: each
/// length and bytes) and missing-value mask, as 16 hex digits. Two tables with the same columns
/// and values hash alike wherever they lie.
std::string HashMemoryTable(const MemoryTable& table);

}  // namespace descpipe::io
