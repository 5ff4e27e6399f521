#include "server/documents.h"

#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <sstream>

#include "common/json.h"

namespace baton::server {

namespace json = boost::json;

namespace {

// An unquoted YAML scalar: its JSON kind by YAML 1.2's core schema.
json::value Scalar(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return json::string(s);  // quoted
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  int64_t i = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
  if (ec == std::errc() && end == s.data() + s.size()) return i;
  if (s.find_first_of("0123456789") != std::string::npos &&
      s.find_first_not_of("0123456789+-.eE") == std::string::npos) {
    double d = 0;
    auto [dend, dec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (dec == std::errc() && dend == s.data() + s.size()) return d;
  }
  return json::string(s);
}

json::value FromYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json::object o;
      for (const auto& kv : node) o[kv.first.as<std::string>()] = FromYaml(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      json::array a;
      for (const auto& item : node) a.push_back(FromYaml(item));
      return a;
    }
    case YAML::NodeType::Scalar:
      return Scalar(node);
    default:
      return nullptr;
  }
}

json::value FromToml(const toml::node& node) {
  if (const toml::table* t = node.as_table()) {
    json::object o;
    for (const auto& [key, value] : *t) o[std::string(key.str())] = FromToml(value);
    return o;
  }
  if (const toml::array* a = node.as_array()) {
    json::array out;
    for (const toml::node& item : *a) out.push_back(FromToml(item));
    return out;
  }
  if (auto v = node.value<std::string>(); v && node.is_string()) return json::string(*v);
  if (node.is_integer()) return node.value<int64_t>().value_or(0);
  if (node.is_floating_point()) return node.value<double>().value_or(0);
  if (node.is_boolean()) return node.value<bool>().value_or(false);
  // Dates and times: as TOML writes them, which is RFC 3339.
  std::ostringstream text;
  node.visit([&text](const auto& n) {
    if constexpr (toml::is_date<decltype(n)> || toml::is_time<decltype(n)> ||
                  toml::is_date_time<decltype(n)>) {
      text << n;
    }
  });
  return json::string(text.str());
}

}  // namespace

DocumentFormat FormatOfPath(std::string_view path) {
  if (path.ends_with(".yaml") || path.ends_with(".yml")) return DocumentFormat::kYaml;
  if (path.ends_with(".toml")) return DocumentFormat::kToml;
  return DocumentFormat::kJson;
}

DocumentFormat FormatOfContentType(std::string_view content_type) {
  const std::string_view type = content_type.substr(0, content_type.find(';'));
  for (std::string_view yaml : {"application/yaml", "application/x-yaml", "text/yaml"}) {
    if (boost::iequals(type, yaml)) return DocumentFormat::kYaml;
  }
  if (boost::iequals(type, "application/toml")) return DocumentFormat::kToml;
  return DocumentFormat::kJson;
}

Result<std::string> DocumentToJson(std::string_view text, DocumentFormat format) {
  if (const size_t bad = baton::json::InvalidUtf8At(text); bad != std::string_view::npos) {
    return InvalidArgument("the document is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  }
  switch (format) {
    case DocumentFormat::kJson:
      return std::string(text);
    case DocumentFormat::kYaml:
      // yaml-cpp reads NUL bytes as the sign of UTF-16 or UTF-32 text and decodes it so, into
      // strings that are not UTF-8 (found by fuzz/documents_fuzz). YAML has no raw NUL.
      if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
        return InvalidArgument("YAML: a NUL byte at byte " + std::to_string(nul));
      }
      try {
        return json::serialize(FromYaml(YAML::Load(std::string(text))));
      } catch (const YAML::Exception& e) {
        return InvalidArgument("YAML, line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
      }
    case DocumentFormat::kToml:
      try {
        return json::serialize(FromToml(toml::parse(text)));
      } catch (const toml::parse_error& e) {
        return InvalidArgument("TOML, line " + std::to_string(e.source().begin.line) + ": " +
                               std::string(e.description()));
      }
  }
  return InvalidArgument("unknown document format");
}

}  // namespace baton::server
