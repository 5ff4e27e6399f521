// The job endpoints (one of the API's modules; the route table in api_routes.cc calls them):
//   POST /v1/jobs                  submit one job or a batch (JSON; multipart goes to FilesApi)
//   GET  /v1/jobs                  a page of the caller's jobs (an administrator's: all)
//   POST /v1/jobs/retry            dead letters: retry failed jobs by filter
//   GET  /v1/jobs/{id}             the job, why it waits, and the event to follow it from
//   GET  /v1/jobs/{id}/logs        its log (?offset=, ?follow=1)
//   GET  /v1/jobs/{id}/attempts    its ended attempts
//   GET  /v1/jobs/{id}/children    a page of its sub-jobs, with a count by state
// Commands on one job (cancel, retry, reject, accept) go through JobAccess::JobCommand. A job
// that is not the caller's is as absent as a missing one (access.h).
//
// Thread rules: any thread; each call answers through its Reply.
#pragma once

#include <cstddef>

#include "server/access.h"
#include "server/downloads.h"
#include "server/http_server.h"
#include "server/job_access.h"
#include "server/job_logs.h"
#include "server/job_types.h"
#include "server/routes.h"
#include "server/runtime.h"

namespace baton::server {

class JobsApi {
 public:
  struct Options {
    size_t batch_max = 1000;        // jobs in one POST /v1/jobs
    size_t retry_jobs_max = 10000;  // jobs one POST /v1/jobs/retry retries
    DownloadLimits download;        // GET /v1/jobs/{id}/logs
  };
  struct Parts {
    Runtime* runtime;
    JobAccess* access;
    StoreReader* reader;
    BlockingPool* blocking;
    LoadGate* gate;
    JobLogs* logs;
    const TypeRegistry* types;
  };
  JobsApi(Parts parts, Options options)
      : runtime_(parts.runtime),
        access_(parts.access),
        reader_(parts.reader),
        blocking_(parts.blocking),
        gate_(parts.gate),
        logs_(parts.logs),
        types_(parts.types),
        options_(options) {}

  void SubmitJobs(const Identity& who, const HttpRequest& request, const Reply& reply);
  void ListJobs(const Identity& who, const HttpRequest& request, Reply reply);
  void RetryJobs(const Identity& who, const HttpRequest& request, Reply reply);
  void GetJob(const Identity& who, engine::JobId id, const HttpRequest& request,
              const Reply& reply);
  void GetLog(const Identity& who, engine::JobId id, const Call& call);
  void ListAttempts(const Identity& who, engine::JobId id, const HttpRequest& request,
                    const Reply& reply);
  void ListChildren(const Identity& who, engine::JobId id, const HttpRequest& request,
                    const Reply& reply);

 private:
  // GET /v1/jobs/{id}/logs: the log from `offset` as it is now, streamed.
  void SendLog(const engine::JobRecord& job, uint64_t offset, unsigned version, bool keep_alive,
               const Reply& reply);
  // GET /v1/jobs/{id}/logs?follow=1: the log from `offset`, then as it grows, until the job ends.
  void FollowLog(const engine::JobRecord& job, uint64_t offset, unsigned version,
                 const Reply& reply);

  Runtime* runtime_;
  JobAccess* access_;
  StoreReader* reader_;
  BlockingPool* blocking_;
  LoadGate* gate_;
  JobLogs* logs_;
  const TypeRegistry* types_;
  Options options_;
};

}  // namespace baton::server
