import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerFromToken } from '../server/auth.js';
import { DEV_SECRET } from '../server/config.js';
import { adminQuery, databaseUrl } from './helpers/services.js';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const tsx = (script: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { PATH: process.env.PATH!, ...env } });

describe('command-line tools', () => {
  const database = `onsale_test_cli_${randomUUID().replaceAll('-', '')}`;
  const env = { DATABASE_URL: databaseUrl(database) };
  beforeAll(() => adminQuery(`CREATE DATABASE ${database}`));
  afterAll(() => adminQuery(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));

  it('npm run migrate applies the migrations once', async () => {
    expect((await tsx('datasources/cli.ts', ['migrate'], env)).stdout).toContain('applied 001_');
    expect((await tsx('datasources/cli.ts', ['migrate'], env)).stdout).toContain('schema up to date');
  });

  it('npm run seed seeds an empty database and refuses to seed twice', async () => {
    expect((await tsx('datasources/cli.ts', ['seed'], env)).stdout).toMatch(/seeded \d+ events/);
    expect((await tsx('datasources/cli.ts', ['seed'], env)).stdout).toContain('already has events');
  });

  it('npm run token prints a token the server accepts, with the admin role on request', async () => {
    const user = (await tsx('server/token.ts', ['fan-7'])).stdout.trim();
    expect(await callerFromToken(DEV_SECRET, user)).toEqual({ kind: 'user', userId: 'fan-7', admin: false });
    const secret = 's'.repeat(40);
    const admin = (await tsx('server/token.ts', ['ops-1', '--admin'], { JWT_SECRET: secret })).stdout.trim();
    expect(await callerFromToken(secret, admin)).toEqual({ kind: 'user', userId: 'ops-1', admin: true });
    await expect(callerFromToken(DEV_SECRET, admin)).rejects.toThrow('Invalid or expired token');
  });
});
