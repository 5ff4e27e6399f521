// The HTTP API's route table: every endpoint the server answers, who may call it (access.h), and
// the handler that answers it. docs/api.md's "Endpoints" table lists the same routes (checked by
// RoutesDocTest in tests/e2e/routes_test.cc). GET /v1/workers/connect is here too: the HTTP
// server upgrades it to the worker protocol before the table is asked, so the route answers only
// a request that does not ask for the upgrade.
#include <boost/json.hpp>

#include "server/job_json.h"
#include "server/leader_term.h"

namespace baton::server {

namespace {

using V = http::verb;

}  // namespace

void LeaderTerm::Health(const HttpRequest& request, const Reply& reply) {
  // Healthy means the engine thread answers and the store commits. It needs no token: it tells
  // nothing but that. /health is job-orchestrator's name for it.
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  // With its role: {"status":"ok","role":"leader",...} (server.h).
  runtime_->Execute([](engine::Engine&) {},
                    [reply, version, keep_alive, body = parts_.health_body()](const Status& s) {
                      if (!s.ok()) return reply(ErrorResponse(s, version, keep_alive));
                      reply(JsonResponse(http::status::ok, body, version, keep_alive));
                    });
}

const RouteTable<LeaderTerm>& LeaderTerm::Routes() {
  // POST /v1/jobs/{job}/ACTION, the reason (if any) from the body.
  auto job_command = [](std::string_view action) {
    return [action](LeaderTerm& s, Call& c) {
      Result<std::string> reason = ParseReason(c.request.body());
      if (!reason.ok()) {
        return c.reply(ErrorResponse(reason.status(), c.request.version(), c.request.keep_alive()));
      }
      JobAccess::CommandFn command;
      if (action == "cancel") {
        command = [r = *reason](engine::Engine& e, engine::JobId j) { return e.Cancel(j, r); };
      } else if (action == "retry") {
        command = [](engine::Engine& e, engine::JobId j) { return e.Retry(j); };
      } else if (action == "reject") {
        command = [r = *reason](engine::Engine& e, engine::JobId j) { return e.Reject(j, r); };
      } else {
        command = [](engine::Engine& e, engine::JobId j) { return e.Accept(j); };
      }
      s.access_->JobCommand(c.who, c.args.job, c.request, c.reply, command, nullptr);
    };
  };
  auto download = [](LeaderTerm& s, Call& c) { s.compat_->Download(c.who, c.args.job, c); };
  // POST /v1/types/{name}/pause|resume, /v1/workers/{name}/drain|undrain.
  auto operation = [](const std::string& what, const std::string& action) {
    return [what, action](LeaderTerm& s, Call& c) {
      s.scheduling_->OperationsCommand(what, c.args.name, action, c.request, c.reply);
    };
  };
  auto health = [](LeaderTerm& s, Call& c) { s.Health(c.request, c.reply); };
  static const RouteTable<LeaderTerm> table({
      // Health: no token.
      {V::get, "/healthz", Caller::kAnyone, health},
      {V::get, "/health", Caller::kAnyone, health},
      // Tokens.
      {V::post, "/v1/tokens", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.tokens_api_->Create(c.who, c.request, c.reply); }},
      // Jobs.
      {V::post, "/v1/jobs", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         if (IsMultipart(c.request))
           return s.files_api_->SubmitWithFiles(c.who, c.request, c.reply);
         s.jobs_->SubmitJobs(c.who, c.request, c.reply);
       }},
      {V::get, "/v1/jobs", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.jobs_->ListJobs(c.who, c.request, c.reply); }},
      {V::post, "/v1/jobs/retry", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.jobs_->RetryJobs(c.who, c.request, c.reply); }},
      {V::get, "/v1/jobs/{job}", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.jobs_->GetJob(c.who, c.args.job, c.request, c.reply); }},
      {V::get, "/v1/jobs/{job}/logs", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.jobs_->GetLog(c.who, c.args.job, c); }},
      {V::get, "/v1/jobs/{job}/result", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.files_api_->JobResult(c.who, c.args.job, c.request, c.reply);
       }},
      {V::get, "/v1/jobs/{job}/attempts", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.jobs_->ListAttempts(c.who, c.args.job, c.request, c.reply);
       }},
      {V::get, "/v1/jobs/{job}/children", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.jobs_->ListChildren(c.who, c.args.job, c.request, c.reply);
       }},
      {V::post, "/v1/jobs/{job}/cancel", Caller::kUser, job_command("cancel")},
      {V::post, "/v1/jobs/{job}/retry", Caller::kUser, job_command("retry")},
      {V::post, "/v1/jobs/{job}/reject", Caller::kUser, job_command("reject")},
      {V::post, "/v1/jobs/{job}/accept", Caller::kUser, job_command("accept")},
      // Files.
      {V::get, "/v1/jobs/{job}/output.zip", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.files_api_->OutputZip(c.who, c.args.job, c.request, c.reply);
       }},
      {V::get, "/v1/jobs/{job}/partial.zip", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.files_api_->PartialZip(c.who, c.args.job, c.request, c.reply);
       }},
      {V::get, "/v1/jobs/{job}/files/{path...}", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.files_api_->OutputFile(c.who, c.args.job, c.args.path, c.request, c.reply);
       }},
      {V::get, "/v1/jobs/{job}/inputs/{path...}", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.files_api_->InputFile(c.who, c.args.job, c.args.path, c.request, c.reply);
       }},
      {V::put, "/v1/jobs/{job}/attempts/{attempt}/files/{path...}", Caller::kWorker,
       [](LeaderTerm& s, Call& c) {
         s.files_api_->PutOutput(c.who, c.args.job, c.args.attempt, c.args.path,
                                 std::move(c.request), c.reply);
       }},
      {V::put, "/v1/jobs/{job}/attempts/{attempt}/snapshot/{request}", Caller::kWorker,
       [](LeaderTerm& s, Call& c) {
         s.files_api_->PutSnapshot(c.who, c.args.job, c.args.attempt, c.args.request,
                                   std::move(c.request), c.reply);
       }},
      // Events.
      {V::get, "/v1/events", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.events_api_->Stream(c.who, c.request, c.reply); }},
      // Workflows.
      {V::post, "/v1/workflows", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.workflows_->Submit(c.who, c.request, c.reply); }},
      {V::get, "/v1/workflows/{workflow}", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.workflows_->Get(c.who, c.args.workflow, c.request, c.reply);
       }},
      {V::post, "/v1/workflows/{workflow}/cancel", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.workflows_->Command(c.who, c.args.workflow, "cancel", c.request, c.reply);
       }},
      {V::post, "/v1/workflows/{workflow}/retry", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.workflows_->Command(c.who, c.args.workflow, "retry", c.request, c.reply);
       }},
      // Workers, types and scheduling.
      {V::get, "/v1/workers", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.scheduling_->ListWorkers(c.request, c.reply); }},
      {V::get, "/v1/workers/connect", Caller::kWorker,
       [](LeaderTerm&, Call& c) {
         c.reply(ErrorResponse(
             InvalidArgument("/v1/workers/connect: a worker connects with a WebSocket upgrade "
                             "(docs/protocol.md)"),
             c.request.version(), c.request.keep_alive()));
       }},
      {V::post, "/v1/workers/{name}/drain", Caller::kAdmin, operation("workers", "drain")},
      {V::post, "/v1/workers/{name}/undrain", Caller::kAdmin, operation("workers", "undrain")},
      {V::get, "/v1/types", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.scheduling_->ListTypes(c.request, c.reply); }},
      {V::post, "/v1/types/{name}/pause", Caller::kAdmin, operation("types", "pause")},
      {V::post, "/v1/types/{name}/resume", Caller::kAdmin, operation("types", "resume")},
      {V::get, "/v1/scheduling", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.scheduling_->GetScheduling(c.request, c.reply); }},
      {V::post, "/v1/schedules", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.scheduling_->PutSchedule(c.who, c.request, c.reply); }},
      {V::get, "/v1/schedules", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.scheduling_->ListSchedules(c.who, c.request, c.reply); }},
      {V::get, "/v1/schedules/{name}", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.scheduling_->ScheduleCommand(c.who, c.args.name, false, c.request, c.reply);
       }},
      {V::delete_, "/v1/schedules/{name}", Caller::kUser,
       [](LeaderTerm& s, Call& c) {
         s.scheduling_->ScheduleCommand(c.who, c.args.name, true, c.request, c.reply);
       }},
      {V::post, "/v1/retention/run", Caller::kAdmin,
       [](LeaderTerm& s, Call& c) { s.RunRetention(c.request, c.reply); }},
      // The job-orchestrator endpoints.
      {V::post, "/upload", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.compat_->Upload(c.who, c.request, c.reply); }},
      {V::get, "/download/{job}", Caller::kUser, download},
      {V::head, "/download/{job}", Caller::kUser, download},
      {V::post, "/terminate/{job}", Caller::kUser,
       [](LeaderTerm& s, Call& c) { s.compat_->Terminate(c.who, c.args.job, c.request, c.reply); }},
  });
  return table;
}

}  // namespace baton::server
