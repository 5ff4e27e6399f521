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

}  // namespace baton::json
