import type { Queryable } from '../db.js';

/** A row of `api_keys`, without its hash. */
export interface DbApiKey {
  id: number;
  name: string;
  reseller: string;
  readsPerMinute: number;
  writesPerMinute: number;
  createdAt: Date;
  revokedAt: Date | null;
}

const COLUMNS = `id, name, reseller, reads_per_minute AS "readsPerMinute", writes_per_minute AS "writesPerMinute",
  created_at AS "createdAt", revoked_at AS "revokedAt"`;

export async function insertApiKey(db: Queryable, key: Pick<DbApiKey, 'name' | 'reseller' | 'readsPerMinute' | 'writesPerMinute'>, keyHash: Buffer): Promise<DbApiKey> {
  const { rows } = await db.query<DbApiKey>(
    `INSERT INTO api_keys (name, reseller, key_hash, reads_per_minute, writes_per_minute) VALUES ($1, $2, $3, $4, $5) RETURNING ${COLUMNS}`,
    [key.name, key.reseller, keyHash, key.readsPerMinute, key.writesPerMinute],
  );
  return rows[0]!;
}

/** Revokes a key (a key revoked before keeps its first revocation time); null when there is no such key. */
export async function revokeApiKeyRow(db: Queryable, id: number): Promise<DbApiKey | null> {
  const { rows } = await db.query<DbApiKey>(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
  return rows[0] ?? null;
}

export async function findApiKey(db: Queryable, id: number): Promise<DbApiKey | null> {
  const { rows } = await db.query<DbApiKey>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

/** The key that is not revoked and whose hash is `keyHash`, or null. */
export async function findLiveApiKeyByHash(db: Queryable, keyHash: Buffer): Promise<DbApiKey | null> {
  const { rows } = await db.query<DbApiKey>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`, [keyHash]);
  return rows[0] ?? null;
}

export async function listApiKeyRows(db: Queryable): Promise<DbApiKey[]> {
  const { rows } = await db.query<DbApiKey>(`SELECT ${COLUMNS} FROM api_keys ORDER BY id`);
  return rows;
}

/** A registered document of a key. */
export interface DbPersistedOperation {
  hash: string;
  name: string | null;
  document: string;
}

/** Registers documents for a key; registering a hash again keeps the first registration. */
export async function insertPersistedOperations(db: Queryable, apiKeyId: number, operations: readonly DbPersistedOperation[]): Promise<void> {
  await db.query(
    `INSERT INTO persisted_operations (api_key_id, hash, name, document)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
     ON CONFLICT (api_key_id, hash) DO NOTHING`,
    [apiKeyId, operations.map((o) => o.hash), operations.map((o) => o.name), operations.map((o) => o.document)],
  );
}

/** The document registered under `hash` for the key, or null. */
export async function findPersistedOperation(db: Queryable, apiKeyId: number, hash: string): Promise<string | null> {
  const { rows } = await db.query<{ document: string }>(`SELECT document FROM persisted_operations WHERE api_key_id = $1 AND hash = $2`, [apiKeyId, hash]);
  return rows[0]?.document ?? null;
}
