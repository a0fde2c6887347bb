// npm run bench:deflate — what WebSocket permessage-deflate would cost the fan-out (docs/DECISIONS.md §46). ws
// compresses each message once per socket (every socket has its own zlib context, as the extension requires
// with context takeover), so the cost of one seat-map delta grows with the watchers. This measures it with the
// zlib settings ws uses (raw deflate, windowBits 15, memLevel 8, default level, a sync flush per message) on
// deltas shaped as seatMapChanged sends them: CPU per message per socket, bytes saved, memory per socket.
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { intFromEnv } from './server.js';

const sockets = intFromEnv('BENCH_SOCKETS', 1_000);
const messages = intFromEnv('BENCH_MESSAGES', 50);
const changesPerDelta = intFromEnv('BENCH_CHANGES', 8);

/** A graphql-ws `next` message of seatMapChanged, as the fan-out sends it. */
function delta(version: number): Buffer {
  const changes = Array.from({ length: changesPerDelta }, (_, i) => ({ ordinal: (version * 37 + i * 1_013) % 20_000, status: i % 3 ? 'HELD' : 'AVAILABLE' }));
  return Buffer.from(
    JSON.stringify({ id: 'a1b2c3', type: 'next', payload: { data: { seatMapChanged: { eventId: 'evt_1', fromVersion: version - 1, version, changes } } } }),
  );
}

function deflate(stream: zlib.DeflateRaw, message: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    const onData = (chunk: Buffer) => void (bytes += chunk.length);
    stream.on('data', onData);
    stream.write(message);
    stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      stream.off('data', onData);
      resolve(bytes - 4); // ws drops the 4-byte sync-flush trailer
    });
  });
}

const heapBefore = process.memoryUsage().rss;
const streams = Array.from({ length: sockets }, () => zlib.createDeflateRaw({ windowBits: 15, memLevel: 8, level: zlib.constants.Z_DEFAULT_COMPRESSION }));
let plainBytes = 0;
let sentBytes = 0;
const cpuBefore = process.cpuUsage();
const started = performance.now();
for (let version = 1; version <= messages; version++) {
  const message = delta(version);
  const sizes = await Promise.all(streams.map((stream) => deflate(stream, message)));
  plainBytes += message.length * sockets;
  sentBytes += sizes.reduce((a, b) => a + b, 0);
}
const cpu = process.cpuUsage(cpuBefore);
const wallMs = performance.now() - started;
const rssPerSocket = (process.memoryUsage().rss - heapBefore) / sockets;
const cpuMs = (cpu.user + cpu.system) / 1000;
const sends = sockets * messages;

console.log(`settings: BENCH_SOCKETS ${sockets}, BENCH_MESSAGES ${messages}, BENCH_CHANGES ${changesPerDelta} (changes per delta), Node ${process.version}`);
console.log(`message: ${delta(1).length} bytes uncompressed`);
console.log(`CPU: ${cpuMs.toFixed(0)} ms for ${sends} compressed sends (${((cpuMs * 1000) / sends).toFixed(1)} µs each; wall ${wallMs.toFixed(0)} ms, zlib runs on the thread pool)`);
console.log(`bytes: ${plainBytes} plain, ${sentBytes} compressed (${((100 * sentBytes) / plainBytes).toFixed(0)}%)`);
console.log(`memory: ${(rssPerSocket / 1024).toFixed(0)} KiB of RSS per socket's zlib context`);
console.log(`at 10,000 watchers: ${((cpuMs * 1000 * 10_000) / sends / 1000).toFixed(0)} ms of CPU per delta, ${((rssPerSocket * 10_000) / 2 ** 30).toFixed(2)} GiB of zlib contexts`);
for (const stream of streams) stream.close();
