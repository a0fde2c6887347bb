-- The waiting room. Postgres keeps every ticket (so that a Redis restart loses no one's place) and the admission
-- state; Redis keeps the line itself (order, positions) for fast lookups, rebuilt from these rows when it is lost.

CREATE TABLE queue_tickets (
  id                   uuid PRIMARY KEY,
  event_id             integer NOT NULL REFERENCES events ON DELETE CASCADE,
  owner                text NOT NULL,
  -- Join order: first come, first served among the tickets that are not in the raffle.
  seq                  bigint GENERATED ALWAYS AS IDENTITY,
  -- Joined before the on-sale: placed by the raffle (docs/RAFFLE.md), not by seq.
  pre_queue            boolean NOT NULL,
  -- HMAC-SHA256(seed, public ticket id) of a pre-queue ticket, worked out at its join so that the raffle only
  -- sorts; verify-raffle recomputes it from the revealed seed rather than trusting it.
  raffle_key           bytea,
  CHECK (pre_queue = (raffle_key IS NOT NULL)),
  state                text NOT NULL DEFAULT 'QUEUED' CHECK (state IN ('QUEUED', 'ADMITTED', 'EXPIRED', 'LEFT')),
  joined_at            timestamptz NOT NULL DEFAULT now(),
  -- 1, 2, 3, … in the order the event's tickets were admitted.
  admission_number     integer,
  admitted_at          timestamptz,
  admission_expires_at timestamptz,
  ended_at             timestamptz,
  CHECK (state NOT IN ('ADMITTED', 'EXPIRED') OR admission_number IS NOT NULL),
  CHECK ((admission_number IS NULL) = (admission_expires_at IS NULL))
);
-- One live ticket per caller and event; a caller who left or whose admission expired may join again.
CREATE UNIQUE INDEX queue_tickets_live_idx ON queue_tickets (event_id, owner) WHERE state IN ('QUEUED', 'ADMITTED');
CREATE INDEX queue_tickets_owner_idx ON queue_tickets (event_id, owner, seq DESC);
CREATE INDEX queue_tickets_line_idx ON queue_tickets (event_id, seq) WHERE state = 'QUEUED';
CREATE INDEX queue_tickets_admitted_idx ON queue_tickets (event_id, admission_expires_at) WHERE state = 'ADMITTED';
CREATE UNIQUE INDEX queue_tickets_admission_idx ON queue_tickets (event_id, admission_number);

-- Paced admission of an event, from its raffle on: one row, locked by the instance that admits this second.
CREATE TABLE waiting_rooms (
  event_id   integer PRIMARY KEY REFERENCES events ON DELETE CASCADE,
  -- Admissions earned and not yet given (fractional: 500 a minute earns 8.33 a second).
  credit     double precision NOT NULL DEFAULT 0,
  ticked_at  timestamptz NOT NULL DEFAULT now(),
  admitted   integer NOT NULL DEFAULT 0,
  -- Admissions that expired unused, whose slots went to the next in line.
  recycled   integer NOT NULL DEFAULT 0,
  -- The epoch of the line last built for this event: a line in Redis under another epoch is not this database's
  -- (left from a database made afresh with the same event ids, say) and is built again.
  line_epoch text
);

CREATE INDEX events_gated_idx ON events (on_sale_at) WHERE wr_opens_at IS NOT NULL;
