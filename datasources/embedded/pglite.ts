import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { assertNotInTransaction, transactionBody, type Database, type Queryable, type Statement } from '../db.js';

const text = (statement: Statement | string) => (typeof statement === 'string' ? statement : statement.text);

function wrap(target: Pick<PGlite, 'query' | 'exec'>): Queryable {
  return {
    exec: async (script) => void (await target.exec(script)),
    query: async (statement, params) => {
      const result = await target.query(text(statement), params as unknown[] | undefined);
      // PGlite counts only changed rows (0 for a SELECT); pg counts the rows a SELECT returns too. Answer like pg.
      return { rows: result.rows as never[], rowCount: Math.max(result.affectedRows ?? 0, result.rows.length) };
    },
  };
}

/**
 * Embedded Postgres (PGlite): the same SQL in-process. `dataDir` is a folder that keeps the data between
 * runs, or `memory` for a throwaway database.
 */
export async function createEmbeddedDatabase(dataDir: string): Promise<Database> {
  if (dataDir !== 'memory') mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir === 'memory' ? undefined : dataDir);
  const queryable = wrap(pglite);
  return {
    kind: 'embedded',
    query: (statement, params) => (assertNotInTransaction(), queryable.query(statement, params)),
    exec: (script) => (assertNotInTransaction(), queryable.exec(script)),
    // PGlite has a single session, so transactions run one at a time: the same guarantees, less throughput.
    transaction: async (fn) => {
      assertNotInTransaction();
      return pglite.transaction((tx) => transactionBody(() => fn(wrap(tx))));
    },
    // One session: its notifications, and (one instance) every advisory lock it takes, are this process's.
    async listen(channel, onNotify) {
      const unlisten = await pglite.listen(channel, (payload) => onNotify(payload));
      return { query: queryable.query, close: () => unlisten() };
    },
    // One session, opened already; PGlite prepares nothing across statements worth warming.
    warm: async () => {},
    poolStats: () => undefined,
    close: () => pglite.close(),
  };
}
