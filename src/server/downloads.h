// Downloads: response bodies streamed to the client in chunks as it takes them (job files,
// output.zip, logs). The producer reads on the blocking pool and writes at most a window ahead
// of the client, then waits for room (ResponseStream::WhenRoom) without holding a thread: a slow
// client holds back its download, not the server's memory. Per download the server holds about
// the window plus one chunk (and, for a zip, zlib's state), whatever the file's size.
//
// An error after the head has gone cannot change the status: the body ends early, and the client
// sees it as cut short (fewer bytes than the Content-Length, or no last chunk).
//
// Thread rules: StreamDownload from any thread; the source is called on the blocking pool, one
// call at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "server/http_server.h"
#include "server/job_access.h"
#include "store/blob_store.h"

namespace baton::server {

struct DownloadLimits {
  size_t chunk_bytes = 256 << 10;  // read from the store at once
  size_t window_bytes = 1 << 20;   // written ahead of what the client has taken
};

// The next piece of the body; empty at the end.
using ChunkSource = std::function<Result<std::string>()>;

// A download's head: 200, the content type, a Content-Disposition naming `filename`'s last
// segment, and the length when it is known (otherwise chunked, or close-delimited for HTTP/1.0).
HttpResponse DownloadHead(const HttpRequest& request, std::string_view content_type,
                          const std::string& filename, std::optional<uint64_t> length);

// The answer to a HEAD request: `res` without its body, its Content-Length kept.
HttpResponse HeadOf(HttpResponse res);

// Sends `head`, then the source's chunks until it returns empty (a HEAD request: the head only).
void StreamDownload(BlockingPool* pool, const Reply& reply, HttpResponse head, bool head_only,
                    ChunkSource source, DownloadLimits limits = {});

// One blob, read `chunk_bytes` at a time; a read that ends before the size it was opened with
// is an error (the file changed under the reader).
ChunkSource BlobSource(std::unique_ptr<store::BlobReader> reader, size_t chunk_bytes);

// A zip of blobs, streamed (common/zip.h): each entry opened when its turn comes, through `open`.
struct ZipItem {
  std::string name;  // in the archive
  uint64_t size = 0;
};
using BlobOpener = std::function<Result<std::unique_ptr<store::BlobReader>>(const ZipItem&)>;
ChunkSource ZipSource(std::vector<ZipItem> items, BlobOpener open, size_t chunk_bytes);

}  // namespace baton::server
