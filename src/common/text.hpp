// Text helpers shared by several modules.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace descpipe {

/// `text` with ASCII letters lowercased (option values, file extensions, SQL type names).
inline std::string AsciiLower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace descpipe
