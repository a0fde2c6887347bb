import { recoverQuietPayments, type BookingDeps } from '../domain/booking/booking.service.js';
import { sweepExpiredHolds } from '../domain/hold/hold-release.js';
import { startPeriodic, type Periodic } from './periodic.js';

export type Sweeper = Periodic<number>;

/**
 * Every `sweepIntervalMs`, expires due holds in batches until none is left, then recovers payments that went quiet
 * for `paymentRetryAfterSeconds` (due refunds, charges whose outcome was never recorded). Safe on any number of
 * instances: each batch skips holds another sweeper has locked, and every payment step is idempotent. Correctness
 * never waits for it: an expired hold's seats are free to others before it runs. `runOnce` resolves with how many
 * holds expired.
 */
export function startSweeper(deps: BookingDeps & { config: { sweepIntervalMs: number; sweepBatchSize: number; paymentRetryAfterSeconds: number } }): Sweeper {
  const { sweepIntervalMs, sweepBatchSize, paymentRetryAfterSeconds } = deps.config;
  async function sweep(): Promise<number> {
    let expired = 0;
    for (let batch = sweepBatchSize; batch === sweepBatchSize; ) {
      batch = await sweepExpiredHolds(deps.db, sweepBatchSize);
      expired += batch;
    }
    if (expired) deps.log.info({ expired }, 'expired holds');
    await recoverQuietPayments(deps, paymentRetryAfterSeconds, 100);
    return expired;
  }
  return startPeriodic(sweepIntervalMs, sweep, (error) => deps.log.error({ err: error }, 'sweep failed; retrying at the next interval'));
}
