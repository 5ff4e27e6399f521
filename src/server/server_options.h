// ServerOptions: everything `baton server` is told (flags, main.cc), and the helpers that check
// them.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "server/event_streams.h"
#include "server/http_server.h"
#include "server/job_files.h"
#include "server/runtime.h"
#include "server/worker_hub.h"
#include "store/database.h"

namespace baton::server {

struct ServerOptions {
  // The admin token and the upload spool; with the default store, the database, files and logs.
  std::string data_dir = "./baton-data";
  // Files and logs in this directory (a shared filesystem, for several servers); empty: in the
  // database when it keeps them (postgresql), else in data_dir.
  std::string files_dir;
  // The database's URL (store/database.h); empty: sqlite:DATA_DIR. A sqlite:DIR store is the
  // data directory (ResolveStore).
  std::string store;
  store::DatabaseOptions database;
  std::string host = "127.0.0.1";
  uint16_t port = 7070;  // 0: any free port
  HttpLimits http;
  size_t batch_max = 1000;        // jobs in one POST /v1/jobs
  size_t retry_jobs_max = 10000;  // jobs one POST /v1/jobs/retry retries
  RuntimeOptions runtime;
  WorkerHubOptions workers;
  size_t log_bytes_max = 64 << 20;  // per job; past it, log chunks are dropped
  size_t log_followers_max = 1000;  // GET /v1/jobs/{id}/logs?follow=1 at once
  EventStreamsOptions events;
  FileLimits files;
  std::string types_file;     // the job type registry (docs/types.md); empty: none
  std::string config_file;    // config.h: scheduling policy; empty: no limits
  bool strict_types = false;  // refuse types the registry does not declare
  int blocking_threads = 2;   // file reads and writes, reads of the store for HTTP requests
  // How long a reader of a partial result (GET /v1/jobs/{id}/partial.zip) waits for the worker.
  int64_t snapshot_timeout_ms = 30'000;
  // With a lease (PostgreSQL): how long the leader's lease lasts unrenewed (it is renewed every
  // third of it), and the URL other servers send clients to while this one leads; empty: the
  // listening address.
  int64_t lease_ms = 10'000;
  std::string advertise;
  // A database that cannot be reached at start is tried again for this long (then exit 1).
  int64_t store_wait_ms = 60'000;
};

// Fills in the store URL and the data directory from each other: no store is sqlite:DATA_DIR;
// a sqlite:DIR store puts the data directory in DIR. `data_given`: --data was on the command
// line, so a sqlite store elsewhere is a contradiction, refused.
Status ResolveStore(ServerOptions& options, bool data_given);

// "HOST:PORT" -> (host, port); the error names the flag and what was wrong.
Status ParseListen(const std::string& text, std::string* host, uint16_t* port);

}  // namespace baton::server
