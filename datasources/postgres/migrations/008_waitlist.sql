-- Waitlists (API.md, WaitlistEntry): a fan waits for one seat, for any seats of a section, or for any seats of
-- the event. Seats that come free are offered, in the transaction that frees them, to the entries that match
-- them in join order (`seq`), as a hold of the entry's owner (domain/waitlist/offers.ts).
CREATE TABLE waitlist_entries (
  id            uuid PRIMARY KEY,
  -- Join order, per event: the order entries are served in (walked through waitlist_waiting_idx only).
  seq           bigint GENERATED ALWAYS AS IDENTITY,
  event_id      integer NOT NULL REFERENCES events ON DELETE CASCADE,
  owner         text NOT NULL,
  quantity      integer NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  -- The target: a seat (seat_ordinal, with its section), a section (section_id), or the whole event (both null).
  section_id    integer REFERENCES sections ON DELETE CASCADE,
  seat_ordinal  integer CHECK (seat_ordinal >= 0),
  state         text NOT NULL DEFAULT 'WAITING' CHECK (state IN ('WAITING', 'OFFERED', 'ACCEPTED', 'EXPIRED', 'LEFT')),
  -- The hold made for the entry when it was offered seats; kept once the offer ended.
  offer_hold_id uuid REFERENCES holds,
  -- The last time the entry was passed over, and why (LIMIT_EXCEEDED); it kept its place.
  skip_reason   text,
  skipped_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (seat_ordinal IS NULL OR (section_id IS NOT NULL AND quantity = 1)),
  CHECK (state <> 'WAITING' OR offer_hold_id IS NULL),
  CHECK (state NOT IN ('OFFERED', 'ACCEPTED') OR offer_hold_id IS NOT NULL)
);

-- The entries still waiting for an event, in join order: what an offer walks.
CREATE INDEX waitlist_waiting_idx ON waitlist_entries (event_id, seq) WHERE state = 'WAITING';
-- One live entry per owner and target: joining twice returns the first.
CREATE UNIQUE INDEX waitlist_one_live_idx ON waitlist_entries (event_id, owner, coalesce(section_id, -1), coalesce(seat_ordinal, -1))
  WHERE state IN ('WAITING', 'OFFERED');
-- One entry per offered hold: releasing, expiring or booking the hold finds its entry.
CREATE UNIQUE INDEX waitlist_offer_idx ON waitlist_entries (offer_hold_id) WHERE offer_hold_id IS NOT NULL;
CREATE INDEX waitlist_owner_idx ON waitlist_entries (owner, event_id, seq);

-- An offer to a section's entry looks at the section's best free seats: the seats' partial index per event
-- (best available) would walk every better free seat of other sections first.
CREATE INDEX seats_section_available_idx ON seats (section_id, rank) WHERE status = 'available';
