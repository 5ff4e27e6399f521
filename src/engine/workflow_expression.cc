// Conditions of workflow steps: the expression language of workflow.h, parsed and evaluated.
#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "engine/spec_json.h"
#include "engine/workflow.h"
#include "engine/workflow_refs.h"

namespace baton::engine {

namespace json = boost::json;
using refs::ParseRef;
using refs::Ref;
using refs::Resolve;

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

}  // namespace baton::engine
