import { createHash } from 'node:crypto';
import type { DbQueueState } from '../../datasources/postgres/queue-tickets.sql.js';
import { raffleOrder, ticketId } from './waiting-room.rules.js';

/** The public record of a waiting room: what anyone may check the raffle and the admissions against. */
export interface RaffleRecord {
  /** Null until the raffle has run (the seed stays secret until then). */
  seed: string | null;
  commitment: string;
  tickets: readonly { id: string; preQueue: boolean; seq: number; state: DbQueueState; admissionNumber: number | null }[];
}

export interface RaffleAudit {
  ok: boolean;
  failures: string[];
  preQueue: number;
  admitted: number;
}

/**
 * Recomputes the line from the record (docs/RAFFLE.md) and checks what was served against it: the seed matches
 * the commitment published before the sale; admissions (by admission number) follow the line's order; and no
 * ticket still waiting, or admitted later, was passed over by a ticket behind it.
 */
export function auditRaffle(record: RaffleRecord): RaffleAudit {
  const failures: string[] = [];
  const preQueue = record.tickets.filter((t) => t.preQueue);
  const admitted = record.tickets.filter((t) => t.admissionNumber !== null);
  if (record.seed === null) return { ok: false, failures: ['the raffle has not run: the seed is not revealed yet'], preQueue: preQueue.length, admitted: 0 };
  if (createHash('sha256').update(record.seed).digest('hex') !== record.commitment) failures.push('sha256(seed) is not the published commitment');
  const line = [...raffleOrder(record.seed, preQueue.map((t) => t.id)), ...record.tickets.filter((t) => !t.preQueue).map((t) => t.id)];
  const place = new Map(line.map((id, i) => [id, i]));
  const byNumber = [...admitted].sort((a, b) => a.admissionNumber! - b.admissionNumber!);
  byNumber.slice(1).forEach((t, i) => {
    const before = byNumber[i]!;
    if (place.get(t.id)! < place.get(before.id)!) failures.push(`${ticketId(t.id)} (admission ${t.admissionNumber}) was admitted after ${ticketId(before.id)}, who is behind it in line`);
  });
  const last = byNumber.length ? place.get(byNumber[byNumber.length - 1]!.id)! : -1;
  for (const t of record.tickets) {
    if (t.state === 'QUEUED' && place.get(t.id)! < last) failures.push(`${ticketId(t.id)} is still waiting, but a ticket behind it was admitted`);
  }
  return { ok: failures.length === 0, failures, preQueue: preQueue.length, admitted: admitted.length };
}
