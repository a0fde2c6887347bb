-- The write path: holds, bookings and their payments, the transactional outbox, the best-available order of
-- seats, and the guard that refuses to overwrite a live claim on a seat.

-- Best-available order. A seat's key is (section price, section position, row, distance from the row's centre,
-- seat number): cheapest section first, then the lowest row, then the centre. `rank` is the seat's place in
-- that order within its event (0 = best), set when the seats are created; this function is the only place
-- where the order is written down.
CREATE FUNCTION best_available_key(price integer, section_position integer, row_index integer,
                                   seat_number integer, seats_per_row integer) RETURNS integer[]
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  RETURN ARRAY[price, section_position, row_index, abs(2 * seat_number - seats_per_row - 1), seat_number];

ALTER TABLE seats ADD COLUMN rank integer;
UPDATE seats s SET rank = r.rank
  FROM (SELECT s.event_id, s.ordinal,
               row_number() OVER (PARTITION BY s.event_id
                                  ORDER BY best_available_key(c.price, c.position, s.row_index, s.seat_number, c.seats_per_row)) - 1 AS rank
          FROM seats s JOIN sections c ON c.id = s.section_id) r
 WHERE s.event_id = r.event_id AND s.ordinal = r.ordinal;
ALTER TABLE seats ALTER COLUMN rank SET NOT NULL;
-- Only available seats: a best-available search walks the event's free seats in rank order and stops at once.
CREATE INDEX seats_best_available_idx ON seats (event_id, rank) WHERE status = 'available';

-- The outbox: every seat change and every user notification, written in the transaction that makes it, for the
-- relay to publish. A rolled-back change leaves no row; a committed one always has its row.
CREATE TABLE outbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic        text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (id) WHERE published_at IS NULL;

-- The seats trigger of 001, now also writing one outbox row per event and version: the seats whose status
-- changed (ordinals ascending) and their new statuses, one letter each (A, H, B).
CREATE OR REPLACE FUNCTION seats_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A statement over several events (a sweep) locks their rows in event order, so two cannot deadlock.
  IF (SELECT count(DISTINCT event_id) FROM new_seats) > 1 THEN
    PERFORM 1 FROM event_inventory WHERE event_id IN (SELECT event_id FROM new_seats) ORDER BY event_id FOR UPDATE;
  END IF;
  WITH changed AS (
    SELECT n.event_id, n.ordinal, n.status,
           (n.status = 'available')::int - (o.status = 'available')::int AS delta
      FROM new_seats n JOIN old_seats o USING (event_id, ordinal)
     WHERE n.status IS DISTINCT FROM o.status
  ), per_event AS (
    SELECT event_id, sum(delta) AS delta,
           jsonb_agg(ordinal ORDER BY ordinal) AS ordinals,
           string_agg(upper(left(status, 1)), '' ORDER BY ordinal) AS statuses
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
         jsonb_build_object('eventId', b.event_id, 'version', b.seat_map_version, 'ordinals', p.ordinals, 'statuses', p.statuses)
    FROM bumped b JOIN per_event p USING (event_id)
   ORDER BY b.event_id;
  RETURN NULL;
END $$;

-- Defense in depth: whatever the application does, a seat's claim can only be taken over when the seat is free
-- or its hold has lapsed. A live hold may only turn into a booking of the same hold (booked seats keep the
-- `hold_id` they came from); a booked seat may only be freed, never changed. The rule is the trigger's WHEN
-- clause, so the function runs only for an update that would double-sell. Dropping a claim (release, expiry,
-- refund) is free.
CREATE FUNCTION refuse_second_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'seat % of event % already has a live claim', OLD.ordinal, OLD.event_id
    USING ERRCODE = 'OS001';
END $$;

CREATE TRIGGER seats_one_live_claim BEFORE UPDATE ON seats
  FOR EACH ROW
  WHEN ((OLD.status = 'booked' AND NEW.status <> 'available'
         AND (NEW.status, NEW.booking_id, NEW.hold_id) IS DISTINCT FROM (OLD.status, OLD.booking_id, OLD.hold_id))
     OR (OLD.status = 'held' AND OLD.held_until > now() AND NEW.status <> 'available'
         AND NEW.hold_id IS DISTINCT FROM OLD.hold_id))
  EXECUTE FUNCTION refuse_second_claim();

CREATE TABLE holds (
  id               uuid PRIMARY KEY,
  event_id         integer NOT NULL REFERENCES events ON DELETE CASCADE,
  -- Who holds it: `user:<sub>` or `key:<api key id>`.
  owner            text NOT NULL,
  ordinals         integer[] NOT NULL CHECK (cardinality(ordinals) > 0),
  total            integer NOT NULL CHECK (total >= 0),
  currency         char(3) NOT NULL,
  status           text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'RELEASED', 'EXPIRED', 'CONVERTED')),
  -- When the hold lapses; moved later while a payment is in flight, and back to `base_expires_at` if it fails.
  expires_at       timestamptz(3) NOT NULL,
  base_expires_at  timestamptz(3) NOT NULL,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  ended_at         timestamptz,
  CHECK ((status = 'ACTIVE') = (ended_at IS NULL))
);
CREATE INDEX holds_owner_idx ON holds (owner, event_id, created_at DESC);
-- The sweeper's work list: active holds by expiry.
CREATE INDEX holds_due_idx ON holds (expires_at) WHERE status = 'ACTIVE';

-- A booking is one attempt to pay for a hold, keyed by the caller's idempotency key. The payment's state lives
-- on the same row, written in the same transaction as the booking's state, and the CHECKs below make the money
-- rules structural: no CONFIRMED booking without a capture, no failed capture without a refund.
CREATE TABLE bookings (
  id               uuid PRIMARY KEY,
  event_id         integer NOT NULL REFERENCES events ON DELETE CASCADE,
  hold_id          uuid NOT NULL REFERENCES holds ON DELETE CASCADE,
  owner            text NOT NULL,
  ordinals         integer[] NOT NULL CHECK (cardinality(ordinals) > 0),
  total            integer NOT NULL CHECK (total >= 0),
  currency         char(3) NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING_PAYMENT'
                   CHECK (status IN ('PENDING_PAYMENT', 'CONFIRMED', 'FAILED', 'REFUNDED')),
  idempotency_key  text NOT NULL,
  -- sha256 of the request (hold and payment token): a key reused with other input is refused.
  request_hash     text NOT NULL,
  -- The provider's view of the charge: requested (no answer yet), pending (answer later, by webhook),
  -- captured, declined.
  charge_status    text NOT NULL DEFAULT 'requested' CHECK (charge_status IN ('requested', 'pending', 'captured', 'declined')),
  charge_id        text,
  -- Why a booking FAILED: declined, hold_lost (the payment completed after the hold had lapsed), timeout.
  failure          text CHECK (failure IN ('declined', 'hold_lost', 'timeout')),
  refund_status    text CHECK (refund_status IN ('due', 'done')),
  refund_id        text,
  created_at       timestamptz(3) NOT NULL DEFAULT now(),
  updated_at       timestamptz(3) NOT NULL DEFAULT now(),
  UNIQUE (owner, idempotency_key),
  CHECK ((status = 'FAILED') = (failure IS NOT NULL)),
  CHECK (status <> 'CONFIRMED' OR (charge_status = 'captured' AND refund_status IS NULL)),
  CHECK (status <> 'REFUNDED' OR (charge_status = 'captured' AND refund_status IS NOT NULL)),
  CHECK (status <> 'FAILED' OR charge_status <> 'captured' OR refund_status IS NOT NULL),
  CHECK (status <> 'PENDING_PAYMENT' OR refund_status IS NULL),
  CHECK ((refund_status = 'done') = (refund_id IS NOT NULL))
);
-- At most one booking in flight or confirmed per hold.
CREATE UNIQUE INDEX bookings_live_hold_idx ON bookings (hold_id) WHERE status IN ('PENDING_PAYMENT', 'CONFIRMED');
CREATE INDEX bookings_owner_idx ON bookings (owner, event_id, created_at DESC);
CREATE INDEX bookings_refund_due_idx ON bookings (updated_at) WHERE refund_status = 'due';
CREATE INDEX bookings_unsettled_idx ON bookings (updated_at) WHERE charge_status = 'requested';

-- Provider events already applied: a webhook delivered twice changes nothing the second time.
CREATE TABLE payment_events (
  id           text PRIMARY KEY,
  type         text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT now()
);
