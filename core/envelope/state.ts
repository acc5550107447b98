/**
 * The state of an owned key as a lattice, without signatures or the inner contract (owned.ts adds them):
 *   { a: access records, w: writer blocks }
 * - grant  `[pub(32 bytes), gen, sig(64)]`, revoke `[pub, gen, frozen: [[lane(8), inner state]...], sig]`,
 *   sorted by (pub, gen, grant before revoke, sig);
 * - block `[wid(8), gen, lane(8), ckpts: [[n, state, sig]...], entries: [[n, delta, sig]...]]`, sorted by
 *   (wid, gen, lane); items sorted by (n, sig).
 * A state is a set of items; item y dominates x when: y is a checkpoint of x's block with n ≥ x's n (x an
 * entry) or n > x's (x a checkpoint); or y is a revoke of x's (writer, gen) and x is a grant or an item of one
 * of its blocks. A state holds only undominated items, so merge (union, then drop the dominated) is the join
 * of antichains of that order: commutative, associative, idempotent. Items are told apart by (n, sig); two
 * items with one identity and other bytes (a broken signature scheme) keep the canonically smaller.
 */
import { type Plain, encode } from '../codec.ts'

export type Bytes = Uint8Array
export type Grant = [pub: Bytes, gen: number, sig: Bytes]
export type Frozen = Array<[lane: Bytes, state: Plain]>
export type Revoke = [pub: Bytes, gen: number, frozen: Frozen, sig: Bytes]
export type Access = Grant | Revoke
/** An entry `[n, delta, sig]` or a checkpoint `[n, state, sig]`. */
export type Item = [n: number, body: Plain, sig: Bytes]
export type Block = [wid: Bytes, gen: number, lane: Bytes, ckpts: Item[], entries: Item[]]
export type OwnedState = { a: Access[], w: Block[] }

export const WID_BYTES = 8
export const LANE_BYTES = 8
export const SIG_PREFIX = 8

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

/** Union of two sorted lists; of two elements with one identity (cmp 0), the canonically smaller. */
function unionSorted<T> (a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number): T[] {
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

/** The greatest checkpoint number of a block's checkpoints (0: none). */
export function ckptN (ckpts: readonly Item[]): number {
  return ckpts.length === 0 ? 0 : ckpts[ckpts.length - 1][0]
}

function mergeBlock (x: Block, y: Block): Block {
  let ckpts = unionSorted(x[3], y[3], cmpItem)
  const top = ckptN(ckpts)
  if (ckpts.length > 1 && ckpts[0][0] !== top) ckpts = ckpts.filter(k => k[0] === top)
  let entries = unionSorted(x[4], y[4], cmpItem)
  if (top > 0 && entries.length > 0 && entries[0][0] <= top) entries = entries.filter(e => e[0] > top)
  if (ckpts === x[3] && entries === x[4]) return x
  if (ckpts === y[3] && entries === y[4]) return y
  return [x[0], x[1], x[2], ckpts, entries]
}

/** The join of two states (each holding only undominated items). */
export function mergeStates (a: OwnedState, b: OwnedState): OwnedState {
  if (a === b || (b.a.length === 0 && b.w.length === 0)) return a
  if (a.a.length === 0 && a.w.length === 0) return b
  let access = unionSorted(a.a, b.a, cmpAccess)
  const revoked = revokedOf(access)
  if (revoked.size > 0) access = access.filter(r => isRevoke(r) || !revoked.has(writerGen(r[0], r[1])))
  const w: Block[] = []
  let i = 0; let j = 0
  while (i < a.w.length || j < b.w.length) {
    const c = i >= a.w.length ? 1 : j >= b.w.length ? -1 : cmpBlock(a.w[i], b.w[j])
    const blk = c < 0 ? a.w[i++] : c > 0 ? b.w[j++] : mergeBlock(a.w[i++], b.w[j++])
    if (revoked.size === 0 || !revoked.has(writerGen(blk[0], blk[1]))) w.push(blk)
  }
  return { a: access, w }
}

/** Every inner state the key's value is the join of: checkpoints, entries, and revokes' frozen states. */
export function * bodiesOf (s: OwnedState): Generator<Plain> {
  for (const r of s.a) if (isRevoke(r)) for (const [, st] of r[2]) yield st
  for (const b of s.w) {
    for (const k of b[3]) yield k[1]
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
