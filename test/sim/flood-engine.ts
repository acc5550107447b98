/**
 * A deliberately naive sync engine for testing the simulator on its own: it
 * publishes each local delta at once and, every `periodMs`, the whole state
 * of every key. Correct (state-based CRDT gossip) but wasteful; with `lossy`
 * it never re-sends, so lost pushes stay lost and the checker must notice.
 */
import { type Plain, decode, encode } from '../../core/codec.ts'
import type { BoundRef } from '../../core/subscription.ts'
import type { PeerId, SyncAction, SyncOptions, SyncStore } from '../../core/sync/types.ts'
import type { Engine } from '../../sim/cluster.ts'

export class FloodEngine implements Engine {
  readonly #store: SyncStore
  readonly #periodMs: number
  readonly #lossy: boolean
  #next: number
  #closed = false
  readonly counters = { messagesSent: 0, messagesReceived: 0, badMessages: 0 }

  constructor (store: SyncStore, options: SyncOptions, periodMs: number, lossy: boolean) {
    this.#store = store
    this.#periodMs = periodMs
    this.#lossy = lossy
    this.#next = options.now + periodMs * (options.random ?? Math.random)()
  }

  static factory (periodMs = 500, lossy = false) {
    return async (store: SyncStore, options: SyncOptions): Promise<Engine> => new FloodEngine(store, options, periodMs, lossy)
  }

  localUpdate (key: string, contract: BoundRef, delta: Plain): SyncAction[] {
    return [this.#publish([[key, contract as unknown as Plain, delta]])]
  }

  async receive (from: PeerId, bytes: Uint8Array): Promise<SyncAction[]> {
    this.counters.messagesReceived++
    try {
      const items = decode(bytes) as Array<[string, BoundRef, Plain]>
      await this.#store.mergeRemoteMany(items.map(([key, contract, delta]) => ({ key, contract, delta, origin: from })))
    } catch {
      this.counters.badMessages++
    }
    return []
  }

  peerJoined (): SyncAction[] { return [] }
  peerLeft (): SyncAction[] { return [] }

  async tick (now: number): Promise<SyncAction[]> {
    if (this.#closed || now < this.#next || this.#lossy) return []
    this.#next = now + this.#periodMs
    const items: Plain[] = []
    for (const key of await this.#store.keys()) {
      const d = await this.#store.deltaFor(key)
      if (d !== undefined) items.push([key, d.contract as unknown as Plain, d.delta])
    }
    return items.length === 0 ? [] : [this.#publish(items)]
  }

  nextWakeup (): number | undefined { return this.#lossy || this.#closed ? undefined : this.#next }
  stats (): object { return { ...this.counters } }
  close (): void { this.#closed = true }

  #publish (items: Plain[]): SyncAction {
    this.counters.messagesSent++
    return { type: 'publish', topic: 'flood', bytes: encode(items) }
  }
}
