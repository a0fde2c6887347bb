import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const root = new URL('..', import.meta.url).pathname;
const running: ChildProcess[] = [];

/** Starts `server/index.ts` as `npm start` does, in its own process, with `env` on top of a clean environment. */
function startProcess(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/index.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const line = stdout.split('\n').find((l) => l.includes('"msg":"listening'));
      if (line) resolve(JSON.parse(line).port);
    });
    exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${stdout}\n${stderr}`)));
  });
  // A process that is expected to fail never listens; the tests that need the port await this themselves.
  listening.catch(() => {});
  return { child, listening, exited, output: () => ({ stdout, stderr }) };
}

async function query(port: number, source: string) {
  const response = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: source }),
  });
  return ((await response.json()) as { data: any }).data;
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('the server process (embedded default)', () => {
  it('starts on an empty embedded database, serves the seeded demo, and stops cleanly on SIGTERM', async () => {
    const server = startProcess({ DATA_DIR: 'memory' });
    const port = await server.listening;
    const { events } = await query(port, `{ events(first: 100) { totalCount edges { node {
      category capacity venue { city } waitingRoom { raffleCommitment } sections: seatMap { seatCount } } } } }`);
    const nodes = events.edges.map((edge: any) => edge.node);
    expect(events.totalCount).toBeGreaterThanOrEqual(50);
    expect(new Set(nodes.map((n: any) => n.venue.city)).size).toBeGreaterThanOrEqual(10);
    expect(new Set(nodes.map((n: any) => n.category)).size).toBeGreaterThanOrEqual(4);
    expect(nodes.some((n: any) => n.capacity === 20_000 && n.sections.seatCount === 20_000)).toBe(true);
    expect(nodes.filter((n: any) => n.waitingRoom !== null)).toHaveLength(1);

    // A connected WebSocket is closed with 1001 (going away) and the process exits 0.
    const closed = new Promise<number>((resolve) => {
      const socket = new WebSocket(`ws://127.0.0.1:${port}/graphql`, 'graphql-transport-ws');
      socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init' })));
      socket.on('message', () => server.child.kill('SIGTERM'));
      socket.on('close', (code) => resolve(code));
    });
    expect(await closed).toBe(1001);
    expect(await server.exited).toBe(0);
    expect(server.output().stdout).toContain('"msg":"stopped"');
  });

  it('keeps its data in DATA_DIR across restarts and seeds only once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onsale-data-'));
    try {
      const first = startProcess({ DATA_DIR: dir });
      const count = (await query(await first.listening, '{ events { totalCount } }')).events.totalCount;
      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const second = startProcess({ DATA_DIR: dir });
      expect((await query(await second.listening, '{ events { totalCount } }')).events.totalCount).toBe(count);
      expect(second.output().stdout).not.toContain('seeded');
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start with an invalid configuration, naming the variable', async () => {
    const server = startProcess({ PORT: 'eighty', DATA_DIR: 'memory' });
    expect(await server.exited).toBe(2);
    expect(server.output().stderr).toContain('PORT');
  });

  it('refuses to start in production without its secrets', async () => {
    const server = startProcess({ NODE_ENV: 'production', DATA_DIR: 'memory' });
    expect(await server.exited).toBe(2);
    expect(server.output().stderr).toMatch(/JWT_SECRET[\s\S]*PAYMENT_WEBHOOK_SECRET/);
  });
});
