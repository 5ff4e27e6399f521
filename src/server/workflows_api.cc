#include "server/workflows_api.h"

#include <boost/json.hpp>
#include <unordered_map>

#include "server/documents.h"
#include "server/job_json.h"

namespace baton::server {

namespace {

Status WorkflowNotFound(engine::WorkflowId id) {
  return NotFound("workflow " + std::to_string(id) + ": not found");
}

const char* KindName(engine::StepPlan::Kind k) {
  switch (k) {
    case engine::StepPlan::kGate:
      return "activity";
    case engine::StepPlan::kPlugins:
      return "plugins";
    default:
      return "job";
  }
}

const char* StageName(engine::StepPlan::Stage s) {
  switch (s) {
    case engine::StepPlan::kPre:
      return "pre";
    case engine::StepPlan::kParallel:
      return "parallel";
    case engine::StepPlan::kPost:
      return "post";
    default:
      return "";
  }
}

}  // namespace

// `jobs`: the states of the running steps' jobs, as the engine has them now; a running job step
// reads its job's state (queued while its job waits on a paused type, say).
boost::json::object WorkflowToJson(
    const engine::WorkflowRecord& w,
    const std::unordered_map<engine::JobId, engine::JobState>& jobs = {}) {
  boost::json::object o;
  o["id"] = w.id;
  o["name"] = w.name;
  o["owner"] = w.owner;
  Result<engine::WorkflowPlan> plan = engine::PlanOf(w);
  o["state"] =
      engine::WorkflowStateName(plan.ok() ? engine::ReadState(*plan, w.status) : w.status.state);
  o["message"] = w.status.message;
  o["created_ms"] = w.created_ms;
  o["updated_ms"] = w.status.updated_ms;
  o["finished_ms"] = w.status.finished_ms;
  boost::json::array steps, activities;
  for (size_t i = 0; i < w.status.steps.size(); ++i) {
    const engine::StepStatus& st = w.status.steps[i];
    boost::json::object s;
    if (plan.ok()) {
      const engine::StepPlan& p = plan->steps[i];
      s["name"] = p.name;
      s["kind"] = KindName(p.kind);
      boost::json::array deps;
      for (uint32_t d : p.depends_on) deps.emplace_back(plan->steps[d].name);
      s["depends_on"] = std::move(deps);
      if (p.kind == engine::StepPlan::kJob) {
        s["type"] = p.job.type;
        s["optional"] = p.optional;
      }
      if (p.activity >= 0) {
        s["activity"] = plan->activities[static_cast<size_t>(p.activity)].name;
        if (p.stage != engine::StepPlan::kNone) s["stage"] = StageName(p.stage);
      }
      if (p.kind == engine::StepPlan::kGate) {
        boost::json::object a;
        a["name"] = p.name;
        a["state"] = engine::StepReadName(st);
        a["message"] = st.message;
        activities.push_back(std::move(a));
      }
    }
    auto job = jobs.find(st.job_id);
    if (st.state == engine::StepState::kRunning && st.job_id != 0 && job != jobs.end()) {
      s["state"] = engine::JobStateName(job->second);
    } else {
      s["state"] = engine::StepReadName(st);
    }
    s["job"] = st.job_id;
    s["runs"] = st.runs;
    s["result"] = EmbeddedJson(st.result);
    s["message"] = st.message;
    if (st.plugin_of != 0) {
      s["plugin"] = st.plugin_type;
      s["mandatory"] = st.plugin_mandatory;
      s["order"] = st.plugin_order;
    }
    steps.push_back(std::move(s));
  }
  o["steps"] = std::move(steps);
  o["activities"] = std::move(activities);
  return o;
}

void WorkflowsApi::Submit(const Identity& who, const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  // A YAML document (by its Content-Type) is stored as the JSON it reads as.
  Result<std::string> doc =
      DocumentToJson(request.body(), FormatOfContentType(request[http::field::content_type]));
  if (!doc.ok()) return reply(ErrorResponse(doc.status(), version, keep_alive));
  // Declared types are checked here, as for any submit: the type names (with --strict-types)
  // and the payloads that hold no ${...} reference (those are known only when the step starts).
  Result<engine::WorkflowPlan> plan = engine::WorkflowPlan::Parse(*doc);
  if (!plan.ok()) return reply(ErrorResponse(plan.status(), version, keep_alive));
  for (const engine::StepPlan& step : plan->steps) {
    if (step.kind != engine::StepPlan::kJob) continue;
    std::vector<engine::JobSpec> one{step.job};
    if (step.job.payload.find("${") != std::string::npos) {
      if (!types_->strict() || types_->Find(step.job.type) != nullptr) continue;
      one.front().payload = "{}";
    }
    if (Status s = types_->Apply(one, false); !s.ok()) {
      return reply(ErrorResponse(Status(s.code(), "steps." + step.name + "." + s.message()),
                                 version, keep_alive));
    }
  }
  auto id = std::make_shared<Result<engine::WorkflowId>>(Status(StatusCode::kInternal, "not run"));
  runtime_->Execute(
      // Parsed here, on the HTTP thread: the engine's thread takes the plan as it is.
      [id, owner = who.user, doc = std::move(*doc),
       plan = std::move(*plan)](engine::Engine& e) mutable {
        *id = e.SubmitWorkflow(owner, std::move(doc), std::move(plan));
      },
      [id, reply, version, keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        if (!id->ok()) return reply(ErrorResponse(id->status(), version, keep_alive));
        boost::json::object o;
        o["id"] = **id;
        reply(JsonResponse(http::status::created, boost::json::serialize(o), version, keep_alive));
      });
}

void WorkflowsApi::Get(const Identity& who, engine::WorkflowId id, const HttpRequest& request,
                       const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto found = std::make_shared<std::optional<engine::WorkflowRecord>>();
  auto jobs = std::make_shared<std::unordered_map<engine::JobId, engine::JobState>>();
  runtime_->Execute(
      [found, jobs, id](engine::Engine& e) {
        const engine::WorkflowRecord* w = e.FindWorkflow(id);
        if (w == nullptr) return;
        *found = *w;
        for (const engine::StepStatus& st : w->status.steps) {
          if (st.state != engine::StepState::kRunning || st.job_id == 0) continue;
          if (const engine::JobRecord* job = e.Find(st.job_id)) {
            (*jobs)[st.job_id] = job->status.state;
          }
        }
      },
      [this, found, jobs, id, who, reply, version, keep_alive](const Status& committed) {
        blocking_->Post([this, found, jobs, id, who, committed, reply, version, keep_alive] {
          if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
          if (!found->has_value()) {
            Result<engine::WorkflowRecord> stored =
                reader_->With([id](store::Store& r) { return r.GetWorkflow(id); });
            if (!stored.ok()) return reply(ErrorResponse(stored.status(), version, keep_alive));
            *found = std::move(*stored);
          }
          if (!May(who, Access::kRead, (*found)->owner)) {
            return reply(ErrorResponse(WorkflowNotFound(id), version, keep_alive));
          }
          reply(JsonResponse(http::status::ok,
                             boost::json::serialize(WorkflowToJson(**found, *jobs)), version,
                             keep_alive));
        });
      });
}

void WorkflowsApi::Command(const Identity& who, engine::WorkflowId id, const std::string& action,
                           const HttpRequest& request, const Reply& reply,
                           const std::shared_ptr<engine::WorkflowRecord>& preload) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  Result<std::string> reason = ParseReason(request.body());
  if (!reason.ok()) return reply(ErrorResponse(reason.status(), version, keep_alive));
  struct Outcome {
    bool missing = false;
    Status status;
    std::optional<engine::WorkflowRecord> after;
  };
  auto out = std::make_shared<Outcome>();
  runtime_->Execute(
      [out, who, id, action, reason = *reason, preload](engine::Engine& e) {
        if (preload) {
          if (Status s = e.LoadWorkflow(*preload); !s.ok()) {
            out->status = s;
            return;
          }
        }
        const engine::WorkflowRecord* w = e.FindWorkflow(id);
        if (w == nullptr) {
          out->missing = true;
          return;
        }
        if (!May(who, Access::kTouch, w->owner)) {
          out->status = WorkflowNotFound(id);
          return;
        }
        out->status = action == "cancel" ? e.CancelWorkflow(id, reason) : e.RetryWorkflow(id);
        if (const engine::WorkflowRecord* now = e.FindWorkflow(id)) out->after = *now;
      },
      [this, out, who, id, action, preload, request, reply, version,
       keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        if (out->missing && !preload) {
          // Finished long ago: bring it back from the store, then try once more.
          blocking_->Post([this, who, id, action, request, reply, version, keep_alive] {
            Result<engine::WorkflowRecord> stored =
                reader_->With([&](store::Store& r) { return r.GetWorkflow(id); });
            if (!stored.ok()) return reply(ErrorResponse(stored.status(), version, keep_alive));
            if (!May(who, Access::kTouch, stored->owner)) {
              return reply(ErrorResponse(WorkflowNotFound(id), version, keep_alive));
            }
            Command(who, id, action, request, reply,
                    std::make_shared<engine::WorkflowRecord>(std::move(*stored)));
          });
          return;
        }
        if (out->missing) return reply(ErrorResponse(WorkflowNotFound(id), version, keep_alive));
        if (!out->status.ok()) return reply(ErrorResponse(out->status, version, keep_alive));
        reply(JsonResponse(http::status::ok, boost::json::serialize(WorkflowToJson(*out->after)),
                           version, keep_alive));
      });
}

}  // namespace baton::server
