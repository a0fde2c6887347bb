import type { BookingDeps } from '../domain/booking/booking.service.js';
import type { AdmissionDeps } from '../domain/waiting-room/admission.service.js';
import type { Config } from '../server/config.js';
import { startAdmitter, type Admitter } from './admission.js';
import { startRelay, type Relay } from './relay.js';
import { startSweeper, type Sweeper } from './sweeper.js';

/** The background work of one process: the hold sweep (waitlist offers of expired holds included), the relay, admissions. */
export interface Workers {
  sweeper: Sweeper;
  relay: Relay;
  admitter: Admitter;
  stop(): Promise<void>;
}

/** A relay that does nothing: the process of a gateway that runs no background work (WORKERS=off). */
const idleRelay: Relay = { runOnce: async () => 0, leading: false, stop: async () => {} };

/**
 * Starts the background work, or with `config.workers` false leaves it to other processes (`npm run worker`):
 * then the sweep and the admissions only run when asked (`runOnce`) and there is no relay here. Every piece is
 * safe on any number of processes at once (workers/README.md).
 */
export function startWorkers(deps: BookingDeps & AdmissionDeps & { config: Config }): Workers {
  const on = deps.config.workers;
  const config = on ? deps.config : { ...deps.config, sweepIntervalMs: 0, admissionIntervalMs: 0 };
  const sweeper = startSweeper({ ...deps, config });
  const relay = on ? startRelay(deps) : idleRelay;
  const admitter = startAdmitter({ ...deps, config });
  return {
    sweeper,
    relay,
    admitter,
    async stop() {
      await sweeper.stop();
      await admitter.stop();
      await relay.stop();
    },
  };
}
