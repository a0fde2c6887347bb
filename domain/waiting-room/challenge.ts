import { DomainError } from '../errors.js';

/**
 * The bot-friction port: proves a human (or at least a browser) solved a challenge before a ticket is made.
 * `verify` resolves with whether the token passes; it rejects when the verifier cannot be asked.
 */
export interface ChallengeVerifier {
  readonly name: string;
  verify(token: string, remoteAddress?: string): Promise<boolean>;
}

/** The token the built-in test verifier accepts; any other token fails. Outside production only. */
export const TEST_CHALLENGE_PASS = 'test-pass';

export const testChallengeVerifier: ChallengeVerifier = {
  name: 'test',
  verify: async (token) => token === TEST_CHALLENGE_PASS,
};

/** FORBIDDEN unless `token` passes the verifier (when one is configured). */
export async function checkChallenge(verifier: ChallengeVerifier | undefined, token: string | null | undefined): Promise<void> {
  if (!verifier) return;
  if (!token) throw new DomainError('FORBIDDEN', 'Solve the challenge first and send its token as challengeToken', { reason: 'CHALLENGE_REQUIRED' });
  let passed: boolean;
  try {
    passed = await verifier.verify(token);
  } catch (error) {
    // Fail closed: an outage of the verifier must not open the door to scripts. The fan may retry.
    throw Object.assign(new DomainError('FORBIDDEN', 'The challenge could not be verified just now; try again', { reason: 'CHALLENGE_UNAVAILABLE' }), { cause: error });
  }
  if (!passed) throw new DomainError('FORBIDDEN', 'The challenge token was not accepted; solve the challenge again', { reason: 'CHALLENGE_FAILED' });
}
