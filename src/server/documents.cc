#include "server/documents.h"

#include <toml++/toml.h>
#include <yaml-cpp/yaml.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <sstream>
#include <stdexcept>

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

// What a YAML document may expand to. Aliases share nodes, so a few hundred bytes of anchors can
// stand for gigabytes of JSON ("billion laughs"), and an anchor may even contain its own alias;
// both are refused rather than expanded (found by fuzz/documents_fuzz).
constexpr int kYamlMaxDepth = 128;
constexpr size_t kYamlMaxExpandedBytes = size_t{4} << 20;  // 4x the largest workflow document

struct YamlBudget {
  size_t bytes = 0;  // scalars and keys expanded so far, plus 8 per node

  void Spend(size_t n) {
    bytes += n + 8;
    if (bytes > kYamlMaxExpandedBytes) {
      throw std::length_error("the document expands to more than " +
                              std::to_string(kYamlMaxExpandedBytes >> 20) +
                              " MiB of JSON (through its aliases?)");
    }
  }
};

json::value FromYaml(const YAML::Node& node, YamlBudget& budget, int depth) {
  if (depth > kYamlMaxDepth) {
    throw std::length_error("the document nests deeper than " + std::to_string(kYamlMaxDepth) +
                            " levels (or an anchor holds its own alias)");
  }
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      budget.Spend(0);
      json::object o;
      for (const auto& kv : node) {
        auto key = kv.first.as<std::string>();
        budget.Spend(key.size());
        o[key] = FromYaml(kv.second, budget, depth + 1);
      }
      return o;
    }
    case YAML::NodeType::Sequence: {
      budget.Spend(0);
      json::array a;
      for (const auto& item : node) a.push_back(FromYaml(item, budget, depth + 1));
      return a;
    }
    case YAML::NodeType::Scalar:
      budget.Spend(node.Scalar().size());
      return Scalar(node);
    default:
      budget.Spend(0);
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
        YamlBudget budget;
        return json::serialize(FromYaml(YAML::Load(std::string(text)), budget, 0));
      } catch (const YAML::Exception& e) {
        return InvalidArgument("YAML, line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
      } catch (const std::length_error& e) {
        return InvalidArgument(std::string("YAML: ") + e.what());
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
