#include "server/job_logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace baton::server {

Result<std::unique_ptr<JobLogs>> JobLogs::Open(const std::string& dir, size_t job_bytes_max,
                                               size_t followers_max) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("logs: cannot create " + dir + ": " + ec.message());
  auto logs = std::make_unique<JobLogs>();
  logs->dir_ = dir;
  logs->job_bytes_max_ = job_bytes_max;
  logs->followers_max_ = followers_max;
  return logs;
}

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
  ::unlink(Path(job).c_str());
}

std::string JobLogs::Path(engine::JobId job) const {
  return dir_ + "/" + std::to_string(job) + ".log";
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
  const std::string path = Path(job);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "";
  std::string written = data;
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    const size_t size = static_cast<size_t>(st.st_size);
    if (size >= job_bytes_max_) {
      ::close(fd);
      return "";
    }
    if (size + data.size() > job_bytes_max_) {
      written = data.substr(0, job_bytes_max_ - size) + "\n[baton: the log reached its limit of " +
                std::to_string(job_bytes_max_) + " bytes; the rest is dropped]\n";
    }
  }
  const bool ok =
      ::write(fd, written.data(), written.size()) == static_cast<ssize_t>(written.size());
  ::close(fd);
  return ok ? written : "";
}

Result<std::string> JobLogs::Read(engine::JobId job, size_t offset, size_t max) const {
  const std::string path = Path(job);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return Unavailable("logs: cannot read " + path + ": " + std::strerror(errno));
  }
  std::string out(max, '\0');
  const ssize_t n = ::pread(fd, out.data(), max, static_cast<off_t>(offset));
  ::close(fd);
  if (n < 0) return Unavailable("logs: cannot read " + path + ": " + std::strerror(errno));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace baton::server
