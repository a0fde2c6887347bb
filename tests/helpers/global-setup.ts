// Runs once before all test files: makes sure real Postgres and Redis answer (the suite never skips
// silently), then builds a migrated, seeded template database that each test file clones.
import { createPostgresDatabase } from '../../datasources/postgres/pool.js';
import { migrate } from '../../datasources/postgres/migrate.js';
import { seedDemo } from '../../datasources/seed/seed.js';
import type { TestProject } from 'vitest/node';
import { adminQuery, databaseUrl, TEST_DATABASE_URL, TEST_REDIS_URL, testRedis } from './services.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated, seeded database that each test file clones; one per test run. */
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // A template of its own per run, so that two runs on one machine never drop each other's.
  const template = `onsale_test_template_${process.pid}_${Date.now()}`;
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
  await adminQuery(`CREATE DATABASE ${template}`);
  const db = createPostgresDatabase(databaseUrl(template), { max: 2 });
  try {
    await migrate(db);
    await seedDemo(db);
  } finally {
    await db.close();
  }
  project.provide('templateDatabase', template);
  return () => adminQuery(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
}
