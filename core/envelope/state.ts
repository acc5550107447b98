/**
 * The state of an owned key as a lattice, without signatures or the inner contract (owned.ts adds them):
 *   { a: access records, w: writer blocks }
 * - grant  `[pub(32 bytes), gen, sig(64)]`, revoke `[pub, gen, frozen: [[lane(8), ckpts, entries]...], sig]`,
 *   sorted by (pub, gen, grant before revoke, sig);
 * - block `[wid(8), gen, lane(8), ckpts: [[lo, hi, state, sig]...], entries: [[n, delta, sig]...]]`, sorted by
 *   (wid, gen, lane); checkpoints sorted by (lo, hi, sig), entries by (n, sig). An entry covers [n, n], a
 *   checkpoint (its writer's join of its entries lo..hi) covers [lo, hi].
 * A state is a set of items; item y dominates x when both are of one block, y is a checkpoint whose interval
 * strictly contains x's, and x's body is already in y's state (covers.ts: the inner join of the two is y's
 * state), so a checkpoint replaces only what it holds and a writer cannot retract its own writes; or y is a
 * revoke of x's (writer, gen) and x is a grant or an item of one of its blocks. Both tests are transitive (the
 * inner contract is a lattice), so this is a partial order. A state holds only undominated items, so merge
 * (union, then drop the dominated) is the join of antichains of that order: commutative, associative,
 * idempotent. Items are told apart by (interval, sig); two items with one identity and other bytes (a broken
 * signature scheme) keep the canonically smaller.
 */
import { type Plain, encode } from '../codec.ts'

export type Bytes = Uint8Array
export type Grant = [pub: Bytes, gen: number, sig: Bytes]
/** What the owner had seen of a revoked writer: per lane, that block's items, each signed by the writer. */
export type Frozen = Array<[lane: Bytes, ckpts: Ckpt[], entries: Item[]]>
export type Revoke = [pub: Bytes, gen: number, frozen: Frozen, sig: Bytes]
export type Access = Grant | Revoke
/** An entry `[n, delta, sig]`. */
export type Item = [n: number, body: Plain, sig: Bytes]
/** A checkpoint `[lo, hi, state, sig]`: its writer's join of the block's entries lo..hi. */
export type Ckpt = [lo: number, hi: number, body: Plain, sig: Bytes]
export type Block = [wid: Bytes, gen: number, lane: Bytes, ckpts: Ckpt[], entries: Item[]]
export type OwnedState = { a: Access[], w: Block[] }
/** Whether checkpoint `big` holds `small` (an item of its block inside its interval): covers.ts. */
export type Covers = (big: Ckpt, small: Ckpt | Item) => boolean

export const WID_BYTES = 8
export const LANE_BYTES = 8

export function isRevoke (r: Access): r is Revoke {
  return r.length === 4
}

export function hex (b: Bytes): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/** The (writer id, gen) a record or block is about: 16 hex digits of the writer id, then the gen. */
export function writerGen (widOrPub: Bytes, gen: number): string {
  return hex(widOrPub.subarray(0, WID_BYTES)) + ':' + gen
}

export function cmpBytes (a: Bytes, b: Bytes): number {
  return Buffer.compare(a, b)
}

export function cmpAccess (x: Access, y: Access): number {
  return cmpBytes(x[0], y[0]) || x[1] - y[1] || x.length - y.length || cmpBytes(x[x.length - 1] as Bytes, y[y.length - 1] as Bytes)
}

export function cmpBlock (x: Block, y: Block): number {
  return cmpBytes(x[0], y[0]) || x[1] - y[1] || cmpBytes(x[2], y[2])
}

export function cmpItem (x: Item, y: Item): number {
  return x[0] - y[0] || cmpBytes(x[2], y[2])
}

export function cmpCkpt (x: Ckpt, y: Ckpt): number {
  return x[0] - y[0] || x[1] - y[1] || cmpBytes(x[3], y[3])
}

/** What a merge left out: set when an item of either side is not in the result (dominated, or a same-identity twin). */
export interface MergeInfo { dropped: boolean }

/** Union of two sorted lists; of two elements with one identity (cmp 0), the canonically smaller. */
function unionSorted<T> (a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number, info?: MergeInfo): T[] {
  if (a.length === 0) return b as T[]
  if (b.length === 0) return a as T[]
  const out: T[] = []
  let i = 0; let j = 0
  while (i < a.length || j < b.length) {
    const c = i >= a.length ? 1 : j >= b.length ? -1 : cmp(a[i], b[j])
    if (c < 0) out.push(a[i++])
    else if (c > 0) out.push(b[j++])
    else {
      const x = a[i++]; const y = b[j++]
      if (x !== y && info !== undefined && cmpBytes(encode(x), encode(y)) !== 0) info.dropped = true
      out.push(x === y || cmpBytes(encode(x), encode(y)) <= 0 ? x : y)
    }
  }
  return out
}

/** The (writer id, gen) pairs the records revoke. */
export function revokedOf (access: readonly Access[]): Set<string> {
  const out = new Set<string>()
  for (const r of access) if (isRevoke(r)) out.add(writerGen(r[0], r[1]))
  return out
}

/** Whether checkpoint k's interval strictly contains [lo, hi]. */
const inside = (k: Ckpt, lo: number, hi: number): boolean => k[0] <= lo && k[1] >= hi && (k[0] !== lo || k[1] !== hi)

/**
 * The items of a block no checkpoint of it dominates (strictly contains by interval, and `covers`), as
 * [ckpts, entries]; `dropped` when some were left out. Dominance is transitive, so an item is dominated iff
 * an undominated checkpoint dominates it: checkpoints are settled widest first, each against the undominated
 * wider ones, then entries against those. An honest block holds a few disjoint checkpoints: few tests.
 */
export function undominated (ckpts: readonly Ckpt[], entries: readonly Item[], covers: Covers): { ckpts: Ckpt[], entries: Item[], dropped: boolean } {
  const top: Ckpt[] = []
  const drop = new Set<Ckpt | Item>()
  for (const k of [...ckpts].sort((x, y) => (y[1] - y[0]) - (x[1] - x[0]))) {
    if (top.some(t => inside(t, k[0], k[1]) && covers(t, k))) drop.add(k); else top.push(k)
  }
  for (const e of entries) if (top.some(t => inside(t, e[0], e[0]) && covers(t, e))) drop.add(e)
  if (drop.size === 0) return { ckpts: ckpts as Ckpt[], entries: entries as Item[], dropped: false }
  return { ckpts: ckpts.filter(k => !drop.has(k)), entries: entries.filter(x => !drop.has(x)), dropped: true }
}

/** The items of `mine` some checkpoint of `other` dominates. */
function droppedBy (mine: Block, other: readonly Ckpt[], covers: Covers, out: Set<Ckpt | Item>): void {
  if (other.length === 0) return
  for (const k of mine[3]) if (other.some(t => inside(t, k[0], k[1]) && covers(t, k))) out.add(k)
  for (const e of mine[4]) if (other.some(t => inside(t, e[0], e[0]) && covers(t, e))) out.add(e)
}

/**
 * Each side holds no dominated item, so an item of one is dominated in the union iff a checkpoint of the other
 * dominates it (dominance is transitive): a push of one item into a block of n costs n interval tests.
 */
function mergeBlock (x: Block, y: Block, covers: Covers, info?: MergeInfo): Block {
  const drop = new Set<Ckpt | Item>()
  droppedBy(x, y[3], covers, drop)
  droppedBy(y, x[3], covers, drop)
  let ckpts = unionSorted(x[3], y[3], cmpCkpt, info)
  let entries = unionSorted(x[4], y[4], cmpItem, info)
  if (drop.size > 0) {
    if (info !== undefined) info.dropped = true
    ckpts = ckpts.filter(k => !drop.has(k))
    entries = entries.filter(e => !drop.has(e))
  }
  if (ckpts.length === x[3].length && entries.length === x[4].length && ckpts.every((k, i) => k === x[3][i]) && entries.every((e, i) => e === x[4][i])) return x
  if (ckpts.length === y[3].length && entries.length === y[4].length && ckpts.every((k, i) => k === y[3][i]) && entries.every((e, i) => e === y[4][i])) return y
  return [x[0], x[1], x[2], ckpts, entries]
}

/** The join of two states (each holding only undominated items). `info.dropped`: whether it left out any item of theirs. */
export function mergeStates (a: OwnedState, b: OwnedState, covers: Covers, info?: MergeInfo): OwnedState {
  if (a === b || (b.a.length === 0 && b.w.length === 0)) return a
  if (a.a.length === 0 && a.w.length === 0) return b
  let access = unionSorted(a.a, b.a, cmpAccess, info)
  const revoked = revokedOf(access)
  if (revoked.size > 0) {
    const kept = access.filter(r => isRevoke(r) || !revoked.has(writerGen(r[0], r[1])))
    if (kept.length !== access.length && info !== undefined) info.dropped = true
    access = kept
  }
  const w: Block[] = []
  let i = 0; let j = 0
  while (i < a.w.length || j < b.w.length) {
    const c = i >= a.w.length ? 1 : j >= b.w.length ? -1 : cmpBlock(a.w[i], b.w[j])
    const blk = c < 0 ? a.w[i++] : c > 0 ? b.w[j++] : mergeBlock(a.w[i++], b.w[j++], covers, info)
    if (revoked.size === 0 || !revoked.has(writerGen(blk[0], blk[1]))) w.push(blk)
    else if (info !== undefined) info.dropped = true
  }
  return { a: access, w }
}

/** Every inner state the key's value is the join of: checkpoints and entries, the blocks' and the revokes' frozen ones. */
export function * bodiesOf (s: OwnedState): Generator<Plain> {
  for (const r of s.a) {
    if (!isRevoke(r)) continue
    for (const [, ckpts, entries] of r[2]) {
      for (const k of ckpts) yield k[2]
      for (const e of entries) yield e[1]
    }
  }
  for (const b of s.w) {
    for (const k of b[3]) yield k[2]
    for (const e of b[4]) yield e[1]
  }
}

/** Ranges `[lo1, hi1, lo2, hi2, ...]` of the ascending numbers `ns` (duplicates allowed). */
export function rangesOf (ns: Iterable<number>): number[] {
  const out: number[] = []
  for (const n of ns) {
    const k = out.length
    if (k > 0 && n <= out[k - 1] + 1) out[k - 1] = Math.max(out[k - 1], n)
    else out.push(n, n)
  }
  return out
}

export function inRanges (ranges: readonly number[], n: number): boolean {
  for (let i = 0; i + 1 < ranges.length; i += 2) if (n >= ranges[i] && n <= ranges[i + 1]) return true
  return false
}
