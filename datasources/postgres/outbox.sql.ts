import type { Queryable, Statement } from '../db.js';

/** A message for subscribers, published by the relay once the transaction that wrote it commits. */
export interface OutboxMessage {
  topic: string;
  payload: Record<string, unknown>;
}

/** An outbox row as the relay publishes it: `at` is when it was written, in ms since the epoch. */
export interface DbOutboxRow {
  id: number;
  topic: string;
  at: number;
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

const columns = `id, topic, payload, (extract(epoch FROM created_at) * 1000)::float8 AS at`;

const unpublished: Statement = {
  name: 'outbox_unpublished',
  text: `SELECT ${columns} FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1`,
};

/** The oldest `limit` rows not yet published, in id order. */
export async function findUnpublished(db: Queryable, limit: number): Promise<DbOutboxRow[]> {
  return (await db.query<DbOutboxRow>(unpublished, [limit])).rows;
}

/** Marks rows as published. */
export async function markPublished(db: Queryable, ids: readonly number[]): Promise<void> {
  await db.query({ name: 'outbox_mark_published', text: `UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])` }, [ids]);
}

/** The rows of `topic` after row `afterId`, in order, published or not (a feed catching up). */
export async function findTopicSince(db: Queryable, topic: string, afterId: number, limit: number): Promise<DbOutboxRow[]> {
  const { rows } = await db.query<DbOutboxRow>(
    { name: 'outbox_topic_since', text: `SELECT ${columns} FROM outbox WHERE topic = $1 AND id > $2 ORDER BY id LIMIT $3` },
    [topic, afterId, limit],
  );
  return rows;
}

/** The newest row of `topic`, if the outbox still has one. */
export async function findTopicLatest(db: Queryable, topic: string): Promise<DbOutboxRow | null> {
  const { rows } = await db.query<DbOutboxRow>(
    { name: 'outbox_topic_latest', text: `SELECT ${columns} FROM outbox WHERE topic = $1 ORDER BY id DESC LIMIT 1` },
    [topic],
  );
  return rows[0] ?? null;
}

/** Deletes up to `limit` published rows older than `retentionSeconds`; returns how many. */
export async function purgePublished(db: Queryable, retentionSeconds: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM outbox WHERE id IN (
       SELECT id FROM outbox
        WHERE published_at IS NOT NULL AND created_at < now() - make_interval(secs => $1)
        ORDER BY id LIMIT $2)`,
    [retentionSeconds, limit],
  );
  return rowCount;
}
