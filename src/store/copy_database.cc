#include "store/copy_database.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace baton::store {

namespace {

constexpr size_t kJobsPerCommit = 500;
constexpr size_t kEventsPerCommit = 5000;
constexpr size_t kChunk = 1 << 20;  // bytes of a file or log read at a time

// FailedPrecondition unless `to` holds nothing a server would have made.
Status CheckEmpty(Store& to, TokenStore& tokens, const std::string& description) {
  JobQuery any;
  any.limit = 1;
  BATON_ASSIGN_OR_RETURN(JobPage page, to.ListJobs(any));
  BATON_ASSIGN_OR_RETURN(engine::RecoveredState state, to.Recover(0));
  BATON_ASSIGN_OR_RETURN(std::vector<TokenRecord> held, tokens.List());
  if (!page.jobs.empty() || state.workflow_id_max != 0 || !state.schedules.empty() ||
      !held.empty()) {
    return FailedPrecondition(
        "the target " + description +
        " is not empty (it holds jobs, workflows, schedules or tokens: a server has used it); "
        "migrate into a new database");
  }
  return Status::Ok();
}

Status CopyBlob(const BlobStore& from, BlobStore& to, const std::string& key, uint64_t* bytes) {
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> in, from.Open(key));
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> out, to.Create(key));
  for (;;) {
    BATON_ASSIGN_OR_RETURN(std::string data, in->Read(kChunk));
    if (data.empty()) break;
    BATON_RETURN_IF_ERROR(out->Write(data));
    *bytes += data.size();
  }
  return out->Commit();
}

}  // namespace

Result<CopyCounts> CopyDatabase(Database& from, FileStores& from_files, Database& to,
                                FileStores& to_files,
                                const std::function<void(const std::string&)>& progress) {
  CopyCounts n;
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<Store> src, from.Connect());
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<Store> dst, to.Connect());
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<TokenStore> src_tokens, from.ConnectTokens());
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<TokenStore> dst_tokens, to.ConnectTokens());
  BATON_RETURN_IF_ERROR(CheckEmpty(*dst, *dst_tokens, to.description()));

  // Jobs, newest first, a page at a time, each with its attempts; their files and logs follow.
  std::vector<engine::JobId> ids;
  JobQuery page_query;
  page_query.limit = kJobsPerCommit;
  for (;;) {
    BATON_ASSIGN_OR_RETURN(JobPage page, src->ListJobs(page_query));
    engine::RecordBatch batch;
    for (engine::JobRecord& job : page.jobs) {
      BATON_ASSIGN_OR_RETURN(std::vector<engine::AttemptRecord> attempts,
                             src->ListAttempts(job.id));
      n.attempts += attempts.size();
      std::move(attempts.begin(), attempts.end(), std::back_inserter(batch.attempts));
      ids.push_back(job.id);
      batch.inserts.push_back(std::move(job));
    }
    n.jobs += batch.inserts.size();
    if (!batch.empty()) {
      BATON_RETURN_IF_ERROR(dst->Apply(batch).WithContext("copy jobs"));
      if (n.jobs % 10000 < kJobsPerCommit) progress(std::to_string(n.jobs) + " jobs copied");
    }
    if (page.next == 0) break;
    page_query.before = page.next;
  }

  // The event log, in order, with its numbers (a stream resumes where it was).
  EventQuery events;
  events.limit = kEventsPerCommit;
  for (;;) {
    BATON_ASSIGN_OR_RETURN(std::vector<engine::Event> got, src->ListEvents(events));
    if (got.empty()) break;
    events.after = got.back().seq;
    n.events += got.size();
    engine::RecordBatch batch;
    batch.events = std::move(got);
    BATON_RETURN_IF_ERROR(dst->Apply(batch).WithContext("copy events"));
    if (n.events % 100000 < kEventsPerCommit) {
      progress(std::to_string(n.events) + " events copied");
    }
  }

  // Workflows (by id, whatever their state), schedules and paused types.
  BATON_ASSIGN_OR_RETURN(engine::RecoveredState state, src->Recover(0));
  engine::RecordBatch rest;
  for (engine::WorkflowId id = 1; id <= state.workflow_id_max; ++id) {
    Result<engine::WorkflowRecord> w = src->GetWorkflow(id);
    if (w.status().code() == StatusCode::kNotFound) continue;
    if (!w.ok()) return w.status();
    rest.workflow_inserts.push_back(std::move(*w));
  }
  n.workflows = rest.workflow_inserts.size();
  rest.schedules = state.schedules;
  n.schedules = rest.schedules.size();
  for (const std::string& type : state.paused_types) rest.type_pauses.emplace_back(type, true);
  n.paused_types = rest.type_pauses.size();
  if (!rest.empty()) BATON_RETURN_IF_ERROR(dst->Apply(rest).WithContext("copy workflows"));

  // Tokens, by their hashes: every token that worked works on the target.
  BATON_ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens, src_tokens->List());
  for (const TokenRecord& t : tokens) {
    BATON_RETURN_IF_ERROR(dst_tokens->Put(t).WithContext("copy tokens"));
  }
  n.tokens = tokens.size();

  // Files: the inputs of jobs and the outputs of attempts.
  std::vector<std::string> published;
  for (const char* prefix : {"inputs", "outputs"}) {
    BATON_ASSIGN_OR_RETURN(std::vector<BlobInfo> blobs, from_files.blobs->List(prefix));
    for (const BlobInfo& b : blobs) {
      const std::string key = std::string(prefix) + "/" + b.name;
      BATON_RETURN_IF_ERROR(
          CopyBlob(*from_files.blobs, *to_files.blobs, key, &n.file_bytes).WithContext(key));
      published.push_back(key);
      ++n.files;
      if (n.files % 1000 == 0) progress(std::to_string(n.files) + " files copied");
    }
  }
  BATON_RETURN_IF_ERROR(to_files.blobs->Publish(published));

  // Logs, each job's whole.
  for (engine::JobId id : ids) {
    BATON_ASSIGN_OR_RETURN(uint64_t size, from_files.logs->Size(id));
    for (uint64_t at = 0; at < size;) {
      BATON_ASSIGN_OR_RETURN(std::string data, from_files.logs->Read(id, at, kChunk));
      if (data.empty()) break;
      // A log store that writes behind (PostgreSQL's) refuses more while much waits: wait too.
      Status appended = to_files.logs->Append(id, data);
      for (int waited_ms = 0; appended.code() == StatusCode::kUnavailable && waited_ms < 60'000;
           waited_ms += 20) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        appended = to_files.logs->Append(id, data);
      }
      BATON_RETURN_IF_ERROR(appended.WithContext("copy the log of job " + std::to_string(id)));
      at += data.size();
      n.log_bytes += data.size();
    }
    n.logs += size > 0;
  }
  return n;
}

}  // namespace baton::store
