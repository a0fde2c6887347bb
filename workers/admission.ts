import { tickWaitingRooms, type AdmissionDeps, type TickResult } from '../domain/waiting-room/admission.service.js';
import { startPeriodic, type Periodic } from './periodic.js';

export type Admitter = Periodic<TickResult[]>;

/**
 * Every `admissionIntervalMs` (250 ms by default): runs the raffle of each gated event whose on-sale has come, and
 * admits the next fans in line at the event's rate. Safe on any number of instances (see admitNextBatch).
 */
export function startAdmitter(deps: AdmissionDeps & { config: { admissionIntervalMs: number } }): Admitter {
  return startPeriodic(deps.config.admissionIntervalMs, () => tickWaitingRooms(deps), (error) =>
    deps.log.error({ err: error }, 'waiting room: admission tick failed; retrying at the next interval'),
  );
}
