/**
 * Summaries and deltas of owned-key states (state.ts). The summary has one entry per access record and one per
 * writer block:
 *   { a: [[wid(8), gen, kind (0 grant, 1 revoke), hash(16)]...],
 *     w: [[wid, gen, lane, [[lo, hi, hash]...], entry ranges, block hash(16)]...] }
 * where an item's hash is the first 16 bytes of sha256 of its canonical bytes (content, not signature bytes:
 * a signer chooses its nonce, so two different items may share a signature prefix), and a block's hash that of
 * its items' hashes. So two states with other content under one (block, n) (a writer's equivocation) have
 * different summaries, and delta(s, theirs) sends what they lack and would keep (law 2), nothing when they
 * hold all of s (law 3). A delta stays verifiable alone: with a block of a granted writer it carries the grant
 * (about 110 bytes), even when they hold it.
 */
import { createHash } from 'node:crypto'
import { encode } from '../codec.ts'
import { ContractError } from '../errors.ts'
import { isPlainObject } from '../json.ts'
import { type Access, type Block, type Bytes, type Ckpt, type Item, type OwnedState, LANE_BYTES, WID_BYTES, hex, inRanges, isRevoke, rangesOf, writerGen } from './state.ts'

export type AccessSum = [wid: Bytes, gen: number, kind: 0 | 1, hash: Bytes]
export type BlockSum = [wid: Bytes, gen: number, lane: Bytes, ckpts: Array<[lo: number, hi: number, hash: Bytes]>, ranges: number[], hash: Bytes]
export type OwnedSummary = { a: AccessSum[], w: BlockSum[] }

/** Bytes of an item's or a block's content hash in a summary: a collision between two items would take ~2^64 signatures. */
export const SUM_HASH = 16
const MAX_SUM_ITEMS = 4096

// States are never changed in place: hashes are cached by record, item and block object.
const hashes = new WeakMap<object, Bytes>()

const sha = (b: Uint8Array): Bytes => new Uint8Array(createHash('sha256').update(b).digest().subarray(0, SUM_HASH))

/** The first SUM_HASH bytes of sha256 of an access record's, checkpoint's or entry's canonical bytes. */
export function itemHash (x: Access | Ckpt | Item): Bytes {
  let h = hashes.get(x)
  if (h === undefined) hashes.set(x, h = sha(encode(x)))
  return h
}

/** The first SUM_HASH bytes of sha256 of the concatenated hashes of a block's checkpoints, then entries. */
export function blockHash (b: Block): Bytes {
  let h = hashes.get(b)
  if (h === undefined) {
    const parts = [...b[3].map(itemHash), ...b[4].map(itemHash)]
    hashes.set(b, h = sha(Buffer.concat(parts)))
  }
  return h
}

export function summarizeState (s: OwnedState): OwnedSummary {
  return {
    a: s.a.map(r => [r[0].slice(0, WID_BYTES), r[1], isRevoke(r) ? 1 : 0, itemHash(r)]),
    w: s.w.map(b => [b[0], b[1], b[2], b[3].map(k => [k[0], k[1], itemHash(k)]), rangesOf(b[4].map(e => e[0])), blockHash(b)])
  }
}

const bad = (why: string): never => { throw new ContractError('invalid_summary', `owned summary: ${why}`) }
const isGen = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
const isN = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1
const isBytes = (x: unknown, n: number): x is Bytes => x instanceof Uint8Array && x.length === n

export function validateSummary (x: unknown): OwnedSummary {
  if (!isPlainObject(x) || Object.keys(x).length !== 2 || !Array.isArray(x.a) || !Array.isArray(x.w)) bad('must be {a: [...], w: [...]}')
  const { a, w } = x as { a: unknown[], w: unknown[] }
  for (const r of a) {
    if (!Array.isArray(r) || r.length !== 4 || !isBytes(r[0], WID_BYTES) || !isGen(r[1]) || (r[2] !== 0 && r[2] !== 1) || !isBytes(r[3], SUM_HASH)) {
      bad(`an access entry is not [writer id (8 bytes), gen, 0 | 1, hash (${SUM_HASH} bytes)]`)
    }
  }
  for (const b of w) {
    if (!Array.isArray(b) || b.length !== 6 || !isBytes(b[0], WID_BYTES) || !isGen(b[1]) || !isBytes(b[2], LANE_BYTES) || !Array.isArray(b[3]) || !Array.isArray(b[4]) || !isBytes(b[5], SUM_HASH)) {
      bad(`a block entry is not [writer id, gen, lane, checkpoints, ranges, hash (${SUM_HASH} bytes)]`)
    }
    // An honest block has at most 7 checkpoints per length and a few entry ranges: these caps only bound delta's work.
    if (((b as unknown[])[3] as unknown[]).length > MAX_SUM_ITEMS || ((b as unknown[])[4] as unknown[]).length > 2 * MAX_SUM_ITEMS) bad(`a block lists more than ${MAX_SUM_ITEMS} checkpoints or entry ranges`)
    for (const k of (b as unknown[])[3] as unknown[]) if (!Array.isArray(k) || k.length !== 3 || !isN(k[0]) || !isN(k[1]) || k[0] > k[1] || !isBytes(k[2], SUM_HASH)) bad(`a checkpoint is not [lo ≥ 1, hi ≥ lo, hash (${SUM_HASH} bytes)]`)
    const ranges = (b as unknown[])[4] as unknown[]
    if (ranges.length % 2 !== 0) bad('entry ranges must be pairs')
    let prev = 0
    for (let i = 0; i < ranges.length; i += 2) {
      const lo = ranges[i]; const hi = ranges[i + 1]
      if (!isN(lo) || !isN(hi) || lo > hi || lo <= prev) bad('entry ranges must be ascending [lo, hi] pairs of numbers ≥ 1')
      prev = hi as number
    }
  }
  return x as OwnedSummary
}

interface TheirBlock { ckpts: Array<[lo: number, hi: number, hash: string]>, ranges: number[], hash: string, whole: boolean }

/**
 * Whether they hold our item [lo, hi] (hash `h`), or would drop it: an equal item (a checkpoint of equal interval
 * and hash; an entry under one of their numbers, unless the block is sent whole), or a checkpoint of theirs
 * strictly containing it that we do not hold. One we hold beside the item does not hold it (else our state would
 * have dropped the item), so the item is sent; one we lack is taken to hold it (an honest checkpoint holds what
 * it covers); when it does not, they send us that checkpoint and we send the item the round after.
 */
function held (t: TheirBlock, ours: ReadonlySet<string>, lo: number, hi: number, h: string, entry: boolean): boolean {
  if (entry && !t.whole && inRanges(t.ranges, lo)) return true
  for (const [l, hh, k] of t.ckpts) {
    if (l === lo && hh === hi) { if (!entry && k === h) return true; continue }
    if (l <= lo && hh >= hi && !ours.has(`${l}:${hh}:${k}`)) return true
  }
  return false
}

const sameNumbers = (t: TheirBlock, b: Block): boolean => {
  if (t.ckpts.length !== b[3].length || t.ckpts.some((k, i) => k[0] !== b[3][i][0] || k[1] !== b[3][i][1])) return false
  const r = rangesOf(b[4].map(e => e[0]))
  return r.length === t.ranges.length && r.every((x, i) => x === t.ranges[i])
}

/**
 * The items of `s` a holder of `theirs` lacks and would keep, with the grants that make them verifiable;
 * undefined when there are none. Per block: nothing when the block hashes are equal; everything but equal
 * checkpoints when the hashes differ but the checkpoint intervals and entry ranges are equal (other content under
 * one number: equivocation); else what `held` does not find. `byParams(wid, gen)`: the block's writer is named
 * in the key's params at gen 0.
 */
export function deltaState (s: OwnedState, theirs: OwnedSummary, byParams: (wid: Bytes, gen: number) => boolean): OwnedState | undefined {
  const revoked = new Set<string>()
  const recs = new Set<string>()
  for (const [wid, gen, kind, h] of theirs.a) {
    if (kind === 1) revoked.add(writerGen(wid, gen))
    recs.add(hex(h))
  }
  const blocks = new Map<string, TheirBlock>()
  for (const [wid, gen, lane, ckpts, ranges, h] of theirs.w) {
    blocks.set(writerGen(wid, gen) + ':' + hex(lane), { ckpts: ckpts.map(([lo, hi, k]) => [lo, hi, hex(k)]), ranges, hash: hex(h), whole: false })
  }
  const w: Block[] = []
  const needGrant = new Set<string>()
  for (const b of s.w) {
    const wg = writerGen(b[0], b[1])
    if (revoked.has(wg)) continue
    const t = blocks.get(wg + ':' + hex(b[2]))
    let ckpts: readonly Ckpt[] = b[3]
    let entries: readonly Item[] = b[4]
    if (t !== undefined) {
      if (t.hash === hex(blockHash(b))) continue
      t.whole = sameNumbers(t, b)
      const ours = new Set(b[3].map(k => `${k[0]}:${k[1]}:${hex(itemHash(k))}`))
      ckpts = b[3].filter(k => !held(t, ours, k[0], k[1], hex(itemHash(k)), false))
      entries = b[4].filter(e => !held(t, ours, e[0], e[0], '', true))
    }
    if (ckpts.length === 0 && entries.length === 0) continue
    w.push(ckpts === b[3] && entries === b[4] ? b : [b[0], b[1], b[2], ckpts as Ckpt[], entries as Item[]])
    if (!byParams(b[0], b[1])) needGrant.add(wg)
  }
  const a = s.a.filter((r: Access) => {
    const wg = writerGen(r[0], r[1])
    if (!isRevoke(r) && needGrant.has(wg)) return true
    if (recs.has(hex(itemHash(r)))) return false
    return isRevoke(r) || !revoked.has(wg)
  })
  if (a.length === 0 && w.length === 0) return undefined
  return { a, w }
}
