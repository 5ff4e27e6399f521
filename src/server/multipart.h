// multipart/form-data (RFC 7578) request bodies: what `curl -F` and browsers send to upload files.
// The parts are views into the body, which must outlive them.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"

namespace baton::server {

struct MultipartPart {
  std::string_view name;      // the form field
  std::string_view filename;  // a file part's file name as sent; empty for a plain field
  bool is_file = false;       // the part named a filename (even an empty one)
  std::string_view data;
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type; an error for any other type.
Result<std::string_view> MultipartBoundary(std::string_view content_type);

// Splits `body` into its parts. At most `parts_max` parts; every malformation is an
// InvalidArgument that says what was wrong.
Result<std::vector<MultipartPart>> ParseMultipart(std::string_view content_type,
                                                  std::string_view body, size_t parts_max);

}  // namespace baton::server
