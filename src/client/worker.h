// libbaton's worker: connects to /v1/workers/connect (docs/protocol.md), takes the attempts the
// server pushes, runs each with the handler registered for its type on a pool of `capacity`
// threads, and reports progress, logs, heartbeats and outcomes. It reconnects after a lost
// connection (announcing what it still runs) and re-sends outcomes the server has not yet
// acknowledged, so a server restart loses no finished work.
//
// Thread rules: Register before Run; Run on one thread; Drain and Stop from any thread (a signal
// handler should only set a flag that another thread turns into Drain).
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "client/client.h"
#include "common/status.h"

namespace baton::client {

// A plugin this worker offers for a workflow activity: its `type` (one the worker runs) runs in
// the activity's parallel stage. mandatory: its failure fails the activity; always_run: it runs
// even when the stage is skipped. Lower order first.
struct PluginOptions {
  std::string activity;
  std::string type;
  bool mandatory = false;
  int32_t order = 0;
  bool always_run = false;
};

struct WorkerOptions {
  // The servers: one, or those of a cluster (a leader and standbys); the worker connects to the
  // leader, found by trying them in turn and asking a standby's /healthz who leads.
  std::vector<Endpoint> servers;
  std::string token;
  std::string id;  // unique among the server's workers
  uint32_t capacity = 1;
  // What the worker has for the jobs it runs (cpu, memory_mb, gpu, custom counters) and the
  // labels it carries: a job that asks for resources or labels goes only to a worker with them.
  std::map<std::string, int64_t> resources;
  std::map<std::string, std::string> labels;
  std::vector<PluginOptions> plugins;
  int64_t reconnect_delay_ms_max = 2000;
  // A frame carries at most this many queued messages (progress, logs, outcomes).
  size_t frame_messages_max = 1000;
  // A partial result (the server's snapshot request) holds at most this many files and bytes.
  size_t snapshot_files_max = 1000;
  size_t snapshot_bytes_max = 64 << 20;
};

// What a handler gets for one attempt. Thread rules: used by the handler's thread; Progress and
// Log may be called from any thread.
class AttemptContext {
 public:
  uint64_t job() const { return job_; }
  uint64_t attempt() const { return attempt_; }
  uint32_t number() const { return number_; }  // 1 for the first attempt
  const std::string& type() const { return type_; }
  const boost::json::value& payload() const { return payload_; }
  int64_t timeout_ms() const { return timeout_ms_; }

  void Progress(double fraction, std::string message = "");
  void Log(std::string_view stream, std::string data);  // stream: "stdout" or "stderr"
  // The server said stop (cancelled, timed out, or the attempt is no longer this worker's): the
  // handler should give up soon; its outcome will not count.
  bool stopped() const { return stopped_.load(); }
  std::string stop_reason() const;
  // Waits up to `ms` for a stop; true if stopped.
  bool WaitStopped(int64_t ms);

  // The job's input files: names relative to the job's directory ("run.sh", "data/a.csv").
  const std::vector<std::string>& input_files() const { return input_files_; }
  // Downloads every input file into `dir` (created if missing), over HTTP with the worker's token.
  Status FetchInputs(const std::string& dir);
  // Creates sub-jobs of this job, each as in POST /v1/jobs ({"type": ..., "payload": ...}), in one
  // durable step, and returns their ids. Waits for the server; survives a reconnect (a re-sent
  // spawn names the same sub-jobs). The job then waits for them after this attempt succeeds, and
  // its type's aggregator runs over their results.
  Result<std::vector<uint64_t>> Spawn(const boost::json::array& jobs);

  // Uploads one output file of this attempt. The files of the attempt that succeeds are the
  // job's result files (GET /v1/jobs/{id}/files/{name}); upload them before returning.
  Status UploadOutput(const std::string& name, const std::string& data);

  // The directory the attempt works in: when someone asks for a partial result of the running
  // job (GET /v1/jobs/{id}/partial.zip), the worker sends a zip of it as it is then. Without
  // one the request is answered with an error. Any thread.
  void SetSnapshotDir(std::string dir);
  std::string snapshot_dir() const;

 private:
  friend class Worker;
  class Worker* worker_ = nullptr;
  uint64_t job_ = 0, attempt_ = 0;
  uint32_t number_ = 0;
  std::string type_;
  boost::json::value payload_;
  std::vector<std::string> input_files_;
  std::unique_ptr<Client> client_;  // made at the first file transfer
  Client& Http();
  int64_t timeout_ms_ = 0, heartbeat_timeout_ms_ = 0;
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string stop_reason_;
  std::string snapshot_dir_;  // under mu_
};

// A zip of the files under `dir` (paths relative to it, sorted), for a partial result: at most
// `files_max` files and `bytes_max` bytes in all, or an error saying which limit it passed.
Result<std::string> ZipDirectory(const std::string& dir, size_t files_max, size_t bytes_max);

struct Outcome {
  enum Kind { kSucceeded, kError, kDeclined } kind = kSucceeded;
  boost::json::value result;  // kSucceeded; with kError what the attempt handed in (null: none)
  std::string error;          // kError
  bool retryable = true;      // kError

  static Outcome Succeeded(boost::json::value result = nullptr) {
    return {kSucceeded, std::move(result), "", true};
  }
  static Outcome Error(std::string error, bool retryable = true) {
    return {kError, nullptr, std::move(error), retryable};
  }
  // A failure that still hands in a result (a list of messages, say): the job keeps it next to
  // the error.
  static Outcome Failed(std::string error, boost::json::value result, bool retryable = true) {
    return {kError, std::move(result), std::move(error), retryable};
  }
  static Outcome Declined() { return {kDeclined, nullptr, "", true}; }
};

using Handler = std::function<Outcome(AttemptContext&)>;

class Worker {
 public:
  explicit Worker(WorkerOptions options);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Register(const std::string& type, Handler handler);

  // Connects and works until drained or stopped. An error only if it could never start (a
  // refused token, a bad option); lost connections are retried.
  Status Run();
  // Graceful stop: take nothing new, finish what runs, have every outcome acknowledged, return.
  void Drain();
  // Stops now: running attempts are told to stop; their outcomes are not reported.
  void Stop();

  // For the handler's context.
  void Send(std::string message);
  const WorkerOptions& options() const;

  class Impl;

 private:
  friend class AttemptContext;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::client
