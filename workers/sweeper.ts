import { retryDueRefunds, type BookingDeps } from '../domain/booking/booking.service.js';
import { sweepExpiredHolds } from '../domain/hold/hold-release.js';
import { startPeriodic, type Periodic } from './periodic.js';

/** Refunds recorded as due for this long are retried by the sweep (a crash or a provider outage). */
const REFUND_RETRY_AFTER_SECONDS = 30;

export type Sweeper = Periodic<number>;

/**
 * Every `sweepIntervalMs`, expires due holds in batches until none is left, then retries refunds that are due.
 * Safe on any number of instances: each batch skips holds another sweeper has locked. Correctness never waits
 * for it: an expired hold's seats are free to others before it runs. `runOnce` resolves with how many expired.
 */
export function startSweeper(deps: BookingDeps & { config: { sweepIntervalMs: number; sweepBatchSize: number } }): Sweeper {
  const { sweepIntervalMs, sweepBatchSize } = deps.config;
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
  return startPeriodic(sweepIntervalMs, sweep, (error) => deps.log.error({ err: error }, 'sweep failed; retrying at the next interval'));
}
