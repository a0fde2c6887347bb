// Runs once before all test files: makes sure real Postgres and Redis answer (the suite never skips
// silently), then builds a migrated, seeded template database that each test file clones.
import { createPostgresDatabase } from '../../datasources/postgres/pool.js';
import { migrate } from '../../datasources/postgres/migrate.js';
import { seedDemo } from '../../datasources/seed/seed.js';
import { adminQuery, databaseUrl, TEMPLATE_DATABASE, TEST_DATABASE_URL, TEST_REDIS_URL, testRedis } from './services.js';

export default async function setup(): Promise<void> {
  try {
    await adminQuery('SELECT 1');
  } catch (error) {
    throw new Error(`Postgres is not reachable at ${TEST_DATABASE_URL} (set TEST_DATABASE_URL): ${String(error)}`);
  }
  const redis = testRedis();
  try {
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL} (set TEST_REDIS_URL): ${String(error)}`);
  } finally {
    redis.disconnect();
  }
  await adminQuery(
    `DROP DATABASE IF EXISTS ${TEMPLATE_DATABASE} WITH (FORCE)`,
    `CREATE DATABASE ${TEMPLATE_DATABASE}`,
  );
  const db = createPostgresDatabase(databaseUrl(TEMPLATE_DATABASE), { max: 2 });
  try {
    await migrate(db);
    await seedDemo(db);
  } finally {
    await db.close();
  }
}
