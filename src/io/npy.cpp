#include "io/npy.hpp"

#include <cstring>
#include <fstream>
#include <sstream>

#include "descpipe/error.hpp"
#include "io/atomic_file.hpp"

namespace descpipe::io {
namespace {
constexpr char kMagic[] = "\x93NUMPY";
}

void WriteNpyAtomic(const std::string& path, const double* data, std::size_t rows, std::size_t cols) {
  static_assert(sizeof(double) == 8, "float64 expected");
  std::string header = fmt::format("{{'descr': '<f8', 'fortran_order': False, 'shape': ({}, {}), }}", rows, cols);
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
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("cannot read '{}'", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  if (content.size() < 10 || content.compare(0, 6, std::string(kMagic, 6)) != 0 || content[6] != 1) {
    throw IoError(fmt::format("'{}' is not a version 1 .npy file", path));
  }
  const std::size_t length = static_cast<unsigned char>(content[8]) | (static_cast<unsigned char>(content[9]) << 8);
  const std::string header = content.substr(10, length);
  std::size_t r = 0, c = 0;
  const auto shape = header.find("'shape': (");
  if (header.find("'descr': '<f8'") == std::string::npos || header.find("'fortran_order': False") == std::string::npos ||
      shape == std::string::npos || std::sscanf(header.c_str() + shape + 10, "%zu, %zu", &r, &c) != 2) {
    throw IoError(fmt::format("'{}' is not a 2-D float64 C-order .npy file", path));
  }
  if (content.size() != 10 + length + r * c * sizeof(double)) {
    throw IoError(fmt::format("'{}' is truncated", path));
  }
  std::vector<double> values(r * c);
  if (!values.empty()) std::memcpy(values.data(), content.data() + 10 + length, values.size() * sizeof(double));
  *rows = r;
  *cols = c;
  return values;
}

}  // namespace descpipe::io
