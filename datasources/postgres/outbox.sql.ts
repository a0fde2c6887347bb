import type { Queryable } from '../db.js';

/** A message for subscribers, published by the relay once the transaction that wrote it commits. */
export interface OutboxMessage {
  topic: string;
  payload: Record<string, unknown>;
}

/** Writes messages to the outbox, in the caller's transaction. (Seat changes are written by the seats trigger.) */
export async function insertOutbox(tx: Queryable, messages: readonly OutboxMessage[]): Promise<void> {
  if (!messages.length) return;
  await tx.query(
    `INSERT INTO outbox (topic, payload) SELECT * FROM unnest($1::text[], $2::jsonb[])`,
    [messages.map((m) => m.topic), messages.map((m) => JSON.stringify(m.payload))],
  );
}
