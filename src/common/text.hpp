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

/// `text` cut to `max` characters, saying how long it was: values echoed into messages and logs
/// (a 50 MB option value must not become a 50 MB log line).
inline std::string Shorten(const std::string& text, std::size_t max = 200) {
  if (text.size() <= max) return text;
  return text.substr(0, max) + "... (" + std::to_string(text.size()) + " characters)";
}

}  // namespace descpipe
