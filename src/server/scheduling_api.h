// The scheduling and operations endpoints (one of the API's modules; docs/api.md, "Scheduling"):
//   GET  /v1/scheduling                     the policy, paused types, queued and running by type
//   GET  /v1/types                          every type: declared, queued, workers, capacity
//   GET  /v1/workers                        the connected workers
//   POST /v1/types/{type}/pause | resume    (administrators; the route table checks)
//   POST /v1/workers/{id}/drain | undrain   (administrators)
//   POST /v1/schedules, GET /v1/schedules, GET|DELETE /v1/schedules/{name}
// A schedule that is not the caller's is as absent as a missing one (access.h).
//
// Thread rules: any thread; each call answers through its Reply.
#pragma once

#include <string>

#include "server/access.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/job_types.h"
#include "server/runtime.h"
#include "server/worker_hub.h"

namespace baton::server {

class SchedulingApi {
 public:
  SchedulingApi(Runtime* runtime, WorkerHub* hub, const TypeRegistry* types,
                const ServerConfig* config)
      : runtime_(runtime), hub_(hub), types_(types), config_(config) {}

  void GetScheduling(const HttpRequest& request, const Reply& reply);
  void ListTypes(const HttpRequest& request, const Reply& reply);
  void ListWorkers(const HttpRequest& request, const Reply& reply);
  // `what` "types" (pause, resume) or "workers" (drain, undrain).
  void OperationsCommand(const std::string& what, const std::string& name,
                         const std::string& action, const HttpRequest& request, const Reply& reply);
  void PutSchedule(const Identity& who, const HttpRequest& request, Reply reply);
  // GET (`remove` false) or DELETE /v1/schedules/{name}.
  void ScheduleCommand(const Identity& who, const std::string& name, bool remove,
                       const HttpRequest& request, const Reply& reply);
  void ListSchedules(const Identity& who, const HttpRequest& request, const Reply& reply);

 private:
  // The schedule's job template checked against the declared types, as a submit would be.
  Result<engine::ScheduleRecord> CheckScheduleJob(engine::ScheduleRecord rec) const;

  Runtime* runtime_;
  WorkerHub* hub_;
  const TypeRegistry* types_;
  const ServerConfig* config_;
};

}  // namespace baton::server
