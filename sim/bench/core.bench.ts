/**
 * Core benchmark (`npm run bench:core`). One run prints:
 * 1. in-memory merge throughput of small pn-counter and or-set deltas into
 *    states of realistic size (contract.merge alone);
 * 2. ingest of the same deltas through a ReplicaStore (mergeRemoteMany, group
 *    commit), on MemoryStorage and durably on LevelDB, with deltas spread over
 *    many keys (each batch rewrites ~one record per delta) or a few hot keys;
 * 3. raw classic-level batch writes for the ratio: one put per delta at the
 *    delta's size, and the exact puts (count and bytes) the store wrote;
 * 4. cold reads after the LevelDB ingest: the store reopened and every key's
 *    summary read (record plus delta tail, see core/key-tail.ts), repeatedly;
 * 5. durability: local updates (ReplicaStore.update) on LevelDB with and
 *    without an fsync per batch (`--durability power`, the default, and
 *    `process`), from 1 to 256 concurrent writers: what group commit saves.
 * 6. the sync journal's overhead on received pushes (journal-overhead.ts).
 * Section 2 runs LevelDB both ways too: "process" (no fsync) and "power".
 * BENCH_SECONDS sets the time per figure (default 1.5).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { type Plain, encode } from '../../core/codec.ts'
import { dotSetOf } from '../../core/dots.ts'
import type { AnyContract } from '../../core/contract.ts'
import { LevelStorage } from '../../core/level-storage.ts'
import { ContractRegistry } from '../../core/registry.ts'
import { type RemoteDelta, ReplicaStore } from '../../core/replica-store.ts'
import { type BatchOp, type BatchOptions, type KeyRange, MemoryStorage, type Storage } from '../../core/storage.ts'
import { orSet } from '../../contracts/or-set.ts'
import { pnCounter } from '../../contracts/pn-counter.ts'
import { engineJournalOverhead } from './journal-overhead.ts'

const PEERS = 50 // replicas whose deltas arrive
const CHUNK = 1000 // deltas per mergeRemoteMany call (one sync round's worth)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 1.5)

interface Workload { name: string, contract: AnyContract, state: Plain, next: () => Plain }
const peer = (i: number): string => `peer-${String(i).padStart(3, '0')}`

/** A pn-counter touched by `replicas` replicas, fed one-entry increments from PEERS of them. */
function pnWorkload (replicas = 100): Workload {
  let state = pnCounter.empty()
  for (let i = 0; i < replicas; i++) state = pnCounter.merge(state, { p: [[peer(i), 1000]], n: [[peer(i), 10]] })
  const counts = new Array<number>(PEERS).fill(1000)
  let i = 0
  return { name: `pn-counter, ${replicas} replicas`, contract: pnCounter, state, next: () => { const p = i++ % PEERS; return { p: [[peer(p), ++counts[p]]], n: [] } } }
}

/**
 * An or-set of `size` elements added by PEERS replicas. `next` gives single adds
 * of fresh elements; with `churn`, every other delta instead removes the oldest
 * element (its dot plus the remover's fresh dot), so the set keeps its size.
 */
function setWorkload (size = 1000, churn = false): Workload {
  const seqs = new Array<number>(PEERS).fill(0)
  const live: Array<[string, number]> = [] // dots of elements, oldest first
  let n = 0
  const fresh = (): [string, number] => { const p = n % PEERS; return [peer(p), ++seqs[p]] }
  const add = (): Plain => {
    const dot = fresh()
    live.push(dot)
    return { e: [[`item-${n++}`, dot]], c: [[dot[0], [dot[1], dot[1]]]] }
  }
  const remove = (): Plain => {
    const old = live.shift()!
    const own = fresh()
    n++
    return { e: [], c: dotSetOf([old, own]) }
  }
  let state = orSet.empty()
  for (let i = 0; i < size; i++) state = orSet.merge(state, add() as never)
  return { name: `or-set, ${size} elements${churn ? ', add/remove' : ''}`, contract: orSet, state, next: churn ? () => (n % 2 === 0 ? add() : remove()) : add }
}

/** Calls `fn` (which returns how many things it did) until SECONDS pass; returns things per second. */
async function rate (fn: () => number | Promise<number>): Promise<number> {
  await fn() // warm-up
  let done = 0
  const start = performance.now()
  while (performance.now() - start < SECONDS * 1000) done += await fn()
  return done / ((performance.now() - start) / 1000)
}

async function mergeRate (w: Workload): Promise<number> {
  const deltas = Array.from({ length: 10_000 }, w.next)
  let sink: unknown
  // Every delta merges into the same base state, so the state stays the size we claim.
  const r = await rate(() => {
    for (let i = 0; i < 1000; i++) sink = w.contract.merge(w.state, deltas[(i * 7919) % deltas.length])
    return 1000
  })
  if (sink === undefined) throw new Error('merge returned nothing')
  return r
}

/** Counts what the store hands to its storage. */
class CountingStorage implements Storage {
  readonly inner: Storage
  batches = 0; puts = 0; bytes = 0
  constructor (inner: Storage) { this.inner = inner }
  async get (key: Uint8Array): Promise<Uint8Array | undefined> { return await this.inner.get(key) }
  async batch (ops: BatchOp[], options?: BatchOptions): Promise<void> {
    this.batches++
    for (const op of ops) if (op.type === 'put') { this.puts++; this.bytes += op.key.length + op.value.length }
    await this.inner.batch(ops, options)
  }
  async checkpoint (): Promise<void> { await this.inner.checkpoint?.() }
  iterator (range: KeyRange): AsyncIterable<[Uint8Array, Uint8Array]> { return this.inner.iterator(range) }
  async close (): Promise<void> { await this.inner.close() }
}

interface Ingest { rate: number, putsPerBatch: number, bytesPerPut: number, deltasPerBatch: number, coldReads: number }

/**
 * Deltas of `make()` workloads spread round-robin over `keys` keys, each key
 * preloaded with the workload's state; then the store reopened on `reopen()`
 * and every key's summary read once (keys/s).
 */
async function ingestRate (storage: Storage, make: () => Workload, keys: number, reopen: () => Promise<Storage>): Promise<Ingest> {
  const work = Array.from({ length: keys }, make)
  const c = work[0].contract
  const registry = new ContractRegistry()
  registry.register(c, { trusted: true })
  const counting = new CountingStorage(storage)
  const store = await ReplicaStore.open({ storage: counting, registry, cacheSize: keys * 2 })
  await store.mergeRemoteMany(work.map((w, k) => ({ key: `key/${k}`, contract: c.id, delta: w.state, origin: 'seed' })))
  let k = 0
  let counted: [number, number, number, number] | undefined
  const r = await rate(async () => {
    counted ??= [counting.batches, counting.puts, counting.bytes, k] // after warm-up
    const items: RemoteDelta[] = []
    for (let i = 0; i < CHUNK; i++) { const w = k++ % keys; items.push({ key: `key/${w}`, contract: c.id, delta: work[w].next(), origin: 'peer' }) }
    for (const o of await store.mergeRemoteMany(items)) if ('error' in o) throw o.error
    return CHUNK
  })
  const [b0, p0, y0, k0] = counted!
  const batches = counting.batches - b0
  await store.close()
  // Reopen and read every key until SECONDS of reading have passed; only the reads are timed.
  let readMs = 0; let read = 0
  while (readMs < SECONDS * 1000) {
    const cold = await ReplicaStore.open({ storage: await reopen(), registry, cacheSize: keys * 2 })
    const start = performance.now()
    await Promise.all(work.map(async (_, w) => await cold.summary(`key/${w}`)))
    readMs += performance.now() - start
    read += keys
    await cold.close()
  }
  const coldReads = read / (readMs / 1000)
  return { rate: r, putsPerBatch: (counting.puts - p0) / batches, bytesPerPut: (counting.bytes - y0) / (counting.puts - p0), deltasPerBatch: (k - k0) / batches, coldReads }
}

/** Raw classic-level: batches of `perBatch` puts of `keyBytes`/`valueBytes` over a rotating key space; returns puts/s. */
async function rawRate (path: string, perBatch: number, keyBytes: number, valueBytes: number, keySpace: number): Promise<number> {
  const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const value = new Uint8Array(valueBytes).fill(7)
  let n = 0
  const r = await rate(async () => {
    const ops = []
    for (let i = 0; i < perBatch; i++) {
      const key = new Uint8Array(Math.max(4, keyBytes))
      new DataView(key.buffer).setUint32(key.length - 4, n++ % keySpace)
      ops.push({ type: 'put' as const, key, value })
    }
    await db.batch(ops)
    return perBatch
  })
  await db.close()
  return r
}

const fmt = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(11)
const bytes = (x: Plain): number => encode(x).length
const root = await mkdtemp(join(tmpdir(), 'monoidb-bench-'))
let dbs = 0
const level = async (sync = false): Promise<[Storage, () => Promise<Storage>]> => {
  const path = join(root, `db${dbs++}`)
  return [await LevelStorage.open(path, { sync }), async () => await LevelStorage.open(path, { sync })]
}

/** Local or-set adds and pn-counter incs over 100 keys from `writers` concurrent loops; updates/s. */
async function updateRate (storage: Storage, writers: number): Promise<{ rate: number, perBatch: number }> {
  const registry = new ContractRegistry()
  registry.register(orSet, { trusted: true })
  registry.register(pnCounter, { trusted: true })
  const counting = new CountingStorage(storage)
  const store = await ReplicaStore.open({ storage: counting, registry })
  let n = 0
  let b0 = 0; let n0 = 0
  const r = await rate(async () => {
    if (b0 === 0) { b0 = counting.batches; n0 = n }
    // One round: every writer does 4 updates in sequence, all writers at once.
    await Promise.all(Array.from({ length: writers }, async () => {
      for (let i = 0; i < 4; i++) {
        const k = n++
        if (k % 2 === 0) await store.update(`set/${k % 100}`, 'or-set', 'add', [`v${k}`])
        else await store.update(`hits/${k % 100}`, 'pn-counter', 'inc', [1])
      }
    }))
    return writers * 4
  })
  const perBatch = (n - n0) / (counting.batches - b0)
  await store.close()
  return { rate: r, perBatch }
}
try {
  console.log(`monoidb core benchmark: node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ${SECONDS} s per figure`)
  const pn = pnWorkload(); const set = setWorkload(1000); const small = setWorkload(100)
  console.log(`deltas: pn-counter one increment (${bytes(pn.next())} B), or-set one add (${bytes(set.next())} B), from ${PEERS} peers`)

  console.log('\n1. In memory: contract.merge(state, delta), deltas/s')
  for (const w of [pn, set, small, setWorkload(1000, true)]) console.log(`  ${w.name.padEnd(44)} (state ${String(bytes(w.state)).padStart(6)} B) ${fmt(await mergeRate(w))}`)

  console.log(`\n2. Ingest through ReplicaStore.mergeRemoteMany, ${CHUNK} deltas a call, deltas/s (LevelDB: durability process, then power)`)
  const runs: Array<[string, () => Workload, number]> = [
    ['pn-counter, 100 replicas', pnWorkload, 1000],
    ['pn-counter, 100 replicas', pnWorkload, 10],
    ['or-set, 1000 elements, add/remove', () => setWorkload(1000, true), 100],
    ['or-set, 1000 elements, add/remove', () => setWorkload(1000, true), 10]
  ]
  const durable: Array<[string, Ingest]> = []
  for (const [name, make, keys] of runs) {
    const label = `${name}, ${keys} keys`.padEnd(48)
    const memory = new MemoryStorage()
    const mem = await ingestRate(memory, make, keys, async () => memory.reopen())
    const [storage, reopen] = await level()
    const disk = await ingestRate(storage, make, keys, reopen)
    const [synced, reopenSynced] = await level(true)
    const power = await ingestRate(synced, make, keys, reopenSynced)
    durable.push([label, disk])
    console.log(`  ${label} memory ${fmt(mem.rate)}   LevelDB ${fmt(disk.rate)} ${fmt(power.rate)}   (${disk.deltasPerBatch.toFixed(0)} deltas → ${disk.putsPerBatch.toFixed(0)} puts of ${disk.bytesPerPut.toFixed(0)} B a batch)`)
  }

  console.log('\n3. Raw classic-level batch writes (the target: durable store ≥ 0.5 × one put per delta)')
  const rawPn = await rawRate(join(root, 'raw-pn'), CHUNK, 12, bytes(pn.next()), 1000)
  const rawSet = await rawRate(join(root, 'raw-set'), CHUNK, 12, bytes(set.next()), 1000)
  console.log(`  ${CHUNK} puts a batch of pn-counter delta size ${fmt(rawPn)} puts/s`)
  console.log(`  ${CHUNK} puts a batch of or-set delta size     ${fmt(rawSet)} puts/s`)
  console.log('  durable store as a fraction of one put per delta; and LevelDB alone writing the store\'s own batches (same puts, same bytes):')
  for (const [label, d] of durable) {
    const perDelta = label.startsWith('pn') ? rawPn : rawSet
    const puts = await rawRate(join(root, `raw-${dbs++}`), Math.round(d.putsPerBatch), 12, Math.round(d.bytesPerPut - 12), 1000)
    const ceiling = puts / d.putsPerBatch * d.deltasPerBatch
    console.log(`  ${label} ${(d.rate / perDelta).toFixed(2).padStart(5)} ×   LevelDB alone ${fmt(ceiling)} deltas/s (store ${(100 * d.rate / ceiling).toFixed(0)}% of it)`)
  }

  console.log('\n4. Cold reads after the LevelDB ingest: store reopened, every key\'s summary read (concurrently), keys/s')
  for (const [label, d] of durable) console.log(`  ${label} ${fmt(d.coldReads)}`)

  console.log('\n5. Durability: local updates (or-set add / pn-counter inc over 100 keys) on LevelDB, updates/s and updates per batch (fsync)')
  for (const writers of [1, 16, 256]) {
    const [processStorage] = await level(false)
    const proc = await updateRate(processStorage, writers)
    const [powerStorage] = await level(true)
    const power = await updateRate(powerStorage, writers)
    console.log(`  ${String(writers).padStart(3)} concurrent writers   process ${fmt(proc.rate)}   power ${fmt(power.rate)} (${(power.perBatch).toFixed(1)} updates a batch)   power/process ${(power.rate / proc.rate).toFixed(2)}`)
  }

  console.log('\n6. The sync journal (issue 10): pushes received by a SyncEngine (pn-counter, 100 items a push, 1,000 keys), journal on vs off, deltas per CPU second')
  const j = await engineJournalOverhead()
  console.log(`  journal on ${fmt(j.on)}   off ${fmt(j.off)} (medians)   on/off ${j.ratio.toFixed(3)}, quartiles ${j.q1.toFixed(3)}–${j.q3.toFixed(3)} (overhead ${(100 * (1 - j.ratio)).toFixed(1)}%; ${j.records} records a run; 31 pairs)`)
} finally {
  await rm(root, { recursive: true, force: true })
}
