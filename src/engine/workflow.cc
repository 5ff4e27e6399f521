#include "engine/workflow.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <utility>

#include "engine/spec_json.h"

namespace baton::engine {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 7> kStepStateNames = {
    "waiting", "running", "succeeded", "failed", "skipped", "cancelled", "partial"};
constexpr std::array<std::string_view, 6> kWorkflowStateNames = {
    "running", "succeeded", "optional_failed", "failed", "cancelled", "partial"};

template <typename E, size_t N>
std::optional<E> ByName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

bool ValidStepName(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// A reference: steps.NAME.result[.KEY...] | steps.NAME.status | steps.NAME.job |
// steps.NAME.files.FILE.
struct Ref {
  std::string step;
  enum Field { kResult, kStatus, kJob, kFile } field = kResult;
  std::vector<std::string> keys;  // kResult: the path into the result; kFile: the file name
};

std::optional<Ref> ParseRef(std::string_view text) {
  constexpr std::string_view kSteps = "steps.";
  if (!text.starts_with(kSteps)) return std::nullopt;
  text.remove_prefix(kSteps.size());
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  Ref r;
  r.step = std::string(text.substr(0, dot));
  if (!ValidStepName(r.step)) return std::nullopt;
  std::string_view rest = text.substr(dot + 1);
  if (rest == "status") {
    r.field = Ref::kStatus;
    return r;
  }
  if (rest == "job") {
    r.field = Ref::kJob;
    return r;
  }
  if (rest.starts_with("files.") && rest.size() > 6) {
    r.field = Ref::kFile;
    r.keys.emplace_back(rest.substr(6));
    return r;
  }
  if (rest != "result" && !rest.starts_with("result.")) return std::nullopt;
  rest.remove_prefix(6);
  while (!rest.empty()) {
    rest.remove_prefix(1);  // the '.'
    const size_t next = rest.find('.');
    std::string_view key = rest.substr(0, next);
    if (key.empty()) return std::nullopt;
    r.keys.emplace_back(key);
    rest = next == std::string_view::npos ? std::string_view() : rest.substr(next);
  }
  return r;
}

constexpr const char* kRefForms =
    "must be steps.NAME.result[.KEY...], steps.NAME.status, steps.NAME.job or "
    "steps.NAME.files.FILE";

// The value a reference names, or null.
json::value Resolve(const Ref& r, const StepLookup& steps) {
  const StepView* v = steps(r.step);
  if (v == nullptr) return nullptr;
  switch (r.field) {
    case Ref::kStatus:
      return json::string(StepStateName(v->state));
    case Ref::kJob:
      return v->job_id == 0 ? json::value(nullptr) : json::value(v->job_id);
    case Ref::kFile:
      return v->job_id == 0 ? json::value(nullptr)
                            : json::value("/v1/jobs/" + std::to_string(v->job_id) + "/files/" +
                                          r.keys.front());
    case Ref::kResult:
      break;
  }
  if (v->state != StepState::kSucceeded || v->result == nullptr || v->result->empty()) {
    return nullptr;
  }
  boost::system::error_code ec;
  json::value value = json::parse(*v->result, ec);
  if (ec) return nullptr;
  const json::value* at = &value;
  for (const std::string& key : r.keys) {
    if (at->is_object() && at->as_object().contains(key)) {
      at = &at->as_object().at(key);
    } else if (at->is_array() && !key.empty() &&
               std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
               std::stoull(key) < at->as_array().size()) {
      at = &at->as_array().at(std::stoull(key));
    } else {
      return nullptr;
    }
  }
  return *at;
}

// Calls `each(ref text, path)` for every ${...} in the strings of `v`; stops at the first error.
Status ForEachRef(const json::value& v, const std::string& path,
                  const std::function<Status(std::string_view, const std::string&)>& each) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    size_t at = 0;
    while ((at = s.find("${", at)) != std::string_view::npos) {
      const size_t end = s.find('}', at);
      if (end == std::string_view::npos) {
        return InvalidArgument(path + ": a ${ without its closing }");
      }
      BATON_RETURN_IF_ERROR(each(s.substr(at + 2, end - at - 2), path));
      at = end + 1;
    }
  } else if (v.is_object()) {
    for (const auto& [key, value] : v.as_object()) {
      BATON_RETURN_IF_ERROR(ForEachRef(value, path + "." + std::string(key), each));
    }
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.as_array().size(); ++i) {
      BATON_RETURN_IF_ERROR(ForEachRef(v.as_array()[i], Indexed(path, i), each));
    }
  }
  return Status::Ok();
}

json::value Fill(const json::value& v, const StepLookup& steps) {
  if (v.is_string()) {
    std::string_view s = v.as_string();
    if (s.find("${") == std::string_view::npos) return v;
    // A string that is one reference and nothing else takes the value itself.
    if (s.starts_with("${") && s.find('}') == s.size() - 1) {
      std::optional<Ref> r = ParseRef(s.substr(2, s.size() - 3));
      return r ? Resolve(*r, steps) : json::value(nullptr);
    }
    std::string out;
    size_t at = 0;
    for (;;) {
      const size_t open = s.find("${", at);
      if (open == std::string_view::npos) break;
      const size_t close = s.find('}', open);
      if (close == std::string_view::npos) break;
      out += s.substr(at, open - at);
      std::optional<Ref> r = ParseRef(s.substr(open + 2, close - open - 2));
      json::value value = r ? Resolve(*r, steps) : json::value(nullptr);
      if (value.is_string()) {
        out += value.as_string();
      } else if (!value.is_null()) {
        out += json::serialize(value);
      }
      at = close + 1;
    }
    out += s.substr(at);
    return json::string(out);
  }
  if (v.is_object()) {
    json::object o;
    for (const auto& [key, value] : v.as_object()) o[key] = Fill(value, steps);
    return o;
  }
  if (v.is_array()) {
    json::array a;
    for (const json::value& item : v.as_array()) a.push_back(Fill(item, steps));
    return a;
  }
  return v;
}

}  // namespace

std::string_view StepStateName(StepState s) { return kStepStateNames[static_cast<size_t>(s)]; }
std::optional<StepState> ParseStepState(std::string_view name) {
  return ByName<StepState>(kStepStateNames, name);
}
std::string_view WorkflowStateName(WorkflowState s) {
  return kWorkflowStateNames[static_cast<size_t>(s)];
}
std::optional<WorkflowState> ParseWorkflowState(std::string_view name) {
  if (name == "warning") return WorkflowState::kOptionalFailed;  // its name before issue 17
  return ByName<WorkflowState>(kWorkflowStateNames, name);
}

std::string_view StepReadName(const StepStatus& st) {
  if (st.state == StepState::kSucceeded && st.warning) return "optional_failed";
  return StepStateName(st.state);
}

WorkflowState ReadState(const WorkflowPlan& plan, const WorkflowStatus& status) {
  if (IsTerminal(status.state)) return status.state;
  bool optional_running = false;
  for (size_t i = 0; i < status.steps.size() && i < plan.steps.size(); ++i) {
    const StepPlan& p = plan.steps[i];
    const StepState s = status.steps[i].state;
    const bool failed = s == StepState::kFailed || s == StepState::kCancelled;
    if (failed && !p.optional && p.kind != StepPlan::kGate) return WorkflowState::kRunning;
    if (IsTerminal(s)) continue;
    if (s == StepState::kPartial || (p.optional && s == StepState::kRunning)) {
      optional_running = true;
      continue;
    }
    return WorkflowState::kRunning;  // mandatory work is not done
  }
  return optional_running ? WorkflowState::kPartial : WorkflowState::kRunning;
}

std::string FillReferences(const std::string& payload, const StepLookup& steps) {
  if (payload.find("${") == std::string::npos) return payload;
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec) return payload;
  return json::serialize(Fill(v, steps));
}

// ---------------------------------------------------------------------------------------------
// Expressions

struct Expression::Node {
  enum Kind { kOr, kAnd, kNot, kCompare, kLiteral, kRef } kind;
  std::string op;  // kCompare
  std::shared_ptr<const Node> left, right;
  json::value literal;
  Ref ref;
};

namespace {

struct Token {
  enum Kind { kEnd, kPath, kNumber, kString, kWord, kOp } kind = kEnd;
  std::string text;
  size_t column = 0;
};

class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, std::string field)
      : text_(text), field_(std::move(field)) {}

  Result<std::shared_ptr<const Expression::Node>> Run(std::vector<std::string>* steps) {
    steps_ = steps;
    BATON_RETURN_IF_ERROR(Tokenize());
    auto root = Or();
    if (!root.ok()) return root;
    if (tokens_[pos_].kind != Token::kEnd)
      return Error("unexpected \"" + tokens_[pos_].text + "\"");
    return root;
  }

 private:
  using NodeResult = Result<std::shared_ptr<const Expression::Node>>;

  Status Error(const std::string& what) const {
    const size_t column = pos_ < tokens_.size() ? tokens_[pos_].column : text_.size();
    return InvalidArgument(field_ + ": " + what + " at column " + std::to_string(column + 1) +
                           " of \"" + std::string(text_) + "\"");
  }

  Status Tokenize() {
    size_t i = 0;
    auto is_word = [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-' || c == '.';
    };
    while (i < text_.size()) {
      const char c = text_[i];
      if (c == ' ' || c == '\t') {
        ++i;
        continue;
      }
      Token t;
      t.column = i;
      if (c == '"') {
        t.kind = Token::kString;
        ++i;
        while (i < text_.size() && text_[i] != '"') {
          if (text_[i] == '\\' && i + 1 < text_.size()) ++i;
          t.text += text_[i++];
        }
        if (i >= text_.size()) {
          pos_ = tokens_.size();
          return InvalidArgument(field_ + ": a string without its closing quote in \"" +
                                 std::string(text_) + "\"");
        }
        ++i;
      } else if ((c >= '0' && c <= '9') ||
                 (c == '-' && i + 1 < text_.size() && text_[i + 1] >= '0' && text_[i + 1] <= '9')) {
        t.kind = Token::kNumber;
        t.text += text_[i++];
        while (i < text_.size() && ((text_[i] >= '0' && text_[i] <= '9') || text_[i] == '.' ||
                                    text_[i] == 'e' || text_[i] == 'E')) {
          t.text += text_[i++];
        }
      } else if (is_word(c)) {
        while (i < text_.size() && is_word(text_[i])) t.text += text_[i++];
        t.kind = t.text.starts_with("steps.") ? Token::kPath : Token::kWord;
      } else {
        t.kind = Token::kOp;
        const std::string_view two = text_.substr(i, 2);
        if (two == "==" || two == "!=" || two == "<=" || two == ">=" || two == "&&" ||
            two == "||") {
          t.text = std::string(two);
          i += 2;
        } else if (c == '<' || c == '>' || c == '!' || c == '(' || c == ')') {
          t.text = std::string(1, c);
          ++i;
        } else {
          return InvalidArgument(field_ + ": unexpected \"" + std::string(1, c) + "\" at column " +
                                 std::to_string(i + 1) + " of \"" + std::string(text_) + "\"");
        }
      }
      tokens_.push_back(std::move(t));
    }
    tokens_.push_back(Token{Token::kEnd, "", text_.size()});
    return Status::Ok();
  }

  bool Accept(std::string_view op) {
    if (tokens_[pos_].kind == Token::kOp && tokens_[pos_].text == op) {
      ++pos_;
      return true;
    }
    return false;
  }

  NodeResult Or() {
    auto left = And();
    if (!left.ok()) return left;
    while (Accept("||")) {
      auto right = And();
      if (!right.ok()) return right;
      left = Make(Expression::Node::kOr, *left, *right);
    }
    return left;
  }
  NodeResult And() {
    auto left = Unary();
    if (!left.ok()) return left;
    while (Accept("&&")) {
      auto right = Unary();
      if (!right.ok()) return right;
      left = Make(Expression::Node::kAnd, *left, *right);
    }
    return left;
  }
  NodeResult Unary() {
    if (Accept("!")) {
      auto inner = Unary();
      if (!inner.ok()) return inner;
      return Make(Expression::Node::kNot, *inner, nullptr);
    }
    if (Accept("(")) {
      auto inner = Or();
      if (!inner.ok()) return inner;
      if (!Accept(")")) return Error("expected \")\"");
      return inner;
    }
    auto left = Operand();
    if (!left.ok()) return left;
    const Token& t = tokens_[pos_];
    if (t.kind == Token::kOp && (t.text == "==" || t.text == "!=" || t.text == "<" ||
                                 t.text == "<=" || t.text == ">" || t.text == ">=")) {
      const std::string op = t.text;
      ++pos_;
      auto right = Operand();
      if (!right.ok()) return right;
      auto n = std::make_shared<Expression::Node>();
      n->kind = Expression::Node::kCompare;
      n->op = op;
      n->left = *left;
      n->right = *right;
      return std::shared_ptr<const Expression::Node>(n);
    }
    return left;
  }
  NodeResult Operand() {
    const Token& t = tokens_[pos_];
    auto n = std::make_shared<Expression::Node>();
    n->kind = Expression::Node::kLiteral;
    switch (t.kind) {
      case Token::kPath: {
        std::optional<Ref> r = ParseRef(t.text);
        if (!r || r->field == Ref::kFile) {
          return Error("\"" + t.text +
                       "\" must be steps.NAME.status, steps.NAME.job or "
                       "steps.NAME.result[.KEY...]");
        }
        n->kind = Expression::Node::kRef;
        n->ref = *r;
        steps_->push_back(r->step);
        break;
      }
      case Token::kNumber: {
        boost::system::error_code ec;
        n->literal = json::parse(t.text, ec);
        if (ec || !n->literal.is_number()) return Error("\"" + t.text + "\" is not a number");
        break;
      }
      case Token::kString:
        n->literal = json::string(t.text);
        break;
      case Token::kWord:
        if (t.text == "true" || t.text == "false") {
          n->literal = t.text == "true";
        } else if (t.text == "null") {
          n->literal = nullptr;
        } else {
          return Error("\"" + t.text +
                       "\" is neither steps.NAME... nor a literal (a number, \"text\", true, "
                       "false, null)");
        }
        break;
      default:
        return Error(t.kind == Token::kEnd ? "expected a value"
                                           : "expected a value, not \"" + t.text + "\"");
    }
    ++pos_;
    return std::shared_ptr<const Expression::Node>(n);
  }

  static std::shared_ptr<const Expression::Node> Make(Expression::Node::Kind kind,
                                                      std::shared_ptr<const Expression::Node> l,
                                                      std::shared_ptr<const Expression::Node> r) {
    auto n = std::make_shared<Expression::Node>();
    n->kind = kind;
    n->left = std::move(l);
    n->right = std::move(r);
    return n;
  }

  std::string_view text_;
  std::string field_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::vector<std::string>* steps_ = nullptr;
};

json::value Value(const Expression::Node& n, const StepLookup& steps) {
  return n.kind == Expression::Node::kRef ? Resolve(n.ref, steps) : n.literal;
}

bool Truthy(const json::value& v) {
  if (v.is_null()) return false;
  if (v.is_bool()) return v.as_bool();
  if (v.is_number()) return v.to_number<double>() != 0;
  if (v.is_string()) return !v.as_string().empty();
  return true;
}

bool Compare(const std::string& op, const json::value& a, const json::value& b) {
  int order = 0;
  bool ordered = true;
  if (a.is_number() && b.is_number()) {
    const double x = a.to_number<double>(), y = b.to_number<double>();
    order = x < y ? -1 : x > y ? 1 : 0;
  } else if (a.is_string() && b.is_string()) {
    order = a.as_string().compare(b.as_string());
  } else {
    ordered = false;
    order = a == b ? 0 : 1;
  }
  if (op == "==") return order == 0;
  if (op == "!=") return order != 0;
  if (!ordered) return false;
  if (op == "<") return order < 0;
  if (op == "<=") return order <= 0;
  if (op == ">") return order > 0;
  return order >= 0;
}

bool Eval(const Expression::Node& n, const StepLookup& steps) {
  switch (n.kind) {
    case Expression::Node::kOr:
      return Eval(*n.left, steps) || Eval(*n.right, steps);
    case Expression::Node::kAnd:
      return Eval(*n.left, steps) && Eval(*n.right, steps);
    case Expression::Node::kNot:
      return !Eval(*n.left, steps);
    case Expression::Node::kCompare:
      return Compare(n.op, Value(*n.left, steps), Value(*n.right, steps));
    default:
      return Truthy(Value(n, steps));
  }
}

}  // namespace

Result<std::shared_ptr<const Expression>> Expression::Parse(std::string_view text,
                                                            const std::string& field) {
  auto e = std::make_shared<Expression>();
  ExpressionParser parser(text, field);
  auto root = parser.Run(&e->steps_);
  if (!root.ok()) return root.status();
  e->root_ = *root;
  return std::shared_ptr<const Expression>(e);
}

bool Expression::Evaluate(const StepLookup& steps) const { return Eval(*root_, steps); }

// ---------------------------------------------------------------------------------------------
// The document

namespace {

struct RawStep {
  StepPlan plan;
  std::string path;                    // where it is in the document, for errors
  std::vector<std::string> deps;       // names
  std::vector<std::string> dep_paths;  // and where each is named
};

Result<StepPlan::When> ParseWhen(const json::value& v, const std::string& field,
                                 std::shared_ptr<const Expression>* expression) {
  if (!v.is_string()) return Wrong(field, "on_success, on_failure, always or an expression", v);
  const std::string_view w = v.as_string();
  if (w == "on_success") return StepPlan::kOnSuccess;
  if (w == "on_failure") return StepPlan::kOnFailure;
  if (w == "always") return StepPlan::kAlways;
  auto e = Expression::Parse(w, field);
  if (!e.ok()) return e.status();
  *expression = *e;
  return StepPlan::kExpression;
}

// A step object: job fields plus name, depends_on, when, optional. `in_activity`: depends_on is
// the activity's to set.
Result<RawStep> ParseStep(const json::value& v, const std::string& path, bool in_activity) {
  if (!v.is_object()) return Wrong(path, "a step object", v);
  RawStep r;
  r.path = path;
  json::object job;
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "name") {
      if (!value.is_string() || !ValidStepName(value.as_string())) {
        return Wrong(field, "1 to 128 letters, digits, _ and -", value);
      }
      r.plan.name = std::string(value.as_string());
    } else if (key == "depends_on") {
      if (in_activity) {
        return InvalidArgument(field +
                               ": a step of an activity follows its stages; set depends_on on "
                               "the activity");
      }
      if (!value.is_array()) return Wrong(field, "an array of step names", value);
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        auto name = String(value.as_array()[i], Indexed(field, i));
        if (!name.ok()) return name.status();
        r.deps.push_back(*name);
        r.dep_paths.push_back(Indexed(field, i));
      }
    } else if (key == "when") {
      auto w = ParseWhen(value, field, &r.plan.expression);
      if (!w.ok()) return w.status();
      r.plan.when = *w;
    } else if (key == "optional") {
      if (!value.is_bool()) return Wrong(field, "true or false", value);
      r.plan.optional = value.as_bool();
    } else if (key == "parent_id") {
      return InvalidArgument(field + ": a workflow step is not a sub-job");
    } else if (key == "idempotency_key") {
      return InvalidArgument(field + ": a workflow step runs once per run of the workflow");
    } else {
      job[key] = value;
    }
  }
  if (r.plan.name.empty()) return InvalidArgument(path + ".name: is required");
  auto spec = ParseJobSpec(job, path);
  if (!spec.ok()) return spec.status();
  r.plan.job = std::move(*spec);
  return r;
}

}  // namespace

int32_t WorkflowPlan::Find(std::string_view step) const {
  for (size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].name == step) return static_cast<int32_t>(i);
  }
  return -1;
}

Result<WorkflowPlan> WorkflowPlan::Parse(std::string_view document, const WorkflowLimits& limits) {
  if (document.size() > limits.document_bytes_max) {
    return InvalidArgument("workflow: at most " + std::to_string(limits.document_bytes_max) +
                           " bytes, got " + std::to_string(document.size()));
  }
  boost::system::error_code ec;
  json::value doc = json::parse(document, ec);
  if (ec) return InvalidArgument("workflow: not JSON: " + ec.message());
  if (!doc.is_object()) return Wrong("workflow", "an object", doc);
  WorkflowPlan plan;
  std::vector<RawStep> raw;
  const json::value* steps = nullptr;
  const json::value* activities = nullptr;
  for (const auto& [key, value] : doc.as_object()) {
    if (key == "name") {
      if (!value.is_string() || value.as_string().size() > 128) {
        return Wrong("name", "a string of at most 128 bytes", value);
      }
      plan.name = std::string(value.as_string());
    } else if (key == "steps") {
      if (!value.is_array()) return Wrong("steps", "an array of steps", value);
      steps = &value;
    } else if (key == "activities") {
      if (!value.is_array()) return Wrong("activities", "an array of activities", value);
      activities = &value;
    } else {
      return InvalidArgument(std::string(key) + ": unknown field (known: name, steps, activities)");
    }
  }
  if (steps != nullptr) {
    for (size_t i = 0; i < steps->as_array().size(); ++i) {
      auto s = ParseStep(steps->as_array()[i], Indexed("steps", i), false);
      if (!s.ok()) return s.status();
      raw.push_back(std::move(*s));
    }
  }
  if (activities != nullptr) {
    for (size_t a = 0; a < activities->as_array().size(); ++a) {
      const std::string path = Indexed("activities", a);
      const json::value& av = activities->as_array()[a];
      if (!av.is_object()) return Wrong(path, "an activity object", av);
      ActivityPlan activity;
      RawStep gate;
      gate.path = path;
      gate.plan.kind = StepPlan::kGate;
      gate.plan.when = StepPlan::kAlways;
      gate.plan.activity = static_cast<int32_t>(a);
      std::vector<std::string> entry;
      std::vector<std::string> entry_paths;
      StepPlan::When entry_when = StepPlan::kOnSuccess;
      std::shared_ptr<const Expression> entry_expression;
      bool plugins = false;
      std::array<std::vector<RawStep>, 3> stages;  // pre, parallel, post
      for (const auto& [key, value] : av.as_object()) {
        const std::string field = path + "." + std::string(key);
        if (key == "name") {
          if (!value.is_string() || !ValidStepName(value.as_string())) {
            return Wrong(field, "1 to 128 letters, digits, _ and -", value);
          }
          activity.name = std::string(value.as_string());
        } else if (key == "depends_on") {
          if (!value.is_array()) return Wrong(field, "an array of step names", value);
          for (size_t i = 0; i < value.as_array().size(); ++i) {
            auto name = String(value.as_array()[i], Indexed(field, i));
            if (!name.ok()) return name.status();
            entry.push_back(*name);
            entry_paths.push_back(Indexed(field, i));
          }
        } else if (key == "when") {
          auto w = ParseWhen(value, field, &entry_expression);
          if (!w.ok()) return w.status();
          entry_when = *w;
        } else if (key == "plugins") {
          if (!value.is_bool()) return Wrong(field, "true or false", value);
          plugins = value.as_bool();
        } else if (key == "pre" || key == "parallel" || key == "post") {
          if (!value.is_array()) return Wrong(field, "an array of steps", value);
          auto& stage = stages[key == "pre" ? 0 : key == "parallel" ? 1 : 2];
          for (size_t i = 0; i < value.as_array().size(); ++i) {
            auto s = ParseStep(value.as_array()[i], Indexed(field, i), true);
            if (!s.ok()) return s.status();
            s->plan.activity = static_cast<int32_t>(a);
            s->plan.stage = key == "pre"        ? StepPlan::kPre
                            : key == "parallel" ? StepPlan::kParallel
                                                : StepPlan::kPost;
            stage.push_back(std::move(*s));
          }
        } else {
          return InvalidArgument(field +
                                 ": unknown field (known: name, depends_on, when, plugins, pre, "
                                 "parallel, post)");
        }
      }
      if (activity.name.empty()) return InvalidArgument(path + ".name: is required");
      gate.plan.name = activity.name;
      // The stages as steps: pre one after another, then parallel (and the plugins) together,
      // then post one after another. The activity's depends_on and when apply to its first
      // stage.
      std::vector<std::string> before = entry;
      std::vector<std::string> before_paths = entry_paths;
      bool first = true;
      auto enter = [&](RawStep& s) {
        s.deps = before;
        s.dep_paths = before_paths;
        if (first && entry_when != StepPlan::kOnSuccess) {
          s.plan.when = entry_when;
          s.plan.expression = entry_expression;
        }
      };
      std::vector<RawStep> compiled;
      for (RawStep& s : stages[0]) {
        enter(s);
        first = false;
        before = {s.plan.name};
        before_paths = {s.path};
        compiled.push_back(std::move(s));
      }
      std::vector<std::string> parallel_names, parallel_paths;
      if (plugins) {
        RawStep p;
        p.path = path + ".plugins";
        p.plan.name = activity.name + ":plugins";
        p.plan.kind = StepPlan::kPlugins;
        p.plan.activity = static_cast<int32_t>(a);
        p.plan.stage = StepPlan::kParallel;
        stages[1].push_back(std::move(p));
      }
      for (RawStep& s : stages[1]) {
        enter(s);
        parallel_names.push_back(s.plan.name);
        parallel_paths.push_back(s.path);
        compiled.push_back(std::move(s));
      }
      if (!stages[1].empty()) {
        first = false;
        before = parallel_names;
        before_paths = parallel_paths;
      }
      for (RawStep& s : stages[2]) {
        enter(s);
        first = false;
        before = {s.plan.name};
        before_paths = {s.path};
        compiled.push_back(std::move(s));
      }
      if (compiled.empty())
        return InvalidArgument(path + ": has no steps in pre, parallel or post");
      for (RawStep& s : compiled) {
        gate.deps.push_back(s.plan.name);
        gate.dep_paths.push_back(s.path);
        raw.push_back(std::move(s));
      }
      raw.push_back(std::move(gate));
      plan.activities.push_back(std::move(activity));
    }
  }
  if (raw.empty()) return InvalidArgument("steps: a workflow needs at least one step");
  if (raw.size() > limits.steps_max) {
    return InvalidArgument("steps: at most " + std::to_string(limits.steps_max) +
                           " steps (activities and their stages included), got " +
                           std::to_string(raw.size()));
  }
  // Names, dependencies, order.
  std::map<std::string, uint32_t> index;
  for (uint32_t i = 0; i < raw.size(); ++i) {
    if (!index.emplace(raw[i].plan.name, i).second) {
      return InvalidArgument(raw[i].path + ".name: \"" + raw[i].plan.name +
                             "\" is used twice; step and activity names must be unique");
    }
  }
  std::vector<std::vector<uint32_t>> deps(raw.size());
  for (uint32_t i = 0; i < raw.size(); ++i) {
    for (size_t d = 0; d < raw[i].deps.size(); ++d) {
      auto it = index.find(raw[i].deps[d]);
      if (it == index.end()) {
        return InvalidArgument(raw[i].dep_paths[d] + ": no step named \"" + raw[i].deps[d] + "\"");
      }
      if (std::find(deps[i].begin(), deps[i].end(), it->second) == deps[i].end()) {
        deps[i].push_back(it->second);
      }
    }
    if (deps[i].empty() && raw[i].plan.when == StepPlan::kOnFailure) {
      return InvalidArgument(raw[i].path + ".when: on_failure needs depends_on");
    }
  }
  // Kahn's algorithm, stable: ready steps in document order.
  std::vector<uint32_t> order, pending(raw.size());
  std::vector<std::vector<uint32_t>> users(raw.size());
  for (uint32_t i = 0; i < raw.size(); ++i) {
    pending[i] = static_cast<uint32_t>(deps[i].size());
    for (uint32_t d : deps[i]) users[d].push_back(i);
  }
  std::set<uint32_t> ready;
  for (uint32_t i = 0; i < raw.size(); ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  while (!ready.empty()) {
    const uint32_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (uint32_t u : users[i]) {
      if (--pending[u] == 0) ready.insert(u);
    }
  }
  if (order.size() != raw.size()) {
    // Walk back from a step left over until a step repeats: that is the cycle.
    uint32_t at = 0;
    while (pending[at] == 0) ++at;
    std::vector<uint32_t> walk;
    std::vector<int> seen(raw.size(), -1);
    while (seen[at] < 0) {
      seen[at] = static_cast<int>(walk.size());
      walk.push_back(at);
      for (uint32_t d : deps[at]) {
        if (pending[d] != 0) {
          at = d;
          break;
        }
      }
    }
    // "a -> b -> a": a depends on b, which depends on a.
    std::string cycle;
    for (size_t k = static_cast<size_t>(seen[at]); k < walk.size(); ++k) {
      cycle += raw[walk[k]].plan.name + " -> ";
    }
    cycle += raw[at].plan.name;
    return InvalidArgument(raw[at].path + ".depends_on: a cycle: " + cycle);
  }
  std::vector<uint32_t> position(raw.size());
  for (uint32_t k = 0; k < order.size(); ++k) position[order[k]] = k;
  // Every step's upstream steps, for references and expressions.
  std::vector<std::set<uint32_t>> upstream(raw.size());
  for (uint32_t i : order) {
    for (uint32_t d : deps[i]) {
      upstream[i].insert(d);
      upstream[i].insert(upstream[d].begin(), upstream[d].end());
    }
  }
  auto check_upstream = [&](uint32_t i, const std::string& step,
                            const std::string& field) -> Status {
    auto it = index.find(step);
    if (it == index.end()) return InvalidArgument(field + ": no step named \"" + step + "\"");
    if (!upstream[i].contains(it->second)) {
      return InvalidArgument(field + ": step \"" + step + "\" is not upstream of \"" +
                             raw[i].plan.name + "\" (add it to depends_on)");
    }
    return Status::Ok();
  };
  for (uint32_t i = 0; i < raw.size(); ++i) {
    const StepPlan& s = raw[i].plan;
    if (s.expression) {
      for (const std::string& step : s.expression->steps()) {
        BATON_RETURN_IF_ERROR(check_upstream(i, step, raw[i].path + ".when"));
      }
    }
    if (s.kind == StepPlan::kJob && s.job.payload.find("${") != std::string::npos) {
      json::value payload = json::parse(s.job.payload);
      BATON_RETURN_IF_ERROR(ForEachRef(
          payload, raw[i].path + ".payload",
          [&](std::string_view text, const std::string& field) -> Status {
            std::optional<Ref> r = ParseRef(text);
            if (!r) return InvalidArgument(field + ": ${" + std::string(text) + "}: " + kRefForms);
            return check_upstream(i, r->step, field + ": ${" + std::string(text) + "}");
          }));
    }
  }
  for (uint32_t k = 0; k < order.size(); ++k) {
    RawStep& r = raw[order[k]];
    StepPlan s = std::move(r.plan);
    for (uint32_t d : deps[order[k]]) s.depends_on.push_back(position[d]);
    std::sort(s.depends_on.begin(), s.depends_on.end());
    if (s.kind == StepPlan::kGate) {
      s.members = s.depends_on;
      plan.activities[static_cast<size_t>(s.activity)].gate = k;
    }
    if (s.kind == StepPlan::kPlugins) plan.activities[static_cast<size_t>(s.activity)].plugins = k;
    plan.steps.push_back(std::move(s));
  }
  return plan;
}

// The plan of a plugin's step, from the status that records it.
StepPlan PluginStep(const WorkflowPlan& plan, uint32_t plugins_step, const StepStatus& st,
                    WorkflowId id) {
  const StepPlan& p = plan.steps[plugins_step];
  StepPlan s;
  s.name = p.name + ":" + st.plugin_type;
  s.kind = StepPlan::kJob;
  s.depends_on = p.depends_on;
  s.when = StepPlan::kAlways;  // the plugins step decided
  s.optional = !st.plugin_mandatory;
  s.activity = p.activity;
  s.stage = StepPlan::kParallel;
  s.job.type = st.plugin_type;
  const std::string& activity = plan.activities[static_cast<size_t>(p.activity)].name;
  s.job.payload = R"({"workflow":)" + std::to_string(id) + R"(,"activity":)" +
                  json::serialize(json::string(activity)) + R"(,"plugin":)" +
                  json::serialize(json::string(st.plugin_type)) + "}";
  return s;
}

Result<WorkflowPlan> PlanOf(const WorkflowRecord& rec) {
  const std::string which = "workflow " + std::to_string(rec.id) + ": ";
  Result<WorkflowPlan> plan = WorkflowPlan::Parse(rec.document);
  if (!plan.ok()) return Status(plan.status().code(), which + plan.status().message());
  const size_t declared = plan->steps.size();
  if (rec.status.steps.size() < declared) {
    return DataLoss(which + std::to_string(rec.status.steps.size()) + " step states for " +
                    std::to_string(declared) + " steps");
  }
  for (size_t i = declared; i < rec.status.steps.size(); ++i) {
    const StepStatus& st = rec.status.steps[i];
    if (st.plugin_of == 0 || st.plugin_of > declared) {
      return DataLoss(which + "step " + std::to_string(i) + " is no plugin's");
    }
    plan->steps.push_back(PluginStep(*plan, st.plugin_of - 1, st, rec.id));
  }
  return plan;
}

}  // namespace baton::engine
