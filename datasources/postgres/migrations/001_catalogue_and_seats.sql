-- Venues, events, sections and seats: the catalogue and the inventory.
-- One row per sellable seat per event; each event's inventory row carries the seat-map version and the count
-- of available seats, both kept by a statement trigger so that no code path can change a seat without them.

CREATE TABLE venues (
  id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  city       text NOT NULL CHECK (length(city) BETWEEN 1 AND 100),
  country    text NOT NULL CHECK (length(country) BETWEEN 1 AND 100),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
  id                     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  venue_id               integer NOT NULL REFERENCES venues,
  title                  text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  performer              text NOT NULL CHECK (length(performer) BETWEEN 1 AND 200),
  category               text NOT NULL CHECK (length(category) BETWEEN 1 AND 50),
  -- Millisecond precision, so that a timestamp survives the round trip through a JS Date and a cursor.
  starts_at              timestamptz(3) NOT NULL,
  on_sale_at             timestamptz(3) NOT NULL,
  currency               char(3) NOT NULL,
  max_tickets_per_user   integer NOT NULL CHECK (max_tickets_per_user > 0),
  hold_duration_seconds  integer NOT NULL CHECK (hold_duration_seconds > 0),
  capacity               integer NOT NULL CHECK (capacity > 0),
  -- Cheapest and dearest section, fixed when the layout is created (a layout never changes).
  price_min              integer CHECK (price_min >= 0),
  price_max              integer CHECK (price_max >= price_min),
  cancelled_at           timestamptz,
  -- Waiting room: all null for an event that is not gated.
  wr_opens_at            timestamptz(3),
  wr_admissions_per_minute integer CHECK (wr_admissions_per_minute > 0),
  wr_admission_window_seconds integer CHECK (wr_admission_window_seconds > 0),
  wr_raffle_seed         text,
  wr_raffle_commitment   text,
  wr_raffle_ran_at       timestamptz,
  search                 tsvector NOT NULL,
  created_at             timestamptz NOT NULL DEFAULT now(),
  CHECK (on_sale_at <= starts_at),
  CHECK ((wr_opens_at IS NULL) = (wr_admissions_per_minute IS NULL)
     AND (wr_opens_at IS NULL) = (wr_raffle_commitment IS NULL)),
  CHECK (wr_opens_at IS NULL OR wr_opens_at <= on_sale_at)
);
CREATE INDEX events_search_idx ON events USING gin (search);
CREATE INDEX events_starts_at_idx ON events (starts_at, id);
CREATE INDEX events_venue_idx ON events (venue_id);

-- What changes with every seat change, apart from the wide, indexed event row: every hold updates this row,
-- and with room on its page (fillfactor) the update stays HOT and touches no index.
CREATE TABLE event_inventory (
  event_id          integer PRIMARY KEY REFERENCES events ON DELETE CASCADE,
  seat_map_version  integer NOT NULL DEFAULT 0,
  available_count   integer NOT NULL CHECK (available_count >= 0)
) WITH (fillfactor = 50);

CREATE TABLE sections (
  id             integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id       integer NOT NULL REFERENCES events ON DELETE CASCADE,
  position       integer NOT NULL,
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  price          integer NOT NULL CHECK (price >= 0),
  row_count      integer NOT NULL CHECK (row_count > 0),
  seats_per_row  integer NOT NULL CHECK (seats_per_row > 0),
  first_ordinal  integer NOT NULL CHECK (first_ordinal >= 0),
  UNIQUE (event_id, position)
);

CREATE TABLE seats (
  event_id     integer NOT NULL REFERENCES events ON DELETE CASCADE,
  ordinal      integer NOT NULL CHECK (ordinal >= 0),
  section_id   integer NOT NULL REFERENCES sections ON DELETE CASCADE,
  row_label    text NOT NULL,
  row_index    integer NOT NULL CHECK (row_index >= 0),
  seat_number  integer NOT NULL CHECK (seat_number > 0),
  status       text NOT NULL DEFAULT 'available' CHECK (status IN ('available', 'held', 'booked')),
  -- The claim on the seat: a hold (with its expiry) or a booking. One row per seat means one claim per seat.
  hold_id      uuid,
  held_until   timestamptz,
  booking_id   uuid,
  PRIMARY KEY (event_id, ordinal),
  CHECK ((status = 'held') = (hold_id IS NOT NULL AND held_until IS NOT NULL)),
  CHECK ((status = 'booked') = (booking_id IS NOT NULL))
);
CREATE INDEX seats_section_idx ON seats (section_id, row_index, seat_number);
CREATE INDEX seats_hold_idx ON seats (hold_id) WHERE hold_id IS NOT NULL;

-- Every statement that changes seat statuses bumps the event's seat-map version by one and moves its
-- available count, in the same transaction. A statement that changes no status (an extended hold) bumps nothing.
CREATE FUNCTION seats_status_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A statement over several events (a sweep) locks their rows in event order, so two cannot deadlock.
  IF (SELECT count(DISTINCT event_id) FROM new_seats) > 1 THEN
    PERFORM 1 FROM event_inventory WHERE event_id IN (SELECT event_id FROM new_seats) ORDER BY event_id FOR UPDATE;
  END IF;
  UPDATE event_inventory i
     SET seat_map_version = i.seat_map_version + 1,
         available_count = i.available_count + d.delta
    FROM (SELECT n.event_id,
                 sum((n.status = 'available')::int - (o.status = 'available')::int) AS delta
            FROM new_seats n JOIN old_seats o USING (event_id, ordinal)
           WHERE n.status IS DISTINCT FROM o.status
           GROUP BY n.event_id) d
   WHERE i.event_id = d.event_id;
  RETURN NULL;
END $$;

CREATE TRIGGER seats_status_changed AFTER UPDATE ON seats
  REFERENCING OLD TABLE AS old_seats NEW TABLE AS new_seats
  FOR EACH STATEMENT EXECUTE FUNCTION seats_status_changed();

-- What clients see of an event. The status rule lives here, once, so that the `onSaleOnly` filter and the
-- `status` field can never disagree.
CREATE VIEW event_rows AS
SELECT e.id, e.venue_id, e.title, e.performer, e.category, e.starts_at, e.on_sale_at, e.currency,
       e.max_tickets_per_user, e.hold_duration_seconds, e.capacity, i.available_count, i.seat_map_version,
       e.cancelled_at, e.wr_opens_at, e.wr_admissions_per_minute, e.wr_admission_window_seconds,
       e.wr_raffle_commitment,
       CASE WHEN e.wr_raffle_ran_at IS NOT NULL THEN e.wr_raffle_seed END AS wr_raffle_seed,
       e.price_min, e.price_max,
       v.name AS venue_name, v.city AS venue_city, v.country AS venue_country,
       CASE WHEN e.cancelled_at IS NOT NULL THEN 'CANCELLED'
            WHEN now() < e.on_sale_at THEN 'SCHEDULED'
            WHEN i.available_count = 0 THEN 'SOLD_OUT'
            ELSE 'ON_SALE' END AS status,
       e.search
  FROM events e
  JOIN event_inventory i ON i.event_id = e.id
  JOIN venues v ON v.id = e.venue_id;
