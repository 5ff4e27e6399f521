#include "server/worker_hub.h"

#include <algorithm>

#include "engine/spec_json.h"
#include "server/job_json.h"

namespace baton::server {

namespace json = boost::json;

struct WorkerHub::Connection {
  // Weak: the socket owns its handlers, which own this; pending I/O owns the socket.
  std::weak_ptr<WebSocket> socket;
  Identity who;
  std::string worker_id;  // set by hello; I/O thread only
  uint64_t serial = 0;    // tells this connection from the worker's others

  void Send(std::string text) const {
    if (auto s = socket.lock()) s->Send(std::move(text));
  }
  void Close(std::string reason) const {
    if (auto s = socket.lock()) s->Close(std::move(reason));
  }
};

namespace {

std::string Quote(std::string_view s) { return json::serialize(json::string(s)); }

std::string ErrorJson(const Status& s) {
  return R"({"code":)" + Quote(StatusCodeName(s.code())) + R"(,"message":)" + Quote(s.message()) +
         "}";
}

std::string AttemptKey(engine::JobId job, engine::AttemptId attempt) {
  return R"("job":)" + std::to_string(job) + R"(,"attempt":)" + std::to_string(attempt);
}

// A whole, non-negative integer field, or an error naming it.
Result<uint64_t> Uint(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr)
    return InvalidArgument(std::string(where) + "." + std::string(key) + ": missing");
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return InvalidArgument(std::string(where) + "." + std::string(key) +
                         ": must be a non-negative integer");
}

// The attempt a message names, spoken for by the connection's worker.
Result<engine::AttemptRef> Ref(const json::object& o, std::string_view where,
                               const std::string& worker_id) {
  Result<uint64_t> job = Uint(o, "job", where);
  if (!job.ok()) return job.status();
  Result<uint64_t> attempt = Uint(o, "attempt", where);
  if (!attempt.ok()) return attempt.status();
  return engine::AttemptRef{*job, *attempt, worker_id};
}

Status OnlyFields(const json::object& o, std::initializer_list<std::string_view> known,
                  std::string_view where) {
  for (const auto& [key, value] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
      return InvalidArgument(std::string(where) + "." + std::string(key) + ": unknown field");
    }
  }
  return Status::Ok();
}

}  // namespace

bool ValidWorkerId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' ||
           ch == ':' || ch == '@';
  });
}

std::string QualifiedWorkerId(std::string_view user, std::string_view name) {
  std::string id;
  id.reserve(user.size() + 1 + name.size());
  id.append(user).append(1, ':').append(name);
  return id;
}

bool ValidQualifiedWorkerId(std::string_view id) {
  const size_t colon = id.find(':');
  return colon != std::string_view::npos &&
         Auth::ValidateUser(std::string(id.substr(0, colon))).ok() &&
         ValidWorkerId(id.substr(colon + 1));
}

Result<WebSocketHandlers> WorkerHub::Connect(const Identity& who,
                                             const std::shared_ptr<WebSocket>& socket) {
  if (!who.worker && !who.admin) {
    return PermissionDenied("only a worker or administrator token may connect as a worker");
  }
  auto c = std::make_shared<Connection>();
  c->socket = socket;
  c->who = who;
  c->serial = next_serial_.fetch_add(1) + 1;
  WebSocketHandlers h;
  h.on_message = [this, c](const std::string& text) { OnMessage(c, text); };
  h.on_close = [this, c] { OnClose(c); };
  return h;
}

void WorkerHub::Fail(const std::shared_ptr<Connection>& c, const Status& why) {
  c->Send(R"({"type":"error","error":)" + ErrorJson(why) + "}");
  c->Close(why.message());
}

void WorkerHub::OnMessage(const std::shared_ptr<Connection>& c, const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Fail(c, InvalidArgument("frame: not JSON: " + ec.message()));
  json::array messages;
  if (v.is_array()) {
    messages = std::move(v.as_array());
  } else if (v.is_object()) {
    messages.push_back(std::move(v));
  } else {
    return Fail(c, InvalidArgument("frame: must be a message object or an array of them"));
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object() || !messages[i].as_object().contains("type") ||
        !messages[i].as_object().at("type").is_string()) {
      return Fail(c, InvalidArgument("message [" + std::to_string(i) +
                                     "]: must be an object with a string \"type\""));
    }
  }
  if (c->worker_id.empty()) {
    if (messages.empty() || messages[0].as_object().at("type").as_string() != "hello") {
      return Fail(c, InvalidArgument("the first message must be hello"));
    }
    if (Status s = Hello(c, messages[0].as_object()); !s.ok()) return Fail(c, s);
    messages.erase(messages.begin());
  }
  if (messages.empty()) return;
  if (Status s = Apply(c, messages); !s.ok()) return Fail(c, s);
}

Status WorkerHub::Hello(const std::shared_ptr<Connection>& c, const json::object& o) {
  BATON_RETURN_IF_ERROR(OnlyFields(
      o, {"type", "worker", "types", "capacity", "resources", "labels", "running", "plugins"},
      "hello"));
  Worker w;
  const json::value* id = o.if_contains("worker");
  if (id == nullptr || !id->is_string() || !ValidWorkerId(id->as_string())) {
    return InvalidArgument(
        "hello.worker: must be 1 to 128 letters, digits and . _ - : @ (the worker's id)");
  }
  // Worker ids are per token user: a worker token of one user can never speak for, or replace,
  // a worker of another.
  w.dispatch.worker_id = QualifiedWorkerId(c->who.user, id->as_string());
  const json::value* types = o.if_contains("types");
  if (types == nullptr || !types->is_array() || types->as_array().empty() ||
      types->as_array().size() > options_.worker_types_max) {
    return InvalidArgument("hello.types: must be an array of 1 to " +
                           std::to_string(options_.worker_types_max) + " job type names");
  }
  for (const json::value& t : types->as_array()) {
    if (!t.is_string() || t.as_string().empty() || t.as_string().size() > 128) {
      return InvalidArgument("hello.types: each must be a job type name of 1 to 128 bytes");
    }
    w.dispatch.types.emplace_back(t.as_string());
  }
  Result<uint64_t> capacity = Uint(o, "capacity", "hello");
  if (!capacity.ok()) return capacity.status();
  if (*capacity > options_.capacity_max) {
    return InvalidArgument("hello.capacity: at most " + std::to_string(options_.capacity_max) +
                           ", got " + std::to_string(*capacity));
  }
  w.capacity = static_cast<uint32_t>(*capacity);
  engine::WorkerInfo info;
  for (const char* field : {"resources", "labels"}) {
    const json::value* r = o.if_contains(field);
    if (r == nullptr) continue;
    const std::string at = std::string("hello.") + field;
    if (r->is_object() && r->as_object().size() > options_.resources_max) {
      return InvalidArgument(at + ": at most " + std::to_string(options_.resources_max));
    }
    if (std::string_view(field) == "resources") {
      Result<engine::Resources> parsed = engine::ParseResourcesJson(*r, at);
      if (!parsed.ok()) return parsed.status();
      if (check_resources_) BATON_RETURN_IF_ERROR(check_resources_(*parsed));
      info.resources = std::move(*parsed);
      w.resources = r->as_object();
    } else {
      Result<engine::Labels> parsed = engine::ParseLabelsJson(*r, at);
      if (!parsed.ok()) return parsed.status();
      info.labels = std::move(*parsed);
      w.labels = r->as_object();
    }
  }
  std::vector<engine::AttemptId> held;
  if (const json::value* r = o.if_contains("running")) {
    if (!r->is_array()) return InvalidArgument("hello.running: must be an array");
    for (const json::value& a : r->as_array()) {
      if (!a.is_object()) return InvalidArgument("hello.running: each must be {job, attempt}");
      Result<engine::AttemptRef> ref = Ref(a.as_object(), "hello.running[]", "");
      if (!ref.ok()) return ref.status();
      held.push_back(ref->attempt_id);
    }
  }
  std::vector<engine::PluginRegistration> plugins;
  if (const json::value* list = o.if_contains("plugins")) {
    if (list->is_array()) w.plugins = list->as_array();
    if (!list->is_array() || list->as_array().size() > 64) {
      return InvalidArgument("hello.plugins: must be an array of at most 64 plugins");
    }
    for (size_t i = 0; i < list->as_array().size(); ++i) {
      const std::string at = "hello.plugins[" + std::to_string(i) + "]";
      const json::value& p = list->as_array()[i];
      if (!p.is_object()) return InvalidArgument(at + ": must be an object");
      const json::object& po = p.as_object();
      BATON_RETURN_IF_ERROR(
          OnlyFields(po, {"activity", "type", "mandatory", "order", "always_run"}, at));
      engine::PluginRegistration r;
      const json::value* activity = po.if_contains("activity");
      const json::value* type = po.if_contains("type");
      if (activity == nullptr || !activity->is_string() || activity->as_string().empty()) {
        return InvalidArgument(at + ".activity: must be the name of an activity");
      }
      if (type == nullptr || !type->is_string() ||
          std::find(w.dispatch.types.begin(), w.dispatch.types.end(), type->as_string()) ==
              w.dispatch.types.end()) {
        return InvalidArgument(at + ".type: must be one of this worker's types");
      }
      r.activity = std::string(activity->as_string());
      r.type = std::string(type->as_string());
      for (const char* flag : {"mandatory", "always_run"}) {
        if (const json::value* b = po.if_contains(flag)) {
          if (!b->is_bool()) return InvalidArgument(at + "." + flag + ": must be true or false");
          (std::string_view(flag) == "mandatory" ? r.mandatory : r.always_run) = b->as_bool();
        }
      }
      if (const json::value* order = po.if_contains("order")) {
        if (!order->is_int64() || order->as_int64() < -1000000 || order->as_int64() > 1000000) {
          return InvalidArgument(at + ".order: must be an integer (lower runs first)");
        }
        r.order = static_cast<int32_t>(order->as_int64());
      }
      plugins.push_back(std::move(r));
    }
  }
  w.user = c->who.user;
  w.connected_ms = clock_->NowMs();
  w.connection = c;
  info.id = w.dispatch.worker_id;
  info.connection = c->serial;
  info.types = w.dispatch.types;
  if (c->who.private_pool) info.owner = c->who.user;
  w.info = info;
  w.registrations = plugins;
  if (runtime_ == nullptr) {  // no engine to wait for
    w.hello_applied = true;
    w.logs_held = false;
  }
  std::shared_ptr<Connection> replaced;
  {
    // The same worker again (it reconnected before the server noticed it had gone): the new
    // connection takes over, and the old one gets nothing more.
    std::lock_guard lock(mu_);
    auto it = workers_.find(w.dispatch.worker_id);
    if (it != workers_.end()) replaced = it->second.connection;
    c->worker_id = w.dispatch.worker_id;
    workers_[c->worker_id] = std::move(w);
  }
  if (replaced) replaced->Close("replaced by a new connection of the same worker");
  if (runtime_) {
    // What the engine has running on this worker and the worker does not hold (an assignment
    // lost with an old connection, or a server restart) ends now rather than at its lease; what
    // it names and does not have (another worker's attempt) is not taken. The new connection gets
    // nothing before this has run on the engine thread (hello_applied), so only attempts that can
    // never arrive are released; the worker's re-sent outcomes, read after this hello, come after
    // it. Its log chunks wait (held_logs) until the attempts it holds are known.
    runtime_->Execute(
        [this, c, info = std::move(info), held = std::move(held),
         plugins = std::move(plugins)](engine::Engine& e) mutable {
          const std::string id = info.id;
          // Checked above against the same limits: a refusal here is a bug, not bad input.
          BATON_CHECK(e.ConnectWorker(std::move(info)).ok());
          engine::Engine::Release release = e.ReleaseWorker(id, held);
          e.RegisterPlugins(id, std::move(plugins));
          std::lock_guard lock(mu_);
          Worker* w = Own(*c);
          if (w == nullptr) return;
          for (auto& [attempt, type] : release.held) w->running.emplace(attempt, std::move(type));
          w->hello_applied = true;
        },
        [this, c](const Status&) {
          std::lock_guard lock(mu_);
          if (Worker* w = Own(*c)) FlushHeldLogs(*w);
        });
  }
  c->Send(R"({"type":"welcome","worker":)" + Quote(c->worker_id) + R"(,"server_ms":)" +
          std::to_string(clock_->NowMs()) + "}");
  if (runtime_) runtime_->Wake();  // a dispatch pass for the new slots
  return Status::Ok();
}

void WorkerHub::FlushHeldLogs(Worker& w) {
  // Under mu_, so that no chunk read later is written before these (rare: only right after a
  // hello that follows chunks).
  for (HeldLog& l : w.held_logs) {
    if (w.running.contains(l.attempt) && logs_) logs_(l.job, l.attempt, l.stream, l.data);
  }
  w.held_logs.clear();
  w.held_logs.shrink_to_fit();
  w.held_log_bytes = 0;
  w.logs_held = false;
}

Status WorkerHub::Apply(const std::shared_ptr<Connection>& c, const json::array& messages) {
  struct Op {
    enum Kind { kHeartbeat, kProgress, kComplete, kSpawn } kind;
    engine::AttemptRef ref;
    double progress = 0;
    std::string message;
    engine::Completion completion;
    uint64_t request = 0;                // kSpawn: the worker's number for it, echoed back
    std::vector<engine::JobSpec> specs;  // kSpawn
    Status refused;                      // kSpawn: refused before the engine saw it
    std::vector<engine::JobId> ids;      // kSpawn: the sub-jobs, once created
  };
  auto ops = std::make_shared<std::vector<Op>>();
  bool wake = false;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json::object& o = messages[i].as_object();
    const std::string type(o.at("type").as_string());
    const std::string& where = type;
    if (type == "heartbeat") {
      BATON_RETURN_IF_ERROR(OnlyFields(o, {"type", "attempts"}, where));
      const json::value* list = o.if_contains("attempts");
      if (list == nullptr || !list->is_array()) {
        return InvalidArgument("heartbeat.attempts: must be an array of {job, attempt}");
      }
      for (const json::value& a : list->as_array()) {
        if (!a.is_object()) return InvalidArgument("heartbeat.attempts: each must be an object");
        Result<engine::AttemptRef> ref = Ref(a.as_object(), "heartbeat.attempts[]", c->worker_id);
        if (!ref.ok()) return ref.status();
        ops->push_back(Op{Op::kHeartbeat, *ref});
      }
    } else if (type == "progress") {
      BATON_RETURN_IF_ERROR(
          OnlyFields(o, {"type", "job", "attempt", "progress", "message"}, where));
      Result<engine::AttemptRef> ref = Ref(o, where, c->worker_id);
      if (!ref.ok()) return ref.status();
      Op op{Op::kProgress, *ref};
      const json::value* p = o.if_contains("progress");
      if (p == nullptr || !p->is_number()) {
        return InvalidArgument("progress.progress: must be a number from 0 to 1");
      }
      op.progress = p->to_number<double>();
      if (const json::value* m = o.if_contains("message")) {
        if (!m->is_string()) return InvalidArgument("progress.message: must be a string");
        op.message = std::string(m->as_string());
      }
      ops->push_back(std::move(op));
    } else if (type == "complete") {
      BATON_RETURN_IF_ERROR(OnlyFields(
          o, {"type", "job", "attempt", "outcome", "result", "error", "retryable"}, where));
      Result<engine::AttemptRef> ref = Ref(o, where, c->worker_id);
      if (!ref.ok()) return ref.status();
      Op op{Op::kComplete, *ref};
      const json::value* outcome = o.if_contains("outcome");
      const std::string name =
          outcome != nullptr && outcome->is_string() ? std::string(outcome->as_string()) : "";
      if (name == "succeeded") {
        op.completion.outcome = engine::Outcome::kSucceeded;
        const json::value* result = o.if_contains("result");
        op.completion.result = result != nullptr ? json::serialize(*result) : "null";
      } else if (name == "error") {
        op.completion.outcome = engine::Outcome::kError;
        const json::value* error = o.if_contains("error");
        if (error == nullptr || !error->is_string()) {
          return InvalidArgument("complete.error: must be a string saying what went wrong");
        }
        op.completion.error = std::string(error->as_string());
        // What the failed attempt handed in, if anything: kept next to the error.
        const json::value* result = o.if_contains("result");
        op.completion.result = result != nullptr ? json::serialize(*result) : "";
        if (const json::value* r = o.if_contains("retryable")) {
          if (!r->is_bool()) return InvalidArgument("complete.retryable: must be true or false");
          op.completion.retryable = r->as_bool();
        }
      } else if (name == "declined") {
        op.completion.outcome = engine::Outcome::kDeclined;
      } else {
        return InvalidArgument("complete.outcome: must be succeeded, error or declined");
      }
      ops->push_back(std::move(op));
    } else if (type == "spawn") {
      BATON_RETURN_IF_ERROR(OnlyFields(o, {"type", "job", "attempt", "request", "jobs"}, where));
      Result<engine::AttemptRef> ref = Ref(o, where, c->worker_id);
      if (!ref.ok()) return ref.status();
      Result<uint64_t> request = Uint(o, "request", where);
      if (!request.ok()) return request.status();
      const json::value* jobs = o.if_contains("jobs");
      if (jobs == nullptr || !jobs->is_array()) {
        return InvalidArgument("spawn.jobs: must be an array of jobs (as in POST /v1/jobs)");
      }
      Op op{Op::kSpawn, *ref};
      op.request = *request;
      // What is wrong with the jobs is the sender's data, not a broken protocol: it is refused,
      // and the connection stays.
      const json::array& list = jobs->as_array();
      if (list.size() > options_.spawn_jobs_max) {
        op.refused = InvalidArgument("spawn.jobs: " + std::to_string(list.size()) +
                                     " jobs in one spawn, at most " +
                                     std::to_string(options_.spawn_jobs_max) + " (spawn_jobs_max)");
      }
      for (size_t j = 0; j < list.size() && op.refused.ok(); ++j) {
        Result<engine::JobSpec> spec =
            engine::ParseJobSpec(list[j], "spawn.jobs[" + std::to_string(j) + "]");
        if (!spec.ok()) {
          op.refused = spec.status();
          break;
        }
        // A re-sent spawn (after a reconnect) names the same sub-jobs, not new ones.
        if (spec->idempotency_key.empty()) {
          spec->idempotency_key = "spawn:" + std::to_string(ref->attempt_id) + ":" +
                                  std::to_string(*request) + ":" + std::to_string(j);
        }
        op.specs.push_back(std::move(*spec));
      }
      if (op.refused.ok() && check_specs_) {
        if (Status st = check_specs_(op.specs); !st.ok()) {
          op.refused = Status(st.code(), "spawn.jobs" + st.message());
        }
      }
      ops->push_back(std::move(op));
    } else if (type == "snapshot") {
      // The worker cannot send the partial result it was asked for; the waiting reader is told.
      BATON_RETURN_IF_ERROR(OnlyFields(o, {"type", "job", "attempt", "request", "error"}, where));
      Result<engine::AttemptRef> ref = Ref(o, where, c->worker_id);
      if (!ref.ok()) return ref.status();
      Result<uint64_t> request = Uint(o, "request", where);
      if (!request.ok()) return request.status();
      const json::value* error = o.if_contains("error");
      if (error == nullptr || !error->is_string()) {
        return InvalidArgument("snapshot.error: must be a string saying why there is none");
      }
      if (snapshot_sink_) snapshot_sink_(*request, *ref, std::string(error->as_string()));
    } else if (type == "log") {
      BATON_RETURN_IF_ERROR(OnlyFields(o, {"type", "job", "attempt", "stream", "data"}, where));
      Result<engine::AttemptRef> ref = Ref(o, where, c->worker_id);
      if (!ref.ok()) return ref.status();
      const json::value* stream = o.if_contains("stream");
      const json::value* data = o.if_contains("data");
      if (stream == nullptr || !stream->is_string() ||
          (stream->as_string() != "stdout" && stream->as_string() != "stderr")) {
        return InvalidArgument("log.stream: must be \"stdout\" or \"stderr\"");
      }
      if (data == nullptr || !data->is_string())
        return InvalidArgument("log.data: must be a string");
      bool mine;
      {
        std::lock_guard lock(mu_);
        Worker* w = Own(*c);
        if (w != nullptr && w->logs_held) {
          // Before the hello is applied the attempts it holds are not known yet: kept (bounded)
          // until they are, then written or dropped.
          const size_t size = data->as_string().size();
          if (w->held_log_bytes + size <= options_.held_log_bytes_max) {
            w->held_log_bytes += size;
            w->held_logs.push_back(HeldLog{ref->job_id, ref->attempt_id,
                                           std::string(stream->as_string()),
                                           std::string(data->as_string())});
          }
          continue;
        }
        mine = w != nullptr && w->running.contains(ref->attempt_id);
      }
      // Only the worker running the attempt writes its log; a late chunk, or one for an attempt
      // this worker does not hold, is dropped.
      if (mine && logs_) {
        logs_(ref->job_id, ref->attempt_id, std::string(stream->as_string()),
              std::string(data->as_string()));
      }
    } else if (type == "capacity") {
      BATON_RETURN_IF_ERROR(OnlyFields(o, {"type", "capacity"}, where));
      Result<uint64_t> capacity = Uint(o, "capacity", where);
      if (!capacity.ok()) return capacity.status();
      if (*capacity > options_.capacity_max) {
        return InvalidArgument("capacity.capacity: at most " +
                               std::to_string(options_.capacity_max));
      }
      std::lock_guard lock(mu_);
      if (Worker* w = Own(*c)) w->capacity = static_cast<uint32_t>(*capacity);
      wake = true;
    } else if (type == "drain") {
      BATON_RETURN_IF_ERROR(OnlyFields(o, {"type"}, where));
      std::lock_guard lock(mu_);
      if (Worker* w = Own(*c)) w->draining = true;
    } else if (type == "hello") {
      return InvalidArgument("hello: sent twice");
    } else {
      return InvalidArgument("message [" + std::to_string(i) + "]: unknown type \"" + type +
                             "\" (known: heartbeat, progress, log, complete, spawn, capacity, "
                             "drain)");
    }
  }
  if (ops->empty()) {
    if (wake && runtime_) runtime_->Wake();
    return Status::Ok();
  }
  auto statuses = std::make_shared<std::vector<Status>>();
  const std::string worker_id = c->worker_id;
  runtime_->Execute(
      [this, ops, statuses, worker_id](engine::Engine& e) {
        statuses->reserve(ops->size());
        bool freed = false;
        for (Op& op : *ops) {
          switch (op.kind) {
            case Op::kHeartbeat:
              statuses->push_back(e.Heartbeat(op.ref));
              break;
            case Op::kProgress:
              statuses->push_back(e.Progress(op.ref, op.progress, op.message));
              break;
            case Op::kComplete:
              statuses->push_back(e.Complete(op.ref, std::move(op.completion)));
              freed = true;
              break;
            case Op::kSpawn: {
              if (!op.refused.ok()) {
                statuses->push_back(op.refused);
                break;
              }
              Result<std::vector<engine::SubmitResult>> r = e.Spawn(op.ref, std::move(op.specs));
              if (r.ok()) {
                op.ids.reserve(r->size());
                for (const engine::SubmitResult& sr : *r) op.ids.push_back(sr.job_id);
              }
              statuses->push_back(r.status());
              break;
            }
          }
        }
        if (freed) {
          // The worker is done with these attempts, whether or not the engine took the
          // outcome: their slots are free for this pass's dispatch.
          std::lock_guard lock(mu_);
          auto it = workers_.find(worker_id);
          if (it != workers_.end()) {
            for (const Op& op : *ops) {
              if (op.kind == Op::kComplete) it->second.running.erase(op.ref.attempt_id);
            }
          }
        }
      },
      [c, ops, statuses](const Status& committed) {
        if (committed.code() == StatusCode::kUnavailable) {
          // Nothing was applied: the server is stopping, or its store fails. Not a refusal (the
          // worker would drop its outcome, or stop its attempt): the connection closes, and the
          // worker sends again what is unacknowledged after its next hello.
          return c->Close("the server cannot apply it now: " + committed.message());
        }
        // Completions are acknowledged once durable; anything refused is said, so the worker
        // stops an attempt that is no longer its own.
        std::string frame;
        for (size_t i = 0; i < ops->size(); ++i) {
          const Op& op = (*ops)[i];
          const Status& s = committed.ok() ? (*statuses)[i] : committed;
          std::string m;
          const std::string request =
              op.kind == Op::kSpawn ? R"(,"request":)" + std::to_string(op.request) : "";
          if (!s.ok()) {
            const char* command = op.kind == Op::kHeartbeat  ? "heartbeat"
                                  : op.kind == Op::kProgress ? "progress"
                                  : op.kind == Op::kSpawn    ? "spawn"
                                                             : "complete";
            m = R"({"type":"refused",)" + AttemptKey(op.ref.job_id, op.ref.attempt_id) +
                R"(,"command":")" + command + "\"" + request + R"(,"error":)" + ErrorJson(s) + "}";
          } else if (op.kind == Op::kSpawn) {
            m = R"({"type":"spawned",)" + AttemptKey(op.ref.job_id, op.ref.attempt_id) + request +
                R"(,"jobs":[)";
            for (size_t k = 0; k < op.ids.size(); ++k) {
              if (k > 0) m += ',';
              m += std::to_string(op.ids[k]);
            }
            m += "]}";
          } else if (op.kind == Op::kComplete) {
            m = R"({"type":"ack",)" + AttemptKey(op.ref.job_id, op.ref.attempt_id) + "}";
          } else {
            continue;
          }
          frame += frame.empty() ? "[" : ",";
          frame += m;
        }
        if (!frame.empty()) c->Send(frame + "]");
      });
  return Status::Ok();
}

WorkerHub::Worker* WorkerHub::Own(const Connection& c) {
  auto it = workers_.find(c.worker_id);
  return it != workers_.end() && it->second.connection.get() == &c ? &it->second : nullptr;
}

void WorkerHub::OnClose(const std::shared_ptr<Connection>& c) {
  std::lock_guard lock(mu_);
  // Its attempts keep their leases: if it comes back in time it reports them, else they end as
  // lost and run again.
  if (Own(*c) == nullptr) return;
  workers_.erase(c->worker_id);
  if (runtime_) {
    runtime_->Execute([id = c->worker_id,
                       serial = c->serial](engine::Engine& e) { e.DisconnectWorker(id, serial); },
                      [](const Status&) {});
  }
}

void WorkerHub::OnPass(engine::Engine& engine,
                       std::vector<std::function<void(const Status&)>>* after) {
  std::lock_guard lock(mu_);
  for (auto& [id, w] : workers_) {
    if (w.draining || !w.hello_applied || w.running.size() >= w.capacity) continue;
    w.dispatch.capacity = static_cast<uint32_t>(w.capacity - w.running.size());
    std::vector<engine::Assignment> assigned = engine.Dispatch(w.dispatch);
    if (assigned.empty()) continue;
    std::string frame = R"({"type":"assign","jobs":[)";
    std::vector<engine::AttemptId> attempts;
    attempts.reserve(assigned.size());
    for (size_t i = 0; i < assigned.size(); ++i) {
      const engine::Assignment& a = assigned[i];
      if (i > 0) frame += ',';
      frame += "{" + AttemptKey(a.job_id, a.attempt_id) + R"(,"number":)" +
               std::to_string(a.attempt) + R"(,"type":)" + Quote(a.type) + R"(,"payload":)" +
               a.payload + R"(,"timeout_ms":)" +
               std::to_string(std::max<int64_t>(a.timeout_ms, 0)) + R"(,"heartbeat_timeout_ms":)" +
               std::to_string(a.heartbeat_timeout_ms) + R"(,"lease_expires_ms":)" +
               std::to_string(a.lease_expires_ms);
      if (!a.input_files.empty()) {
        frame += R"(,"files":[)";
        for (size_t f = 0; f < a.input_files.size(); ++f) {
          if (f > 0) frame += ',';
          frame += Quote(a.input_files[f]);
        }
        frame += ']';
      }
      frame += '}';
      w.running.emplace(a.attempt_id, a.type);
      attempts.push_back(a.attempt_id);
    }
    frame += "]}";
    // Pushed only once durable: a worker never runs an attempt the store does not know.
    after->push_back([this, c = w.connection, frame = std::move(frame), id = w.dispatch.worker_id,
                      attempts = std::move(attempts)](const Status& committed) {
      if (committed.ok()) return c->Send(frame);
      std::lock_guard lock(mu_);
      auto it = workers_.find(id);
      if (it == workers_.end()) return;
      for (engine::AttemptId a : attempts) it->second.running.erase(a);
    });
  }
}

void WorkerHub::Notify(const std::vector<engine::Notice>& notices) {
  std::lock_guard lock(mu_);
  for (const engine::Notice& n : notices) {
    auto it = workers_.find(n.worker_id);
    if (it == workers_.end()) continue;
    it->second.connection->Send(R"({"type":"stop",)" + AttemptKey(n.job_id, n.attempt_id) +
                                R"(,"reason":")" + std::string(engine::OutcomeName(n.reason)) +
                                "\"}");
  }
}

bool WorkerHub::RequestSnapshot(const std::string& worker_id, engine::JobId job,
                                engine::AttemptId attempt, uint64_t request) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return false;
  it->second.connection->Send(R"({"type":"snapshot",)" + AttemptKey(job, attempt) +
                              R"(,"request":)" + std::to_string(request) + "}");
  return true;
}

json::array WorkerHub::Workers() {
  std::lock_guard lock(mu_);
  json::array out;
  for (const auto& [id, w] : workers_) {
    json::object o;
    o["id"] = w.dispatch.worker_id;  // "user:name"
    o["name"] = w.dispatch.worker_id.substr(w.user.size() + 1);
    o["user"] = w.user;
    o["private"] = !w.info.owner.empty();
    json::array types;
    for (const std::string& t : w.dispatch.types) types.emplace_back(t);
    o["types"] = std::move(types);
    o["capacity"] = w.capacity;
    o["running"] = w.running.size();
    o["draining"] = w.draining;
    o["connected_ms"] = w.connected_ms;
    o["drained"] = drained_.contains(w.dispatch.worker_id);
    o["resources"] = w.resources;
    o["labels"] = w.labels;
    o["plugins"] = w.plugins;
    out.push_back(std::move(o));
  }
  std::sort(out.begin(), out.end(), [](const json::value& a, const json::value& b) {
    return a.at("id").as_string() < b.at("id").as_string();
  });
  return out;
}

std::unordered_map<std::string, WorkerHub::TypeLoad> WorkerHub::Types() {
  std::lock_guard lock(mu_);
  std::unordered_map<std::string, TypeLoad> out;
  for (const auto& [id, w] : workers_) {
    for (const std::string& t : w.dispatch.types) {
      out[t].workers += 1;
      out[t].capacity += w.capacity;
    }
    for (const auto& [attempt, type] : w.running) {
      if (!type.empty()) out[type].running += 1;
    }
  }
  return out;
}

void WorkerHub::Reattach(engine::Engine& engine) {
  std::lock_guard lock(mu_);
  for (const auto& [id, w] : workers_) {
    BATON_CHECK(engine.ConnectWorker(w.info).ok());
    engine.RegisterPlugins(id, w.registrations);
  }
  for (const std::string& id : drained_) engine.DrainWorker(id, true);
}

void WorkerHub::SetDrained(const std::string& id, bool drained) {
  std::lock_guard lock(mu_);
  if (drained) {
    drained_.insert(id);
  } else {
    drained_.erase(id);
  }
}

void WorkerHub::CloseAll() {
  std::unordered_map<std::string, Worker> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (auto& [id, w] : workers) w.connection->Close("the server is stopping");
}

}  // namespace baton::server
