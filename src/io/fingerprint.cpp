// Content hashes of files (see fingerprint.hpp).
#include "io/fingerprint.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <vector>

#include "descpipe/error.hpp"

namespace descpipe::io {
namespace {

constexpr std::uint64_t kChunkBytes = 8ULL << 20;

std::string Hex(XXH64_hash_t hash) { return fmt::format("{:016x}", hash); }

/// An open file, closed on scope exit.
class ReadOnlyFile {
 public:
  explicit ReadOnlyFile(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) throw IoError(fmt::format("cannot read '{}': {}", path, std::strerror(errno)));
    struct stat info {};
    if (::fstat(fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
      ::close(fd_);
      throw IoError(fmt::format("cannot read '{}': not a regular file", path));
    }
    size_ = static_cast<std::uint64_t>(info.st_size);
  }
  ~ReadOnlyFile() { ::close(fd_); }
  ReadOnlyFile(const ReadOnlyFile&) = delete;
  ReadOnlyFile& operator=(const ReadOnlyFile&) = delete;

  std::uint64_t size() const { return size_; }

  /// Reads [offset, offset + bytes) into `buffer` (resized to what was read).
  void Read(std::uint64_t offset, std::uint64_t bytes, std::vector<char>& buffer) const {
    buffer.resize(static_cast<std::size_t>(bytes));
    std::uint64_t done = 0;
    while (done < bytes) {
      const ssize_t got = ::pread(fd_, buffer.data() + done, static_cast<std::size_t>(bytes - done),
                                  static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw IoError(fmt::format("cannot read '{}': {}", path_, std::strerror(errno)));
      if (got == 0) break;  // the file shrank: hash what is there (the size differs anyway)
      done += static_cast<std::uint64_t>(got);
    }
    buffer.resize(static_cast<std::size_t>(done));
  }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace

std::string HashText(const std::string& bytes) {
  return Hex(XXH3_64bits(bytes.data(), bytes.size()));
}

std::string HashFile(const std::string& path, std::uint64_t* size, int threads) {
  const ReadOnlyFile file(path);
  const std::uint64_t bytes = file.size();
  const std::uint64_t chunks = (bytes + kChunkBytes - 1) / kChunkBytes;
  std::vector<XXH64_hash_t> digests(static_cast<std::size_t>(chunks) + 1, 0);
  digests.back() = bytes;
  std::exception_ptr failure;
  const int workers = static_cast<int>(
      std::clamp<std::uint64_t>(chunks, 1, static_cast<std::uint64_t>(std::max(1, threads))));
#pragma omp parallel num_threads(workers)
  {
    std::vector<char> buffer;
#pragma omp for schedule(static)
    for (std::int64_t chunk = 0; chunk < static_cast<std::int64_t>(chunks); ++chunk) {
      try {
        const std::uint64_t offset = static_cast<std::uint64_t>(chunk) * kChunkBytes;
        file.Read(offset, std::min(kChunkBytes, bytes - offset), buffer);
        digests[static_cast<std::size_t>(chunk)] = XXH3_64bits(buffer.data(), buffer.size());
      } catch (...) {
#pragma omp critical(descpipe_hash_failure)
        if (!failure) failure = std::current_exception();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
  *size = bytes;
  return Hex(XXH3_64bits(digests.data(), digests.size() * sizeof(XXH64_hash_t)));
}

std::string HashFileContent(const std::string& bytes) {
  const std::uint64_t size = bytes.size();
  std::vector<XXH64_hash_t> digests;
  for (std::uint64_t offset = 0; offset < size; offset += kChunkBytes) {
    digests.push_back(XXH3_64bits(bytes.data() + offset, std::min(kChunkBytes, size - offset)));
  }
  digests.push_back(size);
  return Hex(XXH3_64bits(digests.data(), digests.size() * sizeof(XXH64_hash_t)));
}

std::string SampledFileHash(const std::string& path, FileFormat format) {
  const ReadOnlyFile file(path);
  const std::uint64_t size = file.size();
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  std::vector<char> buffer;
  auto add = [&](std::uint64_t offset, std::uint64_t bytes) {
    if (offset >= size) return;
    file.Read(offset, std::min(bytes, size - offset), buffer);
    XXH3_64bits_update(state, &offset, sizeof(offset));
    XXH3_64bits_update(state, buffer.data(), buffer.size());
  };
  try {
    XXH3_64bits_update(state, &size, sizeof(size));
    constexpr std::uint64_t kEdge = 1ULL << 20;
    add(0, kEdge);
    add(size > kEdge ? size - kEdge : 0, kEdge);
    if (format == FileFormat::kParquet && size >= 12) {
      // The footer: its length is the little-endian uint32 before the trailing "PAR1".
      file.Read(size - 8, 4, buffer);
      std::uint32_t footer = 0;
      if (buffer.size() == 4) std::memcpy(&footer, buffer.data(), 4);
      if (footer > 0 && footer <= size - 8) add(size - 8 - footer, footer);
    }
    constexpr std::uint64_t kBlocks = 64;
    constexpr std::uint64_t kBlockBytes = 64ULL << 10;
    for (std::uint64_t block = 0; block < kBlocks; ++block) {
      add(size / kBlocks * block +
              (size / kBlocks > kBlockBytes ? (size / kBlocks - kBlockBytes) / 2 : 0),
          kBlockBytes);
    }
  } catch (...) {
    XXH3_freeState(state);
    throw;
  }
  const XXH64_hash_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return Hex(hash);
}

std::string HashMemoryTable(const MemoryTable& table) {
  XXH3_state_t* state = XXH3_createState();
  DESCPIPE_ASSERT(state != nullptr);
  XXH3_64bits_reset(state);
  auto add = [&](const void* data, std::size_t bytes) { XXH3_64bits_update(state, data, bytes); };
  auto add_size = [&](std::uint64_t value) { add(&value, sizeof(value)); };
  add_size(table.n_rows);
  add_size(table.columns.size());
  for (const MemoryColumn& column : table.columns) {
    add_size(column.name.size());
    add(column.name.data(), column.name.size());
    const std::string type = MemoryTypeName(column.type);
    add_size(type.size());
    add(type.data(), type.size());
    if (column.type == MemoryType::kText) {
      const auto* texts = static_cast<const std::string*>(column.data);
      for (std::size_t row = 0; row < table.n_rows; ++row) {
        add_size(texts[row].size());
        add(texts[row].data(), texts[row].size());
      }
    } else {
      add(column.data, MemoryTypeBytes(column.type) * table.n_rows);
    }
    add_size(column.is_null != nullptr);
    if (column.is_null != nullptr) add(column.is_null, table.n_rows);
  }
  const XXH64_hash_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  return Hex(hash);
}

}  // namespace descpipe::io
