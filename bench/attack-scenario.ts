/**
 * The attack benchmark's scenario (issue 11 §4), run by `npm run bench:attack`
 * (bench/attack.bench.ts) and, shorter, by test/e2e/attack-bench.test.ts:
 * two honest daemons A and B (real processes, replicate-all), A writing at a
 * steady rate, and a hostile peer process (test/helpers/hostile-peer.ts)
 * flooding both. Measured without and with the attack:
 * - honest write latency: A's acknowledgement of an increment → B's event
 *   stream showing it;
 * - GET /v1/status latency on A and B (one call every 50 ms);
 * - convergence: `keys` new keys written on A → B holds them all;
 * - event-loop delay on A and B (their /metrics `monoidb_event_loop_lag_seconds`,
 *   scraped every second: the worst since the last scrape).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type DaemonFixtures, type DaemonProcess, daemonFixtures, untilMeshed } from '../test/helpers/daemon-fixtures.ts'
import { until } from '../test/helpers/node-fixtures.ts'
import { parseMetrics } from '../test/helpers/prometheus.ts'

const HOSTILE = fileURLToPath(new URL('../test/helpers/hostile-peer.ts', import.meta.url))
/** What the hostile peer floods with by default: garbage, digests, session requests, wants, forged and heavy pushes. */
export const DEFAULT_MODES = 'garbage,gossip-digests,wants,heavy-push,forged,digests,ranges,sums'

export interface AttackOptions {
  /** Seconds each latency phase lasts. */
  seconds: number
  /** Honest writes a second on A. */
  writeRate: number
  /** Keys written on A for the convergence figure. */
  convergeKeys: number
  /** Messages a second per hostile mode. */
  attackRate: number
  modes: string
  log?: (line: string) => void
  /** The daemons' --peer-ban-seconds (default: theirs, 30). */
  banSeconds?: number
  /** Write CPU profiles of the daemons here (they are written when the daemons stop: SIGTERM, not SIGKILL). */
  cpuProfDir?: string
}

export interface Quantiles { n: number, p50: number, p99: number, max: number }
export interface Phase {
  write: Quantiles
  /** Writes B never showed within the phase (plus 5 s). */
  missing: number
  status: Quantiles
  /** Event-loop delay on A and B: the worst of each scrape, ms. */
  loopMaxMs: number
  loopP99Ms: number
  /** ms from the first convergence write on A until B held every key. */
  convergeMs: number
  /** CPU time A and B used during the latency phase, as % of one core (and the hostile peer's, if running). */
  cpu: { a: number, b: number, hostile?: number }
}
export interface AttackFigures {
  quiet: Phase
  attacked: Phase
  /** Convergence without the attack (the slower of before and after it), and the ratio under attack. */
  convergeWithoutMs: number
  convergeRatio: number
  /** What the hostile peer reported. */
  hostile: Record<string, unknown>
  /** What A and B refused and banned over the run (their host counters, summed). */
  refused: Record<string, number>
}

export function quantiles (xs: readonly number[]): Quantiles {
  const s = [...xs].sort((x, y) => x - y)
  const q = (p: number): number => s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]
  return { n: s.length, p50: q(0.5), p99: q(0.99), max: s.length === 0 ? NaN : s[s.length - 1] }
}

/** CPU seconds a process has used so far (Linux /proc; 0 elsewhere). */
function cpuSeconds (pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) / 100
  } catch { return 0 }
}

async function loopLag (d: DaemonProcess): Promise<{ max: number, p99: number }> {
  const res = await fetch(`${d.info.api}/metrics`, { headers: { authorization: `Bearer ${d.info.token}` } })
  const fam = parseMetrics(await res.text()).get('monoidb_event_loop_lag_seconds')
  const v = (stat: string): number => 1000 * (fam?.samples.find(s => s.labels.stat === stat)?.value ?? 0)
  return { max: v('max'), p99: v('p99') }
}

/** Writes at `rate` on A for `seconds`, timing each write from A's ack to B's event; samples status and event loops meanwhile. */
async function latencyPhase (a: DaemonProcess, b: DaemonProcess, key: string, o: AttackOptions, hostile?: ChildProcess): Promise<Omit<Phase, 'convergeMs'>> {
  const pids = [a.proc.pid, b.proc.pid, hostile?.pid]
  const cpu0 = pids.map(cpuSeconds)
  const t0 = performance.now()
  const acked = new Map<number, number>()
  const seen = new Map<number, number>()
  const stop = new AbortController()
  let watching = false
  const watch = (async () => {
    try {
      for await (const ev of b.client.watch(key, { signal: stop.signal })) {
        watching = true
        const at = performance.now()
        const v = typeof ev.value === 'number' ? ev.value : 0
        for (let i = v; i > 0 && !seen.has(i); i--) seen.set(i, at)
      }
    } catch { /* aborted */ }
  })()
  await until('B\'s event stream to open', () => watching, 10_000)
  const base = Number((await a.client.get(key).catch(() => ({ value: 0 }))).value ?? 0)
  await until('B to hold A\'s counter', () => seen.has(base) || base === 0, 10_000)

  const statusTimes: number[] = []
  const loops: Array<{ max: number, p99: number }> = []
  let sampling = true
  await Promise.all([loopLag(a), loopLag(b)]) // resets the monitors
  const statusLoop = (async () => {
    for (let i = 0; sampling; i++) {
      const t0 = performance.now()
      await (i % 2 === 0 ? a : b).client.status().catch(() => {})
      statusTimes.push(performance.now() - t0)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })()
  const loopLoop = (async () => {
    while (sampling) {
      await new Promise(resolve => setTimeout(resolve, 1000))
      loops.push(...await Promise.all([loopLag(a), loopLag(b)]).catch(() => []))
    }
  })()

  const start = performance.now()
  const total = Math.round(o.seconds * o.writeRate)
  for (let i = 1; i <= total; i++) {
    const due = start + (i - 1) * 1000 / o.writeRate
    const wait = due - performance.now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    await a.client.update(key, 'g-counter', 'inc', [1])
    acked.set(base + i, performance.now())
  }
  await until('B to show every write', () => seen.has(base + total), 5_000).catch(() => {})
  sampling = false
  stop.abort()
  const pct = (i: number): number => Math.round(100 * (cpuSeconds(pids[i]) - cpu0[i]) / ((performance.now() - t0) / 1000))
  const cpu = { a: pct(0), b: pct(1), ...(hostile === undefined ? {} : { hostile: pct(2) }) }
  await Promise.all([statusLoop, loopLoop, watch])
  const latencies: number[] = []
  let missing = 0
  for (const [v, t] of acked) {
    const s = seen.get(v)
    if (s === undefined) missing++
    else latencies.push(Math.max(0, s - t))
  }
  return {
    write: quantiles(latencies),
    missing,
    status: quantiles(statusTimes),
    loopMaxMs: Math.max(0, ...loops.map(l => l.max)),
    loopP99Ms: Math.max(0, ...loops.map(l => l.p99)),
    cpu
  }
}

/** The host counters of refusals and bans, from the daemon's /metrics. */
async function hostCounters (d: DaemonProcess): Promise<Record<string, number>> {
  const res = await fetch(`${d.info.api}/metrics`, { headers: { authorization: `Bearer ${d.info.token}` } })
  const fam = parseMetrics(await res.text()).get('monoidb_stats_total')
  const names = ['gossipRejected', 'gossipGraylisted', 'gossipOverRate', 'framesRefused', 'streamsRefused', 'refusalBans']
  return Object.fromEntries(names.map(n => [n, fam?.samples.find(s => s.labels.group === 'host' && s.labels.name === n)?.value ?? 0]))
}

/** Writes `n` new keys on A (8 at a time); resolves with the ms until B holds them all. */
async function converge (a: DaemonProcess, b: DaemonProcess, tag: string, n: number): Promise<number> {
  const before = (await b.client.status()).keys
  const start = performance.now()
  for (let i = 0; i < n; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, n - i) }, async (_, j) => { await a.client.update(`converge/${tag}/${i + j}`, 'g-counter', 'inc', [1]) }))
  }
  await until(`B to hold A's ${tag} keys`, async () => (await b.client.status()).keys >= before + n, 60_000)
  return performance.now() - start
}

export async function runAttack (o: AttackOptions): Promise<AttackFigures> {
  const log = o.log ?? (() => {})
  const fx: DaemonFixtures = await daemonFixtures('bench-attack')
  let hostile: ChildProcess | undefined
  try {
    const env = o.cpuProfDir === undefined ? undefined : { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${o.cpuProfDir}` }
    const args = ['--replicate-all', '--log-level', 'warn', ...(o.banSeconds === undefined ? [] : ['--peer-ban-seconds', String(o.banSeconds)])]
    const a = await fx.start({ args, env })
    const b = await fx.start({ args, bootstrap: [a.info.multiaddrs[0]], env })
    await untilMeshed([a, b], 15_000)
    log('A and B connected')

    const quietPhase = await latencyPhase(a, b, 'bench/quiet', o)
    const quiet: Phase = { ...quietPhase, convergeMs: await converge(a, b, 'before', o.convergeKeys) }
    log(`without the attack: ${JSON.stringify(quiet)}`)

    // The flood lasts the whole attacked phase and its convergence (it is stopped after).
    const flood = spawn(process.execPath, [HOSTILE, '--target', a.info.multiaddrs[0], '--target', b.info.multiaddrs[0],
      '--mode', o.modes, '--rate', String(o.attackRate), '--seconds', String(o.seconds * 4 + 60)], { stdio: ['ignore', 'pipe', 'pipe'] })
    hostile = flood
    let out = ''
    flood.stdout!.on('data', d => { out += String(d) })
    flood.stderr!.on('data', d => { out += String(d) })
    await until('the hostile peer to connect', () => out.includes('"ready":true') || flood.exitCode !== null, 20_000)
    if (!out.includes('"ready":true')) throw new Error(`the hostile peer did not start: ${out}`)
    // Let the flood get going before measuring.
    await new Promise(resolve => setTimeout(resolve, 1000))
    const attackedPhase = await latencyPhase(a, b, 'bench/attacked', o, flood)
    const attacked: Phase = { ...attackedPhase, convergeMs: await converge(a, b, 'attacked', o.convergeKeys) }
    log(`under attack: ${JSON.stringify(attacked)}`)
    flood.kill('SIGKILL')
    const after = await converge(a, b, 'after', o.convergeKeys)
    log(`convergence after the attack: ${after.toFixed(0)} ms`)
    const convergeWithoutMs = Math.max(quiet.convergeMs, after)
    const hostileReport = out.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>).at(-1) ?? {}
    const refused: Record<string, number> = {}
    for (const d of [a, b]) {
      for (const [name, v] of Object.entries(await hostCounters(d))) refused[name] = (refused[name] ?? 0) + v
    }
    if (o.cpuProfDir !== undefined) await Promise.all([a.stop(), b.stop()])
    return { quiet, attacked, convergeWithoutMs, convergeRatio: attacked.convergeMs / convergeWithoutMs, hostile: hostileReport, refused }
  } finally {
    if (hostile !== undefined && hostile.exitCode === null && hostile.signalCode === null) hostile.kill('SIGKILL')
    await fx.cleanup()
  }
}
