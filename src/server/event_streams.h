// EventStreams: GET /v1/events, the durable event log as server-sent events. Each stream starts
// after the sequence number the client last saw (since= or Last-Event-ID), reads what it missed
// from the store, then follows new commits; a client that reconnects with its last number misses
// nothing, across server restarts, because the numbers are gap-free and on disk.
//
// One thread serves every stream from its own store connection, a bounded page at a time, so a
// slow or far-behind client costs bounded work per round and never holds up the commit path.
//
// Thread rules: thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/types.h"
#include "server/http_server.h"
#include "store/store.h"

namespace baton::server {

struct EventStreamsOptions {
  size_t streams_max = 1000;              // open streams; more: 429
  size_t page_events_max = 500;           // events read per stream per round
  uint64_t scan_window = 20000;           // sequence numbers examined per read (filters bound work)
  size_t backlog_bytes_max = 1 << 20;     // unsent bytes before a stream waits for its client
  int64_t keepalive_interval_ms = 15000;  // a comment line, so proxies and dead clients show up
};

class EventStreams {
 public:
  // `store`: a connection for this class alone. `committed`: the last durable sequence number.
  EventStreams(std::unique_ptr<store::Store> store, engine::EventSeq committed,
               EventStreamsOptions options = {});
  ~EventStreams();  // Stop()

  // Serves `stream` from after `since`; `owner` empty: every job's events (administrator).
  Status Add(std::shared_ptr<ResponseStream> stream, std::string owner, engine::JobId job,
             engine::WorkflowId workflow, engine::EventSeq since);
  // Commit thread: events through `last` are durable.
  void Committed(engine::EventSeq last);
  // Ends every stream and joins the thread; the streams are dropped, so the HTTP server can go.
  void Stop();

 private:
  struct Sub {
    std::shared_ptr<ResponseStream> stream;
    std::string owner;
    engine::JobId job = 0;
    engine::WorkflowId workflow = 0;
    engine::EventSeq last = 0;  // sent through here
  };
  void Run();
  // One page for `sub`; false if the stream has closed.
  bool Serve(Sub& sub, engine::EventSeq committed);

  std::unique_ptr<store::Store> store_;  // the thread's only
  EventStreamsOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Sub> subs_;
  engine::EventSeq committed_;
  bool stop_ = false;
  std::thread thread_;
};

// One event as JSON and as a server-sent event.
std::string EventToJson(const engine::Event& e);
std::string EventToSse(const engine::Event& e);

}  // namespace baton::server
