import { createHmac } from 'node:crypto';
import { createSigner, createVerifier } from 'fast-jwt';

/** Signs and checks admission tokens: HS256 JWTs bound to one caller, one event and one ticket, until its window ends. */
export interface AdmissionTokens {
  sign(ticket: { id: string; eventId: number; owner: string; admissionExpiresAt: Date }): string;
  /** Whether `token` admits `owner` to `eventId` now: signed by us, theirs, for this event, unexpired. No I/O. */
  admits(token: string | null | undefined, owner: string, eventId: number): boolean;
}

/**
 * Admission tokens under a key derived from `secret` (JWT_SECRET) for this use only, so that a sign-in token can
 * never pass for an admission or back. Signing is deterministic (no `iat`): the same admission always reads as
 * the same token. Verified tokens are cached by fast-jwt until they expire, so a fan's next hold skips the HMAC.
 */
export function createAdmissionTokens(secret: string): AdmissionTokens {
  const key = createHmac('sha256', secret).update('onsale admission token v1').digest('hex');
  const signer = createSigner({ key, algorithm: 'HS256', noTimestamp: true });
  const verify = createVerifier({ key, algorithms: ['HS256'], requiredClaims: ['exp', 'sub', 'evt', 'tkt'], cache: 100_000 });
  return {
    sign: (ticket) =>
      signer({ sub: ticket.owner, evt: ticket.eventId, tkt: ticket.id, exp: Math.floor(ticket.admissionExpiresAt.getTime() / 1000) }),
    admits(token, owner, eventId) {
      if (!token || token.length > 2_000) return false;
      try {
        const claims = verify(token) as { sub?: unknown; evt?: unknown };
        return claims.sub === owner && claims.evt === eventId;
      } catch {
        return false;
      }
    },
  };
}
