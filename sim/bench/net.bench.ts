/**
 * Network figures (`npm run bench:net`), issue 4 §7: five real daemons on
 * 127.0.0.1, against five plain gossipsub nodes publishing the same payloads.
 * Targets (figures, not a test): one update at all peers p50 ≤ 20 ms and
 * p99 ≤ 100 ms; ≥ 20,000 updates/s network-wide.
 *   (a) latency: updates written one at a time on a rotating writer, from the
 *       writer's HTTP 200 to the change on each other daemon's event stream;
 *   (b) throughput: every daemon takes concurrent keep-alive POSTs for a few
 *       seconds; updates committed, and updates at all other daemons;
 *   (c) the same two with raw gossipsub (net-gossip.ts);
 *   (d) (a) and (b) again with the sync journal off in the daemons
 *       (journal-off.ts preloaded): the journal's overhead, issue 10 §4.
 *       `--journal-only R`: only (a) and (b) of the daemons, with the journal
 *       on and off alternately, R times each, and the medians (a shared
 *       machine's noise is larger than the journal's cost).
 * Flags: --updates N (latency samples, 200), --seconds S (throughput window, 5),
 * --concurrency C (POSTs in flight per daemon, 32), --keys K (keys per writer,
 * 10), --ahead A (gossip messages a node may publish beyond what it has
 * received from the slowest other node, 100), --cpu-prof DIR
 * (CPU profiles of the daemons and gossip nodes into DIR).
 */
import { cpus, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { encodeMessage } from '../../core/sync/messages.ts'
import { MemoryStorage } from '../../core/storage.ts'
import { ReplicaStore } from '../../core/replica-store.ts'
import { createRegistry } from '../../contracts/index.ts'
import { type LatencyResult, daemonLatency, daemonThroughput } from './net-daemon-phases.ts'
import { startDaemons, stopDaemons } from './net-daemons.ts'
import { gossipLatency, gossipThroughput, startGossipNodes, stopGossipNodes } from './net-gossip.ts'
import { embeddedRate, singleDaemonRate } from './net-breakdown.ts'
import { cleanUpOnExit, cleanup, quantile } from './net-procs.ts'

const PEERS = 5
const { values: flags } = parseArgs({
  options: {
    updates: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    keys: { type: 'string', default: '10' },
    ahead: { type: 'string', default: '100' },
    'cpu-prof': { type: 'string' },
    'journal-only': { type: 'string' }
  }
})
const num = (name: keyof typeof flags): number => {
  const n = Number(flags[name])
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number, got ${flags[name]}`)
  return n
}
const updates = num('updates'); const seconds = num('seconds'); const concurrency = num('concurrency'); const keys = num('keys'); const ahead = num('ahead')

const out = (line = ''): void => { process.stdout.write(line + '\n') }
const ms = (x: number): string => Number.isNaN(x) ? '-' : x.toFixed(1)
const rate = (x: number): string => Math.round(x).toLocaleString('en')
const ratio = (a: number, b: number): string => (b === 0 || !Number.isFinite(a / b)) ? '-' : `${(a / b).toFixed(2)}×`
const verdict = (ok: boolean): string => ok ? 'met' : 'NOT MET'
const elapsed = (since: number): string => `${((performance.now() - since) / 1000).toFixed(1)} s`

/** The push a daemon publishes for one increment of the latency key: what the raw gossip nodes publish too (after a 14-byte header). */
async function pushPayload (): Promise<Uint8Array> {
  const store = await ReplicaStore.open({ storage: new MemoryStorage(), registry: createRegistry() })
  const r = await store.update('bench/latency', 'g-counter', 'inc', [1])
  await store.close()
  return encodeMessage({ type: 'push', items: [{ key: r.key, contract: r.contract, delta: r.delta! }] })
}

interface Side { latency: LatencyResult, written: number, delivered: number, drainMs: number | undefined, failed: number, loadLatency: number[], cpu: number, benchCpu: number }

const nodeArgs = flags['cpu-prof'] === undefined ? undefined : ['--cpu-prof', `--cpu-prof-dir=${flags['cpu-prof']}`]
const JOURNAL_OFF = ['--import', fileURLToPath(new URL('./journal-off.ts', import.meta.url))]

async function measureDaemons (journal = true): Promise<Side> {
  let t = performance.now()
  const daemons = await startDaemons(PEERS, { nodeArgs: journal ? nodeArgs : [...nodeArgs ?? [], ...JOURNAL_OFF] })
  out(`daemons: ${PEERS} started and connected in ${elapsed(t)}`)
  try {
    t = performance.now()
    const latency = await daemonLatency(daemons, updates)
    out(`daemons: latency, ${updates} updates, ${elapsed(t)}`)
    t = performance.now()
    const tp = await daemonThroughput(daemons, { seconds, concurrency, keysPerWriter: keys })
    out(`daemons: throughput, ${seconds} s window + drain, ${elapsed(t)}`)
    return { latency, written: tp.written, delivered: tp.deliveredInWindow, drainMs: tp.drainMs, failed: tp.failed, loadLatency: tp.latencyMs, cpu: tp.cpu.daemons, benchCpu: tp.cpu.bench }
  } finally {
    await stopDaemons(daemons)
  }
}

async function measureGossip (payload: Uint8Array): Promise<Side> {
  let t = performance.now()
  const nodes = await startGossipNodes(PEERS, payload, nodeArgs)
  out(`gossipsub: ${PEERS} nodes started and meshed in ${elapsed(t)}`)
  try {
    t = performance.now()
    const latency = await gossipLatency(nodes, updates)
    out(`gossipsub: latency, ${updates} messages, ${elapsed(t)}`)
    t = performance.now()
    const tp = await gossipThroughput(nodes, seconds, ahead)
    out(`gossipsub: throughput, ${seconds} s window + drain, ${elapsed(t)}`)
    return { latency, written: tp.published, delivered: tp.deliveredInWindow, drainMs: tp.drainMs, failed: tp.failed, loadLatency: tp.latencyMs, cpu: tp.cpu.nodes, benchCpu: tp.cpu.bench }
  } finally {
    await stopGossipNodes(nodes)
  }
}

function report (d: Side, g: Side, payloadBytes: number): void {
  const p = (s: Side, q: number): number => quantile(s.latency.perReceiver, q)
  const pAll = (s: Side, q: number): number => quantile(s.latency.allReceivers, q)
  const pLoad = (s: Side, q: number): number => quantile(s.loadLatency, q)
  const row = (name: string, a: string, b: string, r: string, target = '', v = ''): void => { out(`| ${name} | ${a} | ${b} | ${r} | ${target} | ${v} |`) }
  const perSec = (x: number): number => x / seconds
  out()
  out(`| figure | monoidb daemons | raw gossipsub | daemons ÷ gossipsub | target | |`)
  out('|---|---:|---:|---:|---:|---|')
  const section = (name: string): void => { out(`| **${name}** | | | | | |`) }
  section(`(a) one update at a time (${updates}, writer rotating; ms)`)
  row('p50, each receiver', ms(p(d, 0.5)), ms(p(g, 0.5)), ratio(p(d, 0.5), p(g, 0.5)), '≤ 20', verdict(p(d, 0.5) <= 20))
  row('p99, each receiver', ms(p(d, 0.99)), ms(p(g, 0.99)), ratio(p(d, 0.99), p(g, 0.99)), '≤ 100', verdict(p(d, 0.99) <= 100))
  row('p50 / p99, last of the 4 receivers', `${ms(pAll(d, 0.5))} / ${ms(pAll(d, 0.99))}`, `${ms(pAll(g, 0.5))} / ${ms(pAll(g, 0.99))}`, `${ratio(pAll(d, 0.5), pAll(g, 0.5))} / ${ratio(pAll(d, 0.99), pAll(g, 0.99))}`)
  row('lost (not everywhere within 5 s)', String(d.latency.lost), String(g.latency.lost), '')
  section(`(b) all ${PEERS} writing at once (${seconds} s window)`)
  row('updates/s written (HTTP 200; gossip: publish resolved)', rate(perSec(d.written)), rate(perSec(g.written)), ratio(d.written, g.written))
  row('updates/s at all other peers within the window', rate(perSec(d.delivered)), rate(perSec(g.delivered)), ratio(d.delivered, g.delivered), '≥ 20,000', verdict(perSec(d.delivered) >= 20_000))
  row('after the window, until all written were everywhere (ms)', d.drainMs === undefined ? 'not within 20 s' : ms(d.drainMs), g.drainMs === undefined ? 'not all delivered' : ms(g.drainMs), '')
  row('p50 / p99 under this load, each receiver (ms)', `${ms(pLoad(d, 0.5))} / ${ms(pLoad(d, 0.99))}`, `${ms(pLoad(g, 0.5))} / ${ms(pLoad(g, 0.99))}`, `${ratio(pLoad(d, 0.5), pLoad(g, 0.5))} / ${ratio(pLoad(d, 0.99), pLoad(g, 0.99))}`)
  row('CPU in the window, cores: peers / bench process', `${(d.cpu / seconds).toFixed(2)} / ${(d.benchCpu / seconds).toFixed(2)}`, `${(g.cpu / seconds).toFixed(2)} / ${(g.benchCpu / seconds).toFixed(2)}`, '')
  row('failed writes / publishes', String(d.failed), String(g.failed), '')
  out()
  out(`Payload: gossip messages are the ${payloadBytes}-byte push a daemon sends for one increment, plus a 14-byte header. ` +
    `Daemons: ${keys} g-counter keys per writer, ${concurrency} POSTs in flight per daemon; gossip: each node at most ${ahead} messages ahead of what it has from the slowest other node.`)
}

/** A Side whose figures are the medians of `sides` (latency samples pooled). */
function medianSide (sides: readonly Side[]): Side {
  const med = (f: (s: Side) => number): number => [...sides.map(f)].sort((a, b) => a - b)[Math.floor(sides.length / 2)]
  const pooled = sides.flatMap(s => s.latency.perReceiver)
  const cpuPer = med(s => s.cpu / Math.max(1, s.written))
  const written = med(s => s.written)
  return { ...sides[0], latency: { ...sides[0].latency, perReceiver: pooled }, written, delivered: med(s => s.delivered), cpu: cpuPer * written }
}

/** The journal's overhead: the daemons with it (as in the table) over the daemons without it. */
function journalReport (on: Side, off: Side): void {
  const p = (s: Side, q: number): number => quantile(s.latency.perReceiver, q)
  const cpuPerUpdate = (s: Side): number => s.cpu / Math.max(1, s.written) * 1e6
  out()
  out('| figure | journal on | journal off | on ÷ off |')
  out('|---|---:|---:|---:|')
  out(`| (a) p50 / p99, each receiver (ms) | ${ms(p(on, 0.5))} / ${ms(p(on, 0.99))} | ${ms(p(off, 0.5))} / ${ms(p(off, 0.99))} | ${ratio(p(on, 0.5), p(off, 0.5))} / ${ratio(p(on, 0.99), p(off, 0.99))} |`)
  out(`| (b) updates/s at all other peers | ${rate(on.delivered / seconds)} | ${rate(off.delivered / seconds)} | ${ratio(on.delivered, off.delivered)} |`)
  out(`| (b) daemons' CPU per update written (µs) | ${cpuPerUpdate(on).toFixed(0)} | ${cpuPerUpdate(off).toFixed(0)} | ${ratio(cpuPerUpdate(on), cpuPerUpdate(off))} |`)
}

async function main (): Promise<void> {
  cleanUpOnExit()
  const started = performance.now()
  // The load average shows whether something else was using the machine: every figure here is CPU-bound.
  out(`bench:net: ${PEERS} peers on 127.0.0.1; Node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}; load average ${loadavg().map(x => x.toFixed(2)).join(' ')}`)
  try {
    if (flags['journal-only'] !== undefined) {
      const rounds = num('journal-only')
      const on: Side[] = []
      const off: Side[] = []
      for (let r = 0; r < rounds; r++) {
        on.push(await measureDaemons(true))
        off.push(await measureDaemons(false))
      }
      out(`\n(d) the sync journal on and off, alternately, ${rounds} times each: medians`)
      journalReport(medianSide(on), medianSide(off))
      out(`\ntotal ${elapsed(started)}; load average now ${loadavg().map(x => x.toFixed(2)).join(' ')}`)
      return
    }
    const payload = await pushPayload()
    const d = await measureDaemons()
    const g = await measureGossip(payload)
    report(d, g, payload.length)
    out('\n(d) the sync journal: the daemons again with it off (journal-off.ts preloaded)')
    const off = await measureDaemons(false)
    journalReport(d, off)
    // Where (b)'s time goes: the HTTP write path alone, and the peers without HTTP or process switching.
    let t = performance.now()
    const single = await singleDaemonRate({ seconds, concurrency, keysPerWriter: keys })
    out(`\nbreakdown: one daemon, no peers, the same load as one writer: ${rate(single)} updates/s (${elapsed(t)})`)
    t = performance.now()
    const embedded = await embeddedRate(PEERS, { seconds, concurrency, keysPerWriter: keys })
    out(`breakdown: ${PEERS} peers embedded in one process (createNode, replicate-all), all writing: ${rate(embedded.rate)} updates/s, ` +
      `${embedded.allDelivered ? 'every write then on every peer' : 'NOT every write on every peer within 20 s'} (${elapsed(t)})`)
    out(`\ntotal ${elapsed(started)}; load average now ${loadavg().map(x => x.toFixed(2)).join(' ')}`)
  } finally {
    await cleanup()
  }
}

await main()
