#include "server/multipart.h"

#include <cctype>
#include <string>

namespace baton::server {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// `text` is "value; key=v; key2="quoted v"": calls `on_param` for each key and value (unquoted;
// a quoted value keeps its backslash escapes undone). The first item is returned.
template <typename F>
Result<std::string_view> SplitParams(std::string_view text, std::string_view what, F on_param) {
  const size_t semi = text.find(';');
  std::string_view first = Trim(text.substr(0, semi));
  std::string_view rest = semi == std::string_view::npos ? "" : text.substr(semi + 1);
  while (!Trim(rest).empty()) {
    rest = Trim(rest);
    const size_t eq = rest.find('=');
    if (eq == std::string_view::npos) {
      return InvalidArgument(std::string(what) + ": a parameter without \"=\"");
    }
    std::string_view key = Trim(rest.substr(0, eq));
    rest.remove_prefix(eq + 1);
    rest = Trim(rest);
    std::string_view value;
    if (!rest.empty() && rest.front() == '"') {
      // Quoted: up to the next quote that is not escaped. Browsers escape '"' as %22 and do not
      // use backslashes; a backslash-escaped quote is accepted and kept as is.
      size_t end = 1;
      while (end < rest.size() && rest[end] != '"') end += rest[end] == '\\' ? 2 : 1;
      if (end >= rest.size()) return InvalidArgument(std::string(what) + ": an unclosed quote");
      value = rest.substr(1, end - 1);
      rest.remove_prefix(end + 1);
      rest = Trim(rest);
      if (!rest.empty() && rest.front() != ';') {
        return InvalidArgument(std::string(what) + ": text after a quoted value");
      }
    } else {
      const size_t next = rest.find(';');
      value = Trim(rest.substr(0, next));
      rest = next == std::string_view::npos ? "" : rest.substr(next);
    }
    if (!rest.empty()) rest.remove_prefix(1);  // the ';'
    on_param(key, value);
  }
  return first;
}

}  // namespace

Result<std::string_view> MultipartBoundary(std::string_view content_type) {
  std::string_view boundary;
  Result<std::string_view> type =
      SplitParams(content_type, "Content-Type", [&](std::string_view key, std::string_view value) {
        if (IEquals(key, "boundary")) boundary = value;
      });
  if (!type.ok()) return type.status();
  if (!IEquals(*type, "multipart/form-data")) {
    return InvalidArgument("Content-Type: expected multipart/form-data, got \"" +
                           std::string(*type) + "\"");
  }
  if (boundary.empty() || boundary.size() > 70) {
    return InvalidArgument("Content-Type: multipart/form-data needs a boundary of 1 to 70 chars");
  }
  return boundary;
}

Result<std::vector<MultipartPart>> ParseMultipart(std::string_view content_type,
                                                  std::string_view body, size_t parts_max) {
  Result<std::string_view> boundary = MultipartBoundary(content_type);
  if (!boundary.ok()) return boundary.status();
  const std::string delimiter = "--" + std::string(*boundary);
  const std::string next_delimiter = "\r\n" + delimiter;
  const Status truncated = InvalidArgument("multipart body: ends before its closing boundary");

  // The preamble (usually empty) ends at the first delimiter.
  size_t pos;
  if (body.substr(0, delimiter.size()) == delimiter) {
    pos = delimiter.size();
  } else {
    pos = body.find(next_delimiter);
    if (pos == std::string_view::npos) {
      return InvalidArgument("multipart body: the boundary from Content-Type never appears");
    }
    pos += next_delimiter.size();
  }
  std::vector<MultipartPart> parts;
  while (true) {
    // After a delimiter: "--" closes the body, CRLF starts a part.
    if (body.substr(pos, 2) == "--") return parts;
    if (body.substr(pos, 2) != "\r\n") return truncated;
    pos += 2;
    if (parts.size() == parts_max) {
      return InvalidArgument("multipart body: more than " + std::to_string(parts_max) + " parts");
    }
    const std::string which = "multipart part " + std::to_string(parts.size() + 1);
    const size_t data_end_probe = body.find(next_delimiter, pos);
    // The headers end at an empty line; a part without one (or with no headers) is malformed.
    const size_t headers_end = body.substr(pos, 2) == "\r\n" ? pos : body.find("\r\n\r\n", pos);
    if (headers_end == std::string_view::npos ||
        (data_end_probe != std::string_view::npos && headers_end > data_end_probe)) {
      return InvalidArgument(which + ": headers without the empty line that ends them");
    }
    std::string_view headers = body.substr(pos, headers_end - pos);
    const size_t data_start = headers_end + (headers_end == pos ? 2 : 4);
    MultipartPart part;
    bool disposition = false;
    while (!headers.empty()) {
      const size_t eol = headers.find("\r\n");
      std::string_view line = headers.substr(0, eol);
      headers = eol == std::string_view::npos ? "" : headers.substr(eol + 2);
      const size_t colon = line.find(':');
      if (colon == std::string_view::npos) {
        return InvalidArgument(which + ": a header line without \":\"");
      }
      if (!IEquals(Trim(line.substr(0, colon)), "Content-Disposition")) continue;
      disposition = true;
      bool has_name = false;
      Result<std::string_view> kind =
          SplitParams(line.substr(colon + 1), "Content-Disposition",
                      [&](std::string_view key, std::string_view value) {
                        if (IEquals(key, "name")) {
                          part.name = value;
                          has_name = true;
                        } else if (IEquals(key, "filename")) {
                          part.filename = value;
                          part.is_file = true;
                        }
                      });
      if (!kind.ok()) return kind.status();
      if (!IEquals(*kind, "form-data") || !has_name) {
        return InvalidArgument(which + ": Content-Disposition must be form-data with a name");
      }
    }
    if (!disposition) return InvalidArgument(which + ": no Content-Disposition header");
    const size_t data_end = body.find(next_delimiter, data_start);
    if (data_end == std::string_view::npos) return truncated;
    part.data = body.substr(data_start, data_end - data_start);
    parts.push_back(part);
    pos = data_end + next_delimiter.size();
  }
}

}  // namespace baton::server
