#include "server/access.h"

#include "engine/types.h"

namespace baton::server {

std::string_view CallerName(Caller caller) {
  switch (caller) {
    case Caller::kAnyone:
      return "anyone";
    case Caller::kUser:
      return "user";
    case Caller::kWorker:
      return "worker";
    case Caller::kAdmin:
      return "admin";
  }
  return "?";
}

bool May(const Identity& who, Access access, std::string_view owner) {
  if (who.admin) return true;
  if (access == Access::kAdminister || owner.empty()) return false;
  return engine::InAccount(owner, who.user);
}

Status CheckCaller(const Identity& who, Caller caller, std::string_view what) {
  switch (caller) {
    case Caller::kAnyone:
    case Caller::kUser:
      return Status::Ok();
    case Caller::kWorker:
      if (who.worker || who.admin) return Status::Ok();
      return PermissionDenied(std::string(what) + ": only a worker may do this");
    case Caller::kAdmin:
      if (who.admin) return Status::Ok();
      return PermissionDenied(std::string(what) + ": only an administrator may do this");
  }
  return Internal("unknown caller");
}

}  // namespace baton::server
