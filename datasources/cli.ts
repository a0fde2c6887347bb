// npm run migrate | npm run seed: against DATABASE_URL, or the embedded database in DATA_DIR.
import { openDatabase } from '../server/app.js';
import { loadConfig } from '../server/config.js';
import { migrate } from './postgres/migrate.js';
import { seedDemo } from './seed/seed.js';

const command = process.argv[2];
if (command !== 'migrate' && command !== 'seed') {
  console.error('usage: tsx datasources/cli.ts migrate|seed [--force]');
  process.exit(2);
}
const db = await openDatabase(loadConfig());
try {
  const applied = await migrate(db);
  console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema up to date');
  if (command === 'seed') {
    const seeded = await seedDemo(db, { onlyIfEmpty: !process.argv.includes('--force') });
    console.log(seeded ? `seeded ${seeded} events` : 'the database already has events; pass --force to add the demo catalogue again');
  }
} finally {
  await db.close();
}
