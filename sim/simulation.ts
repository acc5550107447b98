/**
 * One simulated run, a pure function of its options (above all the seed):
 * build the cluster, schedule the workload and the faults, run until the last
 * fault has ended (the heal), then until the replicas converge (or a deadline
 * passes) and a quiet period after, and check the result. It measures what the
 * issue asks: time and anti-entropy rounds from heal to convergence, traffic
 * per peer, and bytes received after the heal over the ideal (the deltas each
 * peer was missing at the heal). With `partial`, some peers keep only some
 * keys (sim/interests.ts): they write only those, want them at random times
 * and after each restart, and are checked on those alone.
 */
import { createHash } from 'node:crypto'
import { encode } from '../core/codec.ts'
import type { SyncConfig } from '../core/sync/types.ts'
import { createRegistry } from '../contracts/index.ts'
import { checkReplicas, stateOf } from './checker.ts'
import { Cluster, type EngineFactory, peerName } from './cluster.ts'
import { ALL_FAULTS, type FaultSchedule, type FaultSpec, drawSchedule, formatFaults, lastFaultEnd } from './faults.ts'
import { drawInterests, wantBatches } from './interests.ts'
import { Random } from './random.ts'
import { type PlannedKey, WriteLog, keyContracts, planKeys, randomOp } from './workload.ts'

/** Virtual time 0 is this wall-clock time: in the past, so stamps never look ahead of a real clock. */
export const EPOCH_MS = Date.UTC(2024, 0, 1)

export interface SimOptions {
  seed: number
  peers: number
  keys: number
  /** Ops issued over the workload window (default 2 per key). */
  ops?: number
  /** Contract ids the keys use (default: every built-in; see workload.ts). */
  contracts?: string[]
  /** Which faults to draw from the seed (default: all of them). Ignored when `schedule` is given. */
  faults?: FaultSpec
  /** An exact fault schedule (fast-check's, or one replayed from --schedule). */
  schedule?: FaultSchedule
  /** Workload window (ms virtual): ops and faults happen in [0, horizon). Default 3000. */
  horizonMs?: number
  /** Give up converging this long after the heal (ms virtual). Default 120,000. */
  deadlineMs?: number
  /** Keep running this long after convergence before checking (ms virtual). Default 2 anti-entropy periods. */
  quietMs?: number
  /** Fraction of the peers that keep only some keys (partial replication; see sim/interests.ts). Default 0. */
  partial?: number
  /** Compute the ideal bytes at the heal (costs a pass over every key on every peer). Default true. */
  measureIdeal?: boolean
  config?: Partial<SyncConfig>
  createEngine: EngineFactory
}

export interface SimResult {
  seed: number
  peers: number
  keys: number
  schedule: FaultSchedule
  /** The partial peers and how many keys each keeps (empty: every peer replicates all). */
  partial: Array<{ peer: number, keys: number }>
  converged: boolean
  /** Problems the checker found (empty: passed). */
  problems: string[]
  healAt: number
  convergedAt?: number
  /** Anti-entropy periods from heal to convergence, rounded up. */
  rounds?: number
  endAt: number
  ops: { acked: number, unacked: number, noops: number }
  /** Whole run, mean per peer. */
  messagesPerPeer: number
  bytesPerPeer: number
  /** From heal to convergence: bytes received, total over all peers and the most any one peer received. */
  receivedAfterHeal: number
  maxReceivedAfterHeal: number
  /** From heal to convergence: how much each engine counter grew, summed over peers (`perType.ranges.bytesReceived`, `sessionsStarted`, …). */
  engineAfterHeal: Record<string, number>
  /** Sum over peers of the sizes of the deltas each lacked at the heal. */
  idealBytes?: number
  /** Keys some peer lacked something of at the heal. */
  divergentKeys?: number
  network: { dropped: number, duplicated: number, unreachable: number }
  engine: Record<string, number>
  /** SHA-256 of every replica's final states: equal across replays. */
  stateDigest: string
}

export async function simulate (o: SimOptions): Promise<SimResult> {
  const rng = new Random(o.seed)
  const horizon = o.horizonMs ?? 3000
  const antiEntropyMs = o.config?.antiEntropyMs ?? 1000
  const schedule = o.schedule ?? drawSchedule(rng.fork('faults'), o.faults ?? ALL_FAULTS, o.peers, horizon)
  const registry = createRegistry()
  const plan = planKeys(rng.fork('keys'), o.keys, keyContracts(o.contracts))
  const interests = drawInterests(rng.fork('partial'), o.peers, o.partial ?? 0, plan)
  const cluster = await Cluster.create({
    peers: o.peers, registry, rng, faults: schedule, skewMs: schedule.skewMs, epochMs: EPOCH_MS, createEngine: o.createEngine, config: o.config,
    interests: interests.map(keys => keys?.map(k => k.key))
  })
  const writes = new WriteLog()
  const keysOf = (peer: number): readonly PlannedKey[] => interests[peer] ?? plan
  scheduleWorkload(cluster, rng.fork('workload'), writes, keysOf, o.ops ?? 2 * o.keys, horizon)
  scheduleFaults(cluster, schedule, rng.fork('crash ops'), writes, keysOf, interests)
  scheduleWants(cluster, rng.fork('wants'), interests, horizon)

  const healAt = Math.max(horizon, lastFaultEnd(schedule))
  await cluster.run(healAt)
  const atHeal = cluster.network.traffic.map(t => t.bytesReceived)
  const typesAtHeal = sumStats(cluster.engineStats())
  const missing = o.measureIdeal === false ? undefined : await missingAtHeal(cluster)

  let convergedAt: number | undefined
  const check = (): boolean => {
    if (convergedAt === undefined && cluster.dirty) {
      cluster.dirty = false
      if (cluster.converged()) convergedAt = cluster.now
    }
    return convergedAt !== undefined
  }
  cluster.dirty = true
  if (!check()) await cluster.run(healAt + (o.deadlineMs ?? 120_000), check)
  const received = cluster.network.traffic.map((t, i) => t.bytesReceived - atHeal[i])
  const typesAtEnd = sumStats(cluster.engineStats())
  const engineAfterHeal: Record<string, number> = {}
  for (const [k, v] of Object.entries(typesAtEnd)) if (v !== (typesAtHeal[k] ?? 0)) engineAfterHeal[k] = v - (typesAtHeal[k] ?? 0)
  if (convergedAt !== undefined) await cluster.run(convergedAt + (o.quietMs ?? 2 * antiEntropyMs))

  const replicas = cluster.peers.map(p => ({ name: p.id, store: p.store, ...(p.interest === undefined ? {} : { keeps: (key: string) => cluster.keeps(p.index, key) }) }))
  const problems = await checkReplicas(replicas, registry, writes)
  if (convergedAt === undefined) problems.unshift(`replicas did not converge within ${o.deadlineMs ?? 120_000} ms (virtual) of the heal at ${healAt} ms`)
  const stateDigest = await digestStates(cluster)
  const traffic = cluster.network.traffic
  const result: SimResult = {
    seed: o.seed,
    peers: o.peers,
    keys: o.keys,
    schedule,
    partial: interests.flatMap((keys, peer) => (keys === undefined ? [] : [{ peer, keys: keys.length }])),
    converged: convergedAt !== undefined,
    problems,
    healAt,
    convergedAt,
    rounds: convergedAt === undefined ? undefined : Math.ceil((convergedAt - healAt) / antiEntropyMs),
    endAt: cluster.now,
    ops: { acked: writes.acked, unacked: writes.unacked, noops: writes.noops },
    messagesPerPeer: traffic.reduce((n, t) => n + t.messagesSent, 0) / o.peers,
    bytesPerPeer: traffic.reduce((n, t) => n + t.bytesSent, 0) / o.peers,
    receivedAfterHeal: received.reduce((a, b) => a + b, 0),
    maxReceivedAfterHeal: Math.max(...received),
    engineAfterHeal,
    idealBytes: missing?.bytes,
    divergentKeys: missing?.keys,
    network: { dropped: cluster.network.dropped, duplicated: cluster.network.duplicated, unreachable: cluster.network.unreachable },
    engine: sumStats(cluster.engineStats()),
    stateDigest
  }
  await cluster.close()
  return result
}

/** `keysOf(peer)`: the keys the peer writes (all of them, or a partial peer's interest). */
function scheduleWorkload (cluster: Cluster, rng: Random, writes: WriteLog, keysOf: (peer: number) => readonly PlannedKey[], ops: number, horizon: number): void {
  for (let n = 0; n < ops; n++) {
    cluster.at(rng.between(0, horizon), async () => {
      const up = cluster.peers.filter(p => cluster.isUp(p.index))
      if (up.length === 0) return
      const peer = rng.pick(up).index
      const { key, ref } = rng.pick(keysOf(peer))
      const op = randomOp(rng, ref)
      const r = await cluster.update(peer, key, ref, op.name, op.args)
      writes.record(key, ref, r.delta, true)
    })
  }
}

function scheduleFaults (cluster: Cluster, s: FaultSchedule, rng: Random, writes: WriteLog, keysOf: (peer: number) => readonly PlannedKey[], interests: ReadonlyArray<readonly PlannedKey[] | undefined>): void {
  for (const p of s.partitions) {
    if (p.kind === 'oneway') {
      cluster.at(p.at, async () => { cluster.network.block(p.side, 1) })
      cluster.at(p.heal, async () => { cluster.network.block(p.side, -1) })
    } else {
      cluster.at(p.at, async () => { cluster.split(p.side) })
      cluster.at(p.heal, async () => { cluster.heal(p.side) })
    }
  }
  for (const c of s.crashes) {
    cluster.at(c.at, async () => {
      if (!cluster.isUp(c.peer)) return // already down: this crash is absorbed by the one in progress
      await cluster.crash(c.peer, !c.inflightOp ? undefined : async store => {
        // An op the crash interrupts: written or not, it was never acknowledged to its caller.
        const { key, ref } = rng.pick(keysOf(c.peer))
        const op = randomOp(rng, ref)
        try {
          writes.record(key, ref, (await store.update(key, ref, op.name, op.args)).delta, false)
        } catch {
          // Refused because the store was closing: nothing was written.
        }
      })
      cluster.at(cluster.now + c.downMs, async () => {
        await cluster.restart(c.peer)
        // A restarted partial peer asks for its keys at once, as a daemon does for keys still watched.
        for (const keys of wantBatches(interests[c.peer]?.map(k => k.key) ?? [])) cluster.want(c.peer, keys)
      })
    })
  }
}

/** Each partial peer wants a random part of its interest one to three times in the workload window (if up then). */
function scheduleWants (cluster: Cluster, rng: Random, interests: ReadonlyArray<readonly PlannedKey[] | undefined>, horizon: number): void {
  interests.forEach((interest, peer) => {
    if (interest === undefined) return
    for (let n = rng.int(1, 3); n > 0; n--) {
      const keys = rng.shuffle(interest.map(k => k.key)).slice(0, rng.int(1, interest.length))
      cluster.at(rng.between(0, horizon), async () => {
        for (const batch of wantBatches(keys)) cluster.want(peer, batch)
      })
    }
  })
}

/** Sum over peers of the bytes of what each lacks of the keys it keeps: delta(join of all replicas, its summary) per key; and how many keys anyone lacks. */
async function missingAtHeal (cluster: Cluster): Promise<{ bytes: number, keys: number }> {
  const keys = new Set<string>()
  for (const p of cluster.peers) for (const k of await p.store.keys()) keys.add(k)
  let total = 0
  let divergent = 0
  for (const key of keys) {
    const before = total
    const states = await Promise.all(cluster.peers.map(async p => await stateOf(p.store, key, cluster.registry)))
    const binding = states.find(s => s.binding !== undefined)!.binding!
    const c = cluster.registry.resolve(binding)
    let join = c.empty()
    for (const s of states) if (s.state !== undefined) join = c.merge(join, s.state)
    for (const p of cluster.peers) {
      if (!cluster.keeps(p.index, key)) continue
      const theirs = await p.store.summary(key)
      const d = c.delta(join, theirs === undefined ? c.summarize(c.empty()) : theirs.summary)
      if (d !== undefined) total += encode(d).length
    }
    if (total > before) divergent++
  }
  return { bytes: total, keys: divergent }
}

async function digestStates (cluster: Cluster): Promise<string> {
  const h = createHash('sha256')
  for (const p of cluster.peers) {
    for (const key of await p.store.keys()) h.update(encode([p.id, key, (await stateOf(p.store, key, cluster.registry)).state ?? null]))
  }
  return h.digest('hex')
}

/** Adds up numeric counters (nested objects too, e.g. per message type). */
export function sumStats (all: readonly object[]): Record<string, number> {
  const out: Record<string, number> = {}
  const add = (prefix: string, x: unknown): void => {
    if (typeof x === 'number') out[prefix] = (out[prefix] ?? 0) + x
    else if (x !== null && typeof x === 'object') for (const [k, v] of Object.entries(x)) add(prefix === '' ? k : `${prefix}.${k}`, v)
  }
  for (const s of all) add('', s)
  return out
}

/** The one-line command that replays a run exactly. */
export function replayCommand (o: Pick<SimOptions, 'seed' | 'peers' | 'keys' | 'ops' | 'contracts' | 'faults' | 'schedule' | 'horizonMs' | 'deadlineMs' | 'partial'>): string {
  const args = [`--seed ${o.seed}`, `--peers ${o.peers}`, `--keys ${o.keys}`]
  if (o.ops !== undefined) args.push(`--ops ${o.ops}`)
  if (o.partial !== undefined && o.partial > 0) args.push(`--partial ${o.partial}`)
  if (o.contracts !== undefined) args.push(`--contracts ${o.contracts.join(',')}`)
  if (o.horizonMs !== undefined) args.push(`--horizon ${o.horizonMs}`)
  if (o.deadlineMs !== undefined) args.push(`--deadline ${o.deadlineMs}`)
  if (o.schedule !== undefined) args.push(`--schedule '${JSON.stringify(o.schedule)}'`)
  else args.push(`--faults ${formatFaults(o.faults ?? ALL_FAULTS)}`)
  return `npm run sim -- ${args.join(' ')}`
}

export { peerName }
