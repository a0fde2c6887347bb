import type { Database, Queryable } from './db.js';

/**
 * Runs pieces of work that share a key (an event) together, in one transaction that starts with a prologue
 * over all of them; the pieces run concurrently and may share work through the prologue's context. A piece must
 * throw before it writes, or write in one statement: a piece that throws fails alone (it wrote nothing), and at
 * once; a statement that fails aborts the transaction, and then every piece fails.
 */
export interface TransactionBatcher<C> {
  /**
   * Runs `work` in a transaction shared with the other work submitted for `key` meanwhile; `tag` goes to the
   * prologue. If the work waited for its turn, `refusal` may answer it without a transaction: it is asked when
   * the work's batch starts, and an error it returns fails the work.
   */
  run<T>(key: number, tag: string, work: (tx: Queryable, context: C) => Promise<T>, refusal?: () => Error | undefined): Promise<T>;
}

interface Job<C> {
  tag: string;
  work: (tx: Queryable, context: C) => Promise<unknown>;
  refusal?: () => Error | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Fails, and takes out of `jobs`, the jobs whose refusal now answers. */
function refuseWaiting<C>(jobs: Job<C>[]): void {
  for (let i = jobs.length - 1; i >= 0; i--) {
    const error = jobs[i]!.refusal?.();
    if (error) jobs.splice(i, 1)[0]!.reject(error);
  }
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for hot keys. Every seat write to an event locks that event's inventory row while it commits
 * (DECISIONS §53), so one event takes its commits one at a time, and every statement is a round trip;
 * batching the writes that arrive while a commit is in flight turns N commits into one, and the prologue
 * (locks and reads every piece needs) into one round trip for all. Per key, one batch runs at a time (per
 * instance); the next gathers what arrives meanwhile, up to `maxBatch`.
 */
export function createTransactionBatcher<C>(
  db: Database,
  prologue: (tx: Queryable, key: number, tags: string[]) => Promise<C>,
  maxBatch = 64,
): TransactionBatcher<C> {
  const queues = new Map<number, Job<C>[]>();

  async function drain(key: number, queue: Job<C>[]): Promise<void> {
    for (refuseWaiting(queue); queue.length; refuseWaiting(queue)) {
      const batch = queue.splice(0, maxBatch);
      let outcomes: Outcome[];
      try {
        outcomes = await db.transaction(async (tx) => {
          const context = await prologue(tx, key, batch.map((job) => job.tag));
          // The pieces run concurrently; their statements queue on the one connection, in the order they are sent.
          // A piece that fails on its own (it wrote nothing) is answered at once rather than after the commit.
          const results: Outcome[] = await Promise.all(
            batch.map((job) =>
              job.work(tx, context).then(
                (value) => ({ ok: true as const, value }),
                (error: unknown) => {
                  if (!isDatabaseError(error)) job.reject(error);
                  return { ok: false as const, error };
                },
              ),
            ),
          );
          // A failed statement aborted the transaction: fail it (and every piece) rather than commit nothing.
          const failed = results.find((outcome) => !outcome.ok && isDatabaseError(outcome.error));
          if (failed && !failed.ok) throw failed.error;
          return results;
        });
      } catch (error) {
        // Nothing of the transaction was written.
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
    run<T>(key: number, tag: string, work: (tx: Queryable, context: C) => Promise<T>, refusal?: () => Error | undefined): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const job: Job<C> = { tag, work, refusal, resolve: resolve as (value: unknown) => void, reject };
        const queue = queues.get(key);
        if (queue) return void queue.push(job);
        const fresh = [job];
        queues.set(key, fresh);
        void drain(key, fresh);
      });
    },
  };
}

/** An error the database reported (it has a SQLSTATE): the transaction it happened in is aborted. */
const isDatabaseError = (error: unknown) =>
  typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string' && /^[0-9A-Z]{5}$/.test((error as { code: string }).code);
