// The names of enum values as options and outputs spell them: one table per enum, declared beside
// the enum as an overload of NamesOf(E), and one pair of helpers for every enum (EnumName,
// EnumFromName). Parsing, validation messages, the manifest and the JSON outputs all read the same
// table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace descpipe {

template <typename E>
struct NamedValue {
  const char* name;
  E value;
};

template <typename E>
using EnumNames = std::vector<NamedValue<E>>;

/// The name of `value` in its enum's table (NamesOf(E)); "unknown" for a value without one.
template <typename E>
const char* EnumName(E value) {
  for (const NamedValue<E>& entry : NamesOf(value)) {
    if (entry.value == value) return entry.name;
  }
  return "unknown";
}

/// The value named `name` (exactly), if any.
template <typename E>
std::optional<E> EnumFromName(std::string_view name) {
  for (const NamedValue<E>& entry : NamesOf(E{})) {
    if (name == entry.name) return entry.value;
  }
  return std::nullopt;
}

/// "a, b or c" (`last` between the last two names; ", " with last = ", ").
template <typename E>
std::string EnumNameList(const char* last = " or ") {
  const EnumNames<E>& names = NamesOf(E{});
  std::string words;
  for (std::size_t i = 0; i < names.size(); ++i) {
    words += (i == 0 ? "" : i + 1 == names.size() ? last : ", ") + std::string(names[i].name);
  }
  return words;
}

}  // namespace descpipe
