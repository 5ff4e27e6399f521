#include "protocol/frames.h"

#include <algorithm>
#include <charconv>

namespace baton::protocol {

namespace json = boost::json;

namespace {

// ---- Reading ----

std::string Field(std::string_view where, std::string_view key) {
  std::string f(where);
  f += '.';
  f += key;
  return f;
}

Status OnlyFields(const json::object& o, std::initializer_list<std::string_view> known,
                  std::string_view where) {
  for (const auto& [key, value] : o) {
    if (key == "type") continue;
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
      return InvalidArgument(Field(where, key) + ": unknown field");
    }
  }
  return Status::Ok();
}

// A whole, non-negative integer field, or an error naming it.
Result<uint64_t> Uint(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return InvalidArgument(Field(where, key) + ": missing");
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<uint64_t>(v->as_int64());
  return InvalidArgument(Field(where, key) + ": must be a non-negative integer");
}

Result<int64_t> Int(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return InvalidArgument(Field(where, key) + ": missing");
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v->as_uint64());
  }
  return InvalidArgument(Field(where, key) + ": must be an integer");
}

Result<std::string> Text(const json::object& o, std::string_view key, std::string_view where,
                         std::string_view what) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) {
    return InvalidArgument(Field(where, key) + ": must be " + std::string(what));
  }
  return std::string(v->as_string());
}

Result<AttemptKey> Key(const json::object& o, std::string_view where) {
  Result<uint64_t> job = Uint(o, "job", where);
  if (!job.ok()) return job.status();
  Result<uint64_t> attempt = Uint(o, "attempt", where);
  if (!attempt.ok()) return attempt.status();
  return AttemptKey{*job, *attempt};
}

// [{job, attempt}], each with no other field.
Result<std::vector<AttemptKey>> Keys(const json::value* list, std::string_view where) {
  if (list == nullptr || !list->is_array()) {
    return InvalidArgument(std::string(where) + ": must be an array of {job, attempt}");
  }
  std::vector<AttemptKey> keys;
  keys.reserve(list->as_array().size());
  const std::string each = std::string(where) + "[]";
  for (const json::value& a : list->as_array()) {
    if (!a.is_object()) return InvalidArgument(std::string(where) + ": each must be an object");
    BATON_RETURN_IF_ERROR(OnlyFields(a.as_object(), {"job", "attempt"}, each));
    Result<AttemptKey> key = Key(a.as_object(), each);
    if (!key.ok()) return key.status();
    keys.push_back(*key);
  }
  return keys;
}

Result<uint32_t> CapacityOf(const json::object& o, std::string_view where,
                            const ParseLimits& limits) {
  Result<uint64_t> capacity = Uint(o, "capacity", where);
  if (!capacity.ok()) return capacity.status();
  if (*capacity > limits.capacity_max) {
    return InvalidArgument(Field(where, "capacity") + ": at most " +
                           std::to_string(limits.capacity_max) + ", got " +
                           std::to_string(*capacity));
  }
  return static_cast<uint32_t>(*capacity);
}

Result<Plugin> ParsePlugin(const json::value& p, const std::string& at,
                           const std::vector<std::string>& types) {
  if (!p.is_object()) return InvalidArgument(at + ": must be an object");
  const json::object& o = p.as_object();
  BATON_RETURN_IF_ERROR(
      OnlyFields(o, {"activity", "type", "mandatory", "order", "always_run"}, at));
  Plugin plugin;
  const json::value* activity = o.if_contains("activity");
  const json::value* type = o.if_contains("type");
  if (activity == nullptr || !activity->is_string() || activity->as_string().empty()) {
    return InvalidArgument(at + ".activity: must be the name of an activity");
  }
  if (type == nullptr || !type->is_string() ||
      std::find(types.begin(), types.end(), type->as_string()) == types.end()) {
    return InvalidArgument(at + ".type: must be one of this worker's types");
  }
  plugin.activity = std::string(activity->as_string());
  plugin.type = std::string(type->as_string());
  for (const char* flag : {"mandatory", "always_run"}) {
    if (const json::value* b = o.if_contains(flag)) {
      if (!b->is_bool()) return InvalidArgument(at + "." + flag + ": must be true or false");
      (std::string_view(flag) == "mandatory" ? plugin.mandatory : plugin.always_run) = b->as_bool();
    }
  }
  if (const json::value* order = o.if_contains("order")) {
    if (!order->is_int64() || order->as_int64() < -1000000 || order->as_int64() > 1000000) {
      return InvalidArgument(at + ".order: must be an integer (lower runs first)");
    }
    plugin.order = static_cast<int32_t>(order->as_int64());
  }
  return plugin;
}

Result<WorkerMessage> ParseHello(const json::object& o, const ParseLimits& limits) {
  BATON_RETURN_IF_ERROR(OnlyFields(
      o, {"worker", "types", "capacity", "resources", "labels", "running", "plugins"}, "hello"));
  Hello h;
  const json::value* name = o.if_contains("worker");
  if (name == nullptr || !name->is_string() || !ValidWorkerName(name->as_string())) {
    return InvalidArgument(
        "hello.worker: must be 1 to 128 letters, digits and . _ - : @ (the worker's id)");
  }
  h.worker = std::string(name->as_string());
  const json::value* types = o.if_contains("types");
  if (types == nullptr || !types->is_array() || types->as_array().empty() ||
      types->as_array().size() > limits.types_max) {
    return InvalidArgument("hello.types: must be an array of 1 to " +
                           std::to_string(limits.types_max) + " job type names");
  }
  for (const json::value& t : types->as_array()) {
    if (!t.is_string() || t.as_string().empty() || t.as_string().size() > 128) {
      return InvalidArgument("hello.types: each must be a job type name of 1 to 128 bytes");
    }
    h.types.emplace_back(t.as_string());
  }
  Result<uint32_t> capacity = CapacityOf(o, "hello", limits);
  if (!capacity.ok()) return capacity.status();
  h.capacity = *capacity;
  for (const char* field : {"resources", "labels"}) {
    const json::value* r = o.if_contains(field);
    if (r == nullptr) continue;
    const std::string at = std::string("hello.") + field;
    if (!r->is_object()) return InvalidArgument(at + ": must be an object");
    if (r->as_object().size() > limits.resources_max) {
      return InvalidArgument(at + ": at most " + std::to_string(limits.resources_max));
    }
    (std::string_view(field) == "resources" ? h.resources : h.labels) = r->as_object();
  }
  if (o.contains("running")) {
    Result<std::vector<AttemptKey>> running = Keys(o.if_contains("running"), "hello.running");
    if (!running.ok()) return running.status();
    h.running = std::move(*running);
  }
  if (const json::value* list = o.if_contains("plugins")) {
    if (!list->is_array() || list->as_array().size() > limits.plugins_max) {
      return InvalidArgument("hello.plugins: must be an array of at most " +
                             std::to_string(limits.plugins_max) + " plugins");
    }
    for (size_t i = 0; i < list->as_array().size(); ++i) {
      Result<Plugin> p =
          ParsePlugin(list->as_array()[i], "hello.plugins[" + std::to_string(i) + "]", h.types);
      if (!p.ok()) return p.status();
      h.plugins.push_back(std::move(*p));
    }
  }
  return WorkerMessage(h);
}

Result<WorkerMessage> ParseComplete(const json::object& o) {
  BATON_RETURN_IF_ERROR(
      OnlyFields(o, {"job", "attempt", "outcome", "result", "error", "retryable"}, "complete"));
  Result<AttemptKey> key = Key(o, "complete");
  if (!key.ok()) return key.status();
  Complete c;
  c.key = *key;
  const json::value* outcome = o.if_contains("outcome");
  const std::string_view name =
      outcome != nullptr && outcome->is_string() ? std::string_view(outcome->as_string()) : "";
  const json::value* result = o.if_contains("result");
  if (result != nullptr) c.result = json::serialize(*result);
  if (name == "succeeded") {
    c.outcome = Complete::kSucceeded;
  } else if (name == "error") {
    c.outcome = Complete::kError;
    Result<std::string> error = Text(o, "error", "complete", "a string saying what went wrong");
    if (!error.ok()) return error.status();
    c.error = std::move(*error);
    if (const json::value* r = o.if_contains("retryable")) {
      if (!r->is_bool()) return InvalidArgument("complete.retryable: must be true or false");
      c.retryable = r->as_bool();
    }
  } else if (name == "declined") {
    c.outcome = Complete::kDeclined;
    c.result.clear();
  } else {
    return InvalidArgument("complete.outcome: must be succeeded, error or declined");
  }
  return WorkerMessage(c);
}

Result<WorkerMessage> ParseWorkerMessage(const json::object& o, std::string_view type,
                                         const ParseLimits& limits) {
  if (type == "hello") return ParseHello(o, limits);
  if (type == "heartbeat") {
    BATON_RETURN_IF_ERROR(OnlyFields(o, {"attempts"}, "heartbeat"));
    Result<std::vector<AttemptKey>> keys = Keys(o.if_contains("attempts"), "heartbeat.attempts");
    if (!keys.ok()) return keys.status();
    return WorkerMessage(Heartbeat{std::move(*keys)});
  }
  if (type == "progress") {
    BATON_RETURN_IF_ERROR(OnlyFields(o, {"job", "attempt", "progress", "message"}, "progress"));
    Result<AttemptKey> key = Key(o, "progress");
    if (!key.ok()) return key.status();
    Progress p{*key};
    const json::value* v = o.if_contains("progress");
    if (v == nullptr || !v->is_number()) {
      return InvalidArgument("progress.progress: must be a number from 0 to 1");
    }
    p.progress = v->to_number<double>();
    if (const json::value* m = o.if_contains("message")) {
      if (!m->is_string()) return InvalidArgument("progress.message: must be a string");
      p.message = std::string(m->as_string());
    }
    return WorkerMessage(p);
  }
  if (type == "log") {
    BATON_RETURN_IF_ERROR(OnlyFields(o, {"job", "attempt", "stream", "data"}, "log"));
    Result<AttemptKey> key = Key(o, "log");
    if (!key.ok()) return key.status();
    const json::value* stream = o.if_contains("stream");
    if (stream == nullptr || !stream->is_string() ||
        (stream->as_string() != "stdout" && stream->as_string() != "stderr")) {
      return InvalidArgument("log.stream: must be \"stdout\" or \"stderr\"");
    }
    Result<std::string> data = Text(o, "data", "log", "a string");
    if (!data.ok()) return data.status();
    return WorkerMessage(Log{*key, std::string(stream->as_string()), std::move(*data)});
  }
  if (type == "complete") return ParseComplete(o);
  if (type == "snapshot") {
    BATON_RETURN_IF_ERROR(OnlyFields(o, {"job", "attempt", "request", "error"}, "snapshot"));
    Result<AttemptKey> key = Key(o, "snapshot");
    if (!key.ok()) return key.status();
    Result<uint64_t> request = Uint(o, "request", "snapshot");
    if (!request.ok()) return request.status();
    Result<std::string> error = Text(o, "error", "snapshot", "a string saying why there is none");
    if (!error.ok()) return error.status();
    return WorkerMessage(SnapshotFailed{*key, *request, std::move(*error)});
  }
  if (type == "spawn") {
    BATON_RETURN_IF_ERROR(OnlyFields(o, {"job", "attempt", "request", "jobs"}, "spawn"));
    Result<AttemptKey> key = Key(o, "spawn");
    if (!key.ok()) return key.status();
    Result<uint64_t> request = Uint(o, "request", "spawn");
    if (!request.ok()) return request.status();
    const json::value* jobs = o.if_contains("jobs");
    if (jobs == nullptr || !jobs->is_array()) {
      return InvalidArgument("spawn.jobs: must be an array of jobs (as in POST /v1/jobs)");
    }
    return WorkerMessage(Spawn{*key, *request, jobs->as_array()});
  }
  if (type == "capacity") {
    BATON_RETURN_IF_ERROR(OnlyFields(o, {"capacity"}, "capacity"));
    Result<uint32_t> capacity = CapacityOf(o, "capacity", limits);
    if (!capacity.ok()) return capacity.status();
    return WorkerMessage(Capacity{*capacity});
  }
  if (type == "drain") {
    BATON_RETURN_IF_ERROR(OnlyFields(o, {}, "drain"));
    return WorkerMessage(Drain{});
  }
  return NotFound("unknown type");  // the caller names it
}

// The frame's messages: one object, or an array of objects, each with a string "type".
Result<json::array> Messages(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return InvalidArgument("frame: not JSON: " + ec.message());
  json::array messages;
  if (v.is_array()) {
    messages = std::move(v.as_array());
  } else if (v.is_object()) {
    messages.push_back(std::move(v));
  } else {
    return InvalidArgument("frame: must be a message object or an array of them");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const json::object* o = messages[i].if_object();
    if (o == nullptr || !o->contains("type") || !o->at("type").is_string()) {
      return InvalidArgument("message [" + std::to_string(i) +
                             "]: must be an object with a string \"type\"");
    }
  }
  return messages;
}

Result<ServerMessage> ParseServerMessage(const json::object& o, std::string_view type) {
  auto key = [&]() { return Key(o, type); };
  if (type == "welcome") {
    Result<std::string> worker = Text(o, "worker", "welcome", "a string");
    if (!worker.ok()) return worker.status();
    Result<int64_t> at = Int(o, "server_ms", "welcome");
    if (!at.ok()) return at.status();
    return ServerMessage(Welcome{std::move(*worker), *at});
  }
  if (type == "assign") {
    const json::value* jobs = o.if_contains("jobs");
    if (jobs == nullptr || !jobs->is_array()) {
      return InvalidArgument("assign.jobs: must be an array");
    }
    Assign a;
    a.jobs.reserve(jobs->as_array().size());
    for (const json::value& j : jobs->as_array()) {
      if (!j.is_object()) return InvalidArgument("assign.jobs: each must be an object");
      const json::object& jo = j.as_object();
      AssignedJob job;
      Result<AttemptKey> k = Key(jo, "assign.jobs[]");
      if (!k.ok()) return k.status();
      job.key = *k;
      Result<uint64_t> number = Uint(jo, "number", "assign.jobs[]");
      if (!number.ok()) return number.status();
      job.number = static_cast<uint32_t>(*number);
      Result<std::string> t = Text(jo, "type", "assign.jobs[]", "a string");
      if (!t.ok()) return t.status();
      job.type = std::move(*t);
      const json::value* payload = jo.if_contains("payload");
      job.payload = payload != nullptr ? json::serialize(*payload) : "null";
      for (auto [field, slot] : {std::pair{"timeout_ms", &job.timeout_ms},
                                 std::pair{"heartbeat_timeout_ms", &job.heartbeat_timeout_ms},
                                 std::pair{"lease_expires_ms", &job.lease_expires_ms}}) {
        Result<int64_t> v = Int(jo, field, "assign.jobs[]");
        if (!v.ok()) return v.status();
        *slot = *v;
      }
      if (const json::value* files = jo.if_contains("files")) {
        if (!files->is_array()) return InvalidArgument("assign.jobs[].files: must be an array");
        for (const json::value& f : files->as_array()) {
          if (!f.is_string()) return InvalidArgument("assign.jobs[].files: each must be a name");
          job.files.emplace_back(f.as_string());
        }
      }
      a.jobs.push_back(std::move(job));
    }
    return ServerMessage(a);
  }
  if (type == "stop") {
    Result<AttemptKey> k = key();
    if (!k.ok()) return k.status();
    Result<std::string> reason = Text(o, "reason", "stop", "a string");
    if (!reason.ok()) return reason.status();
    return ServerMessage(Stop{*k, std::move(*reason)});
  }
  if (type == "snapshot") {
    Result<AttemptKey> k = key();
    if (!k.ok()) return k.status();
    Result<uint64_t> request = Uint(o, "request", "snapshot");
    if (!request.ok()) return request.status();
    return ServerMessage(SnapshotRequest{*k, *request});
  }
  if (type == "ack") {
    Result<AttemptKey> k = key();
    if (!k.ok()) return k.status();
    return ServerMessage(Ack{*k});
  }
  if (type == "spawned") {
    Result<AttemptKey> k = key();
    if (!k.ok()) return k.status();
    Result<uint64_t> request = Uint(o, "request", "spawned");
    if (!request.ok()) return request.status();
    const json::value* jobs = o.if_contains("jobs");
    if (jobs == nullptr || !jobs->is_array()) {
      return InvalidArgument("spawned.jobs: must be an array of job ids");
    }
    Spawned s{*k, *request, {}};
    for (const json::value& id : jobs->as_array()) {
      if (!id.is_uint64() && !(id.is_int64() && id.as_int64() >= 0)) {
        return InvalidArgument("spawned.jobs: each must be a job id");
      }
      s.jobs.push_back(id.is_uint64() ? id.as_uint64() : static_cast<uint64_t>(id.as_int64()));
    }
    return ServerMessage(s);
  }
  if (type == "refused" || type == "error") {
    const json::value* error = o.if_contains("error");
    const json::object* eo = error != nullptr ? error->if_object() : nullptr;
    if (eo == nullptr) return InvalidArgument(std::string(type) + ".error: must be an object");
    Result<std::string> code = Text(*eo, "code", std::string(type) + ".error", "a string");
    if (!code.ok()) return code.status();
    Result<std::string> message = Text(*eo, "message", std::string(type) + ".error", "a string");
    if (!message.ok()) return message.status();
    if (type == "error") return ServerMessage(Error{ParseStatusCode(*code), std::move(*message)});
    Result<AttemptKey> k = key();
    if (!k.ok()) return k.status();
    Result<std::string> command = Text(o, "command", "refused", "a string");
    if (!command.ok()) return command.status();
    Refused r{*k, std::move(*command), std::nullopt, ParseStatusCode(*code), std::move(*message)};
    if (o.contains("request")) {
      Result<uint64_t> request = Uint(o, "request", "refused");
      if (!request.ok()) return request.status();
      r.request = *request;
    }
    return ServerMessage(r);
  }
  return NotFound("unknown type");
}

// ---- Writing ----

void Quoted(std::string& out, std::string_view s) { out += json::serialize(json::string(s)); }

void Number(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}
void Number(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

// `{"type":"NAME"` — the caller adds the fields and the closing brace.
void Open(std::string& out, std::string_view type) {
  out += R"({"type":")";
  out += type;
  out += '"';
}

// `,"name":` and a value: text quoted, a number, or JSON as it is.
void Name(std::string& out, std::string_view name) {
  out += ",\"";
  out += name;
  out += "\":";
}
void Text(std::string& out, std::string_view name, std::string_view text) {
  Name(out, name);
  Quoted(out, text);
}
void Uint(std::string& out, std::string_view name, uint64_t n) {
  Name(out, name);
  Number(out, n);
}
void Int(std::string& out, std::string_view name, int64_t n) {
  Name(out, name);
  Number(out, n);
}
void Raw(std::string& out, std::string_view name, std::string_view json_text) {
  Name(out, name);
  out += json_text;
}

void TextList(std::string& out, std::string_view name, const std::vector<std::string>& list) {
  Name(out, name);
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ',';
    Quoted(out, list[i]);
  }
  out += ']';
}

void KeyFields(std::string& out, const AttemptKey& k) {
  Uint(out, "job", k.job);
  Uint(out, "attempt", k.attempt);
}

// `{"job":J,"attempt":A` — the caller closes it.
void KeyOpen(std::string& out, const AttemptKey& k) {
  out += R"({"job":)";
  Number(out, k.job);
  Uint(out, "attempt", k.attempt);
}

void KeyObject(std::string& out, const AttemptKey& k) {
  KeyOpen(out, k);
  out += '}';
}

void KeyList(std::string& out, const std::vector<AttemptKey>& keys) {
  out += '[';
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    KeyObject(out, keys[i]);
  }
  out += ']';
}

void ErrorObject(std::string& out, StatusCode code, std::string_view message) {
  out += R"({"code":)";
  Quoted(out, StatusCodeName(code));
  out += R"(,"message":)";
  Quoted(out, message);
  out += '}';
}

struct WorkerWriter {
  std::string& out;
  void operator()(const Hello& h) {
    Open(out, "hello");
    Text(out, "worker", h.worker);
    TextList(out, "types", h.types);
    Uint(out, "capacity", h.capacity);
    if (h.resources) Raw(out, "resources", json::serialize(*h.resources));
    if (h.labels) Raw(out, "labels", json::serialize(*h.labels));
    out += R"(,"running":)";
    KeyList(out, h.running);
    if (!h.plugins.empty()) {
      out += R"(,"plugins":[)";
      for (size_t i = 0; i < h.plugins.size(); ++i) {
        const Plugin& p = h.plugins[i];
        if (i > 0) out += ',';
        out += R"({"activity":)";
        Quoted(out, p.activity);
        Text(out, "type", p.type);
        out += p.mandatory ? R"(,"mandatory":true)" : R"(,"mandatory":false)";
        Int(out, "order", p.order);
        out += p.always_run ? R"(,"always_run":true})" : R"(,"always_run":false})";
      }
      out += ']';
    }
    out += '}';
  }
  void operator()(const Heartbeat& h) {
    Open(out, "heartbeat");
    out += R"(,"attempts":)";
    KeyList(out, h.attempts);
    out += '}';
  }
  void operator()(const Progress& p) {
    Open(out, "progress");
    KeyFields(out, p.key);
    Raw(out, "progress", json::serialize(json::value(p.progress)));
    if (!p.message.empty()) {
      Text(out, "message", p.message);
    }
    out += '}';
  }
  void operator()(const Log& l) {
    Open(out, "log");
    KeyFields(out, l.key);
    Text(out, "stream", l.stream);
    Text(out, "data", l.data);
    out += '}';
  }
  void operator()(const Complete& c) {
    Open(out, "complete");
    KeyFields(out, c.key);
    switch (c.outcome) {
      case Complete::kSucceeded:
        out += R"(,"outcome":"succeeded")";
        break;
      case Complete::kError:
        out += R"(,"outcome":"error","error":)";
        Quoted(out, c.error);
        if (!c.retryable) out += R"(,"retryable":false)";
        break;
      case Complete::kDeclined:
        out += R"(,"outcome":"declined"})";
        return;
    }
    if (!c.result.empty()) Raw(out, "result", c.result);
    out += '}';
  }
  void operator()(const SnapshotFailed& s) {
    Open(out, "snapshot");
    KeyFields(out, s.key);
    Uint(out, "request", s.request);
    Text(out, "error", s.error);
    out += '}';
  }
  void operator()(const Spawn& s) {
    Open(out, "spawn");
    KeyFields(out, s.key);
    Uint(out, "request", s.request);
    Raw(out, "jobs", json::serialize(s.jobs));
    out += '}';
  }
  void operator()(const Capacity& c) {
    Open(out, "capacity");
    Uint(out, "capacity", c.capacity);
    out += '}';
  }
  void operator()(const Drain&) { out += R"({"type":"drain"})"; }
};

struct ServerWriter {
  std::string& out;
  void operator()(const Welcome& w) {
    Open(out, "welcome");
    Text(out, "worker", w.worker);
    Int(out, "server_ms", w.server_ms);
    out += '}';
  }
  void operator()(const Assign& a) {
    out += R"({"type":"assign","jobs":[)";
    for (size_t i = 0; i < a.jobs.size(); ++i) {
      const AssignedJob& j = a.jobs[i];
      if (i > 0) out += ',';
      KeyOpen(out, j.key);
      Uint(out, "number", j.number);
      Text(out, "type", j.type);
      Raw(out, "payload", j.payload);
      Int(out, "timeout_ms", j.timeout_ms);
      Int(out, "heartbeat_timeout_ms", j.heartbeat_timeout_ms);
      Int(out, "lease_expires_ms", j.lease_expires_ms);
      if (!j.files.empty()) TextList(out, "files", j.files);
      out += '}';
    }
    out += "]}";
  }
  void operator()(const Stop& s) {
    Open(out, "stop");
    KeyFields(out, s.key);
    Text(out, "reason", s.reason);
    out += '}';
  }
  void operator()(const SnapshotRequest& s) {
    Open(out, "snapshot");
    KeyFields(out, s.key);
    Uint(out, "request", s.request);
    out += '}';
  }
  void operator()(const Ack& a) {
    Open(out, "ack");
    KeyFields(out, a.key);
    out += '}';
  }
  void operator()(const Spawned& s) {
    Open(out, "spawned");
    KeyFields(out, s.key);
    Uint(out, "request", s.request);
    out += R"(,"jobs":[)";
    for (size_t i = 0; i < s.jobs.size(); ++i) {
      if (i > 0) out += ',';
      Number(out, s.jobs[i]);
    }
    out += "]}";
  }
  void operator()(const Refused& r) {
    Open(out, "refused");
    KeyFields(out, r.key);
    Text(out, "command", r.command);
    if (r.request) {
      Uint(out, "request", *r.request);
    }
    out += R"(,"error":)";
    ErrorObject(out, r.code, r.message);
    out += '}';
  }
  void operator()(const Error& e) {
    Open(out, "error");
    out += R"(,"error":)";
    ErrorObject(out, e.code, e.message);
    out += '}';
  }
};

}  // namespace

bool ValidWorkerName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' || ch == '-' ||
           ch == ':' || ch == '@';
  });
}

Result<std::vector<WorkerMessage>> ParseWorkerFrame(std::string_view text,
                                                    const ParseLimits& limits) {
  Result<json::array> messages = Messages(text);
  if (!messages.ok()) return messages.status();
  std::vector<WorkerMessage> out;
  out.reserve(messages->size());
  for (size_t i = 0; i < messages->size(); ++i) {
    const json::object& o = (*messages)[i].as_object();
    const std::string_view type = o.at("type").as_string();
    Result<WorkerMessage> m = ParseWorkerMessage(o, type, limits);
    if (m.status().code() == StatusCode::kNotFound) {
      return InvalidArgument("message [" + std::to_string(i) + "]: unknown type \"" +
                             std::string(type) +
                             "\" (known: hello, heartbeat, progress, log, complete, snapshot, "
                             "spawn, capacity, drain)");
    }
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
  }
  return out;
}

Result<std::vector<ServerMessage>> ParseServerFrame(std::string_view text) {
  Result<json::array> messages = Messages(text);
  if (!messages.ok()) return messages.status();
  std::vector<ServerMessage> out;
  out.reserve(messages->size());
  for (const json::value& v : *messages) {
    const json::object& o = v.as_object();
    Result<ServerMessage> m = ParseServerMessage(o, o.at("type").as_string());
    if (m.status().code() == StatusCode::kNotFound) continue;  // newer than this build
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
  }
  return out;
}

void Append(std::string& out, const WorkerMessage& message) {
  std::visit(WorkerWriter{out}, message);
}

void Append(std::string& out, const ServerMessage& message) {
  std::visit(ServerWriter{out}, message);
}

std::string_view TypeName(const WorkerMessage& message) {
  static constexpr std::string_view kNames[] = {"hello", "heartbeat", "progress",
                                                "log",   "complete",  "snapshot",
                                                "spawn", "capacity",  "drain"};
  return kNames[message.index()];
}

std::string_view TypeName(const ServerMessage& message) {
  static constexpr std::string_view kNames[] = {"welcome", "assign",  "stop",    "snapshot",
                                                "ack",     "spawned", "refused", "error"};
  return kNames[message.index()];
}

}  // namespace baton::protocol
