// `baton bench`: Baton's speed end to end, next to what the machine itself manages.
//   throughput: N no-op jobs submitted in batches, run by no-op handlers in worker processes,
//               durable (SQLite synchronous=FULL by default), until the last success is seen
//   latency:    one job at a time, from submit to its success seen on the event stream
//   fanout:     a parent that spawns N no-op children, then its aggregator; from submit to the
//               parent's result
//   scale:      (not in "all") a million queued jobs: submit and dispatch rates empty and deep,
//               the server's memory, a restart (bench_scale.cc)
//   load:       (not in "all") many clients, each submitting and watching its jobs on an event
//               stream; holds when nothing fails and no event is lost (bench_load.cc)
//   download:   (not in "all") a job's 1 GiB output served as output.zip and one file: the
//               server's peak memory during each, and the rate (bench_download.cc)
//   failover:   (not in "all"; PostgreSQL) two server processes, the leader SIGKILLed: the time
//               until the other leads, and until a job has run on it (bench_failover.cc)
// It starts its own server (in this process, in a fresh data directory) and worker processes,
// and stops them at the end. Calibrations from the same run: loopback round trip, raw SQLite
// batched inserts.
#pragma once

#include <cstdint>
#include <string>

namespace baton::cli {

struct BenchOptions {
  std::string what = "all";   // throughput, latency, fanout, all; or scale, load
  uint64_t children = 10000;  // fanout
  uint64_t jobs = 50000;      // throughput
  uint64_t latency_jobs = 2000;
  int workers = 2;           // worker processes
  uint32_t capacity = 256;   // slots per worker
  size_t batch = 1000;       // jobs per submit
  int submitters = 2;        // client threads submitting
  std::string dir = "/tmp";  // where the data directory goes (removed at the end)
  std::string synchronous = "FULL";
  // The server's --store; empty: SQLite in the data directory.
  std::string store;
  uint64_t depth = 1'000'000;  // scale: queued jobs
  uint64_t sample = 50'000;    // scale: jobs each rate is measured over
  int clients = 200;           // load: concurrent clients
  int seconds = 60;            // load: how long
  uint64_t output_mib = 1024;  // download: the job's output
  int64_t lease_ms = 10000;    // failover: the servers' --lease-ms
  int rounds = 3;              // failover: leader kills
  bool json = false;
};

int RunBench(const BenchOptions& options);
int RunScale(const BenchOptions& options);
int RunLoad(const BenchOptions& options);
int RunDownload(const BenchOptions& options);
int RunFailover(const BenchOptions& options);

}  // namespace baton::cli
