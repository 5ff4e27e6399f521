-- event batches
-- The events of one group commit are one row: a column of arrays, one array per field, the
-- events in sequence order. A job costs five events; as rows they were half the rows and 40% of
-- the WAL a job wrote (an index entry each, a tuple header each), as arrays they are a few
-- kilobytes a commit. Readers unnest the batches that overlap the range they read
-- (`first_seq`..`last_seq`); `last_at_ms` (the newest event's time) finds where a time begins.
--
-- The arrays go out of line (TOAST) compressed with lz4 where the server has it; pglz costs more
-- than the rows did, so without lz4 they are kept uncompressed (STORAGE EXTERNAL).
CREATE TABLE event_batches (
  first_seq BIGINT PRIMARY KEY,
  last_seq BIGINT NOT NULL,
  last_at_ms BIGINT NOT NULL,
  seq BIGINT[] NOT NULL,
  job_id BIGINT[] NOT NULL,
  at_ms BIGINT[] NOT NULL,
  kind TEXT[] NOT NULL,
  state TEXT[] NOT NULL,
  attempt_id BIGINT[] NOT NULL,
  outcome TEXT[] NOT NULL,
  progress DOUBLE PRECISION[] NOT NULL,
  message TEXT[] NOT NULL,
  workflow_id BIGINT[] NOT NULL,
  CHECK (last_seq >= first_seq),
  -- An event is stored once: no two batches overlap.
  EXCLUDE USING gist (int8range(first_seq, last_seq, '[]') WITH &&)
);
CREATE INDEX event_batches_at ON event_batches(last_at_ms);
DO $$
DECLARE
  col TEXT;
BEGIN
  FOREACH col IN ARRAY ARRAY['seq', 'job_id', 'at_ms', 'kind', 'state', 'attempt_id', 'outcome',
                             'progress', 'message', 'workflow_id'] LOOP
    BEGIN
      EXECUTE format('ALTER TABLE event_batches ALTER COLUMN %I SET COMPRESSION lz4', col);
    EXCEPTION WHEN OTHERS THEN
      EXECUTE format('ALTER TABLE event_batches ALTER COLUMN %I SET STORAGE EXTERNAL', col);
    END;
  END LOOP;
END
$$;
-- The events so far, a thousand to a batch.
INSERT INTO event_batches
SELECT min(seq), max(seq), max(at_ms), array_agg(seq ORDER BY seq), array_agg(job_id ORDER BY seq),
       array_agg(at_ms ORDER BY seq), array_agg(kind ORDER BY seq), array_agg(state ORDER BY seq),
       array_agg(attempt_id ORDER BY seq), array_agg(outcome ORDER BY seq),
       array_agg(progress ORDER BY seq), array_agg(message ORDER BY seq),
       array_agg(workflow_id ORDER BY seq)
FROM events GROUP BY (seq - 1) / 1000;
DROP TABLE events;
