/**
 * Summaries and deltas of owned-key states (state.ts). The summary has one entry per access record and one per
 * writer block:
 *   { a: [[wid(8), gen, kind (0 grant, 1 revoke), sig prefix(8)]...], w: [[wid, gen, lane, [[n, sig prefix]...], entry ranges]...] }
 * so delta(s, theirs) sends exactly the items they lack and would keep (law 3): nothing their revokes or
 * checkpoints dominate. A delta stays verifiable alone: with a block of a granted writer it carries the grant
 * (about 110 bytes), even when they hold it.
 */
import { ContractError } from '../errors.ts'
import { isPlainObject } from '../json.ts'
import { type Access, type Block, type Bytes, type Item, type OwnedState, LANE_BYTES, SIG_PREFIX, WID_BYTES, ckptN, hex, inRanges, isRevoke, rangesOf, writerGen } from './state.ts'

export type AccessSum = [wid: Bytes, gen: number, kind: 0 | 1, sig: Bytes]
export type BlockSum = [wid: Bytes, gen: number, lane: Bytes, ckpts: Array<[n: number, sig: Bytes]>, ranges: number[]]
export type OwnedSummary = { a: AccessSum[], w: BlockSum[] }

const copy = (b: Bytes, n: number): Bytes => b.slice(0, n)

export function summarizeState (s: OwnedState): OwnedSummary {
  return {
    a: s.a.map(r => [copy(r[0], WID_BYTES), r[1], isRevoke(r) ? 1 : 0, copy(r[r.length - 1] as Bytes, SIG_PREFIX)]),
    w: s.w.map(b => [b[0], b[1], b[2], b[3].map(k => [k[0], copy(k[2], SIG_PREFIX)]), rangesOf(b[4].map(e => e[0]))])
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
    if (!Array.isArray(r) || r.length !== 4 || !isBytes(r[0], WID_BYTES) || !isGen(r[1]) || (r[2] !== 0 && r[2] !== 1) || !isBytes(r[3], SIG_PREFIX)) {
      bad('an access entry is not [writer id (8 bytes), gen, 0 | 1, signature prefix (8 bytes)]')
    }
  }
  for (const b of w) {
    if (!Array.isArray(b) || b.length !== 5 || !isBytes(b[0], WID_BYTES) || !isGen(b[1]) || !isBytes(b[2], LANE_BYTES) || !Array.isArray(b[3]) || !Array.isArray(b[4])) {
      bad('a block entry is not [writer id, gen, lane, checkpoints, ranges]')
    }
    for (const k of (b as unknown[])[3] as unknown[]) if (!Array.isArray(k) || k.length !== 2 || !isN(k[0]) || !isBytes(k[1], SIG_PREFIX)) bad('a checkpoint is not [n ≥ 1, signature prefix]')
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

interface TheirBlock { top: number, ckpts: Set<string>, ranges: number[] }

/**
 * The items of `s` a holder of `theirs` lacks and would keep, with the grants that make them verifiable;
 * undefined when there are none. `byParams(wid, gen)`: the block's writer is named in the key's params at gen 0.
 */
export function deltaState (s: OwnedState, theirs: OwnedSummary, byParams: (wid: Bytes, gen: number) => boolean): OwnedState | undefined {
  const revoked = new Set<string>()
  const sigs = new Set<string>()
  for (const [wid, gen, kind, sig] of theirs.a) {
    if (kind === 1) revoked.add(writerGen(wid, gen))
    sigs.add(hex(sig))
  }
  const blocks = new Map<string, TheirBlock>()
  for (const [wid, gen, lane, ckpts, ranges] of theirs.w) {
    const k = writerGen(wid, gen) + ':' + hex(lane)
    let top = 0
    const ids = new Set<string>()
    for (const [n, sig] of ckpts) { top = Math.max(top, n); ids.add(n + ':' + hex(sig)) }
    blocks.set(k, { top, ckpts: ids, ranges })
  }
  const w: Block[] = []
  const needGrant = new Set<string>()
  for (const b of s.w) {
    const wg = writerGen(b[0], b[1])
    if (revoked.has(wg)) continue
    const t = blocks.get(wg + ':' + hex(b[2]))
    const ckpts = t === undefined ? b[3] : b[3].filter(k => k[0] >= t.top && !t.ckpts.has(k[0] + ':' + hex(k[2].subarray(0, SIG_PREFIX))))
    const entries = t === undefined ? b[4] : b[4].filter(e => e[0] > t.top && !inRanges(t.ranges, e[0]))
    if (ckpts.length === 0 && entries.length === 0) continue
    w.push(ckpts === b[3] && entries === b[4] ? b : [b[0], b[1], b[2], ckpts as Item[], entries as Item[]])
    if (!byParams(b[0], b[1])) needGrant.add(wg)
  }
  const a = s.a.filter((r: Access) => {
    const wg = writerGen(r[0], r[1])
    if (!isRevoke(r) && needGrant.has(wg)) return true
    if (sigs.has(hex((r[r.length - 1] as Bytes).subarray(0, SIG_PREFIX)))) return false
    return isRevoke(r) || !revoked.has(wg)
  })
  if (a.length === 0 && w.length === 0) return undefined
  return { a, w }
}

export { ckptN }
