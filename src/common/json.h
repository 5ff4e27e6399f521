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

// The offset of the first byte that breaks UTF-8 (RFC 3629: no overlong forms, no surrogates,
// nothing past U+10FFFF), or npos. JSON text must be UTF-8: Boost.JSON's parser refuses anything
// else, and its serializer copies such bytes through, making text no parser reads back.
size_t InvalidUtf8At(std::string_view s);

// `s` with each byte that breaks UTF-8 replaced by U+FFFD, for text that echoes outside input
// (an error message quoting a header or a file name) into JSON.
std::string ValidUtf8(std::string_view s);

}  // namespace baton::json
