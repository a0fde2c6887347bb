-- Every seat write of an event updates one row, its inventory (seat-map version and counts). The trigger of 007
-- updated it from the statement that changed the seats, and so kept it locked for the rest of that transaction:
-- its remaining statements, and before each the round trip to a gateway whose event loop is busy with thousands of
-- sockets. During a sale one event's writes (holds, bookings, releases, offers) then took turns one transaction at
-- a time, each as long as its slowest round trip. Now the statement trigger only notes what changed, and a
-- deferred trigger applies the notes when the transaction commits: the row is locked while it commits, not longer.
-- Inside the transaction that changed seats, the inventory still shows the counts and version of before.

-- No seat changes between the old trigger and the new one.
LOCK TABLE seats, event_inventory IN SHARE ROW EXCLUSIVE MODE;

-- A transaction's notes, one per statement and event, from the statement until its commit (which deletes them).
CREATE TABLE seat_changes (
  id           bigint GENERATED ALWAYS AS IDENTITY,
  event_id     integer NOT NULL,
  delta        integer NOT NULL,
  booked_delta integer NOT NULL,
  ordinals     jsonb NOT NULL,
  statuses     text NOT NULL,
  held_until   bigint
);

CREATE OR REPLACE FUNCTION seats_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO seat_changes (event_id, delta, booked_delta, ordinals, statuses, held_until)
  SELECT event_id, sum(delta), sum(booked_delta),
         jsonb_agg(ordinal ORDER BY ordinal),
         string_agg(upper(left(status, 1)), '' ORDER BY ordinal),
         floor(extract(epoch FROM min(held_until) FILTER (WHERE status = 'held')) * 1000)::bigint
    FROM (SELECT n.event_id, n.ordinal, n.status, n.held_until,
                 (n.status = 'available')::int - (o.status = 'available')::int AS delta,
                 (n.status = 'booked')::int - (o.status = 'booked')::int AS booked_delta
            FROM new_seats n JOIN old_seats o USING (event_id, ordinal)
           WHERE n.status IS DISTINCT FROM o.status) AS changed
   GROUP BY event_id
   ORDER BY event_id;
  RETURN NULL;
END $$;

-- At commit: the first note to fire applies all of the transaction's (the others find none left). Each note is a
-- version of its event's seat map, in the order the statements ran, with its outbox row, as before.
CREATE FUNCTION apply_seat_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Notes of several events (a sweep) lock their rows in event order, so that two commits cannot deadlock.
  IF (SELECT count(DISTINCT event_id) FROM seat_changes) > 1 THEN
    PERFORM 1 FROM event_inventory WHERE event_id IN (SELECT event_id FROM seat_changes) ORDER BY event_id FOR UPDATE;
  END IF;
  WITH taken AS (
    DELETE FROM seat_changes RETURNING *
  ), numbered AS (
    SELECT t.*, row_number() OVER (PARTITION BY t.event_id ORDER BY t.id) AS n FROM taken t
  ), per_event AS (
    SELECT event_id, count(*)::int AS versions, sum(delta)::int AS delta, sum(booked_delta)::int AS booked_delta
      FROM taken GROUP BY event_id
  ), bumped AS (
    UPDATE event_inventory i
       SET seat_map_version = i.seat_map_version + p.versions,
           available_count = i.available_count + p.delta,
           booked_count = i.booked_count + p.booked_delta
      FROM per_event p
     WHERE i.event_id = p.event_id
    RETURNING i.event_id, i.seat_map_version - p.versions AS before
  )
  INSERT INTO outbox (topic, payload)
  SELECT 'seatMap.' || c.event_id,
         jsonb_build_object('eventId', c.event_id, 'version', b.before + c.n, 'ordinals', c.ordinals,
                            'statuses', c.statuses, 'heldUntil', c.held_until)
    FROM numbered c JOIN bumped b USING (event_id)
   ORDER BY c.event_id, c.n;
  RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER seat_changes_at_commit AFTER INSERT ON seat_changes
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION apply_seat_changes();
