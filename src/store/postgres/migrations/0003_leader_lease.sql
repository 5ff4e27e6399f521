-- leader lease
-- Which of the servers on this database is the leader (store/lease.h): one row. `epoch` goes up
-- by one each time a server takes the lease; `expires_ms` is the database's clock. A lapsed lease
-- (expires_ms in the past) may be taken by any server.
CREATE TABLE baton_lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  epoch BIGINT NOT NULL,
  holder TEXT NOT NULL,
  address TEXT NOT NULL,
  expires_ms BIGINT NOT NULL
);
INSERT INTO baton_lease VALUES (1, 0, '', '', 0);
-- The fence of every commit of a leader: fails the transaction (SQLSTATE BT003) unless the lease
-- still has the leader's epoch. The row is locked FOR SHARE until the commit ends, so a server
-- that takes the lease waits for the commit in flight and then recovers a state that holds it.
CREATE FUNCTION baton_fence(want BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
  have BIGINT;
BEGIN
  SELECT epoch INTO have FROM baton_lease WHERE id = 1 FOR SHARE;
  IF have IS DISTINCT FROM want THEN
    RAISE EXCEPTION 'baton: this server is no longer the leader (lease epoch % is over; now %)',
      want, have USING ERRCODE = 'BT003';
  END IF;
END
$$;
