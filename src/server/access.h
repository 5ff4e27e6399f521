// Who may do what: the one authorization policy of the HTTP API, for jobs, workflows, schedules
// and types alike. Two questions, asked where the rule applies:
//  - may this caller call this endpoint at all (Caller, in the route table: routes.h)?
//  - may this caller do this to this thing (Access, asked once the thing is found)?
// Thread rules: plain functions.
#pragma once

#include <string_view>

#include "common/status.h"
#include "server/auth.h"

namespace baton::server {

// Who may call an endpoint.
enum class Caller {
  kAnyone,  // no token needed (/healthz)
  kUser,    // any valid token
  kWorker,  // a worker's token, or an administrator's
  kAdmin,   // an administrator's token
};
std::string_view CallerName(Caller caller);  // "anyone", "user", "worker", "admin"

// What a caller does to a thing that has an owner.
enum class Access {
  kRead,        // see it: a job, its files and log, a workflow, a schedule
  kTouch,       // change it: cancel, retry, accept, reject, delete, make one in its name
  kAdminister,  // what bears on every user: pause a type, drain a worker, run retention
};

// An account reads and touches what it owns and what its end users own ("alice" and
// "alice/3", engine::InAccount); an administrator does anything; administering is theirs alone.
// A thing with no owner (a schedule from the config file) is the server's: administrators only.
bool May(const Identity& who, Access access, std::string_view owner);

// Ok if `who` may call an endpoint open to `caller`; else PermissionDenied naming `what` (the
// endpoint) and who may.
Status CheckCaller(const Identity& who, Caller caller, std::string_view what);

}  // namespace baton::server
