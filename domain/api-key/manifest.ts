import { createHash } from 'node:crypto';
import { BadUserInputError } from '../errors.js';

/** A document to register: its text, and the hash and name a manifest gives it (checked, never trusted). */
export interface ManifestEntry {
  document: string;
  hash?: string;
  name?: string;
}

/** SHA-256 of a document's text, lowercase hex: the hash of APQ, `documentId` and persisted-documents manifests. */
export const documentHash = (text: string) => createHash('sha256').update(text).digest('hex');

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The documents of a manifest in either of the formats clients already produce: GraphQL Code Generator's
 * persisted documents (`{ "<sha256>": "<document>" }`, also with `sha256:` keys) or Apollo's persisted query
 * manifest (`{ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id, name, type, body }] }`).
 */
export function parseManifest(json: unknown, field = 'manifest'): ManifestEntry[] {
  if (!isRecord(json)) throw new BadUserInputError(field, 'a JSON object: a persisted-documents map or an Apollo persisted query manifest');
  if (json.format === 'apollo-persisted-query-manifest') {
    if (json.version !== 1 || !Array.isArray(json.operations)) {
      throw new BadUserInputError(field, 'an Apollo manifest of version 1 with an `operations` array');
    }
    return json.operations.map((operation: unknown, index) => {
      if (!isRecord(operation) || typeof operation.id !== 'string' || typeof operation.body !== 'string') {
        throw new BadUserInputError(`${field}.operations[${index}]`, 'needs a string `id` and `body`');
      }
      return { document: operation.body, hash: operation.id, name: typeof operation.name === 'string' ? operation.name : undefined };
    });
  }
  return Object.entries(json).map(([hash, document]) => {
    if (typeof document !== 'string') throw new BadUserInputError(`${field}.${hash}`, 'a document (a string)');
    return { document, hash: hash.replace(/^sha256:/, '') };
  });
}
