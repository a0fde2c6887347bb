// The surge's load generator: N processes of bench/surge/fans.ts, each playing every Nth fan and watcher, and what
// they report merged into one. One process is not enough at the defaults: 20,000 fans and 2,000 watchers need a
// socket each (plus the HTTP sockets), and a process may open 20,000 files on the benchmark machine (`ulimit -n`;
// past it a connect fails with EMFILE, which the fans would count against the gateways).
import { spawn, type ChildProcess } from 'node:child_process';
import { nodeArgsFrom, root, sleep } from '../server.js';
import type { FanPlan, FansAnswer, FansReport, FansRequest, WatcherCheck } from './protocol.js';

type Answer<T extends FansAnswer['type']> = Extract<FansAnswer, { type: T }>;

/** One load-generator process over IPC: what it answered, in order, until asked for. */
function loadProcess() {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgsFrom('BENCH_FANS_NODE_ARGS'), '--import', 'tsx', 'bench/surge/fans.ts'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const answers: FansAnswer[] = [];
  const waiters: (() => void)[] = [];
  let exited: string | undefined;
  child.on('message', (message: FansAnswer) => (answers.push(message), waiters.splice(0).forEach((wake) => wake())));
  child.once('exit', (code, signal) => (exited = signal ?? `exit code ${code}`));
  return {
    pid: () => child.pid ?? -1,
    send: (request: FansRequest) => void (child.connected && child.send(request)),
    /** The next answer of `type`; undefined when none came within `timeoutMs`. */
    answer: async <T extends FansAnswer['type']>(type: T, timeoutMs: number): Promise<Answer<T> | undefined> => {
      for (const deadline = Date.now() + timeoutMs; ; ) {
        const index = answers.findIndex((a) => a.type === type);
        if (index >= 0) return answers.splice(index, 1)[0] as Answer<T>;
        if (exited) throw new Error(`a load-generator process exited (${exited})`);
        if (Date.now() > deadline) return undefined;
        await Promise.race([new Promise<void>((wake) => waiters.push(wake)), sleep(500)]);
      }
    },
  };
}

export type LoadGenerator = ReturnType<typeof startLoadGenerator>;

/** Starts `processes` load-generator processes; `start` hands each its share of `plan`. */
export function startLoadGenerator(processes: number) {
  const parts = Array.from({ length: processes }, loadProcess);
  const reports: (FansReport | undefined)[] = [];
  const all = (request: FansRequest) => parts.forEach((part) => part.send(request));
  return {
    /** [name, pid] of each process, for the RSS samples. */
    pids: () => parts.map((part, k) => [processes === 1 ? 'load generator' : `load generator ${k + 1}`, part.pid()] as const),
    start: async (plan: Omit<FanPlan, 'shard'>, timeoutMs: number) => {
      parts.forEach((part, index) => part.send({ type: 'start', plan: { ...plan, shard: { index, count: processes } } }));
      for (const part of parts) if (!(await part.answer('started', timeoutMs))) throw new Error(`a load-generator process did not start within ${timeoutMs} ms`);
    },
    stop: () => all({ type: 'stop' }),
    /** The merged report once every process's fans are done; undefined while some are not (after `timeoutMs`). */
    done: async (timeoutMs: number): Promise<FansReport | undefined> => {
      for (const [k, part] of parts.entries()) reports[k] ??= (await part.answer('fansDone', timeoutMs))?.report;
      return reports.length === processes && reports.every(Boolean) ? merge(reports as FansReport[]) : undefined;
    },
    check: async (version: number, availability: string): Promise<WatcherCheck> => {
      all({ type: 'check', version, availability });
      const checks = await Promise.all(parts.map(async (part) => (await part.answer('checked', 30_000))?.check));
      return checks.reduce<WatcherCheck>(
        (sum, c) => (c ? { watchers: sum.watchers + c.watchers, matching: sum.matching + c.matching, behind: sum.behind + c.behind, wrong: sum.wrong + c.wrong } : sum),
        { watchers: 0, matching: 0, behind: 0, wrong: 0 },
      );
    },
    exit: () => all({ type: 'exit' }),
  };
}

/** One report from each process's: latencies and timelines joined, counts added, the worst loop delay. */
function merge(reports: FansReport[]): FansReport {
  const join = <T>(tables: Record<string, T[]>[]) => {
    const joined: Record<string, T[]> = {};
    for (const table of tables) for (const [key, values] of Object.entries(table)) joined[key] = (joined[key] ?? []).concat(values);
    return joined;
  };
  const add = (tables: Record<string, number>[]) => {
    const sum: Record<string, number> = {};
    for (const table of tables) for (const [key, n] of Object.entries(table)) sum[key] = (sum[key] ?? 0) + n;
    return sum;
  };
  const total = (key: 'reconnects' | 'deltas' | 'refetches' | 'failovers') => reports.reduce((sum, r) => sum + r[key], 0);
  return {
    latencies: join(reports.map((r) => r.latencies)),
    timeline: join(reports.map((r) => r.timeline)),
    codes: add(reports.map((r) => r.codes)),
    outcomes: add(reports.map((r) => r.outcomes)),
    reconnects: total('reconnects'),
    deltas: total('deltas'),
    refetches: total('refetches'),
    failovers: total('failovers'),
    loopDelayP99Ms: Math.max(...reports.map((r) => r.loopDelayP99Ms)),
  };
}
