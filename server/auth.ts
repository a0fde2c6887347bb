import { createSigner, createVerifier } from 'fast-jwt';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload, type RemoteJWKSetOptions } from 'jose';
import { anonymous, type Caller } from '../domain/caller.js';
import { UnauthenticatedError } from '../domain/errors.js';
import type { Config } from './config.js';

/** Signs an HS256 token for user `sub`; `admin` adds `role: "admin"`. */
export async function signToken(secret: string, sub: string, options: { admin?: boolean; expiresIn?: string } = {}) {
  const sign = createSigner({ key: secret, algorithm: 'HS256', expiresIn: options.expiresIn ?? '12h' });
  return sign(options.admin ? { sub, role: 'admin' } : { sub });
}

/**
 * One verifier per secret. fast-jwt checks HS256 with node:crypto, synchronously, and keeps the tokens it verified
 * lately (until they expire), so a client's next request with the same token skips the check.
 */
const verifiers = new Map<string, (token: string) => Record<string, unknown>>();

function verifierOf(secret: string) {
  let verify = verifiers.get(secret);
  if (!verify) {
    // A token without an expiry would be good forever: refuse it.
    verify = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['exp', 'sub'], cache: 50_000 });
    verifiers.set(secret, verify);
  }
  return verify;
}

/** The caller a verified token's claims speak for: `sub` is the user, `role: "admin"` makes an admin. */
function callerOfClaims({ sub, role }: Record<string, unknown>): Caller {
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200) throw new UnauthenticatedError('Invalid or expired token');
  return { kind: 'user', userId: sub, admin: role === 'admin' };
}

/** The caller an HS256 bearer token speaks for; UNAUTHENTICATED when it is malformed, mis-signed or expired. */
export async function callerFromToken(secret: string, token: string): Promise<Caller> {
  let payload: Record<string, unknown>;
  try {
    payload = verifierOf(secret)(token);
  } catch {
    throw new UnauthenticatedError('Invalid or expired token');
  }
  return callerOfClaims(payload);
}

/**
 * The identity provider's algorithms: all asymmetric, so its public keys can never act as an HMAC secret.
 * jose checks each against the key's own type (and `alg`, when the JWK names one).
 */
const JWKS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'];

/**
 * Checks bearer tokens: HS256 with `secret` (fast-jwt), and, with `jwks`, the identity provider's algorithms
 * against its key set. The header's `alg` only picks the path; each path verifies with its own allowlist, so
 * `none`, an unknown `alg` or an HS256 token "signed" with a public key are refused. jose caches the key set
 * (`cacheMaxAge`, 10 minutes by default) and fetches it again for an unknown `kid` once `cooldownDuration`
 * (30 s) has passed since the last fetch: that is how rotated keys arrive.
 */
export function createTokenVerifier(
  secret: string,
  jwks?: { url: string; issuer?: string; audience?: string },
  jwksOptions: RemoteJWKSetOptions = {},
): (token: string) => Promise<Caller> {
  if (!jwks) return (token) => callerFromToken(secret, token);
  const keys = createRemoteJWKSet(new URL(jwks.url), jwksOptions);
  const checks = { algorithms: JWKS_ALGORITHMS, issuer: jwks.issuer, audience: jwks.audience, requiredClaims: ['exp', 'sub'] };
  return async (token) => {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw new UnauthenticatedError('Invalid or expired token');
    }
    if (alg === 'HS256') return callerFromToken(secret, token);
    if (typeof alg !== 'string' || !JWKS_ALGORITHMS.includes(alg)) throw new UnauthenticatedError('Invalid or expired token');
    let payload: JWTPayload;
    try {
      // An unreachable key set fails here too: the caller is UNAUTHENTICATED, never a 500.
      ({ payload } = await jwtVerify(token, keys, checks));
    } catch {
      throw new UnauthenticatedError('Invalid or expired token');
    }
    return callerOfClaims(payload);
  };
}

/** The reseller a presented API key speaks for, or null for an unknown or revoked key. */
export type ApiKeyResolver = (key: string) => Promise<Caller | null>;
const noApiKeys: ApiKeyResolver = async () => null;

/** Resolves callers from credentials (see resolveCaller) with the configured token checks and API keys. */
export interface CallerResolver {
  resolve(credentials: { authorization?: unknown; apiKey?: unknown }): Promise<Caller>;
}

/** `jwksOptions` tunes jose's key set fetches (tests shorten `cooldownDuration`). */
export function createCallerResolver(
  config: Pick<Config, 'jwtSecret' | 'jwks'>,
  apiKeys: ApiKeyResolver = noApiKeys,
  jwksOptions?: RemoteJWKSetOptions,
): CallerResolver {
  const verifyToken = createTokenVerifier(config.jwtSecret, config.jwks, jwksOptions);
  return { resolve: (credentials) => callerOf(verifyToken, credentials, apiKeys) };
}

/**
 * Who is calling, from the credentials of a request or of a WebSocket's `connection_init`: a bearer token,
 * an API key, or neither (anonymous). Bad credentials are an error, never a silent fall back to anonymous.
 */
export async function resolveCaller(
  secret: string,
  credentials: { authorization?: unknown; apiKey?: unknown },
  apiKeys: ApiKeyResolver = noApiKeys,
): Promise<Caller> {
  return callerOf((token) => callerFromToken(secret, token), credentials, apiKeys);
}

async function callerOf(
  verifyToken: (token: string) => Promise<Caller>,
  credentials: { authorization?: unknown; apiKey?: unknown },
  apiKeys: ApiKeyResolver,
): Promise<Caller> {
  const { authorization, apiKey } = credentials;
  if (authorization !== undefined && authorization !== null && authorization !== '') {
    const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
    return verifyToken(match[1]!);
  }
  if (apiKey !== undefined && apiKey !== null && apiKey !== '') {
    const caller = typeof apiKey === 'string' ? await apiKeys(apiKey) : null;
    if (!caller) throw new UnauthenticatedError('Unknown API key');
    return caller;
  }
  return anonymous;
}
