// Status and Result<T>: the one error type of the code base (style.md, "Errors").
//
// Functions that can fail return Status or Result<T>; exceptions never cross a module boundary.
// A Status carries a code that a caller can branch on and a message written for a person: it
// names what was wrong and, where it helps, what to do. Thread rules: plain values.
#pragma once

#include <cassert>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace baton {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,     // bad input: a field has a wrong value
  kNotFound,            // no such job, attempt, key
  kAlreadyExists,       // a unique thing exists already
  kFailedPrecondition,  // the command is illegal in the current state
  kStaleAttempt,        // a command names an attempt that is not the job's current one
  kResourceExhausted,   // a limit was reached
  kUnavailable,         // the store or a peer cannot be reached now; try again
  kDataLoss,            // stored data is corrupt
  kInternal,            // a bug or an unexpected library error
  kUnauthenticated,     // no credentials, or credentials that name nobody
  kPermissionDenied,    // known caller, not allowed to do this
};

std::string_view StatusCodeName(StatusCode code);
// The code a name stands for (what StatusCodeName gives); kInternal for an unknown name.
StatusCode ParseStatusCode(std::string_view name);
// What a code means over HTTP (400, 404, 409, ...) and as the CLI's exit code (0; 2 the request
// or its input was wrong; 3 not found; 4 the server or its store failed), from one table.
int HttpStatusOf(StatusCode code);
int ExitCodeOf(StatusCode code);
// The code an HTTP status stands for when the answer says no more (a refused upgrade): 2xx ok,
// else the first code with that status; an unknown 5xx is unavailable, anything else
// invalid_argument.
StatusCode StatusCodeOfHttp(int http);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: priority: must be between -1000 and 1000, got 5000".
  std::string ToString() const;

  // Prefixes the message with context, e.g. "sqlite open /data/baton.db: ".
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& other) const = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status StaleAttempt(std::string m) { return {StatusCode::kStaleAttempt, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
// A field past its limit: "FIELD: must be at most MAX bytes, got SIZE" (InvalidArgument).
Status TooLong(std::string_view field, size_t size, size_t max);

// Result<T> holds a T or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    AssertError();
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return Checked(); }
  const T& value() const& { return const_cast<Result*>(this)->Checked(); }
  T&& value() && { return std::move(Checked()); }
  T* operator->() { return &Checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->Checked(); }
  T& operator*() { return Checked(); }
  const T& operator*() const { return const_cast<Result*>(this)->Checked(); }

 private:
  void AssertError() {
    // A Result built from a Status must carry an error; Ok has no value to return.
    if (status_.ok()) std::abort();
  }
  T& Checked() {
    if (!value_.has_value()) std::abort();  // programmer error: check ok() first
    return *value_;
  }

  std::optional<T> value_;
  Status status_;
};

}  // namespace baton

// `lhs = *expr` when `expr` (a Result) holds a value; else returns its status from the enclosing
// function. `lhs` may declare a variable: BATON_ASSIGN_OR_RETURN(auto db, OpenDatabase(url)).
// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration, which cannot be in ().
#define BATON_ASSIGN_OR_RETURN(lhs, expr) \
  BATON_ASSIGN_OR_RETURN_IMPL(BATON_STATUS_CONCAT(baton_result_, __LINE__), lhs, expr)
#define BATON_ASSIGN_OR_RETURN_IMPL(result, lhs, expr) \
  auto result = (expr);                                \
  if (!result.ok()) return result.status();            \
  lhs = std::move(*result)
#define BATON_STATUS_CONCAT(a, b) BATON_STATUS_CONCAT_IMPL(a, b)
#define BATON_STATUS_CONCAT_IMPL(a, b) a##b
// NOLINTEND(bugprone-macro-parentheses)

// Returns from the enclosing function when `expr` (a Status) is not ok.
#define BATON_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::baton::Status baton_status_ = (expr);        \
    if (!baton_status_.ok()) return baton_status_; \
  } while (false)

// Crashes with a message when an invariant does not hold. Always on (style.md).
#define BATON_CHECK(cond)                                                   \
  do {                                                                      \
    if (!(cond)) ::baton::internal::CheckFailed(#cond, __FILE__, __LINE__); \
  } while (false)

namespace baton::internal {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line);
}  // namespace baton::internal
