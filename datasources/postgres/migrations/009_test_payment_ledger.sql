-- The built-in test payment provider's ledger (datasources/payments/test-provider.ts). It lives in the database,
-- not in one process's memory, so that every gateway and worker sees the same charges, as they would a real
-- provider's: a worker refunds a charge a gateway made, the sweep asks about a charge whose request died, and a
-- surge checks every charge against the bookings. A deployment with a real provider leaves it empty.
CREATE TABLE test_payment_charges (
  -- The idempotency key of the charge: the booking's id.
  key         text PRIMARY KEY,
  charge_id   text NOT NULL UNIQUE,
  token       text NOT NULL,
  amount      integer NOT NULL,
  currency    text NOT NULL,
  status      text NOT NULL CHECK (status IN ('captured', 'declined', 'pending', 'failed')),
  -- A pending (tok_async) charge succeeds then, unless settled before; null: only when settled.
  settles_at  timestamptz,
  -- Refund calls that moved money (0 or 1: a repeated refund moves none).
  refunds     integer NOT NULL DEFAULT 0,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Bookings still waiting to hear of their charge, oldest first: the sweep asks the provider about those whose
-- request went quiet (its process died, or the webhook was lost). Replaces the index on 'requested' alone.
DROP INDEX bookings_unsettled_idx;
CREATE INDEX bookings_unsettled_idx ON bookings (updated_at) WHERE status = 'PENDING_PAYMENT';
