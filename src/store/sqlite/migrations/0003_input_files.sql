-- input files
ALTER TABLE jobs ADD COLUMN input_dir TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN input_files TEXT NOT NULL DEFAULT '[]';
CREATE INDEX jobs_input_dir ON jobs(input_dir) WHERE input_dir != '';
