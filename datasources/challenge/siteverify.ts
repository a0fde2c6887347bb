import type { ChallengeVerifier } from '../../domain/waiting-room/challenge.js';

/** How long a siteverify call may take before the join fails (and the fan may retry). */
const TIMEOUT_MS = 5_000;

/**
 * A verifier that speaks the siteverify protocol shared by Cloudflare Turnstile and hCaptcha: POST a form with
 * `secret` and `response` (and `remoteip` when known) to `url`, and read `{ "success": true | false, ... }`.
 * Turnstile: https://challenges.cloudflare.com/turnstile/v0/siteverify; hCaptcha: https://api.hcaptcha.com/siteverify.
 */
export function createSiteverifyVerifier(url: string, secret: string): ChallengeVerifier {
  return {
    name: 'siteverify',
    async verify(token, remoteAddress) {
      const form = new URLSearchParams({ secret, response: token });
      if (remoteAddress) form.set('remoteip', remoteAddress);
      const response = await fetch(url, { method: 'POST', body: form, signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!response.ok) throw new Error(`siteverify answered HTTP ${response.status}`);
      const body = (await response.json()) as { success?: unknown };
      return body.success === true;
    },
  };
}
