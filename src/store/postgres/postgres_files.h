// Files and logs in PostgreSQL (migration 0002), where every server reaches them.
//
// Blobs: a key names a content, whose bytes are chunks of at most kBlobChunkBytes, inserted as a
// writer fills them and read back one at a time, so no file is whole in memory. A commit names
// the key in the same transaction as the last chunk. A replaced or removed content is released,
// not deleted: a reader that opened it before reads it to the end for kReleasedKeepMs, after
// which the next removal sweeps it away (and, with it, contents left half-written by a server
// that died more than kWritingKeepMs ago).
//
// Logs: appends go to memory and a thread of the store writes them in the background, every job's
// new bytes of the moment in one statement (its own group commit, without waiting for the WAL's
// flush: logs need not be durable). Size and Read see an append at once: what is not written yet
// is read from memory. One writer at a time (the leader); a server that becomes the leader opens
// a new LogStore.
#pragma once

#include <memory>
#include <string>

#include "store/blob_store.h"
#include "store/log_store.h"

namespace baton::store {

inline constexpr size_t kBlobChunkBytes = 256 << 10;
inline constexpr int64_t kReleasedKeepMs = 10 * 60 * 1000;
inline constexpr int64_t kWritingKeepMs = 24 * 60 * 60 * 1000;
// Log bytes waiting for the database, over all jobs; past it an append fails (and JobLogs drops
// the chunk) until the database catches up.
inline constexpr size_t kLogPendingMax = 16 << 20;

Result<std::unique_ptr<BlobStore>> OpenPostgresBlobStore(const std::string& url,
                                                         const std::string& description);
Result<std::unique_ptr<LogStore>> OpenPostgresLogStore(const std::string& url,
                                                       const std::string& description);

}  // namespace baton::store
