import { createHash } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import { anonymous, type Caller } from '../domain/caller.js';
import { UnauthenticatedError } from '../domain/errors.js';

const key = (secret: string) => new TextEncoder().encode(secret);

/** Signs an HS256 token for user `sub`; `admin` adds `role: "admin"`. */
export async function signToken(secret: string, sub: string, options: { admin?: boolean; expiresIn?: string } = {}) {
  return new SignJWT(options.admin ? { role: 'admin' } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(key(secret));
}

/** The caller a bearer token speaks for; UNAUTHENTICATED when it is malformed, mis-signed or expired. */
export async function callerFromToken(secret: string, token: string): Promise<Caller> {
  try {
    // A token without an expiry would be good forever: refuse it.
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] });
    if (typeof payload.sub !== 'string' || payload.sub.length === 0 || payload.sub.length > 200) {
      throw new Error('no subject');
    }
    return { kind: 'user', userId: payload.sub, admin: payload.role === 'admin' };
  } catch {
    throw new UnauthenticatedError('Invalid or expired token');
  }
}

/** Resolves the API keys of resellers; none can exist until keys can be created. */
export type ApiKeyResolver = (keyHash: string) => Promise<Caller | null>;
const noApiKeys: ApiKeyResolver = async () => null;

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
    const caller = typeof apiKey === 'string' ? await apiKeys(createHash('sha256').update(apiKey).digest('hex')) : null;
    if (!caller) throw new UnauthenticatedError('Unknown API key');
    return caller;
  }
  return anonymous;
}
