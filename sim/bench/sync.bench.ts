/**
 * Sync figures (`npm run bench:sync`), measured in the simulator on virtual
 * time with the real SyncEngine. Targets from issue 3 (targets, not tests):
 * 1. partition heal, 50 peers × 1,000 divergent keys: converged within 3
 *    anti-entropy rounds; bytes received per peer ≤ 2 × the ideal;
 * 2. idle: an anti-entropy round costs ≤ 64 bytes per peer pair, the same at
 *    1,000 and 100,000 keys;
 * 3. catch-up of a peer that missed d deltas among n = 100,000 elements
 *    (as 100,000 keys, and as one or-set of 100,000 elements): bytes on the
 *    wire, both ways, ≤ 1.25 × the d deltas' size + 1 KiB, for d = 1, 100, 10,000.
 * BENCH_QUICK=1 shrinks n to 10,000 for a fast look.
 */
import { cpus } from 'node:os'
import { type Plain, encode } from '../../core/codec.ts'
import type { RemoteDelta } from '../../core/replica-store.ts'
import { valueEntryKind, type ValueEntry, type ValueSet } from '../../contracts/g-set.ts'
import { dotSetOf } from '../../core/dots.ts'
import { orSet } from '../../contracts/or-set.ts'
import { createRegistry } from '../../contracts/index.ts'
import { Cluster } from '../cluster.ts'
import { Random } from '../random.ts'
import { formatBytes } from '../report.ts'
import { EPOCH_MS, simulate, sumStats } from '../simulation.ts'
import { createSyncEngine } from '../sync-engine.ts'
import { keyName } from '../workload.ts'

const QUICK = process.env.BENCH_QUICK === '1'
const N = QUICK ? 10_000 : 100_000
const ROUND_MS = 1000 // the engine's default antiEntropyMs

const out = (line = ''): void => { process.stdout.write(line + '\n') }
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT MET')

/** A cluster with no faults: 1 ms links, no skew. */
async function quietCluster (peers: number, seed = 1): Promise<Cluster> {
  return await Cluster.create({
    peers, registry: createRegistry(), rng: new Random(seed), faults: { drop: 0, dup: 0, delayMs: 0 },
    skewMs: new Array(peers).fill(0), epochMs: EPOCH_MS, createEngine: createSyncEngine
  })
}

/** A one-element or-set add by `writer`, as a delta. */
function addDelta (value: string, writer: string, seq: number): Plain {
  return { e: [[value, [writer, seq]]], c: [[writer, [seq, seq]]] }
}

/** Merges `items` into every listed peer's store, 1,000 a call. */
async function load (cluster: Cluster, peers: number[], items: RemoteDelta[]): Promise<void> {
  for (const i of peers) for (let k = 0; k < items.length; k += 1000) await cluster.peers[i].store.mergeRemoteMany(items.slice(k, k + 1000))
}

const keyItems = (n: number): RemoteDelta[] => Array.from({ length: n }, (_, i) => ({ key: keyName(i), contract: 'or-set', delta: addDelta(`v${i}`, 'seed', i + 1), origin: 'seed' }))

/** Runs until every replica holds the same key hashes; returns the virtual ms it took, or undefined past `limit`. */
async function untilConverged (cluster: Cluster, limit: number): Promise<number | undefined> {
  const start = cluster.now
  cluster.dirty = true
  let at: number | undefined
  await cluster.run(start + limit, () => {
    if (cluster.dirty) { cluster.dirty = false; if (cluster.converged()) at = cluster.now }
    return at !== undefined
  })
  return at === undefined ? undefined : at - start
}

const wire = (c: Cluster): { messages: number, bytes: number } => ({
  messages: c.network.traffic.reduce((n, t) => n + t.messagesSent, 0),
  bytes: c.network.traffic.reduce((n, t) => n + t.bytesSent, 0)
})

async function partitionHeal (): Promise<void> {
  const peers = 50; const keys = 1000
  const side = Array.from({ length: peers / 2 }, (_, i) => i)
  const schedule = { drop: 0, dup: 0, delayMs: 0, skewMs: new Array(peers).fill(0), partitions: [{ kind: 'split' as const, side, at: 0, heal: 3000 }], crashes: [] }
  const started = performance.now()
  const r = await simulate({ seed: 1, peers, keys, ops: 6 * keys, horizonMs: 3000, schedule, createEngine: createSyncEngine })
  const ratio = r.receivedAfterHeal / r.idealBytes!
  out(`1. Partition heal: ${peers} peers split 25/25 for 3 s while ${6 * keys} ops hit ${keys} keys (all contracts); ${r.divergentKeys} keys differ at the heal`)
  out(`   converged: ${r.converged}, ${r.problems.length} checker problems; ${r.convergedAt === undefined ? '-' : (r.convergedAt - r.healAt).toFixed(0)} ms after the heal = ${r.rounds} round(s) (target ≤ 3: ${verdict((r.rounds ?? Infinity) <= 3)})`)
  out(`   received per peer from heal to convergence ${formatBytes(r.receivedAfterHeal / peers)}, ideal ${formatBytes(r.idealBytes! / peers)}: ${ratio.toFixed(2)}× (target ≤ 2: ${verdict(ratio <= 2)}); worst peer ${formatBytes(r.maxReceivedAfterHeal)}`)
  const h = r.engineAfterHeal
  const byType = Object.keys(h).filter(k => /^perType\.[^.]+\.bytesReceived$/.test(k)).map(k => `${k.split('.')[1]} ${formatBytes(h[k] / peers)}`).join(', ')
  out(`   from heal to convergence: received per peer by message type: ${byType}`)
  out(`   ${h.sessionsStarted ?? 0} sessions (${h.catchUps ?? 0} ranges caught up), ${h.redundantDeltas ?? 0} of ${h.deltasReceived ?? 0} deltas redundant; ${((performance.now() - started) / 1000).toFixed(1)} s real time`)
}

async function idle (n: number): Promise<number> {
  const cluster = await quietCluster(2)
  await load(cluster, [0, 1], keyItems(n))
  await cluster.run(cluster.now + 3 * ROUND_MS) // settle: the digests at start match, nothing to reconcile
  const before = wire(cluster)
  const rounds = 20
  await cluster.run(cluster.now + rounds * ROUND_MS)
  const after = wire(cluster)
  await cluster.close()
  const perPairRound = (after.bytes - before.bytes) / rounds
  out(`   ${n.toLocaleString('en')} keys: ${((after.messages - before.messages) / rounds).toFixed(1)} messages and ${perPairRound.toFixed(1)} bytes per round between the two peers (both directions)`)
  return perPairRound
}

interface CatchUp { bytes: number, deltaBytes: number, ms: number | undefined, byType: string }

/** Peer 1 is cut off while peer 0 receives `d` deltas; after the heal, how many bytes cross the wire until they agree. */
async function catchUp (shape: 'keys' | 'set', d: number, rng: Random): Promise<CatchUp> {
  const cluster = await quietCluster(2)
  const missed: RemoteDelta[] = []
  if (shape === 'keys') {
    await load(cluster, [0, 1], keyItems(N))
    for (const i of rng.shuffle(Array.from({ length: N }, (_, k) => k)).slice(0, d).sort((a, b) => a - b)) {
      missed.push({ key: keyName(i), contract: 'or-set', delta: addDelta(`w${i}`, 'late', missed.length + 1), origin: 'late' })
    }
  } else {
    await load(cluster, [0, 1], [{ key: 'set', contract: 'or-set', delta: bigSet(N), origin: 'seed' }])
    for (let k = 0; k < d; k++) missed.push({ key: 'set', contract: 'or-set', delta: addDelta(`w${k}`, 'late', k + 1), origin: 'late' })
  }
  await cluster.run(cluster.now + 2 * ROUND_MS)
  cluster.split([1])
  await load(cluster, [0], missed)
  await cluster.run(cluster.now + 100)
  const before = wire(cluster)
  const typesBefore = sumStats(cluster.engineStats())
  cluster.heal([1])
  const ms = await untilConverged(cluster, 60 * ROUND_MS)
  const bytes = wire(cluster).bytes - before.bytes
  const types = sumStats(cluster.engineStats())
  const byType = Object.keys(types).filter(k => /^perType\.[^.]+\.bytesSent$/.test(k) && types[k] > (typesBefore[k] ?? 0))
    .map(k => `${k.split('.')[1]} ${formatBytes(types[k] - (typesBefore[k] ?? 0))}`).join(', ')
  await cluster.close()
  return { bytes, deltaBytes: missed.reduce((n, m) => n + encode(m.delta).length, 0), ms, byType }
}

/** An or-set of n elements, built directly in canonical order (adding them one by one would take minutes). */
function bigSet (n: number): ValueSet {
  const e: ValueEntry[] = Array.from({ length: n }, (_, i) => [`v${i}`, ['seed', i + 1]])
  e.sort(valueEntryKind.compare)
  return orSet.validate({ e, c: dotSetOf(e.map(x => x[1])) })
}

/** A partial peer holding `n` keys beside a full peer that writes other keys all along: what the partial peer sends and receives per round. */
async function partialChurn (n: number): Promise<void> {
  const kept = Array.from({ length: n }, (_, i) => keyName(i))
  const cluster = await Cluster.create({
    peers: 2, registry: createRegistry(), rng: new Random(1), faults: { drop: 0, dup: 0, delayMs: 0 },
    skewMs: [0, 0], epochMs: EPOCH_MS, createEngine: createSyncEngine, interests: [undefined, kept]
  })
  await load(cluster, [0, 1], keyItems(n))
  await cluster.run(cluster.now + 3 * ROUND_MS) // the full peer learns the partial peer's keys
  const before = cluster.network.traffic[1]
  const sent0 = before.bytesSent; const received0 = before.bytesReceived
  const rounds = 20
  for (let t = 0; t < rounds * 10; t++) {
    await cluster.update(0, `churn/${t}`, 'g-counter', 'inc', [1]) // ten writes a round to keys the partial peer does not keep
    await cluster.run(cluster.now + ROUND_MS / 10)
  }
  const after = cluster.network.traffic[1]
  const summaries = encode(kept.map(k => [k, addDelta('x', 'seed', 1)])).length
  out(`   ${n.toLocaleString('en')} keys kept: the partial peer sends ${((after.bytesSent - sent0) / rounds).toFixed(0)} B and receives ${((after.bytesReceived - received0) / rounds).toFixed(0)} B per round ` +
    `(its digest; the full peer's digests, and its pushes, which the partial peer drops); sending every summary each round would be about ${formatBytes(summaries)}`)
  await cluster.close()
}

async function main (): Promise<void> {
  out(`Sync figures (virtual time; Node ${process.version}; ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'})${QUICK ? ' — QUICK: n = 10,000' : ''}`)
  out()
  await partitionHeal()
  out()
  out('2. Idle anti-entropy (2 peers holding the same keys, 20 rounds):')
  const small = await idle(1000)
  const large = await idle(N)
  out(`   target ≤ 64 B per pair: ${verdict(small <= 64 && large <= 64)}; the same at both sizes: ${verdict(small === large)}` +
    (small === large ? '' : ` (${(large - small).toFixed(1)} B more at ${N.toLocaleString('en')} keys: the digest's key count is a wider CBOR integer)`))
  out()
  out(`3. Catch-up after missing d deltas among n = ${N.toLocaleString('en')} elements (bytes both ways from reconnect to agreement):`)
  const rng = new Random(3)
  for (const shape of ['keys', 'set'] as const) {
    for (const d of [1, 100, 10_000]) {
      const started = performance.now()
      const r = await catchUp(shape, d, rng)
      const limit = 1.25 * r.deltaBytes + 1024
      out(`   ${shape === 'keys' ? `${N.toLocaleString('en')} or-set keys` : `one or-set of ${N.toLocaleString('en')}`}, d = ${d.toLocaleString('en')}: ` +
        `${formatBytes(r.bytes)} on the wire for ${formatBytes(r.deltaBytes)} of deltas (${(r.bytes / r.deltaBytes).toFixed(2)}×; limit ${formatBytes(limit)}: ${verdict(r.bytes <= limit)}), ` +
        `${r.ms === undefined ? 'did NOT converge' : `${r.ms.toFixed(0)} ms virtual`}, ${((performance.now() - started) / 1000).toFixed(1)} s real`)
      out(`      by message type: ${r.byType}`)
    }
  }
  out()
  out('4. A partial peer beside a full peer writing 10 other keys a round (20 rounds):')
  await partialChurn(1000)
  await partialChurn(QUICK ? 10_000 : 20_000)
}

await main()
