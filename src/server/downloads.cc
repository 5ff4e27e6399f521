#include "server/downloads.h"

#include <cstdio>
#include <cstdlib>

#include "common/zip.h"

namespace baton::server {

namespace {

// One download in flight: it owns the source and runs on the blocking pool.
class Pump : public std::enable_shared_from_this<Pump> {
 public:
  Pump(BlockingPool* pool, std::shared_ptr<ResponseStream> stream, ChunkSource source,
       DownloadLimits limits)
      : pool_(pool), stream_(std::move(stream)), source_(std::move(source)), limits_(limits) {}

  void Run() {
    size_t sent = 0;
    while (!stream_->closed()) {
      if (stream_->backlog() > limits_.window_bytes) {
        // The client is behind: go on once it has taken half the window.
        stream_->WhenRoom(limits_.window_bytes / 2, [self = shared_from_this()] { self->Again(); });
        return;
      }
      if (sent >= limits_.window_bytes) return Again();  // other work on the pool goes first
      Result<std::string> chunk = source_();
      if (!chunk.ok()) {
        std::fprintf(stderr, "baton server: a download was cut short: %s\n",
                     chunk.status().ToString().c_str());
        return stream_->Abort();
      }
      if (chunk->empty()) return stream_->End();
      sent += chunk->size();
      stream_->Write(std::move(*chunk));
    }
  }

 private:
  void Again() {
    pool_->Post([self = shared_from_this()] { self->Run(); });
  }
  BlockingPool* pool_;
  std::shared_ptr<ResponseStream> stream_;
  ChunkSource source_;
  DownloadLimits limits_;
};

class ZipState {
 public:
  ZipState(std::vector<ZipItem> items, BlobOpener open, size_t chunk_bytes)
      : items_(std::move(items)), open_(std::move(open)), chunk_bytes_(chunk_bytes) {}

  Result<std::string> Next() {
    for (;;) {
      if (zip_.pending() >= chunk_bytes_ || (finished_ && zip_.pending() > 0)) return zip_.Take();
      if (finished_) return std::string();
      if (!reader_) {
        if (next_ == items_.size()) {
          zip_.Finish();
          finished_ = true;
          continue;
        }
        const ZipItem& item = items_[next_++];
        BATON_ASSIGN_OR_RETURN(reader_, open_(item));
        read_ = 0;
        zip_.Begin(item.name, item.size);
        continue;
      }
      BATON_ASSIGN_OR_RETURN(std::string data, reader_->Read(chunk_bytes_));
      if (data.empty()) {
        const ZipItem& item = items_[next_ - 1];
        if (read_ != item.size) {
          return DataLoss("file \"" + item.name + "\" ended after " + std::to_string(read_) +
                          " of its " + std::to_string(item.size) + " bytes while it was sent");
        }
        reader_.reset();
        continue;
      }
      read_ += data.size();
      zip_.Write(data);
    }
  }

 private:
  std::vector<ZipItem> items_;
  BlobOpener open_;
  size_t chunk_bytes_;
  size_t next_ = 0;
  std::unique_ptr<store::BlobReader> reader_;
  uint64_t read_ = 0;
  ZipStream zip_;
  bool finished_ = false;
};

}  // namespace

HttpResponse DownloadHead(const HttpRequest& request, std::string_view content_type,
                          const std::string& filename, std::optional<uint64_t> length) {
  HttpResponse res{http::status::ok, request.version()};
  res.set(http::field::content_type, content_type);
  res.set(http::field::server, "baton");
  // The last segment as the name a browser saves; quotes and control characters left out.
  std::string base = filename.substr(filename.rfind('/') + 1);
  std::erase_if(
      base, [](char c) { return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20; });
  res.set(http::field::content_disposition, "attachment; filename=\"" + base + "\"");
  res.keep_alive(request.keep_alive());
  if (length) {
    res.content_length(*length);
  } else if (request.version() >= 11) {
    res.chunked(true);
  }
  return res;
}

HttpResponse HeadOf(HttpResponse res) {
  const size_t size = res.body().size();
  res.body().clear();
  res.content_length(size);
  return res;
}

void StreamDownload(BlockingPool* pool, const Reply& reply, HttpResponse head, bool head_only,
                    ChunkSource source, DownloadLimits limits) {
  if (head_only) {
    // The head as GET would send it, without the body (or a chunked body's last chunk).
    if (head.chunked()) head.chunked(false);
    return reply(std::move(head));
  }
  std::optional<uint64_t> length;
  if (head.has_content_length()) {
    length = std::strtoull(std::string(head[http::field::content_length]).c_str(), nullptr, 10);
  }
  if (length && *length <= limits.chunk_bytes) {
    // Small: one answer read at once, and the connection stays open for the next request.
    pool->Post(
        [reply, head = std::move(head), source = std::move(source), size = *length]() mutable {
          std::string body;
          for (;;) {
            Result<std::string> chunk = source();
            if (!chunk.ok() || body.size() + chunk->size() > size) {
              const Status s =
                  chunk.ok() ? DataLoss("the file grew while it was read") : chunk.status();
              return reply(ErrorResponse(s, head.version(), head.keep_alive()));
            }
            if (chunk->empty()) break;
            body += *chunk;
          }
          if (body.size() != size) {
            return reply(ErrorResponse(DataLoss("the file shrank while it was read"),
                                       head.version(), head.keep_alive()));
          }
          head.body() = std::move(body);
          reply(std::move(head));
        });
    return;
  }
  std::shared_ptr<ResponseStream> stream = reply.Stream(std::move(head));
  auto pump = std::make_shared<Pump>(pool, std::move(stream), std::move(source), limits);
  pool->Post([pump] { pump->Run(); });
}

ChunkSource BlobSource(std::unique_ptr<store::BlobReader> reader, size_t chunk_bytes) {
  struct State {
    std::unique_ptr<store::BlobReader> reader;
    uint64_t read = 0;
  };
  auto state = std::make_shared<State>(State{std::move(reader), 0});
  return [state, chunk_bytes]() -> Result<std::string> {
    BATON_ASSIGN_OR_RETURN(std::string data, state->reader->Read(chunk_bytes));
    state->read += data.size();
    if (data.empty() && state->read != state->reader->size()) {
      return DataLoss("the file ended after " + std::to_string(state->read) + " of its " +
                      std::to_string(state->reader->size()) + " bytes while it was sent");
    }
    return data;
  };
}

ChunkSource ZipSource(std::vector<ZipItem> items, BlobOpener open, size_t chunk_bytes) {
  auto state = std::make_shared<ZipState>(std::move(items), std::move(open), chunk_bytes);
  return [state] { return state->Next(); };
}

}  // namespace baton::server
