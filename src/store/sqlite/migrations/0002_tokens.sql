-- tokens
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  admin INTEGER NOT NULL,
  worker INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
