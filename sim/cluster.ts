/**
 * N replicas, each a ReplicaStore over MemoryStorage with a sync engine, wired
 * through the simulated network on a virtual clock. The cluster turns engine
 * actions into deliveries, wakes each engine at its nextWakeup(), tells
 * engines about connections coming and going, and crashes and restarts peers:
 * a crash drops the engine (its memory is lost) and reopens the storage and
 * the store (what was committed is kept), then a fresh engine starts. As
 * after a real crash, the restarted store writes under a new replica id
 * (`p1+1`, `p1+2`, … : a new epoch, core/store-meta.ts); the peer keeps its name.
 *
 * A peer may keep only some keys (partial replication): its engine gets an
 * Interest wanting a fixed set (sim/interests.ts), and convergence means it
 * holds exactly the keys of that set the replicate-all peers hold.
 *
 * Every peer's clock is virtual time plus its skew: the store stamps ops with
 * it and the engine reads it as `now`. Events are handled one at a time and
 * each is awaited, so a run is a deterministic function of its inputs.
 */
import type { Plain } from '../core/codec.ts'
import type { ContractRef } from '../core/contract.ts'
import type { JsonValue } from '../core/json.ts'
import type { ContractRegistry } from '../core/registry.ts'
import { ReplicaStore, type UpdateResult } from '../core/replica-store.ts'
import { MemoryStorage } from '../core/storage.ts'
import { forgetCleanClose } from '../core/store-meta.ts'
import type { BoundRef } from '../core/subscription.ts'
import { HASH_BYTES, itemHash } from '../core/sync/key-index.ts'
import type { PeerId, SyncAction, SyncConfig, SyncOptions, SyncStore } from '../core/sync/types.ts'
import { ClockQueue } from './clock-queue.ts'
import { KeySubset } from './interests.ts'
import { Network, type LinkFaults } from './network.ts'
import type { Random } from './random.ts'

/** The engine API the cluster drives (SyncEngine's, see core/sync/engine.ts). */
export interface Engine {
  localUpdate (key: string, contract: BoundRef, delta: Plain, now: number, write?: string): SyncAction[]
  receive (from: PeerId, bytes: Uint8Array, now: number): Promise<SyncAction[]>
  peerJoined (peer: PeerId, now: number): SyncAction[]
  peerLeft (peer: PeerId, now: number): SyncAction[]
  tick (now: number): Promise<SyncAction[]>
  /** Partial replication: ask peers for keys the interest wants (SyncEngine's `want`); engines without it ignore wants. */
  want? (keys: readonly string[], now: number): SyncAction[]
  nextWakeup (): number | undefined
  stats (): object
  close (): void
}
export type EngineFactory = (store: SyncStore, options: SyncOptions) => Promise<Engine>

export type SimEvent =
  | { type: 'deliver', from: number, to: number, bytes: Uint8Array, epoch: number }
  | { type: 'wake', peer: number, token: number }
  | { type: 'call', run: () => Promise<void> }

export interface ClusterOptions {
  peers: number
  registry: ContractRegistry
  rng: Random
  faults: LinkFaults
  skewMs: readonly number[]
  /** Virtual time 0 on the wall clock: in the past, so lww/log stamps look like real ones. */
  epochMs: number
  createEngine: EngineFactory
  config?: Partial<SyncConfig>
  /** Per peer, the keys a partial peer keeps (undefined or absent: replicate-all). */
  interests?: ReadonlyArray<Iterable<string> | undefined>
}

interface Peer {
  readonly index: number
  readonly id: string
  storage: MemoryStorage
  store: ReplicaStore
  engine: Engine | undefined
  incarnation: number
  wakeToken: number
  wakeAt: number
  stopFollowing: () => void
  /** Set for a partial peer: the keys it keeps (its engine's Interest). */
  readonly interest: KeySubset | undefined
  /** This replica's key hashes and their XOR, kept from the store's commits: equal XORs mean (almost surely) equal key spaces. */
  readonly hashes: Map<string, Uint8Array>
  readonly xor: Uint8Array
}

export const peerName = (i: number): string => `p${i}`

export class Cluster {
  readonly queue = new ClockQueue<SimEvent>()
  readonly network: Network
  readonly peers: Peer[] = []
  readonly registry: ContractRegistry
  readonly #o: ClusterOptions
  /** Bumped on every disconnect of a pair, so messages sent over a connection that closed are lost. */
  readonly #epochs: Uint32Array
  /** Commits since the last convergence check. */
  dirty = true
  engineStatsOfCrashed: object[] = []

  private constructor (o: ClusterOptions) {
    this.#o = o
    this.registry = o.registry
    this.network = new Network(o.peers, o.rng.fork('network'), o.faults)
    this.#epochs = new Uint32Array(o.peers * o.peers)
  }

  static async create (o: ClusterOptions): Promise<Cluster> {
    if (o.peers > 0 && Array.from({ length: o.peers }, (_, i) => o.interests?.[i]).every(k => k !== undefined)) {
      throw new RangeError('every peer is partial: at least one must keep every key')
    }
    const c = new Cluster(o)
    for (let i = 0; i < o.peers; i++) {
      const storage = new MemoryStorage()
      const id = peerName(i)
      const store = await ReplicaStore.open({ storage, registry: o.registry, replica: id, clock: () => c.clock(i) })
      const keys = o.interests?.[i]
      const interest = keys === undefined ? undefined : new KeySubset(keys)
      const peer: Peer = { index: i, id, storage, store, engine: undefined, incarnation: 0, wakeToken: 0, wakeAt: Infinity, stopFollowing: () => {}, interest, hashes: new Map(), xor: new Uint8Array(HASH_BYTES) }
      c.peers.push(peer)
      c.#follow(peer)
      peer.engine = await c.#newEngine(peer)
    }
    for (let i = 0; i < o.peers; i++) for (let j = 0; j < o.peers; j++) if (i !== j) c.#act(i, e => e.peerJoined(peerName(j), c.clock(i)))
    return c
  }

  /** Peer i's clock in ms since the epoch: virtual time plus its skew. */
  clock (i: number): number {
    return this.#o.epochMs + this.queue.now + this.#o.skewMs[i]
  }

  get now (): number { return this.queue.now }

  /** Runs events until virtual time `until` or until `stop()` holds (checked after each event). */
  async run (until: number, stop: () => boolean = () => false): Promise<void> {
    for (;;) {
      const at = this.queue.peekTime()
      if (at === undefined || at > until) { this.queue.advanceTo(until); return }
      const { event } = this.queue.pop()!
      await this.#handle(event)
      if (stop()) return
    }
  }

  /** Schedules an arbitrary step (workload op, fault) at virtual time `at`. */
  at (at: number, run: () => Promise<void>): void {
    this.queue.schedule(at, { type: 'call', run })
  }

  /** Runs an op on peer i's store and hands the delta to its engine; returns the store's result. */
  async update (i: number, key: string, ref: ContractRef, op: string, args: readonly JsonValue[]): Promise<UpdateResult> {
    const r = await this.peers[i].store.update(key, ref, op, args)
    if (r.delta !== undefined) this.#act(i, e => e.localUpdate(key, r.contract, r.delta!, this.clock(i), r.write))
    return r
  }

  isUp (i: number): boolean { return this.peers[i].engine !== undefined }

  /** Whether peer i should keep the key: every key for a replicate-all peer, its interest's for a partial one. */
  keeps (i: number, key: string): boolean {
    return this.peers[i].interest?.wants(key) ?? true
  }

  /** Peer i asks its peers for keys its interest wants (nothing if it is down or its engine has no wants). */
  want (i: number, keys: readonly string[]): void {
    this.#act(i, e => e.want?.(keys, this.clock(i)) ?? [])
  }

  /** Crashes peer i: its engine is dropped, its connections close, its store is closed with what it committed. `during` runs as the crash hits. */
  async crash (i: number, during?: (store: ReplicaStore) => Promise<unknown>): Promise<void> {
    const p = this.peers[i]
    if (p.engine === undefined) return
    const inflight = during?.(p.store)
    this.engineStatsOfCrashed.push(p.engine.stats())
    p.engine.close()
    p.engine = undefined
    p.wakeToken++
    p.wakeAt = Infinity
    for (const q of this.network.setUp(i, false)) this.#disconnected(i, q)
    await p.store.close()
    await inflight
    p.stopFollowing()
  }

  /** Restarts a crashed peer on the same storage with a fresh engine, and reconnects it. */
  async restart (i: number): Promise<void> {
    const p = this.peers[i]
    if (p.engine !== undefined) return
    p.storage = p.storage.reopen()
    // crash() closed the store to keep exactly what it committed; a real crash leaves no clean-close marker.
    await forgetCleanClose(p.storage)
    const epoch = p.incarnation + 1
    p.store = await ReplicaStore.open({ storage: p.storage, registry: this.registry, replica: p.id, newReplicaId: base => `${base}+${epoch}`, clock: () => this.clock(i) })
    p.incarnation++
    this.#follow(p)
    p.engine = await this.#newEngine(p)
    for (const q of this.network.setUp(i, true)) this.#connected(i, q)
  }

  /** Splits `side` from the rest (peerLeft on both ends of every closed connection). */
  split (side: readonly number[]): void {
    for (const [a, b] of this.network.split(side)) this.#disconnected(a, b)
  }

  heal (side: readonly number[]): void {
    for (const [a, b] of this.network.heal(side)) this.#connected(a, b)
  }

  /**
   * True when every replica is up, the replicate-all ones hold the same key hashes, and each partial one
   * holds the same hashes as they do for exactly the keys of its interest they hold.
   */
  converged (): boolean {
    if (!this.peers.every(p => p.engine !== undefined)) return false
    const all = this.peers.filter(p => p.interest === undefined)
    const first = all[0]
    if (!all.every(p => p.hashes.size === first.hashes.size && Buffer.compare(p.xor, first.xor) === 0)) return false
    return this.peers.every(p => p.interest === undefined || holdsExactly(p, p.interest, first.hashes))
  }

  /** Engine counters of the running engines plus those lost in crashes. */
  engineStats (): object[] {
    return [...this.peers.flatMap(p => (p.engine === undefined ? [] : [p.engine.stats()])), ...this.engineStatsOfCrashed]
  }

  async close (): Promise<void> {
    for (const p of this.peers) {
      p.engine?.close()
      p.engine = undefined
      p.stopFollowing()
      await p.store.close()
    }
  }

  async #newEngine (p: Peer): Promise<Engine> {
    const random = this.#o.rng.fork(`engine ${p.id} ${p.incarnation}`).asFunction()
    const engine = await this.#o.createEngine(p.store, { self: p.id, now: this.clock(p.index), random, config: this.#o.config, ...(p.interest === undefined ? {} : { interest: p.interest }) })
    this.#schedule(p, engine)
    return engine
  }

  #follow (p: Peer): void {
    p.stopFollowing = p.store.onCommit(({ key, contract, summary }) => {
      const h = itemHash(key, contract, summary)
      const old = p.hashes.get(key)
      if (old !== undefined) for (let b = 0; b < HASH_BYTES; b++) p.xor[b] ^= old[b]
      for (let b = 0; b < HASH_BYTES; b++) p.xor[b] ^= h[b]
      p.hashes.set(key, h)
      this.dirty = true
    })
  }

  async #handle (ev: SimEvent): Promise<void> {
    if (ev.type === 'call') { await ev.run(); return }
    if (ev.type === 'wake') {
      const p = this.peers[ev.peer]
      if (p.engine === undefined || ev.token !== p.wakeToken) return
      p.wakeAt = Infinity
      await this.#actAsync(ev.peer, e => e.tick(this.clock(ev.peer)))
      return
    }
    const key = pairIndex(ev.from, ev.to, this.peers.length)
    if (this.#epochs[key] !== ev.epoch || !this.network.canDeliver(ev.from, ev.to)) return
    this.network.received(ev.to, ev.bytes.length)
    await this.#actAsync(ev.to, e => e.receive(peerName(ev.from), ev.bytes, this.clock(ev.to)))
  }

  #act (i: number, fn: (e: Engine) => SyncAction[]): void {
    const e = this.peers[i].engine
    if (e === undefined) return
    this.#dispatch(i, fn(e))
  }

  async #actAsync (i: number, fn: (e: Engine) => Promise<SyncAction[]>): Promise<void> {
    const e = this.peers[i].engine
    if (e === undefined) return
    this.#dispatch(i, await fn(e))
  }

  #dispatch (i: number, actions: readonly SyncAction[]): void {
    for (const a of actions) {
      if (a.type === 'publish') {
        for (const q of this.network.neighbours(i)) this.#send(i, q, a.bytes)
      } else if (a.type === 'send') { // a relay is for peers before a message type: the simulator has none
        const q = peerIndex(a.to, this.peers.length)
        if (q !== undefined && q !== i) this.#send(i, q, a.bytes)
      }
    }
    const p = this.peers[i]
    if (p.engine !== undefined) this.#schedule(p, p.engine)
  }

  #send (from: number, to: number, bytes: Uint8Array): void {
    const epoch = this.#epochs[pairIndex(from, to, this.peers.length)]
    for (const d of this.network.transmit(from, to, bytes.length)) {
      this.queue.schedule(this.queue.now + d, { type: 'deliver', from, to, bytes, epoch })
    }
  }

  /** Wakes the engine at its nextWakeup (its local time, converted to virtual time), if earlier than already planned. */
  #schedule (p: Peer, engine: Engine): void {
    const w = engine.nextWakeup()
    if (w === undefined) return
    const at = Math.max(this.queue.now, w - this.#o.epochMs - this.#o.skewMs[p.index])
    if (at >= p.wakeAt) return
    p.wakeAt = at
    this.queue.schedule(at, { type: 'wake', peer: p.index, token: ++p.wakeToken })
  }

  #disconnected (a: number, b: number): void {
    this.#epochs[pairIndex(a, b, this.peers.length)]++
    for (const [x, y] of [[a, b], [b, a]]) this.#act(x, e => e.peerLeft(peerName(y), this.clock(x)))
  }

  #connected (a: number, b: number): void {
    this.#act(a, e => e.peerJoined(peerName(b), this.clock(a)))
    this.#act(b, e => e.peerJoined(peerName(a), this.clock(b)))
  }
}

/** The partial peer holds, byte for byte, the reference's hash of every key of its interest the reference holds, and nothing else. */
function holdsExactly (p: Peer, interest: KeySubset, reference: ReadonlyMap<string, Uint8Array>): boolean {
  let expected = 0
  for (const key of interest.keys) {
    const h = reference.get(key)
    if (h === undefined) continue
    expected++
    const mine = p.hashes.get(key)
    if (mine === undefined || Buffer.compare(mine, h) !== 0) return false
  }
  return p.hashes.size === expected
}

function pairIndex (a: number, b: number, n: number): number {
  return a < b ? a * n + b : b * n + a
}

function peerIndex (id: PeerId, n: number): number | undefined {
  const m = /^p(\d+)$/.exec(id)
  const i = m === null ? NaN : Number(m[1])
  return Number.isInteger(i) && i < n ? i : undefined
}
