// JSON helpers shared by the store and the API, built on Boost.JSON. Thread rules: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace baton::json {

// ["a","b"] from a list of strings.
std::string EncodeStringArray(const std::vector<std::string>& items);

// The inverse of EncodeStringArray; anything else is an InvalidArgument naming `field`.
Result<std::vector<std::string>> DecodeStringArray(std::string_view text, std::string_view field);

}  // namespace baton::json
