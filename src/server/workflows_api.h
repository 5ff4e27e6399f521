// The workflow endpoints (one of the API's modules; the route table in api_routes.cc calls them):
//   POST /v1/workflows                  submit a document (JSON or YAML); 201 {"id": N}
//   GET  /v1/workflows/{id}             the workflow, each step with its state and job
//   POST /v1/workflows/{id}/cancel      body: empty or {"reason": "..."}
//   POST /v1/workflows/{id}/retry       its failed and cancelled steps, and what follows them
// The engine runs workflows (engine/workflow_runner.h). A workflow that is not the caller's is
// as absent as a missing one (access.h).
//
// Thread rules: any thread; each call answers through its Reply, on the blocking pool or the
// committer's thread.
#pragma once

#include <memory>
#include <string>

#include "server/access.h"
#include "server/http_server.h"
#include "server/job_access.h"
#include "server/job_types.h"
#include "server/runtime.h"

namespace baton::server {

class WorkflowsApi {
 public:
  // `types` checks the steps' job types and payloads, as for any submit.
  WorkflowsApi(Runtime* runtime, StoreReader* reader, BlockingPool* blocking,
               const TypeRegistry* types)
      : runtime_(runtime), reader_(reader), blocking_(blocking), types_(types) {}

  void Submit(const Identity& who, const HttpRequest& request, const Reply& reply);
  void Get(const Identity& who, engine::WorkflowId id, const HttpRequest& request,
           const Reply& reply);
  // `action`: "cancel" or "retry". `preload`: a finished workflow read from the store, loaded
  // into the engine first (the second try, for one that had left memory).
  void Command(const Identity& who, engine::WorkflowId id, const std::string& action,
               const HttpRequest& request, const Reply& reply,
               const std::shared_ptr<engine::WorkflowRecord>& preload = nullptr);

 private:
  Runtime* runtime_;
  StoreReader* reader_;
  BlockingPool* blocking_;
  const TypeRegistry* types_;
};

}  // namespace baton::server
