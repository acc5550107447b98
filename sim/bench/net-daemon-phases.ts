/**
 * bench:net against real daemons: (a) how long one update takes to show at
 * every other daemon, and (b) how many updates a second the five of them
 * commit, and deliver everywhere, when all write at once. Every value is a
 * g-counter, so a watcher's value says how many of a writer's increments it
 * has: value v at a receiver means updates 1..v have arrived.
 */
import { type Daemon, type Watch, increment, watch } from './net-daemons.ts'
import { cpuSeconds, nowMs, ownCpuSeconds, sleep, until } from './net-procs.ts'

export interface LatencyResult {
  /** ms from the writer's HTTP 200 to the change showing on one receiver's event stream; one per update and receiver. */
  perReceiver: number[]
  /** ms until the last of the receivers had it; one per update. */
  allReceivers: number[]
  /** Updates that did not reach every receiver within `timeoutMs`. */
  lost: number
}

/** `updates` increments of one key written one at a time, the writer rotating; every daemon watches the key throughout. */
export async function daemonLatency (daemons: readonly Daemon[], updates: number, warmup = 20, timeoutMs = 5_000): Promise<LatencyResult> {
  const key = 'bench/latency'
  const seenAt = daemons.map(() => [] as number[])
  let changed: () => void = () => {}
  const watches = daemons.map((d, j) => watch(d, key, (value, at) => {
    for (let v = seenAt[j].length; v <= value; v++) seenAt[j][v] ??= at
    changed()
  }))
  const result: LatencyResult = { perReceiver: [], allReceivers: [], lost: 0 }
  try {
    await Promise.all(watches.map(async w => { await w.ready }))
    for (let i = 0; i < warmup + updates; i++) {
      const writer = i % daemons.length
      const v = await increment(daemons[writer], key)
      const committedAt = nowMs()
      const receivers = daemons.map((_, j) => j).filter(j => j !== writer)
      const deadline = committedAt + timeoutMs
      while (!receivers.every(j => seenAt[j][v] !== undefined) && nowMs() < deadline) {
        await new Promise<void>(resolve => { changed = resolve; setTimeout(resolve, 50) })
      }
      if (i < warmup) continue
      if (!receivers.every(j => seenAt[j][v] !== undefined)) { result.lost++; continue }
      const lat = receivers.map(j => seenAt[j][v] - committedAt)
      result.perReceiver.push(...lat)
      result.allReceivers.push(Math.max(...lat))
    }
  } finally {
    for (const w of watches) w.close()
  }
  return result
}

export interface ThroughputOptions {
  seconds: number
  /** POSTs in flight at each daemon. */
  concurrency: number
  /** Keys each daemon writes, round robin (each watched by the four others). */
  keysPerWriter: number
  /** How long to wait, after the writes stop, for the last of them to arrive everywhere. */
  drainLimitMs?: number
}

export interface ThroughputResult {
  seconds: number
  /** Updates committed (HTTP 200) within the window, all writers. */
  written: number
  /** Of the updates committed, those at every other daemon by the end of the window. */
  deliveredInWindow: number
  /** ms after the window until every committed update was at every other daemon; undefined if not within drainLimitMs. */
  drainMs: number | undefined
  failed: number
  /** From a write's HTTP 200 to the change showing on a receiver's event stream, one per update committed in the window and receiver. */
  latencyMs: number[]
  /** CPU seconds used in the window: all daemons, and the bench process (HTTP client and watches). */
  cpu: { daemons: number, bench: number }
}

export async function daemonThroughput (daemons: readonly Daemon[], o: ThroughputOptions): Promise<ThroughputResult> {
  const keys = daemons.map((_, w) => Array.from({ length: o.keysPerWriter }, (_, k) => `bench/tp/${w}/${k}`))
  // watches[w][k]: the watches of writer w's key k, one on each other daemon; seenAt[w][k][r][v]: when watch r first showed value v.
  const seenAt = keys.map(ks => ks.map(() => daemons.slice(1).map(() => [] as number[])))
  const watches: Watch[][][] = keys.map((ks, w) => ks.map((key, k) => daemons.filter(d => d.index !== w).map((d, r) => {
    const seen = seenAt[w][k][r]
    return watch(d, key, (value, at) => { for (let v = seen.length; v <= value; v++) seen[v] ??= at })
  })))
  const all = watches.flat(2)
  const committed = keys.map(ks => ks.map(() => 0)) // the highest value each writer's POSTs returned, per key
  const committedAt = keys.map(ks => ks.map(() => [] as number[])) // [w][k][v]: when the POST that made value v answered
  const everywhere = (): number => watches.reduce((sum, ws) => sum + ws.reduce((s, byKey) => s + Math.min(...byKey.map(w => w.value)), 0), 0)
  const allArrived = (): boolean => watches.every((ws, w) => ws.every((byKey, k) => byKey.every(x => x.value >= committed[w][k])))
  try {
    await Promise.all(all.map(async w => { await w.ready }))
    // Every key exists everywhere before the clock starts.
    await Promise.all(daemons.map(async (d, w) => { for (const [k, key] of keys[w].entries()) committed[w][k] = await increment(d, key) }))
    await until('the first write of every key to reach every watcher', allArrived, 15_000)
    const base = everywhere()

    const cpuBefore = await cpuOf(daemons)
    const benchBefore = ownCpuSeconds()
    const start = nowMs()
    const end = start + o.seconds * 1000
    let written = 0; let failed = 0
    const next = daemons.map(() => 0)
    const worker = async (w: number): Promise<void> => {
      while (nowMs() < end) {
        const k = next[w]++ % o.keysPerWriter
        try {
          const v = await increment(daemons[w], keys[w][k])
          const at = nowMs()
          if (v > committed[w][k]) committed[w][k] = v
          if (at <= end) { written++; committedAt[w][k][v] = at }
        } catch {
          failed++
        }
      }
    }
    const workers = daemons.flatMap((_, w) => Array.from({ length: o.concurrency }, async () => { await worker(w) }))
    await sleep(end - nowMs())
    const deliveredInWindow = everywhere() - base
    const cpu = { daemons: await cpuOf(daemons) - cpuBefore, bench: ownCpuSeconds() - benchBefore }
    await Promise.all(workers)
    let drainMs: number | undefined
    try {
      await until('every committed update to arrive everywhere', allArrived, o.drainLimitMs ?? 20_000)
      drainMs = nowMs() - end
    } catch { /* reported as undefined */ }
    const latencyMs: number[] = []
    for (const [w, byKey] of committedAt.entries()) {
      for (const [k, times] of byKey.entries()) {
        times.forEach((at, v) => { for (const seen of seenAt[w][k]) if (seen[v] !== undefined) latencyMs.push(seen[v] - at) })
      }
    }
    return { seconds: o.seconds, written, deliveredInWindow: Math.min(deliveredInWindow, written), drainMs, failed, latencyMs, cpu }
  } finally {
    for (const w of all) w.close()
  }
}

async function cpuOf (daemons: readonly Daemon[]): Promise<number> {
  return (await Promise.all(daemons.map(async d => await cpuSeconds(d.child.proc.pid)))).reduce((a, b) => a + b, 0)
}
