#include "server/job_types.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include "server/documents.h"
#include "server/job_json.h"

namespace baton::server {

namespace json = boost::json;

namespace {

const char* KindName(ParamKind k) {
  switch (k) {
    case ParamKind::kString:
      return "string";
    case ParamKind::kBoolean:
      return "boolean";
    case ParamKind::kInteger:
      return "integer";
    case ParamKind::kFloat:
      return "float";
    case ParamKind::kDatetime:
      return "datetime";
    case ParamKind::kDuration:
      return "duration";
  }
  return "?";
}

std::optional<ParamKind> ParseKind(std::string_view s) {
  for (ParamKind k : {ParamKind::kString, ParamKind::kBoolean, ParamKind::kInteger,
                      ParamKind::kFloat, ParamKind::kDatetime, ParamKind::kDuration}) {
    if (s == KindName(k)) return k;
  }
  return std::nullopt;
}

std::string Show(const json::value& v) {
  std::string s;
  if (v.is_double()) {
    std::ostringstream out;  // 1.5, not Boost.JSON's 1.5E0
    out << v.as_double();
    s = out.str();
  } else {
    s = json::serialize(v);
  }
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

// `v` as a value of `kind`, in comparable form (numbers as they are, times in ms); an error
// text if it is not one.
std::optional<double> Comparable(ParamKind kind, const json::value& v, std::string* why) {
  switch (kind) {
    case ParamKind::kInteger:
      if (v.is_int64()) return static_cast<double>(v.as_int64());
      if (v.is_uint64()) return static_cast<double>(v.as_uint64());
      if (v.is_double() && std::trunc(v.as_double()) == v.as_double()) return v.as_double();
      *why = "must be an integer, got " + Show(v);
      return std::nullopt;
    case ParamKind::kFloat:
      if (v.is_number()) return v.to_number<double>();
      *why = "must be a number, got " + Show(v);
      return std::nullopt;
    case ParamKind::kDatetime:
      if (v.is_string()) {
        if (auto ms = ParseDatetimeMs(v.as_string())) return static_cast<double>(*ms);
      }
      *why = "must be a date and time like \"2026-11-23T10:00:00Z\", got " + Show(v);
      return std::nullopt;
    case ParamKind::kDuration:
      if (v.is_int64() && v.as_int64() >= 0) return static_cast<double>(v.as_int64());
      if (v.is_uint64()) return static_cast<double>(v.as_uint64());
      if (v.is_string()) {
        if (auto ms = ParseDurationMs(v.as_string())) return static_cast<double>(*ms);
      }
      *why =
          "must be a duration like \"90s\", \"5m\" or \"1h30m\" (or milliseconds), got " + Show(v);
      return std::nullopt;
    case ParamKind::kString:
      if (v.is_string()) return 0.0;
      *why = "must be a string, got " + Show(v);
      return std::nullopt;
    case ParamKind::kBoolean:
      if (v.is_bool()) return v.as_bool() ? 1.0 : 0.0;
      *why = "must be true or false, got " + Show(v);
      return std::nullopt;
  }
  return std::nullopt;
}

bool Compare(double a, const std::string& op, double b) {
  if (op == "<") return a < b;
  if (op == "<=") return a <= b;
  if (op == ">") return a > b;
  if (op == ">=") return a >= b;
  if (op == "==") return a == b;
  return a != b;
}

std::string Bound(ParamKind kind, const json::value& written, double value) {
  if (kind == ParamKind::kDatetime || kind == ParamKind::kDuration) return Show(written);
  std::ostringstream s;
  s << value;
  return s.str();
}

Result<ParamSpec> ParseParam(const std::string& name, const json::value& v,
                             const std::string& path) {
  if (!v.is_object()) return InvalidArgument(path + ": must be an object with a \"type\"");
  ParamSpec p;
  p.name = name;
  const json::object& o = v.as_object();
  const json::value* type = o.if_contains("type");
  std::optional<ParamKind> kind;
  if (type && type->is_string()) kind = ParseKind(type->as_string());
  if (!kind) {
    return InvalidArgument(path +
                           ".type: must be string, boolean, integer, float, datetime or duration");
  }
  p.kind = *kind;
  for (const auto& [key, value] : o) {
    const std::string field = path + "." + std::string(key);
    std::string why;
    if (key == "type") continue;
    if (key == "description") {
      if (!value.is_string()) return InvalidArgument(field + ": must be a string");
      p.description = std::string(value.as_string());
    } else if (key == "required") {
      if (!value.is_bool()) return InvalidArgument(field + ": must be true or false");
      p.required = value.as_bool();
    } else if (key == "default") {
      if (!Comparable(p.kind, value, &why)) return InvalidArgument(field + ": " + why);
      p.default_value = value;
    } else if (key == "min" || key == "max") {
      if (p.kind == ParamKind::kString || p.kind == ParamKind::kBoolean) {
        return InvalidArgument(field + ": only numbers, datetimes and durations have bounds");
      }
      std::optional<double> bound = Comparable(p.kind, value, &why);
      if (!bound) return InvalidArgument(field + ": " + why);
      (key == "min" ? p.min : p.max) = bound;
    } else if (key == "enum") {
      if (!value.is_array() || value.as_array().empty()) {
        return InvalidArgument(field + ": must be a non-empty array");
      }
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        if (!Comparable(p.kind, value.as_array()[i], &why)) {
          return InvalidArgument(field + "[" + std::to_string(i) + "]: " + why);
        }
        p.allowed.push_back(value.as_array()[i]);
      }
    } else {
      return InvalidArgument(field +
                             ": unknown field (known: type, description, default, required, min, "
                             "max, enum)");
    }
  }
  if (p.min && p.max && *p.min > *p.max) return InvalidArgument(path + ": min is above max");
  if (p.default_value) p.required = false;
  return p;
}

Result<JobType> ParseType(const json::value& v, const std::string& path) {
  if (!v.is_object()) return InvalidArgument(path + ": must be an object");
  JobType t;
  t.source = v.as_object();
  for (const auto& entry : v.as_object()) {
    // Not a structured binding: lambdas below refer to it (clang 14 cannot capture bindings).
    const std::string_view key = entry.key();
    const json::value& value = entry.value();
    const std::string field = path + "." + std::string(key);
    auto text = [&](std::string* out) -> Status {
      if (!value.is_string()) return InvalidArgument(field + ": must be a string");
      *out = std::string(value.as_string());
      return Status::Ok();
    };
    if (key == "name") {
      BATON_RETURN_IF_ERROR(text(&t.name));
    } else if (key == "description") {
      BATON_RETURN_IF_ERROR(text(&t.description));
    } else if (key == "version") {
      BATON_RETURN_IF_ERROR(text(&t.version));
    } else if (key == "aggregator") {
      BATON_RETURN_IF_ERROR(text(&t.aggregator));
    } else if (key == "verifier") {
      BATON_RETURN_IF_ERROR(text(&t.verifier));
    } else if (key == "splitter") {
      BATON_RETURN_IF_ERROR(text(&t.splitter));
    } else if (key == "retry") {
      Result<engine::RetryPolicy> r = engine::ParseRetry(value, field);
      if (!r.ok()) return r.status();
      t.retry = *r;
    } else if (key == "children_policy") {
      Result<engine::ChildrenPolicy> p = engine::ParseChildrenPolicyJson(value, field);
      if (!p.ok()) return p.status();
      t.children_policy = *p;
    } else if (key == "timeout_ms" || key == "attempts_max") {
      if (!value.is_int64() || value.as_int64() <= 0) {
        return InvalidArgument(field + ": must be a positive integer");
      }
      if (key == "timeout_ms") {
        t.timeout_ms = value.as_int64();
      } else {
        t.attempts_max = static_cast<uint32_t>(std::min<int64_t>(value.as_int64(), 1 << 20));
      }
    } else if (key == "resources") {
      Result<engine::Resources> r = engine::ParseResourcesJson(value, field);
      if (!r.ok()) return r.status();
      t.resources = std::move(*r);
    } else if (key == "parameters") {
      if (!value.is_object()) return InvalidArgument(field + ": must be an object");
      for (const auto& [name, spec] : value.as_object()) {
        Result<ParamSpec> p = ParseParam(std::string(name), spec, field + "." + std::string(name));
        if (!p.ok()) return p.status();
        t.params.push_back(std::move(*p));
      }
    } else if (key == "constraints") {
      if (!value.is_array()) return InvalidArgument(field + ": must be an array of strings");
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        const json::value& c = value.as_array()[i];
        const std::string at = field + "[" + std::to_string(i) + "]";
        if (!c.is_string()) return InvalidArgument(at + ": must be a string like \"end > start\"");
        std::istringstream words{std::string(c.as_string())};
        Constraint k;
        std::string extra;
        words >> k.left >> k.op >> k.right;
        k.text = std::string(c.as_string());
        const bool op_ok = k.op == "<" || k.op == "<=" || k.op == ">" || k.op == ">=" ||
                           k.op == "==" || k.op == "!=";
        if (k.right.empty() || !op_ok || (words >> extra)) {
          return InvalidArgument(at +
                                 ": must be \"PARAM OP PARAM\" with OP one of < <= > >= == !=");
        }
        t.constraints.push_back(std::move(k));
      }
    } else {
      return InvalidArgument(field +
                             ": unknown field (known: name, description, version, parameters, "
                             "constraints, timeout_ms, attempts_max, resources, aggregator, "
                             "verifier, splitter, children_policy, retry)");
    }
  }
  if (t.name.empty()) return InvalidArgument(path + ".name: required");
  for (size_t i = 0; i < t.constraints.size(); ++i) {
    const Constraint& c = t.constraints[i];
    const ParamSpec *l = nullptr, *r = nullptr;
    for (const ParamSpec& p : t.params) {
      if (p.name == c.left) l = &p;
      if (p.name == c.right) r = &p;
    }
    const std::string at = path + ".constraints[" + std::to_string(i) + "]";
    if (!l || !r) {
      return InvalidArgument(at + ": \"" + (l ? c.right : c.left) + "\" is not a parameter");
    }
    if (l->kind != r->kind && !((l->kind == ParamKind::kInteger || l->kind == ParamKind::kFloat) &&
                                (r->kind == ParamKind::kInteger || r->kind == ParamKind::kFloat))) {
      return InvalidArgument(at + ": compares a " + KindName(l->kind) + " with a " +
                             KindName(r->kind));
    }
    if (l->kind == ParamKind::kString || l->kind == ParamKind::kBoolean) {
      if (c.op != "==" && c.op != "!=") {
        return InvalidArgument(at + ": " + KindName(l->kind) + "s compare only with == and !=");
      }
    }
  }
  return t;
}

}  // namespace

Result<TypeRegistry> TypeRegistry::Parse(std::string_view document) {
  boost::system::error_code ec;
  json::value v = json::parse(document, ec);
  if (ec) return InvalidArgument("types: not JSON: " + ec.message());
  if (!v.is_object() || !v.as_object().contains("types") || !v.at("types").is_array()) {
    return InvalidArgument(R"(types: must be {"types": [ ... ]})");
  }
  if (v.as_object().size() != 1) return InvalidArgument(R"(types: only "types" at the top)");
  TypeRegistry r;
  const json::array& list = v.at("types").as_array();
  for (size_t i = 0; i < list.size(); ++i) {
    Result<JobType> t = ParseType(list[i], "types[" + std::to_string(i) + "]");
    if (!t.ok()) return t.status();
    const std::string name = t->name;
    if (!r.types_.emplace(name, std::move(*t)).second) {
      return InvalidArgument("types[" + std::to_string(i) + "].name: \"" + name +
                             "\" is declared twice");
    }
  }
  return r;
}

Result<TypeRegistry> TypeRegistry::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("--types " + path + ": cannot read it");
  std::stringstream s;
  s << in.rdbuf();
  // A .toml file is read as TOML: [[types]] tables, the same fields.
  Result<std::string> text = DocumentToJson(s.str(), FormatOfPath(path));
  if (!text.ok()) return text.status().WithContext("--types " + path);
  Result<TypeRegistry> r = Parse(*text);
  if (!r.ok()) return r.status().WithContext("--types " + path);
  return r;
}

std::unordered_map<std::string, engine::TypeDefaults> TypeRegistry::EngineDefaults() const {
  std::unordered_map<std::string, engine::TypeDefaults> out;
  for (const auto& [name, t] : types_) {
    engine::TypeDefaults& d = out[name];
    d.timeout_ms = t.timeout_ms;
    d.attempts_max = t.attempts_max;
    d.retry = t.retry;
    d.splitter = t.splitter;
    d.aggregator = t.aggregator;
    d.verifier = t.verifier;
    d.children_policy = t.children_policy;
    d.resources = t.resources;
  }
  return out;
}

const JobType* TypeRegistry::Find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

Status TypeRegistry::Check(const JobType& type, json::object& payload, const std::string& path) {
  std::vector<std::string> problems;
  for (const auto& [key, value] : payload) {
    bool known = false;
    for (const ParamSpec& p : type.params) known |= p.name == key;
    if (!known)
      problems.push_back(path + "." + std::string(key) + ": not a parameter of " + type.name);
  }
  std::map<std::string, double> values;
  for (const ParamSpec& p : type.params) {
    const std::string field = path + "." + p.name;
    json::value* v = payload.if_contains(p.name);
    if (v == nullptr) {
      if (p.default_value) {
        payload[p.name] = *p.default_value;
        v = payload.if_contains(p.name);
      } else {
        if (p.required) problems.push_back(field + ": required (" + KindName(p.kind) + ")");
        continue;
      }
    }
    std::string why;
    std::optional<double> c = Comparable(p.kind, *v, &why);
    if (!c) {
      problems.push_back(field + ": " + why);
      continue;
    }
    if (p.min && *c < *p.min) {
      problems.push_back(field + ": must be at least " +
                         Bound(p.kind, type.source.at("parameters").at(p.name).at("min"), *p.min) +
                         ", got " + Show(*v));
      continue;
    }
    if (p.max && *c > *p.max) {
      problems.push_back(field + ": must be at most " +
                         Bound(p.kind, type.source.at("parameters").at(p.name).at("max"), *p.max) +
                         ", got " + Show(*v));
      continue;
    }
    if (!p.allowed.empty()) {
      bool listed = false;
      for (const json::value& a : p.allowed) {
        std::string ignored;
        listed |= a == *v || (p.kind != ParamKind::kString && Comparable(p.kind, a, &ignored) == c);
      }
      if (!listed) {
        json::array all(p.allowed.begin(), p.allowed.end());
        problems.push_back(field + ": must be one of " + json::serialize(all) + ", got " +
                           Show(*v));
        continue;
      }
    }
    values[p.name] = *c;
  }
  for (const Constraint& c : type.constraints) {
    auto l = values.find(c.left), r = values.find(c.right);
    if (l == values.end() || r == values.end()) continue;
    const ParamSpec* spec = nullptr;
    for (const ParamSpec& p : type.params) {
      if (p.name == c.left) spec = &p;
    }
    BATON_CHECK(spec != nullptr);  // Parse refuses a constraint on an undeclared parameter
    bool holds;
    if (spec->kind == ParamKind::kString) {
      const bool same = payload.at(c.left) == payload.at(c.right);
      holds = c.op == "==" ? same : !same;
    } else {
      holds = Compare(l->second, c.op, r->second);
    }
    if (!holds) {
      problems.push_back(path + ": " + c.text + " does not hold (" + c.left + " = " +
                         Show(payload.at(c.left)) + ", " + c.right + " = " +
                         Show(payload.at(c.right)) + ")");
    }
  }
  if (problems.empty()) return Status::Ok();
  std::string message = problems.size() == 1
                            ? problems.front()
                            : std::to_string(problems.size()) + " problems: " + problems.front();
  for (size_t i = 1; i < problems.size(); ++i) message += "; " + problems[i];
  return InvalidArgument(message);
}

Status TypeRegistry::Apply(std::vector<engine::JobSpec>& specs, bool batch) const {
  for (size_t i = 0; i < specs.size(); ++i) {
    engine::JobSpec& spec = specs[i];
    const std::string at = batch ? "[" + std::to_string(i) + "]." : "";
    const JobType* type = Find(spec.type);
    if (type == nullptr) {
      if (strict_) {
        return InvalidArgument(at + "type: \"" + spec.type +
                               "\" is not declared (the server runs with --strict-types; "
                               "GET /v1/types lists the declared ones)");
      }
      continue;
    }
    boost::system::error_code ec;
    boost::json::value payload = boost::json::parse(spec.payload, ec);
    if (ec || !payload.is_object()) {
      return InvalidArgument(at + "payload: must be an object for type " + spec.type);
    }
    BATON_RETURN_IF_ERROR(Check(*type, payload.as_object(), at + "payload"));
    spec.payload = boost::json::serialize(payload);
  }
  return Status::Ok();
}

}  // namespace baton::server
