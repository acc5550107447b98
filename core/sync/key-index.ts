/**
 * The digest index: every key this peer holds, in order, with a 16-byte hash
 * of (key, contract binding, summary). The fingerprint of a key range is the
 * count of its keys and the XOR of their hashes, so two peers compare any
 * range of their key spaces in 20 bytes whatever its size, and narrow a
 * difference down by splitting ranges (range-based set reconciliation).
 *
 * Keys sort by JavaScript string order (UTF-16 code units); both sides of a
 * comparison use the same order, which is all that matters. Prefix XORs are
 * rebuilt lazily after changes: one O(n) pass serves every query of a round.
 */
import { type Plain, encode } from '../codec.ts'
import { createHash } from 'node:crypto'
import type { BoundRef } from '../subscription.ts'
import { contractName } from './wire.ts'

export const HASH_BYTES = 16

export interface Fingerprint { count: number, fp: Uint8Array }

/** The hash of one key's (key, binding, summary): equal exactly when the summaries (and bindings) are. */
export function itemHash (key: string, contract: BoundRef, summary: Plain): Uint8Array {
  const bytes = encode([key, contractName(contract), contract.params ?? null, summary])
  return new Uint8Array(createHash('sha256').update(bytes).digest().subarray(0, HASH_BYTES))
}

export function sameHash (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export class KeyIndex {
  readonly #hashes = new Map<string, Uint8Array>()
  #keys: string[] = []
  #sorted = true
  #prefix: Uint8Array | undefined

  get size (): number { return this.#hashes.size }

  get (key: string): Uint8Array | undefined { return this.#hashes.get(key) }

  set (key: string, hash: Uint8Array): void {
    if (hash.length !== HASH_BYTES) throw new RangeError(`item hash must be ${HASH_BYTES} bytes`)
    const had = this.#hashes.has(key)
    this.#hashes.set(key, hash)
    this.#prefix = undefined
    if (!had) {
      // Appends stay cheap while loading; one sort puts them in place before the next query.
      if (this.#sorted && this.#keys.length > 0 && this.#keys[this.#keys.length - 1] > key) this.#sorted = false
      this.#keys.push(key)
    }
  }

  delete (key: string): void {
    if (!this.#hashes.delete(key)) return
    this.#order()
    this.#keys.splice(this.#lowerBound(key), 1)
    this.#prefix = undefined
  }

  /** Count and XOR of the keys in [lo, hi); `hi` undefined means the end of the key space. */
  fingerprint (lo: string, hi?: string): Fingerprint {
    const [i, j] = this.#bounds(lo, hi)
    const prefix = this.#prefixes()
    const fp = new Uint8Array(HASH_BYTES)
    for (let b = 0; b < HASH_BYTES; b++) fp[b] = prefix[j * HASH_BYTES + b] ^ prefix[i * HASH_BYTES + b]
    return { count: j - i, fp }
  }

  /** The keys in [lo, hi) with their hashes, in order. */
  items (lo: string, hi?: string): Array<[string, Uint8Array]> {
    const [i, j] = this.#bounds(lo, hi)
    return this.#keys.slice(i, j).map(k => [k, this.#hashes.get(k)!])
  }

  /**
   * Boundaries that cut [lo, hi) into at most `parts` ranges of near-equal
   * count: each is a key of the range (a range starts at its boundary), in
   * ascending order, never equal to `lo`.
   */
  split (lo: string, hi: string | undefined, parts: number): string[] {
    const [i, j] = this.#bounds(lo, hi)
    const n = j - i
    const out: string[] = []
    for (let p = 1; p < parts; p++) {
      const k = this.#keys[i + Math.floor((p * n) / parts)]
      if (k !== undefined && k > lo && (out.length === 0 || k > out[out.length - 1]) && (hi === undefined || k < hi)) out.push(k)
    }
    return out
  }

  #order (): void {
    if (this.#sorted) return
    this.#keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    this.#sorted = true
  }

  #lowerBound (key: string): number {
    let lo = 0; let hi = this.#keys.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.#keys[mid] < key) lo = mid + 1; else hi = mid
    }
    return lo
  }

  #bounds (lo: string, hi: string | undefined): [number, number] {
    this.#order()
    const i = this.#lowerBound(lo)
    const j = hi === undefined ? this.#keys.length : Math.max(i, this.#lowerBound(hi))
    return [i, j]
  }

  #prefixes (): Uint8Array {
    if (this.#prefix !== undefined) return this.#prefix
    this.#order()
    const n = this.#keys.length
    const p = new Uint8Array((n + 1) * HASH_BYTES)
    for (let k = 0; k < n; k++) {
      const h = this.#hashes.get(this.#keys[k])!
      const at = (k + 1) * HASH_BYTES
      for (let b = 0; b < HASH_BYTES; b++) p[at + b] = p[at - HASH_BYTES + b] ^ h[b]
    }
    this.#prefix = p
    return p
  }
}
