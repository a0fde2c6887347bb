import { createApiKey, listApiKeys, registerPersistedOperations, revokeApiKey } from '../domain/api-key/api-key.service.js';
import { parseManifest } from '../domain/api-key/manifest.js';
import { BadUserInputError } from '../domain/errors.js';
import { encodeId } from '../domain/ids.js';
import type { Resolvers } from './__generated__/types.js';

function manifestOf(text: string | null | undefined) {
  if (text == null) return [];
  try {
    return parseManifest(JSON.parse(text));
  } catch (error) {
    throw error instanceof SyntaxError ? new BadUserInputError('manifest', 'not valid JSON') : error;
  }
}

export const gatewayResolvers: Resolvers = {
  Query: {
    apiKeys: (_, __, { services, caller }) => listApiKeys(services.db, caller),
  },
  Mutation: {
    async createApiKey(_, { input }, { services, caller }) {
      const { apiKey, key } = await createApiKey(services.db, caller, input);
      return { id: encodeId('key', apiKey.id), name: apiKey.name, key, apiKey };
    },
    async revokeApiKey(_, { id }, { services, caller }) {
      const apiKey = await revokeApiKey(services.db, caller, id);
      services.apiKeys.forget(id);
      return apiKey;
    },
    async registerPersistedOperations(_, { apiKeyId, documents, manifest }, { services, caller }, { schema }) {
      const entries = [...documents.map((document) => ({ document })), ...manifestOf(manifest)];
      const registered = await registerPersistedOperations(services.db, caller, schema, apiKeyId, entries);
      services.apiKeys.forget(apiKeyId);
      return registered.map(({ hash, name }) => ({ id: hash, name }));
    },
  },
  ApiKey: {
    id: (apiKey) => encodeId('key', apiKey.id),
  },
};
