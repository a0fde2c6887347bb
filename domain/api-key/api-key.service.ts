import { createHash, randomBytes } from 'node:crypto';
import { GraphQLError, getOperationAST, parse, validate, type GraphQLSchema } from 'graphql';
import type { Database } from '../../datasources/db.js';
import {
  findApiKey,
  insertApiKey,
  insertPersistedOperations,
  listApiKeyRows,
  revokeApiKeyRow,
  type DbApiKey,
  type DbPersistedOperation,
} from '../../datasources/postgres/api-keys.sql.js';
import { requireAdmin, type Caller } from '../caller.js';
import { BadUserInputError, NotFoundError } from '../errors.js';
import { decodeId } from '../ids.js';
import { checkText } from '../input.js';
import { documentHash, type ManifestEntry } from './manifest.js';

/** An API key as admins see it: never the key itself. */
export type ApiKeyView = DbApiKey;

/** A reseller's budget unless its key says otherwise: ten times a fan's, since one key serves many customers. */
export const DEFAULT_KEY_BUDGET = { readsPerMinute: 6_000, writesPerMinute: 600 };

const MAX_DOCUMENTS_PER_CALL = 1_000;
const MAX_DOCUMENT_LENGTH = 64 * 1024;

/** How a presented key is looked up: SHA-256 of the key (256 random bits: nothing to brute-force, no slow hash needed). */
export const keyHashOf = (key: string) => createHash('sha256').update(key).digest();

const checkBudget = (field: string, value: number | null | undefined, fallback: number) => {
  if (value == null) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > 1_000_000) throw new BadUserInputError(field, 'must be 1 to 1,000,000 per minute');
  return value;
};

/** Creates a key; the answer is the only place the key ever appears. */
export async function createApiKey(
  db: Database,
  caller: Caller,
  input: { name: string; reseller: string; readsPerMinute?: number | null; writesPerMinute?: number | null },
): Promise<{ apiKey: ApiKeyView; key: string }> {
  requireAdmin(caller);
  checkText('input.name', input.name, 100);
  checkText('input.reseller', input.reseller, 100);
  const budget = {
    readsPerMinute: checkBudget('input.readsPerMinute', input.readsPerMinute, DEFAULT_KEY_BUDGET.readsPerMinute),
    writesPerMinute: checkBudget('input.writesPerMinute', input.writesPerMinute, DEFAULT_KEY_BUDGET.writesPerMinute),
  };
  const key = `onsale_${randomBytes(32).toString('base64url')}`;
  const apiKey = await insertApiKey(db, { name: input.name, reseller: input.reseller, ...budget }, keyHashOf(key));
  return { apiKey, key };
}

const keyOf = async (db: Database, id: string, field: string) => {
  const apiKey = await findApiKey(db, decodeId('key', id, field));
  if (!apiKey) throw new NotFoundError('API key', field);
  return apiKey;
};

export async function revokeApiKey(db: Database, caller: Caller, id: string): Promise<ApiKeyView> {
  requireAdmin(caller);
  await keyOf(db, id, 'id');
  return (await revokeApiKeyRow(db, decodeId('key', id, 'id')))!;
}

export async function listApiKeys(db: Database, caller: Caller): Promise<ApiKeyView[]> {
  requireAdmin(caller);
  return listApiKeyRows(db);
}

/** A document checked for registration: its hash matches, it parses, it is valid against the schema. */
function checked(schema: GraphQLSchema, entry: ManifestEntry, field: string): DbPersistedOperation {
  if (entry.document.length > MAX_DOCUMENT_LENGTH) throw new BadUserInputError(field, `a document of at most ${MAX_DOCUMENT_LENGTH} characters`);
  const hash = documentHash(entry.document);
  if (entry.hash !== undefined && entry.hash.toLowerCase() !== hash) {
    throw new BadUserInputError(field, `the hash ${entry.hash} is not the SHA-256 of its document (${hash})`);
  }
  let errors: readonly GraphQLError[];
  let name = entry.name;
  try {
    const document = parse(entry.document);
    errors = validate(schema, document);
    name ??= getOperationAST(document)?.name?.value;
  } catch (error) {
    errors = [error as GraphQLError];
  }
  if (errors.length) throw new BadUserInputError(field, `not a valid document: ${errors.map((error) => error.message).join('; ')}`);
  return { hash, name: name ?? null, document: entry.document };
}

/**
 * Registers documents for a key, all or none: every hash is checked against its document and every document
 * validated against the schema first. Registering a document again changes nothing. Answers every document of
 * the call, registered now or before.
 */
export async function registerPersistedOperations(
  db: Database,
  caller: Caller,
  schema: GraphQLSchema,
  apiKeyId: string,
  entries: readonly ManifestEntry[],
  field = 'documents',
): Promise<{ hash: string; name: string | null }[]> {
  requireAdmin(caller);
  const apiKey = await keyOf(db, apiKeyId, 'apiKeyId');
  if (entries.length > MAX_DOCUMENTS_PER_CALL) throw new BadUserInputError(field, `at most ${MAX_DOCUMENTS_PER_CALL} documents per call`);
  const operations = entries.map((entry, index) => checked(schema, entry, `${field}[${index}]`));
  if (operations.length) await insertPersistedOperations(db, apiKey.id, operations);
  return operations.map(({ hash, name }) => ({ hash, name }));
}
