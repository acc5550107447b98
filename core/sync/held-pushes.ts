/**
 * Pushed deltas waiting for their base. A push item is what a key gained
 * since the sender's state `base`; merged into a state that does not include
 * that base it could leave a state that is not causally closed (for causal
 * contracts: an entry alive whose remover is known only as a dot), which the
 * key's summary cannot tell from the right one. So an item whose base we have
 * not held waits here, for the pushes it depends on, until it expires; then
 * anti-entropy, which works from our summaries, repairs what is missing.
 */
import type { PushItem } from './messages.ts'
import type { PeerId } from './types.ts'

export const MAX_HELD = 10_000

export interface Held { from: PeerId, item: PushItem, hash: string, at: number }

export class HeldPushes {
  readonly #byKey = new Map<string, Held[]>()
  readonly #hashes = new Set<string>()

  get size (): number { return this.#hashes.size }

  has (hash: string): boolean { return this.#hashes.has(hash) }

  /** Holds an item; false if the store of held items is full. */
  hold (h: Held): boolean {
    if (this.#hashes.size >= MAX_HELD) return false
    let list = this.#byKey.get(h.item.key)
    if (list === undefined) this.#byKey.set(h.item.key, list = [])
    list.push(h)
    this.#hashes.add(h.hash)
    return true
  }

  /** Removes and returns the held items of `keys` whose base `ready` accepts now. */
  takeReady (keys: Iterable<string>, ready: (key: string, base: Uint8Array) => boolean): Held[] {
    const out: Held[] = []
    for (const key of keys) {
      const list = this.#byKey.get(key)
      if (list === undefined) continue
      const keep = list.filter(h => h.item.base !== null && !ready(key, h.item.base))
      if (keep.length === list.length) continue
      for (const h of list) if (!keep.includes(h)) { out.push(h); this.#hashes.delete(h.hash) }
      if (keep.length === 0) this.#byKey.delete(key); else this.#byKey.set(key, keep)
    }
    return out
  }

  /** Drops items held since before `cutoff`; returns how many. */
  expire (cutoff: number): number {
    let n = 0
    for (const [key, list] of this.#byKey) {
      const keep = list.filter(h => h.at >= cutoff)
      for (const h of list) if (h.at < cutoff) { n++; this.#hashes.delete(h.hash) }
      if (keep.length === 0) this.#byKey.delete(key); else this.#byKey.set(key, keep)
    }
    return n
  }
}
