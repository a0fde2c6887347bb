// The surge's self-contained HTML report: the invariants, the figures, and three charts drawn as inline SVG (no
// script, no external asset), so that the file can be mailed or attached to a CI run as it is.
import type { SurgeResult } from './surge.js';

interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A line chart of `series` over seconds since the on-sale, with the faults marked. */
function chart(title: string, unit: string, series: Series[], faults: SurgeResult['faults']): string {
  const [width, height, left, bottom] = [760, 240, 56, 28];
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const [x0, x1] = [Math.min(0, ...xs), Math.max(1, ...xs)];
  const y1 = Math.max(1, ...ys) * 1.05;
  const px = (x: number) => left + ((x - x0) / (x1 - x0)) * (width - left - 10);
  const py = (y: number) => height - bottom - (y / y1) * (height - bottom - 10);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * y1);
  const lines = series
    .filter((s) => s.points.length)
    .map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="1.6" points="${s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
  const marks = faults.map(
    (f) => `<line x1="${px(f.t)}" x2="${px(f.t)}" y1="10" y2="${height - bottom}" stroke="#c00" stroke-dasharray="4 3"/><text x="${px(f.t) + 4}" y="22" fill="#c00" font-size="11">${escape(f.what)}</text>`,
  );
  const legend = series.map((s, i) => `<text x="${left + 10 + i * 150}" y="${height - 4}" fill="${s.color}" font-size="12">■ ${escape(s.name)}</text>`);
  return `<h2>${escape(title)}</h2>
<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">
${ticks.map((y) => `<line x1="${left}" x2="${width - 10}" y1="${py(y)}" y2="${py(y)}" stroke="#eee"/><text x="${left - 6}" y="${py(y) + 4}" text-anchor="end" font-size="11">${Math.round(y)}</text>`).join('')}
<text x="${width - 10}" y="${height - bottom + 14}" text-anchor="end" font-size="11">seconds since the on-sale → ${Math.round(x1)} s</text>
<text x="4" y="12" font-size="11">${escape(unit)}</text>
${lines.join('\n')}
${marks.join('\n')}
${legend.join('')}
</svg>`;
}

const table = (rows: (string | number)[][], head: string[]) =>
  `<table><tr>${head.map((h) => `<th>${escape(h)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${r.map((c) => `<td>${escape(String(c))}</td>`).join('')}</tr>`).join('')}</table>`;

/** The report of `result`, run with `settings` on `machine`. */
export function renderReport(result: SurgeResult, settings: Record<string, unknown>, machine: Record<string, unknown>, targets: { target: string; value: string; met: boolean }[]): string {
  const latency = (op: string, p: 'p50' | 'p99', color: string): Series => ({
    name: `${op === 'holdBestAvailable' ? 'hold' : 'confirm'} ${p}`,
    color,
    points: result.latencyOverTime.filter((l) => l.op === op).map((l) => [l.t, l[p]]),
  });
  const allHeld = Object.values(result.invariants).every(Boolean);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Onsale surge ${escape(String(machine.date ?? ''))}</title>
<style>body{font-family:sans-serif;max-width:800px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}.ok{color:#070}.bad{color:#c00;font-weight:bold}</style></head>
<body>
<h1>Onsale surge: ${allHeld ? '<span class="ok">every invariant held</span>' : '<span class="bad">AN INVARIANT FAILED</span>'}</h1>
<p>${escape(result.eventId)}, ${result.capacity} seats. ${result.sellOutSeconds === null ? `Not sold out after ${result.saleSeconds} s.` : `Sold out ${result.sellOutSeconds} s after the on-sale.`}
${result.holdsPerSecond} holds/s, ${result.bookingsPerSecond} bookings/s; ${result.deltas} seat-map deltas delivered to the watchers.</p>
${Object.keys(result.unsold).length ? `<p>Where the unsold seats were when the sale stopped: ${escape(JSON.stringify(result.unsold))}</p>` : ''}
<p>What gateway-1 measured itself: ${escape(JSON.stringify(result.server))}</p>
<h2>Invariants</h2>
${table(Object.entries(result.invariants).map(([name, ok]) => [name, ok ? 'held' : 'FAILED']), ['invariant', 'result'])}
<h2>Targets</h2>
${table(targets.map((t) => [t.target, t.value, t.met ? 'met' : 'NOT MET']), ['target', 'measured', ''])}
${chart('Seats over time', 'seats', [
  { name: 'sold', color: '#1565c0', points: result.samples.map((s) => [s.t, s.sold]) },
  { name: 'held', color: '#ef6c00', points: result.samples.map((s) => [s.t, s.held]) },
  { name: 'available', color: '#2e7d32', points: result.samples.map((s) => [s.t, s.available]) },
], result.faults)}
${chart('Latency at the fans, per second', 'ms', [latency('holdBestAvailable', 'p50', '#80b0e0'), latency('holdBestAvailable', 'p99', '#1565c0'), latency('confirmBooking', 'p50', '#f0b070'), latency('confirmBooking', 'p99', '#ef6c00')], result.faults)}
${chart('Admissions over time', 'fans admitted', [{ name: 'admitted', color: '#6a1b9a', points: result.samples.map((s) => [s.t, s.admitted]) }], result.faults)}
<h2>Operations (at the fans)</h2>
${table(Object.entries(result.operations).map(([op, s]) => [op, s.count, s.p50Ms, s.p99Ms, s.maxMs]), ['operation', 'count', 'p50 ms', 'p99 ms', 'max ms'])}
<h2>Errors by code</h2>
${table(Object.entries(result.errors).map(([key, n]) => [key, n]), ['operation and code', 'count'])}
<h2>How the fans ended</h2>
${table(Object.entries(result.outcomes).map(([key, n]) => [key, n]), ['outcome', 'fans'])}
<h2>Processes (peak RSS)</h2>
${table(Object.entries(result.peakRssMB).map(([name, mb]) => [name, mb]), ['process', 'MB'])}
<p>Reconnects ${result.reconnects}, requests moved to another gateway ${result.failovers}, watcher seat-map reads ${result.refetches}.
The load generator's own event-loop delay, p99: ${result.loadGeneratorLoopDelayP99Ms} ms (part of every latency measured there).</p>
<h2>Settings and machine</h2>
<pre>${escape(JSON.stringify({ settings, machine }, null, 2))}</pre>
</body></html>
`;
}
