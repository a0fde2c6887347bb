-- Real-time: what the outbox relay and the subscription feeds need.

-- A committed outbox row wakes the relays at once (they also poll, in case a notification is missed). Postgres
-- delivers a notification only when its transaction commits, and one per transaction however many rows.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('onsale_outbox', '');
  RETURN NULL;
END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Replay: a feed that missed messages (a Redis restart, a version gap) reads them back per topic, in order.
CREATE INDEX outbox_topic_idx ON outbox (topic, id);

-- Seat deltas also say until when the seats they hold are held (the earliest, when several holds share the
-- statement), so that an instance can refuse a hold on them without asking the database until then.
CREATE OR REPLACE FUNCTION seats_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A statement over several events (a sweep) locks their rows in event order, so two cannot deadlock.
  IF (SELECT count(DISTINCT event_id) FROM new_seats) > 1 THEN
    PERFORM 1 FROM event_inventory WHERE event_id IN (SELECT event_id FROM new_seats) ORDER BY event_id FOR UPDATE;
  END IF;
  WITH changed AS (
    SELECT n.event_id, n.ordinal, n.status, n.held_until,
           (n.status = 'available')::int - (o.status = 'available')::int AS delta
      FROM new_seats n JOIN old_seats o USING (event_id, ordinal)
     WHERE n.status IS DISTINCT FROM o.status
  ), per_event AS (
    SELECT event_id, sum(delta) AS delta,
           jsonb_agg(ordinal ORDER BY ordinal) AS ordinals,
           string_agg(upper(left(status, 1)), '' ORDER BY ordinal) AS statuses,
           floor(extract(epoch FROM min(held_until) FILTER (WHERE status = 'held')) * 1000)::bigint AS held_until
      FROM changed GROUP BY event_id
  ), bumped AS (
    UPDATE event_inventory i
       SET seat_map_version = i.seat_map_version + 1,
           available_count = i.available_count + p.delta
      FROM per_event p
     WHERE i.event_id = p.event_id
    RETURNING i.event_id, i.seat_map_version
  )
  INSERT INTO outbox (topic, payload)
  SELECT 'seatMap.' || b.event_id,
         jsonb_build_object('eventId', b.event_id, 'version', b.seat_map_version, 'ordinals', p.ordinals,
                            'statuses', p.statuses, 'heldUntil', p.held_until)
    FROM bumped b JOIN per_event p USING (event_id)
   ORDER BY b.event_id;
  RETURN NULL;
END $$;
