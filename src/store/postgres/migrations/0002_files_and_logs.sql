-- files and logs
-- The files that travel with jobs, and what jobs print, kept in the database so that every
-- server reaches them (postgres_files.cc).
--
-- A blob's bytes are a content: chunks of at most 256 KiB, written as the upload arrives. A key
-- (blobs) names one live content; replacing or removing the key releases its content, which is
-- deleted some minutes later, so that a reader that opened it before can finish. A content still
-- being written belongs to its writer, which deletes it if it gives up; one left by a server
-- that died is deleted a day later.
CREATE TABLE blob_contents (
  id BIGSERIAL PRIMARY KEY,
  state TEXT NOT NULL CHECK (state IN ('writing', 'live', 'released')),
  since_ms BIGINT NOT NULL
);
CREATE INDEX blob_contents_unused ON blob_contents (since_ms) WHERE state <> 'live';
CREATE TABLE blob_chunks (
  content BIGINT NOT NULL REFERENCES blob_contents (id) ON DELETE CASCADE,
  n INTEGER NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (content, n)
);
-- Files are mostly compressed already: keep them out of line, uncompressed.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE blobs (
  key TEXT COLLATE "C" PRIMARY KEY,
  content BIGINT NOT NULL REFERENCES blob_contents (id),
  size BIGINT NOT NULL
);

-- A job's log is its rows in order of offset: each row is the bytes appended at `off`.
CREATE TABLE job_logs (
  job BIGINT NOT NULL,
  off BIGINT NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (job, off)
);
