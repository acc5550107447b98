/**
 * Summaries this peer's keys have recently had, by item hash. When a peer's
 * item list shows a hash we held before, its state is one we had (equal
 * summaries mean equal states), so we know exactly what it lacks and send the
 * delta at once, without an exchange of summaries: the usual case of a peer
 * that missed some pushes. It also holds each key's current summary, which
 * summary lists (reconcile.ts) send without reading the store. Bounded; a
 * forgotten summary only costs an exchange of summaries.
 */
import type { Plain } from '../codec.ts'
import type { BoundRef } from '../subscription.ts'
import { GenerationalCache, bytesKey } from './generational-cache.ts'
import { ITEM_HASH_BYTES } from './messages.ts'

export interface Remembered { contract: BoundRef, summary: Plain }

/** Keeps at least the last half of this many summaries (see GenerationalCache). */
export const DEFAULT_HISTORY_CAPACITY = 131_072

export class SummaryHistory {
  readonly #byHash: GenerationalCache<string, Remembered>

  constructor (capacity = DEFAULT_HISTORY_CAPACITY) {
    this.#byHash = new GenerationalCache(capacity)
  }

  remember (hash: Uint8Array, contract: BoundRef, summary: Plain): void {
    this.#byHash.set(keyOf(hash), { contract, summary })
  }

  /** The summary a key of ours had when its item hash was `hash` (or began with it: item lists carry 8-byte prefixes). */
  recall (hash: Uint8Array): Plain | undefined {
    return this.#byHash.get(keyOf(hash))?.summary
  }

  recallEntry (hash: Uint8Array): Remembered | undefined {
    return this.#byHash.get(keyOf(hash))
  }
}


/** Summaries are found by the first ITEM_HASH_BYTES of the item hash, the part every message carries. */
function keyOf (hash: Uint8Array): string {
  return bytesKey(hash.subarray(0, ITEM_HASH_BYTES))
}
