import type { IncomingMessage } from 'node:http';
import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Caller } from '../../domain/caller.js';
import { DomainError } from '../../domain/errors.js';
import { createCallerResolver } from '../auth.js';
import { clientAddressReader, limitKey } from '../client-address.js';
import type { Context, Services } from '../context.js';
import { toHttpGraphQLError } from '../errors.js';
import { documentHash } from '../../domain/api-key/manifest.js';
import { createDocumentStore } from './documents.js';
import { createCostCheck, limitRules, parseOptions } from './limits.js';
import { createRateLimits, type Budget } from './rate-limits.js';

/** Valid documents by their hash: thousands of clients subscribing with the same query parse and validate it once. */
const DOCUMENT_CACHE_SIZE = 1_000;

/** The same error with an Apollo-style code, so that WebSocket and SSE clients see what HTTP clients see. */
export function coded(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/** graphql-js's "Did you mean …?" hints name fields a client did not ask about: not shown in production. */
const withoutSuggestions = (error: GraphQLError) =>
  / Did you mean .+\?$/.test(error.message) ? new GraphQLError(error.message.replace(/ Did you mean .+\?$/, ''), { nodes: error.nodes, extensions: error.extensions }) : error;

/** A GraphQL request as a client sends it (HTTP body or query string, a WebSocket or SSE subscribe payload). */
export interface OperationRequest {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
  extensions?: unknown;
  documentId?: unknown;
}

/** Who sends an operation, and from where (a client address as per-address limits count it). */
export interface Sender {
  caller: Caller;
  address: string;
}

/** An operation ready to run: what graphql-js's execute and subscribe take besides the schema and context. */
export interface PreparedOperation {
  document: DocumentNode;
  operationName?: string;
  variableValues?: Record<string, unknown>;
}

/**
 * The gateway edge: every rule that decides whether an operation runs, defined once and applied by every
 * transport (Apollo over HTTP through `apolloPlugin` and the options in `apolloOptions`, graphql-ws and
 * graphql-sse through `prepare`).
 */
export interface Gate {
  /** Who is calling, from a request's or a connection's credentials; UNAUTHENTICATED (a DomainError) when they are bad. */
  callerOf(credentials: { authorization?: unknown; apiKey?: unknown }): Promise<Caller>;
  /** The address per-address limits count for a request (TRUST_PROXY-aware; an IPv6 client by its /64). */
  addressOf(req: IncomingMessage): string;
  /**
   * False when a browser page's Origin may not call: not listed in CORS_ORIGINS (when set; in production an empty
   * list allows only the same origin). Requests without one (apps, servers) pass.
   */
  originAllowed(origin: string | undefined, host?: string): boolean;
  /** WebSocket and SSE: an operation checked by every rule, or the errors (with codes) that refuse it. */
  prepare(sender: Sender, request: OperationRequest): Promise<PreparedOperation | readonly GraphQLError[]>;
  /** What a read served from the response cache spends, as the same read run by Apollo would (RATE_LIMITED). */
  chargeRead(sender: Sender): Promise<void>;
  /** The edge's Redis connection (APQ, rate budgets, the response cache); none in the embedded mode. */
  redis: Redis | undefined;
  /** Apollo Server's share of the same rules. */
  apolloOptions: {
    validationRules: typeof specifiedRules[number][];
    parseOptions: { maxTokens?: number };
    hideSchemaDetailsFromClientErrors: boolean;
    persistedQueries: { cache: ReturnType<typeof createDocumentStore>['apollo'] };
  };
  apolloPlugin: ApolloServerPlugin<Context>;
  /**
   * Resolves once the edge's Redis connection is ready, or after READY_TIMEOUT_MS without it (budgets then count
   * in memory until it is): the first requests of a fresh instance count against the shared budgets too.
   */
  ready(): Promise<void>;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 2_000;

/** The persisted-query hash a request names: Apollo's `extensions.persistedQuery`, or `documentId` (`sha256:<hex>`). */
function hashOf(request: OperationRequest): string | undefined {
  const persisted = (request.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
  if (typeof persisted?.sha256Hash === 'string') return persisted.sha256Hash;
  if (typeof request.documentId === 'string') return request.documentId.replace(/^sha256:/, '');
  return undefined;
}

/** What an operation spends: one read, or per root field of a mutation one write (and one join per join). */
function spending(operation: OperationDefinitionNode): [Budget, number][] {
  if (operation.operation !== 'mutation') return [['read', 1]];
  const fields = operation.selectionSet.selections.filter((selection) => selection.kind === Kind.FIELD);
  const joins = fields.filter((field) => field.name.value === 'joinWaitingRoom').length;
  return joins ? [['write', fields.length], ['join', joins]] : [['write', Math.max(1, fields.length)]];
}

const notAllowed = () =>
  new DomainError('OPERATION_NOT_ALLOWED', 'This API key may run only the documents registered for it (registerPersistedOperations)');
/** What a reseller's unregistered hash runs as over HTTP, to be refused (see apolloPlugin). */
const UNREGISTERED_DOCUMENT = '# a hash not registered for this API key\n{ __typename }';

const notFound = () => new GraphQLError('PersistedQueryNotFound', { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });

/** The HTTP status of an edge refusal. */
export const statusOf = (error: DomainError) => (error.code === 'RATE_LIMITED' ? 429 : error.code === 'OPERATION_NOT_ALLOWED' ? 403 : 400);

function httpError(error: unknown): unknown {
  if (!(error instanceof DomainError)) return error;
  const graphqlError = toHttpGraphQLError(error, statusOf(error));
  const retryAfter = error.extensions.retryAfterSeconds;
  if (typeof retryAfter === 'number') (graphqlError.extensions.http as { headers?: HeaderMap }).headers = new HeaderMap([['retry-after', String(retryAfter)]]);
  return graphqlError;
}

export function createGate(services: Services, schema: GraphQLSchema, redisPrefix = 'onsale:'): Gate {
  const { config, apiKeys } = services;
  const protections = config.protections;
  const limits = protections ? limitRules(config.queryLimits) : [];
  const rules = [...specifiedRules, ...(config.production ? [NoSchemaIntrospectionCustomRule] : []), ...limits];
  const parsing = protections ? parseOptions(config.queryLimits) : {};
  const redis = config.redisUrl
    ? new Redis(config.redisUrl, {
        // Out of reach: fail at once (an APQ miss, the in-memory rate budget), never queue behind a reconnect.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 500,
        enableAutoPipelining: true,
        retryStrategy: (attempt: number) => Math.min(attempt * 100, 2_000),
      })
    : undefined;
  redis?.on('error', () => {});
  const documents = createDocumentStore(redis, redisPrefix);
  const rateLimits = createRateLimits(config, redis, redisPrefix);
  const valid = new LRUCache<string, DocumentNode>({ max: DOCUMENT_CACHE_SIZE });
  const checkCost = createCostCheck(schema, config.queryLimits.cost);
  const readAddress = clientAddressReader(config.trustProxy);
  const origins = new Set(config.corsOrigins);
  const callers = createCallerResolver(config, (key) => apiKeys.callerOf(key));

  /** A reseller's document by hash: registered for its key, or OPERATION_NOT_ALLOWED. */
  async function registered(apiKeyId: string, hash: string): Promise<string> {
    const text = await apiKeys.documentOf(apiKeyId, hash);
    if (text === null) throw notAllowed();
    return text;
  }

  /** Every rule that needs the parsed operation: trusted documents, cost, rate budgets. */
  async function admit(sender: Sender, operation: PreparedOperation & { hash: string }): Promise<void> {
    const { caller } = sender;
    if (caller.kind === 'reseller') await registered(caller.apiKeyId, operation.hash);
    if (!protections) return;
    checkCost(operation.hash, operation.document, operation.operationName, operation.variableValues);
    const definition = getOperationAST(operation.document, operation.operationName);
    if (!definition) return;
    for (const [budget, points] of spending(definition)) await rateLimits.charge(caller, sender.address, budget, points);
  }

  /** The text and hash of a WebSocket or SSE request's document (APQ as over HTTP). */
  async function documentOf(sender: Sender, request: OperationRequest): Promise<{ text: string; hash: string; register: boolean }> {
    const hash = hashOf(request);
    if (typeof request.query === 'string') {
      const computed = documentHash(request.query);
      if (hash !== undefined && hash !== computed) throw new GraphQLError('provided sha does not match query', { extensions: { code: 'BAD_REQUEST' } });
      return { text: request.query, hash: computed, register: hash !== undefined };
    }
    if (hash === undefined) throw new GraphQLError('Send the operation as `query`, or its hash as a persisted query', { extensions: { code: 'BAD_REQUEST' } });
    if (sender.caller.kind === 'reseller') return { text: await registered(sender.caller.apiKeyId, hash), hash, register: false };
    const text = await documents.get(hash);
    if (text === undefined) throw notFound();
    return { text, hash, register: false };
  }

  return {
    callerOf: (credentials) => callers.resolve(credentials),
    addressOf: (req) => limitKey(readAddress(req)),
    originAllowed(origin, host) {
      if (origin === undefined || !protections || origins.has(origin)) return true;
      if (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`)) return true;
      return !config.production && origins.size === 0;
    },
    async prepare(sender, request) {
      try {
        const { text, hash, register } = await documentOf(sender, request);
        let document = valid.get(hash);
        if (!document) {
          try {
            document = parse(text, parsing);
          } catch (error) {
            return [coded(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
          }
          const errors = validate(schema, document, rules);
          if (errors.length) return errors.map((error) => coded(config.production ? withoutSuggestions(error) : error, 'GRAPHQL_VALIDATION_FAILED'));
          valid.set(hash, document);
        }
        const prepared = {
          document,
          operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
          variableValues: request.variables as Record<string, unknown> | undefined,
        };
        await admit(sender, { ...prepared, hash });
        if (register) await documents.set(hash, text);
        return prepared;
      } catch (error) {
        if (error instanceof GraphQLError) return [error];
        if (error instanceof DomainError) return [new GraphQLError(error.message, { originalError: error })];
        throw error;
      }
    },
    chargeRead: async ({ caller, address }) => {
      if (protections) await rateLimits.charge(caller, address, 'read');
    },
    redis,
    apolloOptions: {
      // Apollo adds graphql-js's introspection rule itself when `introspection` is off (production).
      validationRules: limits,
      parseOptions: parsing,
      hideSchemaDetailsFromClientErrors: config.production,
      persistedQueries: { cache: documents.apollo },
    },
    apolloPlugin: {
      async requestDidStart({ request, contextValue: { caller } }) {
        // A reseller's hash is looked up among its own registered documents, not in the shared APQ store. Apollo
        // answers an error thrown here as a 500: a hash that is not registered runs as a document that is not
        // either, which didResolveOperation refuses with OPERATION_NOT_ALLOWED like any other.
        const hash = hashOf(request);
        if (caller.kind === 'reseller' && hash !== undefined && request.query === undefined) {
          const text = await apiKeys.documentOf(caller.apiKeyId, hash);
          request.query = text ?? UNREGISTERED_DOCUMENT;
          if (text === null) delete (request.extensions as { persistedQuery?: unknown }).persistedQuery;
        }
        return {
          async didResolveOperation({ document, queryHash, operationName, request: { variables }, contextValue }) {
            await admit(contextValue, { document, hash: queryHash, operationName: operationName ?? undefined, variableValues: variables }).catch((error: unknown) => {
              throw httpError(error);
            });
          },
        };
      },
    },
    ready: async () => {
      if (!redis || redis.status === 'ready') return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, READY_TIMEOUT_MS);
        redis.once('ready', () => (clearTimeout(timer), resolve()));
      });
    },
    close: async () => void redis?.disconnect(),
  };
}
