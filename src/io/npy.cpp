#include "io/npy.hpp"

#include <cstring>

#include "descpipe/error.hpp"
#include "io/atomic_file.hpp"
#include "io/outdir.hpp"

namespace descpipe::io {
namespace {
constexpr char kMagic[] = "\x93NUMPY";
}

void WriteNpyAtomic(const std::string& path, const double* data, std::size_t rows,
                    std::size_t cols) {
  static_assert(sizeof(double) == 8, "float64 expected");
  std::string header =
      fmt::format("{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}", rows, cols);
  // Magic (6) + version (2) + length (2) + header, padded with spaces and a final newline to a
  // multiple of 64 bytes, as the format requires.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string content(kMagic, 6);
  content += '\x01';
  content += '\x00';
  const auto length = static_cast<std::uint16_t>(header.size());
  content += static_cast<char>(length & 0xff);
  content += static_cast<char>(length >> 8);
  content += header;
  const std::size_t offset = content.size();
  content.resize(offset + rows * cols * sizeof(double));
  if (rows * cols > 0) std::memcpy(content.data() + offset, data, rows * cols * sizeof(double));
  WriteFileAtomic(path, content);
}

std::vector<double> ReadNpy(const std::string& path, std::size_t* rows, std::size_t* cols) {
  // Untrusted (a file in OUTDIR): a regular file, and a shape that matches its size exactly.
  const std::string content = ReadRegularFile(path);
  if (content.size() < 10 || content.compare(0, 6, std::string(kMagic, 6)) != 0 ||
      content[6] != 1) {
    throw IoError(fmt::format("'{}' is not a version 1 .npy file", path));
  }
  const std::size_t length =
      static_cast<unsigned char>(content[8]) | (static_cast<unsigned char>(content[9]) << 8);
  if (content.size() < 10 + length) throw IoError(fmt::format("'{}' is truncated", path));
  const std::string header = content.substr(10, length);
  std::size_t r = 0, c = 0;
  const auto shape = header.find("'shape': (");
  if (header.find("'descr': '<f8'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos || shape == std::string::npos ||
      std::sscanf(header.c_str() + shape + 10, "%zu, %zu", &r, &c) != 2) {
    throw IoError(fmt::format("'{}' is not a 2-D float64 C-order .npy file", path));
  }
  const std::size_t data_bytes = content.size() - 10 - length;
  // r * c * 8 == data_bytes without overflow: c divides the value count, and r is the quotient.
  const std::size_t values_in_file = data_bytes / sizeof(double);
  const bool shape_fits =
      data_bytes % sizeof(double) == 0 &&
      (c == 0 ? values_in_file == 0 : values_in_file % c == 0 && values_in_file / c == r);
  if (!shape_fits)
    throw IoError(
        fmt::format("'{}' holds {} bytes of values, not {} x {} float64", path, data_bytes, r, c));
  std::vector<double> values(values_in_file);
  if (!values.empty())
    std::memcpy(values.data(), content.data() + 10 + length, values.size() * sizeof(double));
  *rows = r;
  *cols = c;
  return values;
}

}  // namespace descpipe::io
