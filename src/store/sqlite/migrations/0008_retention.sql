-- retention
ALTER TABLE jobs ADD COLUMN retention_ms INTEGER NOT NULL DEFAULT 0;
