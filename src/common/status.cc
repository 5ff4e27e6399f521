#include "common/status.h"

#include <cstdio>
#include <iterator>

namespace baton {

namespace {

// Every code, its name, and what it means over HTTP and as the CLI's exit code: the one place
// these are decided (docs/api.md lists the HTTP statuses, README.md the exit codes).
struct CodeInfo {
  StatusCode code;
  std::string_view name;
  int http;
  int exit;
};
constexpr CodeInfo kCodes[] = {
    {StatusCode::kOk, "ok", 200, 0},
    {StatusCode::kInvalidArgument, "invalid_argument", 400, 2},
    {StatusCode::kNotFound, "not_found", 404, 3},
    {StatusCode::kAlreadyExists, "already_exists", 409, 2},
    {StatusCode::kFailedPrecondition, "failed_precondition", 409, 2},
    {StatusCode::kStaleAttempt, "stale_attempt", 409, 2},
    {StatusCode::kResourceExhausted, "resource_exhausted", 429, 2},
    {StatusCode::kUnavailable, "unavailable", 503, 4},
    {StatusCode::kDataLoss, "data_loss", 500, 4},
    {StatusCode::kInternal, "internal", 500, 4},
    {StatusCode::kUnauthenticated, "unauthenticated", 401, 2},
    {StatusCode::kPermissionDenied, "permission_denied", 403, 2},
};

const CodeInfo& Info(StatusCode code) {
  const auto i = static_cast<size_t>(code);
  return i < std::size(kCodes) ? kCodes[i] : kCodes[static_cast<size_t>(StatusCode::kInternal)];
}

}  // namespace

std::string_view StatusCodeName(StatusCode code) { return Info(code).name; }

int HttpStatusOf(StatusCode code) { return Info(code).http; }

int ExitCodeOf(StatusCode code) { return Info(code).exit; }

StatusCode StatusCodeOfHttp(int http) {
  if (http >= 200 && http <= 299) return StatusCode::kOk;
  for (const CodeInfo& c : kCodes) {
    if (c.http == http) return c.code;  // the first code of a status (409: already_exists)
  }
  return http >= 500 ? StatusCode::kUnavailable : StatusCode::kInvalidArgument;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string m(context);
  m += ": ";
  m += message_;
  return Status(code_, std::move(m));
}

Status TooLong(std::string_view field, size_t size, size_t max) {
  return InvalidArgument(std::string(field) + ": must be at most " + std::to_string(max) +
                         " bytes, got " + std::to_string(size));
}

namespace internal {
void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "BATON_CHECK failed: %s at %s:%d\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace internal

StatusCode ParseStatusCode(std::string_view name) {
  for (const CodeInfo& c : kCodes) {
    if (c.name == name) return c.code;
  }
  return StatusCode::kInternal;
}

}  // namespace baton
