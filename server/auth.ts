import { createSigner, createVerifier } from 'fast-jwt';
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

/** The caller a bearer token speaks for; UNAUTHENTICATED when it is malformed, mis-signed or expired. */
export async function callerFromToken(secret: string, token: string): Promise<Caller> {
  let payload: Record<string, unknown>;
  try {
    payload = verifierOf(secret)(token);
  } catch {
    throw new UnauthenticatedError('Invalid or expired token');
  }
  const { sub, role } = payload;
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 200) throw new UnauthenticatedError('Invalid or expired token');
  return { kind: 'user', userId: sub, admin: role === 'admin' };
}

/** The reseller a presented API key speaks for, or null for an unknown or revoked key. */
export type ApiKeyResolver = (key: string) => Promise<Caller | null>;
const noApiKeys: ApiKeyResolver = async () => null;

/** Resolves callers from credentials (see resolveCaller) with the configured token checks and API keys. */
export interface CallerResolver {
  resolve(credentials: { authorization?: unknown; apiKey?: unknown }): Promise<Caller>;
}

export function createCallerResolver(config: Pick<Config, 'jwtSecret' | 'jwks'>, apiKeys: ApiKeyResolver = noApiKeys): CallerResolver {
  return { resolve: (credentials) => resolveCaller(config.jwtSecret, credentials, apiKeys) };
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
  const { authorization, apiKey } = credentials;
  if (authorization !== undefined && authorization !== null && authorization !== '') {
    const match = typeof authorization === 'string' ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
    if (!match) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
    return callerFromToken(secret, match[1]!);
  }
  if (apiKey !== undefined && apiKey !== null && apiKey !== '') {
    const caller = typeof apiKey === 'string' ? await apiKeys(apiKey) : null;
    if (!caller) throw new UnauthenticatedError('Unknown API key');
    return caller;
  }
  return anonymous;
}
