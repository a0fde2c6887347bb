-- The commit-time trigger of 010 read the whole `seat_changes` table (to count its events and to take every note
-- of the transaction): a table every seat write inserts into and deletes from, and where, without a vacuum, the
-- deleted rows' line pointers pile up. Under a release-and-offer benchmark each commit scanned thousands of pages.
-- Now each note is applied by its own trigger call and found by its key: the same versions, in the same order
-- (notes fire in the order they were written, a multi-event statement's in event order, as before 010).
ALTER TABLE seat_changes ADD PRIMARY KEY (id);

CREATE OR REPLACE FUNCTION apply_seat_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  WITH taken AS (
    DELETE FROM seat_changes WHERE id = NEW.id RETURNING *
  ), bumped AS (
    UPDATE event_inventory i
       SET seat_map_version = i.seat_map_version + 1,
           available_count = i.available_count + t.delta,
           booked_count = i.booked_count + t.booked_delta
      FROM taken t
     WHERE i.event_id = t.event_id
    RETURNING i.event_id, i.seat_map_version
  )
  INSERT INTO outbox (topic, payload)
  SELECT 'seatMap.' || t.event_id,
         jsonb_build_object('eventId', t.event_id, 'version', b.seat_map_version, 'ordinals', t.ordinals,
                            'statuses', t.statuses, 'heldUntil', t.held_until)
    FROM taken t JOIN bumped b USING (event_id);
  RETURN NULL;
END $$;
