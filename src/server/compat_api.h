// job-orchestrator's endpoints (one of the API's modules), for the web apps that call it:
//   POST      /upload          multipart: run.sh and input files, user_id, service
//   GET|HEAD  /download/{id}   the outputs as a zip; ?partial=1: the running attempt's directory
//   POST      /terminate/{id}  cancel
// Each answers in job-orchestrator's shape (CompatStatus in job_json.h). A web app's end users are
// users of the caller's account ("webapp/7"), so the caller sees all of them (access.h).
//
// Thread rules: any thread.
#pragma once

#include "server/access.h"
#include "server/files_api.h"
#include "server/http_server.h"
#include "server/job_access.h"
#include "server/job_types.h"
#include "server/routes.h"

namespace baton::server {

class CompatApi {
 public:
  CompatApi(FilesApi* files, JobAccess* access, const TypeRegistry* types)
      : files_(files), access_(access), types_(types) {}

  void Upload(const Identity& who, const HttpRequest& request, Reply reply);
  // GET|HEAD /download/{id}, with the one parameter partial=0|1.
  void Download(const Identity& who, engine::JobId id, const Call& call);
  void Terminate(const Identity& who, engine::JobId id, const HttpRequest& request,
                 const Reply& reply);

 private:
  // The outputs as a zip, in job-orchestrator's words when there are none yet.
  void DownloadOutputs(const Identity& who, engine::JobId id, const HttpRequest& request,
                       Reply reply);

  FilesApi* files_;
  JobAccess* access_;
  const TypeRegistry* types_;
};

}  // namespace baton::server
