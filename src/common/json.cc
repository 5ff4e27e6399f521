#include "common/json.h"

#include <boost/json.hpp>

namespace baton::json {

std::string EncodeStringArray(const std::vector<std::string>& items) {
  boost::json::array array;
  array.reserve(items.size());
  for (const auto& item : items) array.emplace_back(item);
  return boost::json::serialize(array);
}

Result<std::vector<std::string>> DecodeStringArray(std::string_view text, std::string_view field) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  if (ec) return InvalidArgument(std::string(field) + ": not JSON: " + ec.message());
  if (!value.is_array()) return InvalidArgument(std::string(field) + ": must be an array");
  std::vector<std::string> out;
  out.reserve(value.as_array().size());
  for (const auto& item : value.as_array()) {
    if (!item.is_string()) {
      return InvalidArgument(std::string(field) + ": every element must be a string");
    }
    out.emplace_back(item.as_string());
  }
  return out;
}

size_t InvalidUtf8At(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return i;
    }
    if (i + n >= s.size()) return i;  // cut short
    for (size_t k = 1; k <= n; ++k) {
      const auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return i;
    }
    i += n + 1;
  }
  return std::string_view::npos;
}

std::string ValidUtf8(std::string_view s) {
  std::string out;
  while (!s.empty()) {
    const size_t bad = InvalidUtf8At(s);
    out.append(s.substr(0, bad));
    if (bad == std::string_view::npos) break;
    out.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
    s.remove_prefix(bad + 1);
  }
  return out;
}

}  // namespace baton::json
