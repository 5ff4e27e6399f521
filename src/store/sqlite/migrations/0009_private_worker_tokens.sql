-- private worker tokens
ALTER TABLE tokens ADD COLUMN private INTEGER NOT NULL DEFAULT 0;
