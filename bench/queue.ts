// npm run bench:queue — the waiting room under an on-sale: JOINS fresh fans join a gated event through GraphQL from
// concurrent clients, the raffle runs at the on-sale, then admission ticks run while SUBSCRIBERS of the waiting
// fans hold a queueTicketUpdated subscription. Against a fresh Postgres database and Redis, with the server
// (production mode, its own admission worker) in a process of its own. Compared with the same server's
// trivial-query req/s in the same run.
import { createClient, type Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';
import { benchSecrets, benchServerEnv, fire, graphqlClient, machineInfo, printTargets, round, stats, tokenSigner, writeResults } from './common.js';
import { benchTarget, intFromEnv, memoryOf, recreateDatabase, runBenchmark, sleep, startServer } from './server.js';

const settings = {
  ...benchTarget('onsale_bench_queue', 4103),
  joins: intFromEnv('JOINS', 200_000),
  joinConnections: intFromEnv('BENCH_CONNECTIONS', 100),
  subscribers: intFromEnv('SUBSCRIBERS', 5_000),
  admissionsPerMinute: intFromEnv('ADMISSIONS_PER_MINUTE', 6_000),
  admissionSeconds: intFromEnv('ADMISSION_SECONDS', 10),
  trivialSeconds: intFromEnv('TRIVIAL_SECONDS', 10),
  lookupSeconds: intFromEnv('LOOKUP_SECONDS', 5),
  lookupConnections: intFromEnv('LOOKUP_CONNECTIONS', 10),
};
const graphqlUrl = `http://127.0.0.1:${settings.port}/graphql`;
const TICKET = `id state position estimatedWaitSeconds admissionToken`;

/** `total` tasks by `concurrency` workers; each task's latency in ms, and when it ended (ms since `started`). */
async function pool(total: number, concurrency: number, task: (i: number) => Promise<void>) {
  const latencies = new Float64Array(total);
  const ends = new Float64Array(total);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const t = performance.now();
        await task(i);
        latencies[i] = performance.now() - t;
        ends[i] = performance.now() - started;
      }
    }),
  );
  return { latencies, ends, seconds: (performance.now() - started) / 1000 };
}

async function main(): Promise<number> {
  const machine = machineInfo();
  console.log(`bench:queue — ${machine.date}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}`);
  console.log(`  settings: ${JSON.stringify(settings)}`);
  await recreateDatabase(settings.databaseUrl);
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 1 });
  // An earlier run's line of the same event id would be rebuilt by the server (its epoch is not this database's),
  // but the raffle's timing below waits for the line's key to appear: start without one.
  for (const key of await redis.keys('onsale:wr:*')) await redis.del(key);
  const server = await startServer({
    env: benchServerEnv(settings, { SEED_DEMO: 'never', WS_MAX_CONNECTIONS_PER_IP: String(settings.subscribers + 100), DATABASE_POOL_SIZE: '20' }),
    baseUrl: `http://127.0.0.1:${settings.port}`,
    readyTimeoutMs: 60_000,
  });
  const db = new pg.Client({ connectionString: settings.databaseUrl });
  await db.connect();
  const sign = tokenSigner(benchSecrets.jwtSecret);
  const api = graphqlClient(settings.port, settings.joinConnections + 10);
  const admin = sign('bench-admin', true);

  // The same server's trivial-query rate, the yardstick for joins (the first seconds included: a fresh server).
  const trivial = (await fire(graphqlUrl, JSON.stringify({ query: '{ __typename }' }), settings.joinConnections, settings.trivialSeconds)).result;
  const trivialPerSecond = trivial.requests.average;
  console.log(`\ntrivial query: ${round(trivialPerSecond)} req/s, p99 ${trivial.latency.p99} ms`);

  const venue = await api.gqlOk('createVenue', `mutation { createVenue(input: { name: "Bench Arena", city: "Benchville", country: "Benchland" }) { id } }`, {}, admin);
  const now = Date.now();
  const created = await api.gqlOk('createEvent', `mutation($input: CreateEventInput!) { createEvent(input: $input) { id } }`, {
    input: {
      venueId: (venue.createVenue as { id: string }).id, title: 'Queue Bench', performer: 'The Benchmarks', category: 'concert',
      startsAt: new Date(now + 30 * 86_400_000).toISOString(), onSaleAt: new Date(now + 86_400_000).toISOString(),
      sections: [{ name: 'Floor', price: 5000, rows: 40, seatsPerRow: 50 }],
      waitingRoom: { opensAt: new Date(now - 60_000).toISOString(), admissionsPerMinute: settings.admissionsPerMinute },
    },
  }, admin);
  const eventId = (created.createEvent as { id: string }).id;
  const numericId = Number(eventId.slice(4));

  // Joins: fresh fans, each with their own token.
  const tokens = Array.from({ length: settings.joins }, (_, i) => sign(`fan-${i}`));
  const joinQuery = `mutation($eventId: ID!) { joinWaitingRoom(eventId: $eventId) { ${TICKET} } }`;
  const failures = new Map<string, number>();
  const joins = await pool(settings.joins, settings.joinConnections, async (i) => {
    const answer = await api.gql(joinQuery, { eventId }, tokens[i]);
    if (answer.code !== 'OK') failures.set(answer.code, (failures.get(answer.code) ?? 0) + 1);
  });
  const joinStats = stats(joins.latencies, joins.seconds);
  const first5 = stats(joins.latencies.filter((_, i) => joins.ends[i]! <= 5_000), Math.min(5, joins.seconds));
  console.log(`joins: ${joinStats.perSecond}/s, p50 ${joinStats.p50Ms} ms, p99 ${joinStats.p99Ms} ms (first 5 s: ${first5.perSecond}/s, p99 ${first5.p99Ms} ms); failures ${JSON.stringify(Object.fromEntries(failures))}`);

  // Subscribers: the first SUBSCRIBERS fans, each on a WebSocket of their own.
  const clients: Client[] = [];
  const received = { frames: 0, admitted: 0, waiting: 0 };
  let framesAtTick: number[] = [];
  for (let i = 0; i < settings.subscribers; i++) {
    const client = createClient({ url: graphqlUrl.replace('http', 'ws'), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${tokens[i]}` }, retryAttempts: 0 });
    clients.push(client);
    client.subscribe({ query: `subscription($eventId: ID!) { queueTicketUpdated(eventId: $eventId) { ${TICKET} } }`, variables: { eventId } }, {
      next: (value) => {
        received.frames++;
        const state = (value.data as { queueTicketUpdated?: { state: string } } | undefined)?.queueTicketUpdated?.state;
        if (state === 'ADMITTED') received.admitted++;
        if (state === 'WAITING') received.waiting++;
      },
      error: () => {},
      complete: () => {},
    });
    if (i % 250 === 249) await sleep(50);
  }
  await waitFor(() => received.frames >= settings.subscribers, 60_000);
  console.log(`subscribers: ${settings.subscribers} connected, each shown its PRE_QUEUE ticket`);

  // Pub/sub messages of this event as Redis carries them (the "now serving" broadcast and personal notices).
  const listener = new Redis(settings.redisUrl);
  let pubsubMessages = 0;
  await listener.psubscribe(`onsale:queue.${numericId}`, `onsale:queueTicket.${numericId}.*`);
  listener.on('pmessage', () => pubsubMessages++);

  // The raffle: the on-sale comes now (moved, rather than waiting a day); the worker raffles and builds the line.
  const memoryBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  await db.query(`UPDATE events SET on_sale_at = now() WHERE id = $1`, [numericId]);
  const metaKey = `onsale:wr:{${numericId}}:meta`;
  await waitFor(async () => (await redis.exists(metaKey)) === 1, 60_000, 5);
  const builtAt = Date.now();
  const { rows } = await db.query<{ ranAt: Date }>(`SELECT wr_raffle_ran_at AS "ranAt" FROM events WHERE id = $1`, [numericId]);
  const raffleMs = builtAt - rows[0]!.ranAt.getTime();
  const lineLength = await redis.zcard(`onsale:wr:{${numericId}}:line`);
  const memoryAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  console.log(`raffle: ${raffleMs} ms from the seed's reveal to a built line of ${lineLength} tickets; Redis ${round((memoryAfter - memoryBefore) / lineLength)} bytes per waiting ticket`);
  await waitFor(() => received.waiting >= settings.subscribers, 60_000);

  // Admission ticks, while the subscribers watch: frames sent to them and pub/sub messages, per second.
  const perSecond: { frames: number; pubsub: number }[] = [];
  for (let s = 0; s < settings.admissionSeconds; s++) {
    const [frames, messages] = [received.frames, pubsubMessages];
    await sleep(1_000);
    perSecond.push({ frames: received.frames - frames, pubsub: pubsubMessages - messages });
  }
  framesAtTick = perSecond.map((p) => p.frames);
  console.log(`admission: ${JSON.stringify(perSecond)} (frames to the ${settings.subscribers} subscribers, pub/sub messages) per second; ${received.admitted} subscribers admitted`);

  // Position lookups: queueTicket of random waiting fans.
  const lookupQuery = `query($eventId: ID!) { queueTicket(eventId: $eventId) { position } }`;
  const lookups: number[] = [];
  const lookupUntil = performance.now() + settings.lookupSeconds * 1000;
  await Promise.all(Array.from({ length: settings.lookupConnections }, async () => {
    while (performance.now() < lookupUntil) {
      const t = performance.now();
      await api.gqlOk('queueTicket', lookupQuery, { eventId }, tokens[Math.floor(Math.random() * settings.joins)]);
      lookups.push(performance.now() - t);
    }
  }));
  const lookupStats = stats(lookups, settings.lookupSeconds);
  console.log(`position lookups: ${lookupStats.perSecond}/s, p50 ${lookupStats.p50Ms} ms, p99 ${lookupStats.p99Ms} ms`);
  const memory = await memoryOf(server.pid);

  // The first second catches up on what was earned while the line was being built (at most 5 s' worth, §34).
  const pubsubPerTick = perSecond.slice(1).map((p) => p.pubsub);
  const admittedPerTick = settings.admissionsPerMinute / 60;
  const targets = [
    { target: 'joins ≥ 60% of the trivial query req/s', value: `${round((100 * joinStats.perSecond) / trivialPerSecond)}%`, met: joinStats.perSecond >= 0.6 * trivialPerSecond },
    { target: `raffle of ${settings.joins} tickets < 2 s`, value: `${raffleMs} ms`, met: raffleMs < 2_000 },
    { target: 'position lookup p99 < 20 ms', value: `${lookupStats.p99Ms} ms`, met: lookupStats.p99Ms < 20 },
    {
      target: 'pub/sub messages per tick independent of the number waiting (≈ 1 + admitted per tick)',
      value: `${Math.max(...pubsubPerTick)} max per second after the first, ${lineLength} waiting, ${admittedPerTick} admitted per second`,
      met: Math.max(...pubsubPerTick) <= 2 * (1 + admittedPerTick),
    },
  ];
  printTargets(targets);
  await writeResults(`queue-${machine.date.slice(0, 10)}.json`, {
    machine, settings, trivialPerSecond, joins: { ...joinStats, first5, failures: Object.fromEntries(failures) }, raffleMs, lineLength,
    redisBytesPerTicket: round((memoryAfter - memoryBefore) / lineLength), perSecond, framesAtTick, lookups: lookupStats, serverMemory: memory, targets,
  });
  await Promise.all(clients.map((client) => client.dispose()));
  listener.disconnect();
  redis.disconnect();
  await db.end();
  api.agent.destroy();
  return failures.size ? 1 : 0;
}

async function waitFor(condition: () => boolean | Promise<boolean>, ms: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(everyMs);
  }
}

await runBenchmark(main);
