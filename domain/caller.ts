import { ForbiddenError, UnauthenticatedError } from './errors.js';

/** Who is calling: decided once per request or connection by the server, read by the domain. */
export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'user'; userId: string; admin: boolean }
  | { kind: 'reseller'; apiKeyId: string };

export const anonymous: Caller = { kind: 'anonymous' };

/** Throws UNAUTHENTICATED for an anonymous caller and FORBIDDEN for any caller who is not an admin. */
export function requireAdmin(caller: Caller): void {
  if (caller.kind === 'anonymous') throw new UnauthenticatedError();
  if (caller.kind !== 'user' || !caller.admin) throw new ForbiddenError('Only an admin may do this');
}
