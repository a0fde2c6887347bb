// The load of bench/holds.ts: seats dealt in pairs from fresh events, and callers running an operation back to
// back while every latency is recorded.
import { sleep } from './server.js';

/**
 * Seats two at a time, side by side, from fresh events in turn: each event's 10,000 pairs are dealt in random
 * order, so no two requests ever want the same seat. More events are made (outside the measurement) as needed.
 */
export class PairSource {
  private events: { eventId: number; pairs: [number, number][] }[] = [];
  private adding: Promise<void> | undefined;
  readonly eventIds: number[] = [];
  /** Events that pairs were taken from while measuring. */
  readonly usedWhileMeasuring = new Set<number>();
  /** Events that had to be created while a measurement was running (each one perturbs it). */
  createdDuringRun = 0;
  measuring = false;

  constructor(
    readonly label: string,
    private readonly createEvent: (label: string) => Promise<number>,
    private readonly seatsPerEvent: number,
  ) {}

  get remaining(): number {
    return this.events.reduce((sum, event) => sum + event.pairs.length, 0);
  }

  async addEvent(): Promise<void> {
    const eventId = await this.createEvent(`${this.label} #${this.eventIds.length + 1}`);
    const pairs: [number, number][] = [];
    for (let ordinal = 0; ordinal + 1 < this.seatsPerEvent; ordinal += 2) pairs.push([ordinal, ordinal + 1]);
    for (let i = pairs.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
    }
    this.events.push({ eventId, pairs });
    this.eventIds.push(eventId);
  }

  /** Makes sure that at least `pairs` pairs are left. */
  async ensure(pairs: number): Promise<void> {
    while (this.remaining < pairs) await this.addEvent();
  }

  async take(): Promise<{ eventId: number; ordinals: [number, number] }> {
    for (;;) {
      const event = this.events[0];
      if (!event) {
        if (this.measuring) this.createdDuringRun += this.adding ? 0 : 1;
        this.adding ??= this.addEvent().finally(() => (this.adding = undefined));
        await this.adding;
        continue;
      }
      const pair = event.pairs.pop();
      if (pair) {
        if (this.measuring) this.usedWhileMeasuring.add(event.eventId);
        return { eventId: event.eventId, ordinals: pair };
      }
      this.events.shift();
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Load: `connections` async workers, each running `op` back to back until the time is up. Every latency is kept.

export class Recorder {
  readonly series = new Map<string, number[]>();
  private readonly started = performance.now();
  constructor(private readonly firstSeconds: number) {}
  readonly codes = new Map<string, number>();
  readonly examples = new Map<string, string>();

  /** Records a latency in `series`, and in `first:<series>` too while the first seconds of the run last. */
  sample(series: string, ms: number): void {
    const into = (name: string) => {
      let values = this.series.get(name);
      if (!values) this.series.set(name, (values = []));
      values.push(ms);
    };
    into(series);
    if (performance.now() - this.started < this.firstSeconds * 1000) into(`first:${series}`);
  }

  count(code: string, example?: string): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
    if (example && !this.examples.has(code)) this.examples.set(code, example);
  }
}

/** Runs `op` back to back on `connections` async workers for `seconds`; the first `firstSeconds` also on their own. */
export async function drive(
  seconds: number,
  connections: number,
  firstSeconds: number,
  op: (rec: Recorder) => Promise<void>,
): Promise<{ rec: Recorder; seconds: number }> {
  const rec = new Recorder(firstSeconds);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) {
        try {
          await op(rec);
        } catch (error) {
          rec.count('CLIENT_ERROR', (error as Error).message);
          await sleep(10); // a dead server must not turn this into a busy loop
        }
      }
    }),
  );
  return { rec, seconds: (performance.now() - started) / 1000 };
}
