#include "server/event_streams.h"

#include <pthread.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>

namespace baton::server {

std::string EventToJson(const engine::Event& e) {
  boost::json::object o;
  o["seq"] = e.seq;
  o["job"] = e.job_id;
  o["at_ms"] = e.at_ms;
  o["kind"] = engine::EventKindName(e.kind);
  o["state"] = engine::JobStateName(e.state);
  o["attempt"] = e.attempt_id;
  o["outcome"] = engine::OutcomeName(e.outcome);
  o["progress"] = e.progress;
  o["message"] = e.message;
  if (e.workflow_id != 0) o["workflow"] = e.workflow_id;
  return boost::json::serialize(o);
}

std::string EventToSse(const engine::Event& e) {
  return "id: " + std::to_string(e.seq) + "\nevent: " + std::string(engine::EventKindName(e.kind)) +
         "\ndata: " + EventToJson(e) + "\n\n";
}

EventStreams::EventStreams(std::unique_ptr<store::Store> store, engine::EventSeq committed,
                           EventStreamsOptions options)
    : store_(std::move(store)), options_(options), committed_(committed) {
  thread_ = std::thread([this] { Run(); });
}

EventStreams::~EventStreams() { Stop(); }

Status EventStreams::Add(std::shared_ptr<ResponseStream> stream, std::string owner,
                         engine::JobId job, engine::WorkflowId workflow, engine::EventSeq since) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return Unavailable("the server is shutting down");
    // Streams whose clients went away wait for the next round to be dropped: not for room.
    std::erase_if(subs_, [](const Sub& s) { return s.stream->closed(); });
    if (subs_.size() >= options_.streams_max) {
      return ResourceExhausted(
          "too many event streams (streams_max = " + std::to_string(options_.streams_max) + ")");
    }
    subs_.push_back(Sub{std::move(stream), std::move(owner), job, workflow, since});
  }
  cv_.notify_one();
  return Status::Ok();
}

void EventStreams::Committed(engine::EventSeq last) {
  {
    std::lock_guard lock(mu_);
    if (last <= committed_) return;
    committed_ = last;
  }
  cv_.notify_one();
}

void EventStreams::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  for (Sub& s : subs_) s.stream->End();
  subs_.clear();
}

bool EventStreams::Serve(Sub& sub, engine::EventSeq committed) {
  if (sub.stream->closed()) return false;
  if (sub.last >= committed || sub.stream->backlog() > options_.backlog_bytes_max) return true;
  store::EventQuery q;
  q.after = sub.last;
  q.through = std::min(committed, sub.last + options_.scan_window);
  q.job_id = sub.job;
  q.workflow_id = sub.workflow;
  q.owner = sub.owner;
  q.limit = options_.page_events_max;
  Result<std::vector<engine::Event>> events = store_->ListEvents(q);
  if (!events.ok()) {
    // The client reconnects with its last number; nothing is skipped.
    sub.stream->Write(": error reading events: " + events.status().message() + "\n\n");
    sub.stream->End();
    return false;
  }
  std::string out;
  for (const engine::Event& e : *events) out += EventToSse(e);
  sub.last = events->size() == q.limit ? events->back().seq : q.through;
  if (!out.empty()) return sub.stream->Write(std::move(out));
  return true;
}

void EventStreams::Run() {
  pthread_setname_np(pthread_self(), "baton-events");
  using Clock = std::chrono::steady_clock;
  auto next_keepalive = Clock::now() + std::chrono::milliseconds(options_.keepalive_interval_ms);
  std::vector<Sub> subs;
  for (;;) {
    engine::EventSeq committed;
    {
      std::unique_lock lock(mu_);
      // Streams come back to the shared list between rounds; new ones may have joined.
      for (Sub& s : subs) subs_.push_back(std::move(s));
      subs.clear();
      auto behind = [&] {
        return std::any_of(subs_.begin(), subs_.end(),
                           [&](const Sub& s) { return s.last < committed_ || s.stream->closed(); });
      };
      bool waiting_on_clients = false;
      if (!stop_ && !behind()) {
        cv_.wait_until(lock, next_keepalive, [&] { return stop_ || behind(); });
      }
      for (const Sub& s : subs_) {
        waiting_on_clients |=
            s.last < committed_ && s.stream->backlog() > options_.backlog_bytes_max;
      }
      if (stop_) return;
      if (waiting_on_clients) {
        // Only slow clients are behind: give them a moment rather than spinning.
        cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return stop_; });
        if (stop_) return;
      }
      subs.swap(subs_);
      committed = committed_;
    }
    const bool keepalive = Clock::now() >= next_keepalive;
    if (keepalive) {
      next_keepalive = Clock::now() + std::chrono::milliseconds(options_.keepalive_interval_ms);
    }
    std::erase_if(subs, [&](Sub& s) {
      if (keepalive && !s.stream->Write(": keepalive\n\n")) return true;
      return !Serve(s, committed);
    });
  }
}

}  // namespace baton::server
