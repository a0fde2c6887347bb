import { retryDueRefunds, type BookingDeps } from '../domain/booking/booking.service.js';
import { sweepExpiredHolds } from '../domain/hold/hold.service.js';

/** Refunds recorded as due for this long are retried by the sweep (a crash or a provider outage). */
const REFUND_RETRY_AFTER_SECONDS = 30;

export interface Sweeper {
  /** Runs one sweep now (tests); resolves with how many holds expired. */
  runOnce(): Promise<number>;
  /** Stops the timer and waits for a sweep in progress. */
  stop(): Promise<void>;
}

/**
 * Every `sweepIntervalMs`, expires due holds in batches until none is left, then retries refunds that are due.
 * Safe on any number of instances: each batch skips holds another sweeper has locked. Correctness never waits
 * for it: an expired hold's seats are free to others before it runs.
 */
export function startSweeper(deps: BookingDeps & { config: { sweepIntervalMs: number; sweepBatchSize: number } }): Sweeper {
  const { sweepIntervalMs, sweepBatchSize } = deps.config;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;
  let stopped = false;

  async function sweep(): Promise<number> {
    let expired = 0;
    for (let batch = sweepBatchSize; batch === sweepBatchSize; ) {
      batch = await sweepExpiredHolds(deps.db, sweepBatchSize);
      expired += batch;
    }
    if (expired) deps.log.info({ expired }, 'expired holds');
    await retryDueRefunds(deps, REFUND_RETRY_AFTER_SECONDS, 100);
    return expired;
  }

  function runOnce(): Promise<number> {
    running ??= sweep().finally(() => (running = undefined));
    return running;
  }

  function schedule() {
    if (stopped || sweepIntervalMs === 0) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((error: unknown) => deps.log.error({ err: error }, 'sweep failed; retrying at the next interval'))
        .finally(schedule);
    }, sweepIntervalMs);
    timer.unref();
  }
  schedule();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
