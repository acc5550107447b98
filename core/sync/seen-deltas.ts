/**
 * Content hashes of deltas this peer has recently merged or made: a delta
 * whose hash is here is dropped before it reaches the store (gossip delivers
 * the same push many times; Freenet found 97% of received bytes redundant
 * before it deduplicated). Bounded (100k–200k hashes): old hashes are forgotten, and a
 * forgotten duplicate only costs a redundant merge, which the store detects.
 */
import { createHash } from 'node:crypto'
import { encode } from '../codec.ts'
import { GenerationalCache } from './generational-cache.ts'
import { type DeltaItem, refWire } from './messages.ts'

/** Keeps at least the last half of this many hashes (see GenerationalCache). */
export const DEFAULT_SEEN_CAPACITY = 200_000

export class SeenDeltas {
  readonly #hashes: GenerationalCache<string, true>

  constructor (capacity = DEFAULT_SEEN_CAPACITY) {
    this.#hashes = new GenerationalCache(capacity)
  }

  /** SHA-256 (first 16 bytes, hex) of the item's canonical encoding: the same delta for the same key always hashes alike. */
  static hashOf (item: DeltaItem): string {
    return createHash('sha256').update(encode([item.key, refWire(item.contract), item.delta])).digest('hex').slice(0, 32)
  }

  has (hash: string): boolean {
    return this.#hashes.has(hash)
  }

  add (hash: string): void {
    this.#hashes.set(hash, true)
  }

  get size (): number {
    return this.#hashes.size
  }
}
