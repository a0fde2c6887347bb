import { Redis } from 'ioredis';
import pg from 'pg';

/** Where the integration tests find real Postgres and Redis (CI starts both on localhost). */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `sql` statements on the test server's maintenance database. */
export async function adminQuery(...sql: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    for (const statement of sql) await client.query(statement);
  } finally {
    await client.end();
  }
}

/** A Redis client for assertions (PUBSUB NUMSUB …), speaking RESP2 like the app's. */
export function testRedis(): Redis {
  return new Redis(TEST_REDIS_URL, { protocol: 2, maxRetriesPerRequest: 1 });
}
