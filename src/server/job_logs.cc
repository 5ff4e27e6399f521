#include "server/job_logs.h"

namespace baton::server {

Status JobLogs::Follow(engine::JobId job, size_t offset, std::shared_ptr<ResponseStream> stream) {
  std::lock_guard lock(mu_);
  if (follower_count_ >= followers_max_) {
    // Followers whose clients went away are dropped at the job's next line or end, which may be
    // long in coming (a queued job): make room from them first.
    for (auto it = followers_.begin(); it != followers_.end();) {
      follower_count_ -= std::erase_if(
          it->second, [](const std::shared_ptr<ResponseStream>& s) { return s->closed(); });
      it = it->second.empty() ? followers_.erase(it) : std::next(it);
    }
  }
  if (follower_count_ >= followers_max_) {
    return ResourceExhausted("logs: " + std::to_string(followers_max_) +
                             " logs are followed already (followers_max); try again later");
  }
  for (size_t at = offset;;) {
    Result<std::string> chunk = Read(job, at, 1 << 20);
    if (!chunk.ok()) return chunk.status();
    if (chunk->empty()) break;
    at += chunk->size();
    if (!stream->Write(std::move(*chunk))) return Status::Ok();  // gone already
  }
  followers_[job].push_back(std::move(stream));
  ++follower_count_;
  return Status::Ok();
}

void JobLogs::Finish(engine::JobId job) {
  std::lock_guard lock(mu_);
  auto it = followers_.find(job);
  if (it == followers_.end()) return;
  for (const auto& stream : it->second) stream->End();
  follower_count_ -= it->second.size();
  followers_.erase(it);
}

void JobLogs::FinishAll() {
  std::lock_guard lock(mu_);
  for (auto& [job, streams] : followers_) {
    for (const auto& stream : streams) stream->End();
  }
  followers_.clear();
  follower_count_ = 0;
}

void JobLogs::Remove(engine::JobId job) {
  std::lock_guard lock(mu_);
  store_->Remove(job);
}

void JobLogs::Append(engine::JobId job, const std::string& data) {
  std::lock_guard lock(mu_);
  const std::string written = AppendLocked(job, data);
  auto it = followers_.find(job);
  if (written.empty() || it == followers_.end()) return;
  std::erase_if(it->second, [&](const std::shared_ptr<ResponseStream>& stream) {
    const bool gone = !stream->Write(written);
    follower_count_ -= gone ? 1 : 0;
    return gone;
  });
  if (it->second.empty()) followers_.erase(it);
}

std::string JobLogs::AppendLocked(engine::JobId job, const std::string& data) {
  Result<uint64_t> size = store_->Size(job);
  if (!size.ok() || *size >= job_bytes_max_) return "";
  std::string written = data;
  if (*size + data.size() > job_bytes_max_) {
    written = data.substr(0, job_bytes_max_ - *size) + "\n[baton: the log reached its limit of " +
              std::to_string(job_bytes_max_) + " bytes; the rest is dropped]\n";
  }
  return store_->Append(job, written).ok() ? written : "";
}

}  // namespace baton::server
