// JobLogs: what jobs print, as workers stream it, appended in the order the chunks arrive to a
// LogStore (store/log_store.h; on the local disk, a file per job under DATA/logs). JobLogs keeps
// each job's limit and the followers. Logs are for people, not for recovery: they are written
// without fsync and are not part of a job's committed state.
//
// Followers (GET /v1/jobs/{id}/logs?follow=1) get each chunk as it is appended, until the job
// ends (Finish) or they go away.
//
// Thread rules: thread-safe (appends and followers under one mutex; reads need no lock).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/types.h"
#include "server/http_server.h"
#include "store/log_store.h"

namespace baton::server {

class JobLogs {
 public:
  // `job_bytes_max`: a job's log stops growing there (a line says so). `followers_max`: streams
  // following logs at once, over all jobs.
  JobLogs(std::unique_ptr<store::LogStore> store, size_t job_bytes_max, size_t followers_max = 1000)
      : store_(std::move(store)), job_bytes_max_(job_bytes_max), followers_max_(followers_max) {}

  void Append(engine::JobId job, const std::string& data);
  // Up to `max` bytes from `offset`; empty past the end (or when the job never logged).
  Result<std::string> Read(engine::JobId job, uint64_t offset, size_t max) const {
    return store_->Read(job, offset, max);
  }
  Result<uint64_t> Size(engine::JobId job) const { return store_->Size(job); }

  // Writes the log from `offset` to `stream`, then every chunk appended later, until Finish(job).
  // ResourceExhausted past followers_max (the stream is left to the caller).
  Status Follow(engine::JobId job, size_t offset, std::shared_ptr<ResponseStream> stream);
  // The job ended: its followers' streams end (after what was appended).
  void Finish(engine::JobId job);
  // Deletes the job's log (retention; the job has ended).
  void Remove(engine::JobId job);
  // Every follower's stream ends (the server stops).
  void FinishAll();

 private:
  // Appends within the job's limit; returns what was written.
  std::string AppendLocked(engine::JobId job, const std::string& data);
  std::unique_ptr<store::LogStore> store_;
  size_t job_bytes_max_ = 0;
  size_t followers_max_ = 0;
  // Held across an append and its delivery, so a new follower sees each byte exactly once.
  std::mutex mu_;
  std::map<engine::JobId, std::vector<std::shared_ptr<ResponseStream>>> followers_;
  size_t follower_count_ = 0;
};

}  // namespace baton::server
