-- "Every seat taken" is not "sold out" (API.md, Errors): held seats come back when their holds lapse. The
-- inventory also counts booked seats, the trigger of 003 keeps that count with the available one, and an event
-- reads SOLD_OUT only when every seat is booked. Held = capacity - available - booked, a column of event_rows.

-- No seat changes between the backfill and the new trigger (an older instance's booking would be lost from the count).
LOCK TABLE seats, event_inventory IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE event_inventory ADD COLUMN booked_count integer NOT NULL DEFAULT 0 CHECK (booked_count >= 0);

UPDATE event_inventory i
   SET booked_count = b.booked
  FROM (SELECT event_id, count(*)::int AS booked FROM seats WHERE status = 'booked' GROUP BY event_id) b
 WHERE i.event_id = b.event_id;

CREATE OR REPLACE FUNCTION seats_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A statement over several events (a sweep) locks their rows in event order, so two cannot deadlock.
  IF (SELECT count(DISTINCT event_id) FROM new_seats) > 1 THEN
    PERFORM 1 FROM event_inventory WHERE event_id IN (SELECT event_id FROM new_seats) ORDER BY event_id FOR UPDATE;
  END IF;
  WITH changed AS (
    SELECT n.event_id, n.ordinal, n.status, n.held_until,
           (n.status = 'available')::int - (o.status = 'available')::int AS delta,
           (n.status = 'booked')::int - (o.status = 'booked')::int AS booked_delta
      FROM new_seats n JOIN old_seats o USING (event_id, ordinal)
     WHERE n.status IS DISTINCT FROM o.status
  ), per_event AS (
    SELECT event_id, sum(delta) AS delta, sum(booked_delta) AS booked_delta,
           jsonb_agg(ordinal ORDER BY ordinal) AS ordinals,
           string_agg(upper(left(status, 1)), '' ORDER BY ordinal) AS statuses,
           floor(extract(epoch FROM min(held_until) FILTER (WHERE status = 'held')) * 1000)::bigint AS held_until
      FROM changed GROUP BY event_id
  ), bumped AS (
    UPDATE event_inventory i
       SET seat_map_version = i.seat_map_version + 1,
           available_count = i.available_count + p.delta,
           booked_count = i.booked_count + p.booked_delta
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

-- The view of 001 with its status rule changed (one place, as before) and the held count appended.
CREATE OR REPLACE VIEW event_rows AS
SELECT e.id, e.venue_id, e.title, e.performer, e.category, e.starts_at, e.on_sale_at, e.currency,
       e.max_tickets_per_user, e.hold_duration_seconds, e.capacity, i.available_count, i.seat_map_version,
       e.cancelled_at, e.wr_opens_at, e.wr_admissions_per_minute, e.wr_admission_window_seconds,
       e.wr_raffle_commitment,
       CASE WHEN e.wr_raffle_ran_at IS NOT NULL THEN e.wr_raffle_seed END AS wr_raffle_seed,
       e.price_min, e.price_max,
       v.name AS venue_name, v.city AS venue_city, v.country AS venue_country,
       CASE WHEN e.cancelled_at IS NOT NULL THEN 'CANCELLED'
            WHEN now() < e.on_sale_at THEN 'SCHEDULED'
            WHEN i.booked_count = e.capacity THEN 'SOLD_OUT'
            ELSE 'ON_SALE' END AS status,
       e.search,
       e.capacity - i.available_count - i.booked_count AS held_count
  FROM events e
  JOIN event_inventory i ON i.event_id = e.id
  JOIN venues v ON v.id = e.venue_id;
