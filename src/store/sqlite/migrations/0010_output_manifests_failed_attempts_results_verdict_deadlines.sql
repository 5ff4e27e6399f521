-- output manifests, failed attempts' results, verdict deadlines
ALTER TABLE job_status ADD COLUMN outputs TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE attempts ADD COLUMN result TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN verdict_timeout_ms INTEGER NOT NULL DEFAULT 0;
