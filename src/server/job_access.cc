#include "server/job_access.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "server/job_json.h"

namespace baton::server {

namespace http = boost::beast::http;

Status JobNotFound(engine::JobId id) {
  return NotFound("job " + std::to_string(id) + ": not found");
}

Result<std::string> ParseReason(const std::string& body) {
  if (body.empty()) return std::string();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  const Status wrong = InvalidArgument(R"(body: must be empty or {"reason": "text"})");
  if (ec || !v.is_object()) return wrong;
  std::string reason;
  for (const auto& [key, value] : v.as_object()) {
    if (key != "reason" || !value.is_string()) return wrong;
    reason = std::string(value.as_string());
  }
  return reason;
}

BlockingPool::BlockingPool(int threads) : pool_(static_cast<size_t>(std::max(1, threads))) {}

void BlockingPool::Post(std::function<void()> work) { boost::asio::post(pool_, std::move(work)); }

void JobAccess::FindJob(const Identity& who, engine::JobId id,
                        std::function<void(Result<engine::JobRecord>)> then,
                        const std::shared_ptr<std::string>& waiting_for,
                        const std::shared_ptr<engine::EventSeq>& as_of) {
  auto found = std::make_shared<std::optional<engine::JobRecord>>();
  runtime_->Execute(
      [found, id, waiting_for, as_of](engine::Engine& e) {
        if (const engine::JobRecord* job = e.Find(id)) *found = *job;
        if (waiting_for) *waiting_for = e.WhyWaiting(id);
        if (as_of) *as_of = e.event_seq_last();
      },
      // Answered after the next commit, so it never shows a state that is not yet durable; and
      // on the blocking pool, as `then` may read the store or files.
      [this, found, id, who, then = std::move(then)](const Status& committed) mutable {
        blocking_->Post([this, found, id, who, committed, then = std::move(then)] {
          if (!committed.ok()) return then(committed);
          if (!found->has_value()) return then(ReadStoredJob(who, id));  // only the store has it
          if (!May(who, Access::kRead, (*found)->spec.owner)) return then(JobNotFound(id));
          then(std::move(**found));
        });
      });
}

Result<engine::JobRecord> JobAccess::ReadStoredJob(const Identity& who, engine::JobId id) {
  Result<engine::JobRecord> stored =
      reader_->With([id](store::Store& store) { return store.GetJob(id); });
  if (!stored.ok() && stored.status().code() != StatusCode::kNotFound) return stored.status();
  if (!stored.ok() || !May(who, Access::kRead, stored->spec.owner)) return JobNotFound(id);
  return stored;
}

void JobAccess::JobCommand(const Identity& who, engine::JobId id, const HttpRequest& request,
                           const Reply& reply, const CommandFn& command,
                           const std::shared_ptr<engine::JobRecord>& preload,
                           const AnswerFn& answer) {
  const unsigned version = request.version();
  const bool keep_alive = request.keep_alive();
  struct Outcome {
    bool missing = false;  // the engine does not hold the job
    Status status;
    std::optional<engine::JobRecord> after;
  };
  auto out = std::make_shared<Outcome>();
  runtime_->Execute(
      [this, out, who, id, command, preload](engine::Engine& e) {
        if (preload) {
          if (!gate_->MayLoad(id)) {
            out->missing = true;  // the cleaner is deleting it
            return;
          }
          if (Status s = e.Load(*preload); !s.ok()) {
            out->status = s;
            return;
          }
        }
        const engine::JobRecord* job = e.Find(id);
        if (job == nullptr) {
          out->missing = true;
          return;
        }
        if (!May(who, Access::kTouch, job->spec.owner)) {
          out->status = JobNotFound(id);
          return;
        }
        out->status = command(e, id);
        if (const engine::JobRecord* now = e.Find(id)) out->after = *now;
      },
      [this, out, who, id, command, preload, request, reply, version, keep_alive,
       answer](const Status& committed) {
        if (!committed.ok()) return reply(ErrorResponse(committed, version, keep_alive));
        if (out->missing && !preload) {
          // Finished long ago: bring it back from the store, then try once more (the gate:
          // server_retention.cc).
          auto reading = gate_->Reading();
          Result<engine::JobRecord> stored = ReadStoredJob(who, id);
          if (!stored.ok()) return reply(ErrorResponse(stored.status(), version, keep_alive));
          return JobCommand(who, id, request, reply, command,
                            std::make_shared<engine::JobRecord>(std::move(*stored)), answer);
        }
        if (out->missing) return reply(ErrorResponse(JobNotFound(id), version, keep_alive));
        if (!out->status.ok()) return reply(ErrorResponse(out->status, version, keep_alive));
        reply(JsonResponse(
            http::status::ok,
            boost::json::serialize(answer ? answer(*out->after) : JobToJson(*out->after)), version,
            keep_alive));
      });
}

}  // namespace baton::server
