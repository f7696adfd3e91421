// NumPy .npy files (format 1.0, little-endian float64, C order), written atomically.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace descpipe::io {

/// Writes a rows x cols row-major matrix of doubles as `path` (numpy.load reads it).
void WriteNpyAtomic(const std::string& path, const double* data, std::size_t rows,
                    std::size_t cols);

/// Reads a 2-D float64 .npy written by WriteNpyAtomic (for tests and resuming).
/// @throws IoError on any other layout.
std::vector<double> ReadNpy(const std::string& path, std::size_t* rows, std::size_t* cols);

}  // namespace descpipe::io
