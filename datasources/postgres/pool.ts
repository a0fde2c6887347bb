import pg from 'pg';
import { assertNotInTransaction, transactionBody, type Database, type Queryable, type Statement } from '../db.js';

// int8 (counts, sums) as a JS number, as PGlite returns it: no value we store comes near 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

function queryable(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    query: (statement, params) => run(client, statement, params),
    exec: async (script) => void (await client.query(script)),
  };
}

function run<R>(client: pg.Pool | pg.PoolClient | pg.Client, statement: Statement | string, params?: readonly unknown[]) {
  const config = typeof statement === 'string' ? { text: statement } : statement;
  return client
    .query<R & pg.QueryResultRow>({ ...config, values: params as unknown[] | undefined })
    .then((result) => ({ rows: result.rows as R[], rowCount: result.rowCount ?? 0 }));
}

/**
 * The server side of a listening session's TCP liveness: probes after 10 s idle, every 5 s, 3 unanswered end
 * it; unacknowledged data ends it after 25 s (keepalives only probe an idle connection). Settings any role may set.
 */
const LISTEN_SESSION_TCP = '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3 -c tcp_user_timeout=25000';

const LISTEN_SESSION_QUERY_TIMEOUT_MS = 5_000;

/**
 * Connects to a real Postgres server through a `pg` pool. `statementTimeoutMs` (0: none) is each session's
 * `statement_timeout`: a statement stuck behind a lock or a runaway plan fails instead of holding its connection.
 */
export function createPostgresDatabase(connectionString: string, options: { max?: number; statementTimeoutMs?: number } = {}): Database {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 20,
    application_name: 'onsale',
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client that loses its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const direct = queryable(pool);
  let waitSeconds = 0;
  return {
    kind: 'postgres',
    query: (statement, params) => (assertNotInTransaction(), direct.query(statement, params)),
    exec: (script) => (assertNotInTransaction(), direct.exec(script)),
    async transaction(fn) {
      assertNotInTransaction();
      const asked = performance.now();
      const client = await pool.connect();
      waitSeconds += (performance.now() - asked) / 1000;
      try {
        await client.query('BEGIN');
        const result = await transactionBody(() => fn(queryable(client)));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, onNotify, onLost) {
      const client = new pg.Client({
        connectionString,
        application_name: 'onsale-listen',
        // This session holds the relay's lock. When its peer vanishes without a word (a host lost, a network cut,
        // a firewall dropping idle connections), the system defaults would notice after two hours: so long
        // nobody else could take the lock and publish. Both ends probe instead: this side after 10 s idle, and the
        // server ends the session, freeing the lock, after about 25 s without an answer.
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        options: LISTEN_SESSION_TCP,
        // A statement on a session whose peer went silent fails after this long rather than waiting on TCP.
        query_timeout: LISTEN_SESSION_QUERY_TIMEOUT_MS,
      });
      let lost = false;
      client.on('notification', (message) => message.channel === channel && onNotify(message.payload ?? ''));
      client.on('error', (error) => {
        if (!lost) (lost = true), onLost(error);
      });
      client.on('end', () => {
        if (!lost) (lost = true), onLost(new Error('the listening session ended'));
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        if (lost) throw new Error('the listening session ended while it started');
      } catch (error) {
        lost = true;
        await client.end().catch(() => {});
        throw error;
      }
      return {
        query: (statement, params) => run(client, statement, params),
        close: async () => {
          lost = true;
          await client.end().catch(() => {});
        },
      };
    },
    async warm(statements) {
      const clients = await Promise.all(Array.from({ length: options.max ?? 20 }, () => pool.connect()));
      try {
        await Promise.all(clients.map(async (client) => {
          for (const [statement, params] of statements) await run(client, statement, params);
        }));
      } finally {
        for (const client of clients) client.release();
      }
    },
    poolStats: () => ({ max: options.max ?? 20, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, waitSeconds }),
    close: () => pool.end(),
  };
}
