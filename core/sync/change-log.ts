/**
 * The recent history of this peer's whole key space: after every commit, the
 * digest of the key space then (the accumulator's 16 bytes, lthash.ts, as
 * digests carry it), and which key changed from which item hash. When a peer
 * shows a digest we held before, its state *is* our state of then (equal
 * fingerprints imply equal states), so it is strictly behind us and lacks
 * exactly what changed since: we can send it those deltas at once, with no
 * reconciliation. This is the common case of a peer that missed pushes.
 * The same holds for any key range: walking the log backwards from the
 * present recovers each range's past (XOR) fingerprints (`matchRanges`), so a peer
 * that is behind in most ranges and ahead in a few is caught up in the former.
 * Bounded: states older than the last `capacity` commits are forgotten.
 */
import { GenerationalCache, bytesKey } from './generational-cache.ts'
import { HASH_BYTES, type KeyIndex } from './key-index.ts'
import { type RangeFp, matchesFp } from './messages.ts'

export const DEFAULT_CHANGE_LOG_CAPACITY = 65_536

interface Change { at: number, key: string, before: Uint8Array | undefined }

export class ChangeLog {
  readonly #capacity: number
  readonly #ring: Change[] = []
  #next = 0
  #counter = 0
  /** The digest of a state we held → the counter right after it was reached. */
  readonly #states: GenerationalCache<string, number>
  #started = false

  constructor (capacity = DEFAULT_CHANGE_LOG_CAPACITY) {
    this.#capacity = capacity
    this.#states = new GenerationalCache(2 * capacity) // keeps at least the last `capacity` states
  }

  /** Starts from the key space's digest once the index is loaded; commits before this are not logged. */
  start (digest: Uint8Array): void {
    this.#started = true
    this.#states.set(bytesKey(digest), this.#counter)
  }

  /** Logs that `key` changed from item hash `before` (undefined: it was new), leaving the key space at `digest`. */
  commit (key: string, before: Uint8Array | undefined, digest: Uint8Array): void {
    if (!this.#started) return
    this.#counter++
    const change = { at: this.#counter, key, before }
    if (this.#ring.length < this.#capacity) this.#ring.push(change); else this.#ring[this.#next] = change
    this.#next = (this.#next + 1) % this.#capacity
    this.#states.set(bytesKey(digest), this.#counter)
  }

  /**
   * If `f` (a digest of a whole key space) is a state we held and every change since is
   * still logged: each key changed since, with its item hash back then (undefined: the key did not exist).
   */
  since (f: { fp: Uint8Array }): Map<string, Uint8Array | undefined> | undefined {
    const at = this.#at(f)
    if (at === undefined) return undefined
    const changes = this.#ring.length < this.#capacity ? this.#ring : [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)]
    const out = new Map<string, Uint8Array | undefined>()
    for (const c of changes) if (c.at > at && !out.has(c.key)) out.set(c.key, c.before)
    return out
  }

  /**
   * For each of the peer's range fingerprints that differs from ours now but
   * equals our fingerprint of the same range at some past point: the keys of
   * the range changed since, with their item hashes then (undefined: absent).
   * One backward walk over the log serves all ranges.
   */
  matchRanges (ranges: readonly RangeFp[], index: KeyIndex, offset = 0): Array<Map<string, Uint8Array | undefined> | undefined> {
    const out = new Array<Map<string, Uint8Array | undefined> | undefined>(ranges.length)
    const open = ranges.map((r, i) => ({ r, i, ...index.fingerprint(r.lo, r.hi ?? undefined), touched: new Map<string, Uint8Array | undefined>() }))
      .filter(w => !(w.count === w.r.count && matchesFp(w.fp, w.r.fp, offset)))
      .sort((a, b) => (a.r.lo < b.r.lo ? -1 : a.r.lo > b.r.lo ? 1 : 0))
    if (open.length === 0 || this.#ring.length === 0) return out
    const los = open.map(w => w.r.lo)
    let left = open.length
    const hashThen = new Map<string, Uint8Array | undefined>()
    for (let n = 1; n <= this.#ring.length && left > 0; n++) {
      const e = this.#ring[(this.#next - n + this.#ring.length * 2) % this.#ring.length]
      const j = lastAtMost(los, e.key)
      const w = j < 0 ? undefined : open[j]
      if (w === undefined || (w.r.hi !== null && e.key >= w.r.hi) || out[w.i] !== undefined) continue
      // Undo the change: the range's fingerprint as it was just before it.
      const after = hashThen.has(e.key) ? hashThen.get(e.key) : index.get(e.key)
      for (let b = 0; b < HASH_BYTES; b++) w.fp[b] ^= (after?.[b] ?? 0) ^ (e.before?.[b] ?? 0)
      if (e.before === undefined) w.count--
      hashThen.set(e.key, e.before)
      w.touched.set(e.key, e.before)
      if (w.count === w.r.count && matchesFp(w.fp, w.r.fp, offset)) { out[w.i] = w.touched; left-- }
    }
    return out
  }

  /** Whether `f` is a past state of ours (not the current one) that `since` can answer. */
  behindUs (f: { fp: Uint8Array }): boolean {
    const at = this.#at(f)
    return at !== undefined && at < this.#counter
  }

  #at (f: { fp: Uint8Array }): number | undefined {
    const at = this.#states.get(bytesKey(f.fp))
    if (at === undefined) return undefined
    // The oldest logged change must be at most one past `at`, or some change since `at` was forgotten.
    const oldest = this.#ring.length < this.#capacity ? this.#ring[0] : this.#ring[this.#next]
    return oldest !== undefined && oldest.at > at + 1 ? undefined : at
  }
}

/** Index of the last sorted bound ≤ key, or -1. */
function lastAtMost (los: readonly string[], key: string): number {
  let lo = 0; let hi = los.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (los[mid] <= key) lo = mid + 1; else hi = mid
  }
  return lo - 1
}
