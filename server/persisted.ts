// Registers a manifest's documents for an API key, as the registerPersistedOperations mutation does:
//   npm run persisted -- register <apiKeyId> <manifest.json>
// against DATABASE_URL (or the embedded database in DATA_DIR). The manifest is GraphQL Code Generator's
// persisted documents or Apollo's persisted query manifest.
import { readFile } from 'node:fs/promises';
import { registerPersistedOperations } from '../domain/api-key/api-key.service.js';
import { parseManifest } from '../domain/api-key/manifest.js';
import { DomainError } from '../domain/errors.js';
import { migrate } from '../datasources/postgres/migrate.js';
import { createSchema } from '../resolvers/index.js';
import { openDatabase } from './app.js';
import { loadConfig } from './config.js';

const [command, apiKeyId, file] = process.argv.slice(2);
if (command !== 'register' || !apiKeyId || !file) {
  console.error('usage: npm run persisted -- register <apiKeyId> <manifest.json>');
  process.exit(2);
}
const db = await openDatabase(loadConfig());
try {
  await migrate(db);
  const entries = parseManifest(JSON.parse(await readFile(file, 'utf8')));
  const operator = { kind: 'user', userId: 'cli', admin: true } as const;
  const registered = await registerPersistedOperations(db, operator, createSchema(), apiKeyId, entries, 'manifest');
  console.log(`registered ${registered.length} documents for ${apiKeyId}`);
  for (const { hash, name } of registered) console.log(`  ${hash}  ${name ?? '(anonymous)'}`);
} catch (error) {
  if (!(error instanceof DomainError || error instanceof SyntaxError)) throw error;
  console.error(`${file}: ${error.message}`);
  process.exitCode = 1;
} finally {
  await db.close();
}
