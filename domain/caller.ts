import { ForbiddenError, UnauthenticatedError } from './errors.js';

/** Who is calling: decided once per request or connection by the server, read by the domain. */
export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; admin: boolean }
  | { kind: 'reseller'; apiKeyId: string; budget: ApiKeyBudget };

/** An API key's own rate budget: operations per minute. */
export interface ApiKeyBudget {
  readsPerMinute: number;
  writesPerMinute: number;
}

export const anonymous: Caller = { kind: 'anonymous' };

/** Throws UNAUTHENTICATED for an anonymous caller and FORBIDDEN for any caller who is not an admin. */
export function requireAdmin(caller: Caller): void {
  if (caller.kind === 'anonymous') throw new UnauthenticatedError();
  if (caller.kind !== 'user' || !caller.admin) throw new ForbiddenError('Only an admin may do this');
}

/**
 * Whose holds and bookings these are: `user:<sub>` or `key:<api key id>`; UNAUTHENTICATED for an anonymous
 * caller, since everything that holds or buys needs an identity.
 */
export function ownerKey(caller: Caller): string {
  if (caller.kind === 'user') return `user:${caller.userId}`;
  if (caller.kind === 'reseller') return `key:${caller.apiKeyId}`;
  throw new UnauthenticatedError();
}

/** True when `caller` may see and act on what `owner` owns: the owner, or an admin. */
export const mayAct = (caller: Caller, owner: string): boolean =>
  (caller.kind === 'user' && caller.admin) || (caller.kind !== 'anonymous' && ownerKey(caller) === owner);
