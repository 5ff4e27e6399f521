#include "server/worker_hub.h"

#include <algorithm>

#include "engine/spec_json.h"
#include "protocol/frames.h"
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

protocol::AttemptKey KeyOf(const engine::AttemptRef& ref) { return {ref.job_id, ref.attempt_id}; }

}  // namespace

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
         protocol::ValidWorkerName(id.substr(colon + 1));
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
  c->Send(protocol::Serialize(protocol::ServerMessage(protocol::Error{why.code(), why.message()})));
  c->Close(why.message());
}

void WorkerHub::OnMessage(const std::shared_ptr<Connection>& c, const std::string& text) {
  // The whole frame is read before any of it is applied: a broken frame changes nothing.
  Result<std::vector<protocol::WorkerMessage>> messages = protocol::ParseWorkerFrame(
      text, {options_.worker_types_max, options_.capacity_max, options_.resources_max, 64});
  if (!messages.ok()) return Fail(c, messages.status());
  size_t first = 0;
  if (c->worker_id.empty()) {
    const protocol::Hello* hello =
        messages->empty() ? nullptr : std::get_if<protocol::Hello>(&(*messages)[0]);
    if (hello == nullptr) return Fail(c, InvalidArgument("the first message must be hello"));
    if (Status s = Hello(c, *hello); !s.ok()) return Fail(c, s);
    first = 1;
  }
  if (first == messages->size()) return;
  if (Status s = Apply(c, *messages, first); !s.ok()) return Fail(c, s);
}

Status WorkerHub::Hello(const std::shared_ptr<Connection>& c, const protocol::Hello& hello) {
  Worker w;
  // Worker ids are per token user: a worker token of one user can never speak for, or replace,
  // a worker of another.
  w.dispatch.worker_id = QualifiedWorkerId(c->who.user, hello.worker);
  w.dispatch.types = hello.types;
  w.capacity = hello.capacity;
  engine::WorkerInfo info;
  if (hello.resources) {
    Result<engine::Resources> parsed =
        engine::ParseResourcesJson(json::value(*hello.resources), "hello.resources");
    if (!parsed.ok()) return parsed.status();
    if (check_resources_) BATON_RETURN_IF_ERROR(check_resources_(*parsed));
    info.resources = std::move(*parsed);
    w.resources = *hello.resources;
  }
  if (hello.labels) {
    Result<engine::Labels> parsed =
        engine::ParseLabelsJson(json::value(*hello.labels), "hello.labels");
    if (!parsed.ok()) return parsed.status();
    info.labels = std::move(*parsed);
    w.labels = *hello.labels;
  }
  std::vector<engine::AttemptId> held;
  held.reserve(hello.running.size());
  for (const protocol::AttemptKey& k : hello.running) held.push_back(k.attempt);
  std::vector<engine::PluginRegistration> plugins;
  for (const protocol::Plugin& p : hello.plugins) {
    plugins.push_back({p.activity, p.type, p.mandatory, p.order, p.always_run});
    w.plugins.push_back(json::object{{"activity", p.activity},
                                     {"type", p.type},
                                     {"mandatory", p.mandatory},
                                     {"order", p.order},
                                     {"always_run", p.always_run}});
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
        [this, c](const Status& applied) {
          {
            std::lock_guard lock(mu_);
            Worker* w = Own(*c);
            if (w == nullptr) return;
            FlushHeldLogs(*w);
            if (applied.ok()) return;
          }
          // Refused (the store was failing or the server stopping) or lost with a failed commit:
          // the engine may not know this connection, so nothing would ever be dispatched to it.
          // The worker connects again and says hello anew.
          c->Close("hello not applied, connect again: " + applied.message());
        });
  }
  c->Send(protocol::Serialize(
      protocol::ServerMessage(protocol::Welcome{c->worker_id, clock_->NowMs()})));
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

// An engine command taken from a worker's frame: applied with the frame's others on the engine
// thread, and answered after their commit.
struct WorkerHub::Op {
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

namespace {

engine::Completion CompletionOf(protocol::Complete& m) {
  engine::Completion c;
  switch (m.outcome) {
    case protocol::Complete::kSucceeded:
      c.outcome = engine::Outcome::kSucceeded;
      c.result = m.result.empty() ? "null" : std::move(m.result);
      break;
    case protocol::Complete::kError:
      c.outcome = engine::Outcome::kError;
      c.error = std::move(m.error);
      c.result = std::move(m.result);  // what the failed attempt handed in, kept with the error
      c.retryable = m.retryable;
      break;
    case protocol::Complete::kDeclined:
      c.outcome = engine::Outcome::kDeclined;
      break;
  }
  return c;
}

}  // namespace

WorkerHub::Op WorkerHub::SpawnOp(const engine::AttemptRef& ref, const protocol::Spawn& m) const {
  Op op{Op::kSpawn, ref};
  op.request = m.request;
  // What is wrong with the jobs is the sender's data, not a broken protocol: it is refused, and
  // the connection stays.
  if (m.jobs.size() > options_.spawn_jobs_max) {
    op.refused = InvalidArgument("spawn.jobs: " + std::to_string(m.jobs.size()) +
                                 " jobs in one spawn, at most " +
                                 std::to_string(options_.spawn_jobs_max) + " (spawn_jobs_max)");
    return op;
  }
  for (size_t j = 0; j < m.jobs.size(); ++j) {
    Result<engine::JobSpec> spec =
        engine::ParseJobSpec(m.jobs[j], "spawn.jobs[" + std::to_string(j) + "]");
    if (!spec.ok()) {
      op.refused = spec.status();
      return op;
    }
    // A re-sent spawn (after a reconnect) names the same sub-jobs, not new ones.
    if (spec->idempotency_key.empty()) {
      spec->idempotency_key = "spawn:" + std::to_string(ref.attempt_id) + ":" +
                              std::to_string(m.request) + ":" + std::to_string(j);
    }
    op.specs.push_back(std::move(*spec));
  }
  if (check_specs_) {
    if (Status st = check_specs_(op.specs); !st.ok()) {
      op.refused = Status(st.code(), "spawn.jobs" + st.message());
    }
  }
  return op;
}

void WorkerHub::TakeLog(const Connection& c, protocol::Log& m) {
  {
    std::lock_guard lock(mu_);
    Worker* w = Own(c);
    if (w != nullptr && w->logs_held) {
      // Before the hello is applied the attempts it holds are not known yet: kept (bounded)
      // until they are, then written or dropped.
      if (w->held_log_bytes + m.data.size() <= options_.held_log_bytes_max) {
        w->held_log_bytes += m.data.size();
        w->held_logs.push_back(
            HeldLog{m.key.job, m.key.attempt, std::move(m.stream), std::move(m.data)});
      }
      return;
    }
    // Only the worker running the attempt writes its log; a late chunk, or one for an attempt
    // this worker does not hold, is dropped.
    if (w == nullptr || !w->running.contains(m.key.attempt)) return;
  }
  if (logs_) logs_(m.key.job, m.key.attempt, m.stream, m.data);
}

Status WorkerHub::Apply(const std::shared_ptr<Connection>& c,
                        std::vector<protocol::WorkerMessage>& messages, size_t first) {
  auto ops = std::make_shared<std::vector<Op>>();
  bool wake = false;
  auto ref = [&c](const protocol::AttemptKey& k) {
    return engine::AttemptRef{k.job, k.attempt, c->worker_id};
  };
  for (size_t i = first; i < messages.size(); ++i) {
    protocol::WorkerMessage& message = messages[i];
    if (auto* m = std::get_if<protocol::Heartbeat>(&message)) {
      for (const protocol::AttemptKey& k : m->attempts) ops->push_back(Op{Op::kHeartbeat, ref(k)});
    } else if (auto* m = std::get_if<protocol::Progress>(&message)) {
      Op op{Op::kProgress, ref(m->key)};
      op.progress = m->progress;
      op.message = std::move(m->message);
      ops->push_back(std::move(op));
    } else if (auto* m = std::get_if<protocol::Complete>(&message)) {
      Op op{Op::kComplete, ref(m->key)};
      op.completion = CompletionOf(*m);
      ops->push_back(std::move(op));
    } else if (auto* m = std::get_if<protocol::Spawn>(&message)) {
      ops->push_back(SpawnOp(ref(m->key), *m));
    } else if (auto* m = std::get_if<protocol::SnapshotFailed>(&message)) {
      // The worker cannot send the partial result it was asked for; the waiting reader is told.
      if (snapshot_sink_) snapshot_sink_(m->request, ref(m->key), m->error);
    } else if (auto* m = std::get_if<protocol::Log>(&message)) {
      TakeLog(*c, *m);
    } else if (auto* m = std::get_if<protocol::Capacity>(&message)) {
      std::lock_guard lock(mu_);
      if (Worker* w = Own(*c)) w->capacity = m->capacity;
      wake = true;
    } else if (std::holds_alternative<protocol::Drain>(message)) {
      std::lock_guard lock(mu_);
      if (Worker* w = Own(*c)) w->draining = true;
    } else {
      return InvalidArgument("hello: sent twice");
    }
  }
  if (ops->empty()) {
    if (wake && runtime_) runtime_->Wake();
    return Status::Ok();
  }
  RunOps(c, ops);
  return Status::Ok();
}

void WorkerHub::RunOps(const std::shared_ptr<Connection>& c,
                       const std::shared_ptr<std::vector<Op>>& ops) {
  auto statuses = std::make_shared<std::vector<Status>>();
  runtime_->Execute(
      [this, ops, statuses, worker_id = c->worker_id](engine::Engine& e) {
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
        std::vector<protocol::ServerMessage> answers = Answers(*ops, *statuses, committed);
        if (!answers.empty()) c->Send(protocol::SerializeFrame(answers));
      });
}

// Completions are acknowledged once durable, spawns answered with their sub-jobs; anything
// refused is said, so the worker stops an attempt that is no longer its own.
std::vector<protocol::ServerMessage> WorkerHub::Answers(const std::vector<Op>& ops,
                                                        const std::vector<Status>& statuses,
                                                        const Status& committed) {
  std::vector<protocol::ServerMessage> answers;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    const Status& s = committed.ok() ? statuses[i] : committed;
    if (!s.ok()) {
      static constexpr const char* kCommands[] = {"heartbeat", "progress", "complete", "spawn"};
      protocol::Refused r{KeyOf(op.ref), kCommands[op.kind], std::nullopt, s.code(), s.message()};
      if (op.kind == Op::kSpawn) r.request = op.request;
      answers.emplace_back(std::move(r));
    } else if (op.kind == Op::kSpawn) {
      answers.emplace_back(protocol::Spawned{KeyOf(op.ref), op.request, op.ids});
    } else if (op.kind == Op::kComplete) {
      answers.emplace_back(protocol::Ack{KeyOf(op.ref)});
    }
  }
  return answers;
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
    protocol::Assign assign;
    assign.jobs.reserve(assigned.size());
    std::vector<engine::AttemptId> attempts;
    attempts.reserve(assigned.size());
    for (engine::Assignment& a : assigned) {
      w.running.emplace(a.attempt_id, a.type);
      attempts.push_back(a.attempt_id);
      assign.jobs.push_back(protocol::AssignedJob{{a.job_id, a.attempt_id},
                                                  a.attempt,
                                                  std::move(a.type),
                                                  std::move(a.payload),
                                                  std::max<int64_t>(a.timeout_ms, 0),
                                                  a.heartbeat_timeout_ms,
                                                  a.lease_expires_ms,
                                                  std::move(a.input_files)});
    }
    std::string frame = protocol::Serialize(protocol::ServerMessage(std::move(assign)));
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
    it->second.connection->Send(protocol::Serialize(protocol::ServerMessage(
        protocol::Stop{{n.job_id, n.attempt_id}, std::string(engine::OutcomeName(n.reason))})));
  }
}

bool WorkerHub::RequestSnapshot(const std::string& worker_id, engine::JobId job,
                                engine::AttemptId attempt, uint64_t request) {
  std::lock_guard lock(mu_);
  auto it = workers_.find(worker_id);
  if (it == workers_.end()) return false;
  it->second.connection->Send(protocol::Serialize(
      protocol::ServerMessage(protocol::SnapshotRequest{{job, attempt}, request})));
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

void WorkerHub::HookInto(RuntimeOptions& options) {
  options.on_engine = [this, before = std::move(options.on_engine)](engine::Engine& e) {
    if (before) before(e);
    Reattach(e);
  };
  options.on_pass = [this](engine::Engine& e, auto* after) { OnPass(e, after); };
  options.on_notices = [this](const std::vector<engine::Notice>& n) { Notify(n); };
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
