// The worker protocol (docs/protocol.md) as typed messages, with one parse and one serialize for
// each: the server's WorkerHub and libbaton's Worker both speak through this, so the two sides
// cannot drift apart. A frame is one text WebSocket frame: one message object, or an array of
// them, each with a "type".
//
// Parsing checks the shape (fields, their types, unknown fields) and the limits the server sets
// (ParseLimits); what needs the engine (resources, the sub-jobs of a spawn) stays JSON here and is
// checked where that rule lives. It depends on nothing but Boost.JSON and common/, so a worker
// links it without the engine.
//
// Thread rules: plain functions and values.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace baton::protocol {

// The attempt a message is about.
struct AttemptKey {
  uint64_t job = 0;
  uint64_t attempt = 0;
  bool operator==(const AttemptKey&) const = default;
};

// ---- Worker to server ----

struct Plugin {
  std::string activity;
  std::string type;  // one of the hello's types
  bool mandatory = false;
  int32_t order = 0;  // -1,000,000 to 1,000,000
  bool always_run = false;
  bool operator==(const Plugin&) const = default;
};

struct Hello {
  std::string worker;  // its name (ValidWorkerName)
  std::vector<std::string> types;
  uint32_t capacity = 0;
  // As sent (name -> amount, name -> text); the server's engine parses and checks them.
  std::optional<boost::json::object> resources;
  std::optional<boost::json::object> labels;
  std::vector<AttemptKey> running;
  std::vector<Plugin> plugins;
  bool operator==(const Hello&) const = default;
};

struct Heartbeat {
  std::vector<AttemptKey> attempts;
  bool operator==(const Heartbeat&) const = default;
};

struct Progress {
  AttemptKey key;
  double progress = 0;
  std::string message;
  bool operator==(const Progress&) const = default;
};

struct Log {
  AttemptKey key;
  std::string stream;  // "stdout" or "stderr"
  std::string data;
  bool operator==(const Log&) const = default;
};

struct Complete {
  enum Outcome { kSucceeded, kError, kDeclined };
  AttemptKey key;
  Outcome outcome = kSucceeded;
  // JSON text; empty: none sent (a success without one means null).
  std::string result;
  std::string error;      // kError
  bool retryable = true;  // kError
  bool operator==(const Complete&) const = default;
};

// The answer to a SnapshotRequest that cannot be met.
struct SnapshotFailed {
  AttemptKey key;
  uint64_t request = 0;
  std::string error;
  bool operator==(const SnapshotFailed&) const = default;
};

struct Spawn {
  AttemptKey key;
  uint64_t request = 0;
  boost::json::array jobs;  // jobs as in POST /v1/jobs, checked by the server
  bool operator==(const Spawn&) const = default;
};

struct Capacity {
  uint32_t capacity = 0;
  bool operator==(const Capacity&) const = default;
};

struct Drain {
  bool operator==(const Drain&) const = default;
};

using WorkerMessage =
    std::variant<Hello, Heartbeat, Progress, Log, Complete, SnapshotFailed, Spawn, Capacity, Drain>;

// ---- Server to worker ----

struct Welcome {
  std::string worker;  // its id on the server, USER:NAME
  int64_t server_ms = 0;
  bool operator==(const Welcome&) const = default;
};

struct AssignedJob {
  AttemptKey key;
  uint32_t number = 0;  // 1 for a job's first attempt
  std::string type;
  std::string payload;     // JSON text
  int64_t timeout_ms = 0;  // 0: none
  int64_t heartbeat_timeout_ms = 0;
  int64_t lease_expires_ms = 0;
  std::vector<std::string> files;  // input file names
  bool operator==(const AssignedJob&) const = default;
};

struct Assign {
  std::vector<AssignedJob> jobs;
  bool operator==(const Assign&) const = default;
};

struct Stop {
  AttemptKey key;
  std::string reason;  // "cancelled", "timeout", ...
  bool operator==(const Stop&) const = default;
};

struct SnapshotRequest {
  AttemptKey key;
  uint64_t request = 0;
  bool operator==(const SnapshotRequest&) const = default;
};

struct Ack {
  AttemptKey key;
  bool operator==(const Ack&) const = default;
};

struct Spawned {
  AttemptKey key;
  uint64_t request = 0;
  std::vector<uint64_t> jobs;
  bool operator==(const Spawned&) const = default;
};

struct Refused {
  AttemptKey key;
  std::string command;              // "heartbeat", "progress", "complete" or "spawn"
  std::optional<uint64_t> request;  // a spawn's
  StatusCode code = StatusCode::kInternal;
  std::string message;
  bool operator==(const Refused&) const = default;
};

// The frame broke the rules; the connection closes after it.
struct Error {
  StatusCode code = StatusCode::kInternal;
  std::string message;
  bool operator==(const Error&) const = default;
};

using ServerMessage =
    std::variant<Welcome, Assign, Stop, SnapshotRequest, Ack, Spawned, Refused, Error>;

// ---- Parse and serialize ----

// The limits the server holds a worker's messages to (WorkerHubOptions).
struct ParseLimits {
  size_t types_max = 64;          // types in a hello
  uint32_t capacity_max = 10000;  // hello.capacity, capacity.capacity
  size_t resources_max = 64;      // resources in a hello, and as many labels
  size_t plugins_max = 64;        // plugins in a hello
};

// A worker's name (hello.worker, a file request's Baton-Worker header): 1 to 128 letters, digits
// and . _ - : @
bool ValidWorkerName(std::string_view name);

// Every message of a worker's frame, in order; the first error (InvalidArgument, naming the
// message and field as docs/protocol.md does) refuses the whole frame.
Result<std::vector<WorkerMessage>> ParseWorkerFrame(std::string_view text,
                                                    const ParseLimits& limits = {});
// Every message of the server's frame that this build knows, in order. Message types it does not
// know are skipped (a newer server may send more); a known one that is malformed refuses the
// frame.
Result<std::vector<ServerMessage>> ParseServerFrame(std::string_view text);

// One message as JSON text, and a frame of several (an array, whatever their number). Append
// adds one message's JSON to `out`.
void Append(std::string& out, const WorkerMessage& message);
void Append(std::string& out, const ServerMessage& message);
template <typename Message>
std::string Serialize(const Message& message) {
  std::string out;
  Append(out, message);
  return out;
}
template <typename Message>
std::string SerializeFrame(const std::vector<Message>& messages) {
  std::string out = "[";
  for (size_t i = 0; i < messages.size(); ++i) {
    if (i > 0) out += ',';
    Append(out, messages[i]);
  }
  out += ']';
  return out;
}

// A message's "type".
std::string_view TypeName(const WorkerMessage& message);
std::string_view TypeName(const ServerMessage& message);

}  // namespace baton::protocol
