-- resources, labels, concurrency keys
ALTER TABLE jobs ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN labels TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN concurrency_key TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER NOT NULL DEFAULT 0;
