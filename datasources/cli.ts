// npm run migrate | npm run seed | npm run verify-raffle -- <eventId>: against DATABASE_URL, or the embedded
// database in DATA_DIR.
import { decodeId } from '../domain/ids.js';
import { auditRaffle } from '../domain/waiting-room/raffle-audit.js';
import { openDatabase } from '../server/app.js';
import { loadConfig } from '../server/config.js';
import { migrate } from './postgres/migrate.js';
import { findRaffleRecord } from './postgres/queue-tickets.sql.js';
import { seedDemo } from './seed/seed.js';

const command = process.argv[2];
if (command !== 'migrate' && command !== 'seed' && !(command === 'verify-raffle' && process.argv[3])) {
  console.error('usage: tsx datasources/cli.ts migrate|seed [--force] | verify-raffle <eventId>');
  process.exit(2);
}
const db = await openDatabase(loadConfig());
try {
  if (command === 'verify-raffle') process.exit(await verifyRaffle(process.argv[3]!));
  const applied = await migrate(db);
  console.log(applied.length ? `applied ${applied.join(', ')}` : 'schema up to date');
  if (command === 'seed') {
    const seeded = await seedDemo(db, { onlyIfEmpty: !process.argv.includes('--force') });
    console.log(seeded ? `seeded ${seeded} events` : 'the database already has events; pass --force to add the demo catalogue again');
  }
} finally {
  await db.close();
}

/** Recomputes an event's raffle from the database and checks the admissions against it; the exit code. */
async function verifyRaffle(id: string): Promise<number> {
  const record = await findRaffleRecord(db, decodeId('evt', id, 'eventId'));
  if (!record) {
    console.error(`${id}: no such gated event`);
    return 1;
  }
  const audit = auditRaffle(record);
  console.log(JSON.stringify({ eventId: id, commitment: record.commitment, seed: record.seed, ...audit }, null, 2));
  return audit.ok ? 0 : 1;
}
