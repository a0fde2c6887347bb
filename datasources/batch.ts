import type { Database, Queryable } from './db.js';

/** Runs pieces of work that share a key (an event) together, in one transaction. */
export interface TransactionBatcher {
  /**
   * Runs `work` in a transaction, together with the other work submitted for `key` meanwhile. Each piece runs
   * behind its own savepoint: one that throws is rolled back alone and rejects alone; the others commit together.
   */
  run<T>(key: number, work: (tx: Queryable) => Promise<T>): Promise<T>;
}

interface Job {
  work: (tx: Queryable) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for hot keys. Every seat write to an event locks that event's inventory row until its commit
 * reaches the disk, so one event takes its writes one commit at a time; batching the writes that arrive while a
 * commit is in flight turns N commits into one. Per key, one batch runs at a time (per instance) and the next
 * gathers what arrives meanwhile, up to `maxBatch` (a transaction past 64 savepoints slows every snapshot).
 */
export function createTransactionBatcher(db: Database, maxBatch = 32): TransactionBatcher {
  const queues = new Map<number, Job[]>();

  async function runPiece(tx: Queryable, job: Job, alone: boolean): Promise<Outcome> {
    if (alone) return { ok: true, value: await job.work(tx) };
    await tx.query('SAVEPOINT batch_piece');
    try {
      const value = await job.work(tx);
      await tx.query('RELEASE SAVEPOINT batch_piece');
      return { ok: true, value };
    } catch (error) {
      await tx.query('ROLLBACK TO SAVEPOINT batch_piece');
      return { ok: false, error };
    }
  }

  async function drain(key: number, queue: Job[]): Promise<void> {
    while (queue.length) {
      const batch = queue.splice(0, maxBatch);
      let outcomes: Outcome[];
      try {
        outcomes = await db.transaction(async (tx) => {
          const results: Outcome[] = [];
          for (const job of batch) results.push(await runPiece(tx, job, batch.length === 1));
          return results;
        });
      } catch (error) {
        // The transaction itself failed (a lone piece threw, or the commit failed): nothing of it was written.
        outcomes = batch.map(() => ({ ok: false, error }));
      }
      batch.forEach((job, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) job.resolve(outcome.value);
        else job.reject(outcome.error);
      });
    }
    queues.delete(key);
  }

  return {
    run<T>(key: number, work: (tx: Queryable) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const job: Job = { work, resolve: resolve as (value: unknown) => void, reject };
        const queue = queues.get(key);
        if (queue) return void queue.push(job);
        const fresh = [job];
        queues.set(key, fresh);
        void drain(key, fresh);
      });
    },
  };
}
