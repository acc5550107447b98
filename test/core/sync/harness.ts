// A small in-test network for SyncEngine: peers with their own stores, a queue of messages in flight,
// and a delivery loop (publish → every other peer, send → one) that awaits each receive. Faults are opt-in.
import type { Plain } from '../../../core/codec.ts'
import { encode } from '../../../core/codec.ts'
import type { JsonValue } from '../../../core/json.ts'
import { keyBytes, keyOfRecord, prefixBytes, recordRange } from '../../../core/key-layout.ts'
import { readStoredKey } from '../../../core/key-record.ts'
import { ReplicaStore } from '../../../core/replica-store.ts'
import { MemoryStorage } from '../../../core/storage.ts'
import { SyncEngine } from '../../../core/sync/engine.ts'
import { type MessageType, decodeMessage } from '../../../core/sync/messages.ts'
import type { SyncAction, SyncConfig } from '../../../core/sync/types.ts'
import { createRegistry } from '../../../contracts/index.ts'

export interface Peer { id: string, storage: MemoryStorage, store: ReplicaStore, engine: SyncEngine }
export interface Envelope { from: string, to: string, bytes: Uint8Array, type: MessageType | 'bad' }
export interface Faults {
  /** Drop this message (decided before each delivery). */
  drop?: (e: Envelope) => boolean
  /** Probability that a delivered message is delivered once more, later. */
  duplicate?: number
  /** Deliver messages in random order instead of FIFO. */
  reorder?: boolean
}

/** mulberry32: a tiny seeded PRNG, so every run of a test is the same run. */
export function seeded (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const registry = createRegistry()
export const START = 1_700_000_000_000

export class Net {
  readonly peers: Peer[]
  readonly random: () => number
  now: number
  queue: Envelope[] = []
  /** Every message handed to a receiver, in order. */
  readonly delivered: Envelope[] = []

  private constructor (peers: Peer[], random: () => number, now: number) {
    this.peers = peers
    this.random = random
    this.now = now
  }

  static async create (n: number, options: { seed?: number, config?: Partial<SyncConfig> } = {}): Promise<Net> {
    const random = seeded(options.seed ?? 1)
    const peers: Peer[] = []
    let net: Net | undefined
    for (let i = 0; i < n; i++) {
      const id = `p${i}`
      const storage = new MemoryStorage()
      const store = await ReplicaStore.open({ storage, registry, replica: `r${i}`, clock: () => net?.now ?? START })
      const engine = await SyncEngine.create(store, { self: id, now: START, random: seeded((options.seed ?? 1) * 31 + i), config: options.config })
      peers.push({ id, storage, store, engine })
    }
    net = new Net(peers, random, START)
    return net
  }

  peer (id: string): Peer {
    const p = this.peers.find(x => x.id === id)
    if (p === undefined) throw new Error(`no peer ${id}`)
    return p
  }

  /** Queues the actions `from` returned. */
  post (from: string, actions: readonly SyncAction[]): void {
    for (const a of actions) {
      if (a.type === 'relay') continue // for peers before a message type: this network has none
      const type = typeOf(a.bytes)
      if (a.type === 'send') this.queue.push({ from, to: a.to, bytes: a.bytes, type })
      else for (const p of this.peers) if (p.id !== from) this.queue.push({ from, to: p.id, bytes: a.bytes, type })
    }
  }

  /** A local op on a peer's store, handed to its engine like a daemon would. */
  async write (id: string, key: string, contract: string, op: string, args: JsonValue[] = []): Promise<Plain | undefined> {
    const p = this.peer(id)
    const r = await p.store.update(key, contract, op, args)
    if (r.delta !== undefined) this.post(id, p.engine.localUpdate(key, r.contract, r.delta, this.now))
    return r.delta
  }

  /** Advances time by `ms` and ticks every engine. */
  async advance (ms: number): Promise<void> {
    this.now += ms
    for (const p of this.peers) this.post(p.id, await p.engine.tick(this.now))
  }

  /** Delivers until nothing is in flight (or `maxSteps`), applying `faults`. Returns the number of deliveries. */
  async deliver (faults: Faults = {}, maxSteps = 1_000_000): Promise<number> {
    let steps = 0
    while (this.queue.length > 0 && steps < maxSteps) {
      const i = faults.reorder === true ? Math.floor(this.random() * this.queue.length) : 0
      const [e] = this.queue.splice(i, 1)
      if (faults.drop?.(e) === true) continue
      if (faults.duplicate !== undefined && this.random() < faults.duplicate) {
        this.queue.splice(Math.floor(this.random() * (this.queue.length + 1)), 0, e)
      }
      steps++
      this.delivered.push(e)
      this.post(e.to, await this.peer(e.to).engine.receive(e.from, e.bytes, this.now))
    }
    return steps
  }

  /**
   * One anti-entropy round: a period passes (and a bit, for jitter) in four steps; at each, every
   * engine ticks (digests, retransmissions, timeouts) and everything in flight is delivered.
   */
  async round (faults: Faults = {}, periodMs = 1000): Promise<void> {
    for (let i = 0; i < 4; i++) {
      await this.advance(Math.ceil(periodMs * 1.11 / 4))
      await this.deliver(faults)
    }
  }

  /** Rounds until every peer holds byte-identical states; returns the rounds it took (throws past `max`). */
  async converge (max = 10, faults: Faults = {}): Promise<number> {
    for (let r = 0; r <= max; r++) {
      if (await this.converged()) return r
      await this.round(faults)
    }
    throw new Error(`not converged after ${max} rounds`)
  }

  async converged (): Promise<boolean> {
    const first = await stateBytes(this.peers[0])
    for (const p of this.peers.slice(1)) if (!sameStates(first, await stateBytes(p))) return false
    return true
  }
}

/** Every key's binding and state as canonical bytes (hex), read from the store's records (with their delta tails). */
export async function stateBytes (p: Peer): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  for await (const [k] of p.storage.iterator(recordRange(prefixBytes('')))) {
    const key = keyOfRecord(k)
    const r = (await readStoredKey(p.storage, keyBytes(key), key, b => registry.resolve(b)))!
    out.set(key, Buffer.from(encode([r.binding.id, r.binding.params ?? null, r.state])).toString('hex'))
  }
  return out
}

export function sameStates (a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
}

function typeOf (bytes: Uint8Array): MessageType | 'bad' {
  try { return decodeMessage(bytes).type } catch { return 'bad' }
}
