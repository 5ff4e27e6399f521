#include "server/job_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include "common/json.h"
#include "server/auth.h"

namespace baton::server {

namespace {

std::string OutputPrefix(engine::JobId job, engine::AttemptId attempt) {
  return "outputs/" + std::to_string(job) + "/" + std::to_string(attempt);
}

// Writes one blob whole, in bounded pieces, and commits it.
Status WriteBlob(store::BlobStore& blobs, const std::string& key, std::string_view data) {
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::BlobWriter> w, blobs.Create(key));
  constexpr size_t kPiece = 1 << 20;
  for (size_t at = 0; at < data.size(); at += kPiece) {
    BATON_RETURN_IF_ERROR(w->Write(data.substr(at, kPiece)));
  }
  return w->Commit();
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
  // No files: a key that names nothing (every name in it is missing, as in an empty directory).
  std::vector<std::string> keys;
  Status s;
  for (const FileData& f : files) {
    keys.push_back("inputs/" + *key + "/" + f.name);
    s = WriteBlob(*blobs_, keys.back(), f.data);
    if (!s.ok()) break;
  }
  // Every directory once, after every file.
  if (s.ok()) s = blobs_->Publish(keys);
  if (!s.ok()) {
    DropInputs(*key);
    return s;
  }
  return key;
}

void JobFiles::DropInputs(const std::string& key) {
  if (key.empty() || key.find('/') != std::string::npos) return;
  blobs_->RemoveAll("inputs/" + key);
}

Result<std::unique_ptr<store::BlobReader>> JobFiles::OpenInput(const std::string& key,
                                                               const std::string& name) const {
  BATON_RETURN_IF_ERROR(ValidateFileName(name));
  if (key.empty()) return NotFound("input file " + Quote(name) + ": the job has no input files");
  Result<std::unique_ptr<store::BlobReader>> r = blobs_->Open("inputs/" + key + "/" + name);
  if (r.status().code() == StatusCode::kNotFound) {
    return NotFound("input file " + Quote(name) + ": no such file");
  }
  return r;
}

Result<uint64_t> JobFiles::WriteOutput(engine::JobId job, engine::AttemptId attempt,
                                       const std::string& name, std::string_view data) {
  BATON_RETURN_IF_ERROR(CheckOutput(job, attempt, name, data.size()));
  const std::string key = OutputPrefix(job, attempt) + "/" + name;
  BATON_RETURN_IF_ERROR(WriteBlob(*blobs_, key, data));
  BATON_RETURN_IF_ERROR(blobs_->Publish({key}));
  return uint64_t{data.size()};
}

Result<uint64_t> JobFiles::WriteOutputFromFile(engine::JobId job, engine::AttemptId attempt,
                                               const std::string& name, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("read " + path + ": " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Unavailable("read " + path + ": " + std::strerror(errno));
  BATON_RETURN_IF_ERROR(CheckOutput(job, attempt, name, static_cast<uint64_t>(st.st_size)));
  const std::string key = OutputPrefix(job, attempt) + "/" + name;
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<store::BlobWriter> w, blobs_->Create(key));
  std::string piece(1 << 20, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, piece.data(), piece.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable("read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    BATON_RETURN_IF_ERROR(w->Write(std::string_view(piece.data(), static_cast<size_t>(n))));
  }
  if (w->size() != static_cast<uint64_t>(st.st_size)) {
    return Unavailable("read " + path + ": it changed while it was copied");
  }
  BATON_RETURN_IF_ERROR(w->Commit());
  BATON_RETURN_IF_ERROR(blobs_->Publish({key}));
  return w->size();
}

Status JobFiles::CheckOutput(engine::JobId job, engine::AttemptId attempt, const std::string& name,
                             uint64_t size) const {
  BATON_RETURN_IF_ERROR(ValidateFileName(name));
  if (size > limits_.file_bytes_max) {
    return InvalidArgument("file " + Quote(name) + ": " + std::to_string(size) +
                           " bytes, more than file_bytes_max (" +
                           std::to_string(limits_.file_bytes_max) + ")");
  }
  Result<std::vector<FileInfo>> existing = ListOutputs(job, attempt);
  if (!existing.ok()) return existing.status();
  uint64_t total = size;
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
  return Status::Ok();
}

void JobFiles::RemoveOutput(engine::JobId job, engine::AttemptId attempt, const std::string& name) {
  if (!ValidateFileName(name).ok()) return;
  blobs_->Remove(OutputPrefix(job, attempt) + "/" + name);
}

void JobFiles::RemoveOutputs(engine::JobId job) {
  blobs_->RemoveAll("outputs/" + std::to_string(job));
}

Result<std::vector<FileInfo>> JobFiles::ListOutputs(engine::JobId job,
                                                    engine::AttemptId attempt) const {
  return blobs_->List(OutputPrefix(job, attempt));
}

Result<std::unique_ptr<store::BlobReader>> JobFiles::OpenOutput(engine::JobId job,
                                                                engine::AttemptId attempt,
                                                                const std::string& name) const {
  BATON_RETURN_IF_ERROR(ValidateFileName(name));
  Result<std::unique_ptr<store::BlobReader>> r =
      blobs_->Open(OutputPrefix(job, attempt) + "/" + name);
  if (r.status().code() == StatusCode::kNotFound) {
    return NotFound("file " + Quote(name) + ": no such file");
  }
  return r;
}

Result<size_t> JobFiles::RemoveOrphanInputs(
    const std::function<Result<bool>(const std::string&)>& in_use) {
  size_t removed = 0;
  BATON_ASSIGN_OR_RETURN(std::vector<std::string> keys, blobs_->Children("inputs"));
  for (const std::string& key : keys) {
    Result<bool> used = in_use(key);
    if (!used.ok()) return used.status();
    if (*used) continue;
    DropInputs(key);
    ++removed;
  }
  return removed;
}

}  // namespace baton::server
