/**
 * How received deltas reach the store. Deltas seen before (by content hash)
 * are dropped first; the rest are merged with mergeRemoteMany, and every
 * delta that changed nothing is counted as redundant. Pushed deltas are
 * merged only onto a state that includes their base (see held-pushes.ts), so
 * every merge equals joining the sender's whole state. Also builds our own
 * push items: per key, what it gained since its base.
 */
import type { Plain } from '../codec.ts'
import { HeldPushes } from './held-pushes.ts'
import { type KeyIndex, sameHash } from './key-index.ts'
import type { DeltaItem, PushItem } from './messages.ts'
import { SeenDeltas } from './seen-deltas.ts'
import type { SyncStats } from './stats.ts'
import type { SummaryHistory } from './summary-history.ts'
import type { PeerId, SyncStore } from './types.ts'

interface Incoming { from: PeerId, item: DeltaItem }

export class DeltaMerger {
  readonly #store: SyncStore
  readonly #index: KeyIndex
  readonly #history: SummaryHistory
  readonly #stats: SyncStats
  readonly #seen = new SeenDeltas()
  readonly #held = new HeldPushes()

  constructor (store: SyncStore, index: KeyIndex, history: SummaryHistory, stats: SyncStats) {
    this.#store = store
    this.#index = index
    this.#history = history
    this.#stats = stats
  }

  /** Merges deltas a peer computed from our summary (session deltas): they apply to our state as it is. */
  async merge (from: PeerId, items: readonly DeltaItem[]): Promise<void> {
    this.#stats.deltasReceived += items.length
    await this.#release(await this.#mergeFresh(items.map(item => ({ from, item }))))
  }

  /** Pushed deltas merge at once if we hold their base, else wait for it. */
  async receivePush (from: PeerId, items: readonly PushItem[], now: number): Promise<void> {
    this.#stats.deltasReceived += items.length
    const ready: Incoming[] = []
    for (const item of items) {
      if (item.base === null || this.#holdsBase(item.key, item.base)) { ready.push({ from, item }); continue }
      const hash = SeenDeltas.hashOf(item)
      if (this.#seen.has(hash) || this.#held.has(hash)) { this.#stats.redundantDeltas++; continue }
      if (this.#held.hold({ from, item, hash, at: now })) this.#stats.heldDeltas++; else this.#stats.expiredDeltas++
    }
    await this.#release(await this.#mergeFresh(ready))
  }

  /** Drops pushes held since before `cutoff`. */
  expire (cutoff: number): void {
    this.#stats.expiredDeltas += this.#held.expire(cutoff)
  }

  /** Our push items for keys changed locally: per key, what it gained since `base` (everything, base null, when that state is forgotten). */
  async pushItems (dirty: ReadonlyMap<string, Uint8Array | null>): Promise<PushItem[]> {
    const items: PushItem[] = []
    for (const [key, known] of dirty) {
      const theirs: Plain | undefined = known === null ? undefined : this.#history.recall(known)
      const d = await this.#store.deltaFor(key, theirs)
      if (d === undefined) continue
      const item = { key, contract: d.contract, delta: d.delta, base: theirs === undefined ? null : known }
      this.#seen.add(SeenDeltas.hashOf(item)) // our own delta coming back is redundant
      items.push(item)
    }
    return items
  }

  /** Whether `base` is the key's state now or was before: our states only grow, so ours includes it. */
  #holdsBase (key: string, base: Uint8Array): boolean {
    const now = this.#index.get(key)
    return (now !== undefined && sameHash(now, base)) || this.#history.recall(base) !== undefined
  }

  /** Merges held pushes whose base we now hold (only keys that just changed can have gained one), until none is left. */
  async #release (changed: ReadonlySet<string>): Promise<void> {
    while (changed.size > 0 && this.#held.size > 0) {
      const ready = this.#held.takeReady(changed, (key, base) => this.#holdsBase(key, base))
      if (ready.length === 0) return
      changed = await this.#mergeFresh(ready)
    }
  }

  /** Merges what was not seen before; returns the keys that changed. */
  async #mergeFresh (items: readonly Incoming[]): Promise<Set<string>> {
    const changed = new Set<string>()
    const fresh: Array<Incoming & { hash: string }> = []
    const inBatch = new Set<string>()
    for (const { from, item } of items) {
      const hash = SeenDeltas.hashOf(item)
      if (this.#seen.has(hash) || inBatch.has(hash)) { this.#stats.redundantDeltas++; continue }
      inBatch.add(hash)
      fresh.push({ from, item, hash })
    }
    if (fresh.length === 0) return changed
    const outcomes = await this.#store.mergeRemoteMany(fresh.map(({ from, item }) => ({ key: item.key, contract: item.contract, delta: item.delta, origin: from })))
    outcomes.forEach((o, i) => {
      if ('error' in o) { this.#stats.rejectedDeltas++; return }
      if (o.changed) changed.add(fresh[i].item.key); else this.#stats.redundantDeltas++
      this.#seen.add(fresh[i].hash)
    })
    return changed
  }
}
