// Bearer tokens from an identity provider (RS256/ES256, keys from a JWKS served here on 127.0.0.1) beside the
// HS256 ones: what is accepted, what is refused (algorithm confusion, `none`, foreign keys), key rotation and an
// unreachable key set. No mocks: jose fetches the set over real HTTP.
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallerResolver, signToken } from '../server/auth.js';
import { UnauthenticatedError } from '../domain/errors.js';
import { codes, startTestServer } from './helpers/harness.js';

const SECRET = 'x'.repeat(32);
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'onsale-api';

interface Key {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function newKey(kid: string, alg: Key['alg']): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A JWKS endpoint whose keys (or outage) a test sets; `fetches` counts the requests it answered. */
interface Jwks {
  url: string;
  keys: Key[];
  /** `down` answers 503; `hang` never answers. */
  mode: 'up' | 'down' | 'hang';
  fetches: number;
  close(): Promise<void>;
}

async function startJwks(keys: Key[]): Promise<Jwks> {
  const jwks: Jwks = { url: '', keys, mode: 'up', fetches: 0, close: async () => {} };
  const server: Server = createServer((_request, response) => {
    if (jwks.mode === 'hang') return;
    jwks.fetches++;
    if (jwks.mode === 'down') return void response.writeHead(503).end();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks.keys.map((key) => key.jwk) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  jwks.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  jwks.close = () => new Promise((resolve) => (server.closeAllConnections(), server.close(() => resolve())));
  return jwks;
}

/** A token the identity provider would issue; `claims` and `options` override the defaults. */
function issue(key: Key, claims: Record<string, unknown> = {}, options: { exp?: number | string | null; iss?: string; aud?: string; kid?: string } = {}) {
  const jwt = new SignJWT({ sub: 'auth0|alice', ...claims })
    .setProtectedHeader({ alg: key.alg, kid: options.kid ?? key.kid, typ: 'JWT' })
    .setIssuedAt()
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? '5m');
  return jwt.sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const claims = () => ({ sub: 'auth0|alice', iss: ISSUER, aud: AUDIENCE, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 });

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function refused(promise: Promise<unknown>) {
  const error = await promise.then(
    (caller) => new Error(`accepted as ${JSON.stringify(caller)}`),
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(UnauthenticatedError);
  expect(error).toMatchObject({ code: 'UNAUTHENTICATED', message: 'Invalid or expired token' });
}

let rsa: Key;
let ec: Key;
let jwks: Jwks;
let resolver: ReturnType<typeof createCallerResolver>;

beforeAll(async () => {
  [rsa, ec] = await Promise.all([newKey('rsa-1', 'RS256'), newKey('ec-1', 'ES256')]);
  jwks = await startJwks([rsa, ec]);
  resolver = createCallerResolver({ jwtSecret: SECRET, jwks: { url: jwks.url, issuer: ISSUER, audience: AUDIENCE } });
});
afterAll(() => jwks?.close());

describe('tokens from a JWKS', () => {
  it('accepts RS256 and ES256 tokens: sub is the user, role "admin" an admin', async () => {
    expect(await resolver.resolve(bearer(await issue(rsa)))).toEqual({ kind: 'user', userId: 'auth0|alice', admin: false });
    expect(await resolver.resolve(bearer(await issue(ec, { sub: 'bob', role: 'admin' })))).toEqual({ kind: 'user', userId: 'bob', admin: true });
    expect(await resolver.resolve(bearer(await issue(ec, { role: 'Admin' })))).toMatchObject({ admin: false });
  });

  it('refuses expired tokens, and tokens without exp or sub', async () => {
    await refused(resolver.resolve(bearer(await issue(rsa, {}, { exp: Math.floor(Date.now() / 1000) - 60 }))));
    await refused(resolver.resolve(bearer(await issue(ec, {}, { exp: null }))));
    await refused(resolver.resolve(bearer(await issue(rsa, { sub: undefined }))));
    await refused(resolver.resolve(bearer(await issue(rsa, { sub: '' }))));
  });

  it('refuses a wrong issuer or audience', async () => {
    await refused(resolver.resolve(bearer(await issue(rsa, {}, { iss: 'https://evil.example.test/' }))));
    await refused(resolver.resolve(bearer(await issue(ec, {}, { aud: 'another-api' }))));
  });

  it('refuses tokens signed by a key not in the set, even under a kid that is', async () => {
    const [stranger, impostor] = await Promise.all([newKey('rsa-unknown', 'RS256'), newKey(rsa.kid, 'RS256')]);
    await refused(resolver.resolve(bearer(await issue(stranger))));
    await refused(resolver.resolve(bearer(await issue(impostor))));
    // A known key with a bit flipped in the signature.
    const token = await issue(ec);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    await refused(resolver.resolve(bearer(`${token.slice(0, -2)}${last}${token.at(-1)}`)));
  });

  it('refuses alg none, unknown algorithms and garbage', async () => {
    await refused(resolver.resolve(bearer(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`)));
    await refused(resolver.resolve(bearer(`${b64({ alg: 'None' })}.${b64(claims())}.`)));
    await refused(resolver.resolve(bearer(`${b64({ alg: 'HS512' })}.${b64(claims())}.${b64('signature')}`)));
    await refused(resolver.resolve(bearer(`${b64({ alg: 'EdDSA', kid: rsa.kid })}.${b64(claims())}.${b64('signature')}`)));
    await refused(resolver.resolve(bearer('not.a.token')));
    await refused(resolver.resolve(bearer('nodots')));
  });

  it('refuses an HS256 token keyed with the public key (algorithm confusion)', async () => {
    const pem = await exportSPKI(rsa.publicKey);
    for (const secret of [pem, pem.trim(), JSON.stringify(rsa.jwk)]) {
      const unsigned = `${b64({ alg: 'HS256', typ: 'JWT', kid: rsa.kid })}.${b64(claims())}`;
      const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
      await refused(resolver.resolve(bearer(`${unsigned}.${signature}`)));
    }
  });

  it('still accepts HS256 tokens with the shared secret, and only those', async () => {
    expect(await resolver.resolve(bearer(await signToken(SECRET, 'carol', { admin: true })))).toEqual({ kind: 'user', userId: 'carol', admin: true });
    expect(await resolver.resolve(bearer(await signToken(SECRET, 'dave')))).toEqual({ kind: 'user', userId: 'dave', admin: false });
    await refused(resolver.resolve(bearer(await signToken('y'.repeat(32), 'carol'))));
  });

  it('without a JWKS, accepts only HS256 as before', async () => {
    const hsOnly = createCallerResolver({ jwtSecret: SECRET, jwks: undefined });
    expect(await hsOnly.resolve(bearer(await signToken(SECRET, 'erin')))).toEqual({ kind: 'user', userId: 'erin', admin: false });
    const before = jwks.fetches;
    await refused(hsOnly.resolve(bearer(await issue(rsa))));
    await refused(hsOnly.resolve(bearer(await issue(ec))));
    expect(jwks.fetches).toBe(before);
  });
});

describe('key rotation', () => {
  it('picks up a new kid from the set, and refuses the retired key once the set has dropped it', async () => {
    const [a, b] = await Promise.all([newKey('key-a', 'RS256'), newKey('key-b', 'ES256')]);
    const rotating = await startJwks([a]);
    try {
      const idp = createCallerResolver({ jwtSecret: SECRET, jwks: { url: rotating.url, issuer: ISSUER, audience: AUDIENCE } }, undefined, {
        cooldownDuration: 0,
      });
      expect(await idp.resolve(bearer(await issue(a, { sub: 'a-user' })))).toMatchObject({ userId: 'a-user' });
      expect(rotating.fetches).toBe(1);
      // Still within the cache's age: no fetch for a known kid.
      expect(await idp.resolve(bearer(await issue(a, { sub: 'a-user' })))).toMatchObject({ userId: 'a-user' });
      expect(rotating.fetches).toBe(1);

      rotating.keys = [b];
      expect(await idp.resolve(bearer(await issue(b, { sub: 'b-user' })))).toMatchObject({ userId: 'b-user' });
      expect(rotating.fetches).toBe(2);
      // The cached set is now [b]: key A's kid is unknown, fetched for once more, and still not there.
      await refused(idp.resolve(bearer(await issue(a, { sub: 'a-user' }))));
      expect(rotating.fetches).toBe(3);
    } finally {
      await rotating.close();
    }
  });

  it('with the default cooldown, does not fetch the set again for every unknown kid', async () => {
    const [a, b] = await Promise.all([newKey('key-a', 'RS256'), newKey('key-b', 'RS256')]);
    const rotating = await startJwks([a]);
    try {
      const idp = createCallerResolver({ jwtSecret: SECRET, jwks: { url: rotating.url, issuer: ISSUER, audience: AUDIENCE } });
      expect(await idp.resolve(bearer(await issue(a)))).toMatchObject({ userId: 'auth0|alice' });
      rotating.keys = [a, b];
      // Within 30 s of the last fetch an unknown kid is refused without another fetch (no amplification).
      await refused(idp.resolve(bearer(await issue(b))));
      await refused(idp.resolve(bearer(await issue(b))));
      expect(rotating.fetches).toBe(1);
    } finally {
      await rotating.close();
    }
  });
});

describe('an unreachable key set', () => {
  it('answers UNAUTHENTICATED when the endpoint is down, errors or hangs; HS256 still works', async () => {
    const key = await newKey('k', 'RS256');
    const outage = await startJwks([key]);
    const closed = await startJwks([key]);
    await closed.close();
    try {
      outage.mode = 'down';
      const erroring = createCallerResolver({ jwtSecret: SECRET, jwks: { url: outage.url } });
      await refused(erroring.resolve(bearer(await issue(key))));
      expect(outage.fetches).toBe(1);

      const refusing = createCallerResolver({ jwtSecret: SECRET, jwks: { url: closed.url } });
      await refused(refusing.resolve(bearer(await issue(key))));
      expect(await refusing.resolve(bearer(await signToken(SECRET, 'frank')))).toEqual({ kind: 'user', userId: 'frank', admin: false });

      outage.mode = 'hang';
      const hanging = createCallerResolver({ jwtSecret: SECRET, jwks: { url: outage.url } }, undefined, { timeoutDuration: 200 });
      const started = Date.now();
      await refused(hanging.resolve(bearer(await issue(key))));
      expect(Date.now() - started).toBeLessThan(5_000);

      // Back up: the same resolver recovers.
      outage.mode = 'up';
      expect(await erroring.resolve(bearer(await issue(key)))).toMatchObject({ userId: 'auth0|alice' });
    } finally {
      await outage.close();
    }
  });
});

describe('over HTTP', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    server = await startTestServer('embedded', { JWT_JWKS_URL: jwks.url, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  });
  afterAll(() => server?.stop());

  it('a JWKS token is the viewer; a bad one is 401 UNAUTHENTICATED', async () => {
    const VIEWER = '{ viewer { id isAdmin } }';
    const admin = await server.gql(VIEWER, {}, await issue(ec, { sub: 'auth0|root', role: 'admin' }));
    expect([admin.status, admin.data]).toEqual([200, { viewer: { id: 'auth0|root', isAdmin: true } }]);
    const hs = await server.gql(VIEWER, {}, await server.token('hs-user'));
    expect([hs.status, hs.data]).toEqual([200, { viewer: { id: 'hs-user', isAdmin: false } }]);
    const wrongAudience = await server.gql(VIEWER, {}, await issue(rsa, {}, { aud: 'another-api' }));
    expect([wrongAudience.status, codes(wrongAudience)]).toEqual([401, ['UNAUTHENTICATED']]);
    const none = await server.gql(VIEWER, {}, `${b64({ alg: 'none' })}.${b64(claims())}.`);
    expect([none.status, codes(none)]).toEqual([401, ['UNAUTHENTICATED']]);
  });
});
