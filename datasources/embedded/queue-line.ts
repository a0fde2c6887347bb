import type { LineEntry, LineStatus, QueueLine } from '../../domain/waiting-room/line.js';

interface Line {
  epoch: string;
  served: number;
  /** Entries from `start` on are in line, by ascending score; those before it were taken off the head. */
  entries: LineEntry[];
  start: number;
  scores: Map<string, number>;
}

/** The first index at or after `from` whose entry scores at least `score` (entries are sorted). */
function lowerBound(entries: readonly LineEntry[], from: number, score: number): number {
  let low = from;
  let high = entries.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (entries[mid]!.score < score) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * The line in process (one instance, the embedded mode): a sorted array per event. Taking tickets off the
 * head, and adding them at the tail (first come, first served), are O(1); a rank is a binary search. Taking one
 * out of the middle, or adding one in it, moves the entries after it: rare (the admission worker takes from the
 * head; joins come in order).
 */
export function createInProcessQueueLine(): QueueLine {
  const lines = new Map<number, Line>();
  const statusOf = (line: Line): LineStatus => ({ epoch: line.epoch, served: line.served, length: line.entries.length - line.start });

  function compact(line: Line) {
    if (line.start > 1_024 && line.start * 2 > line.entries.length) {
      line.entries = line.entries.slice(line.start);
      line.start = 0;
    }
  }

  return {
    kind: 'in-process',
    async build(eventId, entries, epoch) {
      const sorted = [...entries].sort((a, b) => a.score - b.score);
      lines.set(eventId, { epoch, served: 0, entries: sorted, start: 0, scores: new Map(sorted.map((e) => [e.ticketId, e.score])) });
    },
    async place(eventId, entries) {
      const line = lines.get(eventId);
      if (!line) return false;
      for (const entry of entries) {
        if (line.scores.has(entry.ticketId)) continue;
        line.scores.set(entry.ticketId, entry.score);
        const last = line.entries[line.entries.length - 1];
        if (line.entries.length === line.start || last!.score <= entry.score) line.entries.push(entry);
        else line.entries.splice(lowerBound(line.entries, line.start, entry.score), 0, entry);
      }
      return true;
    },
    async position(eventId, ticketId) {
      const line = lines.get(eventId);
      if (!line) return null;
      const score = line.scores.get(ticketId);
      const rank = score === undefined ? null : lowerBound(line.entries, line.start, score) - line.start;
      return { rank, status: statusOf(line) };
    },
    async head(eventId, offset, count) {
      const line = lines.get(eventId);
      if (!line) return null;
      const from = line.start + offset;
      return line.entries.slice(from, from + Math.max(0, count)).map((entry) => entry.ticketId);
    },
    async remove(eventId, ticketIds) {
      const line = lines.get(eventId);
      if (!line) return 0;
      let removed = 0;
      for (const ticketId of ticketIds) {
        const score = line.scores.get(ticketId);
        if (score === undefined) continue;
        line.scores.delete(ticketId);
        removed++;
        if (line.entries[line.start]?.ticketId === ticketId) line.start++;
        else line.entries.splice(lowerBound(line.entries, line.start, score), 1);
      }
      line.served += removed;
      compact(line);
      return removed;
    },
    status: async (eventId) => {
      const line = lines.get(eventId);
      return line ? statusOf(line) : null;
    },
    close: async () => void lines.clear(),
  };
}
