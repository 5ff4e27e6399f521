#include "server/scheduling_api.h"

#include <boost/json.hpp>
#include <limits>

#include "engine/spec_json.h"
#include "server/config.h"
#include "server/documents.h"
#include "server/job_json.h"

namespace baton::server {

namespace json = boost::json;

namespace {

Status ScheduleNotFound(const std::string& name) {
  return NotFound("schedule " + name + ": not found");
}

json::object ScheduleJson(const engine::ScheduleRecord& r, int64_t next_ms) {
  json::object o;
  o["name"] = r.name;
  o["owner"] = r.owner;
  o["cron"] = r.cron;
  o["time_zone"] = r.time_zone;
  o["catch_up"] = engine::CatchUpName(r.catch_up);
  boost::system::error_code ec;
  json::value job = json::parse(r.job, ec);
  o["job"] = ec ? json::value(r.job) : job;
  o["paused"] = r.paused;
  o["created_ms"] = r.created_ms;
  o["last_tick_ms"] = r.last_tick_ms;
  if (next_ms == std::numeric_limits<int64_t>::max()) {
    o["next_tick_ms"] = nullptr;
  } else {
    o["next_tick_ms"] = next_ms;
  }
  o["jobs_created"] = r.jobs_created;
  o["last_job_id"] = r.last_job_id;
  o["last_error"] = r.last_error;
  return o;
}

}  // namespace

void SchedulingApi::GetScheduling(const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto out = std::make_shared<json::object>();
  (*out)["retention"] = RetentionPolicyJson(config_->retention);
  runtime_->Execute(
      [out](engine::Engine& e) {
        (*out)["policy"] = SchedulingPolicyJson(e.policy());
        json::array paused;
        for (const std::string& t : e.paused_types()) paused.emplace_back(t);
        (*out)["paused_types"] = std::move(paused);
        json::object types;
        for (const auto& [name, queued] : e.QueuedByType()) {
          types[name] = {{"queued", queued}, {"running", e.scheduler().RunningOfType(name)}};
        }
        (*out)["types"] = std::move(types);
      },
      [out, reply, version, keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        reply(JsonResponse(http::status::ok, json::serialize(*out), version, keep_alive));
      });
}

void SchedulingApi::OperationsCommand(const std::string& what, const std::string& name,
                                      const std::string& action, const HttpRequest& request,
                                      const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  const bool on = action == "pause" || action == "drain";
  if (what == "workers") {
    if (!ValidQualifiedWorkerId(name)) {
      return reply(ErrorResponse(
          InvalidArgument("worker: must be a worker's id as GET /v1/workers lists it: its token's "
                          "user, ':' and its name (1 to 128 letters, digits and . _ - : @)"),
          version, keep_alive));
    }
    hub_->SetDrained(name, on);
  }
  auto done = std::make_shared<Status>();
  runtime_->Execute(
      [what, name, on, done](engine::Engine& e) {
        if (what == "types") {
          *done = e.PauseType(name, on);
        } else {
          e.DrainWorker(name, on);
        }
      },
      [what, name, on, done, reply, version, keep_alive](const Status& committed) {
        const Status& s = !done->ok() ? *done : committed;
        if (!s.ok()) return reply(ErrorResponse(s, version, keep_alive));
        json::object o;
        if (what == "types") {
          o["type"] = name;
          o["paused"] = on;
        } else {
          o["worker"] = name;
          o["drained"] = on;
        }
        reply(JsonResponse(http::status::ok, json::serialize(o), version, keep_alive));
      });
}

void SchedulingApi::PutSchedule(const Identity& who, const HttpRequest& request, Reply reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto fail = [&](const Status& s) { reply(ErrorResponse(s, version, keep_alive)); };
  Result<std::string> doc =
      DocumentToJson(request.body(), FormatOfContentType(request[http::field::content_type]));
  if (!doc.ok()) return fail(doc.status());
  boost::system::error_code ec;
  json::value v = json::parse(*doc, ec);
  if (ec) return fail(InvalidArgument("body: not JSON: " + ec.message()));
  Result<engine::ScheduleRecord> rec = ParseSchedule(v, "");
  if (!rec.ok()) return fail(rec.status());
  if (!rec->owner.empty() && !May(who, Access::kTouch, rec->owner)) {
    return fail(PermissionDenied(
        "owner: a schedule is made in its maker's name (or an end user's of the maker's "
        "account); only an administrator may make one for another user"));
  }
  if (rec->owner.empty()) rec->owner = who.user;
  Result<engine::ScheduleRecord> checked = CheckScheduleJob(std::move(*rec));
  if (!checked.ok()) return fail(checked.status());
  auto out = std::make_shared<Result<json::object>>(Status(StatusCode::kInternal, "not run"));
  runtime_->Execute(
      [out, rec = std::move(*checked)](engine::Engine& e) mutable {
        const std::string name = rec.name;
        Status s = e.PutSchedule(std::move(rec));
        if (!s.ok()) {
          *out = s;
          return;
        }
        *out = ScheduleJson(*e.FindSchedule(name), e.ScheduleNextMs(name));
      },
      [out, reply, version, keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        if (!out->ok()) return reply(ErrorResponse(out->status(), version, keep_alive));
        reply(JsonResponse(http::status::ok, json::serialize(**out), version, keep_alive));
      });
}

Result<engine::ScheduleRecord> SchedulingApi::CheckScheduleJob(engine::ScheduleRecord rec) const {
  // The job template is checked against its declared type here, as a submit would be, and
  // stored with the type's defaults filled in.
  boost::system::error_code ec;
  json::value job = json::parse(rec.job, ec);
  if (ec) return InvalidArgument("job: not JSON");
  Result<engine::JobSpec> spec = engine::ParseJobSpec(job, "job");
  if (!spec.ok()) return spec.status();
  std::vector<engine::JobSpec> one{std::move(*spec)};
  if (Status s = types_->Apply(one, false); !s.ok()) return Status(s.code(), "job." + s.message());
  job.as_object()["payload"] = json::parse(one.front().payload);
  rec.job = json::serialize(job);
  return rec;
}

void SchedulingApi::ScheduleCommand(const Identity& who, const std::string& name, bool remove,
                                    const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto out = std::make_shared<Result<json::object>>(Status(StatusCode::kInternal, "not run"));
  runtime_->Execute(
      [out, who, name, remove](engine::Engine& e) {
        const engine::ScheduleRecord* r = e.FindSchedule(name);
        if (r == nullptr || !May(who, remove ? Access::kTouch : Access::kRead, r->owner)) {
          *out = ScheduleNotFound(name);
          return;
        }
        *out = ScheduleJson(*r, e.ScheduleNextMs(name));
        if (remove) (void)e.DeleteSchedule(name);
      },
      [out, reply, version, keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        if (!out->ok()) return reply(ErrorResponse(out->status(), version, keep_alive));
        reply(JsonResponse(http::status::ok, json::serialize(**out), version, keep_alive));
      });
}

void SchedulingApi::ListSchedules(const Identity& who, const HttpRequest& request,
                                  const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto out = std::make_shared<json::array>();
  runtime_->Execute(
      [out, who](engine::Engine& e) {
        for (const engine::ScheduleRecord* r : e.Schedules()) {
          if (May(who, Access::kRead, r->owner)) {
            out->push_back(ScheduleJson(*r, e.ScheduleNextMs(r->name)));
          }
        }
      },
      [out, reply, version, keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        json::object o;
        o["schedules"] = std::move(*out);
        reply(JsonResponse(http::status::ok, json::serialize(o), version, keep_alive));
      });
}

void SchedulingApi::ListTypes(const HttpRequest& request, const Reply& reply) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  auto counts = std::make_shared<std::vector<std::pair<std::string, size_t>>>();
  runtime_->Execute(
      [counts](engine::Engine& e) { *counts = e.QueuedByType(); },
      [this, counts, reply, version, keep_alive](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        std::map<std::string, boost::json::object> types;
        for (const auto& [name, queued] : *counts) types[name]["queued"] = queued;
        for (const auto& [name, declared] : types_->types())
          types[name]["declaration"] = declared.source;
        for (const auto& [name, load] : hub_->Types()) {
          boost::json::object& o = types[name];
          o["workers"] = load.workers;
          o["capacity"] = load.capacity;
          o["running"] = load.running;
        }
        boost::json::array out;
        for (auto& [name, o] : types) {
          for (const char* key : {"queued", "workers", "capacity", "running"}) {
            if (!o.contains(key)) o[key] = 0;
          }
          o["name"] = name;
          out.push_back(std::move(o));
        }
        boost::json::object body;
        body["types"] = std::move(out);
        reply(JsonResponse(http::status::ok, boost::json::serialize(body), version, keep_alive));
      });
}

void SchedulingApi::ListWorkers(const HttpRequest& request, const Reply& reply) {
  json::object o;
  o["workers"] = hub_->Workers();
  reply(
      JsonResponse(http::status::ok, json::serialize(o), request.version(), request.keep_alive()));
}

}  // namespace baton::server
