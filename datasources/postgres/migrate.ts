import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Database } from '../db.js';
import { advisoryLocks } from './locks.js';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

/** The numbered SQL migrations, in order. */
export function listMigrations(): { version: number; name: string; sql: string }[] {
  return readdirSync(migrationsDir)
    .filter((file) => /^\d{3}_.+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: Number(file.slice(0, 3)), name: file, sql: readFileSync(migrationsDir + file, 'utf8') }));
}

const checksum = (sql: string) => createHash('sha256').update(sql).digest('hex');

/**
 * Applies the migrations not yet applied, all in one transaction. An advisory lock makes it safe for
 * several instances to start at once: the first applies, the others wait and then find nothing to do.
 * A migration that was applied and has since been edited stops the start: write a new migration instead.
 */
export async function migrate(db: Database): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${advisoryLocks.migrate})`);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await tx.query<{ version: number; checksum: string }>(`SELECT version, checksum FROM schema_migrations`);
    const applied = new Map(rows.map((row) => [row.version, row.checksum]));
    const migrations = listMigrations();
    for (const migration of migrations) {
      const recorded = applied.get(migration.version);
      if (recorded !== undefined && recorded !== checksum(migration.sql)) {
        throw new Error(`migration ${migration.name} was edited after it was applied; add a new migration instead`);
      }
    }
    const pending = migrations.filter((m) => !applied.has(m.version));
    for (const migration of pending) {
      await tx.exec(migration.sql);
      await tx.query(`INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)`, [
        migration.version, migration.name, checksum(migration.sql),
      ]);
    }
    return pending.map((m) => m.name);
  });
}
