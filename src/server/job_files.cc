#include "server/job_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "common/json.h"
#include "server/auth.h"

namespace baton::server {

namespace fs = std::filesystem;

namespace {

Status FsyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Unavailable("open " + dir.string() + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Unavailable("fsync " + dir.string() + ": " + std::strerror(errno));
  return Status::Ok();
}

// Writes `data` to `path`: a temporary file, fsync, rename. The new name is durable once its
// directories are fsynced too (FsyncDirs), which a caller writing many files does once.
Status WriteFile(const fs::path& path, std::string_view data) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Unavailable("create " + path.parent_path().string() + ": " + ec.message());
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Unavailable("write " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return Unavailable("write " + tmp.string() + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return Unavailable("write " + path.string() + ": " + why);
  }
  return Status::Ok();
}

// fsyncs each directory from `dir` up to and including `root` (new directories must be durable
// too), skipping those already in `done`.
Status FsyncDirs(const fs::path& root, fs::path dir, std::set<fs::path>* done) {
  for (;; dir = dir.parent_path()) {
    if (done->insert(dir).second) BATON_RETURN_IF_ERROR(FsyncDir(dir));
    if (dir == root || !dir.has_relative_path() || dir == dir.parent_path()) return Status::Ok();
  }
}

Result<std::string> ReadWhole(const fs::path& path, size_t max, const std::string& what) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(what + ": no such file");
    return Unavailable("read " + path.string() + ": " + std::strerror(errno));
  }
  std::string out;
  char buffer[65536];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
    out.append(buffer, static_cast<size_t>(n));
    if (out.size() > max) break;
  }
  const int err = errno;
  ::close(fd);
  if (n < 0) return Unavailable("read " + path.string() + ": " + std::strerror(err));
  if (out.size() > max) return ResourceExhausted(what + ": larger than file_bytes_max");
  return out;
}

std::string Quote(std::string_view name) {
  std::string out = "\"";
  for (char c : name.substr(0, 100)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out + (name.size() > 100 ? "...\"" : "\"");
}

}  // namespace

Status ValidateFileName(std::string_view name) {
  auto bad = [&](const std::string& why) {
    return InvalidArgument("file " + Quote(name) + ": " + why);
  };
  if (name.empty()) return InvalidArgument("file name: must not be empty");
  if (name.size() > 1024) return bad("the name is longer than 1024 bytes");
  if (name.front() == '/') return bad("must be a relative path (no leading \"/\")");
  if (const size_t at = json::InvalidUtf8At(name); at != std::string_view::npos) {
    return bad("the name is not valid UTF-8 (byte " + std::to_string(at) + ")");
  }
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return bad("control characters are not allowed in file names");
    }
    if (c == '\\') return bad("use \"/\" to separate directories, not \"\\\"");
  }
  size_t start = 0;
  while (start <= name.size()) {
    const size_t slash = std::min(name.find('/', start), name.size());
    const std::string_view segment = name.substr(start, slash - start);
    if (segment.empty()) return bad("empty path segment (\"//\" or a trailing \"/\")");
    if (segment == "." || segment == "..") {
      return bad("\".\" and \"..\" are not allowed: files stay inside the job's directory");
    }
    if (segment.size() > 255) return bad("a path segment is longer than 255 bytes");
    if (segment.size() > 4 && segment.substr(segment.size() - 4) == ".tmp") {
      return bad("names ending in .tmp are reserved");
    }
    start = slash + 1;
  }
  return Status::Ok();
}

Result<JobFiles> JobFiles::Open(const std::string& data_dir, FileLimits limits) {
  JobFiles files;
  files.inputs_ = data_dir + "/inputs";
  files.outputs_ = data_dir + "/outputs";
  files.limits_ = limits;
  for (const std::string& dir : {files.inputs_, files.outputs_}) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return Unavailable("files: cannot create " + dir + ": " + ec.message());
  }
  return files;
}

Result<std::string> JobFiles::StoreInputs(const std::vector<FileData>& files) {
  if (files.size() > limits_.files_max) {
    return InvalidArgument("files: at most " + std::to_string(limits_.files_max) +
                           " input files per job (files_max), got " + std::to_string(files.size()));
  }
  std::set<std::string_view> seen;
  for (const FileData& f : files) {
    BATON_RETURN_IF_ERROR(ValidateFileName(f.name));
    if (!seen.insert(f.name).second) {
      return InvalidArgument("file " + Quote(f.name) + ": uploaded twice");
    }
    if (f.data.size() > limits_.file_bytes_max) {
      return InvalidArgument("file " + Quote(f.name) + ": " + std::to_string(f.data.size()) +
                             " bytes, more than file_bytes_max (" +
                             std::to_string(limits_.file_bytes_max) + ")");
    }
  }
  // A file and a directory of the same name ("a" and "a/b") cannot both exist.
  for (const FileData& f : files) {
    for (size_t slash = f.name.find('/'); slash != std::string::npos;
         slash = f.name.find('/', slash + 1)) {
      if (seen.count(std::string_view(f.name).substr(0, slash))) {
        return InvalidArgument("file " + Quote(f.name) + ": " + Quote(f.name.substr(0, slash)) +
                               " is a file, not a directory");
      }
    }
  }
  Result<std::string> key = RandomHex(16);
  if (!key.ok()) return key.status();
  const fs::path dir = fs::path(inputs_) / *key;
  std::set<fs::path> synced;
  Status s;
  for (const FileData& f : files) {
    s = WriteFile(dir / f.name, f.data);
    if (!s.ok()) break;
  }
  if (files.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) s = Unavailable("create " + dir.string() + ": " + ec.message());
  }
  // Every directory once, after every file: the new names, then the new directories.
  for (const FileData& f : files) {
    if (s.ok()) s = FsyncDirs(inputs_, (dir / f.name).parent_path(), &synced);
  }
  if (s.ok()) s = FsyncDirs(inputs_, dir, &synced);
  if (!s.ok()) {
    DropInputs(*key);
    return s;
  }
  return key;
}

void JobFiles::DropInputs(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos) return;
  std::error_code ec;
  fs::remove_all(fs::path(inputs_) / key, ec);
}

Result<std::string> JobFiles::ReadInput(const std::string& key, const std::string& name) const {
  BATON_RETURN_IF_ERROR(ValidateFileName(name));
  if (key.empty()) return NotFound("input file " + Quote(name) + ": the job has no input files");
  return ReadWhole(fs::path(inputs_) / key / name, limits_.file_bytes_max,
                   "input file " + Quote(name));
}

Status JobFiles::WriteOutput(engine::JobId job, engine::AttemptId attempt, const std::string& name,
                             std::string_view data) {
  BATON_RETURN_IF_ERROR(ValidateFileName(name));
  if (data.size() > limits_.file_bytes_max) {
    return InvalidArgument("file " + Quote(name) + ": " + std::to_string(data.size()) +
                           " bytes, more than file_bytes_max (" +
                           std::to_string(limits_.file_bytes_max) + ")");
  }
  Result<std::vector<FileInfo>> existing = ListOutputs(job, attempt);
  if (!existing.ok()) return existing.status();
  uint64_t total = data.size();
  size_t count = 1;
  for (const FileInfo& f : *existing) {
    if (f.name == name) continue;  // replaced
    total += f.size;
    ++count;
  }
  if (count > limits_.files_max) {
    return InvalidArgument("outputs: at most " + std::to_string(limits_.files_max) +
                           " files per attempt (files_max)");
  }
  if (total > limits_.output_bytes_max) {
    return InvalidArgument("outputs: more than output_bytes_max (" +
                           std::to_string(limits_.output_bytes_max) + " bytes) for one attempt");
  }
  const fs::path path = fs::path(outputs_) / std::to_string(job) / std::to_string(attempt) / name;
  BATON_RETURN_IF_ERROR(WriteFile(path, data));
  std::set<fs::path> synced;
  return FsyncDirs(outputs_, path.parent_path(), &synced);
}

void JobFiles::RemoveOutput(engine::JobId job, engine::AttemptId attempt, const std::string& name) {
  if (!ValidateFileName(name).ok()) return;
  std::error_code ec;
  fs::remove(fs::path(outputs_) / std::to_string(job) / std::to_string(attempt) / name, ec);
}

void JobFiles::RemoveOutputs(engine::JobId job) {
  std::error_code ec;
  fs::remove_all(fs::path(outputs_) / std::to_string(job), ec);
}

Result<std::vector<FileInfo>> JobFiles::ListOutputs(engine::JobId job,
                                                    engine::AttemptId attempt) const {
  const fs::path dir = fs::path(outputs_) / std::to_string(job) / std::to_string(attempt);
  std::vector<FileInfo> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::string name = fs::relative(it->path(), dir, ec).string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") continue;  // a write in flight
    out.push_back({std::move(name), static_cast<uint64_t>(it->file_size(ec))});
  }
  if (ec) return Unavailable("list " + dir.string() + ": " + ec.message());
  std::sort(out.begin(), out.end(),
            [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  return out;
}

Result<std::string> JobFiles::ReadOutput(engine::JobId job, engine::AttemptId attempt,
                                         const std::string& name) const {
  BATON_RETURN_IF_ERROR(ValidateFileName(name));
  return ReadWhole(fs::path(outputs_) / std::to_string(job) / std::to_string(attempt) / name,
                   limits_.file_bytes_max, "file " + Quote(name));
}

Result<size_t> JobFiles::RemoveOrphanInputs(
    const std::function<Result<bool>(const std::string&)>& in_use) {
  size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(inputs_, ec)) {
    const std::string key = entry.path().filename().string();
    Result<bool> used = in_use(key);
    if (!used.ok()) return used.status();
    if (*used) continue;
    DropInputs(key);
    ++removed;
  }
  if (ec) return Unavailable("list " + inputs_ + ": " + ec.message());
  return removed;
}

}  // namespace baton::server
